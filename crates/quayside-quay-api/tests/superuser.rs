//! Superuser management of users and organizations (`/api/v1/superuser/...`) on both
//! backends: the panel's user and organization objects, pagination, the superuser and
//! global read-only superuser permission cells, changes with their audit rows.

mod common;

use common::*;
use quayside_meta::logs::LogFilter;
use quayside_testkit::accounts;
use serde_json::{json, Value};

const CONFIG: &str = "GLOBAL_READONLY_SUPER_USERS: [reader]\n";
const USER_KEYS: &[&str] = &[
    "avatar",
    "email",
    "enabled",
    "global_readonly_super_user",
    "kind",
    "name",
    "super_user",
    "username",
    "verified",
];
const NOT_FOUND_TEXT: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
const INVALID_PASSWORD: &str =
    "Invalid password, password must be at least 8 characters and contain no whitespace.";

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn last_log(env: &Env) -> (String, i64, Option<i64>, Value) {
    let rows = env
        .tdb
        .db()
        .log_entries(&LogFilter::default(), 1)
        .await
        .expect("logs");
    let r = rows.into_iter().next().expect("a log row");
    let meta: Value = serde_json::from_str(&r.metadata_json).expect("metadata json");
    (r.kind, r.account_id, r.performer_id, meta)
}

struct Cast {
    su: i64,
    su_t: String,
    reader_t: String,
    alice: i64,
    alice_t: String,
    su_no_scope_t: String,
}

