//! Shared set-up for worker tests: a real database (SQLite or PostgreSQL), LocalStorage in a
//! temp dir, Quay rows written through quayside-domain's registry, and row/object counting.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use quayside_domain::{BlobInfo, Registry, RegistrySettings, RepoRef};
use quayside_meta::{with_pool, Backend, Db};
use quayside_metrics::Metrics;
use quayside_oci::{media_types, Digest, ParsedManifest};
use quayside_storage::{DistributedStorage, LocationConfig};
pub use quayside_test_db::{create_namespace, create_repository, TestDb};
use quayside_workers::{WorkerContext, WorkerSettings};

pub const LOCATION: &str = "local_us";

/// Tables GC touches, counted before/after.
pub const TABLES: &[&str] = &[
    "tag",
    "manifest",
    "manifestblob",
    "manifestchild",
    "manifestlabel",
    "label",
    "imagestorage",
    "imagestorageplacement",
    "uploadedblob",
    "blobupload",
];

pub struct Env {
    pub tdb: TestDb,
    pub dir: tempfile::TempDir,
    pub reg: Registry,
    pub storage: Arc<DistributedStorage>,
    pub repo: RepoRef,
    pub namespace_id: i32,
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
        let storage = storage(dir.path());
        let reg = Registry::new(tdb.db().clone(), storage.clone(), settings);
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
            storage,
            repo,
            namespace_id: ns,
        }
    }

    pub fn db(&self) -> &Db {
        self.tdb.db()
    }

    pub async fn other_repo(&self, name: &str) -> RepoRef {
        create_repository(self.db(), self.namespace_id, name).await;
        self.reg
            .lookup_repo("devtable", name)
            .await
            .expect("lookup")
            .expect("repo exists")
    }

    pub fn context(&self) -> WorkerContext {
        let config = quayside_config::Config::from_yaml_str("{}\n").expect("config");
        let live = Arc::new(quayside_config::LiveSettings::from_config(&config));
        WorkerContext::new(
            self.db().clone(),
            self.storage.clone(),
            Metrics::new(),
            live,
            WorkerSettings::from_config(&config),
        )
    }

    /// The namespace's time-machine window.
    pub async fn set_window(&self, seconds: i32) {
        exec(
            self.db(),
            "UPDATE \"user\" SET removed_tag_expiration_s = $1 WHERE id = $2",
            &[seconds, self.namespace_id],
        )
        .await;
    }

    /// Moves time: every upload link and every temporary tag expires now-1s.
    pub async fn expire_links(&self) {
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
        with_pool!(self.db(), pool => {
            sqlx::query("UPDATE uploadedblob SET expires_at = $1").bind(past).execute(pool).await.map(|_| ())
        })
        .expect("expire links");
        let past_ms = chrono::Utc::now().timestamp_millis() - 1000;
        with_pool!(self.db(), pool => {
            sqlx::query("UPDATE tag SET lifetime_end_ms = $1 - id WHERE name LIKE '$temp-%' AND lifetime_end_ms IS NOT NULL")
                .bind(past_ms)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("expire temp tags");
    }

    /// Row counts of [`TABLES`] plus `objects` (files under `sha256/`).
    pub async fn counts(&self) -> BTreeMap<&'static str, i64> {
        let mut out = BTreeMap::new();
        for t in TABLES {
            out.insert(*t, self.db().count_rows(t).await.expect("count"));
        }
        out.insert(
            "objects",
            count_objects(&self.dir.path().join("sha256")) as i64,
        );
        out
    }

    pub fn object_exists(&self, digest: &Digest) -> bool {
        self.dir
            .path()
            .join("sha256")
            .join(&digest.hex()[..2])
            .join(digest.hex())
            .exists()
    }

    pub async fn cleanup(self) {
        self.tdb.cleanup().await;
    }
}

pub fn count_objects(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                count_objects(&p)
            } else {
                1
            }
        })
        .sum()
}

