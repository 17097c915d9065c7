//! Quay's `storagereplication` worker (`FEATURE_STORAGE_REPLICATION`): takes
//! `imagestoragereplication` items (`{"namespace_user_id", "storage_id": <imagestorage
//! uuid>}`), copies the blob into every required location that lacks it — the namespace's
//! `userregion` locations and `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` — and records each
//! copy as an `imagestorageplacement` row once the bytes are there and verified.
//!
//! A copy streams from the first location holding the blob (preference order) into an
//! upload object of the destination and is moved into Quay's key only after its sha256
//! matched the blob's, so a placement never names a partial object. A source that is down,
//! or that does not have the object yet, puts the item back for a retry.

use quayside_meta::replication::{ReplicaSource, REPLICATION_QUEUE};
use quayside_meta::Db;
use quayside_storage::{layout, DistributedStorage, Engine, WriteStreamError};

use crate::purge::{drain, ItemOutcome};
use crate::WorkerError;

/// Quay's `STORAGE_REPLICATION_PROCESSING_SECONDS`: the lease of one item.
const PROCESSING_S: i64 = 1200;
/// Delay before an item that could not finish is offered again.
const RETRY_S: i64 = 60;

/// Where a blob must be: the namespace's regions and the default locations, sorted, once.
pub fn required_locations(regions: &[String], defaults: &[String]) -> Vec<String> {
    let mut all: Vec<String> = regions.iter().chain(defaults).cloned().collect();
    all.sort();
    all.dedup();
    all
}

fn object_path(source: &ReplicaSource) -> Option<String> {
    layout::stored_blob_path(
        source.cas_path,
        source.content_checksum.as_deref(),
        &source.uuid,
    )
}

/// Copies `path` from `from` to `to` through an upload object of `to`, verified against
/// `checksum` (when the blob has one) before it takes the blob's key.
async fn copy_verified(
    from: &Engine,
    to: &Engine,
    path: &str,
    checksum: Option<&str>,
) -> Result<(), WorkerError> {
    let tmp = layout::upload_path(&uuid::Uuid::new_v4());
    let stream = from.stream(path, None).await?;
    let mut writer = to.writer(&tmp, false).await?;
    if let Err(e) = writer.write_stream(stream).await {
        let _ = writer.abort().await;
        let _ = to.delete(&tmp).await;
        return Err(match e {
            WriteStreamError::Storage(s) => WorkerError::Storage(s),
            WriteStreamError::Source(io) => WorkerError::Copy(format!(
                "reading {path} from {} failed midway: {io}",
                from.id()
            )),
        });
    }
    let written = writer.finish().await?;
    if let Some(expected) = checksum {
        if written.digest != expected {
            let _ = to.delete(&tmp).await;
            return Err(WorkerError::Copy(format!(
                "the copy of {path} from {} hashes to {} instead of {expected}",
                from.id(),
                written.digest
            )));
        }
    }
    to.promote(&tmp, path).await?;
    Ok(())
}

/// What became of one item's blob.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replicated {
    /// Locations that received a copy (or already had the object) and now have a placement.
    pub placed: Vec<String>,
    /// Required locations this instance has no engine for (left for an instance that does).
    pub unconfigured: Vec<String>,
}

/// Brings one blob into every required location. `Ok(None)` when it cannot proceed yet (no
/// configured location holds it, or the source lacks the object): retry later.
pub async fn replicate(
    db: &Db,
    storage: &DistributedStorage,
    source: &ReplicaSource,
    required: &[String],
) -> Result<Option<Replicated>, WorkerError> {
    let mut out = Replicated::default();
    let missing: Vec<&String> = required
        .iter()
        .filter(|l| !source.placements.contains(l))
        .collect();
    if missing.is_empty() {
        return Ok(Some(out));
    }
    let Some(path) = object_path(source) else {
        tracing::warn!(uuid = %source.uuid, "blob has no object path; not replicated");
        return Ok(Some(out));
    };
    let sources = storage.read_locations(&source.placements);
    let mut from = None;
    for engine in sources {
        match engine.exists(&path).await {
            Ok(true) => {
                from = Some(engine);
                break;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(location = engine.id(), error = %e, "replication source unavailable")
            }
        }
    }
    let Some(from) = from else {
        return Ok(None);
    };
    for location in missing {
        let Some(to) = storage.engine(location) else {
            out.unconfigured.push(location.clone());
            continue;
        };
        if !to.exists(&path).await? {
            copy_verified(from, to, &path, source.content_checksum.as_deref()).await?;
        }
        db.add_placement(source.storage_id, location).await?;
        out.placed.push(location.clone());
    }
    Ok(Some(out))
}

