//! Where a chunked upload keeps its bytes between requests, per driver.
//!
//! A filesystem can append, so a LocalStorage upload is one object, `uploads/<uuid>`, that
//! each chunk extends in place. An object store cannot: rewriting the object per chunk would
//! copy everything sent so far on every `PATCH`. There each chunk becomes its own object
//! (a *part*, `uploads/<uuid>.<random>`, streamed as the chunk arrives), the list of parts is
//! kept with the upload's `blobupload.storage_metadata`, and the blob is assembled once, when
//! the upload completes, by the store itself where it can (S3 `UploadPartCopy`) and by
//! streaming where it cannot.

use futures::StreamExt;
use opendal::ErrorKind;
use serde::{Deserialize, Serialize};

use crate::engine::{ByteStream, Engine};
use crate::{layout, StorageError};

/// How an [`Engine`] keeps an upload in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadStyle {
    /// One object, `uploads/<uuid>`, extended in place by each chunk.
    Append,
    /// One object per chunk ([`UploadParts`]), assembled at completion.
    Parts,
}

/// The parts an upload has written so far, in order, as kept in
/// `blobupload.storage_metadata` (`{"parts": [{"path", "offset", "length"}]}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadParts {
    #[serde(default)]
    pub parts: Vec<UploadPart>,
}

/// One part: `length` bytes of the upload from `offset`, in the object `path`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPart {
    pub path: String,
    pub offset: u64,
    pub length: u64,
}

impl UploadParts {
    /// Reads `storage_metadata`; a row written by Quay or by an appending upload (`{}`, empty
    /// or absent) holds no parts. Parts must follow each other from offset 0.
    pub fn from_metadata(metadata: Option<&str>) -> Result<UploadParts, StorageError> {
        let text = metadata.map(str::trim).unwrap_or("");
        if text.is_empty() {
            return Ok(UploadParts::default());
        }
        let parts: UploadParts = serde_json::from_str(text)
            .map_err(|e| StorageError::UploadMetadata(format!("{e}: {text}")))?;
        let mut end = 0u64;
        for p in &parts.parts {
            if p.offset != end || !p.path.starts_with(layout::UPLOADS_PREFIX) {
                return Err(StorageError::UploadMetadata(format!(
                    "part {} at {} does not follow byte {end}",
                    p.path, p.offset
                )));
            }
            end = end.saturating_add(p.length);
        }
        Ok(parts)
    }

    /// The JSON kept in `storage_metadata`.
    pub fn to_metadata(&self) -> String {
        // A struct of strings and integers always serializes.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Bytes covered by the parts.
    pub fn len(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.offset + p.length)
    }

    /// Checks that the parts hold exactly the `offset` bytes the upload's row counts.
    pub fn check_covers(&self, offset: u64) -> Result<(), StorageError> {
        if self.len() == offset {
            return Ok(());
        }
        Err(StorageError::UploadMetadata(format!(
            "parts hold {} bytes, the upload row counts {offset}",
            self.len()
        )))
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// These parts plus `part` (a chunk written after them); empty chunks add nothing.
    pub fn with(&self, part: UploadPart) -> UploadParts {
        let mut next = self.clone();
        if part.length > 0 {
            next.parts.push(part);
        }
        next
    }
}

/// S3's limit for one copied range; a larger part is copied in several ranges.
const MAX_COPY_RANGE: u64 = 5 * 1024 * 1024 * 1024;
/// Part size for assembling a blob: what is held in memory per assembly at most.
const ASSEMBLY_CHUNK: usize = 16 * 1024 * 1024;
/// Parts copied at once while assembling (server-side copies on S3, so little is held here).
const ASSEMBLY_CONCURRENCY: usize = 4;

impl Engine {
    /// How this location keeps an upload in progress.
    pub fn upload_style(&self) -> UploadStyle {
        if self.can_append() {
            UploadStyle::Append
        } else {
            UploadStyle::Parts
        }
    }

    /// The first `len` bytes of an upload kept in parts, as one stream.
    pub async fn stream_parts(
        &self,
        parts: &UploadParts,
        len: u64,
    ) -> Result<ByteStream, StorageError> {
        if len > parts.len() {
            return Err(StorageError::UploadMetadata(format!(
                "{len} bytes asked of parts that hold {}",
                parts.len()
            )));
        }
        let mut streams = Vec::new();
        for p in &parts.parts {
            if p.offset >= len {
                break;
            }
            let take = p.length.min(len - p.offset);
            streams.push(self.stream(&p.path, Some(0..take)).await?);
        }
        Ok(Box::pin(futures::stream::iter(streams).flatten()))
    }

