//! Entity autocomplete (`GET /api/v1/entities/{prefix}`) on both backends: users by
//! prefix with the exact match first, an organization's robots, teams and itself for its
//! members, the caller's own robots, `FEATURE_PARTIAL_USER_AUTOCOMPLETE: false`, literal
//! wildcards, and what an outsider or anonymous caller sees.

mod common;

use common::*;
use quayside_testkit::accounts;
use serde_json::{json, Value};

fn names(r: &Resp) -> Vec<String> {
    r.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["kind"].as_str().expect("kind"),
                e["name"].as_str().expect("name")
            )
        })
        .collect()
}

fn entry<'a>(r: &'a Resp, name: &str) -> &'a Value {
    r.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {r:?}"))
}

#[tokio::test]
async fn entities_for_members_outsiders_and_anonymous() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_ANONYMOUS_ACCESS: true\n").await;
        let (owner, owner_t) = env.user_with_token("devowner").await;
        let (_, outsider_t) = env.user_with_token("outsider").await;
        env.user("dev").await;
        env.user("devtable").await;
        env.user("devz").await;
        env.user("dev_x").await;
        env.org("devorg", owner).await;
        accounts::robot(&env.auth, owner, "devbot")
            .await
            .expect("own robot");
        let org_id = env
            .tdb
            .db()
            .account_by_username("devorg")
            .await
            .expect("db")
            .expect("org")
            .id;
        accounts::robot(&env.auth, org_id, "devdeploy")
            .await
            .expect("org robot");
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/devorg/team/developers",
                Some(&owner_t),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/devorg/team/developers/members/dev",
                Some(&owner_t),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");

        // A member of devorg typing "Dev": its teams, robots first, users (exact first),
        // then the org itself.
        let r = env
            .get(
                "/api/v1/entities/Dev?namespace=devorg&includeTeams=true&includeOrgs=true",
                Some(&owner_t),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            names(&r),
            [
                "team:developers",
                "user:dev",
                "user:devorg+devdeploy",
                "user:devowner",
                "user:devtable",
                "user:devz",
                "user:dev_x",
                "org:devorg",
            ],
            "{backend}"
        );
        let bot = entry(&r, "devorg+devdeploy");
        assert_eq!(bot["is_robot"], true);
        assert_eq!(bot["is_org_member"], true);
        assert_eq!(bot["avatar"]["kind"], "robot");
        assert_eq!(entry(&r, "devowner")["is_org_member"], true, "owners team");
        assert_eq!(
            entry(&r, "dev")["is_org_member"],
            false,
            "only invited to developers"
        );
        assert_eq!(entry(&r, "devtable")["is_org_member"], false);
        assert_eq!(entry(&r, "devtable")["is_robot"], false);
        let team = entry(&r, "developers");
        assert_eq!(team["avatar"]["kind"], "team");
        assert_eq!(team["is_org_member"], true);
        assert_eq!(entry(&r, "devorg")["avatar"]["kind"], "org");

        // "_" matches itself only.
        let r = env.get("/api/v1/entities/dev_", Some(&owner_t)).await;
        assert_eq!(names(&r), ["user:dev_x"], "{backend}");

        // The caller's own namespace: its robots.
        let r = env
            .get("/api/v1/entities/devb?namespace=devowner", Some(&owner_t))
            .await;
        assert_eq!(names(&r), ["user:devowner+devbot"], "{backend}");
        assert!(entry(&r, "devowner+devbot").get("is_org_member").is_none());

        // An outsider: no robots, teams or org of devorg; users all the same.
        let r = env
            .get(
                "/api/v1/entities/dev?namespace=devorg&includeTeams=true&includeOrgs=true",
                Some(&outsider_t),
            )
            .await;
        assert_eq!(
            names(&r),
            [
                "user:dev",
                "user:devowner",
                "user:devtable",
                "user:devz",
                "user:dev_x"
            ],
            "{backend}"
        );
        let r = env
            .get(
                "/api/v1/entities/devb?namespace=devowner",
                Some(&outsider_t),
            )
            .await;
        assert_eq!(names(&r), Vec::<String>::new(), "someone else's robots");
        let r = env.get("/api/v1/entities/devt", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(names(&r), ["user:devtable"]);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn exact_user_matches_only_without_partial_autocomplete() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_PARTIAL_USER_AUTOCOMPLETE: false\n").await;
        let (me, t) = env.user_with_token("devtable").await;
        env.user("devtables").await;
        accounts::robot(&env.auth, me, "builder")
            .await
            .expect("robot");
        let r = env.get("/api/v1/entities/devtable", Some(&t)).await;
        assert_eq!(names(&r), ["user:devtable"], "{backend}");
        let r = env.get("/api/v1/entities/devtab", Some(&t)).await;
        assert_eq!(names(&r), Vec::<String>::new(), "{backend}");
        // Robots still match by prefix.
        let r = env
            .get("/api/v1/entities/bui?namespace=devtable", Some(&t))
            .await;
        assert_eq!(names(&r), ["user:devtable+builder"], "{backend}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn anonymous_callers_need_anonymous_access() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_ANONYMOUS_ACCESS: false\n").await;
        env.user("devtable").await;
        let r = env.get("/api/v1/entities/dev", None).await;
        assert_eq!(r.status, 401, "{r:?}");
        env.cleanup().await;
    }
}
