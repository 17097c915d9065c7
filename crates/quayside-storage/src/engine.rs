//! One storage location: object operations on Quay's layout, streaming only.

use std::ops::Range;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use opendal::{ErrorKind, Operator};
use sha2::{Digest as _, Sha256};

use crate::driver::{self, DriverKind, LocationConfig};
use crate::layout;
use crate::StorageError;

/// A byte stream read from storage; chunks arrive as the backend yields them.
pub type ByteStream = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// One named storage location (an `imagestoragelocation`).
#[derive(Clone, Debug)]
pub struct Engine {
    id: String,
    kind: DriverKind,
    op: Operator,
}

impl Engine {
    /// Opens a location from its Quay configuration.
    pub fn open(loc: &LocationConfig) -> Result<Engine, StorageError> {
        let (kind, op) = driver::build_operator(loc)?;
        Ok(Engine {
            id: loc.id.clone(),
            kind,
            op,
        })
    }

    /// An in-process location that keeps objects in memory. For tests only: no
    /// configuration can select it.
    pub fn memory(id: &str) -> Engine {
        Engine {
            id: id.to_string(),
            kind: DriverKind::Memory,
            op: driver::memory_operator(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> DriverKind {
        self.kind
    }

    /// Writes a small object whole (probe files, manifests). Blobs go through
    /// [`Engine::writer`].
    pub async fn put(&self, path: &str, data: impl Into<Bytes>) -> Result<(), StorageError> {
        check_path(&self.id, path)?;
        self.op
            .write(path, data.into())
            .await
            .map(|_| ())
            .map_err(|e| self.err("write", path, e))
    }

    /// Reads a small object whole.
    pub async fn get(&self, path: &str) -> Result<Bytes, StorageError> {
        check_path(&self.id, path)?;
        self.op
            .read(path)
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| self.err("read", path, e))
    }

    /// Size in bytes of an object, or `None` when it does not exist.
    pub async fn size(&self, path: &str) -> Result<Option<u64>, StorageError> {
        check_path(&self.id, path)?;
        match self.op.stat(path).await {
            Ok(meta) => Ok(Some(meta.content_length())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("stat", path, e)),
        }
    }

    pub async fn exists(&self, path: &str) -> Result<bool, StorageError> {
        Ok(self.size(path).await?.is_some())
    }

    /// Streams an object, or the byte range `range` of it (end exclusive).
    pub async fn stream(
        &self,
        path: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StorageError> {
        check_path(&self.id, path)?;
        let reader = self
            .op
            .reader_with(path)
            .chunk(256 * 1024)
            .await
            .map_err(|e| self.err("open", path, e))?;
        let stream = match range {
            Some(r) => reader.into_bytes_stream(r).await,
            None => reader.into_bytes_stream(..).await,
        }
        .map_err(|e| self.err("read", path, e))?;
        Ok(Box::pin(stream))
    }

    /// Starts a streaming write; the digest and length are computed as bytes
    /// pass. With `append`, bytes are added to an existing object (chunked
    /// uploads on drivers that can append).
    pub async fn writer(&self, path: &str, append: bool) -> Result<HashingWriter, StorageError> {
        check_path(&self.id, path)?;
        let inner = self
            .op
            .writer_with(path)
            .append(append)
            .await
            .map_err(|e| self.err("open for write", path, e))?;
        Ok(HashingWriter {
            engine: self.clone(),
            path: path.to_string(),
            inner,
            hasher: Sha256::new(),
            len: 0,
        })
    }

    /// Whether chunked uploads can append in place on this driver.
    pub fn can_append(&self) -> bool {
        self.op.info().capability().write_can_append
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, path: &str) -> Result<(), StorageError> {
        check_path(&self.id, path)?;
        match self.op.delete(path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err("delete", path, e)),
        }
    }

    /// Moves an object (an upload into its content-addressed place). Uses the
    /// driver's rename where it has one, else copy then delete.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        check_path(&self.id, from)?;
        check_path(&self.id, to)?;
        if !self.exists(from).await? {
            return Err(StorageError::NotFound {
                location: self.id.clone(),
                path: from.to_string(),
            });
        }
        let cap = self.op.info().capability();
        if cap.rename {
            return self
                .op
                .rename(from, to)
                .await
                .map_err(|e| self.err("rename", from, e));
        }
        if cap.copy {
            self.op
                .copy(from, to)
                .await
                .map_err(|e| self.err("copy", from, e))?;
        } else {
            // No server-side move at all: stream the bytes across.
            let source = self.stream(from, None).await?;
            let mut w = self.writer(to, false).await?;
            if let Err(e) = w.write_stream(source).await {
                let _ = w.abort().await;
                return Err(match e {
                    WriteStreamError::Storage(e) => e,
                    WriteStreamError::Source(io) => StorageError::Backend {
                        location: self.id.clone(),
                        op: "copy",
                        path: from.to_string(),
                        source: Box::new(opendal::Error::new(
                            ErrorKind::Unexpected,
                            io.to_string(),
                        )),
                    },
                });
            }
            w.finish().await?;
        }
        self.delete(from).await
    }

    /// Lists object paths under a prefix ending in `/`, recursively.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        check_path(&self.id, prefix)?;
        let lister = match self.op.lister_with(prefix).recursive(true).await {
            Ok(l) => l,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err("list", prefix, e)),
        };
        let entries: Vec<opendal::Entry> = lister
            .try_collect()
            .await
            .map_err(|e| self.err("list", prefix, e))?;
        let mut paths: Vec<String> = entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| e.path().to_string())
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// Quay's storage health probe: write `_verify` and read it back.
    pub async fn validate(&self) -> Result<(), StorageError> {
        self.put(
            layout::VERIFY_PATH,
            Bytes::from_static(layout::VERIFY_CONTENTS),
        )
        .await?;
        let found = self.get(layout::VERIFY_PATH).await?;
        if found.as_ref() != layout::VERIFY_CONTENTS {
            return Err(StorageError::ProbeMismatch {
                location: self.id.clone(),
                found: String::from_utf8_lossy(&found).into_owned(),
            });
        }
        Ok(())
    }

    fn err(&self, op: &'static str, path: &str, source: opendal::Error) -> StorageError {
        if source.kind() == ErrorKind::NotFound {
            StorageError::NotFound {
                location: self.id.clone(),
                path: path.to_string(),
            }
        } else {
            StorageError::Backend {
                location: self.id.clone(),
                op,
                path: path.to_string(),
                source: Box::new(source),
            }
        }
    }
}

