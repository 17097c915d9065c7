//! This crate's fixtures over quayside-testkit's registry harness: the OCI image layouts
//! under `/work/shared/testdata/images`, read and pushed blob by blob.
#![allow(dead_code)]

use std::path::PathBuf;

use quayside_domain::{BlobInfo, Registry, RepoRef};
use quayside_oci::{Digest, ParsedManifest};
use quayside_testkit::registry::push_blob_in_chunks;

/// A real database, LocalStorage in a temp dir and the registry over both, with
/// `devtable/simple`.
pub use quayside_testkit::registry::RegistryEnv as Env;

/// Pushes a file of an OCI layout's blob store.
pub async fn push_layout_blob(
    reg: &Registry,
    repo: &RepoRef,
    layout: &str,
    digest: &Digest,
) -> BlobInfo {
    let data = std::fs::read(blob_file(layout, digest)).expect("read layout blob");
    push_blob_in_chunks(reg, repo, &data).await
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
