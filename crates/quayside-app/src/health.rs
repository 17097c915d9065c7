//! Quay's health endpoints.
//!
//! Shape (as Quay): `{"data": {"services": {name: bool}}, "status_code": 200|503}`
//! with the HTTP status equal to `status_code`.
//!
//! - `/health/instance` (and `/health`): this instance: `registry_gunicorn` and
//!   `web_gunicorn` (our own listener answers its internal pings), `service_key`
//!   (this instance's key is in the database, approved, unexpired), `disk_space`,
//!   `database`, `auth`. Like Quay's default `LocalHealthCheck`, Redis and
//!   storage are left to the end-to-end check.
//! - `/health/endtoend` (and `/status`): `database`, `redis` (when configured),
//!   `storage` (write and read back the `_verify` probe in every location; only a
//!   preferred one failing is unhealthy, another is a warning), `auth`.
//! - `/health/warning`: `disk_space_warning`.
//!
//! Every entry runs a real check with a time limit; none is hard-coded.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Result of one service check: healthy or not, plus a note for logs.
#[derive(Clone, Debug)]
pub struct ServiceStatus {
    pub healthy: bool,
    pub message: Option<String>,
}

impl ServiceStatus {
    fn ok() -> Self {
        ServiceStatus {
            healthy: true,
            message: None,
        }
    }
    fn ok_with(msg: impl Into<String>) -> Self {
        ServiceStatus {
            healthy: true,
            message: Some(msg.into()),
        }
    }
    fn fail(msg: impl Into<String>) -> Self {
        ServiceStatus {
            healthy: false,
            message: Some(msg.into()),
        }
    }
}

async fn timed<F>(what: &str, fut: F) -> ServiceStatus
where
    F: std::future::Future<Output = ServiceStatus>,
{
    match tokio::time::timeout(CHECK_TIMEOUT, fut).await {
        Ok(s) => s,
        Err(_) => ServiceStatus::fail(format!("{what} check timed out after {CHECK_TIMEOUT:?}")),
    }
}

pub async fn check_database(state: &AppState) -> ServiceStatus {
    timed("database", async {
        match state.db.ping().await {
            Ok(()) => ServiceStatus::ok(),
            Err(e) => ServiceStatus::fail(format!("database check failed: {e}")),
        }
    })
    .await
}

/// The Database authentication backend is healthy when its table answers.
pub async fn check_auth(state: &AppState) -> ServiceStatus {
    timed("auth", async {
        match state.db.count_users().await {
            Ok(_) => ServiceStatus::ok(),
            Err(e) => ServiceStatus::fail(format!("authentication backend check failed: {e}")),
        }
    })
    .await
}

/// This instance's service key is in the database, approved and unexpired
/// (Quay's `service_key` check: a key that vanished or expired fails).
pub async fn check_service_key(state: &AppState) -> ServiceStatus {
    let auth = &state.v2.auth;
    let kid = auth.instance_kid().to_string();
    timed("service key", async {
        match state.db.service_key(&kid).await {
            Ok(Some(row)) => {
                let now = chrono::Utc::now().naive_utc();
                if row.approval_id.is_none() {
                    ServiceStatus::fail(format!("instance service key {kid} is not approved"))
                } else if row.expiration_date.is_some_and(|e| e <= now) {
                    ServiceStatus::fail(format!("instance service key {kid} has expired"))
                } else {
                    ServiceStatus::ok()
                }
            }
            Ok(None) => {
                ServiceStatus::fail(format!("Could not find valid instance service key {kid}"))
            }
            // The database check reports a database that is down (as Quay does).
            Err(e) => ServiceStatus::ok_with(format!(
                "Failed to get instance key due to a database issue; skipping check: {e}"
            )),
        }
    })
    .await
}

pub async fn check_redis(state: &AppState) -> Option<ServiceStatus> {
    let redis = state.redis.as_ref()?;
    Some(
        timed("redis", async {
            match redis.check().await {
                Ok(()) => ServiceStatus::ok(),
                Err(e) => ServiceStatus::fail(format!("redis check failed: {e}")),
            }
        })
        .await,
    )
}

pub async fn check_storage(state: &AppState) -> ServiceStatus {
    if state.settings.live.read_only() {
        return ServiceStatus::ok_with("Storage check disabled for readonly mode");
    }
    timed("storage", async {
        // As Quay: every configured location is probed; a preferred one failing makes the
        // instance unhealthy (so a site whose local storage is down gets drained), another
        // one failing is only reported.
        let preference = state.storage.preference();
        for id in preference {
            if state.storage.engine(id).is_none() {
                return ServiceStatus::fail(format!("storage location {id} is not configured"));
            }
        }
        let mut warnings = Vec::new();
        for engine in state.storage.engines() {
            if let Err(e) = engine.validate().await {
                if preference.iter().any(|p| p == engine.id()) {
                    return ServiceStatus::fail(format!("Storage check failed with exception {e}"));
                }
                warnings.push(format!(
                    "storage location {} failed its check: {e}",
                    engine.id()
                ));
            }
        }
        if warnings.is_empty() {
            ServiceStatus::ok()
        } else {
            ServiceStatus::ok_with(warnings.join("; "))
        }
    })
    .await
}

/// Our own listener answers an internal ping over loopback, the way Quay's
/// instance check pings its gunicorn workers.
pub async fn check_self_ping(state: &AppState, path: &str) -> ServiceStatus {
    let Some(addr) = state.local_addr() else {
        return ServiceStatus::fail("the HTTP listener is not bound yet");
    };
    let url = format!("http://{addr}{path}");
    timed("worker ping", async {
        match state.http.get(&url).send().await {
            Ok(resp) if resp.status() == reqwest::StatusCode::OK => ServiceStatus::ok(),
            Ok(resp) => ServiceStatus::fail(format!(
                "Got non-200 response for worker: {}",
                resp.status().as_u16()
            )),
            Err(e) => {
                ServiceStatus::fail(format!("Exception when checking worker health: {url}: {e}"))
            }
        }
    })
    .await
}

