//! quayside-workers: Quay's background workers that keep the registry's data tidy.
//!
//! * [`Worker::Gc`] — `gcworker`: time-machine rule, unreferenced manifests, labels, blobs
//!   and objects ([`gc`]).
//! * [`Worker::RepositoryGc`] / [`Worker::NamespaceGc`] — consume the `repositorygc` /
//!   `namespacegc` queues written when a repository or namespace is deleted and purge it
//!   ([`purge`]).
//! * [`Worker::BlobUploadCleanup`] — stale `blobupload` rows and their upload objects.
//!
//! Framework: each worker is an interval job (first run after a short delay, then every
//! period; one run at a time). It idles while `REGISTRY_STATE` is `readonly` (read live from
//! [`LiveSettings`], so a SIGHUP reload switches it) and, for GC, while `DISABLE_PUSHES` is
//! set, as Quay's workers do. Every run takes a cross-instance lease ([`lock`]) so that
//! several quayside instances sharing one database never run the same worker at once. The
//! lease is kept in the database (quayside's own `quayside_worker_lock` table), not in
//! Redis: the database is the one thing every instance is guaranteed to share (Redis is
//! optional in quayside's embedded default), and every deletion is re-checked in a database
//! transaction anyway, so the lease only prevents duplicated work.
//!
//! Each run logs one structured line (`worker`, `outcome`, counts) and feeds Quay's metrics
//! (`quay_gc_*`, `quay_worker_operation_*`) plus quayside's (`quayside_gc_storage_bytes_freed`,
//! `quayside_worker_runs{worker,outcome}`).

pub mod gc;
pub mod lock;
pub mod purge;

use std::sync::Arc;
use std::time::Duration;

use quayside_config::{Config, LiveSettings};
use quayside_meta::{Db, MetaError};
use quayside_metrics::Metrics;
use quayside_storage::{DistributedStorage, StorageError};

pub use lock::LeaseLock;

/// Anything a worker run can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The workers quayside runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Worker {
    Gc,
    RepositoryGc,
    NamespaceGc,
    BlobUploadCleanup,
}

impl Worker {
    /// Every worker.
    pub const ALL: [Worker; 4] = [
        Worker::Gc,
        Worker::RepositoryGc,
        Worker::NamespaceGc,
        Worker::BlobUploadCleanup,
    ];

    /// Command-line name (`quayside worker <name>`).
    pub fn name(self) -> &'static str {
        match self {
            Worker::Gc => "gc",
            Worker::RepositoryGc => "repositorygc",
            Worker::NamespaceGc => "namespacegc",
            Worker::BlobUploadCleanup => "blobuploadcleanup",
        }
    }

    /// Quay's worker (supervisord program) name, used in metrics labels and lock names.
    pub fn quay_name(self) -> &'static str {
        match self {
            Worker::Gc => "gcworker",
            Worker::RepositoryGc => "repositorygcworker",
            Worker::NamespaceGc => "namespacegcworker",
            Worker::BlobUploadCleanup => "blobuploadcleanupworker",
        }
    }

    /// Parses [`Worker::name`] (or the Quay name).
    pub fn parse(s: &str) -> Option<Worker> {
        Worker::ALL
            .into_iter()
            .find(|w| w.name() == s || w.quay_name() == s)
    }
}

/// Worker settings from Quay's configuration.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `FEATURE_GARBAGE_COLLECTION`.
    pub gc_enabled: bool,
    /// `GARBAGE_COLLECTION_FREQUENCY` (30 s).
    pub gc_frequency: Duration,
    /// `FEATURE_REPOSITORY_GARBAGE_COLLECTION`.
    pub repository_gc_enabled: bool,
    /// `FEATURE_NAMESPACE_GARBAGE_COLLECTION`.
    pub namespace_gc_enabled: bool,
    /// `REPOSITORY_GC_QUEUE_NAME` (`repositorygc`).
    pub repository_gc_queue: String,
    /// `NAMESPACE_GC_QUEUE_NAME` (`namespacegc`).
    pub namespace_gc_queue: String,
    /// Poll period of the GC queues (Quay: 60 s).
    pub queue_poll: Duration,
    /// `NAMESPACE_GC_GRACE_PERIOD_SECONDS` (0).
    pub namespace_gc_grace_s: i64,
    /// `BLOBUPLOAD_DELETION_DATE_THRESHOLD` in minutes (2880 = 2 days).
    pub blobupload_threshold: Duration,
    /// `BLOBUPLOAD_CLEANUP_FREQUENCY` (3600 s).
    pub blobupload_frequency: Duration,
    /// `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`.
    pub immutable_can_expire: bool,
    /// Delay before the first run (Quay: 5 s).
    pub initial_delay: Duration,
    /// Lease length of the cross-instance lock.
    pub lease: Duration,
}

