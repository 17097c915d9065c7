//! The superuser panel's service keys (`/api/v1/superuser/keys`, `/approvedkeys`) on both
//! backends: a generated key signs registry tokens this instance accepts until it is
//! deleted; key objects, approval, renaming, extension, the stale window, bad input and the
//! permission cells; audit rows under the service log account.

mod common;

use common::*;
use quayside_meta::logs::LogFilter;
use rsa::pkcs8::DecodePublicKey;
use serde_json::{json, Value};

const CONFIG: &str = "GLOBAL_READONLY_SUPER_USERS: [reader]\n";
const KEY_KEYS: &[&str] = &[
    "approval",
    "created_date",
    "expiration_date",
    "jwk",
    "kid",
    "metadata",
    "name",
    "rotation_duration",
    "service",
];

async fn logs(env: &Env) -> Vec<(String, i64, Option<i64>, Value)> {
    env.tdb
        .db()
        .log_entries(&LogFilter::default(), 50)
        .await
        .expect("logs")
        .into_iter()
        .map(|r| {
            let meta: Value = serde_json::from_str(&r.metadata_json).expect("metadata json");
            (r.kind, r.account_id, r.performer_id, meta)
        })
        .collect()
}

/// A registry bearer token for this instance (`iss` = the service, `aud` = the hostname),
/// signed with `private_pem` under `kid`.
fn registry_token(kid: &str, private_pem: &str, service: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("pem");
    jsonwebtoken::encode(
        &header,
        &json!({
            "iss": service, "aud": SERVER_HOSTNAME, "nbf": now, "iat": now, "exp": now + 300,
            "sub": "(anonymous)", "access": [], "context": {},
        }),
        &key,
    )
    .expect("sign")
}

fn in_an_hour() -> i64 {
    chrono::Utc::now().timestamp() + 3600
}

