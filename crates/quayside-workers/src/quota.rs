//! Quay's `quotatotalworker` backfill (`FEATURE_QUOTA_MANAGEMENT` with `QUOTA_BACKFILL`):
//! every `QUOTA_BACKFILL_POLL_PERIOD` it takes up to `QUOTA_BACKFILL_BATCH_SIZE` namespaces
//! whose size totals have not been computed (enabled users and organizations, no robots;
//! no size row, or one marked stale) and computes the namespace's total and each of its
//! repositories' from the data. From then on manifest writes and GC keep the totals in step
//! (`quayside_meta::quota`). The first run waits `QUOTA_TOTAL_DELAY_SECONDS`, so that a
//! rolling deploy's old instances stop writing untracked manifests first.

use crate::{RunFuture, Worker, WorkerContext, WorkerError, WorkerSettings};
use std::time::Duration;

/// The totals backfill.
pub struct QuotaTotalWorker;

impl Worker for QuotaTotalWorker {
    fn name(&self) -> &'static str {
        "quotatotal"
    }
    fn quay_name(&self) -> &'static str {
        "quotatotalworker"
    }
    fn enabled(&self, s: &WorkerSettings) -> bool {
        s.quota_management && s.quota_backfill
    }
    fn period(&self, s: &WorkerSettings) -> Duration {
        s.quota_backfill_poll
    }
    fn initial_delay(&self, s: &WorkerSettings) -> Duration {
        s.quota_total_delay
    }
    fn run<'a>(&'a self, ctx: &'a WorkerContext) -> RunFuture<'a> {
        Box::pin(async move {
            let done = backfill_batch(ctx).await?;
            tracing::info!(
                worker = "quotatotalworker",
                namespaces = done,
                "quota totals backfilled"
            );
            Ok(())
        })
    }
}

/// One batch: the namespaces whose totals were computed.
pub async fn backfill_batch(ctx: &WorkerContext) -> Result<usize, WorkerError> {
    let batch = i64::try_from(ctx.settings.quota_backfill_batch).unwrap_or(i64::MAX);
    let ids = ctx.db.quota_backfill_candidates(batch).await?;
    for id in &ids {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let total = ctx.db.quota_backfill_namespace(*id, now_ms).await?;
        tracing::debug!(
            namespace_id = id,
            size_bytes = total,
            "namespace size computed"
        );
    }
    Ok(ids.len())
}