/// Free-space fraction of the data directory's and the temp directory's volumes.
pub fn check_disk(dirs: &[&Path], threshold: f64) -> ServiceStatus {
    for dir in dirs {
        match free_fraction(dir) {
            Ok(free) if free >= threshold => {}
            Ok(free) => {
                return ServiceStatus::fail(format!(
                    "Disk space has gone below threshold on {}: {:.1}% used",
                    dir.display(),
                    (1.0 - free) * 100.0
                ))
            }
            Err(e) => {
                return ServiceStatus::fail(format!(
                    "cannot read disk usage of {}: {e}",
                    dir.display()
                ))
            }
        }
    }
    ServiceStatus::ok()
}

fn free_fraction(dir: &Path) -> std::io::Result<f64> {
    let st = rustix::fs::statvfs(dir)?;
    if st.f_blocks == 0 {
        return Ok(1.0);
    }
    Ok(st.f_bavail as f64 / st.f_blocks as f64)
}

fn disk_dirs(state: &AppState) -> Vec<std::path::PathBuf> {
    vec![state.settings.work_dir.clone(), std::env::temp_dir()]
}

fn respond(services: BTreeMap<&'static str, ServiceStatus>) -> Response {
    let healthy = services.values().all(|s| s.healthy);
    for (name, s) in services.iter().filter(|(_, s)| !s.healthy) {
        tracing::warn!(
            service = name,
            reason = s.message.as_deref().unwrap_or(""),
            "failed health check"
        );
    }
    for (name, s) in services.iter().filter(|(_, s)| s.healthy) {
        if let Some(note) = &s.message {
            tracing::warn!(service = name, note = note.as_str(), "health check warning");
        }
    }
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let bools: BTreeMap<&str, bool> = services.iter().map(|(k, v)| (*k, v.healthy)).collect();
    let body = json!({"data": {"services": bools}, "status_code": code.as_u16()});
    (
        code,
        [(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")],
        Json(body),
    )
        .into_response()
}

pub async fn instance(State(state): State<AppState>) -> Response {
    let dirs = disk_dirs(&state);
    let dir_refs: Vec<&Path> = dirs.iter().map(|p| p.as_path()).collect();
    let (registry, web, database, auth, service_key) = tokio::join!(
        check_self_ping(&state, "/v1/_internal_ping"),
        check_self_ping(&state, "/_internal_ping"),
        check_database(&state),
        check_auth(&state),
        check_service_key(&state),
    );
    let mut services = BTreeMap::new();
    services.insert("registry_gunicorn", registry);
    services.insert("web_gunicorn", web);
    services.insert(
        "disk_space",
        check_disk(&dir_refs, state.settings.disk_threshold),
    );
    services.insert("database", database);
    services.insert("auth", auth);
    services.insert("service_key", service_key);
    respond(services)
}

pub async fn endtoend(State(state): State<AppState>) -> Response {
    let (database, redis, storage, auth) = tokio::join!(
        check_database(&state),
        check_redis(&state),
        check_storage(&state),
        check_auth(&state),
    );
    let mut services = BTreeMap::new();
    services.insert("database", database);
    if let Some(redis) = redis {
        services.insert("redis", redis);
    }
    services.insert("storage", storage);
    services.insert("auth", auth);
    respond(services)
}

pub async fn warning(State(state): State<AppState>) -> Response {
    let dirs = disk_dirs(&state);
    let dir_refs: Vec<&Path> = dirs.iter().map(|p| p.as_path()).collect();
    let mut services = BTreeMap::new();
    services.insert(
        "disk_space_warning",
        check_disk(&dir_refs, state.settings.disk_warning_threshold),
    );
    respond(services)
}

/// `/health/dbrevision` (only with `FEATURE_BILLING`, as in Quay): the database's
/// `alembic_version` against the revision this binary serves; 200 when they match, else 400.
pub async fn dbrevision(State(state): State<AppState>) -> Response {
    let found = match state.db.schema_state().await {
        Ok(quayside_meta::SchemaState::AtHead) => quayside_meta::ALEMBIC_REVISION.to_string(),
        Ok(quayside_meta::SchemaState::OtherRevision(r)) => r,
        Ok(_) => String::new(),
        Err(e) => {
            tracing::warn!(error = %e, "dbrevision: database unreachable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "database unavailable"})),
            )
                .into_response();
        }
    };
    let code = if found == quayside_meta::ALEMBIC_REVISION {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        code,
        Json(json!({"data": {
            "db_revision": found,
            "local_revision": quayside_meta::ALEMBIC_REVISION,
        }})),
    )
        .into_response()
}

/// `/_internal_ping` and `/v1/_internal_ping`: Quay answers `true`.
pub async fn internal_ping() -> Response {
    (StatusCode::OK, Json(json!(true))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_check_fails_above_threshold() {
        let tmp = std::env::temp_dir();
        assert!(check_disk(&[tmp.as_path()], 0.0).healthy);
        let s = check_disk(&[tmp.as_path()], 1.01);
        assert!(!s.healthy);
        assert!(s.message.unwrap_or_default().contains("below threshold"));
        let s = check_disk(&[Path::new("/definitely/not/here")], 0.0);
        assert!(!s.healthy, "an unreadable volume is unhealthy");
    }
}