fn raw_u64(config: &Config, key: &str, default: u64) -> u64 {
    config
        .get(key)
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(default)
}

fn raw_str(config: &Config, key: &str, default: &str) -> String {
    config
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
        .to_string()
}

impl WorkerSettings {
    /// Reads Quay's keys (defaults as Quay's `config.py`).
    pub fn from_config(config: &Config) -> WorkerSettings {
        WorkerSettings {
            gc_enabled: config.feature("GARBAGE_COLLECTION"),
            gc_frequency: Duration::from_secs(config.garbage_collection_frequency.max(1)),
            repository_gc_enabled: config.feature("REPOSITORY_GARBAGE_COLLECTION"),
            namespace_gc_enabled: config.feature("NAMESPACE_GARBAGE_COLLECTION"),
            repository_gc_queue: raw_str(config, "REPOSITORY_GC_QUEUE_NAME", "repositorygc"),
            namespace_gc_queue: raw_str(config, "NAMESPACE_GC_QUEUE_NAME", "namespacegc"),
            queue_poll: Duration::from_secs(60),
            namespace_gc_grace_s: i64::try_from(raw_u64(
                config,
                "NAMESPACE_GC_GRACE_PERIOD_SECONDS",
                0,
            ))
            .unwrap_or(0),
            blobupload_threshold: Duration::from_secs(
                config.blobupload_deletion_date_threshold.saturating_mul(60),
            ),
            blobupload_frequency: Duration::from_secs(
                raw_u64(config, "BLOBUPLOAD_CLEANUP_FREQUENCY", 3600).max(1),
            ),
            immutable_can_expire: config.feature("IMMUTABLE_TAGS_CAN_EXPIRE"),
            initial_delay: Duration::from_secs(5),
            lease: Duration::from_secs(15 * 60),
        }
    }

    /// Whether `worker` is switched on.
    pub fn enabled(&self, worker: Worker) -> bool {
        match worker {
            Worker::Gc => self.gc_enabled,
            Worker::RepositoryGc => self.repository_gc_enabled,
            Worker::NamespaceGc => self.namespace_gc_enabled,
            Worker::BlobUploadCleanup => true,
        }
    }

    /// Period between runs of `worker`.
    pub fn period(&self, worker: Worker) -> Duration {
        match worker {
            Worker::Gc => self.gc_frequency,
            Worker::RepositoryGc | Worker::NamespaceGc => self.queue_poll,
            Worker::BlobUploadCleanup => self.blobupload_frequency,
        }
    }
}

/// What every worker needs.
#[derive(Clone)]
pub struct WorkerContext {
    pub db: Db,
    pub storage: Arc<DistributedStorage>,
    pub metrics: Metrics,
    pub live: Arc<LiveSettings>,
    pub settings: Arc<WorkerSettings>,
    /// This instance's lease holder id.
    pub instance: String,
}

