//! The `repositorygc` and `namespacegc` queue workers (Quay's `repositorygcworker` and
//! `namespacegcworker`), and the stale-upload cleanup (`blobuploadcleanupworker`).

use chrono::NaiveDateTime;
use quayside_meta::gc::{GcRepo, StaleUpload};
use quayside_meta::Db;
use quayside_metrics::Metrics;
use quayside_storage::{DistributedStorage, UploadParts};

use crate::gc::{self, GcClock, GcOutcome};
use crate::WorkerError;

/// Removes every trace of a repository (Quay's `purge_repository` with `force`): marks it
/// for deletion, deletes all tags, manifests, upload links and the blobs nothing else
/// links (objects only when unshared), its uploads (rows and objects), then the reference
/// tables and the repository row. Returns false when something was left (retry later).
pub async fn purge_repository(
    db: &Db,
    storage: &DistributedStorage,
    metrics: &Metrics,
    repository_id: i64,
) -> Result<bool, WorkerError> {
    if !db.gc_begin_repository_purge(repository_id).await? {
        return Ok(true);
    }
    let repo = GcRepo {
        id: repository_id,
        namespace_id: 0,
        namespace: String::new(),
        name: repository_id.to_string(),
        window_s: 0,
    };
    let clock = GcClock::now(true);
    // Each round deletes what the previous one freed; two rounds are the normal case.
    for _ in 0..8 {
        let plan = gc::plan_purge(db, &repo, &clock).await?;
        if plan.repositories.is_empty() && plan.blobs.is_empty() {
            break;
        }
        let outcome = gc::execute_with(db, storage, &plan, None).await?;
        record(metrics, &outcome);
    }
    for upload in db.repository_blob_uploads(repository_id).await? {
        delete_upload_objects(storage, &upload).await;
    }
    let done = db.gc_finish_repository_purge(repository_id).await?;
    if done {
        metrics.gc().repo_purged();
        tracing::info!(repository_id, "purged repository");
    }
    Ok(done)
}

/// Feeds a pass's deletions into Quay's GC families.
pub(crate) fn record(metrics: &Metrics, outcome: &GcOutcome) {
    for (table, n) in &outcome.rows {
        metrics.gc().table_rows_deleted(table, *n);
    }
    metrics.gc().storage_blobs_deleted(outcome.report.objects);
    metrics.workers().bytes_freed(outcome.report.bytes);
}

/// Deletes what an upload wrote: `uploads/<uuid>` and, on an object store, its parts.
async fn delete_upload_objects(storage: &DistributedStorage, upload: &StaleUpload) {
    let (location, uuid) = (upload.location.as_str(), upload.uuid.as_str());
    let (Some(engine), Ok(id)) = (storage.engine(location), uuid::Uuid::parse_str(uuid)) else {
        return;
    };
    let parts = match UploadParts::from_metadata(upload.storage_metadata.as_deref()) {
        Ok(parts) => parts,
        Err(e) => {
            tracing::warn!(location, uuid, error = %e, "upload parts cannot be read; deleting the upload object only");
            UploadParts::default()
        }
    };
    if let Err(e) = engine.delete_upload(&id, &parts).await {
        tracing::warn!(location, uuid, error = %e, "could not delete an upload object");
    }
}

/// Quay's `delete_user` through its marker: purges every repository of the namespace, then
/// the namespace with its linked rows. Returns false when something was left.
pub async fn purge_namespace(
    db: &Db,
    storage: &DistributedStorage,
    metrics: &Metrics,
    namespace_id: i64,
) -> Result<bool, WorkerError> {
    for repo in db.namespace_repository_ids(namespace_id).await? {
        if !purge_repository(db, storage, metrics, repo).await? {
            return Ok(false);
        }
    }
    let done = db.gc_finish_namespace_purge(namespace_id).await?;
    if done {
        metrics.gc().namespace_purged();
        tracing::info!(namespace_id, "purged namespace");
    }
    Ok(done)
}

/// How a queue item went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Nothing was queued.
    Empty,
    /// Purged (or the marker was already gone); the item is deleted.
    Done,
    /// Put back for a later retry.
    Retry,
}

/// Quay's queue reservation for the GC queues (their workers extend it while purging).
const PROCESSING_S: i64 = 3 * 3600;
/// Retry delay for an item that could not finish (Quay's `incomplete` default).
const RETRY_S: i64 = 300;