/// Takes one replication item and replicates its blob.
pub async fn process_replication_queue(
    db: &Db,
    storage: &DistributedStorage,
    defaults: &[String],
) -> Result<ItemOutcome, WorkerError> {
    let now = chrono::Utc::now().naive_utc();
    let Some(item) = db.queue_claim(REPLICATION_QUEUE, now, PROCESSING_S).await? else {
        return Ok(ItemOutcome::Empty);
    };
    let body = serde_json::from_str::<serde_json::Value>(&item.body).ok();
    let namespace = body
        .as_ref()
        .and_then(|v| v.get("namespace_user_id"))
        .and_then(serde_json::Value::as_i64);
    let uuid = body
        .as_ref()
        .and_then(|v| v.get("storage_id"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let (Some(namespace), Some(uuid)) = (namespace, uuid) else {
        tracing::warn!(item = item.id, body = %item.body, "replication item without namespace_user_id/storage_id; dropped");
        db.queue_complete(item.id).await?;
        return Ok(ItemOutcome::Done);
    };
    let Some(source) = db.replica_source(&uuid).await? else {
        // The blob was collected meanwhile: nothing to copy.
        db.queue_complete(item.id).await?;
        return Ok(ItemOutcome::Done);
    };
    let required = required_locations(&db.namespace_regions(namespace).await?, defaults);
    let retry_at = now + chrono::Duration::seconds(RETRY_S);
    match replicate(db, storage, &source, &required).await {
        Ok(Some(done)) => {
            if !done.unconfigured.is_empty() {
                tracing::warn!(uuid = %uuid, locations = ?done.unconfigured, "required locations are not configured on this instance");
            }
            if !done.placed.is_empty() {
                tracing::info!(uuid = %uuid, locations = ?done.placed, "blob replicated");
            }
            db.queue_complete(item.id).await?;
            Ok(ItemOutcome::Done)
        }
        Ok(None) => {
            tracing::info!(uuid = %uuid, "replication source not ready; retrying later");
            db.queue_incomplete(item.id, retry_at).await?;
            Ok(ItemOutcome::Retry)
        }
        Err(e) => {
            db.queue_incomplete(item.id, retry_at).await?;
            Err(e)
        }
    }
}

/// Quay's `util/backfillreplication.py`: walks every blob a manifest links and queues a
/// replication item for each that some required location lacks, unless one is already
/// queued for it. `say` gets Quay's line per queued blob. Returns how many were queued.
pub async fn backfill(
    db: &Db,
    defaults: &[String],
    mut say: impl FnMut(String),
) -> Result<u64, WorkerError> {
    let mut queued = 0u64;
    let mut after: Option<(i64, String)> = None;
    let mut regions: Option<(i64, Vec<String>)> = None;
    loop {
        let page = db
            .linked_blobs_after(after.as_ref().map(|(n, u)| (*n, u.as_str())), 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.namespace_id, last.uuid.clone()));
        for blob in &page {
            let ns_regions = match &regions {
                Some((ns, r)) if *ns == blob.namespace_id => r.clone(),
                _ => {
                    let r = db.namespace_regions(blob.namespace_id).await?;
                    regions = Some((blob.namespace_id, r.clone()));
                    r
                }
            };
            let required = required_locations(&ns_regions, defaults);
            if required.iter().all(|l| blob.placements.contains(l)) {
                continue;
            }
            if db.replication_pending(&blob.uuid).await? {
                continue;
            }
            say(format!(
                "Enqueueing manifest blob {} to be replicated",
                blob.uuid
            ));
            db.queue_put(
                REPLICATION_QUEUE,
                &[&blob.uuid],
                &quayside_meta::replication::replication_body(blob.namespace_id, &blob.uuid),
                chrono::Utc::now().naive_utc(),
                quayside_meta::replication::REPLICATION_RETRIES,
            )
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Quay's `storagereplication` worker: drains the replication queue each period.
pub struct StorageReplicationWorker;

impl crate::Worker for StorageReplicationWorker {
    fn name(&self) -> &'static str {
        "storagereplication"
    }

    fn quay_name(&self) -> &'static str {
        "storagereplication"
    }

    fn enabled(&self, settings: &crate::WorkerSettings) -> bool {
        settings.storage_replication
    }

    fn period(&self, settings: &crate::WorkerSettings) -> std::time::Duration {
        settings.replication_poll
    }

    fn run<'a>(&'a self, ctx: &'a crate::WorkerContext) -> crate::RunFuture<'a> {
        Box::pin(async move {
            drain(self.quay_name(), ctx, || {
                process_replication_queue(&ctx.db, &ctx.storage, &ctx.settings.default_locations)
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_is_regions_and_defaults_once() {
        let r = required_locations(
            &["eu".to_string(), "us".to_string()],
            &["us".to_string(), "ap".to_string()],
        );
        assert_eq!(r, ["ap", "eu", "us"]);
    }
}
