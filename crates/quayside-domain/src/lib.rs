//! quayside-domain: Quay's "registry model" — what pushing and pulling do to Quay's tables
//! and storage, shared by `/v2` and `/api/v1` — and its data-model rules for namespaces,
//! organizations, teams and repositories ([`namespace`]).
//!
//! * Blobs are visible in a repository when a `manifestblob` row of that repository or an
//!   unexpired `uploadedblob` row links them and they have a placement.
//! * Uploads are a `blobupload` row plus an object `uploads/<uuid>` in the preferred location.
//!   Nothing about an upload lives only in memory: after a restart, `append`/`complete`
//!   continue from the object and `blobupload.byte_count` (re-hashing the object by streaming
//!   it). A hash kept in memory is only a shortcut, used when its offset matches the row.
//! * Committing verifies the sha256, moves the object to `sha256/<2>/<hex>` (or drops it when
//!   that object already exists), then writes `imagestorage`, the placement, the
//!   `uploadedblob` link and removes the `blobupload` row in one transaction.
//! * Manifests, their `manifestblob`/`manifestchild` rows and their tag are written in one
//!   transaction serialised per repository; pushes by digest get a hidden `$temp-<uuid>` tag
//!   (never expiring when the manifest has a `subject`).

mod error;
pub mod namespace;
mod registry;

pub use error::DomainError;
pub use namespace::{NamespaceSettings, Namespaces, RepositorySpec};
pub use quayside_meta::registry::CatalogScope as CatalogFilter;
/// What a blob pull tells a CDN about its client ([`Registry::direct_download_url`]).
pub use quayside_storage::cdn::DownloadRequest as DownloadClient;
pub use registry::{
    referrers_index, BlobInfo, CatalogEntry, NoBody, QuotaSettings, ReferrerDescriptor, Registry,
    RegistrySettings, RepoRef, StoredManifest, TagLookup, UploadSession, DIRECT_DOWNLOAD_EXPIRES,
    EMPTY_LAYER_BYTES, EMPTY_LAYER_DIGEST,
};
