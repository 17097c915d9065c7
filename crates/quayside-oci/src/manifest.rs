//! Manifest parsing and validation.
//!
//! Bytes in, bytes kept: [`ParsedManifest`] owns the client's exact bytes and
//! never re-serialises. The digest is computed over those bytes (for signed
//! Docker schema 1, over the JWS payload, as Quay and Docker distribution do).
//!
//! ## What Quay does, and what this module does
//! * Quay dispatches on the request `Content-Type` (`endpoints/v2/manifest.py`):
//!   a missing Content-Type or `application/json` means Docker schema 1; any type
//!   other than the six manifest types is `415 MANIFEST_INVALID`. We do the same
//!   (after stripping `; parameters` and lowercasing, which Quay does not do).
//! * The body's `mediaType` must agree with the Content-Type. Quay's JSON schemas:
//!   OCI manifest/index: `mediaType` optional, but if present must equal the
//!   Content-Type; Docker schema 2 manifest and manifest list: `mediaType`
//!   required and must match. Mismatch → `MANIFEST_INVALID` (400).
//! * `schemaVersion` must be 2 (schema 1 manifests are not checked for it).
//! * Descriptors need `mediaType`, `digest`, `size`; non-distributable / foreign
//!   layers need `urls` ("missing `urls` for remote layer").
//! * Docker manifest-list entries need `platform` with `architecture` and `os`.
//! * **Docker schema 1 is accepted by Quay** (signed and unsigned) and stored;
//!   it needs `name`, `tag`, `fsLayers[].blobSum`, `history[].v1Compatibility`
//!   (each a JSON string with an `id`), and at least one layer. Quay verifies the
//!   JWS signatures; **this crate does not verify signatures** (no crypto here):
//!   it only extracts the signed payload to compute the digest. The stored media
//!   type is `...v1+prettyjws` when `signatures` is present, otherwise `...v1+json`,
//!   whatever the Content-Type said — as Quay.
//! * Unknown fields are ignored and preserved (we keep the bytes).
//! * Quay enforces no manifest size limit of its own (nginx body limits apply);
//!   we use the distribution-spec's recommended 4 MiB, [`MAX_MANIFEST_SIZE`].
//! * Config/layer media-type allow-listing (`ALLOWED_OCI_ARTIFACT_TYPES`, applied
//!   by Quay unless `IGNORE_UNKNOWN_MEDIATYPES`) is *not* part of parsing:
//!   [`check_artifact_types`] is Quay's rule, [`ArtifactPolicy`] is what `/v2`
//!   applies (Quay's registration from config, plus OCI 1.1 artifacts).
//!
//! `oci-spec` 0.10 is deliberately not used: its `Platform` maps `os.version` /
//! `os.features` to the JSON keys `os_version` / `os_features` (no serde rename),
//! so Windows platform data in real indexes would silently vanish; it normalises
//! `architecture`/`os` into enums; and its `Digest` accepts any algorithm. A small
//! set of serde structs gives exact strings and typed errors.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::digest::{Digest, DigestError};
use crate::error::{ErrorCode, RegistryError};
use crate::media_types as mt;

/// Maximum manifest size accepted (distribution-spec recommendation: 4 MiB).
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;

/// The kind of manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// `application/vnd.oci.image.manifest.v1+json`
    OciManifest,
    /// `application/vnd.oci.image.index.v1+json`
    OciIndex,
    /// `application/vnd.docker.distribution.manifest.v2+json`
    DockerManifest,
    /// `application/vnd.docker.distribution.manifest.list.v2+json`
    DockerManifestList,
    /// Docker schema 1 (`signed`: has JWS `signatures`).
    DockerSchema1 {
        /// Whether the manifest carries signatures.
        signed: bool,
    },
}

impl ManifestKind {
    /// The media type the manifest is stored and served with.
    pub const fn media_type(self) -> &'static str {
        match self {
            ManifestKind::OciManifest => mt::OCI_MANIFEST,
            ManifestKind::OciIndex => mt::OCI_INDEX,
            ManifestKind::DockerManifest => mt::DOCKER_MANIFEST_V2,
            ManifestKind::DockerManifestList => mt::DOCKER_MANIFEST_LIST,
            ManifestKind::DockerSchema1 { signed: true } => mt::DOCKER_SCHEMA1_SIGNED,
            ManifestKind::DockerSchema1 { signed: false } => mt::DOCKER_SCHEMA1,
        }
    }
}

/// A platform (index/list entries).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    /// `architecture`
    pub architecture: String,
    /// `os`
    pub os: String,
    /// `os.version`
    pub os_version: Option<String>,
    /// `os.features`
    pub os_features: Vec<String>,
    /// `variant`
    pub variant: Option<String>,
    /// `features`
    pub features: Vec<String>,
}

