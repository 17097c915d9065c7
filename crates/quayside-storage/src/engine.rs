//! One storage location: object operations on Quay's layout, streaming only.

use std::io::Write as _;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// The canonical root directory of a LocalStorage location: blob writes there bypass
    /// OpenDAL (see [`HashingWriter`]).
    local_root: Option<Arc<PathBuf>>,
    /// Signs direct-download URLs of an Azure location with its account key.
    azure_signer: Option<Arc<crate::sas::AzureSigner>>,
    /// The CDN a direct download is sent through (Quay's CDN drivers), with AWS's ranges.
    cdn: Option<Arc<(driver::Cdn, Option<crate::cdn::AwsIpRanges>)>>,
    /// Signs temp URLs of a Swift location that has a `temp_url_key`.
    swift_temp_url: Option<Arc<crate::swift::SwiftTempUrl>>,
    /// Whether writes go out as [`WRITE_PART`]-sized parts, [`WRITE_CONCURRENCY`] in flight.
    concurrent_parts: bool,
}

/// Part size of a streaming write to an S3, GCS or Azure location.
const WRITE_PART: usize = 8 * 1024 * 1024;
/// Parts of one write in flight at once: a write returns while earlier parts are still being
/// sent, so the client's socket keeps being read (and hashed) while the store takes the
/// previous part. At most `(WRITE_CONCURRENCY + 1) * WRITE_PART` bytes of a write are held.
const WRITE_CONCURRENCY: usize = 2;

impl Engine {
    /// Opens a location from its Quay configuration.
    pub fn open(loc: &LocationConfig) -> Result<Engine, StorageError> {
        let driver::Built {
            kind,
            op,
            swift_temp_url,
        } = driver::build_operator(loc)?;
        let local_root = driver::local_root(loc)?.map(Arc::new);
        let azure_signer = driver::azure_signer(loc)?.map(Arc::new);
        let cdn = driver::cdn_with_ranges(loc)?.map(Arc::new);
        Ok(Engine {
            id: loc.id.clone(),
            kind,
            op,
            local_root,
            azure_signer,
            cdn,
            swift_temp_url: swift_temp_url.map(Arc::new),
            concurrent_parts: matches!(kind, DriverKind::S3 | DriverKind::Gcs | DriverKind::Azure),
        })
    }

    /// An in-process location that keeps objects in memory. For tests only: no
    /// configuration can select it.
    pub fn memory(id: &str) -> Engine {
        Engine {
            id: id.to_string(),
            kind: DriverKind::Memory,
            op: driver::memory_operator(),
            local_root: None,
            azure_signer: None,
            cdn: None,
            swift_temp_url: None,
            concurrent_parts: false,
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
        if let Some(root) = &self.local_root {
            let full = root.join(path);
            let data: Bytes = data.into();
            return blocking(move || {
                let mut file = create_fresh(&full)?;
                file.write_all(&data)
            })
            .await
            .map_err(|e| self.io_err("write", path, e));
        }
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
        if let Some(root) = &self.local_root {
            // One `stat`; OpenDAL's fs stat also lists extended attributes.
            let full = root.join(path);
            return blocking(move || match std::fs::metadata(&full) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            })
            .await
            .map_err(|e| self.io_err("stat", path, e));
        }
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
        if let Some(root) = &self.local_root {
            return local_stream(root.join(path), range)
                .await
                .map_err(|e| self.io_err("read", path, e));
        }
        // One request per stream: the body is yielded as it arrives, with no ranged
        // round trip per chunk.
        let reader = self
            .op
            .reader_with(path)
            .await
            .map_err(|e| self.err("open", path, e))?;
        let mut stream = match range {
            Some(r) => reader.into_bytes_stream(r).await,
            None => reader.into_bytes_stream(..).await,
        }
        .map_err(|e| self.err("read", path, e))?;
        // The first chunk is awaited here, so a store that cannot be reached (or an object
        // gone missing) is an error before a response starts, never a cut-off body.
        match stream.next().await {
            None => Ok(Box::pin(futures::stream::empty())),
            Some(Err(e)) => Err(self.stream_err(path, e)),
            Some(Ok(first)) => Ok(Box::pin(
                futures::stream::once(std::future::ready(Ok(first))).chain(stream),
            )),
        }
    }

