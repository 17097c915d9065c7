//! The assembled application for the integration tests of this crate: the whole router over a
//! fresh database (SQLite or PostgreSQL) and LocalStorage in a temporary directory, and the
//! requests through it (quayside-testkit's `http` reads the responses).

#![allow(dead_code)] // each test binary uses its own subset

use axum::body::Body;
use axum::http::Request;
use quayside_app::bootstrap::{Resolved, Source};
use quayside_testkit::http::{self, basic, Resp};
use quayside_testkit::{Backend, TestDb};

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
    app_with_storage(
        backend,
        |dir| {
            let storage = dir.join("storage");
            std::fs::create_dir_all(&storage).expect("storage dir");
            format!(
                "DISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - storage_path: {}\n\
                 DISTRIBUTED_STORAGE_PREFERENCE: [default]\n",
                storage.display()
            )
        },
        extra_yaml,
    )
    .await
}

/// [`app`] with the storage part of `config.yaml` written by `storage_yaml` (given the
/// temporary config directory, where it may create storage directories).
pub async fn app_with_storage(
    backend: Backend,
    storage_yaml: impl FnOnce(&std::path::Path) -> String,
    extra_yaml: &str,
) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage_block = storage_yaml(dir.path());
    let yaml = format!(
        "SERVER_HOSTNAME: {HOST}\nPREFERRED_URL_SCHEME: http\n\
         DATABASE_SECRET_KEY: test-database-secret\nSECRET_KEY: test-secret\n\
         {storage_block}{extra_yaml}"
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

/// Sends `req` through the whole application.
pub async fn send(app: &App, req: Request<Body>) -> Resp {
    http::send(&app.router, req).await
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
