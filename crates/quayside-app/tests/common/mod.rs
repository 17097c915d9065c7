//! The assembled application for the integration tests of this crate: the whole router over a
//! fresh database (SQLite or PostgreSQL) and LocalStorage in a temporary directory, and the
//! request helpers the tests share.

#![allow(dead_code)] // each test binary uses its own subset

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use quayside_app::bootstrap::{Resolved, Source};
use quayside_test_db::{Backend, TestDb};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

pub const HOST: &str = "registry.example";

pub struct App {
    pub router: axum::Router,
    pub state: quayside_app::AppState,
    pub tdb: TestDb,
    _dir: tempfile::TempDir,
}

/// The application on `backend`, configured with `extra_yaml` (whole lines of `config.yaml`)
/// on top of the hostname, secrets and one LocalStorage location; bcrypt at cost 4.
pub async fn app(backend: Backend, extra_yaml: &str) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).expect("storage dir");
    let yaml = format!(
        "SERVER_HOSTNAME: {HOST}\nPREFERRED_URL_SCHEME: http\n\
         DATABASE_SECRET_KEY: test-database-secret\nSECRET_KEY: test-secret\n\
         DISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - storage_path: {}\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [default]\n{extra_yaml}",
        storage.display()
    );
    let config = quayside_config::Config::from_yaml_str(&yaml).expect("config");
    let resolved = Resolved {
        config,
        source: Source::ConfigDir(dir.path().to_path_buf()),
        work_dir: dir.path().to_path_buf(),
    };
    let tdb = TestDb::new(backend).await;
    let mut auth = quayside_app::assemble::auth_settings(&resolved);
    auth.bcrypt_cost = 4;
    auth.kid_path = dir.path().join("quay.kid");
    auth.pem_path = dir.path().join("quay.pem");
    let state = quayside_app::assemble::assemble_with(&resolved, tdb.db().clone(), auth)
        .await
        .expect("assemble");
    App {
        router: quayside_app::router(state.clone()),
        state,
        tdb,
        _dir: dir,
    }
}

pub struct Resp {
    pub status: StatusCode,
    /// The body as JSON, or `null` when it is not JSON.
    pub json: Value,
    pub text: String,
}

pub async fn send(app: &App, req: Request<Body>) -> Resp {
    let resp = app.router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, json, text }
}

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

pub fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A registry token for `scope` with Basic credentials (or none); `None` when refused.
pub async fn registry_token(app: &App, creds: Option<(&str, &str)>, scope: &str) -> Option<String> {
    let mut req = Request::get(format!("/v2/auth?service={HOST}&scope={scope}"));
    if let Some((u, p)) = creds {
        req = req.header("Authorization", basic(u, p));
    }
    let r = send(app, req.body(Body::empty()).expect("req")).await;
    if r.status != 200 {
        return None;
    }
    r.json["token"].as_str().map(str::to_owned)
}

/// A robot under the account `namespace_id`, made by the robot API's own path
/// (`Auth::create_robot_account`): (`namespace+short`, token).
pub async fn robot(
    auth: &quayside_auth::Auth,
    namespace_id: i64,
    short: &str,
) -> Result<(String, String), quayside_auth::AuthError> {
    let parent = auth
        .db()
        .account_by_id(namespace_id)
        .await?
        .expect("robot parent account");
    let made = auth.create_robot_account(&parent, short, "", None).await?;
    Ok((made.robot.username, made.token))
}
