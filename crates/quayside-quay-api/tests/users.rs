//! `GET/PUT/POST/DELETE /api/v1/user/` and `GET /api/v1/users/{username}` on both
//! backends: view key sets per caller, body validation, each change with its audit row,
//! signup rules and account deletion.

mod common;

use common::*;
use quayside_meta::logs::LogFilter;
use quayside_meta::with_pool;
use quayside_testkit::accounts;
use serde_json::{json, Value};

const INVALID_PASSWORD: &str =
    "Invalid password, password must be at least 8 characters and contain no whitespace.";
const NOT_FOUND_TEXT: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";

const PUBLIC_KEYS: &[&str] = &["anonymous", "avatar", "username"];
const ADMIN_KEYS: &[&str] = &[
    "anonymous",
    "avatar",
    "can_create_repo",
    "company",
    "email",
    "family_name",
    "given_name",
    "has_password_set",
    "invoice_email",
    "invoice_email_address",
    "is_free_account",
    "is_me",
    "location",
    "logins",
    "organizations",
    "preferred_namespace",
    "prompts",
    "tag_expiration_s",
    "username",
    "verified",
];

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn with_extra(list: &[&str], extra: &[&str]) -> Vec<String> {
    let mut v: Vec<&str> = list.to_vec();
    v.extend_from_slice(extra);
    sorted(&v)
}

/// The newest audit row: (kind, account_id, performer_id, metadata).
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

fn assert_session_required(resp: &Resp) {
    assert_problem(resp, 401, "invalid_token", "Requires authentication");
    assert_eq!(resp.json["session_required"], false, "{resp:?}");
}

