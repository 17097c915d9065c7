//! Quay's `globalpromstats` worker: the `quay_*_rows` gauges, refreshed at
//! start and then every `GLOBAL_PROMETHEUS_STATS_FREQUENCY` seconds.

use std::time::Duration;

use quayside_meta::Db;
use quayside_metrics::Metrics;

/// Counts rows once and sets the gauges.
pub async fn refresh(db: &Db, metrics: &Metrics) -> Result<(), quayside_meta::MetaError> {
    let _op = metrics.worker_operation("globalpromstats", "update_stats");
    let c = db.row_counts().await?;
    metrics.set_rows(c.repositories, c.users, c.orgs, c.robots);
    Ok(())
}

/// Refreshes now and then every `every` until the task is dropped.
pub fn spawn(db: Db, metrics: Metrics, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        loop {
            tick.tick().await;
            if let Err(e) = refresh(&db, &metrics).await {
                tracing::warn!(error = %e, "global row statistics failed");
            }
        }
    })
}
