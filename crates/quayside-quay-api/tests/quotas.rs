//! Namespace quotas on /api/v1 (Quay `endpoints/api/namespacequota.py` and the superuser
//! quota resources), on SQLite and PostgreSQL: shapes, human limits, thresholds, who may
//! read and write, the user's own read-only view, audit rows, the feature gates, and the
//! totals backfill over data written while quotas were not tracked.

mod common;

use common::*;
use quayside_meta::quota::QuotaAccounting;
use quayside_meta::registry::{NewManifest, TagTarget};
use serde_json::{json, Value};

const QUOTA: &str = "FEATURE_QUOTA_MANAGEMENT: true\nGLOBAL_READONLY_SUPER_USERS: [reader]\n";
const GIB: i64 = 1024 * 1024 * 1024;

#[tokio::test]
async fn quota_api_shapes_permissions_and_audit() {
    for b in backends() {
        let env = env_with(b, QUOTA).await;
        let (_, su) = env.user_with_token("super").await;
        let (reader_id, _) = env.user_with_token("reader").await;
        let reader = env.token(reader_id, ALL_SCOPES).await;
        let (owner_id, owner) = env.user_with_token("owner").await;
        let (_, outsider) = env.user_with_token("outsider").await;
        env.org("acme", owner_id).await;

        // Reads: members and superusers; writes: superusers only.
        let r = env.get("/api/v1/organization/acme/quota", None).await;
        assert_eq!(r.status, 401, "{b}: {r:?}");
        let r = env
            .get("/api/v1/organization/acme/quota", Some(&outsider))
            .await;
        assert_eq!(r.status, 403, "{r:?}");
        let r = env.get("/api/v1/organization/nope/quota", Some(&su)).await;
        assert_eq!(r.status, 404, "{r:?}");
        let r = env
            .get("/api/v1/organization/acme/quota", Some(&owner))
            .await;
        assert_eq!(r.json, json!([]), "{r:?}");
        let r = env
            .call(
                "POST",
                "/api/v1/superuser/organization/acme/quota",
                Some(&reader),
                Some(json!({"limit_bytes": 5})),
            )
            .await;
        assert_eq!(r.status, 403, "a read-only superuser cannot write: {r:?}");

        // Human limits on the superuser resource.
        let list = "/api/v1/superuser/organization/acme/quota";
        let r = env
            .call("POST", list, Some(&su), Some(json!({"limit": "ten"})))
            .await;
        assert_problem(&r, 400, "invalid_request", "Invalid limit format");
        let r = env
            .call("POST", list, Some(&su), Some(json!({"limit": "10 GiB"})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .call("POST", list, Some(&su), Some(json!({"limit_bytes": 1})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Quota for 'acme' already exists",
        );
        let r = env.get(list, Some(&reader)).await;
        assert_eq!(r.status, 200, "read-only superusers may read: {r:?}");
        let quota = r.json[0].clone();
        assert_eq!(
            keys(&quota),
            [
                "default_config",
                "default_config_exists",
                "id",
                "limit",
                "limit_bytes",
                "limits"
            ]
        );
        assert_eq!(quota["limit_bytes"], 10 * GIB);
        assert_eq!(quota["limit"], "10.0 GiB");
        assert_eq!(quota["default_config_exists"], false);
        let id = quota["id"].as_i64().expect("id");
        let one = format!("/api/v1/superuser/organization/acme/quota/{id}");
        let r = env
            .call("PUT", &one, Some(&su), Some(json!({"limit": "5 GiB"})))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["limit_bytes"], 5 * GIB);
        let r = env
            .call(
                "PUT",
                "/api/v1/superuser/organization/acme/quota/999999",
                Some(&su),
                Some(json!({"limit_bytes": 9})),
            )
            .await;
        assert_eq!(r.status, 404, "{r:?}");

        // The organization view carries the quota and its report for members.
        let r = env.get("/api/v1/organization/acme", Some(&owner)).await;
        assert_eq!(r.json["quotas"][0]["limit_bytes"], 5 * GIB, "{r:?}");
        assert_eq!(
            r.json["quota_report"],
            json!({"quota_bytes": 0, "configured_quota": 5 * GIB,
                   "running_backfill": "waiting", "backfill_status": "waiting"})
        );
        let r = env.get("/api/v1/organization/acme", Some(&outsider)).await;
        assert!(
            r.json.get("quota_report").is_none(),
            "not for outsiders: {r:?}"
        );

        // Thresholds.
        let limits = format!("/api/v1/organization/acme/quota/{id}/limit");
        let r = env
            .call(
                "POST",
                &limits,
                Some(&owner),
                Some(json!({"type": "Warning", "threshold_percent": 80})),
            )
            .await;
        assert_eq!(r.status, 403, "an org admin cannot add thresholds: {r:?}");
        let r = env
            .call("POST", &limits, Some(&su), Some(json!({"type": "Warning"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'threshold_percent' is a required property",
        );
        let r = env
            .call(
                "POST",
                &limits,
                Some(&su),
                Some(json!({"type": "Warning", "threshold_percent": 80})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env.get(&limits, Some(&owner)).await;
        let limit_id = r.json[0]["id"].as_i64().expect("limit id");
        assert_eq!(
            r.json,
            json!([{"id": limit_id, "type": "Warning", "limit_percent": 80}])
        );
        let one_limit = format!("{limits}/{limit_id}");
        let r = env
            .call(
                "PUT",
                &one_limit,
                Some(&su),
                Some(json!({"type": "REJECT", "threshold_percent": 90})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.json["limits"],
            json!([{"id": limit_id, "type": "Reject", "limit_percent": 90}]),
            "the whole quota view"
        );
        let r = env
            .call(
                "PUT",
                &one_limit,
                Some(&su),
                Some(json!({"threshold_percent": 101})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Quota limit threshold must be between 1 and 100",
        );
        let r = env.get(&one_limit, Some(&owner)).await;
        assert_eq!(
            r.json,
            json!({"id": limit_id, "type": "Reject", "limit_percent": 90})
        );
        let r = env.call("DELETE", &one_limit, Some(&su), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env.get(&one_limit, Some(&owner)).await;
        assert_eq!(r.status, 404, "{r:?}");

        // A user's own quota, read-only for the user.
        let r = env
            .call(
                "POST",
                "/api/v1/superuser/users/owner/quota",
                Some(&su),
                Some(json!({"limit_bytes": 1000})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env.get("/api/v1/user/quota", Some(&owner)).await;
        assert_eq!(r.json[0]["limit_bytes"], 1000, "{r:?}");
        let user_quota = r.json[0]["id"].as_i64().expect("id");
        let r = env
            .get(&format!("/api/v1/user/quota/{user_quota}"), Some(&owner))
            .await;
        assert_eq!(r.json["limit"], "1000.0 B", "{r:?}");
        let r = env
            .get(
                &format!("/api/v1/user/quota/{user_quota}/limit"),
                Some(&owner),
            )
            .await;
        assert_eq!(r.json, json!([]));
        let r = env
            .get(&format!("/api/v1/user/quota/{id}"), Some(&owner))
            .await;
        assert_eq!(r.status, 404, "another namespace's quota: {r:?}");
        let r = env.get("/api/v1/user/quota", Some(&outsider)).await;
        assert_eq!(r.json, json!([]));
        let r = env.get("/api/v1/user/", Some(&owner)).await;
        assert_eq!(r.json["quotas"][0]["limit_bytes"], 1000, "{r:?}");
        assert_eq!(r.json["quota_report"]["configured_quota"], 1000);

        let r = env.call("DELETE", &one, Some(&su), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env
            .get("/api/v1/organization/acme/quota", Some(&owner))
            .await;
        assert_eq!(r.json, json!([]));

        let kinds = env.log_kinds().await;
        let quota_kinds: Vec<&str> = kinds
            .iter()
            .map(String::as_str)
            .filter(|k| k.contains("quota"))
            .collect();
        assert_eq!(
            quota_kinds,
            [
                "org_create_quota",
                "org_change_quota",
                "org_create_quota_limit",
                "org_change_quota_limit",
                "org_delete_quota_limit",
                "org_create_quota",
                "org_delete_quota"
            ],
            "{b}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn quota_operations_need_quota_management() {
    for b in backends() {
        let env = env(b).await;
        let (owner_id, owner) = env.user_with_token("owner").await;
        env.org("acme", owner_id).await;
        for path in [
            "/api/v1/organization/acme/quota",
            "/api/v1/user/quota",
            "/api/v1/superuser/users/owner/quota",
        ] {
            let r = env.get(path, Some(&owner)).await;
            assert_eq!(r.status, 404, "{b} {path}: {r:?}");
        }
        let r = env.get("/api/v1/organization/acme", Some(&owner)).await;
        assert!(r.json.get("quotas").is_none(), "{r:?}");
        env.cleanup().await;
    }
}

/// Writes a manifest with `blobs` into `repo_id` the way data written before quota
/// management looks (no totals kept), or with `accounting`.
async fn manifest(
    env: &Env,
    repo_id: i64,
    tag: &str,
    blobs: &[i32],
    accounting: QuotaAccounting<'_>,
) {
    let bytes = json!({"schemaVersion": 2, "tag": tag}).to_string();
    let digest = quayside_oci::Digest::sha256_of(bytes.as_bytes()).to_string();
    env.tdb
        .db()
        .put_manifest(
            &NewManifest {
                repository_id: i32::try_from(repo_id).expect("id"),
                digest: &digest,
                media_type: "application/vnd.oci.image.manifest.v1+json",
                bytes: &bytes,
                config_media_type: Some("application/vnd.oci.image.config.v1+json"),
                layers_compressed_size: Some(1),
                subject: None,
                artifact_type: None,
                blob_ids: blobs,
                child_ids: &[],
                labels: &[],
                quota: accounting,
            },
            &TagTarget::Tag {
                name: tag,
                end_after_ms: None,
            },
            chrono::Utc::now().timestamp_millis(),
        )
        .await
        .expect("manifest");
}

async fn org_report(env: &Env, token: &str) -> Value {
    env.get("/api/v1/organization/acme", Some(token)).await.json["quota_report"].clone()
}

#[tokio::test]
async fn the_backfill_computes_totals_written_before_tracking() {
    for b in backends() {
        let env = env_with(b, QUOTA).await;
        let (owner_id, owner) = env.user_with_token("owner").await;
        let acme = env.org("acme", owner_id).await;
        let a = env.repo("acme", "a", false, Some(owner_id)).await;
        let bb = env.repo("acme", "b", false, Some(owner_id)).await;
        let db = env.tdb.db();
        let loc = db.storage_location_id("default").await.expect("location");
        let x = db
            .get_or_create_shared_blob(&format!("sha256:{}", "1".repeat(64)), 100, loc, "u-x")
            .await
            .expect("x");
        let y = db
            .get_or_create_shared_blob(&format!("sha256:{}", "2".repeat(64)), 50, loc, "u-y")
            .await
            .expect("y");
        manifest(&env, a, "one", &[x, y], QuotaAccounting::Off).await;
        manifest(&env, bb, "two", &[x], QuotaAccounting::Off).await;

        assert_eq!(
            org_report(&env, &owner).await["backfill_status"],
            "waiting",
            "{b}"
        );
        let candidates = db.quota_backfill_candidates(100).await.expect("candidates");
        assert!(candidates.contains(&acme), "{candidates:?}");
        assert!(candidates.contains(&owner_id), "users too: {candidates:?}");
        assert_eq!(
            db.quota_backfill_namespace(acme, 1)
                .await
                .expect("backfill"),
            150,
            "x once, y once"
        );
        let rep = org_report(&env, &owner).await;
        assert_eq!(rep["quota_bytes"], 150, "{b}: {rep}");
        assert_eq!(rep["backfill_status"], "complete");
        assert!(!db
            .quota_backfill_candidates(100)
            .await
            .expect("candidates")
            .contains(&acme));
        for (repo, bytes) in [("a", 150), ("b", 100)] {
            let r = env
                .get(&format!("/api/v1/repository/acme/{repo}"), Some(&owner))
                .await;
            assert_eq!(
                r.json["quota_report"],
                json!({"quota_bytes": bytes, "configured_quota": Value::Null}),
                "{repo}"
            );
        }

        // Tracked from now on: a new blob adds, a known one does not.
        let z = db
            .get_or_create_shared_blob(&format!("sha256:{}", "3".repeat(64)), 7, loc, "u-z")
            .await
            .expect("z");
        manifest(&env, bb, "three", &[y, z], QuotaAccounting::Track).await;
        assert_eq!(org_report(&env, &owner).await["quota_bytes"], 157);
        assert_eq!(
            db.repository_size(bb)
                .await
                .expect("size")
                .expect("row")
                .size_bytes,
            157,
            "b now has x, y, z"
        );

        // With quota management off, a write marks the totals stale for a new backfill.
        let w = db
            .get_or_create_shared_blob(&format!("sha256:{}", "4".repeat(64)), 3, loc, "u-w")
            .await
            .expect("w");
        manifest(&env, a, "four", &[w], QuotaAccounting::Invalidate).await;
        assert_eq!(org_report(&env, &owner).await["backfill_status"], "waiting");
        assert!(db
            .quota_backfill_candidates(100)
            .await
            .expect("candidates")
            .contains(&acme));
        assert_eq!(
            db.quota_backfill_namespace(acme, 2)
                .await
                .expect("backfill"),
            160
        );
        env.cleanup().await;
    }
}
