//! `POST /api/v1/user/initialize` on real databases (SQLite and PostgreSQL), driven
//! through the router, with the exchanges of Quay's documentation byte for byte.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use quayside_auth::{Auth, AuthSettings, Identity, UserPasswordCipher};
use quayside_meta::with_pool;
use quayside_quay_api::{QuayApiSettings, QuayApiState, AUTOMATION_SCOPE};
use quayside_testkit::{Backend, TestDb};
use tower::ServiceExt;

const SECRET_KEY: &str = "a-quay-secret-key";
const PATH: &str = "/api/v1/user/initialize";

struct Env {
    tdb: TestDb,
    auth: Auth,
    _keys: tempfile::TempDir,
}

async fn env(backend: Backend) -> Env {
    let tdb = TestDb::new(backend).await;
    let keys = tempfile::tempdir().expect("tempdir");
    let auth = Auth::start(
        tdb.db().clone(),
        AuthSettings {
            kid_path: keys.path().join("quay.kid"),
            pem_path: keys.path().join("quay.pem"),
            database_secret_key: Some("database-secret".into()),
            secret_key: Some(SECRET_KEY.into()),
            bcrypt_cost: 4,
            ..AuthSettings::default()
        },
    )
    .await
    .expect("auth");
    Env {
        tdb,
        auth,
        _keys: keys,
    }
}

fn router(env: &Env, settings: QuayApiSettings) -> axum::Router {
    quayside_quay_api::router(QuayApiState::new(env.auth.clone(), settings))
}

fn on() -> QuayApiSettings {
    QuayApiSettings {
        user_initialize: true,
        ..QuayApiSettings::default()
    }
}

/// `curl -X POST … --header 'Content-Type: application/json' --data '<body>'`.
async fn post(router: &axum::Router, body: &str) -> (StatusCode, String, Option<String>) {
    let req = Request::post(PATH)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
        ctype,
    )
}

fn is_token(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The three exchanges of the documentation, then the credentials at Basic login.
async fn documented_exchanges(backend: Backend) {
    let env = env(backend).await;
    let app = router(&env, on());

    let (status, body, ctype) = post(
        &app,
        r#"{ "username": "quayadmin", "password":"quaypass123", "email": "quayadmin@example.com", "access_token": true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ctype.as_deref(), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["access_token", "email", "encrypted_password", "username"]
    );
    let token = v["access_token"].as_str().expect("token").to_owned();
    let encrypted = v["encrypted_password"].as_str().expect("enc").to_owned();
    assert!(is_token(&token), "{token}");
    // Flask's rendering: sorted keys, compact, trailing newline.
    assert_eq!(
        body,
        format!(
            "{{\"access_token\":\"{token}\",\"email\":\"quayadmin@example.com\",\"encrypted_password\":\"{encrypted}\",\"username\":\"quayadmin\"}}\n"
        )
    );
    // Same length as the documented value (16-byte IV + two AES blocks, base64).
    assert_eq!(
        encrypted.len(),
        "1nZMLH57RIE5UGdL/yYpDOHLqiNCgimb6W9kfF8MjZ1xrfDpRyRs9NUnUuNuAitW".len()
    );
    // Decrypts under SECRET_KEY with an independent cipher instance.
    let cipher = UserPasswordCipher::new(SECRET_KEY).expect("key");
    assert_eq!(cipher.decrypt(&encrypted).as_deref(), Some("quaypass123"));

    let (status, body, _) = post(
        &app,
        r#"{ "username": "quayuser2", "password":"quaypass123", "email": "quayuser2@example.com"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "{\"message\":\"Cannot initialize user in a non-empty database\"}\n"
    );

    // The token works as `$oauthtoken` password, with its scopes.
    match env.auth.verify_basic("$oauthtoken", &token).await {
        Ok(Identity::OAuthToken {
            username, scopes, ..
        }) => {
            assert_eq!(username, "quayadmin");
            assert_eq!(scopes.join(" "), AUTOMATION_SCOPE);
        }
        other => panic!("$oauthtoken login: {other:?}"),
    }
    // The encrypted password and the password both log the user in.
    for password in [encrypted.as_str(), "quaypass123"] {
        match env.auth.verify_basic("quayadmin", password).await {
            Ok(Identity::User { username, .. }) => assert_eq!(username, "quayadmin"),
            other => panic!("login with {password}: {other:?}"),
        }
    }
    assert!(env
        .auth
        .verify_basic("quayadmin", "wrongpass1")
        .await
        .is_err());

    // Stored as Quay stores them.
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
        bool,
        String,
    );
    const SQL: &str = r#"SELECT a.name, a.client_id, a.description, t.token_type, t.data, t.scope,
               t.expires_at, t.created, u.verified, u.email
        FROM oauthaccesstoken t
        JOIN oauthapplication a ON a.id = t.application_id
        JOIN "user" u ON u.id = t.authorized_user_id AND u.id = a.organization_id"#;
    let rows: Vec<Row> =
        with_pool!(env.tdb.db(), pool => sqlx::query_as(SQL).fetch_all(pool).await).expect("rows");
    assert_eq!(rows.len(), 1);
    let (name, client_id, description, token_type, data, scope, expires, created, verified, email) =
        rows[0].clone();
    assert_eq!(
        (name.as_str(), client_id.as_str(), description.as_str()),
        (
            "automation",
            "quayadmin",
            "Application token generated via /api/v1/user/initialize"
        )
    );
    assert_eq!((token_type.as_str(), data.as_str()), ("token", ""));
    assert_eq!(scope, AUTOMATION_SCOPE);
    let created = created.expect("created");
    assert_eq!((expires - created).num_seconds(), 9000);
    assert!(verified, "the first user is auto-verified");
    assert_eq!(email, "quayadmin@example.com");

    env.tdb.cleanup().await;
}

