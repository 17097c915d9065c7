use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::NaiveDateTime;
use futures::{Stream, StreamExt};
use quayside_meta::quota::{QuotaAccounting, QuotaPolicy};
use quayside_meta::registry::{
    BlobRow, BlobUploadRow, CatalogScope, CommitBlob, ManifestDelete, ManifestLabel, ManifestRow,
    NewManifest, RegistryRepo, TagManifest, TagTarget,
};
use quayside_meta::{Db, MetaError, RepositoryKind, RepositoryState};
use quayside_oci::{labels, Digest, ParsedManifest};
use quayside_storage::{
    layout, ByteStream, DistributedStorage, Engine, HashingWriter, UploadPart, UploadParts,
    UploadStyle,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::DomainError;

/// The largest config blob read for its labels at push time.
const MAX_LABEL_CONFIG: u64 = 8 << 20;

/// The gzipped empty tar layer Docker elides; Quay treats it as shared by every repository.
pub const EMPTY_LAYER_DIGEST: &str = quayside_oci::media_types::EMPTY_LAYER_DIGEST;

/// The bytes of [`EMPTY_LAYER_DIGEST`] (Quay's `EMPTY_LAYER_BYTES`): a gzipped, empty tar.
pub const EMPTY_LAYER_BYTES: [u8; 32] = [
    31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88, 0, 8, 0, 0, 255, 255,
    46, 175, 181, 239, 0, 4, 0, 0,
];

/// Registry behaviour taken from Quay's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// `PUSH_TEMP_TAG_EXPIRATION_SEC` (3600): lifetime of `uploadedblob` links and of hidden
    /// temporary tags for pushes by digest.
    pub push_temp_tag_expiration_sec: u64,
    /// `MAXIMUM_LAYER_SIZE` in bytes (`None` = unlimited).
    pub max_layer_size: Option<u64>,
    /// Largest page for tag listing and the catalog: `max(V2_PAGINATION_SIZE, 100)`.
    pub v2_max_page: u32,
    /// `FEATURE_REFERRERS_API`.
    pub referrers_api: bool,
    /// Blob pulls from a store a client can reach (S3 family, Azure) answer with a signed
    /// URL to it ([`Registry::direct_download_url`]); off with `FEATURE_PROXY_STORAGE`, where
    /// quayside streams every blob itself.
    pub direct_download: bool,
    /// `FEATURE_STORAGE_REPLICATION`: each written manifest queues its blobs on
    /// `imagestoragereplication`.
    pub storage_replication: bool,
    /// Sparse indexes (`FEATURE_SPARSE_INDEX` with a non-empty `SPARSE_INDEX_REQUIRED_ARCHS`,
    /// [`RegistrySettings::sparse_index`]): the architectures an index's children must be
    /// present for; a child of another architecture may be absent. `None`: every child
    /// must be present.
    pub sparse_required_archs: Option<Vec<String>>,
    /// Quota management (`FEATURE_QUOTA_MANAGEMENT` and its keys).
    pub quota: QuotaSettings,
}

/// Quay's quota switches, as the registry applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaSettings {
    /// `FEATURE_QUOTA_MANAGEMENT`: size totals follow every manifest write.
    pub management: bool,
    /// `FEATURE_VERIFY_QUOTA`: with management on, pushes over a `Reject` threshold fail.
    pub verify: bool,
    /// `QUOTA_INVALIDATE_TOTALS`: with management off, manifest writes mark the totals of
    /// their namespace and repository for a new backfill.
    pub invalidate_totals: bool,
    /// `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES`: the reject limit of a namespace without a quota
    /// (0: none).
    pub default_reject_bytes: i64,
}

impl RegistrySettings {
    /// [`RegistrySettings::sparse_required_archs`] from the feature flag and the list, as
    /// Quay reads them: with the flag off, or with an empty list, every child is required.
    pub fn sparse_index(enabled: bool, required_archs: &[String]) -> Option<Vec<String>> {
        (enabled && !required_archs.is_empty()).then(|| required_archs.to_vec())
    }

    /// Whether an index may name a child with this platform without storing it.
    fn child_may_be_absent(&self, platform: Option<&quayside_oci::Platform>) -> bool {
        match (&self.sparse_required_archs, platform) {
            (Some(required), Some(p)) => !required.contains(&p.architecture),
            // No platform: treated as required, as Quay does.
            _ => false,
        }
    }
}

/// How long a signed direct-download URL stays valid (Quay's `expires_in` for blob pulls).
pub const DIRECT_DOWNLOAD_EXPIRES: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            push_temp_tag_expiration_sec: 3600,
            max_layer_size: Some(20 * 1024 * 1024 * 1024),
            v2_max_page: 100,
            referrers_api: true,
            direct_download: true,
            storage_replication: false,
            sparse_required_archs: None,
            quota: QuotaSettings::default(),
        }
    }
}

/// A repository as the registry sees it (never one marked for deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub id: i64,
    pub namespace_id: i64,
    pub namespace: String,
    pub name: String,
    pub public: bool,
    pub state: RepositoryState,
    pub kind: RepositoryKind,
}

/// A blob visible in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
    /// `imagestorage.id`.
    pub storage_id: i64,
    /// `imagestorage.uuid`.
    pub uuid: String,
    /// Stored at `sha256/<2>/<hex>` (else Quay's legacy `sharedimages/<uuid>/layer`).
    pub cas_path: bool,
    /// Storage location ids holding the object.
    pub locations: Vec<String>,
}

/// An upload in progress: its id and how many bytes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    pub uuid: String,
    pub offset: u64,
}

/// A stored manifest: the exact bytes the client pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub id: i64,
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

/// What a tag name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagLookup {
    Found(StoredManifest),
    /// Only time-machine history (→ `TAG_EXPIRED`).
    Expired,
    Missing,
}

/// One entry of a referrers index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrerDescriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// One repository in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub id: i64,
    pub namespace: String,
    pub name: String,
}

