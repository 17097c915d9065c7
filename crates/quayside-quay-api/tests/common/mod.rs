//! Shared harness of the `/api/v1` tests: a real database (SQLite or PostgreSQL), a real
//! `Auth`, the API router driven in-process, and fixtures that create accounts the way
//! Quay stores them. Every suite runs on both backends (`for backend in backends()`).

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use quayside_auth::{Auth, AuthSettings, Identity, Role};
use quayside_config::{Config, LiveSettings};
use quayside_quay_api::{QuayApiSettings, QuayApiState};
use quayside_testkit::http;
pub use quayside_testkit::http::Resp;
pub use quayside_testkit::{backends, Backend, TestDb};
use serde_json::Value;

pub const SERVER_HOSTNAME: &str = "quay.example:8443";
pub const ALL_SCOPES: &str =
    "org:admin repo:admin repo:create repo:read repo:write super:user user:admin user:read";

pub struct Env {
    pub tdb: TestDb,
    pub auth: Auth,
    pub state: QuayApiState,
    pub router: axum::Router,
    pub live: Arc<LiveSettings>,
    _keys: tempfile::TempDir,
}

/// An environment whose config is `yaml` on top of Quay's defaults (plus
/// `SERVER_HOSTNAME`, `SUPER_USERS: [super]`).
pub async fn env_with(backend: Backend, yaml: &str) -> Env {
    let base = format!("SERVER_HOSTNAME: {SERVER_HOSTNAME}\nPREFERRED_URL_SCHEME: https\nSUPER_USERS: [super]\n{yaml}");
    let config = Config::from_yaml_str(&base).expect("test config");
    let tdb = TestDb::new(backend).await;
    let keys = tempfile::tempdir().expect("tempdir");
    let list = |key: &str| -> Vec<String> {
        config
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let auth = Auth::start(
        tdb.db().clone(),
        AuthSettings {
            server_hostname: SERVER_HOSTNAME.into(),
            preferred_url_scheme: "https".into(),
            kid_path: keys.path().join("quay.kid"),
            pem_path: keys.path().join("quay.pem"),
            database_secret_key: Some("database-secret".into()),
            secret_key: Some("a-quay-secret-key".into()),
            bcrypt_cost: 4,
            super_users: config.super_users.clone(),
            super_users_enabled: config.feature("SUPER_USERS"),
            global_readonly_super_users: list("GLOBAL_READONLY_SUPER_USERS"),
            superusers_full_access: config.feature("SUPERUSERS_FULL_ACCESS"),
            anonymous_access: config.feature("ANONYMOUS_ACCESS"),
            ..AuthSettings::default()
        },
    )
    .await
    .expect("auth");
    let live = Arc::new(LiveSettings::from_config(&config));
    let settings = QuayApiSettings {
        authentication_type: config.authentication_type.clone(),
        user_initialize: config.feature("USER_INITIALIZE"),
        mailing: config.feature("MAILING"),
        config: Arc::new(config),
        live: live.clone(),
    };
    let state = QuayApiState::new(auth.clone(), settings);
    let router = quayside_quay_api::router(state.clone());
    Env {
        tdb,
        auth,
        state,
        router,
        live,
        _keys: keys,
    }
}

pub async fn env(backend: Backend) -> Env {
    env_with(backend, "").await
}

impl Env {
    pub async fn cleanup(self) {
        self.tdb.cleanup().await;
    }

    /// Sends a request; `token` is an OAuth access token sent as Bearer; `body` is JSON.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("Content-Type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        http::send(&self.router, req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call("GET", path, token, None).await
    }

    /// A verified user with password `password` and e-mail `<name>@example.com`.
    pub async fn user(&self, name: &str) -> i64 {
        self.auth
            .create_user(name, "password", &format!("{name}@example.com"))
            .await
            .expect("create user")
    }

    /// An OAuth access token of `user_id` with `scopes`.
    pub async fn token(&self, user_id: i64, scopes: &str) -> String {
        self.auth
            .create_oauth_token(user_id, scopes)
            .await
            .expect("oauth token")
    }

    /// A user plus an all-scopes token.
    pub async fn user_with_token(&self, name: &str) -> (i64, String) {
        let id = self.user(name).await;
        let t = self.token(id, ALL_SCOPES).await;
        (id, t)
    }

    /// An organization owned by `owner_id` (who lands in its `owners` team).
    pub async fn org(&self, name: &str, owner_id: i64) -> i64 {
        self.auth
            .namespaces()
            .create_organization(name, None, owner_id)
            .await
            .expect("create org")
    }

    /// A repository created by `creator` (or with no creator permission when None).
    pub async fn repo(
        &self,
        namespace: &str,
        name: &str,
        public: bool,
        creator: Option<i64>,
    ) -> i64 {
        let identity = match creator {
            Some(id) => {
                let row = self
                    .tdb
                    .db()
                    .account_by_id(id)
                    .await
                    .expect("db")
                    .expect("creator exists");
                Some(Identity::User {
                    id,
                    username: row.username,
                    uuid: row.uuid.unwrap_or_default(),
                })
            }
            None => None,
        };
        quayside_testkit::accounts::repository(
            &self.auth,
            namespace,
            name,
            public,
            identity.as_ref(),
        )
        .await
        .expect("create repository")
    }

    pub async fn grant(&self, repo_id: i64, user_id: i64, role: Role) {
        self.auth
            .set_repo_permission(repo_id, user_id, role)
            .await
            .expect("grant");
    }

    /// `logentry3` kinds written so far, oldest first.
    pub async fn log_kinds(&self) -> Vec<String> {
        let mut rows = self
            .tdb
            .db()
            .log_entries(&quayside_meta::logs::LogFilter::default(), 10_000)
            .await
            .expect("logs");
        rows.reverse();
        rows.into_iter().map(|r| r.kind).collect()
    }
}

/// Asserts the problem-JSON error shape of Quay's API exceptions.
pub fn assert_problem(resp: &Resp, status: u16, error_type: &str, detail: &str) {
    assert_eq!(resp.status.as_u16(), status, "{resp:?}");
    let j = &resp.json;
    assert_eq!(j["error_type"], error_type, "{resp:?}");
    assert_eq!(j["title"], error_type, "{resp:?}");
    assert_eq!(j["status"], status, "{resp:?}");
    assert_eq!(j["detail"], detail, "{resp:?}");
    assert_eq!(j["error_message"], detail, "{resp:?}");
    assert_eq!(
        j["type"],
        format!("https://{SERVER_HOSTNAME}/api/v1/error/{error_type}"),
        "{resp:?}"
    );
}

/// Asserts a `{"message": ...}` error.
pub fn assert_message(resp: &Resp, status: u16, message: &str) {
    assert_eq!(resp.status.as_u16(), status, "{resp:?}");
    assert_eq!(resp.json["message"], message, "{resp:?}");
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}