#[tokio::test]
async fn a_created_key_signs_tokens_until_deleted() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let (su, su_t) = env.user_with_token("super").await;
        let expiration = in_an_hour();
        let r = env
            .call(
                "POST",
                "/api/v1/superuser/keys",
                Some(&su_t),
                Some(json!({
                    "service": "quay", "name": "ci: signer/1", "expiration": expiration,
                    "notes": "for CI", "metadata": {"team": "infra"},
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            ["kid", "name", "private_key", "public_key", "service"]
        );
        assert_eq!(r.json["name"], "ci: signer/1");
        assert_eq!(r.json["service"], "quay");
        let kid = r.json["kid"].as_str().expect("kid").to_owned();
        let private_pem = r.json["private_key"].as_str().expect("private").to_owned();
        let public_pem = r.json["public_key"].as_str().expect("public");
        assert!(private_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        rsa::RsaPublicKey::from_public_key_pem(public_pem).expect("SPKI public key");

        // The key verifies registry tokens this instance did not sign itself.
        let token = registry_token(&kid, &private_pem, "quay");
        env.auth
            .verify_registry_token(&token)
            .await
            .expect("a token signed with the new key verifies");

        // The key object.
        let r = env
            .get(&format!("/api/v1/superuser/keys/{kid}"), Some(&su_t))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let k = &r.json;
        assert_eq!(keys(k), KEY_KEYS);
        assert_eq!(k["kid"], kid);
        assert_eq!(k["jwk"]["kty"], "RSA");
        assert_eq!(k["jwk"]["kid"], kid);
        assert!(k["jwk"].get("d").is_none(), "no private part: {k}");
        assert_eq!(k["metadata"]["team"], "infra");
        assert_eq!(k["metadata"]["created_by"], "Quay Superuser Panel");
        assert_eq!(k["metadata"]["creator"], "super");
        assert_eq!(k["rotation_duration"], Value::Null);
        let exp_text = chrono::DateTime::from_timestamp(expiration, 0)
            .expect("ts")
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        assert_eq!(k["expiration_date"], exp_text.as_str());
        assert!(
            k["created_date"].as_str().expect("date").ends_with(" GMT"),
            "{k}"
        );
        let approval = &k["approval"];
        assert_eq!(
            approval["approval_type"],
            "ServiceKeyApprovalType.SUPERUSER"
        );
        assert_eq!(approval["notes"], "for CI");
        assert_eq!(approval["approver"]["username"], "super");
        assert_eq!(approval["approver"]["super_user"], true);

        // Listed with the instance's own key (approved automatically, no approver).
        let r = env.get("/api/v1/superuser/keys", Some(&su_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        let list = r.json["keys"].as_array().expect("keys");
        let kids: Vec<&str> = list.iter().filter_map(|k| k["kid"].as_str()).collect();
        assert_eq!(kids, [env.auth.instance_kid(), kid.as_str()]);
        assert_eq!(
            list[0]["approval"]["approval_type"],
            "ServiceKeyApprovalType.AUTOMATIC"
        );
        assert_eq!(list[0]["approval"]["approver"], Value::Null);

        // Audit rows under the lowest user id (no SERVICE_LOG_ACCOUNT_ID), by `super`.
        let rows = logs(&env).await;
        let create = rows
            .iter()
            .find(|r| r.0 == "service_key_create")
            .expect("create row");
        assert_eq!(create.1, su, "the lowest user id");
        assert_eq!(create.2, Some(su));
        assert_eq!(create.3["kid"], kid);
        assert_eq!(create.3["expiration_date"], expiration);
        assert_eq!(create.3["preshared"], true);
        assert_eq!(create.3["auto_approved"], true);
        assert!(rows.iter().any(|r| r.0 == "service_key_approve"));

        // Deleted: gone, and its tokens no longer verify here (no cache grace).
        let r = env
            .call(
                "DELETE",
                &format!("/api/v1/superuser/keys/{kid}"),
                Some(&su_t),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let err = env
            .auth
            .verify_registry_token(&token)
            .await
            .expect_err("a deleted key verifies nothing");
        assert_eq!(err.to_string(), "Unknown service key");
        let r = env
            .get(&format!("/api/v1/superuser/keys/{kid}"), Some(&su_t))
            .await;
        assert_eq!(r.status, 404, "{r:?}");
        let r = env
            .call(
                "DELETE",
                &format!("/api/v1/superuser/keys/{kid}"),
                Some(&su_t),
                None,
            )
            .await;
        assert_eq!(r.status, 404, "{r:?}");
        let rows = logs(&env).await;
        let deleted = rows
            .iter()
            .find(|r| r.0 == "service_key_delete")
            .expect("delete row");
        assert_eq!(deleted.3["name"], "ci: signer/1");
        assert_eq!(deleted.3["service"], "quay");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn keys_are_renamed_extended_and_approved() {
    for backend in backends() {
        let env = env_with(backend, "SERVICE_LOG_ACCOUNT_ID: 424242\n").await;
        let (_, su_t) = env.user_with_token("super").await;
        let r = env
            .call(
                "POST",
                "/api/v1/superuser/keys",
                Some(&su_t),
                Some(json!({"service": "clair_v4", "expiration": null})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["name"], "");
        let kid = r.json["kid"].as_str().expect("kid").to_owned();
        let path = format!("/api/v1/superuser/keys/{kid}");
        let r = env.get(&path, Some(&su_t)).await;
        assert_eq!(r.json["expiration_date"], Value::Null, "never expires");
        let rows = logs(&env).await;
        assert!(
            rows.iter().all(|r| r.1 == 424_242),
            "service rows go under SERVICE_LOG_ACCOUNT_ID: {rows:?}"
        );

        // Rename and merge metadata.
        let r = env
            .call(
                "PUT",
                &path,
                Some(&su_t),
                Some(json!({"name": "scanner", "metadata": {"env": "prod"}})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["name"], "scanner");
        assert_eq!(r.json["metadata"]["env"], "prod");
        assert_eq!(r.json["metadata"]["created_by"], "Quay Superuser Panel");
        assert_eq!(logs(&env).await[0].0, "service_key_modify");

        // Extend, then make it never expire again.
        let until = in_an_hour() + 86_400;
        let r = env
            .call(
                "PUT",
                &path,
                Some(&su_t),
                Some(json!({"expiration": until})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_ne!(r.json["expiration_date"], Value::Null);
        let extend = logs(&env).await.remove(0);
        assert_eq!(extend.0, "service_key_extend");
        assert_eq!(extend.3["expiration_date"], until);
        assert_eq!(extend.3["old_expiration_date"], Value::Null);
        assert_eq!(extend.3["name"], "scanner");
        let r = env
            .call("PUT", &path, Some(&su_t), Some(json!({"expiration": null})))
            .await;
        assert_eq!(r.json["expiration_date"], Value::Null, "{r:?}");

        // Bad input changes nothing.
        let r = env
            .call(
                "PUT",
                &path,
                Some(&su_t),
                Some(json!({"name": "bad;name", "expiration": until})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Invalid service key friendly name: bad;name",
        );
        let r = env
            .call("PUT", &path, Some(&su_t), Some(json!({"expiration": 1000})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Cannot have an expiration date in the past",
        );
        let r = env
            .call(
                "PUT",
                &path,
                Some(&su_t),
                Some(json!({"expiration": "soon"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'soon' is not valid under any of the given schemas",
        );
        let r = env.get(&path, Some(&su_t)).await;
        assert_eq!(r.json["name"], "scanner");
        assert_eq!(r.json["expiration_date"], Value::Null);
        let r = env
            .call(
                "PUT",
                "/api/v1/superuser/keys/nosuchkid",
                Some(&su_t),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(r.status, 404, "{r:?}");

        // An already approved key: 201, no new approval row.
        let before = logs(&env).await.len();
        let r = env
            .call(
                "POST",
                &format!("/api/v1/superuser/approvedkeys/{kid}"),
                Some(&su_t),
                Some(json!({"notes": "again"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.text, "", "Quay answers an empty 201");
        assert_eq!(logs(&env).await.len(), before);
        let r = env
            .call(
                "POST",
                "/api/v1/superuser/approvedkeys/nosuchkid",
                Some(&su_t),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, 404, "{r:?}");
        env.cleanup().await;
    }
}

/// A key another service submitted (unapproved, as Quay's key server stores it) becomes
/// usable only once a superuser approves it; the approval removes the superusers'
/// "service key submitted" notification about it.
#[tokio::test]
async fn a_submitted_key_verifies_only_after_approval() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let (su, su_t) = env.user_with_token("super").await;
        // Make a key pair, store it unapproved as Quay's key server would.
        let r = env
            .call(
                "POST",
                "/api/v1/superuser/keys",
                Some(&su_t),
                Some(json!({"service": "quay", "expiration": in_an_hour()})),
            )
            .await;
        let kid = r.json["kid"].as_str().expect("kid").to_owned();
        let private_pem = r.json["private_key"].as_str().expect("pem").to_owned();
        let db = env.tdb.db();
        quayside_testkit::sql::exec(
            db,
            "UPDATE servicekey SET approval_id = NULL WHERE kid = $1",
            &[quayside_testkit::sql::Arg::S(&kid)],
        )
        .await;
        quayside_testkit::sql::exec(
            db,
            "INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, \
             dismissed, lookup_path) SELECT 'n-1', id, $1, '{}', CURRENT_TIMESTAMP, false, $2 \
             FROM notificationkind WHERE name = 'service_key_submitted'",
            &[
                quayside_testkit::sql::Arg::I(su),
                quayside_testkit::sql::Arg::S(&format!("/service_key_approval/{kid}/{su}")),
            ],
        )
        .await;
        let token = registry_token(&kid, &private_pem, "quay");
        env.auth
            .verify_registry_token(&token)
            .await
            .expect_err("unapproved keys verify nothing");
        let r = env
            .get(&format!("/api/v1/superuser/keys/{kid}"), Some(&su_t))
            .await;
        assert_eq!(r.json["approval"], Value::Null, "{r:?}");

        let r = env
            .call(
                "POST",
                &format!("/api/v1/superuser/approvedkeys/{kid}"),
                Some(&su_t),
                Some(json!({"notes": "checked"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        env.auth
            .verify_registry_token(&token)
            .await
            .expect("approved now");
        let r = env
            .get(&format!("/api/v1/superuser/keys/{kid}"), Some(&su_t))
            .await;
        assert_eq!(r.json["approval"]["notes"], "checked");
        assert_eq!(r.json["approval"]["approver"]["username"], "super");
        let left: i64 = quayside_testkit::sql::scalar_i64(
            db,
            "SELECT COUNT(*) FROM notification WHERE lookup_path LIKE '/service_key_approval/%'",
            &[],
        )
        .await;
        assert_eq!(left, 0, "the approval removes the notification");
        let approve = logs(&env).await.remove(0);
        assert_eq!(approve.0, "service_key_approve");
        assert_eq!(approve.3["kid"], kid);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn stale_keys_bad_bodies_and_permission_cells() {
    for backend in backends() {
        let env = env_with(backend, CONFIG).await;
        let (_, su_t) = env.user_with_token("super").await;
        let (_, reader_t) = env.user_with_token("reader").await;
        let (_, alice_t) = env.user_with_token("alice").await;
        let su_no_scope_t = {
            let su = env
                .tdb
                .db()
                .user_details_by_username("super")
                .await
                .expect("db")
                .expect("super")
                .id;
            env.token(su, "user:admin user:read org:admin").await
        };
        let create = json!({"service": "quay", "expiration": in_an_hour()});

        // Bodies.
        let post = |body: Value| {
            let env = &env;
            let su_t = su_t.clone();
            async move {
                env.call("POST", "/api/v1/superuser/keys", Some(&su_t), Some(body))
                    .await
            }
        };
        let r = post(json!({"expiration": null})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'service' is a required property",
        );
        let r = post(json!({"service": "quay"})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'expiration' is a required property",
        );
        let r = post(json!({"service": "quay", "expiration": 5})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Expiration date cannot be in the past",
        );
        let r = post(json!({"service": "quay", "expiration": null, "name": "a;b"})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Invalid service key friendly name: a;b",
        );
        let r = post(json!({"service": "Not-Valid", "expiration": null})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Invalid service name: Not-Valid (lowercase letters, digits and _ only)",
        );
        let r = post(json!({"service": "quay", "expiration": 1e300})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Invalid expiration date: year is out of range",
        );
        let r = post(json!({"service": "quay", "expiration": null, "metadata": []})).await;
        assert_problem(&r, 400, "invalid_request", "[] is not of type 'object'");
        let r = env.get("/api/v1/superuser/keys", Some(&su_t)).await;
        assert_eq!(
            r.json["keys"].as_array().map(Vec::len),
            Some(1),
            "no key was made by a refused request: {r:?}"
        );

        // A key that expired more than a week ago is stale: not listed, not found.
        let r = post(create.clone()).await;
        let kid = r.json["kid"].as_str().expect("kid").to_owned();
        quayside_testkit::sql::exec(
            env.tdb.db(),
            "UPDATE servicekey SET expiration_date = $1 WHERE kid = $2",
            &[
                quayside_testkit::sql::Arg::T(
                    chrono::Utc::now().naive_utc() - chrono::Duration::days(8),
                ),
                quayside_testkit::sql::Arg::S(&kid),
            ],
        )
        .await;
        let r = env
            .get(&format!("/api/v1/superuser/keys/{kid}"), Some(&su_t))
            .await;
        assert_eq!(r.status, 404, "{r:?}");
        let r = env.get("/api/v1/superuser/keys", Some(&su_t)).await;
        assert!(!r.text.contains(&kid), "{r:?}");

        // Permission cells: reads for superusers and global read-only superusers; writes
        // for superusers; OAuth tokens need super:user.
        let r = post(create.clone()).await;
        let kid = r.json["kid"].as_str().expect("kid").to_owned();
        let one = format!("/api/v1/superuser/keys/{kid}");
        let approve = format!("/api/v1/superuser/approvedkeys/{kid}");
        for path in ["/api/v1/superuser/keys", one.as_str()] {
            assert_eq!(env.get(path, Some(&reader_t)).await.status, 200, "{path}");
            let r = env.get(path, Some(&alice_t)).await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
            let r = env.get(path, None).await;
            assert_eq!(r.status, 401, "{path}: {r:?}");
            let r = env.get(path, Some(&su_no_scope_t)).await;
            assert_eq!(r.status, 403, "{path}: {r:?}");
        }
        for token in [&reader_t, &alice_t, &su_no_scope_t] {
            let r = env
                .call(
                    "POST",
                    "/api/v1/superuser/keys",
                    Some(token),
                    Some(create.clone()),
                )
                .await;
            assert_eq!(r.status, 403, "{r:?}");
            let r = env
                .call("PUT", &one, Some(token), Some(json!({"name": "x"})))
                .await;
            assert_eq!(r.status, 403, "{r:?}");
            let r = env.call("DELETE", &one, Some(token), None).await;
            assert_eq!(r.status, 403, "{r:?}");
            let r = env
                .call("POST", &approve, Some(token), Some(json!({})))
                .await;
            assert_eq!(r.status, 403, "{r:?}");
        }
        let r = env.get(&one, Some(&su_t)).await;
        assert_eq!(r.json["name"], "", "unchanged by refused calls: {r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn absent_without_super_users() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_SUPER_USERS: false\n").await;
        let (_, t) = env.user_with_token("super").await;
        let r = env.get("/api/v1/superuser/keys", Some(&t)).await;
        assert_eq!(r.status, 404, "{r:?}");
        env.cleanup().await;
    }
}