/// Takes one `repositorygc` item and purges its repository.
pub async fn process_repository_queue(
    db: &Db,
    storage: &DistributedStorage,
    metrics: &Metrics,
    queue: &str,
) -> Result<ItemOutcome, WorkerError> {
    let now = chrono::Utc::now().naive_utc();
    let Some(item) = db.queue_claim(queue, now, PROCESSING_S).await? else {
        return Ok(ItemOutcome::Empty);
    };
    let marker = serde_json::from_str::<serde_json::Value>(&item.body)
        .ok()
        .and_then(|v| v.get("marker_id").and_then(|m| m.as_i64()));
    let Some(marker) = marker else {
        tracing::warn!(
            item = item.id,
            "repositorygc item without a marker_id; dropped"
        );
        db.queue_complete(item.id).await?;
        return Ok(ItemOutcome::Done);
    };
    let Some(repo) = db.deleted_repository_marker(marker).await? else {
        db.queue_complete(item.id).await?;
        return Ok(ItemOutcome::Done);
    };
    match purge_repository(db, storage, metrics, repo).await {
        Ok(true) => {
            db.queue_complete(item.id).await?;
            Ok(ItemOutcome::Done)
        }
        Ok(false) => {
            retry(db, item.id).await?;
            Ok(ItemOutcome::Retry)
        }
        Err(e) => {
            retry(db, item.id).await?;
            Err(e)
        }
    }
}

/// Takes one `namespacegc` item and purges its namespace (after `grace_s` since marking).
pub async fn process_namespace_queue(
    db: &Db,
    storage: &DistributedStorage,
    metrics: &Metrics,
    queue: &str,
    grace_s: i64,
) -> Result<ItemOutcome, WorkerError> {
    let now = chrono::Utc::now().naive_utc();
    let Some(item) = db.queue_claim(queue, now, PROCESSING_S).await? else {
        return Ok(ItemOutcome::Empty);
    };
    let marker = serde_json::from_str::<serde_json::Value>(&item.body)
        .ok()
        .and_then(|v| v.get("marker_id").and_then(|m| m.as_i64()));
    let Some(marker) = marker else {
        tracing::warn!(
            item = item.id,
            "namespacegc item without a marker_id; dropped"
        );
        db.queue_complete(item.id).await?;
        return Ok(ItemOutcome::Done);
    };
    let Some((namespace, marked)) = db.deleted_namespace_marker(marker).await? else {
        db.queue_complete(item.id).await?;
        return Ok(ItemOutcome::Done);
    };
    if grace_s > 0 {
        // `marked` is the marking host's local time (Quay's datetime.now).
        let marked_at = marked + chrono::Duration::seconds(grace_s);
        let local_now = chrono::Local::now().naive_local();
        if marked_at > local_now {
            db.queue_incomplete(item.id, now + (marked_at - local_now))
                .await?;
            return Ok(ItemOutcome::Retry);
        }
    }
    match purge_namespace(db, storage, metrics, namespace).await {
        Ok(true) => {
            db.queue_complete(item.id).await?;
            Ok(ItemOutcome::Done)
        }
        Ok(false) => {
            retry(db, item.id).await?;
            Ok(ItemOutcome::Retry)
        }
        Err(e) => {
            retry(db, item.id).await?;
            Err(e)
        }
    }
}

async fn retry(db: &Db, id: i64) -> Result<(), WorkerError> {
    let at = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(RETRY_S);
    db.queue_incomplete(id, at).await?;
    Ok(())
}

/// Quay's `blobuploadcleanupworker`: deletes `blobupload` rows created before `before`
/// with their `uploads/<uuid>` objects. Returns how many went.
pub async fn cleanup_stale_uploads(
    db: &Db,
    storage: &DistributedStorage,
    metrics: &Metrics,
    before: NaiveDateTime,
) -> Result<u64, WorkerError> {
    let mut n = 0u64;
    loop {
        let batch = db.stale_blob_uploads(before, 100).await?;
        if batch.is_empty() {
            break;
        }
        for upload in batch {
            delete_upload_objects(storage, &upload).await;
            if db.gc_delete_blob_upload(upload.id).await? {
                n += 1;
                tracing::info!(uuid = %upload.uuid, "deleted stale blob upload");
            }
        }
    }
    metrics.gc().table_rows_deleted("BlobUpload", n);
    metrics.workers().uploads_deleted(n);
    Ok(n)
}

/// Quay's `CLEAN_BLOB_UPLOAD_FOLDER` sweep: deletes every object under `uploads/`, in every
/// location, last modified before `before`: what a push or a replication copy that died
/// midway left (its row, if it had one, is gone by the same threshold). A location that
/// cannot be listed is skipped with a warning; the next run tries again. Returns how many
/// objects went.
pub async fn sweep_upload_folder(
    storage: &DistributedStorage,
    before: std::time::SystemTime,
) -> u64 {
    let mut n = 0u64;
    for engine in storage.engines() {
        let stale = match engine
            .list_older_than(quayside_storage::layout::UPLOADS_PREFIX, before)
            .await
        {
            Ok(paths) => paths,
            Err(e) => {
                tracing::warn!(location = engine.id(), error = %e, "cannot list stale upload objects");
                continue;
            }
        };
        for path in stale {
            match engine.delete(&path).await {
                Ok(()) => {
                    n += 1;
                    tracing::info!(location = engine.id(), path, "deleted stale upload object");
                }
                Err(e) => {
                    tracing::warn!(location = engine.id(), path, error = %e, "cannot delete stale upload object")
                }
            }
        }
    }
    n
}

