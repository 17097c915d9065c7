//! Basic credentials of every kind, stored exactly as Quay stores them.

mod common;

use aes::Aes256;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{Aead, KeyInit};
use ccm::consts::{U13, U16};
use common::{env, env_with};
use quayside_auth::{AuthError, FieldEncrypter, Identity};
use quayside_testkit::sql::{exec, scalar_i64, scalar_string, Arg};
use quayside_testkit::{accounts, backends};

fn invalid_msg(r: Result<Identity, AuthError>) -> String {
    match r {
        Err(AuthError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn user_passwords() {
    for backend in backends() {
        let e = env(backend).await;
        let id = e
            .auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("user");
        let hash = scalar_string(
            e.db(),
            r#"SELECT password_hash FROM "user" WHERE id = $1"#,
            &[Arg::I(id)],
        )
        .await
        .expect("hash");
        assert!(
            hash.starts_with("$2b$04$"),
            "bcrypt $2b$ with the configured cost: {hash}"
        );
        match e
            .auth
            .verify_basic("alice", "password123")
            .await
            .expect("login")
        {
            Identity::User {
                username,
                id: got,
                uuid,
            } => {
                assert_eq!((username.as_str(), got), ("alice", id));
                assert_eq!(uuid.len(), 36);
            }
            other => panic!("{other:?}"),
        }
        // E-mail works as username too.
        assert!(e
            .auth
            .verify_basic("alice@example.com", "password123")
            .await
            .is_ok());
        // Unknown user, wrong password.
        assert_eq!(
            invalid_msg(e.auth.verify_basic("nobody", "password123").await),
            "Invalid Username or Password"
        );
        e.auth
            .create_user("bob", "password123", "bob@example.com")
            .await
            .expect("user");
        assert_eq!(
            invalid_msg(e.auth.verify_basic("bob", "wrong-password").await),
            "Invalid Username or Password"
        );
        // Quay's backoff: right after a failure even the right password is throttled.
        match e.auth.verify_basic("bob", "password123").await {
            Err(AuthError::TooManyAttempts { retry_after_s }) => assert!(retry_after_s <= 1),
            other => panic!("expected throttling, got {other:?}"),
        }
        let attempts = scalar_i64(
            e.db(),
            r#"SELECT CAST(invalid_login_attempts AS BIGINT) FROM "user" WHERE username = $1"#,
            &[Arg::S("bob")],
        )
        .await;
        assert_eq!(attempts, 1);
        // A hash written by Python's bcrypt ($2b$, cost 4) for "password123" is accepted.
        // Produced by Python bcrypt 5.0.0: hashpw(b"password123", gensalt(rounds=4)).
        let quay_hash = "$2b$04$q97QyQJf6y1fuxH2NsmVv.FueHavN/ehq5GQhG0t7smnSn1b8hk0K";
        exec(e.db(), r#"UPDATE "user" SET password_hash = $1, invalid_login_attempts = 0 WHERE username = $2"#,
            &[Arg::S(quay_hash), Arg::S("bob")]).await;
        let bob_ok = e.auth.verify_basic("bob", "password123").await;
        // Disabled user.
        exec(
            e.db(),
            r#"UPDATE "user" SET enabled = $1 WHERE username = $2"#,
            &[Arg::B(false), Arg::S("alice")],
        )
        .await;
        assert_eq!(
            invalid_msg(e.auth.verify_basic("alice", "other-password").await),
            "Invalid Username or Password"
        );
        e.cleanup().await;
        assert!(
            bob_ok.is_ok(),
            "{backend}: Quay-made bcrypt hash rejected: {bob_ok:?}"
        );
    }
}

#[tokio::test]
async fn disabled_user_message() {
    for backend in backends() {
        let e = env(backend).await;
        e.auth
            .create_user("carol", "password123", "carol@example.com")
            .await
            .expect("user");
        exec(
            e.db(),
            r#"UPDATE "user" SET enabled = $1 WHERE username = $2"#,
            &[Arg::B(false), Arg::S("carol")],
        )
        .await;
        assert_eq!(
            invalid_msg(e.auth.verify_basic("carol", "password123").await),
            "This user has been disabled. Please contact your administrator."
        );
        e.cleanup().await;
    }
}

/// Quay's own ciphertext (data/test/test_encryption.py): key "test1234", "hello world".
const QUAY_VECTOR: &str = "v0$$XTxqlz/Kw8s9WKw+GaSvXFEKgpO/a2cGNhvnozzkaUh4C+FgHqZqnA==";

/// Builds a `v0$$` value from first principles: key = "test1234" repeated to 32 bytes,
/// AES-256-CCM (13-byte nonce, 16-byte tag), base64(nonce ‖ ciphertext ‖ tag).
fn independent_ciphertext(plain: &str, nonce: [u8; 13]) -> String {
    let key: Vec<u8> = b"test1234".iter().copied().cycle().take(32).collect();
    let cipher = ccm::Ccm::<Aes256, U16, U13>::new(GenericArray::from_slice(&key));
    let sealed = cipher
        .encrypt(GenericArray::from_slice(&nonce), plain.as_bytes())
        .expect("seal");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    format!("v0$${}", STANDARD.encode(blob))
}

#[tokio::test]
async fn encrypted_field_format() {
    let enc = FieldEncrypter::new("test1234").expect("key");
    assert_eq!(enc.decrypt(QUAY_VECTOR).as_deref(), Ok("hello world"));
    assert_eq!(
        enc.decrypt("v0$$iE+87Qefu/2i+5zC87nlUtOskypk8MUUDS/QZPs=")
            .as_deref(),
        Ok("")
    );
    let other = FieldEncrypter::new("\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}").expect("key");
    assert_eq!(
        other
            .decrypt("v0$$2wwWX8IhUYzuh4cyMgSXF3MEVDlEhrf0CNimTghlHgCuK6E4+bLJb1xJOKxsXMs=")
            .as_deref(),
        Ok("hello world, again")
    );
    let nonce = [7u8; 13];
    let built = independent_ciphertext("ROBOTTOKEN", nonce);
    assert_eq!(enc.encrypt_with_nonce("ROBOTTOKEN", &nonce), built);
    assert_eq!(enc.decrypt(&built).as_deref(), Ok("ROBOTTOKEN"));
    assert!(FieldEncrypter::new("other")
        .expect("key")
        .decrypt(QUAY_VECTOR)
        .is_err());
}

#[tokio::test]
async fn robots() {
    for backend in backends() {
        let e = env(backend).await;
        let uid = e
            .auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("user");
        let (name, token) = accounts::robot(&e.auth, uid, "builder")
            .await
            .expect("robot");
        assert_eq!(name, "alice+builder");
        assert_eq!(token.len(), 64);
        let stored = scalar_string(
            e.db(),
            r#"SELECT t.token FROM robotaccounttoken t JOIN "user" u ON u.id = t.robot_account_id WHERE u.username = $1"#,
            &[Arg::S(&name)],
        )
        .await
        .expect("token row");
        assert!(stored.starts_with("v0$$") && !stored.contains(&token));
        match e
            .auth
            .verify_basic(&name, &token)
            .await
            .expect("robot login")
        {
            Identity::Robot {
                username, owner_id, ..
            } => {
                assert_eq!(username, name);
                assert_eq!(owner_id, uid);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            invalid_msg(e.auth.verify_basic(&name, "WRONGTOKEN").await),
            "Could not find robot with username: alice+builder and supplied password."
        );
        assert_eq!(
            invalid_msg(e.auth.verify_basic("alice+ghost", &token).await),
            "Could not find robot with specified username"
        );
        // A token row encrypted by Quay (its own test vector) decrypts and matches.
        exec(e.db(), r#"UPDATE robotaccounttoken SET token = $1 WHERE robot_account_id = (SELECT id FROM "user" WHERE username = $2)"#,
            &[Arg::S(QUAY_VECTOR), Arg::S(&name)]).await;
        assert!(
            e.auth.verify_basic(&name, "hello world").await.is_ok(),
            "{backend}: Quay ciphertext"
        );
        // And one built independently from the documented format.
        let built = independent_ciphertext("INDEPENDENTLYBUILT", [42u8; 13]);
        exec(e.db(), r#"UPDATE robotaccounttoken SET token = $1 WHERE robot_account_id = (SELECT id FROM "user" WHERE username = $2)"#,
            &[Arg::S(&built), Arg::S(&name)]).await;
        assert!(e
            .auth
            .verify_basic(&name, "INDEPENDENTLYBUILT")
            .await
            .is_ok());
        // Disabled owner.
        exec(
            e.db(),
            r#"UPDATE "user" SET enabled = $1 WHERE username = $2"#,
            &[Arg::B(false), Arg::S("alice")],
        )
        .await;
        assert_eq!(
            invalid_msg(e.auth.verify_basic(&name, "INDEPENDENTLYBUILT2").await),
            "Robot alice+builder owner alice is disabled"
        );
        e.cleanup().await;
    }
}

#[tokio::test]
async fn robot_needs_database_secret_key() {
    let e = env_with(quayside_testkit::Backend::Sqlite, |s| {
        s.database_secret_key = None
    })
    .await;
    let uid = e
        .auth
        .create_user("alice", "password123", "alice@example.com")
        .await
        .expect("user");
    assert!(matches!(
        accounts::robot(&e.auth, uid, "bot").await,
        Err(AuthError::Unavailable(_))
    ));
    e.cleanup().await;
}

#[tokio::test]
async fn app_tokens() {
    for backend in backends() {
        let e = env(backend).await;
        let uid = e
            .auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("user");
        let token = e
            .auth
            .create_app_token(uid, "laptop")
            .await
            .expect("app token");
        assert_eq!(token.len(), 120);
        let secret = scalar_string(
            e.db(),
            "SELECT token_secret FROM appspecificauthtoken WHERE token_name = $1",
            &[Arg::S(&token[..60])],
        )
        .await
        .expect("row");
        assert!(secret.starts_with("v0$$"));
        let uuid = scalar_string(
            e.db(),
            "SELECT uuid FROM appspecificauthtoken WHERE token_name = $1",
            &[Arg::S(&token[..60])],
        )
        .await
        .expect("uuid");
        assert_eq!(
            e.auth
                .verify_basic("$app", &token)
                .await
                .expect("app login"),
            Identity::AppToken {
                user_id: uid,
                username: "alice".into(),
                token_uuid: uuid
            }
        );
        let mut bad = token.clone();
        bad.replace_range(100..101, if &token[100..101] == "A" { "B" } else { "A" });
        assert_eq!(
            invalid_msg(e.auth.verify_basic("$app", &bad).await),
            "Invalid token"
        );
        assert_eq!(
            invalid_msg(e.auth.verify_basic("$app", "short").await),
            "Invalid token"
        );
        // Expired.
        exec(
            e.db(),
            "UPDATE appspecificauthtoken SET expiration = $1",
            &[Arg::T(
                chrono::Utc::now().naive_utc() - chrono::Duration::hours(1),
            )],
        )
        .await;
        let fresh_token = e.auth.create_app_token(uid, "other").await.expect("token");
        exec(
            e.db(),
            "UPDATE appspecificauthtoken SET expiration = $1 WHERE token_name = $2",
            &[
                Arg::T(chrono::Utc::now().naive_utc() - chrono::Duration::hours(1)),
                Arg::S(&fresh_token[..60]),
            ],
        )
        .await;
        assert_eq!(
            invalid_msg(e.auth.verify_basic("$app", &fresh_token).await),
            "Invalid token"
        );
        e.cleanup().await;
    }
}

#[tokio::test]
async fn oauth_tokens() {
    for backend in backends() {
        let e = env(backend).await;
        let uid = e
            .auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("user");
        let token = e
            .auth
            .create_oauth_token(uid, "repo:read repo:write")
            .await
            .expect("oauth");
        assert_eq!(token.len(), 40);
        let code = scalar_string(
            e.db(),
            "SELECT token_code FROM oauthaccesstoken WHERE token_name = $1",
            &[Arg::S(&token[..20])],
        )
        .await
        .expect("row");
        assert!(code.starts_with("$2b$") && !code.contains(&token[20..]));
        match e
            .auth
            .verify_basic("$oauthtoken", &token)
            .await
            .expect("oauth login")
        {
            Identity::OAuthToken {
                user_id,
                username,
                scopes,
                ..
            } => {
                assert_eq!((user_id, username.as_str()), (uid, "alice"));
                assert_eq!(scopes, vec!["repo:read", "repo:write"]);
            }
            other => panic!("{other:?}"),
        }
        let wrong = format!("{}{}", &token[..20], "X".repeat(20));
        assert_eq!(
            invalid_msg(e.auth.verify_basic("$oauthtoken", &wrong).await),
            "OAuth access token could not be validated"
        );
        let expired = e
            .auth
            .create_oauth_token(uid, "repo:read")
            .await
            .expect("oauth");
        exec(
            e.db(),
            "UPDATE oauthaccesstoken SET expires_at = $1 WHERE token_name = $2",
            &[
                Arg::T(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1)),
                Arg::S(&expired[..20]),
            ],
        )
        .await;
        assert_eq!(
            invalid_msg(e.auth.verify_basic("$oauthtoken", &expired).await),
            "OAuth access token has expired"
        );
        assert!(matches!(
            e.auth.create_oauth_token(uid, "repo:bogus").await,
            Err(AuthError::BadRequest(_))
        ));
        e.cleanup().await;
    }
}

#[tokio::test]
async fn repeated_logins_skip_bcrypt_but_failures_are_not_cached() {
    for backend in backends() {
        let e = env(backend).await;
        e.auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("user");
        let before = e.auth.bcrypt_runs();
        let first = e
            .auth
            .verify_basic("alice", "password123")
            .await
            .expect("login");
        assert_eq!(e.auth.bcrypt_runs(), before + 1);
        let second = e
            .auth
            .verify_basic("alice", "password123")
            .await
            .expect("cached login");
        assert_eq!(first, second);
        assert_eq!(
            e.auth.bcrypt_runs(),
            before + 1,
            "second login must not run bcrypt"
        );
        // A wrong password is checked (bcrypt runs) and never turns into a success.
        assert!(e.auth.verify_basic("alice", "password124").await.is_err());
        assert_eq!(e.auth.bcrypt_runs(), before + 2);
        assert!(e.auth.verify_basic("alice", "password124").await.is_err());
        e.cleanup().await;
    }
}