    /// A URL that reads `path` directly from the store for `expires` (an S3 presigned URL; an
    /// Azure service SAS signed with the account key, as Quay's, or the configured
    /// `sas_token`; a Swift temp URL when the location has a `temp_url_key`), carrying a signature but never the credentials; `None` for stores a
    /// client cannot reach on its own (LocalStorage, memory). Signing is local: nothing is
    /// sent to the store.
    pub async fn presigned_read(
        &self,
        path: &str,
        expires: std::time::Duration,
    ) -> Result<Option<String>, StorageError> {
        self.presigned_read_for(path, expires, &crate::cdn::DownloadRequest::default())
            .await
    }

    /// [`Engine::presigned_read`] for one client's request: behind a CDN driver the URL is
    /// the CDN's, signed for it (the provider a `MultiCDNStorage` rule picks for the
    /// request's namespace or host), unless the client reads S3 directly (no client address;
    /// inside AWS). Akamai's URLs hold for an hour, as Quay's.
    pub async fn presigned_read_for(
        &self,
        path: &str,
        expires: std::time::Duration,
        req: &crate::cdn::DownloadRequest,
    ) -> Result<Option<String>, StorageError> {
        check_path(&self.id, path)?;
        if let Some(cdn) = &self.cdn {
            let (cdn, aws) = cdn.as_ref();
            let signer = match cdn {
                driver::Cdn::One(s) => s,
                // No GeoIP database: a continent rule never matches (docs/REGISTRY.md).
                driver::Cdn::Multi(m) => m.select(req, None),
            };
            let expires = signer.expires_override().unwrap_or(expires);
            let s3_url = self
                .op
                .presign_read(path, expires)
                .await
                .map_err(|e| self.err("presign", path, e))?
                .uri()
                .to_string();
            let signed = signer.sign(
                &s3_url,
                path,
                req,
                expires,
                std::time::SystemTime::now(),
                aws.as_ref(),
            );
            return Ok(Some(signed.unwrap_or(s3_url)));
        }
        if let Some(signer) = &self.azure_signer {
            return Ok(Some(signer.read_url(path, expires, chrono::Utc::now())));
        }
        if let Some(signer) = &self.swift_temp_url {
            return signer
                .read_url(path, expires, std::time::SystemTime::now())
                .await
                .map(Some)
                .map_err(|e| self.err("presign", path, e));
        }
        if !matches!(
            self.kind,
            DriverKind::S3 | DriverKind::Azure | DriverKind::Gcs
        ) || !self.op.info().capability().presign_read
        {
            return Ok(None);
        }
        let signed = self
            .op
            .presign_read(path, expires)
            .await
            .map_err(|e| self.err("presign", path, e))?;
        Ok(Some(signed.uri().to_string()))
    }

    /// An error a store's byte stream gave, with OpenDAL's own error (and so its
    /// temporary/persistent status) recovered when it carries one.
    fn stream_err(&self, path: &str, e: std::io::Error) -> StorageError {
        let kind = e.kind();
        match e.into_inner() {
            Some(inner) => match inner.downcast::<opendal::Error>() {
                Ok(source) => self.err("read", path, *source),
                Err(other) => self.io_err("read", path, std::io::Error::new(kind, other)),
            },
            None => self.io_err("read", path, std::io::Error::from(kind)),
        }
    }

    /// Starts a streaming write; the digest and length are computed as bytes
    /// pass. With `append`, bytes are added to an existing object (chunked
    /// uploads on drivers that can append).
    pub async fn writer(&self, path: &str, append: bool) -> Result<HashingWriter, StorageError> {
        self.writer_resuming(path, append, Sha256::new()).await
    }

    /// A writer that sends an object store one part at a time, waiting for each (what a
    /// plain single-stream client does): the benchmark's reference for the store's own rate.
    pub async fn writer_sequential(&self, path: &str) -> Result<HashingWriter, StorageError> {
        let mut engine = self.clone();
        engine.concurrent_parts = false;
        engine.writer(path, false).await
    }

