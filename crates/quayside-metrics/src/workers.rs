//! Worker metrics quayside adds next to Quay's (`quay_gc_*`, `quay_worker_operation_*`,
//! which live in the crate root with Quay's exact names): what Quay has no family for is
//! named `quayside_*`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

type Labels2 = [(&'static str, String); 2];

/// `quayside_gc_*` and `quayside_worker_*` families.
#[derive(Debug, Clone, Default)]
pub struct WorkerMetrics {
    bytes_freed: Counter,
    uploads_deleted: Counter,
    runs: Family<Labels2, Counter>,
}

impl WorkerMetrics {
    pub(crate) fn register(registry: &mut Registry) -> WorkerMetrics {
        let m = WorkerMetrics::default();
        registry.register(
            "quayside_gc_storage_bytes_freed",
            "bytes of blob objects deleted from storage by garbage collection",
            m.bytes_freed.clone(),
        );
        registry.register(
            "quayside_gc_blob_uploads_deleted",
            "stale blob uploads (rows and their upload objects) deleted",
            m.uploads_deleted.clone(),
        );
        registry.register(
            "quayside_worker_runs",
            "worker runs by worker and outcome (ok, error, idle, locked)",
            m.runs.clone(),
        );
        m
    }

    /// `quayside_gc_storage_bytes_freed_total` += `n`.
    pub fn bytes_freed(&self, n: u64) {
        self.bytes_freed.inc_by(n);
    }

    /// `quayside_gc_blob_uploads_deleted_total` += `n`.
    pub fn uploads_deleted(&self, n: u64) {
        self.uploads_deleted.inc_by(n);
    }

    /// `quayside_worker_runs_total{worker, outcome}` += 1.
    pub fn run(&self, worker: &'static str, outcome: &'static str) {
        self.runs
            .get_or_create(&[
                ("worker", worker.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }
}
