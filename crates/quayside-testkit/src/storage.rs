//! Blob storage for tests: one LocalStorage location in a directory.

use std::path::Path;
use std::sync::Arc;

use quayside_storage::{DistributedStorage, LocationConfig};

/// The location id [`local`] opens (sync it into `imagestoragelocation` before pushing).
pub const LOCATION: &str = "local_us";

/// A [`DistributedStorage`] with the single LocalStorage location [`LOCATION`] at `dir`.
pub fn local(dir: &Path) -> Arc<DistributedStorage> {
    let mut params = serde_json::Map::new();
    params.insert(
        "storage_path".into(),
        serde_json::Value::from(dir.display().to_string()),
    );
    let loc = LocationConfig {
        id: LOCATION.into(),
        driver: "LocalStorage".into(),
        params,
        ..Default::default()
    };
    Arc::new(DistributedStorage::open(&[loc], &[LOCATION.to_string()]).expect("open storage"))
}