    /// Like [`Engine::writer`], but the running digest starts from `prior`: the hash of the
    /// bytes the object already holds (an append to a chunked upload), so the digest at
    /// [`HashingWriter::finish_with_state`] covers the whole object without reading it back.
    pub async fn writer_resuming(
        &self,
        path: &str,
        append: bool,
        prior: Sha256,
    ) -> Result<HashingWriter, StorageError> {
        check_path(&self.id, path)?;
        let sink = match &self.local_root {
            Some(root) => Sink::File(
                LocalFile::open(root.join(path), append, prior)
                    .await
                    .map_err(|e| self.io_err("open for write", path, e))?,
            ),
            None => {
                let mut w = self.op.writer_with(path).append(append);
                if !append && self.concurrent_parts {
                    w = w.chunk(WRITE_PART).concurrent(WRITE_CONCURRENCY);
                }
                Sink::Dal {
                    inner: w.await.map_err(|e| self.err("open for write", path, e))?,
                    hasher: prior,
                }
            }
        };
        Ok(HashingWriter {
            engine: self.clone(),
            path: path.to_string(),
            sink,
            len: 0,
        })
    }

    /// A writer that appends to `path` when the object holds exactly `expected_len` bytes, the
    /// running digest starting from `prior`; `Ok(None)` (nothing opened) when its length
    /// differs or it is missing. On LocalStorage the length check and the open are one trip to
    /// a blocking thread. Drivers that cannot append answer `None` too.
    pub async fn append_writer(
        &self,
        path: &str,
        expected_len: u64,
        prior: Sha256,
    ) -> Result<Option<HashingWriter>, StorageError> {
        check_path(&self.id, path)?;
        let Some(root) = &self.local_root else {
            if !self.can_append() || self.size(path).await? != Some(expected_len) {
                return Ok(None);
            }
            return self.writer_resuming(path, true, prior).await.map(Some);
        };
        let full = root.join(path);
        let file = blocking(move || {
            let file = match std::fs::OpenOptions::new().append(true).open(&full) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            if file.metadata()?.len() != expected_len {
                return Ok(None);
            }
            Ok(Some(file))
        })
        .await
        .map_err(|e| self.io_err("open for write", path, e))?;
        Ok(file.map(|file| HashingWriter {
            engine: self.clone(),
            path: path.to_string(),
            sink: Sink::File(LocalFile::start(file, prior)),
            len: 0,
        }))
    }

    /// Whether chunked uploads can append in place on this driver: a filesystem can; object
    /// stores keep parts instead ([`crate::UploadStyle`]), whatever append extensions their
    /// protocol has, because the servers Quay users run do not all implement them.
    pub fn can_append(&self) -> bool {
        match self.kind {
            DriverKind::Local => true,
            DriverKind::Memory => self.op.info().capability().write_can_append,
            DriverKind::S3 | DriverKind::Azure | DriverKind::Gcs | DriverKind::Swift => false,
        }
    }

    pub(crate) fn op(&self) -> &Operator {
        &self.op
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
        if let Some(root) = &self.local_root {
            return self.promote_local(root, from, to, false).await.map(|_| ());
        }
        if !self.exists(from).await? {
            return Err(self.not_found(from));
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

    /// Moves a finished upload `from` to its content-addressed place `to`, unless `to`
    /// already exists: the same bytes are there, so `from` is deleted instead. Returns whether
    /// `from` was moved. On LocalStorage this is one trip to a blocking thread.
    pub async fn promote(&self, from: &str, to: &str) -> Result<bool, StorageError> {
        check_path(&self.id, from)?;
        check_path(&self.id, to)?;
        if let Some(root) = &self.local_root {
            return self.promote_local(root, from, to, true).await;
        }
        if !self.exists(from).await? {
            return Err(self.not_found(from));
        }
        if self.exists(to).await? {
            self.delete(from).await?;
            return Ok(false);
        }
        self.rename(from, to).await?;
        Ok(true)
    }

    /// [`Engine::rename`] / [`Engine::promote`] on LocalStorage: `rename(2)` after creating
    /// the target's directories; with `keep_existing`, an existing target wins and `from` is
    /// removed.
    async fn promote_local(
        &self,
        root: &std::path::Path,
        from: &str,
        to: &str,
        keep_existing: bool,
    ) -> Result<bool, StorageError> {
        let (src, dst) = (root.join(from), root.join(to));
        let moved = blocking(move || {
            match std::fs::metadata(&src) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
            if keep_existing && std::fs::metadata(&dst).is_ok_and(|m| m.is_file()) {
                std::fs::remove_file(&src)?;
                return Ok(Some(false));
            }
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&src, &dst)?;
            Ok(Some(true))
        })
        .await
        .map_err(|e| self.io_err("rename", from, e))?;
        moved.ok_or_else(|| self.not_found(from))
    }

    /// Every file entry under `prefix` (recursively); a missing prefix has none.
    async fn file_entries(&self, prefix: &str) -> Result<Vec<opendal::Entry>, StorageError> {
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
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .collect())
    }

