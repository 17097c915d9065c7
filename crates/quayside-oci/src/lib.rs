//! Pure registry-protocol types for quayside (no I/O, no async, no HTTP framework).
//!
//! * [`digest`]: content digests (`sha256:`/`sha512:`).
//! * [`name`]: repository names (Quay rules), tags, references.
//! * [`endpoint`]: `/v2` route recognition.
//! * [`media_types`]: media type constants and Quay's artifact-type allow-list.
//! * [`manifest`]: manifest parsing/validation over the client's exact bytes.
//! * [`labels`]: Quay's manifest labels and the `quay.expires-after` duration.
//! * [`error`]: `/v2` error codes and the `{"errors":[...]}` envelope.

pub mod digest;
pub mod endpoint;
pub mod error;
pub mod labels;
pub mod manifest;
pub mod media_types;
pub mod name;
pub mod pyjson;

pub use digest::{Algorithm, Digest, DigestError};
pub use endpoint::{Endpoint, ParseError};
pub use error::{ErrorCode, RegistryError};
pub use manifest::{
    check_artifact_types, is_oci11_artifact, ArtifactPolicy, Descriptor, ImageIndex, ImageManifest,
    ManifestBody, ManifestError, ManifestKind, ParsedManifest, Platform, Schema1Manifest,
    MAX_MANIFEST_SIZE,
};
pub use name::{NameError, NameRules, Reference, ReferenceError, RepoName, Tag, TagError};
