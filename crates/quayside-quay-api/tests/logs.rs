//! Usage logs: `/api/v1/{user,organization/<org>,repository/<repo>}/logs` and
//! `aggregatelogs`, over rows in Quay's `logentry3` — on both backends.

mod common;

use chrono::{Duration, Utc};
use common::*;
use quayside_auth::Role;
use quayside_meta::logs::{LogKinds, NewLogEntry};
use serde_json::json;

async fn log(
    env: &Env,
    kind: &str,
    account: i64,
    performer: Option<i64>,
    repo: Option<i64>,
    ago: Duration,
) {
    env.tdb
        .db()
        .insert_log_entry(
            &LogKinds::default(),
            &NewLogEntry {
                kind,
                account_id: account,
                performer_id: performer,
                repository_id: repo,
                ip: Some("10.0.0.1"),
                metadata_json: r#"{"repo": "r", "namespace": "acme"}"#,
                datetime: Utc::now().naive_utc() - ago,
            },
        )
        .await
        .expect("insert log");
}

#[tokio::test]
async fn repository_logs_shape_pagination_and_permissions() {
    for backend in backends() {
        let env = env(backend).await;
        let (owner, owner_t) = env.user_with_token("owner").await;
        let (reader, reader_t) = env.user_with_token("reader").await;
        let org = env.org("acme", owner).await;
        let repo = env.repo("acme", "r", false, Some(owner)).await;
        env.grant(repo, reader, Role::Read).await;
        for i in 0..25 {
            log(
                &env,
                "push_repo",
                org,
                Some(owner),
                Some(repo),
                Duration::minutes(i),
            )
            .await;
        }
        log(&env, "pull_repo", org, None, Some(repo), Duration::days(3)).await;

        let r = env
            .get("/api/v1/repository/acme/r/logs", Some(&owner_t))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            ["end_time", "logs", "next_page", "start_time"]
        );
        let logs = r.json["logs"].as_array().expect("logs");
        assert_eq!(logs.len(), 20);
        let first = &logs[0];
        assert_eq!(
            keys(first),
            ["datetime", "ip", "kind", "metadata", "performer"]
        );
        assert_eq!(first["kind"], "push_repo");
        assert_eq!(first["ip"], "10.0.0.1");
        assert_eq!(first["metadata"], json!({"repo": "r", "namespace": "acme"}));
        assert_eq!(
            keys(&first["performer"]),
            ["avatar", "is_robot", "kind", "name"]
        );
        assert_eq!(first["performer"]["name"], "owner");
        assert_eq!(first["performer"]["is_robot"], false);
        assert!(first["datetime"]
            .as_str()
            .is_some_and(|d| d.ends_with("-0000")));

        let next = r.json["next_page"].as_str().expect("next page").to_owned();
        let r2 = env
            .get(
                &format!("/api/v1/repository/acme/r/logs?next_page={next}"),
                Some(&owner_t),
            )
            .await;
        assert_eq!(r2.json["logs"].as_array().map(Vec::len), Some(5), "{r2:?}");
        assert!(r2.json.get("next_page").is_none());

        // The 3-day-old pull is outside the default window, inside an explicit one.
        let day = (Utc::now() - Duration::days(4)).format("%m/%d/%Y");
        let r3 = env
            .get(
                &format!("/api/v1/repository/acme/r/aggregatelogs?starttime={day}"),
                Some(&owner_t),
            )
            .await;
        assert_eq!(r3.status, 200, "{r3:?}");
        let agg = r3.json["aggregated"].as_array().expect("aggregated");
        let total: i64 = agg.iter().filter_map(|a| a["count"].as_i64()).sum();
        assert_eq!(total, 26, "{r3:?}");
        assert!(agg.iter().all(|a| keys(a) == ["count", "datetime", "kind"]));
        assert!(agg
            .iter()
            .any(|a| a["kind"] == "pull_repo" && a["count"] == 1));
        let r4 = env
            .get("/api/v1/repository/acme/r/aggregatelogs", Some(&owner_t))
            .await;
        let total: i64 = r4.json["aggregated"]
            .as_array()
            .expect("aggregated")
            .iter()
            .filter_map(|a| a["count"].as_i64())
            .sum();
        assert_eq!(total, 25);

        // Readers are not admins; anonymous callers are not signed in.
        let r = env
            .get("/api/v1/repository/acme/r/logs", Some(&reader_t))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get("/api/v1/repository/acme/r/logs", None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        // A repo:read token of the owner is clamped below admin.
        let read_only = env.token(owner, "repo:read").await;
        let r = env
            .get("/api/v1/repository/acme/r/logs", Some(&read_only))
            .await;
        assert_eq!(r.status, 403, "{r:?}");
        // End before start.
        let r = env
            .get(
                "/api/v1/repository/acme/r/logs?starttime=02/01/2024&endtime=01/01/2024",
                Some(&owner_t),
            )
            .await;
        assert_eq!(r.status, 400, "{r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn user_and_organization_logs() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        let (bob, bob_t) = env.user_with_token("bob").await;
        let org = env.org("acme", alice).await;
        log(
            &env,
            "create_robot",
            alice,
            Some(alice),
            None,
            Duration::minutes(1),
        )
        .await;
        log(
            &env,
            "service_key_create",
            alice,
            None,
            None,
            Duration::minutes(2),
        )
        .await;
        log(
            &env,
            "org_create_team",
            org,
            Some(alice),
            None,
            Duration::minutes(3),
        )
        .await;
        log(
            &env,
            "org_add_team_member",
            org,
            Some(bob),
            None,
            Duration::minutes(4),
        )
        .await;

        // A user's own logs hide service-level kinds.
        let r = env.get("/api/v1/user/logs", Some(&alice_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        let kinds: Vec<&str> = r.json["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .filter_map(|l| l["kind"].as_str())
            .collect();
        assert_eq!(kinds, ["create_robot"]);
        assert!(r.json.get("next_page").is_none());
        let r = env.get("/api/v1/user/aggregatelogs", Some(&alice_t)).await;
        assert_eq!(
            r.json["aggregated"].as_array().map(Vec::len),
            Some(1),
            "{r:?}"
        );
        // user:admin is needed.
        let user_read = env.token(alice, "user:read").await;
        let r = env.get("/api/v1/user/logs", Some(&user_read)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get("/api/v1/user/logs", None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");

        // Organization logs: admins only, with a performer filter.
        let r = env
            .get("/api/v1/organization/acme/logs", Some(&alice_t))
            .await;
        assert_eq!(r.json["logs"].as_array().map(Vec::len), Some(2), "{r:?}");
        let r = env
            .get(
                "/api/v1/organization/acme/logs?performer=bob",
                Some(&alice_t),
            )
            .await;
        let logs = r.json["logs"].as_array().expect("logs");
        assert_eq!(logs.len(), 1, "{r:?}");
        assert_eq!(logs[0]["kind"], "org_add_team_member");
        let r = env
            .get("/api/v1/organization/acme/logs", Some(&bob_t))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let no_org_admin = env.token(alice, "repo:admin user:admin").await;
        let r = env
            .get("/api/v1/organization/acme/logs", Some(&no_org_admin))
            .await;
        assert_eq!(r.status, 403, "{r:?}");

        // Superusers may read any organization's logs; a missing one is then 404.
        let su = env.user("super").await;
        let su_t = env.token(su, ALL_SCOPES).await;
        let r = env
            .get("/api/v1/organization/acme/aggregatelogs", Some(&su_t))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let r = env.get("/api/v1/organization/nope/logs", Some(&su_t)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn aggregate_logs_follow_the_feature_flag() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_AGGREGATED_LOG_COUNT_RETRIEVAL: false\n").await;
        let (_, t) = env.user_with_token("alice").await;
        let r = env.get("/api/v1/user/aggregatelogs", Some(&t)).await;
        assert_eq!(r.status, 404, "{r:?}");
        assert_eq!(env.get("/api/v1/user/logs", Some(&t)).await.status, 200);
        env.cleanup().await;
    }
}