impl WorkerContext {
    pub fn new(
        db: Db,
        storage: Arc<DistributedStorage>,
        metrics: Metrics,
        live: Arc<LiveSettings>,
        settings: WorkerSettings,
    ) -> WorkerContext {
        WorkerContext {
            db,
            storage,
            metrics,
            live,
            settings: Arc::new(settings),
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// How one run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Did its work (possibly nothing to do).
    Ok,
    /// Skipped: read-only registry (or pushes disabled, for GC).
    Idle,
    /// Skipped: another instance holds the lease.
    Locked,
}

impl RunOutcome {
    fn label(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Idle => "idle",
            RunOutcome::Locked => "locked",
        }
    }
}

/// Runs `worker` once now (honouring read-only mode and the lease).
pub async fn run_once(ctx: &WorkerContext, worker: Worker) -> Result<RunOutcome, WorkerError> {
    let name = worker.quay_name();
    if ctx.live.read_only() || (worker == Worker::Gc && ctx.live.disable_pushes()) {
        ctx.metrics.workers().run(name, RunOutcome::Idle.label());
        return Ok(RunOutcome::Idle);
    }
    let lease = LeaseLock::new(ctx.db.clone(), name, &ctx.instance, ctx.settings.lease);
    if !lease.acquire().await? {
        tracing::debug!(worker = name, "another instance holds the worker lease");
        ctx.metrics.workers().run(name, RunOutcome::Locked.label());
        return Ok(RunOutcome::Locked);
    }
    let result = run_locked(ctx, worker).await;
    if let Err(e) = lease.release().await {
        tracing::warn!(worker = name, error = %e, "could not release the worker lease");
    }
    match &result {
        Ok(()) => ctx.metrics.workers().run(name, RunOutcome::Ok.label()),
        Err(e) => {
            ctx.metrics.workers().run(name, "error");
            tracing::error!(worker = name, error = %e, "worker run failed");
        }
    }
    result.map(|()| RunOutcome::Ok)
}

async fn run_locked(ctx: &WorkerContext, worker: Worker) -> Result<(), WorkerError> {
    let name = worker.quay_name();
    match worker {
        Worker::Gc => {
            let _op = ctx
                .metrics
                .worker_operation(name, "_garbage_collection_repos");
            let clock = gc::GcClock::now(ctx.settings.immutable_can_expire);
            let (_, outcome) = gc::run_pass(&ctx.db, &ctx.storage, &clock).await?;
            purge::record(&ctx.metrics, &outcome);
            ctx.metrics.gc().iteration();
            let r = outcome.report;
            tracing::info!(
                worker = name,
                repositories = r.repositories,
                tags = r.tags,
                manifests = r.manifests,
                labels = r.labels,
                uploaded_blobs = r.uploaded_blobs,
                blobs = r.blobs,
                objects = r.objects,
                bytes = r.bytes,
                "garbage collection pass"
            );
        }
        Worker::RepositoryGc => {
            let _op = ctx.metrics.worker_operation(name, "process_queue_item");
            let mut done = 0u64;
            loop {
                let out = purge::process_repository_queue(
                    &ctx.db,
                    &ctx.storage,
                    &ctx.metrics,
                    &ctx.settings.repository_gc_queue,
                )
                .await?;
                match out {
                    purge::ItemOutcome::Empty | purge::ItemOutcome::Retry => break,
                    purge::ItemOutcome::Done => done += 1,
                }
            }
            tracing::info!(worker = name, items = done, "repository gc queue processed");
        }
        Worker::NamespaceGc => {
            let _op = ctx.metrics.worker_operation(name, "process_queue_item");
            let mut done = 0u64;
            loop {
                let out = purge::process_namespace_queue(
                    &ctx.db,
                    &ctx.storage,
                    &ctx.metrics,
                    &ctx.settings.namespace_gc_queue,
                    ctx.settings.namespace_gc_grace_s,
                )
                .await?;
                match out {
                    purge::ItemOutcome::Empty | purge::ItemOutcome::Retry => break,
                    purge::ItemOutcome::Done => done += 1,
                }
            }
            tracing::info!(worker = name, items = done, "namespace gc queue processed");
        }
        Worker::BlobUploadCleanup => {
            let _op = ctx.metrics.worker_operation(name, "_try_cleanup_uploads");
            let threshold = chrono::Duration::from_std(ctx.settings.blobupload_threshold)
                .unwrap_or_else(|_| chrono::Duration::days(2));
            let before = chrono::Utc::now().naive_utc() - threshold;
            let n =
                purge::cleanup_stale_uploads(&ctx.db, &ctx.storage, &ctx.metrics, before).await?;
            tracing::info!(worker = name, uploads = n, "stale blob uploads cleaned");
        }
    }
    Ok(())
}

/// Runs `worker` forever at its period (first run after `initial_delay`).
pub async fn run_forever(ctx: WorkerContext, worker: Worker) {
    tokio::time::sleep(ctx.settings.initial_delay).await;
    let period = ctx.settings.period(worker);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Errors are logged and counted inside; the next tick tries again.
        let _ = run_once(&ctx, worker).await;
    }
}

/// Spawns every enabled worker on the current runtime.
pub fn spawn_all(ctx: &WorkerContext) -> Vec<tokio::task::JoinHandle<()>> {
    Worker::ALL
        .into_iter()
        .filter(|w| ctx.settings.enabled(*w))
        .map(|w| {
            tracing::info!(worker = w.quay_name(), "starting worker");
            tokio::spawn(run_forever(ctx.clone(), w))
        })
        .collect()
}
