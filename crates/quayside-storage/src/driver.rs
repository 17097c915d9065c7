//! The driver seam: a Quay `DISTRIBUTED_STORAGE_CONFIG` entry (`[DriverName, {params}]`)
//! becomes an OpenDAL operator. Adding a driver means adding one arm to
//! [`build_operator`] and running it through [`crate::testsuite`].

use opendal::Operator;
use serde_json::{Map, Value};

use crate::StorageError;

/// Every driver name Quay accepts in `DISTRIBUTED_STORAGE_CONFIG`.
pub const QUAY_DRIVER_NAMES: &[&str] = &[
    "LocalStorage",
    "S3Storage",
    "STSS3Storage",
    "CloudFrontedS3Storage",
    "CloudFlareStorage",
    "AkamaiS3Storage",
    "MultiCDNStorage",
    "GoogleCloudStorage",
    "AzureStorage",
    "RadosGWStorage",
    "RHOCSStorage",
    "IBMCloudStorage",
    "SwiftStorage",
];

/// Drivers this build can actually open.
pub const SUPPORTED_DRIVER_NAMES: &[&str] = &["LocalStorage"];

/// One configured storage location, as read from Quay's config.
#[derive(Clone, Debug)]
pub struct LocationConfig {
    /// The location id (the key in `DISTRIBUTED_STORAGE_CONFIG`, and the
    /// `imagestoragelocation.name` row).
    pub id: String,
    /// Quay's driver name, e.g. `LocalStorage`.
    pub driver: String,
    /// The driver's keyword parameters.
    pub params: Map<String, Value>,
}

/// Which backend an engine talks to; decides capabilities such as append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverKind {
    Local,
    Memory,
}

pub(crate) fn build_operator(loc: &LocationConfig) -> Result<(DriverKind, Operator), StorageError> {
    match loc.driver.as_str() {
        "LocalStorage" => {
            let path = required_str(loc, "storage_path")?;
            reject_unexpected(loc, &["storage_path"])?;
            let builder = opendal::services::Fs::default().root(path);
            let op = Operator::new(builder).map_err(|source| backend(loc, "open", path, source))?;
            Ok((DriverKind::Local, op))
        }
        other if QUAY_DRIVER_NAMES.contains(&other) => Err(StorageError::UnsupportedDriver {
            location: loc.id.clone(),
            driver: other.to_string(),
        }),
        other => Err(StorageError::UnknownDriver {
            driver: other.to_string(),
        }),
    }
}

/// The canonical root directory of a LocalStorage location (after [`build_operator`] made
/// it), where blob writes go straight to files; `None` for other drivers.
pub(crate) fn local_root(loc: &LocationConfig) -> Result<Option<std::path::PathBuf>, StorageError> {
    if loc.driver != "LocalStorage" {
        return Ok(None);
    }
    let path = required_str(loc, "storage_path")?;
    std::fs::canonicalize(path)
        .map(Some)
        .map_err(|e| StorageError::InvalidParam {
            location: loc.id.clone(),
            param: "storage_path".into(),
            problem: format!("is not a usable directory: {e}"),
        })
}

/// Checks a location's configuration and reachability without writing
/// anything (opening a LocalStorage operator would create its directory).
pub fn check_location(loc: &LocationConfig) -> Result<(), StorageError> {
    match loc.driver.as_str() {
        "LocalStorage" => {
            let path = required_str(loc, "storage_path")?;
            reject_unexpected(loc, &["storage_path"])?;
            let abs = std::path::absolute(path).map_err(|e| StorageError::InvalidParam {
                location: loc.id.clone(),
                param: "storage_path".into(),
                problem: format!("is not a usable path: {e}"),
            })?;
            match abs.ancestors().find(|a| a.exists()) {
                Some(a) if a.is_dir() => Ok(()),
                _ => Err(StorageError::InvalidParam {
                    location: loc.id.clone(),
                    param: "storage_path".into(),
                    problem: format!("{} is not a directory and cannot be created", abs.display()),
                }),
            }
        }
        // Everything else: the same refusals as opening it.
        _ => build_operator(loc).map(|_| ()),
    }
}

pub(crate) fn memory_operator() -> Operator {
    // The memory service has no configuration that can fail.
    Operator::new(opendal::services::Memory::default())
        .unwrap_or_else(|e| panic!("in-memory storage cannot be built: {e}"))
}

fn required_str<'a>(loc: &'a LocationConfig, key: &str) -> Result<&'a str, StorageError> {
    match loc.params.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(StorageError::MissingParam {
            location: loc.id.clone(),
            param: key.to_string(),
        }),
        Some(_) => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: key.to_string(),
            problem: "must be a string".to_string(),
        }),
    }
}

/// Quay passes parameters as constructor keyword arguments, so an unexpected
/// key makes Quay refuse to start; we refuse the same way.
fn reject_unexpected(loc: &LocationConfig, allowed: &[&str]) -> Result<(), StorageError> {
    match loc.params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: k.clone(),
            problem: format!("is not a parameter of {}", loc.driver),
        }),
        None => Ok(()),
    }
}

fn backend(
    loc: &LocationConfig,
    op: &'static str,
    path: &str,
    source: opendal::Error,
) -> StorageError {
    StorageError::Backend {
        location: loc.id.clone(),
        op,
        path: path.to_string(),
        source: Box::new(source),
    }
}
