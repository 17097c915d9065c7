//! Repository permissions API (`/api/v1/repository/<repo>/permissions/…`) on both
//! backends: user (and robot) and team permissions, transitive roles, errors, permission
//! cells and audit rows.

mod common;

use common::*;
use quayside_auth::Role;
use quayside_meta::with_pool;
use quayside_testkit::accounts;
use serde_json::{json, Value};

async fn team(env: &Env, org_id: i64, name: &str, role: &str, members: &[i64]) -> i64 {
    let db = env.tdb.db();
    let id: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO team (name, organization_id, role_id, description) \
             VALUES ($1, $2, (SELECT id FROM teamrole WHERE name = $3), '') RETURNING id",
        )
        .bind(name)
        .bind(org_id as i32)
        .bind(role)
        .fetch_one(pool)
        .await
    })
    .expect("team");
    for m in members {
        with_pool!(db, pool => {
            sqlx::query("INSERT INTO teammember (user_id, team_id) VALUES ($1, $2)")
                .bind(*m as i32)
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("member");
    }
    i64::from(id)
}

async fn last_log(env: &Env) -> (String, Option<i64>, Value) {
    let rows = env
        .tdb
        .db()
        .log_entries(&quayside_meta::logs::LogFilter::default(), 1)
        .await
        .expect("logs");
    let row = rows.into_iter().next().expect("a log row");
    (
        row.kind,
        row.repository_id,
        serde_json::from_str(&row.metadata_json).expect("metadata"),
    )
}

const BASE: &str = "/api/v1/repository/acme/app/permissions";

#[tokio::test]
async fn user_permissions() {
    for backend in backends() {
        let env = env(backend).await;
        let (owner, tok) = env.user_with_token("owner").await;
        let (member, _) = env.user_with_token("member").await;
        let (outsider, _) = env.user_with_token("outsider").await;
        let org = env.org("acme", owner).await;
        team(&env, org, "devs", "member", &[member]).await;
        let repo = env.repo("acme", "app", false, Some(owner)).await;
        let (_, robot_token) = accounts::robot(&env.auth, org, "bot").await.expect("robot");
        let _ = robot_token;
        accounts::robot(&env.auth, owner, "mine")
            .await
            .expect("user robot");

        // Grant: a member, an outsider, a robot.
        for (name, role) in [
            ("member", "write"),
            ("outsider", "read"),
            ("acme+bot", "admin"),
        ] {
            let r = env
                .call(
                    "PUT",
                    &format!("{BASE}/user/{name}"),
                    Some(&tok),
                    Some(json!({"role": role})),
                )
                .await;
            assert_eq!(r.status, 200, "{name}: {r:?}");
            assert_eq!(
                keys(&r.json),
                ["avatar", "is_org_member", "is_robot", "name", "role"]
            );
            assert_eq!(r.json["role"], role);
            assert_eq!(r.json["name"], name);
            let (kind, repo_id, meta) = last_log(&env).await;
            assert_eq!(
                (kind.as_str(), repo_id),
                ("change_repo_permission", Some(repo))
            );
            assert_eq!(meta["username"], name);
            assert_eq!(meta["repo"], "app");
            assert_eq!(meta["namespace"], "acme");
            assert_eq!(meta["role"], role);
        }
        // Changing keeps one row.
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/outsider"),
                Some(&tok),
                Some(json!({"role": "write"})),
            )
            .await;
        assert_eq!(r.json["role"], "write");

        let r = env.get(&format!("{BASE}/user/"), Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        let perms = r.json["permissions"].as_object().expect("map");
        let mut names: Vec<&String> = perms.keys().collect();
        names.sort();
        assert_eq!(names, ["acme+bot", "member", "outsider", "owner"]);
        assert_eq!(perms["member"]["is_org_member"], true);
        assert_eq!(perms["outsider"]["is_org_member"], false);
        assert_eq!(perms["outsider"]["role"], "write");
        assert_eq!(perms["acme+bot"]["is_org_member"], true);
        assert_eq!(perms["acme+bot"]["is_robot"], true);
        assert_eq!(perms["acme+bot"]["avatar"]["kind"], "robot");
        assert_eq!(perms["owner"]["role"], "admin");
        assert_eq!(perms["owner"]["avatar"]["kind"], "user");
        assert_eq!(perms["owner"]["is_org_member"], true);

        let r = env.get(&format!("{BASE}/user/member"), Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["role"], "write");
        assert_eq!(r.json["is_org_member"], true);
        let r = env.get(&format!("{BASE}/user/nobody"), Some(&tok)).await;
        assert_message(&r, 400, "User does not have permission for repo.");

        // Refusals.
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/acme"),
                Some(&tok),
                Some(json!({"role": "read"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Namespace owner must always be admin.",
        );
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/ghost"),
                Some(&tok),
                Some(json!({"role": "read"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "Invalid username: ghost");
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/owner+mine"),
                Some(&tok),
                Some(json!({"role": "read"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Cannot add robot owner+mine under namespace acme",
        );
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/member"),
                Some(&tok),
                Some(json!({"role": "owner"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'owner' is not one of ['read', 'write', 'admin']",
        );
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/member"),
                Some(&tok),
                Some(json!({})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "'role' is a required property");

        // Delete.
        let r = env
            .call("DELETE", &format!("{BASE}/user/outsider"), Some(&tok), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let (kind, repo_id, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), repo_id),
            ("delete_repo_permission", Some(repo))
        );
        assert_eq!(
            meta,
            json!({"username": "outsider", "repo": "app", "namespace": "acme", "oauth_token_id": meta["oauth_token_id"], "oauth_token_application_id": meta["oauth_token_application_id"], "oauth_token_application": meta["oauth_token_application"]})
        );
        let r = env
            .call("DELETE", &format!("{BASE}/user/outsider"), Some(&tok), None)
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "User does not have permission for repo.",
        );
        let r = env
            .call("DELETE", &format!("{BASE}/user/acme"), Some(&tok), None)
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Namespace owner must always be admin.",
        );
        // Quay has no "last admin" rule: the only admin user permission can go.
        let r = env
            .call("DELETE", &format!("{BASE}/user/owner"), Some(&tok), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let _ = (outsider, member);

        // A user's repository: no is_org_member; the namespace user is protected.
        let mine = env.repo("owner", "own", false, Some(owner)).await;
        let r = env
            .get("/api/v1/repository/owner/own/permissions/user/", Some(&tok))
            .await;
        assert_eq!(
            keys(&r.json["permissions"]["owner"]),
            ["avatar", "is_robot", "name", "role"]
        );
        let r = env
            .call(
                "DELETE",
                "/api/v1/repository/owner/own/permissions/user/owner",
                Some(&tok),
                None,
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Namespace owner must always be admin.",
        );
        let _ = mine;
        assert_eq!(
            env.log_kinds().await,
            [
                "change_repo_permission",
                "change_repo_permission",
                "change_repo_permission",
                "change_repo_permission",
                "delete_repo_permission",
                "delete_repo_permission",
            ]
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn team_permissions_and_transitive_roles() {
    for backend in backends() {
        let env = env(backend).await;
        let (owner, tok) = env.user_with_token("owner").await;
        let (dev, _) = env.user_with_token("dev").await;
        let org = env.org("acme", owner).await;
        team(&env, org, "devs", "member", &[dev]).await;
        let repo = env.repo("acme", "app", false, Some(owner)).await;

        let r = env
            .call(
                "PUT",
                &format!("{BASE}/team/devs"),
                Some(&tok),
                Some(json!({"role": "write"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), ["avatar", "name", "role"]);
        assert_eq!(r.json["role"], "write");
        assert_eq!(r.json["name"], "devs");
        assert_eq!(r.json["avatar"]["kind"], "team");
        let (kind, repo_id, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), repo_id),
            ("change_repo_permission", Some(repo))
        );
        assert_eq!(meta["team"], "devs");
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["role"], "write");
        assert!(meta.get("namespace").is_none());

        let r = env.get(&format!("{BASE}/team/"), Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json["permissions"]), ["devs"]);
        assert_eq!(
            keys(&r.json["permissions"]["devs"]),
            ["avatar", "name", "role"]
        );
        let r = env.get(&format!("{BASE}/team/devs"), Some(&tok)).await;
        assert_eq!(r.json, json!({"role": "write"}));
        let r = env.get(&format!("{BASE}/team/owners"), Some(&tok)).await;
        assert_message(&r, 400, "Team does not have permission for repo.");
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/team/ghosts"),
                Some(&tok),
                Some(json!({"role": "read"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "No team ghosts in organization acme",
        );

        // Transitive: dev holds write through the team only.
        let r = env
            .get(&format!("{BASE}/user/dev/transitive"), Some(&tok))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"permissions": [{"role": "write"}]}));
        env.grant(repo, dev, Role::Read).await;
        let r = env
            .get(&format!("{BASE}/user/dev/transitive"), Some(&tok))
            .await;
        let mut roles: Vec<String> = r.json["permissions"]
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["role"].as_str().unwrap_or("").to_owned())
            .collect();
        roles.sort();
        assert_eq!(roles, ["read", "write"]);
        let r = env
            .get(&format!("{BASE}/user/ghost/transitive"), Some(&tok))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .get(&format!("{BASE}/user/acme/transitive"), Some(&tok))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Team permission changes and deletion.
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/team/devs"),
                Some(&tok),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_eq!(r.json["role"], "admin");
        let r = env.get(&format!("{BASE}/team/devs"), Some(&tok)).await;
        assert_eq!(r.json, json!({"role": "admin"}));
        let r = env
            .call("DELETE", &format!("{BASE}/team/devs"), Some(&tok), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let (kind, _, meta) = last_log(&env).await;
        assert_eq!(kind, "delete_repo_permission");
        assert_eq!(meta["team"], "devs");
        assert_eq!(meta["repo"], "app");
        let r = env
            .call("DELETE", &format!("{BASE}/team/devs"), Some(&tok), None)
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Team does not have permission for repo.",
        );
        let r = env.get(&format!("{BASE}/team/"), Some(&tok)).await;
        assert_eq!(r.json, json!({"permissions": {}}));
        assert_eq!(
            env.log_kinds().await,
            [
                "change_repo_permission",
                "change_repo_permission",
                "delete_repo_permission"
            ]
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn permission_cells() {
    for backend in backends() {
        let env = env(backend).await;
        let (owner, owner_tok) = env.user_with_token("owner").await;
        let (admin, admin_tok) = env.user_with_token("orgadmin").await;
        let (writer, writer_tok) = env.user_with_token("writer").await;
        let (repo_admin, repo_admin_tok) = env.user_with_token("repoadmin").await;
        let (_, outsider_tok) = env.user_with_token("outsider").await;
        let org = env.org("acme", owner).await;
        team(&env, org, "admins", "admin", &[admin]).await;
        let repo = env.repo("acme", "app", true, Some(owner)).await;
        env.grant(repo, writer, Role::Write).await;
        env.grant(repo, repo_admin, Role::Admin).await;
        let write_scoped = env.token(owner, "repo:write repo:read").await;

        let path = format!("{BASE}/user/");
        for tok in [&owner_tok, &admin_tok, &repo_admin_tok] {
            let r = env.get(&path, Some(tok)).await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        for tok in [&writer_tok, &outsider_tok, &write_scoped] {
            let r = env.get(&path, Some(tok)).await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
            let r = env.get(&format!("{BASE}/team/"), Some(tok)).await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
            let r = env
                .call(
                    "PUT",
                    &format!("{BASE}/user/writer"),
                    Some(tok),
                    Some(json!({"role": "admin"})),
                )
                .await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        }
        // Public repositories give anonymous callers read, not admin.
        let r = env.get(&path, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env
            .call("DELETE", &format!("{BASE}/user/writer"), None, None)
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        // An org admin without an explicit grant may manage permissions.
        let r = env
            .call(
                "PUT",
                &format!("{BASE}/user/writer"),
                Some(&admin_tok),
                Some(json!({"role": "read"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(env.log_kinds().await, ["change_repo_permission"]);
        env.cleanup().await;
    }
}
