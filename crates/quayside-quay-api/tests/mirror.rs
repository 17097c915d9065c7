//! Repository mirroring configuration on /api/v1 (Quay `endpoints/api/mirror.py`), on SQLite
//! and PostgreSQL: the view's shape, creation (MIRROR state, robot granted write,
//! credentials stored encrypted), Quay's refusals, PUT of a subset, sync-now / sync-cancel,
//! audit rows, who may call it, the feature gate; and the worker's side of the rows
//! (eligibility, claim, release on Quay's interval grid).

mod common;

use chrono::{Duration, NaiveDateTime};
use common::*;
use quayside_auth::Role;
use quayside_meta::{MirrorStatus, RepositoryState};
use serde_json::{json, Value};

const MIRROR: &str = "FEATURE_REPO_MIRROR: true\nSSRF_ALLOWED_HOSTS: [127.0.0.1]\n";
const PATH: &str = "/api/v1/repository/acme/mirrored/mirror";

fn create_body() -> Value {
    json!({
        "external_reference": "quay.io/upstream/app",
        "sync_interval": 3600,
        "sync_start_date": "2026-01-01T00:00:00Z",
        "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["v1.*", "latest"]},
        "robot_username": "acme+mirror",
        "external_registry_username": "puller",
        "external_registry_password": "s3cret",
        "external_registry_config": {"verify_tls": true, "proxy": {"https_proxy": null}},
    })
}