#[tokio::test]
async fn logged_in_user_view_per_caller() {
    for backend in backends() {
        let env = env_with(backend, "GLOBAL_READONLY_SUPER_USERS: [reader]\n").await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        env.org("acme", alice).await;
        // An organization alice is not on stays out of her list.
        let bob = env.user("bob").await;
        env.org("other", bob).await;

        // Full view of one's own account.
        let r = env.get("/api/v1/user/", Some(&alice_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(ADMIN_KEYS), "{r:?}");
        let j = &r.json;
        assert_eq!(j["anonymous"], false);
        assert_eq!(j["username"], "alice");
        assert_eq!(j["email"], "alice@example.com");
        assert_eq!(j["is_me"], true);
        assert_eq!(j["can_create_repo"], true);
        assert_eq!(j["has_password_set"], true);
        assert_eq!(j["tag_expiration_s"], 1_209_600);
        assert_eq!(j["logins"], json!([]));
        assert_eq!(j["prompts"], json!([]));
        assert_eq!(j["invoice_email"], false);
        assert_eq!(j["invoice_email_address"], Value::Null);
        assert_eq!(j["preferred_namespace"], false);
        assert_eq!(j["is_free_account"], true);
        assert_eq!(j["avatar"]["kind"], "user");
        assert_eq!(j["avatar"]["name"], "alice");
        let orgs = j["organizations"].as_array().expect("orgs");
        assert_eq!(orgs.len(), 1, "{r:?}");
        assert_eq!(
            keys(&orgs[0]),
            sorted(&[
                "avatar",
                "can_create_repo",
                "is_org_admin",
                "name",
                "preferred_namespace",
                "public"
            ])
        );
        assert_eq!(orgs[0]["name"], "acme");
        assert_eq!(orgs[0]["avatar"]["kind"], "org");
        assert_eq!(orgs[0]["is_org_admin"], true);
        assert_eq!(orgs[0]["can_create_repo"], true);
        assert_eq!(orgs[0]["public"], false);

        // user:read only: public keys plus organizations without the admin keys.
        let read_t = env.token(alice, "user:read").await;
        let r = env.get("/api/v1/user/", Some(&read_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), with_extra(PUBLIC_KEYS, &["organizations"]));
        let org = &r.json["organizations"][0];
        assert_eq!(
            keys(org),
            sorted(&["avatar", "can_create_repo", "name", "public"])
        );
        assert_eq!(org["can_create_repo"], false, "no org scope on the token");

        // No user scope, anonymous: 401 with session_required false.
        let repo_t = env.token(alice, "repo:read").await;
        assert_session_required(&env.get("/api/v1/user/", Some(&repo_t)).await);
        assert_session_required(&env.get("/api/v1/user/", None).await);
        assert_session_required(&env.get("/api/v1/user/", Some("not-a-token")).await);

        // Superusers see super_user; without super:user the key is absent.
        let su = env.user("super").await;
        let su_t = env.token(su, ALL_SCOPES).await;
        let r = env.get("/api/v1/user/", Some(&su_t)).await;
        assert_eq!(keys(&r.json), with_extra(ADMIN_KEYS, &["super_user"]));
        assert_eq!(r.json["super_user"], true);
        let su_limited = env.token(su, "user:admin user:read").await;
        let r = env.get("/api/v1/user/", Some(&su_limited)).await;
        assert_eq!(keys(&r.json), sorted(ADMIN_KEYS));

        // Global read-only superusers see global_readonly_super_user.
        let reader = env.user("reader").await;
        let reader_t = env.token(reader, ALL_SCOPES).await;
        let r = env.get("/api/v1/user/", Some(&reader_t)).await;
        assert_eq!(
            keys(&r.json),
            with_extra(ADMIN_KEYS, &["global_readonly_super_user"])
        );
        assert_eq!(r.json["global_readonly_super_user"], true);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn anonymous_access_off_still_answers_session_required() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_ANONYMOUS_ACCESS: false\n").await;
        assert_session_required(&env.get("/api/v1/user/", None).await);
        // getUserInformation is not anon-allowed.
        env.user("bob").await;
        let r = env.get("/api/v1/users/bob", None).await;
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(r.json["error"], "Anonymous access is not allowed");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn user_information_views() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        env.user("bob").await;
        env.org("acme", alice).await;
        accounts::robot(&env.auth, alice, "bot")
            .await
            .expect("robot");

        let r = env.get("/api/v1/users/bob", Some(&alice_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(PUBLIC_KEYS));
        assert_eq!(r.json["username"], "bob");
        assert_eq!(r.json["anonymous"], false);
        assert_eq!(r.json["avatar"]["kind"], "user");

        let r = env.get("/api/v1/users/bob", None).await;
        assert_eq!(keys(&r.json), sorted(PUBLIC_KEYS));

        // One's own account through this path: the full view.
        let r = env.get("/api/v1/users/alice", Some(&alice_t)).await;
        assert_eq!(keys(&r.json), sorted(ADMIN_KEYS));

        // Superusers get super_user false on other users.
        let su = env.user("super").await;
        let su_t = env.token(su, ALL_SCOPES).await;
        let r = env.get("/api/v1/users/bob", Some(&su_t)).await;
        assert_eq!(keys(&r.json), with_extra(PUBLIC_KEYS, &["super_user"]));
        assert_eq!(r.json["super_user"], false);

        for missing in ["nobody", "acme", "alice+bot"] {
            let r = env
                .get(&format!("/api/v1/users/{missing}"), Some(&alice_t))
                .await;
            assert_message(&r, 404, NOT_FOUND_TEXT);
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn change_details_validation_and_permissions() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;

        let r = env
            .call("PUT", "/api/v1/user/", None, Some(json!({})))
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let read_t = env.token(alice, "user:read").await;
        let r = env
            .call("PUT", "/api/v1/user/", Some(&read_t), Some(json!({})))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        for (body, detail) in [
            (
                json!({"tag_expiration_s": -1}),
                "-1 is less than the minimum of 0",
            ),
            (json!({"password": 5}), "5 is not of type 'string'"),
            (json!({"password": null}), "None is not of type 'string'"),
            (
                json!({"invoice_email": "yes"}),
                "'yes' is not of type 'boolean'",
            ),
            (
                json!({"given_name": 5}),
                "5 is not of type 'string', 'null'",
            ),
            (
                json!({"tag_expiration_s": "1"}),
                "'1' is not of type 'integer'",
            ),
        ] {
            let r = env
                .call("PUT", "/api/v1/user/", Some(&alice_t), Some(body))
                .await;
            assert_problem(&r, 400, "invalid_request", detail);
        }
        let r = env.call("PUT", "/api/v1/user/", Some(&alice_t), None).await;
        assert_problem(&r, 400, "invalid_request", "Missing JSON body");
        assert!(env.log_kinds().await.is_empty());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn change_password_invoicing_and_tag_expiration() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        // Prime the credential cache with the old password.
        env.auth
            .verify_basic("alice", "password")
            .await
            .expect("old password works");

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"password": "short"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", INVALID_PASSWORD);

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"password": "new-password-1"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(ADMIN_KEYS));
        assert!(env
            .auth
            .verify_basic("alice", "new-password-1")
            .await
            .is_ok());
        // Last: a wrong password starts Quay's login backoff.
        assert!(env.auth.verify_basic("alice", "password").await.is_err());
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), account, performer),
            ("account_change_password", alice, Some(alice))
        );
        assert!(meta["oauth_token_id"].is_number(), "{meta}");

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"invoice_email": true})),
            )
            .await;
        assert_eq!(r.json["invoice_email"], true, "{r:?}");
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_change_invoicing");
        assert_eq!(meta["invoice_email"], true);

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"tag_expiration_s": 3})),
            )
            .await;
        assert_message(&r, 400, "Invalid tag expiration option");
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"tag_expiration_s": 86400})),
            )
            .await;
        assert_eq!(r.json["tag_expiration_s"], 86400, "{r:?}");
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_change_tag_expiration");
        assert_eq!(meta["tag_expiration"], 86400);

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"invoice_email_address": "billing@example.com"})),
            )
            .await;
        assert_eq!(r.json["invoice_email_address"], "billing@example.com");
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_change_invoicing");
        assert_eq!(meta["invoice_email_address"], "billing@example.com");
        let before = env.log_kinds().await.len();
        env.call(
            "PUT",
            "/api/v1/user/",
            Some(&alice_t),
            Some(json!({"invoice_email_address": "billing@example.com"})),
        )
        .await;
        assert_eq!(env.log_kinds().await.len(), before, "unchanged: no log");
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"invoice_email_address": ""})),
            )
            .await;
        assert_eq!(r.json["invoice_email_address"], Value::Null, "empty → NULL");

        // Metadata fields are ignored without FEATURE_USER_METADATA.
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"given_name": "Alice"})),
            )
            .await;
        assert_eq!(r.json["given_name"], Value::Null);
        // Username changes are ignored without FEATURE_USER_RENAME.
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"username": "alice2"})),
            )
            .await;
        assert_eq!(r.json["username"], "alice");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn change_email_with_and_without_mailing() {
    for backend in backends() {
        // FEATURE_MAILING (default): the address stays until a confirmation that cannot
        // be sent; validation and uniqueness still apply.
        let env = env(backend).await;
        let (_, alice_t) = env.user_with_token("alice").await;
        env.user("bob").await;
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"email": "bob@example.com"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "E-mail address already used");
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"email": "nope"})),
            )
            .await;
        assert_message(&r, 400, "Invalid email address: nope");
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"email": "alice@new.example.com"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["email"], "alice@example.com");
        assert!(env.log_kinds().await.is_empty());
        env.cleanup().await;

        let env = env_with(backend, "FEATURE_MAILING: false\n").await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"email": "alice@new.example.com"})),
            )
            .await;
        assert_eq!(r.json["email"], "alice@new.example.com", "{r:?}");
        assert_eq!(r.json["verified"], true);
        let (kind, account, _, meta) = last_log(&env).await;
        assert_eq!((kind.as_str(), account), ("user_change_email", alice));
        assert_eq!(meta["email"], "alice@new.example.com");
        assert_eq!(meta["old_email"], "alice@example.com");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn change_metadata_and_rename() {
    for backend in backends() {
        let env = env_with(
            backend,
            "FEATURE_USER_METADATA: true\nFEATURE_USER_RENAME: true\n",
        )
        .await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        env.user("bob").await;
        env.org("acme", alice).await;
        accounts::robot(&env.auth, alice, "bot")
            .await
            .expect("robot");

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"given_name": "Alice", "company": "ACME", "location": null})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["given_name"], "Alice");
        assert_eq!(r.json["company"], "ACME");
        assert_eq!(r.json["family_name"], Value::Null);
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_change_metadata");
        assert_eq!(meta["given_name"], "Alice");
        assert_eq!(meta["company"], "ACME");
        assert_eq!(meta["location"], Value::Null);
        assert!(meta.get("family_name").is_none());

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"username": "bob"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "Username is already in use");
        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"username": "Bad"})),
            )
            .await;
        assert_message(
            &r,
            400,
            "Invalid username Bad: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$",
        );

        let r = env
            .call(
                "PUT",
                "/api/v1/user/",
                Some(&alice_t),
                Some(json!({"username": "alice2"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["username"], "alice2");
        // As in Quay: the read permission is checked against the new name, which the
        // token's identity does not carry yet, so `organizations` is left out.
        let mut expected: Vec<&str> = ADMIN_KEYS.to_vec();
        expected.retain(|k| *k != "organizations");
        assert_eq!(keys(&r.json), sorted(&expected));
        let (kind, account, _, meta) = last_log(&env).await;
        assert_eq!((kind.as_str(), account), ("user_change_name", alice));
        assert_eq!(meta["old_username"], "alice");
        let db = env.tdb.db();
        assert!(db
            .account_by_username("alice2+bot")
            .await
            .expect("db")
            .is_some_and(|r| r.robot));
        assert!(db
            .account_by_username("alice+bot")
            .await
            .expect("db")
            .is_none());
        assert!(env.auth.verify_basic("alice2", "password").await.is_ok());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn signup_with_mailing_awaits_verification() {
    for backend in backends() {
        let env = env(backend).await;
        env.user("alice").await;
        let post = |body: Value| env.call("POST", "/api/v1/user/", None, Some(body));

        let r = post(json!({"password": "password1"})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'username' is a required property",
        );
        let r = post(json!({"username": "alice", "password": "password1"})).await;
        assert_problem(&r, 400, "invalid_request", "The username already exists");
        let r = post(json!({"username": "newbie", "password": "password1"})).await;
        assert_problem(&r, 400, "invalid_request", "Email address is required");
        let r = post(json!({"username": "newbie", "password": "short", "email": "n@example.com"}))
            .await;
        assert_problem(&r, 400, "invalid_request", INVALID_PASSWORD);
        let r = post(
            json!({"username": "newbie", "password": "password1", "email": "alice@example.com"}),
        )
        .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Email has already been used: alice@example.com",
        );

        let r = post(
            json!({"username": "newbie", "password": "password1", "email": "newbie@example.com"}),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"awaiting_verification": true}));
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(kind, "user_create");
        assert_eq!(performer, None);
        assert_eq!(
            meta,
            json!({"email": "newbie@example.com", "username": "newbie"})
        );
        let row = env
            .tdb
            .db()
            .user_details_by_username("newbie")
            .await
            .expect("db")
            .expect("created");
        assert_eq!(row.id, account);
        assert!(!row.verified);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn signup_without_mailing_returns_the_user_view() {
    for backend in backends() {
        let env = env_with(
            backend,
            "FEATURE_MAILING: false\nFEATURE_USER_METADATA: true\n",
        )
        .await;
        let r = env
            .call(
                "POST",
                "/api/v1/user/",
                None,
                Some(json!({"username": "newbie", "password": "password1"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(ADMIN_KEYS));
        assert_eq!(r.json["username"], "newbie");
        assert_eq!(r.json["verified"], true);
        assert_eq!(r.json["prompts"], json!(["enter_name", "enter_company"]));
        assert_eq!(r.json["organizations"], json!([]));
        assert!(env.auth.verify_basic("newbie", "password1").await.is_ok());
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "user_create");
        assert_eq!(meta, json!({"email": null, "username": "newbie"}));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn signup_invite_only_and_invite_codes() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_INVITE_ONLY_USER_CREATION: true\n").await;
        let alice = env.user("alice").await;
        env.org("acme", alice).await;
        let post = |body: Value| env.call("POST", "/api/v1/user/", None, Some(body));
        let r = post(
            json!({"username": "newbie", "password": "password1", "email": "newbie@example.com"}),
        )
        .await;
        assert_problem(&r, 400, "invalid_request", "Cannot create non-invited user");
        let r = post(json!({"username": "newbie", "password": "password1",
                            "email": "newbie@example.com", "invite_code": "urn:teaminvite:x"}))
        .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Creation of a user account for this e-mail is disabled; please contact an administrator",
        );

        // An invite for the address: the user is created and verified by its code.
        let code = "urn:teaminvite:0d4d0c1e-5f0f-4b35-9f7b-9b3c2cbd1a11";
        const SQL: &str =
            "INSERT INTO teammemberinvite (user_id, email, team_id, inviter_id, invite_token) \
             VALUES (NULL, $1, (SELECT id FROM team WHERE name = $2), $3, $4)";
        with_pool!(env.tdb.db(), pool => {
            sqlx::query(SQL)
                .bind("newbie@example.com")
                .bind("owners")
                .bind(i32::try_from(alice).expect("id"))
                .bind(code)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("invite");
        let r = post(json!({"username": "newbie", "password": "password1",
                            "email": "newbie@example.com", "invite_code": code}))
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(ADMIN_KEYS), "confirmed by the invite");
        assert_eq!(r.json["verified"], true);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn signup_absent_or_refused_by_configuration() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_USER_CREATION: false\n").await;
        let r = env
            .call(
                "POST",
                "/api/v1/user/",
                None,
                Some(json!({"username": "newbie", "password": "password1"})),
            )
            .await;
        assert_eq!(r.status, 405, "{r:?}");
        env.cleanup().await;

        let env = env_with(backend, "AUTHENTICATION_TYPE: LDAP\n").await;
        let r = env
            .call(
                "POST",
                "/api/v1/user/",
                None,
                Some(json!({"username": "newbie", "password": "password1"})),
            )
            .await;
        assert_message(&r, 404, NOT_FOUND_TEXT);
        env.cleanup().await;

        let env = env_with(backend, "FEATURE_RECAPTCHA: true\n").await;
        let r = env
            .call(
                "POST",
                "/api/v1/user/",
                None,
                Some(json!({"username": "newbie", "password": "password1", "email": "n@example.com"})),
            )
            .await;
        assert_message(
            &r,
            400,
            "Are you a bot? If not, please revalidate the captcha.",
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn delete_current_user() {
    for backend in backends() {
        let env = env(backend).await;
        let (bob, bob_t) = env.user_with_token("bob").await;
        env.org("solo", bob).await;
        let (carol, carol_t) = env.user_with_token("carol").await;

        let r = env.call("DELETE", "/api/v1/user/", None, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let read_t = env.token(carol, "user:read").await;
        let r = env
            .call("DELETE", "/api/v1/user/", Some(&read_t), None)
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        let r = env
            .call("DELETE", "/api/v1/user/", Some(&bob_t), None)
            .await;
        assert_message(
            &r,
            400,
            "Cannot delete bob as you are the only admin for organizations: solo",
        );
        assert!(env.log_kinds().await.is_empty());

        env.auth
            .verify_basic("carol", "password")
            .await
            .expect("carol logs in");
        let r = env
            .call("DELETE", "/api/v1/user/", Some(&carol_t), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert!(r.text.is_empty());
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), account, performer),
            ("user_delete", carol, Some(carol))
        );
        assert_eq!(meta["username"], "carol");
        let row = env
            .tdb
            .db()
            .user_details_by_id(carol)
            .await
            .expect("db")
            .expect("row kept until GC");
        assert!(!row.enabled);
        assert_ne!(row.username, "carol");
        assert!(env.auth.verify_basic("carol", "password").await.is_err());
        let markers: i64 = with_pool!(env.tdb.db(), pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM deletednamespace WHERE original_username = $1")
                .bind("carol")
                .fetch_one(pool)
                .await
        })
        .expect("count");
        assert_eq!(markers, 1);
        env.cleanup().await;

        let env = env_with(backend, "AUTHENTICATION_TYPE: LDAP\n").await;
        let (_, t) = env.user_with_token("dave").await;
        let r = env.call("DELETE", "/api/v1/user/", Some(&t), None).await;
        assert_message(&r, 404, NOT_FOUND_TEXT);
        env.cleanup().await;
    }
}
