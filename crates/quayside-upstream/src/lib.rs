//! quayside-upstream: quayside as a client of other registries.
//!
//! * [`reference`] — image references as docker, podman and skopeo read them
//!   (`[host[:port]/]path[:tag][@digest]`, Docker Hub's defaults).
//! * [`client`] — the Distribution API against one registry: the `/v2/` challenge, Bearer
//!   tokens per scope (or Basic), manifests, blobs streamed both ways, errors as the
//!   registry gave them.
//! * [`copy`] — copying an image (an index with every child, or one manifest with its
//!   blobs) from one registry to another, streaming and verifying each blob's digest, and
//!   skipping blobs the destination already has so that a repeated copy resumes.
//! * [`mapping`] — what points a cluster at a mirror: `ImageContentSourcePolicy`,
//!   `ImageDigestMirrorSet` and a `registries.conf` stanza.
//! * [`ssrf`] — which registries a user may point quayside at (Quay's SSRF rules).
//!
//! Used by `quayside mirror` (copying images for disconnected clusters), by repository
//! mirroring (the API checks references with [`ssrf`], the mirror worker copies with
//! [`copy`]); the proxy cache will use the same client.

pub mod client;
pub mod copy;
pub mod mapping;
pub mod reference;
pub mod ssrf;

pub use client::{Credentials, RegistryClient, UpstreamError};
pub use copy::{copy_image, CopyOutcome, Progress};
pub use reference::ImageReference;
