//! quayside-workers: Quay's background workers that keep the registry's data tidy.
//!
//! * [`gc::GcWorker`] — `gcworker`: time-machine rule, unreferenced manifests, labels, blobs
//!   and objects ([`gc`]).
//! * [`purge::RepositoryGcWorker`] / [`purge::NamespaceGcWorker`] — consume the
//!   `repositorygc` / `namespacegc` queues (`quayside_meta::queue`) written when a repository
//!   or namespace is deleted and purge it ([`purge`]).
//! * [`purge::BlobUploadCleanupWorker`] — stale `blobupload` rows and their upload objects.
//! * [`replication::StorageReplicationWorker`] — `storagereplication`: copies blobs into every
//!   required location (`FEATURE_STORAGE_REPLICATION`).
//! * [`quota::QuotaTotalWorker`] — `quotatotalworker`: computes missing namespace and
//!   repository size totals (`FEATURE_QUOTA_MANAGEMENT`).
//!
//! Each is a type implementing [`Worker`] and listed in [`ALL`].
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
pub mod quota;
pub mod replication;

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
    /// A replica could not be made (the source broke off, or the copy did not verify).
    #[error("{0}")]
    Copy(String),
}

/// One background worker: its names, whether and how often it runs, and one run. A new
/// worker is one module with a type implementing this, listed in [`ALL`]; the framework
/// ([`run_once`], [`run_forever`], [`spawn_all`]) gives it read-only idling, the
/// cross-instance lease, metrics and logs.
pub trait Worker: Send + Sync {
    /// Command-line name (`quayside worker <name>`).
    fn name(&self) -> &'static str;
    /// Quay's worker (supervisord program) name, used in metrics labels and lock names.
    fn quay_name(&self) -> &'static str;
    /// Whether the configuration switches it on.
    fn enabled(&self, settings: &WorkerSettings) -> bool;
    /// Period between runs.
    fn period(&self, settings: &WorkerSettings) -> Duration;
    /// Delay before the first run.
    fn initial_delay(&self, settings: &WorkerSettings) -> Duration {
        settings.initial_delay
    }
    /// Whether `DISABLE_PUSHES` idles it too (as Quay's GC does), besides read-only mode.
    fn idles_when_pushes_disabled(&self) -> bool {
        false
    }
    /// One run, with the lease held.
    fn run<'a>(&'a self, ctx: &'a WorkerContext) -> RunFuture<'a>;
}

/// What [`Worker::run`] returns.
pub type RunFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), WorkerError>> + Send + 'a>>;

/// Every worker quayside runs.
pub static ALL: [&dyn Worker; 6] = [
    &gc::GcWorker,
    &purge::RepositoryGcWorker,
    &purge::NamespaceGcWorker,
    &purge::BlobUploadCleanupWorker,
    &replication::StorageReplicationWorker,
    &quota::QuotaTotalWorker,
];

