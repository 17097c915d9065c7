//! App-specific tokens (`/api/v1/user/apptoken`) on both backends: views, the token code
//! working as a `$app` Basic credential until revoked, expiring filter, permission
//! cells and audit rows.

mod common;

use common::*;
use quayside_auth::Identity;
use quayside_meta::identity::NewAppToken;
use quayside_meta::logs::LogFilter;
use serde_json::{json, Value};

const PATH: &str = "/api/v1/user/apptoken";
const VIEW_KEYS: &[&str] = &["created", "expiration", "last_accessed", "title", "uuid"];
const NOT_FOUND_TEXT: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";

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

#[tokio::test]
async fn create_use_list_get_and_revoke() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;

        let r = env
            .call("POST", PATH, Some(&alice_t), Some(json!({"title": "ci"})))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), vec!["token"]);
        let token = &r.json["token"];
        assert_eq!(keys(token), sorted(&[VIEW_KEYS, &["token_code"]].concat()));
        assert_eq!(token["title"], "ci");
        assert_eq!(token["last_accessed"], Value::Null);
        assert_eq!(token["expiration"], Value::Null);
        assert!(token["created"]
            .as_str()
            .is_some_and(|d| d.ends_with(" -0000")));
        let code = token["token_code"].as_str().expect("code").to_owned();
        let uuid = token["uuid"].as_str().expect("uuid").to_owned();
        assert_eq!(code.len(), 120);
        assert!(code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let (kind, account, performer, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), account, performer),
            ("create_app_specific_token", alice, Some(alice))
        );
        assert_eq!(meta["app_specific_token_title"], "ci");
        assert_eq!(meta["app_specific_token"], uuid.as_str());

        // Stored as Quay stores it: 60-character name + encrypted rest.
        let row = env
            .tdb
            .db()
            .app_token_by_token_name(&code[..60])
            .await
            .expect("db")
            .expect("row");
        assert_eq!(row.uuid, uuid);
        assert!(row.token_secret.starts_with("v0$$"), "{}", row.token_secret);
        assert_ne!(row.token_secret, code[60..]);

        // The code is a `$app` password.
        match env.auth.verify_basic("$app", &code).await {
            Ok(Identity::AppToken {
                user_id,
                token_uuid,
                ..
            }) => {
                assert_eq!(user_id, alice);
                assert_eq!(token_uuid, uuid);
            }
            other => panic!("app token login: {other:?}"),
        }

        // List: no codes; `only_expiring` echoes the query (null when absent).
        let r = env.get(PATH, Some(&alice_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), sorted(&["only_expiring", "tokens"]));
        assert_eq!(r.json["only_expiring"], Value::Null);
        let tokens = r.json["tokens"].as_array().expect("tokens");
        assert_eq!(tokens.len(), 1);
        assert_eq!(keys(&tokens[0]), sorted(VIEW_KEYS));
        assert!(
            tokens[0]["last_accessed"].is_string(),
            "the login touched it: {r:?}"
        );
        let r = env
            .get(&format!("{PATH}?expiring=false"), Some(&alice_t))
            .await;
        assert_eq!(r.json["only_expiring"], false);
        assert_eq!(r.json["tokens"].as_array().map(Vec::len), Some(1));

        // Get: with the code.
        let r = env.get(&format!("{PATH}/{uuid}"), Some(&alice_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json["token"]),
            sorted(&[VIEW_KEYS, &["token_code"]].concat())
        );
        assert_eq!(r.json["token"]["token_code"], code.as_str());

        // Revoke: the code stops working at once (remembered credentials forgotten).
        let r = env
            .call("DELETE", &format!("{PATH}/{uuid}"), Some(&alice_t), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert!(r.text.is_empty());
        assert!(env.auth.verify_basic("$app", &code).await.is_err());
        let (kind, _, _, meta) = last_log(&env).await;
        assert_eq!(kind, "revoke_app_specific_token");
        assert_eq!(meta["app_specific_token_title"], "ci");
        assert_eq!(meta["app_specific_token"], uuid.as_str());

        let r = env.get(&format!("{PATH}/{uuid}"), Some(&alice_t)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .call("DELETE", &format!("{PATH}/{uuid}"), Some(&alice_t), None)
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn permissions_and_validation() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        let (_, bob_t) = env.user_with_token("bob").await;
        let (_, code) = env
            .auth
            .create_app_token_details(alice, "mine")
            .await
            .expect("token");
        let row = env
            .tdb
            .db()
            .app_token_by_token_name(&code[..60])
            .await
            .expect("db")
            .expect("row");
        let one = format!("{PATH}/{}", row.uuid);

        // Another user cannot see or revoke it.
        let r = env.get(&one, Some(&bob_t)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env.call("DELETE", &one, Some(&bob_t), None).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env.get(PATH, Some(&bob_t)).await;
        assert_eq!(r.json["tokens"], json!([]));

        // Anonymous and tokens without user:admin.
        let read_t = env.token(alice, "user:read repo:admin").await;
        for (method, path, body) in [
            ("GET", PATH.to_owned(), None),
            ("POST", PATH.to_owned(), Some(json!({"title": "x"}))),
            ("GET", one.clone(), None),
            ("DELETE", one.clone(), None),
        ] {
            let r = env.call(method, &path, None, body.clone()).await;
            assert_problem(&r, 401, "invalid_token", "Requires authentication");
            let r = env.call(method, &path, Some(&read_t), body).await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        }

        // Superusers see only their own tokens too.
        let (_, su_t) = env.user_with_token("super").await;
        let r = env.get(PATH, Some(&su_t)).await;
        assert_eq!(r.json["tokens"], json!([]));
        let r = env.get(&one, Some(&su_t)).await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Body validation.
        let r = env
            .call("POST", PATH, Some(&alice_t), Some(json!({})))
            .await;
        assert_problem(&r, 400, "invalid_request", "'title' is a required property");
        let r = env
            .call("POST", PATH, Some(&alice_t), Some(json!({"title": 1})))
            .await;
        assert_problem(&r, 400, "invalid_request", "1 is not of type 'string'");
        assert!(env.auth.verify_basic("$app", &code).await.is_ok());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn expiring_filter_and_expired_tokens() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        let now = chrono::Utc::now().naive_utc();
        let db = env.tdb.db();
        for (i, expiration) in [
            Some(now + chrono::Duration::hours(1)),
            Some(now + chrono::Duration::days(30)),
            None,
            Some(now - chrono::Duration::hours(1)),
        ]
        .into_iter()
        .enumerate()
        {
            db.insert_app_token(&NewAppToken {
                user_id: alice,
                uuid: format!("00000000-0000-0000-0000-00000000000{i}"),
                title: format!("t{i}"),
                token_name: format!("{i:0>60}"),
                encrypted_secret: "v0$$unused".into(),
                created: now,
                expiration,
            })
            .await
            .expect("insert");
        }
        // Default window 4w → soon = 2.8 days: only the one-hour token.
        let r = env
            .get(&format!("{PATH}?expiring=true"), Some(&alice_t))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["only_expiring"], true);
        let titles: Vec<&str> = r.json["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .filter_map(|t| t["title"].as_str())
            .collect();
        assert_eq!(titles, ["t0"]);
        assert!(r.json["tokens"][0]["expiration"].is_string());

        // The full list keeps expired tokens; reading one answers 404.
        let r = env.get(PATH, Some(&alice_t)).await;
        assert_eq!(r.json["tokens"].as_array().map(Vec::len), Some(4));
        let r = env
            .get(
                &format!("{PATH}/00000000-0000-0000-0000-000000000003"),
                Some(&alice_t),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        // Revoking an expired token still works.
        let r = env
            .call(
                "DELETE",
                &format!("{PATH}/00000000-0000-0000-0000-000000000003"),
                Some(&alice_t),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        env.cleanup().await;

        // A configured APP_SPECIFIC_TOKEN_EXPIRATION sets the window (1h → 6 min).
        let env = env_with(backend, "APP_SPECIFIC_TOKEN_EXPIRATION: 1h\n").await;
        let (alice, alice_t) = env.user_with_token("alice").await;
        env.tdb
            .db()
            .insert_app_token(&NewAppToken {
                user_id: alice,
                uuid: "00000000-0000-0000-0000-000000000009".into(),
                title: "soonish".into(),
                token_name: format!("{:0>60}", 9),
                encrypted_secret: "v0$$unused".into(),
                created: now,
                expiration: Some(now + chrono::Duration::minutes(30)),
            })
            .await
            .expect("insert");
        let r = env.get(&format!("{PATH}?expiring=1"), Some(&alice_t)).await;
        assert_eq!(r.json["tokens"], json!([]), "{r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn absent_without_the_feature() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_APP_SPECIFIC_TOKENS: false\n").await;
        let (_, t) = env.user_with_token("alice").await;
        let r = env.get(PATH, Some(&t)).await;
        assert_message(&r, 404, NOT_FOUND_TEXT);
        let r = env
            .call("POST", PATH, Some(&t), Some(json!({"title": "x"})))
            .await;
        assert_message(&r, 404, NOT_FOUND_TEXT);
        env.cleanup().await;
    }
}