pub async fn exec(db: &Db, sql: &str, binds: &[i32]) {
    with_pool!(db, pool => {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(pool).await.map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub async fn scalar(db: &Db, sql: &str) -> i64 {
    with_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub fn body(
    data: Vec<u8>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    futures::stream::iter(std::iter::once(Ok(Bytes::from(data))))
}

/// Uploads `data` (monolithic) and commits it.
pub async fn push_blob(reg: &Registry, repo: &RepoRef, data: &[u8]) -> BlobInfo {
    let digest = Digest::sha256_of(data);
    let session = reg.start_upload(repo).await.expect("start upload");
    reg.complete(repo, &session.uuid, &digest, Some(body(data.to_vec())))
        .await
        .expect("complete")
}

fn descriptor(media_type: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "mediaType": media_type,
        "digest": Digest::sha256_of(data).to_string(),
        "size": data.len(),
    })
}

/// An OCI image: config + layers, optional subject. Returns the manifest bytes.
pub fn image_manifest(
    config: &[u8],
    layers: &[Vec<u8>],
    subject: Option<(&Digest, usize)>,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_MANIFEST,
        "config": descriptor(media_types::OCI_CONFIG, config),
        "layers": layers.iter().map(|l| descriptor(media_types::OCI_LAYER_TAR_GZIP, l)).collect::<Vec<_>>(),
    });
    if let Some((d, size)) = subject {
        m["subject"] = serde_json::json!({
            "mediaType": media_types::OCI_MANIFEST,
            "digest": d.to_string(),
            "size": size,
        });
        m["artifactType"] = serde_json::json!("application/vnd.example.sbom");
    }
    serde_json::to_vec(&m).expect("json")
}

/// Pushes config and layers, then the manifest under `tag` (or by digest). Returns the
/// manifest digest and bytes.
pub async fn push_image(
    reg: &Registry,
    repo: &RepoRef,
    tag: Option<&str>,
    config: &[u8],
    layers: &[Vec<u8>],
    subject: Option<(&Digest, usize)>,
) -> (Digest, Vec<u8>) {
    push_blob(reg, repo, config).await;
    for l in layers {
        push_blob(reg, repo, l).await;
    }
    let bytes = image_manifest(config, layers, subject);
    let parsed = ParsedManifest::parse(&bytes, Some(media_types::OCI_MANIFEST)).expect("parse");
    reg.put_manifest(repo, tag, &parsed)
        .await
        .expect("put manifest");
    (parsed.digest().clone(), bytes)
}

/// Pushes an index of already-pushed manifests under `tag`.
pub async fn push_index(
    reg: &Registry,
    repo: &RepoRef,
    tag: &str,
    children: &[(Digest, usize)],
) -> Digest {
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_INDEX,
        "manifests": children.iter().map(|(d, size)| serde_json::json!({
            "mediaType": media_types::OCI_MANIFEST,
            "digest": d.to_string(),
            "size": size,
            "platform": {"architecture": "amd64", "os": "linux"},
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&m).expect("json");
    let parsed = ParsedManifest::parse(&bytes, Some(media_types::OCI_INDEX)).expect("parse");
    reg.put_manifest(repo, Some(tag), &parsed)
        .await
        .expect("put index");
    parsed.digest().clone()
}

/// Reads a whole blob back through the registry (None if not visible or unreadable).
pub async fn read_blob(reg: &Registry, repo: &RepoRef, digest: &Digest) -> Option<Vec<u8>> {
    use futures::StreamExt;
    let info = reg.blob(repo, digest).await.ok()??;
    let mut s = reg.open_blob(&info, None).await.ok()?;
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.ok()?);
    }
    Some(out)
}

/// Adds a label to a manifest (`label` + `manifestlabel`), as Quay's label API does.
pub async fn add_label(db: &Db, repo_id: i64, manifest_digest: &Digest, key: &str) {
    let mid: i32 = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2")
            .bind(i32::try_from(repo_id).expect("id"))
            .bind(manifest_digest.to_string())
            .fetch_one(pool)
            .await
    })
    .expect("manifest id");
    let lid: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO label (uuid, key, value, media_type_id, source_type_id) VALUES ($1, $2, $3, \
             (SELECT id FROM mediatype WHERE name = 'text/plain'), (SELECT id FROM labelsourcetype WHERE name = 'api')) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(key)
        .bind("value")
        .fetch_one(pool)
        .await
    })
    .expect("label");
    exec(
        db,
        "INSERT INTO manifestlabel (repository_id, manifest_id, label_id) VALUES ($1, $2, $3)",
        &[i32::try_from(repo_id).expect("id"), mid, lid],
    )
    .await;
}

/// Distinct content of `n` bytes.
pub fn content(tag: &str, n: usize) -> Vec<u8> {
    let mut v = tag.as_bytes().to_vec();
    v.extend((0..n).map(|i| (i % 251) as u8));
    v
}