/// `super` (superuser), `reader` (global read-only superuser), `alice` (plain user).
async fn cast(env: &Env) -> Cast {
    let (su, su_t) = env.user_with_token("super").await;
    let (_, reader_t) = env.user_with_token("reader").await;
    let (alice, alice_t) = env.user_with_token("alice").await;
    let su_no_scope_t = env.token(su, "user:admin user:read org:admin").await;
    Cast {
        su,
        su_t,
        reader_t,
        alice,
        alice_t,
        su_no_scope_t,
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|u| u["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn list_users_views_filters_and_pages() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let c = cast(&env).await;
        let bob = env.user("bob").await;
        env.org("acme", c.alice).await;
        accounts::robot(&env.auth, c.alice, "bot")
            .await
            .expect("robot");
        env.auth
            .set_user_enabled(bob, false)
            .await
            .expect("disable");

        let r = env.get("/api/v1/superuser/users/", Some(&c.su_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), vec!["users"]);
        let users = r.json["users"].as_array().expect("users");
        assert_eq!(names(&r.json["users"]), ["super", "reader", "alice", "bob"]);
        for u in users {
            assert_eq!(keys(u), sorted(USER_KEYS), "{u}");
            assert_eq!(u["kind"], "user");
            assert_eq!(u["name"], u["username"]);
            assert_eq!(u["avatar"]["kind"], "user");
        }
        assert_eq!(users[0]["super_user"], true);
        assert_eq!(users[0]["global_readonly_super_user"], false);
        assert_eq!(users[1]["super_user"], false);
        assert_eq!(users[1]["global_readonly_super_user"], true);
        assert_eq!(users[2]["email"], "alice@example.com");
        assert_eq!(users[3]["enabled"], false);

        let r = env
            .get("/api/v1/superuser/users/?disabled=false", Some(&c.su_t))
            .await;
        assert_eq!(names(&r.json["users"]), ["super", "reader", "alice"]);

        // Pages of two.
        let r = env
            .get("/api/v1/superuser/users/?limit=2", Some(&c.su_t))
            .await;
        assert_eq!(names(&r.json["users"]), ["super", "reader"]);
        let next = r.json["next_page"].as_str().expect("next page").to_owned();
        let r = env
            .get(
                &format!("/api/v1/superuser/users/?limit=2&next_page={next}"),
                Some(&c.su_t),
            )
            .await;
        assert_eq!(names(&r.json["users"]), ["alice", "bob"]);
        assert!(r.json.get("next_page").is_none(), "{r:?}");
        let r = env
            .get("/api/v1/superuser/users/?limit=101", Some(&c.su_t))
            .await;
        assert_problem(&r, 400, "invalid_request", "Page limit cannot be above 100");

        // Permission cells.
        let r = env.get("/api/v1/superuser/users/", Some(&c.reader_t)).await;
        assert_eq!(r.status, 200, "global read-only superusers may list: {r:?}");
        let r = env.get("/api/v1/superuser/users/", Some(&c.alice_t)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .get("/api/v1/superuser/users/", Some(&c.su_no_scope_t))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get("/api/v1/superuser/users/", None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn superuser_api_absent_without_the_feature() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_SUPER_USERS: false\n").await;
        let (_, t) = env.user_with_token("super").await;
        for path in [
            "/api/v1/superuser/users/",
            "/api/v1/superuser/users/super",
            "/api/v1/superuser/organizations/",
        ] {
            let r = env.get(path, Some(&t)).await;
            assert_message(&r, 404, NOT_FOUND_TEXT);
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn create_install_user() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let c = cast(&env).await;
        let path = "/api/v1/superuser/users/";

        let r = env
            .call(
                "POST",
                path,
                Some(&c.su_t),
                Some(json!({"email": "x@example.com"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'username' is a required property",
        );
        let r = env
            .call(
                "POST",
                path,
                Some(&c.reader_t),
                Some(json!({"username": "newbie", "email": "n@example.com"})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "POST",
                path,
                Some(&c.alice_t),
                Some(json!({"username": "newbie", "email": "n@example.com"})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "POST",
                path,
                None,
                Some(json!({"username": "newbie", "email": "n@example.com"})),
            )
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env
            .call(
                "POST",
                path,
                Some(&c.su_t),
                Some(json!({"username": "newbie"})),
            )
            .await;
        assert_message(&r, 400, "Invalid email address: None");
        let r = env
            .call(
                "POST",
                path,
                Some(&c.su_t),
                Some(json!({"username": "alice", "email": "a2@example.com"})),
            )
            .await;
        assert_message(
            &r,
            400,
            "Username has already been taken by user cannot be reused: alice",
        );
        assert!(env.log_kinds().await.is_empty());

        let r = env
            .call(
                "POST",
                path,
                Some(&c.su_t),
                Some(json!({"username": "newbie", "email": "newbie@example.com"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            sorted(&["email", "encrypted_password", "password", "username"])
        );
        assert_eq!(r.json["username"], "newbie");
        assert_eq!(r.json["email"], "newbie@example.com");
        let password = r.json["password"].as_str().expect("password").to_owned();
        assert_eq!(password.len(), 32);
        assert!(password
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let encrypted = r.json["encrypted_password"]
            .as_str()
            .expect("enc")
            .to_owned();
        assert!(env.auth.verify_basic("newbie", &password).await.is_ok());
        assert!(env.auth.verify_basic("newbie", &encrypted).await.is_ok());
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(kind, "user_create");
        assert_eq!(performer, Some(c.su));
        assert_eq!(meta["email"], "newbie@example.com");
        assert_eq!(meta["username"], "newbie");
        assert_eq!(meta["superuser"], "super");
        let row = env
            .tdb
            .db()
            .user_details_by_username("newbie")
            .await
            .expect("db")
            .expect("row");
        assert_eq!(row.id, account);
        assert!(!row.verified, "FEATURE_MAILING: awaits confirmation");
        env.cleanup().await;

        let env = env_with(backend, "AUTHENTICATION_TYPE: LDAP\n").await;
        let (_, t) = env.user_with_token("super").await;
        let r = env
            .call("POST", path, Some(&t), Some(json!({"username": "newbie"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Cannot create a user in a non-database auth system",
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn get_change_and_delete_a_user() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let c = cast(&env).await;
        env.user("bob").await;
        env.org("acme", c.alice).await;

        // GET
        let r = env
            .get("/api/v1/superuser/users/alice", Some(&c.su_t))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(USER_KEYS));
        assert_eq!(r.json["username"], "alice");
        assert_eq!(r.json["enabled"], true);
        let r = env
            .get("/api/v1/superuser/users/alice", Some(&c.reader_t))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let r = env
            .get("/api/v1/superuser/users/alice", Some(&c.alice_t))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        for missing in ["nobody", "acme"] {
            let r = env
                .get(&format!("/api/v1/superuser/users/{missing}"), Some(&c.su_t))
                .await;
            assert_problem(&r, 404, "not_found", "Not Found");
        }

        // PUT
        let e = &env;
        let put = |who: &'static str, token: String, body: Value| {
            let path = format!("/api/v1/superuser/users/{who}");
            async move { e.call("PUT", &path, Some(&token), Some(body)).await }
        };
        let r = put("super", c.su_t.clone(), json!({"enabled": false})).await;
        assert_problem(&r, 400, "invalid_request", "Cannot update a superuser");
        let r = put("alice", c.reader_t.clone(), json!({"enabled": false})).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = put("alice", c.su_t.clone(), json!({"enabled": "no"})).await;
        assert_problem(&r, 400, "invalid_request", "'no' is not of type 'boolean'");
        let r = put("alice", c.su_t.clone(), json!({"superuser": true})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Cannot change superuser status: SUPER_USERS is read from config.yaml",
        );

        env.auth
            .verify_basic("alice", "password")
            .await
            .expect("alice logs in");
        let r = put("alice", c.su_t.clone(), json!({"enabled": false})).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(USER_KEYS));
        assert_eq!(r.json["enabled"], true, "Quay answers the user as it was");
        assert!(env.auth.verify_basic("alice", "password").await.is_err());
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), account, performer),
            ("user_disable", c.alice, Some(c.su))
        );
        assert_eq!(meta["username"], "alice");
        assert_eq!(meta["superuser"], "super");
        let r = put("alice", c.su_t.clone(), json!({"enabled": true})).await;
        assert_eq!(r.json["enabled"], false);
        assert_eq!(last_log(&env).await.0, "user_enable");
        assert!(env.auth.verify_basic("alice", "password").await.is_ok());

        let r = put("alice", c.su_t.clone(), json!({"password": "short"})).await;
        assert_message(&r, 400, INVALID_PASSWORD);
        let r = put(
            "alice",
            c.su_t.clone(),
            json!({"password": "brand-new-pass"}),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            sorted(&[USER_KEYS, &["encrypted_password"]].concat())
        );
        let enc = r.json["encrypted_password"]
            .as_str()
            .expect("enc")
            .to_owned();
        assert!(env
            .auth
            .verify_basic("alice", "brand-new-pass")
            .await
            .is_ok());
        assert!(env.auth.verify_basic("alice", &enc).await.is_ok());
        // Last: a wrong password starts Quay's login backoff.
        assert!(env.auth.verify_basic("alice", "password").await.is_err());
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_change_password");
        assert_eq!(meta["username"], "alice");

        let r = put("alice", c.su_t.clone(), json!({"email": "bob@example.com"})).await;
        assert_message(&r, 400, "E-mail address already used");
        let r = put(
            "alice",
            c.su_t.clone(),
            json!({"email": "alice@new.example.com"}),
        )
        .await;
        assert_eq!(r.json["email"], "alice@new.example.com", "{r:?}");
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_change_email");
        assert_eq!(meta["old_email"], "alice@example.com");
        assert_eq!(meta["email"], "alice@new.example.com");
        assert_eq!(meta["superuser"], "super");
        let row = env
            .tdb
            .db()
            .user_details_by_id(c.alice)
            .await
            .expect("db")
            .expect("row");
        assert!(row.verified, "superuser changes are auto-verified");

        // DELETE
        let del = |who: &str, token: &str| {
            let path = format!("/api/v1/superuser/users/{who}");
            let token = token.to_owned();
            async move { e.call("DELETE", &path, Some(&token), None).await }
        };
        let r = del("super", &c.su_t).await;
        assert_problem(&r, 400, "invalid_request", "Cannot delete a superuser");
        let r = del("bob", &c.reader_t).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = del("nobody", &c.su_t).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        // Sole admin of acme: the superuser deletes anyway (Quay's force=True).
        let r = del("alice", &c.su_t).await;
        assert_eq!(r.status, 204, "{r:?}");
        let (kind, account, _, meta) = last_log(&env).await;
        assert_eq!((kind.as_str(), account), ("user_delete", c.alice));
        assert_eq!(meta["username"], "alice");
        let r = del("bob", &c.su_t).await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env.get("/api/v1/superuser/users/", Some(&c.su_t)).await;
        assert_eq!(names(&r.json["users"]), ["super", "reader"]);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn organizations_list_rename_and_delete() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let c = cast(&env).await;
        env.org("acme", c.alice).await;
        env.org("beta", c.alice).await;
        env.org("gamma", c.alice).await;
        accounts::robot(&env.auth, c.alice, "bot")
            .await
            .expect("robot");
        let acme_row = env
            .tdb
            .db()
            .account_by_username("acme")
            .await
            .expect("db")
            .expect("acme");
        let acme_id = acme_row.id;
        accounts::robot(&env.auth, acme_id, "builder")
            .await
            .expect("org robot");

        let path = "/api/v1/superuser/organizations/";
        let r = env.get(path, Some(&c.su_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), vec!["organizations"]);
        assert_eq!(names(&r.json["organizations"]), ["acme", "beta", "gamma"]);
        let acme = &r.json["organizations"][0];
        assert_eq!(keys(acme), sorted(&["avatar", "email", "name"]));
        // The organization's own `email` column: for one made through the API, Quay's
        // internal uuid4 (a contact e-mail lives apart, in `organizationcontactemail`).
        assert_eq!(acme["email"], acme_row.email.as_str());
        assert!(
            uuid::Uuid::parse_str(&acme_row.email).is_ok(),
            "{}",
            acme_row.email
        );
        assert_eq!(acme["avatar"]["kind"], "org");
        let r = env.get(&format!("{path}?limit=2"), Some(&c.su_t)).await;
        assert_eq!(names(&r.json["organizations"]), ["acme", "beta"]);
        let next = r.json["next_page"].as_str().expect("next").to_owned();
        let r = env
            .get(&format!("{path}?limit=2&next_page={next}"), Some(&c.su_t))
            .await;
        assert_eq!(names(&r.json["organizations"]), ["gamma"]);
        let r = env.get(&format!("{path}?limit=500"), Some(&c.su_t)).await;
        assert_problem(&r, 400, "invalid_request", "Page limit cannot be above 100");
        assert_eq!(env.get(path, Some(&c.reader_t)).await.status, 200);
        let r = env.get(path, Some(&c.alice_t)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        // Rename.
        let e = &env;
        let rename = |org: &str, token: &str, body: Value| {
            let p = format!("/api/v1/superuser/organizations/{org}");
            let token = token.to_owned();
            async move { e.call("PUT", &p, Some(&token), Some(body)).await }
        };
        let r = rename("acme", &c.reader_t, json!({"name": "acme2"})).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = rename("nope", &c.su_t, json!({"name": "x2"})).await;
        assert_message(&r, 400, "Organization does not exist: nope");
        let r = rename("alice", &c.su_t, json!({"name": "x2"})).await;
        assert_message(&r, 400, "Organization does not exist: alice");
        let r = rename("acme", &c.su_t, json!({"name": 5})).await;
        assert_problem(&r, 400, "invalid_request", "5 is not of type 'string'");
        let r = rename("acme", &c.su_t, json!({"name": "Bad"})).await;
        assert_message(
            &r,
            400,
            "Invalid username Bad: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$",
        );
        let r = rename("acme", &c.su_t, json!({"name": "beta"})).await;
        assert_message(&r, 400, "Username is already in use");
        let r = rename("acme", &c.su_t, json!({"name": "acme2"})).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(&["avatar", "email", "name"]));
        assert_eq!(r.json["name"], "acme2");
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), account, performer),
            ("org_change_name", acme_id, Some(c.su))
        );
        assert_eq!(
            meta,
            json!({"old_name": "acme", "new_name": "acme2", "superuser": "super",
                   "oauth_token_id": meta["oauth_token_id"],
                   "oauth_token_application_id": meta["oauth_token_application_id"],
                   "oauth_token_application": meta["oauth_token_application"]})
        );
        let db = env.tdb.db();
        assert!(db
            .account_by_username("acme2+builder")
            .await
            .expect("db")
            .is_some());

        // Delete.
        let del = |org: &str, token: &str| {
            let p = format!("/api/v1/superuser/organizations/{org}");
            let token = token.to_owned();
            async move { e.call("DELETE", &p, Some(&token), None).await }
        };
        let r = del("beta", &c.reader_t).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = del("nope", &c.su_t).await;
        assert_message(&r, 400, "Organization does not exist: nope");
        let r = del("beta", &c.su_t).await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env.get(path, Some(&c.su_t)).await;
        assert_eq!(names(&r.json["organizations"]), ["acme2", "gamma"]);
        env.cleanup().await;
    }
}