    /// Objects under `prefix` last modified before `before` (an object whose store gives no
    /// modification time is asked for it), sorted.
    pub async fn list_older_than(
        &self,
        prefix: &str,
        before: std::time::SystemTime,
    ) -> Result<Vec<String>, StorageError> {
        let mut old = Vec::new();
        for entry in self.file_entries(prefix).await? {
            let modified = match entry.metadata().last_modified() {
                Some(t) => Some(t),
                None => match self.op.stat(entry.path()).await {
                    Ok(meta) => meta.last_modified(),
                    // Gone since it was listed: nothing to sweep.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(self.err("stat", entry.path(), e)),
                },
            };
            let Some(modified) = modified else { continue };
            if std::time::SystemTime::from(modified) < before {
                old.push(entry.path().to_string());
            }
        }
        old.sort();
        Ok(old)
    }

    /// Lists object paths under a prefix ending in `/`, recursively.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut paths: Vec<String> = self
            .file_entries(prefix)
            .await?
            .into_iter()
            .map(|e| e.path().to_string())
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// Whether the store answers and its bucket (container) exists, without writing
    /// anything: one listing of at most one key (and, for a Swift location with a
    /// `temp_url_key`, one signed read). A missing bucket is
    /// [`StorageError::NotFound`] (a missing prefix is not an error, an empty listing).
    /// LocalStorage: the directory was checked when the location was opened.
    pub async fn check_reachable(&self) -> Result<(), StorageError> {
        if self.local_root.is_some() || self.kind == DriverKind::Memory {
            return Ok(());
        }
        let mut lister = self
            .op
            .lister_with("")
            .limit(1)
            .await
            .map_err(|e| self.err("list", "", e))?;
        match lister.next().await {
            None | Some(Ok(_)) => {}
            Some(Err(e)) => return Err(self.err("list", "", e)),
        }
        // A Swift temp_url_key is checked too (Quay's config validation does): a signed
        // read that Swift refuses means every direct download would fail.
        if let Some(signer) = &self.swift_temp_url {
            signer
                .check(layout::VERIFY_PATH, None)
                .await
                .map_err(|e| self.err("direct download", layout::VERIFY_PATH, e))?;
        }
        Ok(())
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
        // As Quay's Swift driver: with a temp_url_key, the probe is also read through a
        // direct-download URL, so a wrong key is found at start and not by every client.
        if let Some(signer) = &self.swift_temp_url {
            signer
                .check(layout::VERIFY_PATH, Some(layout::VERIFY_CONTENTS))
                .await
                .map_err(|e| self.err("direct download", layout::VERIFY_PATH, e))?;
        }
        Ok(())
    }