/// Object paths are relative, use `/`, and never climb out of the location.
fn check_path(location: &str, path: &str) -> Result<(), StorageError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path.split('/').any(|seg| seg == ".." || seg == ".");
    if bad {
        return Err(StorageError::InvalidPath {
            location: location.to_string(),
            path: path.to_string(),
        });
    }
    Ok(())
}

/// A streaming writer that hashes (sha256) and counts what it writes.
pub struct HashingWriter {
    engine: Engine,
    path: String,
    inner: opendal::Writer,
    hasher: Sha256,
    len: u64,
}

/// What a finished write produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// `sha256:<hex>` of the bytes written through this writer.
    pub digest: String,
    /// Bytes written through this writer.
    pub len: u64,
}

impl HashingWriter {
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        self.hasher.update(&chunk);
        self.len += chunk.len() as u64;
        let path = &self.path;
        self.inner
            .write(chunk)
            .await
            .map_err(|e| self.engine.err("write", path, e))
    }

    /// Copies a whole stream through the writer.
    pub async fn write_stream<S, E>(&mut self, mut stream: S) -> Result<(), WriteStreamError<E>>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(WriteStreamError::Source)?;
            self.write(chunk).await.map_err(WriteStreamError::Storage)?;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flushes and closes the object, returning digest and length.
    pub async fn finish(mut self) -> Result<Written, StorageError> {
        let path = self.path.clone();
        self.inner
            .close()
            .await
            .map_err(|e| self.engine.err("close", &path, e))?;
        Ok(Written {
            digest: format!("sha256:{}", hex::encode(self.hasher.finalize())),
            len: self.len,
        })
    }

    /// Gives up on the write and removes whatever reached storage.
    pub async fn abort(mut self) -> Result<(), StorageError> {
        // Some drivers cannot abort a started write; deleting the object
        // afterwards leaves nothing behind either way.
        let _ = self.inner.abort().await;
        let _ = self.inner.close().await;
        self.engine.delete(&self.path).await
    }
}

/// A failed [`HashingWriter::write_stream`]: the source stream or storage.
#[derive(Debug, thiserror::Error)]
pub enum WriteStreamError<E> {
    #[error("reading the incoming stream failed: {0}")]
    Source(E),
    #[error(transparent)]
    Storage(StorageError),
}
