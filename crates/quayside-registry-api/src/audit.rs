//! Audit logs of registry actions (Quay `util/audit.py:track_and_log`): `pull_repo`,
//! `push_repo` and `delete_tag` rows in `logentry3`, with Quay's metadata — `repo`,
//! `namespace`, `user-agent`, the action's `tag` / `manifest_digest`, and the public
//! metadata of who acted (`username`, `is_robot` for robots, the OAuth token and its
//! application, the app-specific token).
//!
//! Quay writes the row inside the request. quayside hands it to a background writer
//! (bounded queue, batched inserts), so a pull never waits for an audit insert; if the
//! queue is full the row is dropped with a warning and counted. This is the one place
//! quayside trades Quay's strictness (`ALLOW_PULLS_WITHOUT_STRICT_LOGGING: false` fails a
//! pull whose log cannot be written) for latency; see docs/REGISTRY.md.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::header;
use axum::http::request::Parts;
use quayside_auth::Grant;
use quayside_domain::RepoRef;
use quayside_meta::logs::{LogKinds, NewLogEntry};
use quayside_meta::Db;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// Rows waiting to be written at most.
const QUEUE: usize = 4096;
/// Rows written per batch at most.
const BATCH: usize = 256;

/// One action to record.
#[derive(Debug)]
struct Pending {
    kind: &'static str,
    namespace_id: i64,
    repository_id: i64,
    /// The acting account's username (user or robot); `None` for anonymous pulls.
    performer: Option<String>,
    ip: Option<String>,
    metadata: Map<String, Value>,
    /// OAuth token uuid / app token uuid to resolve into Quay's metadata keys.
    oauth_token: Option<String>,
    app_token: Option<String>,
    at: chrono::NaiveDateTime,
}

/// Handle to the background writer; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: Option<mpsc::Sender<Pending>>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("enabled", &self.tx.is_some())
            .finish()
    }
}

impl AuditLog {
    /// Starts the writer on `db` (needs a Tokio runtime).
    pub fn start(db: Db) -> AuditLog {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, rx));
        AuditLog {
            tx: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A log that records nothing (tools and tests that do not audit).
    pub fn disabled() -> AuditLog {
        AuditLog {
            tx: None,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Rows dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records `kind` on `repo` by the holder of `grant` (`None`: anonymous), with the
    /// action's own metadata (`tag`, `manifest_digest`).
    pub fn record(
        &self,
        kind: &'static str,
        repo: &RepoRef,
        grant: Option<&Grant>,
        req: &Parts,
        extra: &[(&str, Value)],
    ) {
        let Some(tx) = &self.tx else { return };
        let mut metadata = Map::new();
        metadata.insert("repo".into(), Value::from(repo.name.as_str()));
        metadata.insert("namespace".into(), Value::from(repo.namespace.as_str()));
        let agent = req
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        metadata.insert("user-agent".into(), Value::from(agent));
        for (k, v) in extra {
            metadata.insert((*k).to_owned(), v.clone());
        }
        let mut performer = None;
        let (mut oauth_token, mut app_token) = (None, None);
        if let Some(g) = grant.filter(|g| !g.is_anonymous()) {
            let ctx = &g.context;
            let user = ctx
                .get("user")
                .and_then(Value::as_str)
                .unwrap_or(g.subject.as_str())
                .to_owned();
            let reference = ctx
                .get("entity_reference")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match ctx.get("entity_kind").and_then(Value::as_str) {
                Some("robot") => {
                    metadata.insert("is_robot".into(), Value::from(true));
                }
                Some("oauthtoken") => oauth_token = reference,
                Some("appspecifictoken") => app_token = reference,
                _ => {}
            }
            metadata.insert("username".into(), Value::from(user.as_str()));
            performer = Some(user);
        }
        let ip = client_ip(req);
        let pending = Pending {
            kind,
            namespace_id: repo.namespace_id,
            repository_id: repo.id,
            performer,
            ip,
            metadata,
            oauth_token,
            app_token,
            at: chrono::Utc::now().naive_utc(),
        };
        if tx.try_send(pending).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One warning per thousand drops keeps a saturated writer from flooding logs.
            if n % 1000 == 1 {
                tracing::warn!(kind, dropped = n, "audit log queue full; rows dropped");
            }
        }
    }
}

/// The client's address: the first `X-Forwarded-For` hop, else the connection's peer.
pub(crate) fn client_ip(req: &Parts) -> Option<String> {
    req.headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            req.extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
}

/// A row with its performer resolved and metadata complete.
struct Ready {
    kind: &'static str,
    namespace_id: i64,
    repository_id: i64,
    performer_id: Option<i64>,
    ip: Option<String>,
    metadata_json: String,
    at: chrono::NaiveDateTime,
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Pending>) {
    let kinds = LogKinds::default();
    let mut accounts: HashMap<String, Option<i64>> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut ready = Vec::with_capacity(batch.len());
        for p in batch.drain(..) {
            ready.push(prepare(&db, &mut accounts, p).await);
        }
        let entries: Vec<NewLogEntry<'_>> = ready
            .iter()
            .map(|r| NewLogEntry {
                kind: r.kind,
                account_id: r.namespace_id,
                performer_id: r.performer_id,
                repository_id: Some(r.repository_id),
                ip: r.ip.as_deref(),
                metadata_json: &r.metadata_json,
                datetime: r.at,
            })
            .collect();
        if let Err(e) = db.insert_log_entries(&kinds, &entries).await {
            tracing::warn!(error = %e, rows = entries.len(), "audit log rows not written");
        }
    }
}

async fn prepare(db: &Db, accounts: &mut HashMap<String, Option<i64>>, mut p: Pending) -> Ready {
    let performer_id = match &p.performer {
        None => None,
        Some(name) => {
            if accounts.len() > 10_000 {
                accounts.clear();
            }
            match accounts.get(name) {
                Some(id) => *id,
                None => {
                    let id = match db.account_by_username(name).await {
                        Ok(a) => a.map(|a| a.id),
                        Err(e) => {
                            tracing::warn!(error = %e, "audit log: performer lookup failed");
                            None
                        }
                    };
                    accounts.insert(name.clone(), id);
                    id
                }
            }
        }
    };
    if let Some(uuid) = &p.oauth_token {
        if let Ok(Some(app)) = db.oauth_token_application(uuid).await {
            p.metadata
                .insert("oauth_token_id".into(), Value::from(app.token_id));
            p.metadata.insert(
                "oauth_token_application_id".into(),
                Value::from(app.client_id),
            );
            p.metadata
                .insert("oauth_token_application".into(), Value::from(app.name));
        }
    }
    if let Some(uuid) = &p.app_token {
        p.metadata
            .insert("app_specific_token".into(), Value::from(uuid.as_str()));
    }
    Ready {
        kind: p.kind,
        namespace_id: p.namespace_id,
        repository_id: p.repository_id,
        performer_id,
        ip: p.ip,
        metadata_json: Value::Object(p.metadata).to_string(),
        at: p.at,
    }
}