    fn io_err(&self, op: &'static str, path: &str, source: std::io::Error) -> StorageError {
        let kind = if source.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Unexpected
        };
        self.err(op, path, opendal::Error::new(kind, op).set_source(source))
    }

    fn not_found(&self, path: &str) -> StorageError {
        StorageError::NotFound {
            location: self.id.clone(),
            path: path.to_string(),
        }
    }

    fn err(&self, op: &'static str, path: &str, source: opendal::Error) -> StorageError {
        if source.kind() == ErrorKind::NotFound {
            self.not_found(path)
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

/// Bytes per read of a local file, and reads queued ahead of the consumer: a stream holds at
/// most `(LOCAL_READ_AHEAD + 1) * LOCAL_READ_CHUNK` bytes.
const LOCAL_READ_CHUNK: usize = 512 * 1024;
const LOCAL_READ_AHEAD: usize = 4;

/// Streams a local file (or `range` of it) read by a blocking thread of its own a few chunks
/// ahead of the consumer, so file reads overlap with sending the previous chunks.
///
/// The same thread opens the file and reads the first chunk before this returns: a request
/// waits for one hand-off between threads, not one for the open and another for the first
/// bytes, and a file that cannot be opened or read at all is an error here, before a response
/// has started. Each chunk is one `pread` straight into the buffer handed out (no zero-fill,
/// no second copy; `std`'s `read_to_end` would probe with small reads first). A file shorter
/// than the range ends the stream with `UnexpectedEof`.
async fn local_stream(full: PathBuf, range: Option<Range<u64>>) -> std::io::Result<ByteStream> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(LOCAL_READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let opened = std::fs::File::open(&full).and_then(|file| {
            let (start, end) = match &range {
                Some(r) => (r.start, r.end.max(r.start)),
                None => (0, file.metadata()?.len()),
            };
            Ok((file, start, end))
        });
        let (file, mut offset, end) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        while offset < end {
            let item = read_chunk(&file, offset, (end - offset).min(LOCAL_READ_CHUNK as u64));
            if let Ok(chunk) = &item {
                offset += chunk.len() as u64;
            }
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                // The consumer went away (client disconnected), or this was the error.
                return;
            }
        }
    });
    // The first message: the first chunk, the error that stopped the reader, or (closed at
    // once) an empty range.
    let first = match rx.recv().await {
        Some(Ok(chunk)) => Some(chunk),
        Some(Err(e)) => return Err(e),
        None => None,
    };
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(Box::pin(futures::stream::iter(first.map(Ok)).chain(rest)))
}

/// `len` bytes of `file` from `offset` (fewer only at the end of the file; none is an error),
/// read into a buffer of exactly that capacity, without zero-filling it first.
fn read_chunk(file: &std::fs::File, offset: u64, len: u64) -> std::io::Result<Bytes> {
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    while buf.len() < len {
        let at = offset + buf.len() as u64;
        let got = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at)?;
        if got == 0 {
            break;
        }
    }
    // The spare capacity may exceed `len` if the allocator rounded up; never hand out more.
    buf.truncate(len);
    if buf.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file ended before the requested range",
        ));
    }
    Ok(Bytes::from(buf))
}

/// Runs a filesystem call on tokio's blocking pool.
async fn blocking<T, F>(f: F) -> std::io::Result<T>
where
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

/// Creates `full` as a new, empty file (and its directories), replacing any file there.
///
/// A fresh inode rather than `O_TRUNC`: ext4 treats a truncated-then-written file as "replace
/// via truncate" and starts writing all of it back to disk when it is closed
/// (`auto_da_alloc`), which put a whole upload's disk writeback inside the request. A reader
/// holding the old file keeps it.
fn create_fresh(full: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(full) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(full)
}

/// A streaming writer that hashes (sha256) and counts what it writes.
///
/// On LocalStorage the bytes go to a plain file written by one blocking thread and hashed by
/// another, each fed through a short bounded queue: the request task keeps reading the
/// socket while the previous chunks are hashed and written on the other core, no chunk is
/// copied on the way, and at most [`LOCAL_QUEUE_CHUNKS`] chunks wait per queue. Like Quay's
/// LocalStorage, the file is not fsynced (OpenDAL's fs writer syncs on every close). Other
/// drivers go through OpenDAL and hash inline.
pub struct HashingWriter {
    engine: Engine,
    path: String,
    sink: Sink,
    len: u64,
}

enum Sink {
    Dal {
        inner: opendal::Writer,
        hasher: Sha256,
    },
    File(LocalFile),
}

/// Chunks (as the HTTP body yields them, at most a few hundred KiB each) queued for a local
/// file's writer thread.
pub const LOCAL_QUEUE_CHUNKS: usize = 16;

struct LocalFile {
    /// Every chunk goes to both threads (a `Bytes` clone shares the buffer).
    hash_tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    file_tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    hasher: Option<tokio::task::JoinHandle<Sha256>>,
    writer: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl LocalFile {
    /// Opens the file and starts its two threads: one hashes, one writes. Hashing (about
    /// 0.6 s per GB here) and the page-cache copy of the write (about 0.3 s per GB) then run
    /// side by side instead of one after the other, so neither thread alone limits a large
    /// upload.
    async fn open(full: PathBuf, append: bool, prior: Sha256) -> std::io::Result<LocalFile> {
        let file = blocking(move || {
            if append {
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&full)
            } else {
                create_fresh(&full)
            }
        })
        .await?;
        Ok(LocalFile::start(file, prior))
    }