/// Validation messages, each on an empty database.
async fn validation(backend: Backend) {
    let cases: &[(QuayApiSettings, &str, &str)] = &[
        (
            on(),
            r#"{ "username": "quayadmin", "password":"pass123", "email": "quayadmin@example.com"}"#,
            "{\"message\":\"Failed to initialize user: Invalid password, password must be at least 8 characters and contain no whitespace.\"}\n",
        ),
        (
            on(),
            r#"{"username": "quayadmin", "password": "quaypass123"}"#,
            "{\"message\":\"Failed to initialize user: Invalid email address: None\"}\n",
        ),
        (
            on(),
            r#"{"username": "QuayAdmin", "password": "quaypass123", "email": "a@example.com"}"#,
            "{\"message\":\"Failed to initialize user: Invalid namespace QuayAdmin: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$\"}\n",
        ),
        (
            QuayApiSettings {
                authentication_type: "LDAP".into(),
                ..on()
            },
            r#"{"username": "quayadmin", "password": "quaypass123", "email": "a@example.com"}"#,
            "{\"message\":\"Cannot initialize user in a non-database auth system\"}\n",
        ),
    ];
    let env = env(backend).await;
    for (settings, request, expected) in cases {
        let (status, body, _) = post(&router(&env, settings.clone()), request).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::BAD_REQUEST, *expected),
            "{request}"
        );
    }
    assert_eq!(env.tdb.db().count_accounts().await.expect("count"), 0);

    // Without FEATURE_MAILING the e-mail may be left out (echoed as null, stored as a
    // UUID) and no token is made unless asked for.
    let settings = QuayApiSettings {
        mailing: false,
        ..on()
    };
    let (status, body, _) = post(
        &router(&env, settings),
        r#"{"username": "admin", "password": "quaypass123", "access_token": false}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["email"], serde_json::Value::Null);
    assert!(v.get("access_token").is_none(), "{body}");
    assert!(matches!(
        env.auth
            .verify_basic("admin", v["encrypted_password"].as_str().expect("enc"))
            .await,
        Ok(Identity::User { .. })
    ));
    env.tdb.cleanup().await;
}

/// Feature off → no route (404); on, other methods → 405, non-JSON → 415; an
/// organization row alone makes the database non-empty.
async fn gating(backend: Backend) {
    let env = env(backend).await;
    let off = router(&env, QuayApiSettings::default());
    let (status, body, _) = post(
        &off,
        r#"{"username": "quayadmin", "password": "quaypass123", "email": "a@example.com"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(env.tdb.db().count_accounts().await.expect("count"), 0);

    let resp = router(&env, on())
        .oneshot(Request::get(PATH).body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Not JSON.
    let resp = router(&env, on())
        .oneshot(
            Request::post(PATH)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(Body::from("username=a"))
                .expect("req"),
        )
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A lone organization row (no user at all) already makes the database non-empty.
    env.tdb
        .db()
        .insert_account(&quayside_meta::identity::NewAccount {
            uuid: "4b4f1c9e-0000-4000-8000-000000000001".into(),
            username: "acme".into(),
            email: "acme@example.com".into(),
            password_hash: None,
            verified: false,
            organization: true,
            robot: false,
            removed_tag_expiration_s: 1_209_600,
            now: chrono::Utc::now().naive_utc(),
        })
        .await
        .expect("org row");
    assert_eq!(env.tdb.db().count_users().await.expect("count"), 0);
    let (status, body, _) = post(
        &router(&env, on()),
        r#"{"username": "quayadmin", "password": "quaypass123", "email": "a@example.com"}"#,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "{\"message\":\"Cannot initialize user in a non-empty database\"}\n"
        )
    );
    env.tdb.cleanup().await;
}

#[tokio::test]
async fn documented_exchanges_sqlite() {
    documented_exchanges(Backend::Sqlite).await;
}

#[tokio::test]
async fn documented_exchanges_postgres() {
    documented_exchanges(Backend::Postgres).await;
}

#[tokio::test]
async fn validation_sqlite() {
    validation(Backend::Sqlite).await;
}

#[tokio::test]
async fn validation_postgres() {
    validation(Backend::Postgres).await;
}

#[tokio::test]
async fn gating_sqlite() {
    gating(Backend::Sqlite).await;
}

#[tokio::test]
async fn gating_postgres() {
    gating(Backend::Postgres).await;
}