#[tokio::test]
async fn mirror_config_lifecycle() {
    for b in backends() {
        let env = env_with(b, MIRROR).await;
        let (owner_id, owner) = env.user_with_token("owner").await;
        let (reader_id, reader) = env.user_with_token("reader").await;
        env.org("acme", owner_id).await;
        let repo_id = env.repo("acme", "mirrored", false, Some(owner_id)).await;
        env.grant(repo_id, reader_id, Role::Read).await;
        let db = env.tdb.db().clone();
        let acme = db
            .account_by_username("acme")
            .await
            .expect("test data")
            .expect("test data");
        let robot = env
            .auth
            .create_robot_account(&acme, "mirror", "", None)
            .await
            .expect("robot");

        // Nothing configured yet; only admins may look.
        let r = env.get(PATH, Some(&owner)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env.get(PATH, Some(&reader)).await;
        assert_eq!(r.status, 403, "{b}: {r:?}");
        let r = env.get(PATH, None).await;
        assert_eq!(r.status, 401, "{r:?}");

        // Refusals before anything is written.
        let mut body = create_body();
        body.as_object_mut().expect("test data").remove("root_rule");
        let r = env.call("POST", PATH, Some(&owner), Some(body)).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'root_rule' is a required property",
        );
        let mut body = create_body();
        body["root_rule"]["rule_value"] = json!([]);
        let r = env.call("POST", PATH, Some(&owner), Some(body)).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule",
        );
        let mut body = create_body();
        body["sync_interval"] = json!(-1);
        let r = env.call("POST", PATH, Some(&owner), Some(body)).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "-1 is less than the minimum of 0",
        );
        let mut body = create_body();
        body["external_reference"] = json!("10.0.0.5/internal/app");
        let r = env.call("POST", PATH, Some(&owner), Some(body)).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "URL points to a private or reserved IP address",
        );
        let mut body = create_body();
        body["sync_start_date"] = json!("tomorrow");
        let r = env.call("POST", PATH, Some(&owner), Some(body)).await;
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(
            r.json,
            json!({"detail": "Incorrect DateTime format for sync_start_date."})
        );
        let mut body = create_body();
        body["robot_username"] = json!("owner+other");
        let r = env.call("POST", PATH, Some(&owner), Some(body)).await;
        assert_eq!(r.status, 400, "{r:?}");
        assert!(db
            .mirror_config(repo_id)
            .await
            .expect("test data")
            .is_none());

        // Created: MIRROR state, robot granted write, credentials encrypted at rest.
        let r = env
            .call("POST", PATH, Some(&owner), Some(create_body()))
            .await;
        assert_eq!((r.status.as_u16(), &r.json), (201, &json!("")), "{r:?}");
        let details = db
            .repository_details("acme", "mirrored")
            .await
            .expect("test data")
            .expect("test data");
        assert_eq!(details.state, RepositoryState::Mirror);
        assert_eq!(
            db.account_repo_roles(robot.robot.id, repo_id)
                .await
                .expect("test data"),
            ["write"]
        );
        let row = db
            .mirror_config(repo_id)
            .await
            .expect("test data")
            .expect("test data");
        let stored = row.external_registry_password.clone().expect("test data");
        assert_ne!(stored, "s3cret");
        assert_eq!(
            env.auth.decrypt_field(&stored).expect("test data"),
            "s3cret"
        );
        let r = env
            .call("POST", PATH, Some(&owner), Some(create_body()))
            .await;
        assert_eq!(r.status, 409, "{r:?}");
        assert_eq!(
            r.json,
            json!({"detail": "Mirror configuration already exits for repository acme/mirrored"})
        );

        let r = env.get(PATH, Some(&owner)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.json,
            json!({
                "is_enabled": true,
                "mirror_type": "PULL",
                "external_reference": "quay.io/upstream/app",
                "external_registry_username": "puller",
                "external_registry_config": {"verify_tls": true, "proxy": {"https_proxy": null}},
                "sync_interval": 3600,
                "sync_start_date": "2026-01-01T00:00:00Z",
                "sync_expiration_date": null,
                "sync_retries_remaining": 3,
                "sync_status": "NEVER_RUN",
                "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["v1.*", "latest"]},
                "robot_username": "acme+mirror",
                "skopeo_timeout_interval": 300,
                "architecture_filter": [],
            })
        );

        // PUT: refusals change nothing; a subset changes only itself.
        let r = env
            .call(
                "PUT",
                PATH,
                Some(&owner),
                Some(json!({"external_registry_password": "x", "sync_interval": 5})),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), &r.json),
            (
                400,
                &json!({"detail": "Unable to set a new password without also specifying a username."})
            )
        );
        let r = env
            .call(
                "PUT",
                PATH,
                Some(&owner),
                Some(
                    json!({"external_registry_username": null, "external_registry_password": "x"}),
                ),
            )
            .await;
        assert_eq!(
            r.json,
            json!({"detail": "Unable to delete username while setting a password."})
        );
        let r = env
            .call(
                "PUT",
                PATH,
                Some(&owner),
                Some(json!({"external_reference": ""})),
            )
            .await;
        assert_eq!(
            r.json,
            json!({"detail": "Empty string is an invalid repository location."})
        );
        let r = env
            .call(
                "PUT",
                PATH,
                Some(&owner),
                Some(json!({"root_rule": {"rule_kind": "regex", "rule_value": ["x"]}})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "validation failed: rule_kind must be \"tag_glob_csv\"",
        );
        assert_eq!(
            db.mirror_config(repo_id)
                .await
                .expect("test data")
                .expect("test data")
                .sync_interval,
            3600
        );
        let r = env
            .call(
                "PUT",
                PATH,
                Some(&owner),
                Some(json!({
                    "is_enabled": false,
                    "sync_interval": 60,
                    "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["*"]},
                    "external_registry_config": {"verify_tls": false},
                    "external_registry_username": null,
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let view = env.get(PATH, Some(&owner)).await.json;
        assert_eq!(view["is_enabled"], false);
        assert_eq!(view["sync_interval"], 60);
        assert_eq!(view["root_rule"]["rule_value"], json!(["*"]));
        assert_eq!(
            view["external_registry_config"],
            json!({"verify_tls": false, "proxy": {"https_proxy": null}})
        );
        assert_eq!(view["external_registry_username"], Value::Null);
        let row = db
            .mirror_config(repo_id)
            .await
            .expect("test data")
            .expect("test data");
        assert_eq!(
            row.external_registry_password, None,
            "clearing the user clears both"
        );

        // sync-now, then cancel; nothing to cancel afterwards.
        let now_path = format!("{PATH}/sync-now");
        let cancel_path = format!("{PATH}/sync-cancel");
        let r = env.call("POST", &cancel_path, Some(&owner), None).await;
        assert_eq!(r.status, 404, "nothing to cancel: {r:?}");
        let r = env.call("POST", &now_path, Some(&owner), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            env.get(PATH, Some(&owner)).await.json["sync_status"],
            "SYNC_NOW"
        );
        let r = env.call("POST", &now_path, Some(&reader), None).await;
        assert_eq!(r.status, 403, "{r:?}");
        let r = env.call("POST", &cancel_path, Some(&owner), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        let view = env.get(PATH, Some(&owner)).await.json;
        assert_eq!(view["sync_status"], "CANCEL");
        assert_eq!(view["sync_retries_remaining"], 0);

        let kinds = env.log_kinds().await;
        let changes = kinds
            .iter()
            .filter(|k| *k == "repo_mirror_config_changed")
            .count();
        // create (1) + PUT (is_enabled, sync_interval, username, verify_tls, rule = 5)
        // + sync-now + sync-cancel.
        assert_eq!(changes, 8, "{kinds:?}");
        env.cleanup().await;
    }
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").expect("test data")
}

#[tokio::test]
async fn worker_claims_and_releases_on_the_interval_grid() {
    for b in backends() {
        let env = env_with(b, MIRROR).await;
        let (owner_id, owner) = env.user_with_token("owner").await;
        env.org("acme", owner_id).await;
        let _repo_id = env.repo("acme", "mirrored", false, Some(owner_id)).await;
        let db = env.tdb.db().clone();
        let acme = db
            .account_by_username("acme")
            .await
            .expect("test data")
            .expect("test data");
        env.auth
            .create_robot_account(&acme, "mirror", "", None)
            .await
            .expect("robot");
        let r = env
            .call("POST", PATH, Some(&owner), Some(create_body()))
            .await;
        assert_eq!(r.status, 201, "{b}: {r:?}");

        // Start 2026-01-01T00:00, hourly: eligible once the start has passed.
        let before = at("2025-12-31T23:00:00Z");
        assert!(db
            .eligible_mirrors(before)
            .await
            .expect("test data")
            .is_empty());
        let now = at("2026-01-01T05:20:00Z");
        let eligible = db.eligible_mirrors(now).await.expect("test data");
        assert_eq!(eligible.len(), 1);
        let claimed = db
            .claim_mirror(&eligible[0], now)
            .await
            .expect("test data")
            .expect("claimed");
        assert_eq!(claimed.sync_status, MirrorStatus::Syncing);
        assert_eq!(
            claimed.sync_expiration_date,
            Some(now + Duration::hours(12))
        );
        assert!(
            db.claim_mirror(&eligible[0], now)
                .await
                .expect("test data")
                .is_none(),
            "a stale read cannot claim twice"
        );
        assert!(
            db.eligible_mirrors(now)
                .await
                .expect("test data")
                .is_empty(),
            "running"
        );

        // A failure keeps the start (retried next cycle) and spends a retry.
        let failed = db
            .release_mirror(&claimed, MirrorStatus::Fail, now)
            .await
            .expect("test data")
            .expect("released");
        assert_eq!(failed.sync_retries_remaining, 2);
        assert_eq!(failed.sync_start_date, Some(at("2026-01-01T00:00:00Z")));
        // Success: the next start is the next hour boundary of the original start.
        let again = db.eligible_mirrors(now).await.expect("test data");
        let claimed = db
            .claim_mirror(&again[0], now)
            .await
            .expect("test data")
            .expect("test data");
        let done = db
            .release_mirror(&claimed, MirrorStatus::Success, now)
            .await
            .expect("test data")
            .expect("test data");
        assert_eq!(done.sync_status, MirrorStatus::Success);
        assert_eq!(done.sync_start_date, Some(at("2026-01-01T06:00:00Z")));
        assert_eq!(done.sync_retries_remaining, 3);
        assert!(db
            .eligible_mirrors(now)
            .await
            .expect("test data")
            .is_empty());

        // A cancel during a sync makes the worker's release fail: the cancel stands.
        let later = at("2026-01-01T06:00:01Z");
        let claimed = db
            .claim_mirror(
                &db.eligible_mirrors(later).await.expect("test data")[0],
                later,
            )
            .await
            .expect("test data")
            .expect("test data");
        let r = env
            .call("POST", &format!("{PATH}/sync-cancel"), Some(&owner), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            db.mirror_status(claimed.id).await.expect("test data"),
            Some(MirrorStatus::Cancel)
        );
        assert!(db
            .release_mirror(&claimed, MirrorStatus::Success, later)
            .await
            .expect("test data")
            .is_none());
        assert!(db
            .eligible_mirrors(later)
            .await
            .expect("test data")
            .is_empty());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn mirror_api_is_gated_by_the_feature() {
    let env = env_with(backends()[0], "").await;
    let (owner_id, owner) = env.user_with_token("owner").await;
    env.org("acme", owner_id).await;
    env.repo("acme", "mirrored", false, Some(owner_id)).await;
    let r = env.get(PATH, Some(&owner)).await;
    assert_eq!(r.status, 404, "{r:?}");
    env.cleanup().await;
}