    /// Starts the hashing and the writing thread for an open file.
    fn start(file: std::fs::File, prior: Sha256) -> LocalFile {
        let (hash_tx, mut hash_rx) = tokio::sync::mpsc::channel::<Bytes>(LOCAL_QUEUE_CHUNKS);
        let (file_tx, mut file_rx) = tokio::sync::mpsc::channel::<Bytes>(LOCAL_QUEUE_CHUNKS);
        let hasher = tokio::task::spawn_blocking(move || {
            let mut hasher = prior;
            while let Some(chunk) = hash_rx.blocking_recv() {
                hasher.update(&chunk);
            }
            hasher
        });
        let writer = tokio::task::spawn_blocking(move || {
            let mut file = file;
            while let Some(chunk) = file_rx.blocking_recv() {
                file.write_all(&chunk)?;
            }
            Ok(())
        });
        LocalFile {
            hash_tx: Some(hash_tx),
            file_tx: Some(file_tx),
            hasher: Some(hasher),
            writer: Some(writer),
        }
    }

    async fn send(&mut self, chunk: Bytes) -> std::io::Result<()> {
        let (Some(hash_tx), Some(file_tx)) = (&self.hash_tx, &self.file_tx) else {
            return Err(std::io::Error::other("write after the writer stopped"));
        };
        let hashed = hash_tx.send(chunk.clone()).await.is_ok();
        if hashed && file_tx.send(chunk).await.is_ok() {
            return Ok(());
        }
        // A thread stopped early: the writer's result says why (the hasher cannot fail).
        match self.join().await {
            Err(e) => Err(e),
            Ok(_) => Err(std::io::Error::other("the writer thread stopped")),
        }
    }

    /// Closes the queues and waits for both threads: the hash of everything written.
    async fn join(&mut self) -> std::io::Result<Sha256> {
        self.hash_tx = None;
        self.file_tx = None;
        let (Some(hasher), Some(writer)) = (self.hasher.take(), self.writer.take()) else {
            return Err(std::io::Error::other("the writer was already closed"));
        };
        let written = writer.await.map_err(std::io::Error::other)?;
        let hash = hasher.await.map_err(std::io::Error::other)?;
        written.map(|()| hash)
    }
}

/// What a finished write produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// `sha256:<hex>` of the bytes written through this writer (after the prior state given
    /// to [`Engine::writer_resuming`], if any).
    pub digest: String,
    /// Bytes written through this writer.
    pub len: u64,
}

impl HashingWriter {
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.len += chunk.len() as u64;
        let path = &self.path;
        match &mut self.sink {
            Sink::Dal { inner, hasher } => {
                hasher.update(&chunk);
                inner
                    .write(chunk)
                    .await
                    .map_err(|e| self.engine.err("write", path, e))
            }
            Sink::File(f) => f
                .send(chunk)
                .await
                .map_err(|e| self.engine.io_err("write", path, e)),
        }
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
    pub async fn finish(self) -> Result<Written, StorageError> {
        Ok(self.finish_with_state().await?.0)
    }

    /// Flushes and closes the object, returning digest and length, and the running hash
    /// to continue from when more bytes are appended later.
    pub async fn finish_with_state(mut self) -> Result<(Written, Sha256), StorageError> {
        let path = self.path.clone();
        let hasher = match &mut self.sink {
            Sink::Dal { inner, hasher } => {
                inner
                    .close()
                    .await
                    .map_err(|e| self.engine.err("close", &path, e))?;
                hasher.clone()
            }
            Sink::File(f) => f
                .join()
                .await
                .map_err(|e| self.engine.io_err("close", &path, e))?,
        };
        let written = Written {
            digest: format!("sha256:{}", hex::encode(hasher.clone().finalize())),
            len: self.len,
        };
        Ok((written, hasher))
    }

    /// Gives up on the write and removes whatever reached storage.
    pub async fn abort(mut self) -> Result<(), StorageError> {
        match &mut self.sink {
            Sink::Dal { inner, .. } => {
                // Some drivers cannot abort a started write; deleting the object
                // afterwards leaves nothing behind either way.
                let _ = inner.abort().await;
                let _ = inner.close().await;
            }
            Sink::File(f) => {
                let _ = f.join().await;
            }
        }
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
