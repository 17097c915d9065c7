//! quayside-domain's [`Registry`] over a real database and LocalStorage, and pushing blobs,
//! images and indexes through it the way a client's requests would.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use quayside_domain::{BlobInfo, NoBody, Registry, RegistrySettings, RepoRef};
use quayside_meta::{Backend, Db};
use quayside_oci::{media_types, Digest, ParsedManifest};
use quayside_storage::DistributedStorage;

use crate::storage::{self, LOCATION};
use crate::{create_namespace, create_repository, TestDb};

/// A migrated database, LocalStorage ([`LOCATION`]) in a temp dir, and the registry over
/// both, with the namespace `devtable` and its repository `simple`.
pub struct RegistryEnv {
    pub tdb: TestDb,
    pub dir: tempfile::TempDir,
    pub reg: Registry,
    pub storage: Arc<DistributedStorage>,
    /// `devtable/simple`.
    pub repo: RepoRef,
    /// `devtable`'s id.
    pub namespace_id: i32,
}

impl RegistryEnv {
    pub async fn new(backend: Backend) -> RegistryEnv {
        RegistryEnv::with_settings(backend, RegistrySettings::default()).await
    }

    pub async fn with_settings(backend: Backend, settings: RegistrySettings) -> RegistryEnv {
        let tdb = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("temp dir");
        tdb.db()
            .sync_storage_locations(&[LOCATION.to_string()])
            .await
            .expect("locations");
        let storage = storage::local(dir.path());
        let reg = Registry::new(tdb.db().clone(), storage.clone(), settings);
        let ns = create_namespace(tdb.db(), "devtable").await;
        create_repository(tdb.db(), ns, "simple").await;
        let repo = reg
            .lookup_repo("devtable", "simple")
            .await
            .expect("lookup")
            .expect("repo exists");
        RegistryEnv {
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

    /// The storage directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A further repository `devtable/<name>`.
    pub async fn other_repo(&self, name: &str) -> RepoRef {
        create_repository(self.db(), self.namespace_id, name).await;
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

/// A request body made of `chunks`.
pub fn body(
    chunks: Vec<Vec<u8>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
}

/// Uploads `data` monolithically (the whole body with the commit) and commits it.
pub async fn push_blob(reg: &Registry, repo: &RepoRef, data: &[u8]) -> BlobInfo {
    let digest = Digest::sha256_of(data);
    let session = reg.start_upload(repo).await.expect("start upload");
    reg.complete(
        repo,
        &session.uuid,
        &digest,
        Some(body(vec![data.to_vec()])),
    )
    .await
    .expect("complete")
}

/// Uploads `data` in appended chunks (at least 64 KiB, about four of them), then commits it
/// with an empty final body.
pub async fn push_blob_in_chunks(reg: &Registry, repo: &RepoRef, data: &[u8]) -> BlobInfo {
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
    reg.complete(repo, &session.uuid, &digest, None::<NoBody>)
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

/// An OCI image manifest: config + layers, optional subject (then with an `artifactType`).
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

/// Pushes config and layers ([`push_blob`]), then the manifest under `tag` (or by digest).
/// Returns the manifest digest and bytes.
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

/// Pushes an index of already-pushed manifests (`linux/amd64` each) under `tag`.
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