/// One pass of a queue worker: takes items until the queue is empty or an item must wait.
pub(crate) async fn drain<F, Fut>(
    name: &'static str,
    ctx: &crate::WorkerContext,
    mut next: F,
) -> Result<(), WorkerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<ItemOutcome, WorkerError>>,
{
    let _op = ctx.metrics.worker_operation(name, "process_queue_item");
    let mut done = 0u64;
    loop {
        match next().await? {
            ItemOutcome::Empty | ItemOutcome::Retry => break,
            ItemOutcome::Done => done += 1,
        }
    }
    tracing::info!(worker = name, items = done, "queue processed");
    Ok(())
}

/// Quay's `repositorygcworker`: drains the `repositorygc` queue each period.
pub struct RepositoryGcWorker;

impl crate::Worker for RepositoryGcWorker {
    fn name(&self) -> &'static str {
        "repositorygc"
    }

    fn quay_name(&self) -> &'static str {
        "repositorygcworker"
    }

    fn enabled(&self, settings: &crate::WorkerSettings) -> bool {
        settings.repository_gc_enabled
    }

    fn period(&self, settings: &crate::WorkerSettings) -> std::time::Duration {
        settings.queue_poll
    }

    fn run<'a>(&'a self, ctx: &'a crate::WorkerContext) -> crate::RunFuture<'a> {
        Box::pin(async move {
            drain(self.quay_name(), ctx, || {
                process_repository_queue(
                    &ctx.db,
                    &ctx.storage,
                    &ctx.metrics,
                    &ctx.settings.repository_gc_queue,
                )
            })
            .await
        })
    }
}

/// Quay's `namespacegcworker`: drains the `namespacegc` queue each period.
pub struct NamespaceGcWorker;

impl crate::Worker for NamespaceGcWorker {
    fn name(&self) -> &'static str {
        "namespacegc"
    }

    fn quay_name(&self) -> &'static str {
        "namespacegcworker"
    }

    fn enabled(&self, settings: &crate::WorkerSettings) -> bool {
        settings.namespace_gc_enabled
    }

    fn period(&self, settings: &crate::WorkerSettings) -> std::time::Duration {
        settings.queue_poll
    }

    fn run<'a>(&'a self, ctx: &'a crate::WorkerContext) -> crate::RunFuture<'a> {
        Box::pin(async move {
            drain(self.quay_name(), ctx, || {
                process_namespace_queue(
                    &ctx.db,
                    &ctx.storage,
                    &ctx.metrics,
                    &ctx.settings.namespace_gc_queue,
                    ctx.settings.namespace_gc_grace_s,
                )
            })
            .await
        })
    }
}

/// Quay's `blobuploadcleanupworker`: stale uploads older than
/// `BLOBUPLOAD_DELETION_DATE_THRESHOLD`, each period.
pub struct BlobUploadCleanupWorker;

impl crate::Worker for BlobUploadCleanupWorker {
    fn name(&self) -> &'static str {
        "blobuploadcleanup"
    }

    fn quay_name(&self) -> &'static str {
        "blobuploadcleanupworker"
    }

    fn enabled(&self, _settings: &crate::WorkerSettings) -> bool {
        true
    }

    fn period(&self, settings: &crate::WorkerSettings) -> std::time::Duration {
        settings.blobupload_frequency
    }

    fn run<'a>(&'a self, ctx: &'a crate::WorkerContext) -> crate::RunFuture<'a> {
        Box::pin(async move {
            let name = self.quay_name();
            let _op = ctx.metrics.worker_operation(name, "_try_cleanup_uploads");
            let threshold = chrono::Duration::from_std(ctx.settings.blobupload_threshold)
                .unwrap_or_else(|_| chrono::Duration::days(2));
            let before = chrono::Utc::now().naive_utc() - threshold;
            let n = cleanup_stale_uploads(&ctx.db, &ctx.storage, &ctx.metrics, before).await?;
            tracing::info!(worker = name, uploads = n, "stale blob uploads cleaned");
            if ctx.settings.clean_upload_folder {
                let cutoff = std::time::SystemTime::now()
                    .checked_sub(ctx.settings.blobupload_threshold)
                    .unwrap_or(std::time::UNIX_EPOCH);
                let objects = sweep_upload_folder(&ctx.storage, cutoff).await;
                tracing::info!(worker = name, objects, "stale upload objects swept");
            }
            Ok(())
        })
    }
}