impl CatalogEntry {
    /// `namespace/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The body type to name when calling [`Registry::complete`] without final bytes:
/// `registry.complete(&repo, uuid, &digest, None::<NoBody>)`.
pub type NoBody = futures::stream::Empty<Result<Bytes, std::io::Error>>;

/// The OCI image index answering `GET /v2/<name>/referrers/<digest>`.
pub fn referrers_index(descriptors: &[ReferrerDescriptor]) -> serde_json::Value {
    let manifests: Vec<serde_json::Value> = descriptors
        .iter()
        .map(|d| {
            let mut o = serde_json::Map::new();
            o.insert("mediaType".into(), d.media_type.clone().into());
            o.insert("digest".into(), d.digest.to_string().into());
            o.insert("size".into(), d.size.into());
            if let Some(at) = &d.artifact_type {
                o.insert("artifactType".into(), at.clone().into());
            }
            if !d.annotations.is_empty() {
                let ann: serde_json::Map<String, serde_json::Value> = d
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect();
                o.insert("annotations".into(), ann.into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": quayside_oci::media_types::OCI_INDEX,
        "manifests": manifests,
    })
}

/// Running sha256 of an upload's first `offset` bytes.
#[derive(Clone)]
struct HashState {
    offset: u64,
    hasher: Sha256,
}

type UploadSlot = Arc<tokio::sync::Mutex<Option<HashState>>>;

struct Inner {
    db: Db,
    storage: Arc<DistributedStorage>,
    settings: RegistrySettings,
    /// Per-upload lock (one chunk at a time per upload in this process) and hash shortcut.
    uploads: Mutex<HashMap<String, UploadSlot>>,
    /// `imagestoragelocation` ids by name: rows are created at boot and never removed or
    /// renumbered, so each name is looked up once.
    location_ids: Mutex<HashMap<String, i32>>,
}

/// Quay's registry model over one database and one set of storage locations.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

fn now() -> (NaiveDateTime, i64) {
    let t = chrono::Utc::now();
    (t.naive_utc(), t.timestamp_millis())
}

fn id32(id: i64) -> Result<i32, DomainError> {
    i32::try_from(id).map_err(|_| DomainError::Inconsistent(format!("id {id} out of range")))
}

fn parse_digest(s: &str) -> Result<Digest, DomainError> {
    Digest::parse(s).map_err(|e| DomainError::Inconsistent(format!("stored digest {s:?}: {e}")))
}

fn to_u64(v: i64) -> Result<u64, DomainError> {
    u64::try_from(v).map_err(|_| DomainError::Inconsistent(format!("negative size {v}")))
}

fn to_i64(v: u64) -> Result<i64, DomainError> {
    i64::try_from(v).map_err(|_| DomainError::Inconsistent(format!("size {v} out of range")))
}

fn stored_manifest(row: ManifestRow) -> Result<StoredManifest, DomainError> {
    Ok(StoredManifest {
        id: i64::from(row.id),
        digest: parse_digest(&row.digest)?,
        media_type: row.media_type,
        bytes: Bytes::from(row.bytes.into_bytes()),
    })
}

fn repo_ref(r: RegistryRepo) -> RepoRef {
    RepoRef {
        id: i64::from(r.id),
        namespace_id: i64::from(r.namespace_id),
        public: r.visibility.is_public(),
        namespace: r.namespace,
        name: r.name,
        state: r.state,
        kind: r.kind,
    }
}

/// Copies `body` into `w` (which hashes as it writes), refusing to grow the upload past
/// `limit`.
async fn pump<S, E>(
    w: &mut HashingWriter,
    mut body: S,
    base: u64,
    limit: Option<u64>,
) -> Result<u64, DomainError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut n: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| DomainError::Body(e.to_string()))?;
        n += chunk.len() as u64;
        if let Some(limit) = limit {
            if base.saturating_add(n) > limit {
                return Err(DomainError::SizeTooLarge { limit });
            }
        }
        w.write(chunk).await?;
    }
    Ok(n)
}

/// Pumps `body` into `w`, then closes it: the running hash and the bytes added. A failed
/// write is aborted (its object removed).
async fn pump_and_finish<S, E>(
    mut w: HashingWriter,
    body: S,
    base: u64,
    limit: Option<u64>,
) -> Result<(Sha256, u64), DomainError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    match pump(&mut w, body, base, limit).await {
        Ok(n) => {
            let (_, hasher) = w.finish_with_state().await?;
            Ok((hasher, n))
        }
        Err(e) => {
            // Closing what was written keeps the object's bytes (the row's byte_count stays
            // authoritative; stray bytes after it are dropped by the next write).
            let _ = w.finish().await;
            Err(e)
        }
    }
}

/// The body from its first non-empty chunk on, or `None` when it carries no bytes at all (a
/// `PUT` that only names the digest).
async fn first_bytes<S, E>(
    mut body: S,
) -> Result<Option<impl Stream<Item = Result<Bytes, E>> + Unpin + Send>, DomainError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display + Send,
{
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| DomainError::Body(e.to_string()))?;
        if !chunk.is_empty() {
            return Ok(Some(futures::stream::iter([Ok(chunk)]).chain(body)));
        }
    }
    Ok(None)
}

/// Streams the first `len` bytes of `path` into a fresh hasher.
async fn rehash(engine: &Engine, path: &str, len: u64) -> Result<Sha256, DomainError> {
    if len == 0 {
        return Ok(Sha256::new());
    }
    rehash_stream(engine.stream(path, Some(0..len)).await?, len, path).await
}

/// Hashes `stream`, which must yield exactly `len` bytes of the upload `what`.
async fn rehash_stream(
    mut stream: ByteStream,
    len: u64,
    what: impl std::fmt::Display,
) -> Result<Sha256, DomainError> {
    let mut hasher = Sha256::new();
    let mut seen: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| DomainError::Inconsistent(format!("reading {what}: {e}")))?;
        seen += chunk.len() as u64;
        hasher.update(&chunk);
    }
    if seen != len {
        return Err(DomainError::Inconsistent(format!(
            "upload {what} holds {seen} bytes, its blobupload row says {len}"
        )));
    }
    Ok(hasher)
}

/// The content-addressed path of an upload whose bytes hashed to `hasher`, once they are
/// known to be `digest`.
fn verified_blob_path(digest: &Digest, hasher: Sha256) -> Result<String, DomainError> {
    let actual_hex = hex::encode(hasher.finalize());
    let actual = format!("sha256:{actual_hex}");
    if digest.to_string() != actual {
        return Err(DomainError::DigestMismatch {
            expected: digest.to_string(),
            actual,
        });
    }
    layout::blob_path(&actual_hex)
        .ok_or_else(|| DomainError::Inconsistent(format!("no storage path for {actual}")))
}

/// The parts an upload on a parts-keeping driver has written.
fn upload_parts(row: &BlobUploadRow) -> Result<UploadParts, DomainError> {
    UploadParts::from_metadata(row.storage_metadata.as_deref())
        .map_err(|e| DomainError::Inconsistent(format!("upload {}: {e}", row.uuid)))
}