/// A validated content descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// `mediaType`
    pub media_type: String,
    /// `digest`
    pub digest: Digest,
    /// `size`
    pub size: u64,
    /// `urls` (foreign / non-distributable layers)
    pub urls: Vec<String>,
    /// `annotations`
    pub annotations: BTreeMap<String, String>,
    /// `platform` (index entries)
    pub platform: Option<Platform>,
    /// `artifactType`
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// Whether this layer is non-distributable (its content may live at `urls`).
    pub fn is_non_distributable(&self) -> bool {
        mt::NON_DISTRIBUTABLE_LAYER_TYPES.contains(&self.media_type.as_str())
    }
}

/// Body of an OCI image manifest or Docker schema 2 manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// `config`
    pub config: Descriptor,
    /// `layers`, base first.
    pub layers: Vec<Descriptor>,
    /// `subject` (OCI 1.1)
    pub subject: Option<Descriptor>,
    /// `artifactType` (OCI 1.1)
    pub artifact_type: Option<String>,
    /// `annotations`
    pub annotations: BTreeMap<String, String>,
}

/// Body of an OCI index or Docker manifest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    /// `manifests`
    pub manifests: Vec<Descriptor>,
    /// `subject` (OCI 1.1)
    pub subject: Option<Descriptor>,
    /// `artifactType` (OCI 1.1)
    pub artifact_type: Option<String>,
    /// `annotations`
    pub annotations: BTreeMap<String, String>,
}

/// Body of a Docker schema 1 manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema1Manifest {
    /// `name` as written (e.g. `ns/repo`, or `repo` for the library namespace).
    pub name: String,
    /// `tag`
    pub tag: String,
    /// `architecture`, if given.
    pub architecture: Option<String>,
    /// `fsLayers[].blobSum` in file order (leaf first), paired with `history`.
    pub fs_layers: Vec<Digest>,
    /// `v1Compatibility` `id` of each layer, same order as `fs_layers`.
    pub v1_ids: Vec<String>,
    /// Whether `signatures` is present.
    pub signed: bool,
}

impl Schema1Manifest {
    /// `(namespace, repository)` as Quay splits `name`: namespace is empty when
    /// `name` has no `/` (library). Quay splits into exactly two parts.
    pub fn namespace_and_repo(&self) -> (&str, &str) {
        match self.name.split_once('/') {
            Some((ns, repo)) => (ns, repo),
            None => ("", self.name.as_str()),
        }
    }
}

/// The parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestBody {
    /// OCI image manifest or Docker schema 2 manifest.
    Image(Box<ImageManifest>),
    /// OCI index or Docker manifest list.
    Index(Box<ImageIndex>),
    /// Docker schema 1.
    Schema1(Schema1Manifest),
}

/// Why a manifest was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Larger than [`MAX_MANIFEST_SIZE`].
    #[error("manifest is {size} bytes, limit is {limit}")]
    TooLarge {
        /// Actual size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Content-Type is not a manifest type (Quay: 415).
    #[error("Unknown or unsupported manifest media type `{0}`")]
    UnsupportedMediaType(String),
    /// Not JSON, or a field has the wrong JSON type.
    #[error("malformed manifest data: {0}")]
    InvalidJson(String),
    /// JSON but not an object.
    #[error("manifest must be a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("missing required field `{0}`")]
    MissingField(String),
    /// `schemaVersion` is not the required value.
    #[error("schemaVersion must be {expected}")]
    InvalidSchemaVersion {
        /// Required value.
        expected: u8,
    },
    /// Body `mediaType` disagrees with the Content-Type.
    #[error("manifest mediaType `{body}` does not match content type `{declared}`")]
    MediaTypeMismatch {
        /// Content-Type (normalised).
        declared: String,
        /// Body `mediaType`.
        body: String,
    },
    /// A descriptor digest is invalid.
    #[error("could not parse digest at `{field}`: {error}")]
    InvalidDigest {
        /// JSON path.
        field: String,
        /// Why.
        error: DigestError,
    },
    /// A descriptor size is not a non-negative integer.
    #[error("invalid size at `{field}`")]
    InvalidSize {
        /// JSON path.
        field: String,
    },
    /// Non-distributable/foreign layer without `urls`.
    #[error("missing `urls` for remote layer at `{field}`")]
    MissingUrls {
        /// JSON path.
        field: String,
    },
    /// Schema 1 signature header could not be decoded.
    #[error("invalid schema1 signature: {0}")]
    Schema1Signature(String),
    /// Schema 1 `v1Compatibility` is not JSON or lacks `id`.
    #[error("invalid v1Compatibility at history[{index}]: {reason}")]
    Schema1V1Compatibility {
        /// History index.
        index: usize,
        /// Why.
        reason: String,
    },
    /// Schema 1 manifest without layers (Quay: "manifest does not reference any layers").
    #[error("manifest does not reference any layers")]
    Schema1NoLayers,
    /// Media type not allowed by the artifact-type policy.
    #[error("media type `{media_type}` at `{field}` is not allowed")]
    DisallowedMediaType {
        /// JSON path.
        field: String,
        /// Offending type.
        media_type: String,
    },
}

