use thiserror::Error;

/// Everything the storage layer can report. Callers map it once onto their wire
/// surface (a missing object is `NotFound`, everything else is a server fault).
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("{driver} is not a valid storage type.")]
    UnknownDriver { driver: String },
    #[error(
        "storage location {location}: driver {driver} is a valid Quay storage type but is not supported by this quayside build yet"
    )]
    UnsupportedDriver { location: String, driver: String },
    #[error("DISTRIBUTED_STORAGE_CONFIG.{location}.{param} is required")]
    MissingParam { location: String, param: String },
    #[error("DISTRIBUTED_STORAGE_CONFIG.{location}.{param} {problem}")]
    InvalidParam {
        location: String,
        param: String,
        problem: String,
    },
    #[error("DISTRIBUTED_STORAGE_CONFIG must contain at least one storage location.")]
    NoLocations,
    #[error("storage location {0} is not configured in DISTRIBUTED_STORAGE_CONFIG")]
    UnknownLocation(String),
    #[error("object {path} not found in storage location {location}")]
    NotFound { location: String, path: String },
    #[error("storage location {location}: invalid object path {path:?}")]
    InvalidPath { location: String, path: String },
    #[error("storage location {location}: probe object read back as {found:?}, expected \"testing 123\"")]
    ProbeMismatch { location: String, found: String },
    #[error("upload storage metadata is not usable: {0}")]
    UploadMetadata(String),
    #[error("storage location {location}: {op} {path}: {source}")]
    Backend {
        location: String,
        op: &'static str,
        path: String,
        #[source]
        source: Box<opendal::Error>,
    },
}

impl StorageError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }

    /// Whether the store could not be reached or did not answer (as opposed to a refusal or
    /// bad data): an outage the caller reports as "unavailable", not as a fault of its own.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Backend { source, .. } => {
                // OpenDAL marks a request that could not be sent, or a 5xx/503 answer, as
                // temporary, and as persistent once the retry layer has given up on it.
                source.is_temporary()
                    || source.is_persistent()
                    || matches!(source.kind(), opendal::ErrorKind::RateLimited)
            }
            _ => false,
        }
    }
}
