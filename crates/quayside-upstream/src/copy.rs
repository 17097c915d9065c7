//! Copying an image from one registry to another.
//!
//! An index (OCI or Docker manifest list) is copied with every child it names, children
//! first, then the index itself — so the destination never names a manifest it lacks. A
//! manifest's blobs (config and layers; foreign and non-distributable layers stay where they
//! are) go before it. A blob the destination already has is not sent again, which makes a
//! repeated copy resume where an interrupted one stopped. Each blob streams from source to
//! destination without being held in memory; its sha256 is computed on the way and a
//! mismatch breaks the upload before it can complete, so the destination never stores a
//! blob under the wrong digest. Manifests keep their exact bytes, hence their digests.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use sha2::Digest as _;

use crate::client::{ByteStream, FetchedManifest, RegistryClient, UpstreamError};

/// What a copy reports as it goes (for a progress bar).
pub trait Progress: Send + Sync {
    /// A blob starts streaming.
    fn blob_started(&self, _digest: &str, _size: Option<u64>) {}
    /// Bytes of the current blob went through.
    fn blob_bytes(&self, _n: u64) {}
    /// A blob is at the destination (`copied`: sent now; else it was already there).
    fn blob_done(&self, _digest: &str, _copied: bool) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What one copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOutcome {
    /// The digest of the top manifest (the one the reference named).
    pub digest: String,
    pub media_type: String,
    /// Manifests written (the top one and, for an index, its children).
    pub manifests: usize,
    pub blobs_copied: usize,
    /// Blobs the destination had already.
    pub blobs_present: usize,
    pub bytes_copied: u64,
    /// Digests of every manifest written, children first.
    pub manifest_digests: Vec<String>,
}

fn is_index(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/vnd.oci.image.index.v1+json"
            | "application/vnd.docker.distribution.manifest.list.v2+json"
    )
}

/// Layers a registry does not serve (they are fetched from their `urls`).
fn is_foreign(media_type: &str) -> bool {
    media_type.contains("foreign") || media_type.contains("nondistributable")
}

fn parse(m: &FetchedManifest) -> Result<serde_json::Value, UpstreamError> {
    serde_json::from_slice(&m.bytes)
        .map_err(|e| UpstreamError::Invalid(format!("manifest {} does not parse: {e}", m.digest)))
}

fn descriptor_digest(d: &serde_json::Value) -> Result<String, UpstreamError> {
    d["digest"]
        .as_str()
        .filter(|s| {
            s.strip_prefix("sha256:").is_some_and(|h| {
                h.len() == 64
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
        })
        .map(str::to_owned)
        .ok_or_else(|| UpstreamError::Invalid(format!("a descriptor names no sha256 digest: {d}")))
}

/// `body` with its sha256 checked against `expected` at the end (a mismatch is an error
/// in place of the end of the stream) and each chunk reported.
fn verified(body: ByteStream, expected: String, progress: Arc<dyn Progress>) -> ByteStream {
    struct St {
        body: ByteStream,
        hasher: sha2::Sha256,
        expected: String,
        progress: Arc<dyn Progress>,
        finished: bool,
    }
    let st = St {
        body,
        hasher: sha2::Sha256::new(),
        expected,
        progress,
        finished: false,
    };
    Box::pin(futures::stream::unfold(st, |mut st| async move {
        if st.finished {
            return None;
        }
        match st.body.next().await {
            Some(Ok(chunk)) => {
                st.hasher.update(&chunk);
                st.progress.blob_bytes(chunk.len() as u64);
                Some((Ok(chunk), st))
            }
            Some(Err(e)) => {
                st.finished = true;
                Some((Err(e), st))
            }
            None => {
                st.finished = true;
                let got = format!("sha256:{}", hex::encode(st.hasher.clone().finalize()));
                if got == st.expected {
                    None
                } else {
                    let e = UpstreamError::Invalid(format!(
                        "the source sent content hashing to {got} for blob {}",
                        st.expected
                    ));
                    Some((Err(e), st))
                }
            }
        }
    }))
}

struct Copier<'a> {
    src: &'a RegistryClient,
    src_repo: &'a str,
    dst: &'a RegistryClient,
    dst_repo: &'a str,
    progress: Arc<dyn Progress>,
    out: CopyOutcome,
}

impl Copier<'_> {
    async fn blob(&mut self, digest: &str, size: Option<u64>) -> Result<(), UpstreamError> {
        if self.dst.blob_exists(self.dst_repo, digest).await? {
            self.out.blobs_present += 1;
            self.progress.blob_done(digest, false);
            return Ok(());
        }
        let (len, body) = self.src.get_blob(self.src_repo, digest).await?;
        let len = len.or(size);
        self.progress.blob_started(digest, len);
        let body = verified(body, digest.to_owned(), self.progress.clone());
        self.dst.push_blob(self.dst_repo, digest, len, body).await?;
        self.out.blobs_copied += 1;
        self.out.bytes_copied += len.unwrap_or(0);
        self.progress.blob_done(digest, true);
        Ok(())
    }

    /// Copies `m` (and what it needs) and stores it by digest.
    async fn manifest(&mut self, m: &FetchedManifest) -> Result<(), UpstreamError> {
        let doc = parse(m)?;
        if is_index(&m.media_type) {
            let children = doc["manifests"].as_array().cloned().unwrap_or_default();
            for child in &children {
                let digest = descriptor_digest(child)?;
                let fetched = self.src.get_manifest(self.src_repo, &digest).await?;
                Box::pin(self.manifest(&fetched)).await?;
            }
        } else {
            let mut blobs: Vec<(String, Option<u64>)> = Vec::new();
            if doc["config"].is_object() {
                blobs.push((
                    descriptor_digest(&doc["config"])?,
                    doc["config"]["size"].as_u64(),
                ));
            }
            for layer in doc["layers"].as_array().into_iter().flatten() {
                if is_foreign(layer["mediaType"].as_str().unwrap_or_default()) {
                    continue;
                }
                blobs.push((descriptor_digest(layer)?, layer["size"].as_u64()));
            }
            let mut seen = std::collections::HashSet::new();
            for (digest, size) in blobs {
                if seen.insert(digest.clone()) {
                    self.blob(&digest, size).await?;
                }
            }
        }
        self.dst
            .put_manifest(self.dst_repo, &m.digest, &m.media_type, m.bytes.clone())
            .await?;
        self.out.manifests += 1;
        self.out.manifest_digests.push(m.digest.clone());
        Ok(())
    }
}

/// Copies `src_repo:reference` (a tag or a digest) into `dst_repo`, then tags it `dst_tag`
/// there when given.
pub async fn copy_image(
    src: &RegistryClient,
    src_repo: &str,
    reference: &str,
    dst: &RegistryClient,
    dst_repo: &str,
    dst_tag: Option<&str>,
    progress: Arc<dyn Progress>,
) -> Result<CopyOutcome, UpstreamError> {
    let top = src.get_manifest(src_repo, reference).await?;
    let mut c = Copier {
        src,
        src_repo,
        dst,
        dst_repo,
        progress,
        out: CopyOutcome::default(),
    };
    c.manifest(&top).await?;
    if let Some(tag) = dst_tag {
        dst.put_manifest(dst_repo, tag, &top.media_type, Bytes::clone(&top.bytes))
            .await?;
    }
    let mut out = c.out;
    out.digest = top.digest;
    out.media_type = top.media_type;
    Ok(out)
}