impl ManifestError {
    /// The `/v2` error Quay answers with.
    pub fn registry_error(&self) -> RegistryError {
        match self {
            ManifestError::UnsupportedMediaType(_) => RegistryError::manifest_schema_unsupported(),
            ManifestError::TooLarge { .. } => RegistryError::new(ErrorCode::ManifestInvalid)
                .with_detail_message(self.to_string())
                .with_status(413),
            ManifestError::Schema1NoLayers => {
                RegistryError::new(ErrorCode::ManifestInvalid).with_detail_message(self.to_string())
            }
            _ => RegistryError::new(ErrorCode::ManifestInvalid)
                .with_detail_message(format!("failed to parse manifest: {self}")),
        }
    }
}

/// A parsed, validated manifest together with its exact bytes and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    bytes: Vec<u8>,
    digest: Digest,
    kind: ManifestKind,
    body: ManifestBody,
}

// ---------- raw serde shapes (lenient; validation is done by hand) ----------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<Value>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<Value>,
    urls: Option<Vec<String>>,
    annotations: Option<BTreeMap<String, String>>,
    platform: Option<RawPlatform>,
    artifact_type: Option<String>,
}

#[derive(Deserialize)]
struct RawPlatform {
    architecture: Option<String>,
    os: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
    #[serde(rename = "os.features")]
    os_features: Option<Vec<String>>,
    variant: Option<String>,
    features: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSchema1 {
    name: Option<String>,
    tag: Option<String>,
    architecture: Option<String>,
    fs_layers: Option<Vec<RawFsLayer>>,
    history: Option<Vec<RawHistory>>,
    signatures: Option<Vec<RawSignature>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFsLayer {
    blob_sum: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHistory {
    v1_compatibility: Option<String>,
}

#[derive(Deserialize)]
struct RawSignature {
    protected: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProtected {
    format_length: Option<Value>,
    format_tail: Option<String>,
}

impl ParsedManifest {
    /// Parses manifest bytes as received on `PUT /v2/<name>/manifests/<ref>`.
    ///
    /// `content_type` is the raw `Content-Type` header value; `None` (or
    /// `application/json`) selects Docker schema 1, as in Quay.
    pub fn parse(
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<ParsedManifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(ManifestError::TooLarge {
                size: bytes.len(),
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let declared = content_type
            .and_then(mt::normalize_content_type)
            .unwrap_or_else(|| mt::DOCKER_SCHEMA1.to_owned());
        let declared = if declared == mt::APPLICATION_JSON {
            mt::DOCKER_SCHEMA1.to_owned()
        } else {
            declared
        };

        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::InvalidJson(e.to_string()))?;
        if !value.is_object() {
            return Err(ManifestError::NotAnObject);
        }

        let (kind, body, digest) = match declared.as_str() {
            mt::OCI_MANIFEST | mt::DOCKER_MANIFEST_V2 => {
                let docker = declared == mt::DOCKER_MANIFEST_V2;
                let raw: RawManifest = from_value(value)?;
                check_header(&raw, &declared, docker)?;
                let image = build_image(raw)?;
                let kind = if docker {
                    ManifestKind::DockerManifest
                } else {
                    ManifestKind::OciManifest
                };
                (
                    kind,
                    ManifestBody::Image(Box::new(image)),
                    Digest::sha256_of(bytes),
                )
            }
            mt::OCI_INDEX | mt::DOCKER_MANIFEST_LIST => {
                let docker = declared == mt::DOCKER_MANIFEST_LIST;
                let raw: RawManifest = from_value(value)?;
                check_header(&raw, &declared, docker)?;
                let index = build_index(raw, docker)?;
                let kind = if docker {
                    ManifestKind::DockerManifestList
                } else {
                    ManifestKind::OciIndex
                };
                (
                    kind,
                    ManifestBody::Index(Box::new(index)),
                    Digest::sha256_of(bytes),
                )
            }
            mt::DOCKER_SCHEMA1 | mt::DOCKER_SCHEMA1_SIGNED => {
                let raw: RawSchema1 = from_value(value)?;
                let (s1, payload_digest) = build_schema1(raw, bytes)?;
                let kind = ManifestKind::DockerSchema1 { signed: s1.signed };
                (kind, ManifestBody::Schema1(s1), payload_digest)
            }
            _ => return Err(ManifestError::UnsupportedMediaType(declared)),
        };

        Ok(ParsedManifest {
            bytes: bytes.to_vec(),
            digest,
            kind,
            body,
        })
    }

    /// The exact bytes received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the manifest, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The manifest digest (sha256 of the bytes; of the JWS payload for signed schema 1).
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Kind.
    pub fn kind(&self) -> ManifestKind {
        self.kind
    }

    /// The media type to store and serve (`Content-Type` on GET).
    pub fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    /// Parsed body.
    pub fn body(&self) -> &ManifestBody {
        &self.body
    }

    /// Whether this is an index / manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.body, ManifestBody::Index(_))
    }

    /// Config descriptor (image manifests only).
    pub fn config(&self) -> Option<&Descriptor> {
        match &self.body {
            ManifestBody::Image(m) => Some(&m.config),
            _ => None,
        }
    }

    /// Layer descriptors, base first (image manifests only; empty otherwise —
    /// schema 1 layers are in [`Schema1Manifest::fs_layers`]).
    pub fn layers(&self) -> &[Descriptor] {
        match &self.body {
            ManifestBody::Image(m) => &m.layers,
            _ => &[],
        }
    }

    /// Child manifest descriptors (indexes only), with platforms.
    pub fn manifests(&self) -> &[Descriptor] {
        match &self.body {
            ManifestBody::Index(i) => &i.manifests,
            _ => &[],
        }
    }

    /// Schema 1 body, if this is schema 1.
    pub fn schema1(&self) -> Option<&Schema1Manifest> {
        match &self.body {
            ManifestBody::Schema1(s) => Some(s),
            _ => None,
        }
    }

    /// `subject` descriptor (OCI 1.1 manifests and indexes).
    pub fn subject(&self) -> Option<&Descriptor> {
        match &self.body {
            ManifestBody::Image(m) => m.subject.as_ref(),
            ManifestBody::Index(i) => i.subject.as_ref(),
            ManifestBody::Schema1(_) => None,
        }
    }

    /// Digest of the `subject`, if any.
    pub fn subject_digest(&self) -> Option<&Digest> {
        self.subject().map(|s| &s.digest)
    }

    /// Top-level annotations (empty when absent).
    pub fn annotations(&self) -> Option<&BTreeMap<String, String>> {
        match &self.body {
            ManifestBody::Image(m) => Some(&m.annotations),
            ManifestBody::Index(i) => Some(&i.annotations),
            ManifestBody::Schema1(_) => None,
        }
    }

    /// Artifact type per image-spec: for OCI manifests `artifactType`, else
    /// `config.mediaType`; for OCI indexes `artifactType` only; `None` for Docker.
    pub fn artifact_type(&self) -> Option<&str> {
        match (&self.kind, &self.body) {
            (ManifestKind::OciManifest, ManifestBody::Image(m)) => Some(
                m.artifact_type
                    .as_deref()
                    .unwrap_or(m.config.media_type.as_str()),
            ),
            (ManifestKind::OciIndex, ManifestBody::Index(i)) => i.artifact_type.as_deref(),
            _ => None,
        }
    }

    /// Every blob the manifest references (config first, then layers; schema 1
    /// `blobSum`s), deduplicated, in first-seen order. Empty for indexes.
    pub fn referenced_blobs(&self) -> Vec<&Digest> {
        let all: Vec<&Digest> = match &self.body {
            ManifestBody::Image(m) => std::iter::once(&m.config.digest)
                .chain(m.layers.iter().map(|l| &l.digest))
                .collect(),
            ManifestBody::Schema1(s) => s.fs_layers.iter().collect(),
            ManifestBody::Index(_) => Vec::new(),
        };
        let mut out: Vec<&Digest> = Vec::with_capacity(all.len());
        for d in all {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }

    /// Blobs that must exist locally: [`Self::referenced_blobs`] minus
    /// non-distributable layers that carry `urls` (Quay's `local_blob_digests`).
    pub fn local_blobs(&self) -> Vec<&Digest> {
        let remote: Vec<&Digest> = self
            .layers()
            .iter()
            .filter(|l| l.is_non_distributable() && !l.urls.is_empty())
            .map(|l| &l.digest)
            .collect();
        let config = self.config().map(|c| &c.digest);
        self.referenced_blobs()
            .into_iter()
            .filter(|d| Some(*d) == config || !remote.contains(d))
            .collect()
    }

    /// Digests of child manifests (indexes only).
    pub fn child_digests(&self) -> Vec<&Digest> {
        self.manifests().iter().map(|m| &m.digest).collect()
    }
}

fn from_value<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ManifestError> {
    serde_json::from_value(v).map_err(|e| ManifestError::InvalidJson(e.to_string()))
}

fn check_header(raw: &RawManifest, declared: &str, required: bool) -> Result<(), ManifestError> {
    match &raw.schema_version {
        None => return Err(ManifestError::MissingField("schemaVersion".into())),
        Some(v) if v.as_f64() == Some(2.0) => {}
        Some(_) => return Err(ManifestError::InvalidSchemaVersion { expected: 2 }),
    }
    match &raw.media_type {
        None if required => Err(ManifestError::MissingField("mediaType".into())),
        None => Ok(()),
        Some(body) if body == declared => Ok(()),
        Some(body) => Err(ManifestError::MediaTypeMismatch {
            declared: declared.to_owned(),
            body: body.clone(),
        }),
    }
}

fn build_descriptor(raw: RawDescriptor, field: &str) -> Result<Descriptor, ManifestError> {
    let media_type = raw
        .media_type
        .ok_or_else(|| ManifestError::MissingField(format!("{field}.mediaType")))?;
    let digest_str = raw
        .digest
        .ok_or_else(|| ManifestError::MissingField(format!("{field}.digest")))?;
    let digest = Digest::parse(&digest_str).map_err(|error| ManifestError::InvalidDigest {
        field: format!("{field}.digest"),
        error,
    })?;
    let size = raw
        .size
        .ok_or_else(|| ManifestError::MissingField(format!("{field}.size")))?
        .as_u64()
        .ok_or_else(|| ManifestError::InvalidSize {
            field: format!("{field}.size"),
        })?;
    let platform = match raw.platform {
        None => None,
        Some(p) => Some(Platform {
            architecture: p.architecture.ok_or_else(|| {
                ManifestError::MissingField(format!("{field}.platform.architecture"))
            })?,
            os: p
                .os
                .ok_or_else(|| ManifestError::MissingField(format!("{field}.platform.os")))?,
            os_version: p.os_version,
            os_features: p.os_features.unwrap_or_default(),
            variant: p.variant,
            features: p.features.unwrap_or_default(),
        }),
    };
    Ok(Descriptor {
        media_type,
        digest,
        size,
        urls: raw.urls.unwrap_or_default(),
        annotations: raw.annotations.unwrap_or_default(),
        platform,
        artifact_type: raw.artifact_type,
    })
}

fn build_image(raw: RawManifest) -> Result<ImageManifest, ManifestError> {
    let config = build_descriptor(
        raw.config
            .ok_or_else(|| ManifestError::MissingField("config".into()))?,
        "config",
    )?;
    let raw_layers = raw
        .layers
        .ok_or_else(|| ManifestError::MissingField("layers".into()))?;
    let mut layers = Vec::with_capacity(raw_layers.len());
    for (i, l) in raw_layers.into_iter().enumerate() {
        let field = format!("layers[{i}]");
        let d = build_descriptor(l, &field)?;
        if d.is_non_distributable() && d.urls.is_empty() {
            return Err(ManifestError::MissingUrls { field });
        }
        layers.push(d);
    }
    let subject = raw
        .subject
        .map(|s| build_descriptor(s, "subject"))
        .transpose()?;
    Ok(ImageManifest {
        config,
        layers,
        subject,
        artifact_type: raw.artifact_type,
        annotations: raw.annotations.unwrap_or_default(),
    })
}

fn build_index(raw: RawManifest, docker: bool) -> Result<ImageIndex, ManifestError> {
    let raw_children = raw
        .manifests
        .ok_or_else(|| ManifestError::MissingField("manifests".into()))?;
    let mut manifests = Vec::with_capacity(raw_children.len());
    for (i, m) in raw_children.into_iter().enumerate() {
        let field = format!("manifests[{i}]");
        let d = build_descriptor(m, &field)?;
        if docker && d.platform.is_none() {
            return Err(ManifestError::MissingField(format!("{field}.platform")));
        }
        manifests.push(d);
    }
    let subject = raw
        .subject
        .map(|s| build_descriptor(s, "subject"))
        .transpose()?;
    Ok(ImageIndex {
        manifests,
        subject,
        artifact_type: raw.artifact_type,
        annotations: raw.annotations.unwrap_or_default(),
    })
}

fn build_schema1(
    raw: RawSchema1,
    bytes: &[u8],
) -> Result<(Schema1Manifest, Digest), ManifestError> {
    let tag = raw
        .tag
        .ok_or_else(|| ManifestError::MissingField("tag".into()))?;
    let name = raw
        .name
        .ok_or_else(|| ManifestError::MissingField("name".into()))?;
    let fs = raw
        .fs_layers
        .ok_or_else(|| ManifestError::MissingField("fsLayers".into()))?;
    let history = raw
        .history
        .ok_or_else(|| ManifestError::MissingField("history".into()))?;

    // Quay zips fsLayers with history (extra entries on either side are ignored).
    let mut fs_layers = Vec::new();
    let mut v1_ids = Vec::new();
    for (i, (layer, hist)) in fs.into_iter().zip(history).enumerate() {
        let blob = layer
            .blob_sum
            .ok_or_else(|| ManifestError::MissingField(format!("fsLayers[{i}].blobSum")))?;
        let digest = Digest::parse(&blob).map_err(|error| ManifestError::InvalidDigest {
            field: format!("fsLayers[{i}].blobSum"),
            error,
        })?;
        let compat = hist
            .v1_compatibility
            .ok_or_else(|| ManifestError::MissingField(format!("history[{i}].v1Compatibility")))?;
        let v: Value =
            serde_json::from_str(&compat).map_err(|e| ManifestError::Schema1V1Compatibility {
                index: i,
                reason: e.to_string(),
            })?;
        let id = v.get("id").and_then(Value::as_str).ok_or_else(|| {
            ManifestError::Schema1V1Compatibility {
                index: i,
                reason: "id field missing from v1Compatibility JSON".into(),
            }
        })?;
        fs_layers.push(digest);
        v1_ids.push(id.to_owned());
    }
    if fs_layers.is_empty() {
        return Err(ManifestError::Schema1NoLayers);
    }

    let signatures = raw.signatures.unwrap_or_default();
    let signed = !signatures.is_empty();
    let digest = match signatures.first() {
        None => Digest::sha256_of(bytes),
        Some(sig) => Digest::sha256_of(&schema1_payload(sig, bytes)?),
    };
    Ok((
        Schema1Manifest {
            name,
            tag,
            architecture: raw.architecture,
            fs_layers,
            v1_ids,
            signed,
        },
        digest,
    ))
}

/// The signed payload of a JWS-signed schema 1 manifest: the first
/// `formatLength` bytes followed by the base64url-decoded `formatTail`, both
/// read from the first signature's `protected` header.
fn schema1_payload(sig: &RawSignature, bytes: &[u8]) -> Result<Vec<u8>, ManifestError> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |s: &str| b64.decode(s.trim_end_matches('='));
    let protected = sig
        .protected
        .as_deref()
        .ok_or_else(|| ManifestError::MissingField("signatures[0].protected".into()))?;
    let header_bytes = decode(protected)
        .map_err(|e| ManifestError::Schema1Signature(format!("protected header: {e}")))?;
    let header: RawProtected = serde_json::from_slice(&header_bytes)
        .map_err(|e| ManifestError::Schema1Signature(format!("protected header: {e}")))?;
    let len = header
        .format_length
        .and_then(|v| v.as_u64())
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| ManifestError::Schema1Signature("missing formatLength".into()))?;
    let tail = header
        .format_tail
        .ok_or_else(|| ManifestError::Schema1Signature("missing formatTail".into()))?;
    let tail =
        decode(&tail).map_err(|e| ManifestError::Schema1Signature(format!("formatTail: {e}")))?;
    let head = bytes
        .get(..len)
        .ok_or_else(|| ManifestError::Schema1Signature("formatLength exceeds manifest".into()))?;
    let mut payload = head.to_vec();
    payload.extend_from_slice(&tail);
    Ok(payload)
}

/// Applies Quay's `ALLOWED_OCI_ARTIFACT_TYPES` rule (when
/// `IGNORE_UNKNOWN_MEDIATYPES` is off) to an OCI image manifest: the config media
/// type must be `application/vnd.oci.image.config.v1+json` or a key of
/// `allowed`; each layer type must be an OCI layer type or appear in any of the
/// allowed lists (Quay registers all of them globally). Other kinds pass.
pub fn check_artifact_types(
    manifest: &ParsedManifest,
    allowed: &[(&str, &[&str])],
) -> Result<(), ManifestError> {
    let ManifestBody::Image(m) = manifest.body() else {
        return Ok(());
    };
    if manifest.kind() != ManifestKind::OciManifest {
        return Ok(());
    }
    let cfg = m.config.media_type.as_str();
    if cfg != mt::OCI_CONFIG && !allowed.iter().any(|(c, _)| *c == cfg) {
        return Err(ManifestError::DisallowedMediaType {
            field: "config.mediaType".into(),
            media_type: cfg.to_owned(),
        });
    }
    for (i, l) in m.layers.iter().enumerate() {
        let t = l.media_type.as_str();
        let ok = mt::OCI_LAYER_TYPES.contains(&t) || allowed.iter().any(|(_, ls)| ls.contains(&t));
        if !ok {
            return Err(ManifestError::DisallowedMediaType {
                field: format!("layers[{i}].mediaType"),
                media_type: t.to_owned(),
            });
        }
    }
    Ok(())
}

/// Whether `manifest` is an OCI 1.1 artifact in the image-spec's recommended
/// shape: an OCI image manifest with `artifactType` and the empty config
/// descriptor type (`application/vnd.oci.empty.v1+json`).
pub fn is_oci11_artifact(manifest: &ParsedManifest) -> bool {
    match manifest.body() {
        ManifestBody::Image(m) => {
            manifest.kind() == ManifestKind::OciManifest
                && m.artifact_type.as_deref().is_some_and(|t| !t.is_empty())
                && m.config.media_type == mt::OCI_EMPTY
        }
        _ => false,
    }
}

/// The artifact-type policy of a deployment, built from Quay's configuration
/// the way Quay registers types at start-up: `application/vnd.oci.image.config.v1+json`
/// and the OCI layer types always; every `ALLOWED_OCI_ARTIFACT_TYPES` entry when
/// `FEATURE_GENERAL_OCI_SUPPORT` is on; the Helm config and layer types when
/// `FEATURE_HELM_OCI_SUPPORT` is on. `IGNORE_UNKNOWN_MEDIATYPES` switches the
/// check off.
///
/// One deliberate extension (see docs/REGISTRY.md): OCI 1.1 artifacts
/// ([`is_oci11_artifact`]) are accepted whatever their layer types, because the
/// image-spec names `artifactType` + the empty config as *the* way to package
/// arbitrary content, and an allow-list keyed on the config media type cannot
/// describe them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArtifactPolicy {
    /// Registered config media type → extra layer media types.
    pub registered: Vec<(String, Vec<String>)>,
    /// `IGNORE_UNKNOWN_MEDIATYPES`.
    pub ignore_unknown_mediatypes: bool,
}

impl ArtifactPolicy {
    /// Registers types as Quay's `app.py` does.
    pub fn from_config<'a, I>(
        general_oci_support: bool,
        helm_oci_support: bool,
        allowed_oci_artifact_types: I,
        ignore_unknown_mediatypes: bool,
    ) -> ArtifactPolicy
    where
        I: IntoIterator<Item = (&'a String, &'a Vec<String>)>,
    {
        let mut registered: Vec<(String, Vec<String>)> = Vec::new();
        if general_oci_support {
            for (config, layers) in allowed_oci_artifact_types {
                registered.push((config.clone(), layers.clone()));
            }
        }
        if helm_oci_support {
            registered.push((
                mt::HELM_CONFIG.to_owned(),
                vec![mt::TAR_GZIP.to_owned(), mt::HELM_CHART_CONTENT.to_owned()],
            ));
        }
        ArtifactPolicy {
            registered,
            ignore_unknown_mediatypes,
        }
    }

    /// Quay's defaults (`FEATURE_GENERAL_OCI_SUPPORT`, `FEATURE_HELM_OCI_SUPPORT`
    /// and the default `ALLOWED_OCI_ARTIFACT_TYPES`).
    pub fn quay_default() -> ArtifactPolicy {
        let mut registered: Vec<(String, Vec<String>)> = mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES
            .iter()
            .map(|(c, ls)| {
                (
                    (*c).to_owned(),
                    ls.iter().map(|l| (*l).to_owned()).collect(),
                )
            })
            .collect();
        registered.push((
            mt::HELM_CONFIG.to_owned(),
            vec![mt::TAR_GZIP.to_owned(), mt::HELM_CHART_CONTENT.to_owned()],
        ));
        ArtifactPolicy {
            registered,
            ignore_unknown_mediatypes: false,
        }
    }

    /// Checks an incoming manifest. Only OCI image manifests are subject to the
    /// policy (as in Quay); OCI 1.1 artifacts pass (see the type's docs).
    pub fn check(&self, manifest: &ParsedManifest) -> Result<(), ManifestError> {
        if self.ignore_unknown_mediatypes || is_oci11_artifact(manifest) {
            return Ok(());
        }
        let allowed: Vec<(&str, Vec<&str>)> = self
            .registered
            .iter()
            .map(|(c, ls)| (c.as_str(), ls.iter().map(String::as_str).collect()))
            .collect();
        let refs: Vec<(&str, &[&str])> =
            allowed.iter().map(|(c, ls)| (*c, ls.as_slice())).collect();
        check_artifact_types(manifest, &refs)
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn manifest(
        config_type: &str,
        layer_type: &str,
        artifact_type: Option<&str>,
    ) -> ParsedManifest {
        let at = artifact_type
            .map(|t| format!(r#""artifactType":"{t}","#))
            .unwrap_or_default();
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}",{at}"config":{{"mediaType":"{config_type}","digest":"{D1}","size":2}},"layers":[{{"mediaType":"{layer_type}","digest":"{D2}","size":3}}]}}"#,
            mt::OCI_MANIFEST
        );
        ParsedManifest::parse(body.as_bytes(), Some(mt::OCI_MANIFEST)).expect("parses")
    }

    #[test]
    fn quay_default_accepts_images_helm_and_registered_types() {
        let p = ArtifactPolicy::quay_default();
        assert_eq!(
            p.check(&manifest(mt::OCI_CONFIG, mt::OCI_LAYER_TAR_GZIP, None)),
            Ok(())
        );
        assert_eq!(
            p.check(&manifest(mt::HELM_CONFIG, mt::HELM_CHART_CONTENT, None)),
            Ok(())
        );
        assert_eq!(
            p.check(&manifest(
                mt::OCI_CONFIG,
                "application/vnd.in-toto+json",
                None
            )),
            Ok(())
        );
    }

    #[test]
    fn disallowed_config_and_layer_types_are_refused() {
        let p = ArtifactPolicy::quay_default();
        assert_eq!(
            p.check(&manifest("application/x-custom", mt::OCI_LAYER_TAR, None)),
            Err(ManifestError::DisallowedMediaType {
                field: "config.mediaType".into(),
                media_type: "application/x-custom".into()
            })
        );
        assert_eq!(
            p.check(&manifest(mt::OCI_CONFIG, "text/plain", None)),
            Err(ManifestError::DisallowedMediaType {
                field: "layers[0].mediaType".into(),
                media_type: "text/plain".into()
            })
        );
        // The empty config without artifactType is not an OCI 1.1 artifact.
        assert!(p
            .check(&manifest(mt::OCI_EMPTY, "text/plain", None))
            .is_err());
        // An empty artifactType does not count either.
        assert!(p
            .check(&manifest(mt::OCI_EMPTY, "text/plain", Some("")))
            .is_err());
    }

    #[test]
    fn oci11_artifacts_pass_whatever_their_layers() {
        let p = ArtifactPolicy::quay_default();
        let m = manifest(mt::OCI_EMPTY, "text/plain", Some("application/vnd.example"));
        assert!(is_oci11_artifact(&m));
        assert_eq!(p.check(&m), Ok(()));
        // The raw Quay rule still refuses it.
        assert!(check_artifact_types(&m, mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES).is_err());
        // artifactType with a non-empty, unregistered config is still checked.
        assert!(p
            .check(&manifest("application/x-custom", "text/plain", Some("a/b")))
            .is_err());
    }

    #[test]
    fn feature_flags_register_types() {
        let mut allowed = std::collections::BTreeMap::new();
        allowed.insert(
            "application/x-custom".to_owned(),
            vec!["x/layer".to_owned()],
        );
        let on = ArtifactPolicy::from_config(true, false, &allowed, false);
        assert_eq!(
            on.check(&manifest("application/x-custom", "x/layer", None)),
            Ok(())
        );
        assert!(on
            .check(&manifest(mt::HELM_CONFIG, mt::HELM_CHART_CONTENT, None))
            .is_err());
        let off = ArtifactPolicy::from_config(false, true, &allowed, false);
        assert!(off
            .check(&manifest("application/x-custom", "x/layer", None))
            .is_err());
        assert_eq!(
            off.check(&manifest(mt::HELM_CONFIG, mt::TAR_GZIP, None)),
            Ok(())
        );
        assert_eq!(
            off.check(&manifest(mt::OCI_CONFIG, mt::OCI_LAYER_TAR, None)),
            Ok(())
        );
        let ignore = ArtifactPolicy::from_config(false, false, &allowed, true);
        assert_eq!(ignore.check(&manifest("q/r", "s/t", None)), Ok(()));
    }
}
