//! Background workers inside `quayside serve` (and the standalone `quayside worker` /
//! `quayside gc` commands): builds a [`WorkerContext`] from the application state or from
//! the configuration alone.

use std::sync::Arc;

use quayside_config::{Config, LiveSettings};
use quayside_meta::Db;
use quayside_metrics::Metrics;
use quayside_storage::{DistributedStorage, StorageError};
use quayside_workers::{WorkerContext, WorkerSettings};

use crate::{assemble, checks, AppState};

/// The workers' context over the running server's database, storage, metrics and live
/// settings.
pub fn context(state: &AppState, config: &Config) -> WorkerContext {
    WorkerContext::new(
        state.db.clone(),
        state.storage.clone(),
        state.v2.metrics.clone(),
        state.settings.live.clone(),
        WorkerSettings::from_config(config),
    )
}

/// Spawns every enabled worker (Quay's default service list) next to the server.
pub fn spawn(state: &AppState, config: &Config) -> Vec<tokio::task::JoinHandle<()>> {
    quayside_workers::spawn_all(&context(state, config))
}

/// A context for a worker running on its own: storage opened from the configuration and
/// a private metrics registry.
pub fn standalone_context(config: &Config, db: Db) -> Result<WorkerContext, StorageError> {
    let storage = Arc::new(DistributedStorage::open(
        &checks::storage_locations(config),
        &assemble::effective_preference(config),
    )?);
    Ok(WorkerContext::new(
        db,
        storage,
        Metrics::new(),
        Arc::new(LiveSettings::from_config(config)),
        WorkerSettings::from_config(config),
    ))
}