impl Registry {
    pub fn new(db: Db, storage: Arc<DistributedStorage>, settings: RegistrySettings) -> Self {
        Registry {
            inner: Arc::new(Inner {
                db,
                storage,
                settings,
                uploads: Mutex::new(HashMap::new()),
                location_ids: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.inner.settings
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn storage(&self) -> &DistributedStorage {
        &self.inner.storage
    }

    fn temp_expiration_ms(&self) -> i64 {
        i64::try_from(self.inner.settings.push_temp_tag_expiration_sec)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }

    fn link_expiry(&self, at: NaiveDateTime) -> NaiveDateTime {
        at + chrono::Duration::milliseconds(self.temp_expiration_ms())
    }

    fn engine(&self, location: &str) -> Result<Engine, DomainError> {
        self.inner.storage.engine(location).cloned().ok_or_else(|| {
            DomainError::Inconsistent(format!("storage location {location} is not configured"))
        })
    }

    /// The `imagestoragelocation` id of `engine`'s location (created if missing).
    async fn location_id(&self, engine: &Engine) -> Result<i32, DomainError> {
        let cached = self
            .inner
            .location_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(engine.id())
            .copied();
        if let Some(id) = cached {
            return Ok(id);
        }
        let id = self.inner.db.storage_location_id(engine.id()).await?;
        self.inner
            .location_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(engine.id().to_string(), id);
        Ok(id)
    }

    fn upload_slot(&self, uuid: &str) -> UploadSlot {
        let mut map = self
            .inner
            .uploads
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(uuid.to_string()).or_default().clone()
    }

    fn forget_upload(&self, uuid: &str) {
        let mut map = self
            .inner
            .uploads
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.remove(uuid);
    }

    /// The repository `namespace/name`, unless missing or marked for deletion.
    pub async fn lookup_repo(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RepoRef>, DomainError> {
        Ok(self
            .inner
            .db
            .registry_repository(namespace, name)
            .await?
            .map(repo_ref))
    }

    async fn blob_info(&self, row: BlobRow) -> Result<BlobInfo, DomainError> {
        let digest = parse_digest(&row.content_checksum)?;
        let mut info = BlobInfo {
            digest,
            size: 0,
            storage_id: i64::from(row.storage_id),
            uuid: row.uuid,
            cas_path: row.cas_path,
            locations: row.locations,
        };
        info.size = match row.image_size {
            Some(s) => to_u64(s)?,
            None => {
                // Old rows may lack the size; the object knows it.
                let engine = self.read_engine(&info)?;
                let path = blob_object_path(&info)?;
                engine.size(&path).await?.unwrap_or(0)
            }
        };
        Ok(info)
    }

    fn read_engine(&self, blob: &BlobInfo) -> Result<Engine, DomainError> {
        self.inner
            .storage
            .read_location(&blob.locations)
            .cloned()
            .ok_or_else(|| {
                DomainError::Inconsistent(format!(
                    "blob {} is placed only in unconfigured locations {:?}",
                    blob.digest, blob.locations
                ))
            })
    }

    /// The blob `digest` if it is visible in `repo`.
    pub async fn blob(
        &self,
        repo: &RepoRef,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>, DomainError> {
        let (now, _) = now();
        let row = self
            .inner
            .db
            .repository_blob(id32(repo.id)?, &digest.to_string(), now)
            .await?;
        match row {
            Some(row) => Ok(Some(self.blob_info(row).await?)),
            None => Ok(None),
        }
    }

    /// The repository `namespace/name` (`None`: missing or marked for deletion) and, fetched
    /// with it, the blob `digest` as [`Registry::blob`] finds it. One round trip for a pull;
    /// the caller decides whether the repository may be read before serving anything.
    pub async fn lookup_repo_with_blob(
        &self,
        namespace: &str,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<(RepoRef, Option<BlobInfo>)>, DomainError> {
        let (now, _) = now();
        let found = self
            .inner
            .db
            .registry_repository_and_blob(namespace, name, &digest.to_string(), now)
            .await?;
        let Some((repo, row)) = found else {
            return Ok(None);
        };
        let blob = match row {
            Some(row) => Some(self.blob_info(row).await?),
            None => None,
        };
        Ok(Some((repo_ref(repo), blob)))
    }

    /// A signed URL that reads the blob straight from the first preferred location holding
    /// it, valid for [`DIRECT_DOWNLOAD_EXPIRES`]; `None` when direct download is off or that
    /// location's store cannot sign (LocalStorage), in which case the blob is streamed.
    /// Behind a CDN driver the URL is the CDN's, chosen and signed for `client`.
    pub async fn direct_download_url(
        &self,
        blob: &BlobInfo,
        client: &crate::DownloadClient,
    ) -> Result<Option<String>, DomainError> {
        if !self.inner.settings.direct_download {
            return Ok(None);
        }
        let engine = self.read_engine(blob)?;
        let path = blob_object_path(blob)?;
        Ok(engine
            .presigned_read_for(&path, DIRECT_DOWNLOAD_EXPIRES, client)
            .await?)
    }

    /// Streams a blob (or the byte range `range`, end exclusive) from the first preferred
    /// location holding it.
    pub async fn open_blob(
        &self,
        blob: &BlobInfo,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, DomainError> {
        let path = blob_object_path(blob)?;
        let engines = self.inner.storage.read_locations(&blob.locations);
        if engines.is_empty() {
            return Err(DomainError::Inconsistent(format!(
                "blob {} is placed only in unconfigured locations {:?}",
                blob.digest, blob.locations
            )));
        }
        // A location that is down or lacks the object gives way to the next one holding the
        // blob (a replica); the last one's error is the answer.
        let mut last = None;
        for engine in engines {
            match engine.stream(&path, range.clone()).await {
                Ok(stream) => return Ok(stream),
                Err(e) if e.is_unavailable() || e.is_not_found() => {
                    tracing::warn!(location = engine.id(), error = %e, "blob read falls back to another location");
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(
            || DomainError::Inconsistent(format!("blob {} unreadable", blob.digest)),
            DomainError::from,
        ))
    }

    /// Starts an upload: an empty `uploads/<uuid>` object in the preferred location and its
    /// `blobupload` row.
    pub async fn start_upload(&self, repo: &RepoRef) -> Result<UploadSession, DomainError> {
        self.open_upload(repo, true).await
    }

    /// A whole blob in one request (`POST …/uploads/?digest=`): a session whose object is
    /// first written by `body`, completed at once. On failure nothing is left behind.
    pub async fn upload_whole<S, E>(
        &self,
        repo: &RepoRef,
        digest: &Digest,
        body: S,
    ) -> Result<BlobInfo, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display + Send,
    {
        let session = self.open_upload(repo, false).await?;
        self.complete(repo, &session.uuid, digest, Some(body)).await
    }

    /// A new session: its `blobupload` row and, with `create_object`, the empty upload object
    /// (a session that is written at once skips it: its first write creates the object).
    async fn open_upload(
        &self,
        repo: &RepoRef,
        create_object: bool,
    ) -> Result<UploadSession, DomainError> {
        self.check_quota(repo, false).await?;
        let engine = self.inner.storage.preferred().clone();
        let location_id = self.location_id(&engine).await?;
        let id = Uuid::new_v4();
        let path = layout::upload_path(&id);
        // Only an appending driver keeps the upload in `uploads/<uuid>`; parts are written
        // as chunks arrive.
        let create_object = create_object && engine.upload_style() == UploadStyle::Append;
        if create_object {
            engine.put(&path, Bytes::new()).await?;
        }
        let uuid = id.hyphenated().to_string();
        let (now, _) = now();
        if let Err(e) = self
            .inner
            .db
            .create_blob_upload(id32(repo.id)?, &uuid, location_id, now)
            .await
        {
            let _ = engine.delete(&path).await;
            return Err(e.into());
        }
        *self.upload_slot(&uuid).lock().await = Some(HashState {
            offset: 0,
            hasher: Sha256::new(),
        });
        Ok(UploadSession { uuid, offset: 0 })
    }

    /// The policy a push to `repo` is held to, when quota verification is on: the
    /// namespace's quota, else the system default reject limit, if any.
    async fn quota_policy(&self, repo: &RepoRef) -> Result<Option<QuotaPolicy>, DomainError> {
        let q = &self.inner.settings.quota;
        if !(q.management && q.verify) {
            return Ok(None);
        }
        Ok(
            match self.inner.db.namespace_quota(repo.namespace_id).await? {
                Some(nq) => Some(QuotaPolicy::Namespace(nq)),
                None if q.default_reject_bytes > 0 => Some(QuotaPolicy::SystemDefault {
                    limit_bytes: q.default_reject_bytes,
                }),
                None => None,
            },
        )
    }

    /// Quay's upload-time quota check: the namespace's total (plus, `during_upload`, what
    /// the repository's uploads in progress hold) over a `Reject` threshold refuses the
    /// request.
    async fn check_quota(&self, repo: &RepoRef, during_upload: bool) -> Result<(), DomainError> {
        let Some(policy) = self.quota_policy(repo).await? else {
            return Ok(());
        };
        let mut size = self
            .inner
            .db
            .namespace_size(repo.namespace_id)
            .await?
            .map_or(0, |r| r.size_bytes);
        if during_upload {
            size = size.saturating_add(self.inner.db.upload_bytes_in_progress(repo.id).await?);
        }
        if policy.rejects(size) {
            return Err(DomainError::QuotaExceeded);
        }
        Ok(())
    }

    /// The upload `uuid` of `repo`, if it exists.
    pub async fn upload(
        &self,
        repo: &RepoRef,
        uuid: &str,
    ) -> Result<Option<UploadSession>, DomainError> {
        if Uuid::parse_str(uuid).is_err() {
            return Ok(None);
        }
        let row = self.inner.db.blob_upload(id32(repo.id)?, uuid).await?;
        match row {
            Some(r) => Ok(Some(UploadSession {
                uuid: r.uuid,
                offset: to_u64(r.byte_count)?,
            })),
            None => Ok(None),
        }
    }

    /// Appends a chunk. `start` (from `Content-Range`) must equal the current offset.
    pub async fn append<S, E>(
        &self,
        repo: &RepoRef,
        uuid: &str,
        start: Option<u64>,
        body: S,
    ) -> Result<UploadSession, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let id = Uuid::parse_str(uuid).map_err(|_| DomainError::UploadUnknown)?;
        let slot = self.upload_slot(uuid);
        let mut cached = slot.lock().await;
        let row = self
            .inner
            .db
            .blob_upload(id32(repo.id)?, uuid)
            .await?
            .ok_or(DomainError::UploadUnknown)?;
        if let Err(e) = self.check_quota(repo, true).await {
            // As Quay: an upload over quota is cancelled.
            drop(cached);
            let _ = self.cancel(repo, uuid).await;
            return Err(e);
        }
        let offset = to_u64(row.byte_count)?;
        if let Some(start) = start {
            if start != offset {
                return Err(DomainError::RangeMismatch { offset });
            }
        }
        let engine = self.engine(&row.location)?;
        let path = layout::upload_path(&id);
        let prior = cached.take().filter(|c| c.offset == offset);
        let (hasher, new_offset, metadata, part) = match engine.upload_style() {
            UploadStyle::Append => {
                let (hasher, end) = self
                    .write_chunk(&engine, &path, offset, prior, body)
                    .await?;
                (hasher, end, None, None)
            }
            UploadStyle::Parts => {
                let parts = upload_parts(&row)?;
                let (hasher, next) = self
                    .write_part(&engine, &id, &parts, offset, prior, body)
                    .await?;
                let part = next.parts.last().filter(|_| next != parts).cloned();
                (hasher, next.len(), Some(next.to_metadata()), part)
            }
        };
        let advanced = self
            .inner
            .db
            .advance_blob_upload(
                row.id,
                row.byte_count,
                to_i64(new_offset)?,
                metadata.as_deref(),
            )
            .await?;
        if !advanced {
            // The part this request wrote is nobody's.
            if let Some(part) = part {
                let _ = engine.delete(&part.path).await;
            }
            // Someone else moved the upload on (or removed it) meanwhile.
            return match self.inner.db.blob_upload(row.repository_id, uuid).await? {
                Some(r) => Err(DomainError::RangeMismatch {
                    offset: to_u64(r.byte_count)?,
                }),
                None => Err(DomainError::UploadUnknown),
            };
        }
        *cached = Some(HashState {
            offset: new_offset,
            hasher,
        });
        Ok(UploadSession {
            uuid: row.uuid,
            offset: new_offset,
        })
    }

    /// Writes `body` after the first `offset` bytes of the upload object. Returns the hash of
    /// everything up to the new end and the new end. On failure the row's `byte_count` stays
    /// authoritative: stray bytes after it are dropped by the next write.
    async fn write_chunk<S, E>(
        &self,
        engine: &Engine,
        path: &str,
        offset: u64,
        prior: Option<HashState>,
        body: S,
    ) -> Result<(Sha256, u64), DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let limit = self.inner.settings.max_layer_size;
        if offset == 0 {
            let w = engine.writer(path, false).await?;
            return pump_and_finish(w, body, 0, limit).await;
        }
        let prior = match prior {
            Some(p) => Some(p.hasher),
            None if engine.can_append() && engine.size(path).await? == Some(offset) => {
                Some(rehash(engine, path, offset).await?)
            }
            None => None,
        };
        if let Some(prior) = prior {
            // Appends in place when the object holds exactly `offset` bytes.
            if let Some(w) = engine.append_writer(path, offset, prior).await? {
                let (hasher, n) = pump_and_finish(w, body, offset, limit).await?;
                return Ok((hasher, offset + n));
            }
        }
        // The driver cannot append, or a failed chunk left bytes past `offset`: write the
        // kept prefix and the new chunk to a fresh object and move it into place.
        let size = engine.size(path).await?;
        match size {
            Some(s) if s >= offset => {}
            other => {
                return Err(DomainError::Inconsistent(format!(
                    "upload object {path} holds {other:?} bytes, its blobupload row says {offset}"
                )))
            }
        }
        let tmp = format!("{path}.{}", Uuid::new_v4().simple());
        let mut w = engine.writer(&tmp, false).await?;
        let result = async {
            let mut prefix = engine.stream(path, Some(0..offset)).await?;
            let mut copied: u64 = 0;
            while let Some(chunk) = prefix.next().await {
                let chunk =
                    chunk.map_err(|e| DomainError::Inconsistent(format!("reading {path}: {e}")))?;
                copied += chunk.len() as u64;
                w.write(chunk).await?;
            }
            if copied != offset {
                return Err(DomainError::Inconsistent(format!(
                    "upload object {path} yielded {copied} of {offset} bytes"
                )));
            }
            pump(&mut w, body, offset, limit).await
        }
        .await;
        match result {
            Ok(n) => {
                let (_, hasher) = w.finish_with_state().await?;
                engine.rename(&tmp, path).await?;
                Ok((hasher, offset + n))
            }
            Err(e) => {
                let _ = w.abort().await;
                Err(e)
            }
        }
    }

    /// [`Registry::write_chunk`] for a driver that keeps uploads in parts: `body` becomes a
    /// new part after the first `offset` bytes. Returns the hash of everything up to the new
    /// end and the parts that hold it (`parts` unchanged for an empty body). Nothing already
    /// stored is rewritten.
    async fn write_part<S, E>(
        &self,
        engine: &Engine,
        id: &Uuid,
        parts: &UploadParts,
        offset: u64,
        prior: Option<HashState>,
        body: S,
    ) -> Result<(Sha256, UploadParts), DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        parts
            .check_covers(offset)
            .map_err(|e| DomainError::Inconsistent(format!("upload {id}: {e}")))?;
        let prior = match prior {
            Some(p) => p.hasher,
            None => rehash_stream(engine.stream_parts(parts, offset).await?, offset, id).await?,
        };
        let mut body = body;
        let path = layout::upload_part_path(id);
        // The writer's running hash continues the upload's: no byte is read back.
        let w = engine.writer_resuming(&path, false, prior).await?;
        let limit = self.inner.settings.max_layer_size;
        let (hasher, n) = match pump_and_finish(w, &mut body, offset, limit).await {
            Ok(done) => done,
            Err(e) => {
                let _ = engine.delete(&path).await;
                return Err(e);
            }
        };
        if n == 0 {
            engine.delete(&path).await?;
            return Ok((hasher, parts.clone()));
        }
        Ok((
            hasher,
            parts.with(UploadPart {
                path,
                offset,
                length: n,
            }),
        ))
    }

    /// Finishes an upload: optional final bytes, then digest check, move into the
    /// content-addressed place and the metadata rows. On any failure the upload is discarded,
    /// as Quay does.
    pub async fn complete<S, E>(
        &self,
        repo: &RepoRef,
        uuid: &str,
        digest: &Digest,
        body: Option<S>,
    ) -> Result<BlobInfo, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display + Send,
    {
        let result = self.finish_upload(repo, uuid, digest, body).await;
        if let Err(e) = &result {
            if !matches!(e, DomainError::UploadUnknown) {
                let _ = self.cancel(repo, uuid).await;
            }
        }
        result
    }

    /// [`Registry::complete`] without the clean-up: one lock of the session, one read of its
    /// row; the final bytes (if any) are appended and the blob committed in the same step.
    async fn finish_upload<S, E>(
        &self,
        repo: &RepoRef,
        uuid: &str,
        digest: &Digest,
        body: Option<S>,
    ) -> Result<BlobInfo, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display + Send,
    {
        let id = Uuid::parse_str(uuid).map_err(|_| DomainError::UploadUnknown)?;
        let slot = self.upload_slot(uuid);
        let mut cached = slot.lock().await;
        let row = self
            .inner
            .db
            .blob_upload(id32(repo.id)?, uuid)
            .await?
            .ok_or(DomainError::UploadUnknown)?;
        // Over quota: the error makes `complete` discard the upload.
        self.check_quota(repo, true).await?;
        let offset = to_u64(row.byte_count)?;
        let engine = self.engine(&row.location)?;
        let path = layout::upload_path(&id);
        let prior = cached.take().filter(|c| c.offset == offset);
        let rest = match body {
            Some(body) => first_bytes(body).await?,
            None => None,
        };
        if engine.upload_style() == UploadStyle::Parts {
            let parts = upload_parts(&row)?;
            parts
                .check_covers(offset)
                .map_err(|e| DomainError::Inconsistent(format!("upload {id}: {e}")))?;
            let (hasher, parts) = match rest {
                Some(stream) => {
                    self.write_part(&engine, &id, &parts, offset, prior, stream)
                        .await?
                }
                None => match prior {
                    Some(p) => (p.hasher, parts),
                    None => {
                        let stream = engine.stream_parts(&parts, offset).await?;
                        (rehash_stream(stream, offset, id).await?, parts)
                    }
                },
            };

            let final_path = match verified_blob_path(digest, hasher) {
                Ok(path) => path,
                Err(e) => {
                    // The row does not name a part written by this request: remove them all.
                    let _ = engine.delete_upload(&id, &parts).await;
                    return Err(e);
                }
            };
            let size = parts.len();
            // Assembled only now that the digest is known to be right; until the rows below
            // exist nothing names the object.
            if let Err(e) = engine.assemble(&parts, &final_path).await {
                let _ = engine.delete_upload(&id, &parts).await;
                return Err(e.into());
            }
            return self.commit_upload(cached, uuid, &row, size, digest).await;
        }
        let (hasher, size) = match rest {
            // The final bytes: after them the object holds exactly `size` bytes.
            Some(stream) => {
                self.write_chunk(&engine, &path, offset, prior, stream)
                    .await?
            }
            None if engine.size(&path).await? == Some(offset) => match prior {
                Some(p) => (p.hasher, offset),
                None => (rehash(&engine, &path, offset).await?, offset),
            },
            // Stray bytes from an interrupted chunk (or a lost empty object): rewrite to
            // exactly what the row accounts for.
            None => {
                self.write_chunk(
                    &engine,
                    &path,
                    offset,
                    None,
                    futures::stream::empty::<Result<Bytes, std::io::Error>>(),
                )
                .await?
            }
        };
        let final_path = verified_blob_path(digest, hasher)?;
        // Content-addressed: an object already in place is these bytes and stays.
        engine.promote(&path, &final_path).await?;
        self.commit_upload(cached, uuid, &row, size, digest).await
    }

    /// The rows of a finished upload whose bytes are at their content-addressed place.
    async fn commit_upload(
        &self,
        cached: tokio::sync::MutexGuard<'_, Option<HashState>>,
        uuid: &str,
        row: &BlobUploadRow,
        size: u64,
        digest: &Digest,
    ) -> Result<BlobInfo, DomainError> {
        let actual = digest.to_string();
        let (now, _) = now();
        let new_uuid = Uuid::new_v4().hyphenated().to_string();
        let storage_id = self
            .inner
            .db
            .commit_blob_upload(&CommitBlob {
                upload_id: row.id,
                recorded_size: row.byte_count,
                repository_id: row.repository_id,
                digest: &actual,
                size: to_i64(size)?,
                location_id: row.location_id,
                now,
                expires_at: self.link_expiry(now),
                new_uuid: &new_uuid,
            })
            .await?
            .ok_or(DomainError::UploadUnknown)?;
        drop(cached);
        self.forget_upload(uuid);
        let blob = self
            .inner
            .db
            .blob_by_id(storage_id)
            .await?
            .ok_or_else(|| DomainError::Inconsistent(format!("blob {storage_id} vanished")))?;
        self.blob_info(blob).await
    }

    /// Cancels an upload: deletes its object and row. Returns false if there was none.
    pub async fn cancel(&self, repo: &RepoRef, uuid: &str) -> Result<bool, DomainError> {
        let Ok(id) = Uuid::parse_str(uuid) else {
            return Ok(false);
        };
        let slot = self.upload_slot(uuid);
        let mut cached = slot.lock().await;
        let Some(row) = self.inner.db.blob_upload(id32(repo.id)?, uuid).await? else {
            drop(cached);
            self.forget_upload(uuid);
            return Ok(false);
        };
        *cached = None;
        if let Ok(engine) = self.engine(&row.location) {
            // Parts a row cannot name any more are left to the stale-upload sweep.
            let parts = upload_parts(&row).unwrap_or_default();
            engine.delete_upload(&id, &parts).await?;
        }
        let deleted = self.inner.db.delete_blob_upload(row.id).await?;
        drop(cached);
        self.forget_upload(uuid);
        Ok(deleted)
    }

    /// Mounts a blob visible in `from` into `target` (an `uploadedblob` link). `None` when
    /// `from` does not have it; the caller checks that the user may read `from`.
    pub async fn mount(
        &self,
        target: &RepoRef,
        from: &RepoRef,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>, DomainError> {
        let Some(blob) = self.blob(from, digest).await? else {
            return Ok(None);
        };
        let (now, _) = now();
        let linked = self
            .inner
            .db
            .link_uploaded_blob(
                id32(target.id)?,
                id32(blob.storage_id)?,
                now,
                self.link_expiry(now),
            )
            .await?;
        Ok(linked.then_some(blob))
    }

    /// The manifest an alive tag points at.
    pub async fn manifest_by_tag(
        &self,
        repo: &RepoRef,
        tag: &str,
    ) -> Result<TagLookup, DomainError> {
        let (_, now_ms) = now();
        match self
            .inner
            .db
            .manifest_for_tag(id32(repo.id)?, tag, now_ms)
            .await?
        {
            TagManifest::Alive(row) => Ok(TagLookup::Found(stored_manifest(row)?)),
            TagManifest::Expired => Ok(TagLookup::Expired),
            TagManifest::Missing => Ok(TagLookup::Missing),
        }
    }

    /// [`Registry::lookup_repo`] and, in the same database round trip, the manifest the
    /// alive tag `tag` points at there (`None`: no alive tag; [`Registry::tag_miss`] tells
    /// expired from missing). For pulls by tag, which need both.
    pub async fn lookup_repo_with_tag(
        &self,
        namespace: &str,
        name: &str,
        tag: &str,
    ) -> Result<Option<(RepoRef, Option<StoredManifest>)>, DomainError> {
        let (_, now_ms) = now();
        let found = self
            .inner
            .db
            .registry_repository_and_tag(namespace, name, tag, now_ms)
            .await?;
        found
            .map(|(repo, m)| Ok((repo_ref(repo), m.map(stored_manifest).transpose()?)))
            .transpose()
    }

    /// Why `tag` has no alive manifest in `repo`: [`TagLookup::Expired`] when the name has
    /// history, else [`TagLookup::Missing`] (never `Found`).
    pub async fn tag_miss(&self, repo: &RepoRef, tag: &str) -> Result<TagLookup, DomainError> {
        let (_, now_ms) = now();
        match self
            .inner
            .db
            .tag_without_alive_row(id32(repo.id)?, tag, now_ms)
            .await?
        {
            TagManifest::Expired => Ok(TagLookup::Expired),
            TagManifest::Alive(_) | TagManifest::Missing => Ok(TagLookup::Missing),
        }
    }

    /// [`Registry::lookup_repo`] and, in the same database round trip, the manifest
    /// `digest` there if it is reachable (as [`Registry::manifest_by_digest`] finds it).
    pub async fn lookup_repo_with_manifest(
        &self,
        namespace: &str,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<(RepoRef, Option<StoredManifest>)>, DomainError> {
        let (_, now_ms) = now();
        let found = self
            .inner
            .db
            .registry_repository_and_manifest(namespace, name, &digest.to_string(), now_ms)
            .await?;
        found
            .map(|(repo, m)| Ok((repo_ref(repo), m.map(stored_manifest).transpose()?)))
            .transpose()
    }

    /// The manifest `digest` if an alive tag (hidden ones included) keeps it, or keeps a
    /// manifest list naming it.
    pub async fn manifest_by_digest(
        &self,
        repo: &RepoRef,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, DomainError> {
        let (_, now_ms) = now();
        match self
            .inner
            .db
            .reachable_manifest(id32(repo.id)?, &digest.to_string(), now_ms)
            .await?
        {
            Some(row) => Ok(Some(stored_manifest(row)?)),
            None => Ok(None),
        }
    }

    /// Stores a manifest and points `tag` at it, or, without a tag, keeps it alive with a
    /// hidden temporary tag. Every blob must be visible in the repository and every child
    /// manifest stored in it.
    pub async fn put_manifest(
        &self,
        repo: &RepoRef,
        tag: Option<&str>,
        m: &ParsedManifest,
    ) -> Result<StoredManifest, DomainError> {
        let rid = id32(repo.id)?;
        let (now, now_ms) = now();
        let mut blob_ids: Vec<i32> = Vec::new();
        for d in m.local_blobs() {
            let digest = d.to_string();
            let mut found = self.inner.db.repository_blob(rid, &digest, now).await?;
            if found.is_none() && digest == EMPTY_LAYER_DIGEST {
                found = self.inner.db.shared_blob(&digest).await?;
                if found.is_none() {
                    found = Some(self.create_empty_layer().await?);
                }
            }
            match found {
                Some(b) if !blob_ids.contains(&b.storage_id) => blob_ids.push(b.storage_id),
                Some(_) => {}
                None => return Err(DomainError::ManifestBlobUnknown(d.clone())),
            }
        }
        let mut child_ids: Vec<i32> = Vec::new();
        for child in m.manifests() {
            let d = &child.digest;
            match self.inner.db.manifest_row(rid, &d.to_string()).await? {
                Some(row) if !child_ids.contains(&row.id) => child_ids.push(row.id),
                Some(_) => {}
                // A sparse index: an optional architecture's child is not linked.
                None if self
                    .inner
                    .settings
                    .child_may_be_absent(child.platform.as_ref()) => {}
                None => {
                    return Err(DomainError::ManifestInvalid(format!(
                        "manifest list references unknown manifest {d}"
                    )))
                }
            }
        }
        let text = std::str::from_utf8(m.bytes())
            .map_err(|_| DomainError::ManifestInvalid("manifest is not UTF-8".into()))?;
        let layers_compressed_size = if m.config().is_some() {
            m.layers().iter().try_fold(0i64, |acc, l| {
                i64::try_from(l.size).ok().and_then(|s| acc.checked_add(s))
            })
        } else {
            None
        };
        let digest = m.digest().to_string();
        let subject = m.subject_digest().map(|d| d.to_string());
        // Labels are read from the content only when the manifest is new (Quay writes them
        // once, with the manifest row); a tag's expiration comes from `quay.expires-after`.
        let (labels, expiry) = match self.inner.db.manifest_row(rid, &digest).await? {
            Some(row) => {
                let expiry = match tag {
                    Some(_) => {
                        self.inner
                            .db
                            .expiry_label_value(i64::from(row.id), m.is_index())
                            .await?
                    }
                    None => None,
                };
                (BTreeMap::new(), expiry)
            }
            None => {
                let config = self.label_config_bytes(repo, m).await?;
                let labels = labels::manifest_labels(m, config.as_deref());
                let own = labels.get(labels::EXPIRES_AFTER).cloned();
                let expiry = match (tag, own) {
                    (None, _) => None,
                    (Some(_), Some(v)) => Some(v),
                    (Some(_), None) if m.is_index() => {
                        let children: Vec<i64> = child_ids.iter().map(|c| i64::from(*c)).collect();
                        self.inner.db.shared_expiry_label(&children).await?
                    }
                    (Some(_), None) => None,
                };
                (labels, expiry)
            }
        };
        let label_uuids: Vec<String> = labels
            .keys()
            .map(|_| Uuid::new_v4().hyphenated().to_string())
            .collect();
        let new_labels: Vec<ManifestLabel<'_>> = labels
            .iter()
            .zip(&label_uuids)
            .map(|((key, value), uuid)| ManifestLabel {
                uuid,
                key,
                value,
                media_type: labels::value_media_type(value),
            })
            .collect();
        let q = &self.inner.settings.quota;
        let policy = self.quota_policy(repo).await?;
        let end_after_ms = expiry
            .as_deref()
            .and_then(labels::duration_seconds)
            .filter(|s| *s != 0)
            .map(|s| s.saturating_mul(1000));
        let new = NewManifest {
            repository_id: rid,
            digest: &digest,
            media_type: m.media_type(),
            bytes: text,
            config_media_type: m.config().map(|c| c.media_type.as_str()),
            layers_compressed_size,
            subject: subject.as_deref(),
            artifact_type: m.artifact_type(),
            blob_ids: &blob_ids,
            child_ids: &child_ids,
            labels: &new_labels,
            quota: match (&policy, q.management, q.invalidate_totals) {
                (Some(p), _, _) => QuotaAccounting::Enforce(p),
                (None, true, _) => QuotaAccounting::Track,
                (None, false, true) => QuotaAccounting::Invalidate,
                (None, false, false) => QuotaAccounting::Off,
            },
        };
        let target = match tag {
            Some(t) => TagTarget::Tag {
                name: t,
                end_after_ms,
            },
            None => TagTarget::Temporary {
                name: format!("$temp-{}", Uuid::new_v4().hyphenated()),
                end_ms: if subject.is_some() {
                    None
                } else {
                    Some(now_ms.saturating_add(self.temp_expiration_ms()))
                },
            },
        };
        let id = match self.inner.db.put_manifest(&new, &target, now_ms).await {
            Err(MetaError::QuotaExceeded) => return Err(DomainError::QuotaExceeded),
            other => other?,
        };
        if self.inner.settings.storage_replication {
            // As Quay: every blob of a written manifest is queued for replication; the worker
            // copies what the required locations lack (nothing, when all have it).
            let ids: Vec<i64> = blob_ids.iter().map(|b| i64::from(*b)).collect();
            let now = chrono::Utc::now().naive_utc();
            self.inner
                .db
                .enqueue_replication(repo.namespace_id, &ids, now)
                .await?;
        }
        Ok(StoredManifest {
            id: i64::from(id),
            digest: m.digest().clone(),
            media_type: m.media_type().to_string(),
            bytes: Bytes::copy_from_slice(m.bytes()),
        })
    }

    /// The content of the config blob whose `config.Labels` are the manifest's labels, if
    /// the manifest has one and it is at most [`MAX_LABEL_CONFIG`] bytes (larger configs
    /// contribute no labels rather than sit whole in memory).
    async fn label_config_bytes(
        &self,
        repo: &RepoRef,
        m: &ParsedManifest,
    ) -> Result<Option<Vec<u8>>, DomainError> {
        let Some(desc) = labels::label_config(m) else {
            return Ok(None);
        };
        if desc.size > MAX_LABEL_CONFIG {
            return Ok(None);
        }
        self.read_small_blob(repo.id, &desc.digest, MAX_LABEL_CONFIG)
            .await
    }

    /// The whole content of blob `digest` if it is visible in repository `repository_id`
    /// and at most `max` bytes long (`None` when it is not visible or larger), for readers
    /// of small blobs such as a manifest's config.
    pub async fn read_small_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        max: u64,
    ) -> Result<Option<Vec<u8>>, DomainError> {
        let (now, _) = now();
        let row = self
            .inner
            .db
            .repository_blob(id32(repository_id)?, &digest.to_string(), now)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let blob = self.blob_info(row).await?;
        if blob.size > max {
            return Ok(None);
        }
        let mut stream = self.open_blob(&blob, None).await?;
        let mut buf = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| DomainError::Inconsistent(format!("reading blob {digest}: {e}")))?;
            if (buf.len() + chunk.len()) as u64 > max {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Some(buf))
    }

    /// Writes the shared empty layer into the preferred location and records it, as Quay's
    /// `get_or_create_shared_blob` does when a manifest needs it and no repository has it.
    async fn create_empty_layer(&self) -> Result<BlobRow, DomainError> {
        let engine = self.inner.storage.preferred().clone();
        let hex = EMPTY_LAYER_DIGEST.trim_start_matches("sha256:");
        let path = layout::blob_path(hex).ok_or_else(|| {
            DomainError::Inconsistent(format!("no storage path for {EMPTY_LAYER_DIGEST}"))
        })?;
        if engine.size(&path).await? != Some(EMPTY_LAYER_BYTES.len() as u64) {
            let mut w = engine.writer(&path, false).await?;
            w.write(Bytes::from_static(&EMPTY_LAYER_BYTES)).await?;
            w.finish().await?;
        }
        let location_id = self.location_id(&engine).await?;
        let uuid = Uuid::new_v4().hyphenated().to_string();
        let id = self
            .inner
            .db
            .get_or_create_shared_blob(
                EMPTY_LAYER_DIGEST,
                EMPTY_LAYER_BYTES.len() as i64,
                location_id,
                &uuid,
            )
            .await?;
        self.inner
            .db
            .blob_by_id(id)
            .await?
            .ok_or_else(|| DomainError::Inconsistent(format!("blob {id} vanished")))
    }

    /// Ends the alive tag `tag` (the same write as the API's tag delete). False if there is
    /// none.
    pub async fn delete_by_tag(&self, repo: &RepoRef, tag: &str) -> Result<bool, DomainError> {
        let (_, now_ms) = now();
        Ok(self
            .inner
            .db
            .delete_alive_tag(repo.id, tag, now_ms)
            .await?
            .is_some())
    }

    /// Ends every alive tag (visible or hidden) pointing at `digest`, so that delete finds
    /// exactly what a pull by digest finds and the pull answers 404 afterwards. False if
    /// the repository has no such manifest; [`DomainError::ManifestReferenced`] (nothing
    /// ended) while an alive index names it.
    pub async fn delete_by_digest(
        &self,
        repo: &RepoRef,
        digest: &Digest,
    ) -> Result<bool, DomainError> {
        let (_, now_ms) = now();
        match self
            .inner
            .db
            .delete_tags_for_manifest(id32(repo.id)?, &digest.to_string(), now_ms)
            .await?
        {
            ManifestDelete::Ended => Ok(true),
            ManifestDelete::NoTags => Ok(false),
            ManifestDelete::ReferencedByIndex => {
                Err(DomainError::ManifestReferenced(digest.clone()))
            }
        }
    }

    /// Alive, visible tag names sorted by name, after `last`; the page is
    /// `min(n, v2_max_page)` (default `v2_max_page`; `n = 0` gives an empty page).
    /// Returns the names and whether more follow.
    pub async fn list_tags(
        &self,
        repo: &RepoRef,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<(Vec<String>, bool), DomainError> {
        let max = self.inner.settings.v2_max_page;
        let page = n.unwrap_or(max).min(max);
        if page == 0 {
            return Ok((Vec::new(), false));
        }
        let (_, now_ms) = now();
        let mut names = self
            .inner
            .db
            .alive_tag_names(id32(repo.id)?, now_ms, last, i64::from(page) + 1)
            .await?;
        let more = names.len() > page as usize;
        names.truncate(page as usize);
        Ok((names, more))
    }

    /// Manifests whose `subject` is `subject`, optionally filtered by artifact type. The
    /// subject itself need not exist (distribution-spec v1.1: a referrer may be pushed
    /// before its subject, and a digest with none has an empty list; Quay answers
    /// `MANIFEST_INVALID` for an unknown subject, see docs/REGISTRY.md).
    pub async fn referrers(
        &self,
        repo: &RepoRef,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<ReferrerDescriptor>, DomainError> {
        if !self.inner.settings.referrers_api {
            return Err(DomainError::Unsupported("the referrers API is disabled"));
        }
        let (_, now_ms) = now();
        let rows = self
            .inner
            .db
            .referrer_manifests(id32(repo.id)?, &subject.to_string(), artifact_type, now_ms)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let annotations = serde_json::from_str::<serde_json::Value>(&row.bytes)
                .ok()
                .and_then(|v| v.get("annotations").cloned())
                .and_then(|a| match a {
                    serde_json::Value::Object(map) => Some(
                        map.into_iter()
                            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                            .collect(),
                    ),
                    _ => None,
                })
                .unwrap_or_default();
            out.push(ReferrerDescriptor {
                media_type: row.media_type,
                digest: parse_digest(&row.digest)?,
                size: row.bytes.len() as u64,
                artifact_type: row.artifact_type,
                annotations,
            });
        }
        Ok(out)
    }

    /// Repositories for `/v2/_catalog` in id order after `after_id`; the page is `n` clamped
    /// to `1..=v2_max_page`. Returns the entries and whether more follow (continue with the
    /// last entry's id).
    pub async fn catalog(
        &self,
        filter: &CatalogScope,
        n: u32,
        after_id: Option<i64>,
    ) -> Result<(Vec<CatalogEntry>, bool), DomainError> {
        let page = n.clamp(1, self.inner.settings.v2_max_page.max(1));
        let after = after_id.map(id32).transpose()?;
        let mut rows = self
            .inner
            .db
            .catalog_repositories(filter, after, i64::from(page) + 1)
            .await?;
        let more = rows.len() > page as usize;
        rows.truncate(page as usize);
        Ok((
            rows.into_iter()
                .map(|r| CatalogEntry {
                    id: i64::from(r.id),
                    namespace: r.namespace,
                    name: r.name,
                })
                .collect(),
            more,
        ))
    }
}

/// Object path of a stored blob in its location.
fn blob_object_path(blob: &BlobInfo) -> Result<String, DomainError> {
    let digest = blob.digest.to_string();
    layout::stored_blob_path(blob.cas_path, Some(&digest), &blob.uuid).ok_or_else(|| {
        DomainError::Inconsistent(format!(
            "no object path for blob {} (storage uuid {})",
            blob.digest, blob.uuid
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_layer_bytes_hash_to_the_shared_digest() {
        let hex = hex::encode(Sha256::digest(EMPTY_LAYER_BYTES));
        assert_eq!(format!("sha256:{hex}"), EMPTY_LAYER_DIGEST);
    }
}
