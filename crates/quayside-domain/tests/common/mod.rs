//! Shared set-up: a real database (SQLite or PostgreSQL), LocalStorage in a temp dir, and
//! namespace/repository rows written with Quay's columns.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use quayside_domain::{BlobInfo, Registry, RegistrySettings, RepoRef};
use quayside_meta::{with_pool, Backend, Db};
use quayside_oci::{Digest, ParsedManifest};
use quayside_storage::{DistributedStorage, LocationConfig};
pub use quayside_test_db::{create_namespace, create_repository, TestDb};

pub const LOCATION: &str = "local_us";

pub struct Env {
    pub tdb: TestDb,
    pub dir: tempfile::TempDir,
    pub reg: Registry,
    pub repo: RepoRef,
}

pub fn storage(dir: &Path) -> Arc<DistributedStorage> {
    let mut params = serde_json::Map::new();
    params.insert(
        "storage_path".into(),
        serde_json::Value::from(dir.display().to_string()),
    );
    let loc = LocationConfig {
        id: LOCATION.into(),
        driver: "LocalStorage".into(),
        params,
    };
    Arc::new(DistributedStorage::open(&[loc], &[LOCATION.to_string()]).expect("open storage"))
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        Env::with_settings(backend, RegistrySettings::default()).await
    }

    pub async fn with_settings(backend: Backend, settings: RegistrySettings) -> Env {
        let tdb = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("temp dir");
        tdb.db()
            .sync_storage_locations(&[LOCATION.to_string()])
            .await
            .expect("locations");
        let reg = Registry::new(tdb.db().clone(), storage(dir.path()), settings);
        let ns = create_namespace(tdb.db(), "devtable").await;
        create_repository(tdb.db(), ns, "simple").await;
        let repo = reg
            .lookup_repo("devtable", "simple")
            .await
            .expect("lookup")
            .expect("repo exists");
        Env {
            tdb,
            dir,
            reg,
            repo,
        }
    }

    pub fn db(&self) -> &Db {
        self.tdb.db()
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub async fn other_repo(&self, name: &str) -> RepoRef {
        create_repository(
            self.db(),
            i32::try_from(self.repo.namespace_id).expect("id"),
            name,
        )
        .await;
        self.reg
            .lookup_repo("devtable", name)
            .await
            .expect("lookup")
            .expect("repo exists")
    }

    pub async fn cleanup(self) {
        self.tdb.cleanup().await;
    }
}

pub fn body(
    chunks: Vec<Vec<u8>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
}

/// Pushes `data` in chunks of at most `chunk` bytes, then commits it.
pub async fn push_blob(reg: &Registry, repo: &RepoRef, data: &[u8]) -> BlobInfo {
    let digest = Digest::sha256_of(data);
    let session = reg.start_upload(repo).await.expect("start upload");
    let mut offset = 0u64;
    for part in data.chunks((data.len() / 4).max(64 * 1024)) {
        let s = reg
            .append(repo, &session.uuid, Some(offset), body(vec![part.to_vec()]))
            .await
            .expect("append");
        offset = s.offset;
    }
    reg.complete(
        repo,
        &session.uuid,
        &digest,
        None::<quayside_domain::NoBody>,
    )
    .await
    .expect("complete")
}

/// Pushes a file of an OCI layout's blob store.
pub async fn push_layout_blob(
    reg: &Registry,
    repo: &RepoRef,
    layout: &str,
    digest: &Digest,
) -> BlobInfo {
    let data = std::fs::read(blob_file(layout, digest)).expect("read layout blob");
    push_blob(reg, repo, &data).await
}

pub fn blob_file(layout: &str, digest: &Digest) -> PathBuf {
    PathBuf::from("/work/shared/testdata/images")
        .join(layout)
        .join("blobs/sha256")
        .join(digest.hex())
}

pub fn layout_manifest(layout: &str, digest: &str) -> ParsedManifest {
    let d = Digest::parse(digest).expect("digest");
    let bytes = std::fs::read(blob_file(layout, &d)).expect("read manifest");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let mt = v
        .get("mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or(quayside_oci::media_types::OCI_MANIFEST)
        .to_string();
    ParsedManifest::parse(&bytes, Some(&mt)).expect("parse manifest")
}

pub async fn scalar_i64(db: &Db, sql: &str, bind: i32) -> i64 {
    with_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(bind).fetch_one(pool).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
