use quayside_meta::MetaError;
use quayside_oci::Digest;
use quayside_storage::StorageError;

/// Everything the registry model can report. The `/v2` layer maps each variant once onto
/// its wire error (see the notes on each variant for what Quay answers).
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The blob is not visible in the repository (`BLOB_UNKNOWN`, 404).
    #[error("blob unknown to registry")]
    BlobUnknown,
    /// No such upload in this repository (`BLOB_UPLOAD_UNKNOWN`, 404).
    #[error("blob upload unknown to registry")]
    UploadUnknown,
    /// The uploaded bytes do not hash to the digest given on commit. The upload has been
    /// discarded, as Quay does (`BLOB_UPLOAD_INVALID`, 400).
    #[error("digest mismatch: expected {expected}, uploaded content is {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// The push would take the namespace over a `Reject` quota threshold (Quay's
    /// `QuotaExceeded`: `DENIED`, 403, "Quota has been exceeded on namespace"). Nothing
    /// became visible; an upload it hit was cancelled.
    #[error("Quota has been exceeded on namespace")]
    QuotaExceeded,
    /// A chunk did not start at the current end of the upload (416 with `Range: 0-<offset-1>`).
    #[error("chunk does not start at the upload's current offset {offset}")]
    RangeMismatch { offset: u64 },
    /// The upload would exceed `MAXIMUM_LAYER_SIZE`.
    #[error("blob exceeds the maximum layer size of {limit} bytes")]
    SizeTooLarge { limit: u64 },
    /// The request body failed before it ended (client went away); nothing became visible.
    #[error("reading the request body failed: {0}")]
    Body(String),
    /// A manifest references a blob that is not visible in the repository. Quay answers
    /// `MANIFEST_INVALID` (400) for this; `MANIFEST_BLOB_UNKNOWN` is the OCI code.
    #[error("manifest references unknown blob {0}")]
    ManifestBlobUnknown(Digest),
    /// The manifest cannot be stored as given (`MANIFEST_INVALID`, 400), e.g. an index
    /// naming a child manifest that is not in the repository.
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    /// `MANIFEST_UNKNOWN` (404).
    #[error("manifest unknown")]
    ManifestUnknown,
    /// A delete by digest of a manifest that an alive index of the repository names
    /// (`UNSUPPORTED`, 405): the pull would still find it through the index, and deleting
    /// it would break the index, so the index must go first.
    #[error("manifest {0} is referenced by an index in this repository; delete the index first")]
    ManifestReferenced(Digest),
    /// The tag exists only in the time machine (`TAG_EXPIRED`, 404).
    #[error("Tag {0} was deleted or has expired. To pull, revive via time machine")]
    TagExpired(String),
    /// A name or request Quay's data model refuses, with Quay's message (the API answers
    /// 400 with it; e.g. "Invalid namespace …", "Username has already been taken …").
    #[error("{0}")]
    Invalid(String),
    /// A repository name that breaks Quay's rule (`NAME_INVALID`).
    #[error("{0}")]
    NameInvalid(String),
    /// The namespace a repository was to be created in does not exist.
    #[error("Unknown namespace {0}")]
    NamespaceUnknown(String),
    /// The repository `namespace/name` already exists.
    #[error("Repository already exists: {0}")]
    RepositoryExists(String),
    /// A feature is switched off (e.g. the referrers API).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// Stored data is inconsistent (an id out of range, a placement naming an unconfigured
    /// location, an upload object shorter than its row says).
    #[error("inconsistent registry data: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Meta(#[from] MetaError),
}
