//! The quayside HTTP application: shared state, the router, the server loop
//! with graceful shutdown, the start-up checks that need the network, and the
//! embedded default (`bootstrap`).
//!
//! Nothing below this crate knows about HTTP; the binary only parses the
//! command line and calls in here.

pub mod assemble;
pub mod bootstrap;
pub mod checks;
pub mod health;
pub mod listen;
pub mod redis_client;
pub mod reload;
pub mod server;
pub mod stats;
pub mod tls;
pub mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use quayside_meta::Db;
use quayside_storage::DistributedStorage;

pub use redis_client::RedisTarget;

/// What the HTTP layer needs from the configuration, resolved once at start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `SERVER_HOSTNAME`: the public host\[:port\] clients use.
    pub server_hostname: String,
    /// `REGISTRY_STATE` and `DISABLE_PUSHES`, switchable by a config reload.
    pub live: Arc<quayside_config::LiveSettings>,
    /// Directory whose volume the disk-space check watches.
    pub work_dir: PathBuf,
    /// `DISKSPACE_HEALTH_THRESHOLD` (fraction of free space).
    pub disk_threshold: f64,
    /// `DISKSPACE_HEALTH_WARNING_THRESHOLD`.
    pub disk_warning_threshold: f64,
    /// `FEATURE_BILLING`: Quay shows `/health/dbrevision` only then.
    pub billing: bool,
}

/// Shared, cheaply cloned state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub storage: Arc<DistributedStorage>,
    /// `BUILDLOGS_REDIS`, when configured (the embedded default has none).
    pub redis: Option<RedisTarget>,
    /// Outbound HTTP (internal pings now; Clair, upstreams later).
    pub http: reqwest::Client,
    /// The `/v2` registry surface.
    pub v2: quayside_registry_api::V2State,
    /// The `/api/v1` surface.
    pub quay_api: quayside_quay_api::QuayApiState,
    local_addr: Arc<OnceLock<SocketAddr>>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Db,
        storage: Arc<DistributedStorage>,
        redis: Option<RedisTarget>,
        v2: quayside_registry_api::V2State,
        quay_api: quayside_quay_api::QuayApiState,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        AppState {
            settings: Arc::new(settings),
            db,
            storage,
            redis,
            http,
            v2,
            quay_api,
            local_addr: Arc::new(OnceLock::new()),
        }
    }

    /// Replaces the outbound HTTP client (e.g. with [`tls::outbound_client`], which
    /// trusts `extra_ca_certs/`).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The address the listener is bound to, once serving.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr.get().copied()
    }
}

/// The full router.
pub fn router(state: AppState) -> axum::Router {
    use axum::routing::get;
    let v2 = quayside_registry_api::router(state.v2.clone());
    let api = quayside_quay_api::router(state.quay_api.clone());
    let metrics = state.v2.metrics.clone();
    let mut health = axum::Router::new();
    if state.settings.billing {
        // Quay registers it only with FEATURE_BILLING.
        health = health.route("/health/dbrevision", get(health::dbrevision));
    }
    axum::Router::new()
        .merge(health)
        .route("/health", get(health::instance))
        .route("/health/instance", get(health::instance))
        .route("/health/endtoend", get(health::endtoend))
        .route("/status", get(health::endtoend))
        .route("/health/warning", get(health::warning))
        .route("/_internal_ping", get(health::internal_ping))
        .route("/v1/_internal_ping", get(health::internal_ping))
        .with_state(state)
        .merge(v2)
        .merge(api)
        .layer(metrics.http_layer())
}