/// The worker named `name` ([`Worker::name`] or [`Worker::quay_name`]).
pub fn find(name: &str) -> Option<&'static dyn Worker> {
    ALL.iter()
        .copied()
        .find(|w| w.name() == name || w.quay_name() == name)
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
    /// `CLEAN_BLOB_UPLOAD_FOLDER` (true): also delete every object under `uploads/` older
    /// than the threshold (what a crashed push or copy left; rows that old are gone too).
    pub clean_upload_folder: bool,
    /// `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`.
    pub immutable_can_expire: bool,
    /// Delay before the first run (Quay: 5 s).
    pub initial_delay: Duration,
    /// Lease length of the cross-instance lock.
    pub lease: Duration,
    /// `FEATURE_STORAGE_REPLICATION`.
    pub storage_replication: bool,
    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`: where every blob must be.
    pub default_locations: Vec<String>,
    /// Poll period of the replication queue (Quay: 10 s).
    pub replication_poll: Duration,
    /// `FEATURE_QUOTA_MANAGEMENT`.
    pub quota_management: bool,
    /// `QUOTA_BACKFILL` (true).
    pub quota_backfill: bool,
    /// `QUOTA_TOTAL_DELAY_SECONDS` (1800): before the first backfill.
    pub quota_total_delay: Duration,
    /// `QUOTA_BACKFILL_POLL_PERIOD` (15 s).
    pub quota_backfill_poll: Duration,
    /// `QUOTA_BACKFILL_BATCH_SIZE` (100).
    pub quota_backfill_batch: u64,
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
            clean_upload_folder: config
                .get("CLEAN_BLOB_UPLOAD_FOLDER")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
            immutable_can_expire: config.feature("IMMUTABLE_TAGS_CAN_EXPIRE"),
            initial_delay: Duration::from_secs(5),
            lease: Duration::from_secs(15 * 60),
            storage_replication: config.feature("STORAGE_REPLICATION"),
            default_locations: config.distributed_storage_default_locations.clone(),
            replication_poll: Duration::from_secs(10),
            quota_management: config.feature("QUOTA_MANAGEMENT"),
            quota_backfill: config.quota_backfill,
            quota_total_delay: Duration::from_secs(config.quota_total_delay_seconds),
            quota_backfill_poll: Duration::from_secs(config.quota_backfill_poll_period.max(1)),
            quota_backfill_batch: config.quota_backfill_batch_size.max(1),
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
pub async fn run_once(ctx: &WorkerContext, worker: &dyn Worker) -> Result<RunOutcome, WorkerError> {
    let name = worker.quay_name();
    if ctx.live.read_only() || (worker.idles_when_pushes_disabled() && ctx.live.disable_pushes()) {
        ctx.metrics.workers().run(name, RunOutcome::Idle.label());
        return Ok(RunOutcome::Idle);
    }
    let lease = LeaseLock::new(ctx.db.clone(), name, &ctx.instance, ctx.settings.lease);
    if !lease.acquire().await? {
        tracing::debug!(worker = name, "another instance holds the worker lease");
        ctx.metrics.workers().run(name, RunOutcome::Locked.label());
        return Ok(RunOutcome::Locked);
    }
    let result = worker.run(ctx).await;
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

/// Runs `worker` forever at its period (first run after `initial_delay`).
pub async fn run_forever(ctx: WorkerContext, worker: &'static dyn Worker) {
    tokio::time::sleep(worker.initial_delay(&ctx.settings)).await;
    let period = worker.period(&ctx.settings);
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
    ALL.iter()
        .copied()
        .filter(|w| w.enabled(&ctx.settings))
        .map(|w| {
            tracing::info!(worker = w.quay_name(), "starting worker");
            tokio::spawn(run_forever(ctx.clone(), w))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worker_is_found_by_either_name_and_names_are_unique() {
        let mut names = std::collections::BTreeSet::new();
        for w in ALL {
            // A worker's two names may coincide (Quay's `storagereplication` program is named
            // like its command); no name may belong to two workers.
            assert!(names.insert(w.name()), "{}", w.name());
            if w.quay_name() != w.name() {
                assert!(names.insert(w.quay_name()), "{}", w.quay_name());
            }
            for n in [w.name(), w.quay_name()] {
                let found = find(n).expect("found");
                assert_eq!(found.quay_name(), w.quay_name());
            }
        }
        assert_eq!(
            ALL.iter().map(|w| w.quay_name()).collect::<Vec<_>>(),
            [
                "gcworker",
                "repositorygcworker",
                "namespacegcworker",
                "blobuploadcleanupworker",
                "storagereplication",
                "quotatotalworker"
            ]
        );
        assert!(find("nope").is_none());
        // Only GC idles when pushes are disabled (Quay's gcworker checks DISABLE_PUSHES).
        let idle: Vec<_> = ALL
            .iter()
            .filter(|w| w.idles_when_pushes_disabled())
            .map(|w| w.name())
            .collect();
        assert_eq!(idle, ["gc"]);
    }
}