    /// Writes the blob `to` from an upload's parts, then removes the parts. When `to` already
    /// exists (content addressing: the same bytes) the parts are only removed. Returns whether
    /// `to` was written. An empty upload becomes an empty object.
    pub async fn assemble(&self, parts: &UploadParts, to: &str) -> Result<bool, StorageError> {
        if self.exists(to).await? {
            self.delete_parts(&part_paths(parts)).await?;
            return Ok(false);
        }
        if parts.is_empty() {
            self.put(to, bytes::Bytes::new()).await?;
            return Ok(true);
        }
        // The common push (one PATCH, or a monolithic PUT) is one part: moved by the store
        // (a server-side copy on S3, within its single-copy limit).
        if let [only] = parts.parts.as_slice() {
            if only.length <= MAX_COPY_RANGE {
                self.rename(&only.path, to).await?;
                return Ok(true);
            }
        }
        let mut w = self
            .op()
            .writer_with(to)
            .chunk(ASSEMBLY_CHUNK)
            .concurrent(ASSEMBLY_CONCURRENCY)
            .await
            .map_err(|e| self.dal_err("open for write", to, e))?;
        let copied = async {
            for p in &parts.parts {
                let mut start = 0u64;
                while start < p.length {
                    let end = (start + MAX_COPY_RANGE).min(p.length);
                    w.copy_from(&p.path, start..end)
                        .await
                        .map_err(|e| self.dal_err("copy", &p.path, e))?;
                    start = end;
                }
            }
            w.close().await.map_err(|e| self.dal_err("write", to, e))
        }
        .await;
        if let Err(e) = copied {
            let _ = w.abort().await;
            return Err(e);
        }
        self.delete_parts(&part_paths(parts)).await?;
        Ok(true)
    }

    /// Removes everything an upload wrote: its object and its parts. Missing objects are fine.
    pub async fn delete_upload(
        &self,
        id: &uuid::Uuid,
        parts: &UploadParts,
    ) -> Result<(), StorageError> {
        self.delete(&layout::upload_path(id)).await?;
        self.delete_parts(&part_paths(parts)).await?;
        if self.upload_style() == UploadStyle::Parts {
            // A part a PATCH wrote but never recorded (the process died, or the request
            // ended, between the write and the row update) is found by its name.
            let orphans = self.list(&layout::upload_part_prefix(id)).await?;
            let orphans: Vec<&str> = orphans.iter().map(String::as_str).collect();
            self.delete_parts(&orphans).await?;
        }
        Ok(())
    }

    async fn delete_parts(&self, paths: &[&str]) -> Result<(), StorageError> {
        for path in paths.iter().copied() {
            match self.delete(path).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn dal_err(&self, op: &'static str, path: &str, e: opendal::Error) -> StorageError {
        if e.kind() == ErrorKind::NotFound {
            StorageError::NotFound {
                location: self.id().to_string(),
                path: path.to_string(),
            }
        } else {
            StorageError::Backend {
                location: self.id().to_string(),
                op,
                path: path.to_string(),
                source: Box::new(e),
            }
        }
    }
}

/// The object paths of an upload's recorded parts.
fn part_paths(parts: &UploadParts) -> Vec<&str> {
    parts.parts.iter().map(|p| p.path.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_empty_means_no_parts() {
        for empty in [None, Some(""), Some("{}"), Some("  ")] {
            assert_eq!(
                UploadParts::from_metadata(empty).expect("empty"),
                UploadParts::default()
            );
        }
        let parts = UploadParts::default()
            .with(UploadPart {
                path: "uploads/a.1".into(),
                offset: 0,
                length: 10,
            })
            .with(UploadPart {
                path: "uploads/a.2".into(),
                offset: 10,
                length: 0,
            })
            .with(UploadPart {
                path: "uploads/a.3".into(),
                offset: 10,
                length: 5,
            });
        assert_eq!(parts.parts.len(), 2, "an empty chunk adds no part");
        assert_eq!(parts.len(), 15);
        let text = parts.to_metadata();
        assert_eq!(
            UploadParts::from_metadata(Some(&text)).expect("parse"),
            parts
        );
    }

    #[test]
    fn metadata_that_does_not_add_up_is_refused() {
        for bad in [
            r#"{"parts": [{"path": "uploads/a", "offset": 3, "length": 1}]}"#,
            r#"{"parts": [{"path": "sha256/ab/x", "offset": 0, "length": 1}]}"#,
            r#"{"parts": "nope"}"#,
            "not json",
        ] {
            assert!(
                matches!(
                    UploadParts::from_metadata(Some(bad)),
                    Err(StorageError::UploadMetadata(_))
                ),
                "{bad}"
            );
        }
    }
}
