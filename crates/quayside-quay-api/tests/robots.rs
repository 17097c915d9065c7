//! Robot accounts API (`/api/v1/user/robots…`, `/api/v1/organization/<org>/robots…`) on
//! both backends: shapes, errors, permission cells, audit rows, and that the robots
//! created here log in with their tokens (and stop after regeneration or deletion).

mod common;

use common::*;
use quayside_auth::{FieldEncrypter, Identity, Role};
use quayside_meta::with_pool;
use serde_json::{json, Value};

const NAME_RULE: &str = "Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";

fn is_token(t: &Value) -> bool {
    t.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// A team of `org_id` with `role`, holding `members`.
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

async fn count(env: &Env, sql: &str, id: i64) -> i64 {
    let db = env.tdb.db();
    with_pool!(db, pool => {
        sqlx::query_scalar::<_, i64>(sql).bind(id as i32).fetch_one(pool).await
    })
    .expect("count")
}

/// `(kind, metadata)` of the newest log row.
async fn last_log(env: &Env) -> (String, Value) {
    let rows = env
        .tdb
        .db()
        .log_entries(&quayside_meta::logs::LogFilter::default(), 1)
        .await
        .expect("logs");
    let row = rows.into_iter().next().expect("a log row");
    (
        row.kind,
        serde_json::from_str(&row.metadata_json).expect("metadata json"),
    )
}

#[tokio::test]
async fn user_robot_lifecycle_and_login() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;

        // Create with a description and metadata.
        let r = env
            .call(
                "PUT",
                "/api/v1/user/robots/builder",
                Some(&tok),
                Some(json!({"description": "CI builder", "unstructured_metadata": {"team": "ci"}})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(
            keys(&r.json),
            [
                "created",
                "description",
                "last_accessed",
                "name",
                "token",
                "unstructured_metadata"
            ]
        );
        assert_eq!(r.json["name"], "alice+builder");
        assert_eq!(r.json["description"], "CI builder");
        assert_eq!(r.json["unstructured_metadata"], json!({"team": "ci"}));
        assert!(r.json["created"]
            .as_str()
            .is_some_and(|d| d.ends_with("-0000")));
        assert!(is_token(&r.json["token"]), "{r:?}");
        let token = r.json["token"].as_str().unwrap_or_default().to_owned();
        let (kind, meta) = last_log(&env).await;
        assert_eq!(kind, "create_robot");
        assert_eq!(meta["robot"], "builder");
        assert_eq!(meta["description"], "CI builder");
        assert_eq!(meta["unstructured_metadata"], json!({"team": "ci"}));
        assert!(meta["oauth_token_id"].is_number(), "{meta}");

        // Stored as Quay stores it: encrypted under DATABASE_SECRET_KEY.
        let robot = env
            .tdb
            .db()
            .account_by_username("alice+builder")
            .await
            .expect("db")
            .expect("robot row");
        assert!(robot.robot);
        let stored = env
            .tdb
            .db()
            .robot_token(robot.id)
            .await
            .expect("db")
            .expect("token");
        assert!(stored.starts_with("v0$$"));
        let enc = FieldEncrypter::new("database-secret").expect("key");
        assert_eq!(enc.decrypt(&stored).expect("decrypt"), token);
        assert_eq!(
            count(
                &env,
                "SELECT COUNT(*) FROM federatedlogin WHERE user_id = $1",
                robot.id
            )
            .await,
            1
        );

        // The robot logs in with its token.
        let id = env
            .auth
            .verify_basic("alice+builder", &token)
            .await
            .expect("robot login");
        assert!(matches!(id, Identity::Robot { ref username, .. } if username == "alice+builder"));
        assert!(env
            .auth
            .verify_basic("alice+builder", "WRONG")
            .await
            .is_err());

        // Get.
        let r = env.get("/api/v1/user/robots/builder", Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            [
                "created",
                "description",
                "last_accessed",
                "name",
                "token",
                "unstructured_metadata"
            ]
        );
        assert_eq!(r.json["token"], token.as_str());
        assert_eq!(r.json["unstructured_metadata"], json!({"team": "ci"}));

        // Duplicate and invalid names.
        let r = env
            .call("PUT", "/api/v1/user/robots/builder", Some(&tok), None)
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Existing robot with name: alice+builder",
        );
        let r = env
            .call("PUT", "/api/v1/user/robots/Bad!", Some(&tok), None)
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            &format!("The name for the robot 'Bad!' is invalid: {NAME_RULE}"),
        );
        let long = "x".repeat(256);
        let r = env
            .call(
                "PUT",
                "/api/v1/user/robots/other",
                Some(&tok),
                Some(json!({"description": long})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", &format!("'{long}' is too long"));
        let r = env
            .call(
                "PUT",
                "/api/v1/user/robots/other",
                Some(&tok),
                Some(json!({"unstructured_metadata": 5})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "5 is not of type 'object'");

        // A robot created without a body.
        let r = env
            .call("PUT", "/api/v1/user/robots/plain", Some(&tok), None)
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.json["description"], "");
        assert_eq!(r.json["unstructured_metadata"], Value::Null);
        let r = env.get("/api/v1/user/robots/plain", Some(&tok)).await;
        assert_eq!(r.json["unstructured_metadata"], json!({}));

        // Permissions: one repository grant.
        let repo = env.repo("alice", "app", false, Some(alice)).await;
        env.grant(repo, robot.id, Role::Write).await;
        let r = env
            .get("/api/v1/user/robots/builder/permissions", Some(&tok))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.json,
            json!({"permissions": [{"repository": {"name": "app", "is_public": false}, "role": "write"}]})
        );

        // Listing: with tokens by default, without on request, with permissions.
        let r = env.get("/api/v1/user/robots", Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        let robots = r.json["robots"].as_array().expect("robots");
        assert_eq!(robots.len(), 2);
        for robot in robots {
            assert_eq!(
                keys(robot),
                ["created", "description", "last_accessed", "name", "token"]
            );
            assert!(is_token(&robot["token"]));
        }
        let r = env.get("/api/v1/user/robots?token=false", Some(&tok)).await;
        for robot in r.json["robots"].as_array().expect("robots") {
            assert_eq!(
                keys(robot),
                ["created", "description", "last_accessed", "name"]
            );
        }
        let r = env
            .get(
                "/api/v1/user/robots?permissions=true&token=false",
                Some(&tok),
            )
            .await;
        let builder = r.json["robots"]
            .as_array()
            .expect("robots")
            .iter()
            .find(|r| r["name"] == "alice+builder")
            .cloned()
            .expect("builder listed");
        assert_eq!(
            keys(&builder),
            [
                "created",
                "description",
                "last_accessed",
                "name",
                "repositories",
                "teams"
            ]
        );
        assert_eq!(builder["repositories"], json!(["app"]));
        assert_eq!(builder["teams"], json!([]));
        let r = env.get("/api/v1/user/robots?limit=1", Some(&tok)).await;
        assert_eq!(r.json["robots"].as_array().map(Vec::len), Some(1));

        // Regenerate: the old token stops working, the new one works.
        let r = env
            .call(
                "POST",
                "/api/v1/user/robots/builder/regenerate",
                Some(&tok),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            ["created", "description", "last_accessed", "name", "token"]
        );
        let new_token = r.json["token"].as_str().unwrap_or_default().to_owned();
        assert!(is_token(&r.json["token"]));
        assert_ne!(new_token, token);
        assert!(env
            .auth
            .verify_basic("alice+builder", &token)
            .await
            .is_err());
        env.auth
            .verify_basic("alice+builder", &new_token)
            .await
            .expect("new token works");
        let (kind, meta) = last_log(&env).await;
        assert_eq!(kind, "regenerate_robot_token");
        assert_eq!(meta["robot"], "builder");

        // Delete: rows referencing the robot go too; the token stops working.
        let r = env
            .call("DELETE", "/api/v1/user/robots/builder", Some(&tok), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert!(r.text.is_empty());
        assert!(env
            .auth
            .verify_basic("alice+builder", &new_token)
            .await
            .is_err());
        for sql in [
            "SELECT COUNT(*) FROM robotaccounttoken WHERE robot_account_id = $1",
            "SELECT COUNT(*) FROM robotaccountmetadata WHERE robot_account_id = $1",
            "SELECT COUNT(*) FROM federatedlogin WHERE user_id = $1",
            "SELECT COUNT(*) FROM repositorypermission WHERE user_id = $1",
            r#"SELECT COUNT(*) FROM "user" WHERE id = $1"#,
        ] {
            assert_eq!(count(&env, sql, robot.id).await, 0, "{sql}");
        }
        let (kind, meta) = last_log(&env).await;
        assert_eq!(kind, "delete_robot");
        assert_eq!(meta["robot"], "builder");

        // Missing robots: data-model errors.
        for (method, path) in [
            ("GET", "/api/v1/user/robots/builder"),
            ("DELETE", "/api/v1/user/robots/builder"),
            ("POST", "/api/v1/user/robots/builder/regenerate"),
            ("GET", "/api/v1/user/robots/builder/permissions"),
        ] {
            let r = env.call(method, path, Some(&tok), None).await;
            assert_message(&r, 400, "Could not find robot with specified username");
        }
        let kinds = env.log_kinds().await;
        assert_eq!(
            kinds,
            [
                "create_robot",
                "create_robot",
                "regenerate_robot_token",
                "delete_robot"
            ]
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn user_robots_need_user_admin() {
    for backend in backends() {
        let env = env(backend).await;
        let (bob, _) = env.user_with_token("bob").await;
        let read_only = env.token(bob, "user:read repo:admin").await;
        for (method, path) in [
            ("GET", "/api/v1/user/robots"),
            ("GET", "/api/v1/user/robots/x"),
            ("PUT", "/api/v1/user/robots/x"),
            ("DELETE", "/api/v1/user/robots/x"),
            ("GET", "/api/v1/user/robots/x/permissions"),
            ("POST", "/api/v1/user/robots/x/regenerate"),
        ] {
            let r = env.call(method, path, None, None).await;
            assert_problem(&r, 401, "invalid_token", "Requires authentication");
            let r = env.call(method, path, Some(&read_only), None).await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        }
        assert!(env.log_kinds().await.is_empty());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn organization_robots_permission_cells() {
    for backend in backends() {
        let env = env(backend).await;
        let (owner, owner_tok) = env.user_with_token("owner").await;
        let (member, member_tok) = env.user_with_token("member").await;
        let (_, outsider_tok) = env.user_with_token("outsider").await;
        let org = env.org("acme", owner).await;
        team(&env, org, "devs", "member", &[member]).await;
        let no_org_admin = env.token(owner, "repo:admin user:admin").await;

        // Admin creates; others cannot.
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/robots/deployer",
                Some(&member_tok),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/robots/deployer",
                Some(&no_org_admin),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/robots/deployer",
                None,
                None,
            )
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        // Body validation comes before the permission check for organizations.
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/robots/deployer",
                Some(&member_tok),
                Some(json!({"description": 1})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "1 is not of type 'string'");
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/robots/deployer",
                Some(&owner_tok),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.json["name"], "acme+deployer");
        let token = r.json["token"].as_str().unwrap_or_default().to_owned();
        env.auth
            .verify_basic("acme+deployer", &token)
            .await
            .expect("org robot login");
        let (kind, meta) = last_log(&env).await;
        assert_eq!(kind, "create_robot");
        assert_eq!(meta["robot"], "deployer");
        assert_eq!(meta["description"], Value::Null);

        // Members list without tokens or permissions; outsiders not at all.
        let r = env
            .get(
                "/api/v1/organization/acme/robots?permissions=true",
                Some(&member_tok),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["robots"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            keys(&r.json["robots"][0]),
            ["created", "description", "last_accessed", "name"]
        );
        let r = env
            .get("/api/v1/organization/acme/robots", Some(&outsider_tok))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get("/api/v1/organization/acme/robots", None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");

        // Admins see tokens, and teams with permissions=true.
        let robot = env
            .tdb
            .db()
            .account_by_username("acme+deployer")
            .await
            .expect("db")
            .expect("robot");
        team(&env, org, "bots", "member", &[robot.id]).await;
        let r = env
            .get(
                "/api/v1/organization/acme/robots?permissions=true",
                Some(&owner_tok),
            )
            .await;
        let listed = &r.json["robots"][0];
        assert_eq!(
            keys(listed),
            [
                "created",
                "description",
                "last_accessed",
                "name",
                "repositories",
                "teams",
                "token"
            ]
        );
        assert_eq!(listed["token"], token.as_str());
        assert_eq!(listed["teams"][0]["name"], "bots");
        assert_eq!(listed["teams"][0]["avatar"]["kind"], "team");

        // Get: admin only.
        let r = env
            .get(
                "/api/v1/organization/acme/robots/deployer",
                Some(&owner_tok),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["token"], token.as_str());
        let r = env
            .get(
                "/api/v1/organization/acme/robots/deployer",
                Some(&member_tok),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        // Permissions: user:admin first (problem), then org admin (Flask abort 403).
        let r = env
            .get(
                "/api/v1/organization/acme/robots/deployer/permissions",
                Some(&owner_tok),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"permissions": []}));
        let r = env
            .get(
                "/api/v1/organization/acme/robots/deployer/permissions",
                Some(&member_tok),
            )
            .await;
        assert_message(
            &r,
            403,
            "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
        );
        let no_user_admin = env.token(owner, "org:admin repo:admin").await;
        let r = env
            .get(
                "/api/v1/organization/acme/robots/deployer/permissions",
                Some(&no_user_admin),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        // Regenerate and delete: admin only.
        let r = env
            .call(
                "POST",
                "/api/v1/organization/acme/robots/deployer/regenerate",
                Some(&member_tok),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "POST",
                "/api/v1/organization/acme/robots/deployer/regenerate",
                Some(&owner_tok),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let fresh = r.json["token"].as_str().unwrap_or_default().to_owned();
        assert!(env
            .auth
            .verify_basic("acme+deployer", &token)
            .await
            .is_err());
        env.auth
            .verify_basic("acme+deployer", &fresh)
            .await
            .expect("fresh token");
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/robots/deployer",
                Some(&member_tok),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/robots/deployer",
                Some(&owner_tok),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            count(
                &env,
                "SELECT COUNT(*) FROM teammember WHERE user_id = $1",
                robot.id
            )
            .await,
            0
        );

        // A user namespace is not an organization.
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/owner/robots/x",
                Some(&owner_tok),
                None,
            )
            .await;
        assert_message(&r, 400, "Organization does not exist: owner");
        assert_eq!(
            env.log_kinds().await,
            ["create_robot", "regenerate_robot_token", "delete_robot"]
        );
        let _ = member;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn robots_disallow_refuses_creation() {
    for backend in backends() {
        let env = env_with(backend, "ROBOTS_DISALLOW: true\n").await;
        let (_, tok) = env.user_with_token("alice").await;
        let r = env
            .call("PUT", "/api/v1/user/robots/bot", Some(&tok), None)
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Robot accounts have been disabled. Please contact your administrator.",
        );
        // Listing still works.
        let r = env.get("/api/v1/user/robots", Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"robots": []}));
        assert!(env.log_kinds().await.is_empty());
        env.cleanup().await;
    }
}
