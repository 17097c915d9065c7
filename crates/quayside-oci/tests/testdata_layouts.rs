//! Every manifest and index in the shared OCI layouts parses, hashes to its file
//! name, and references exactly the blobs/children the files say.
//!
//! Layouts are read from `$QUAYSIDE_TESTDATA_IMAGES` or `<repo>/../shared/testdata/images`.
//! A missing directory fails the test (it is never skipped silently).

use std::fs;
use std::path::{Path, PathBuf};

use quayside_oci::media_types as mt;
use quayside_oci::{Descriptor, Digest, ManifestKind, ParsedManifest};

fn images_dir() -> PathBuf {
    if let Ok(p) = std::env::var("QUAYSIDE_TESTDATA_IMAGES") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/images")
}

fn blob_path(layout: &Path, d: &Digest) -> PathBuf {
    layout
        .join("blobs")
        .join(d.algorithm().as_str())
        .join(d.hex())
}

fn read_blob(layout: &Path, d: &Descriptor) -> Vec<u8> {
    let p = blob_path(layout, &d.digest);
    let bytes = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    assert_eq!(bytes.len() as u64, d.size, "size of {}", d.digest);
    assert_eq!(
        Digest::sha256_of(&bytes),
        d.digest,
        "content of {}",
        p.display()
    );
    bytes
}

/// Parses the manifest behind `d` and checks everything it references; returns it.
fn check_manifest(layout: &Path, d: &Descriptor, seen: &mut usize) -> ParsedManifest {
    let bytes = read_blob(layout, d);
    let m = ParsedManifest::parse(&bytes, Some(&d.media_type))
        .unwrap_or_else(|e| panic!("{} ({}) does not parse: {e}", d.digest, d.media_type));
    *seen += 1;
    assert_eq!(m.digest(), &d.digest);
    assert_eq!(m.bytes(), bytes.as_slice());
    assert_eq!(m.media_type(), d.media_type);
    if m.is_index() {
        for child in m.manifests() {
            check_manifest(layout, child, seen);
        }
    } else {
        let cfg = m.config().expect("image manifest has config").clone();
        read_blob(layout, &cfg);
        for l in m.layers() {
            assert!(
                blob_path(layout, &l.digest).is_file(),
                "layer {} present",
                l.digest
            );
            let meta = fs::metadata(blob_path(layout, &l.digest)).expect("stat");
            assert_eq!(meta.len(), l.size, "layer size {}", l.digest);
        }
        let mut expected: Vec<&Digest> = vec![&cfg.digest];
        expected.extend(m.layers().iter().map(|l| &l.digest));
        assert_eq!(m.referenced_blobs(), expected);
    }
    m
}

fn load_index(name: &str) -> (PathBuf, ParsedManifest) {
    let layout = images_dir().join(name);
    let p = layout.join("index.json");
    let bytes = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    let idx = ParsedManifest::parse(&bytes, Some(mt::OCI_INDEX))
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", p.display()));
    assert_eq!(idx.kind(), ManifestKind::OciIndex);
    (layout, idx)
}

fn by_ref_name<'a>(idx: &'a ParsedManifest, tag: &str) -> &'a Descriptor {
    idx.manifests()
        .iter()
        .find(|d| {
            d.annotations
                .get("org.opencontainers.image.ref.name")
                .map(String::as_str)
                == Some(tag)
        })
        .unwrap_or_else(|| panic!("tag {tag} in index.json"))
}

#[test]
fn all_layouts_parse_and_verify() {
    let dir = images_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("testdata at {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("index.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 4, "layouts found: {names:?}");
    let mut seen = 0;
    for name in &names {
        let (layout, idx) = load_index(name);
        for d in idx.manifests() {
            check_manifest(&layout, d, &mut seen);
        }
    }
    // debian 1 + multiarch 1 index + 3 + artifact 3 + helm 1 = 9
    assert!(seen >= 9, "manifests checked: {seen}");
}

#[test]
fn debian_bookworm() {
    let (layout, idx) = load_index("debian-bookworm");
    let d = by_ref_name(&idx, "bookworm");
    let mut n = 0;
    let m = check_manifest(&layout, d, &mut n);
    assert_eq!(m.kind(), ManifestKind::OciManifest);
    assert_eq!(m.layers().len(), 1);
    assert_eq!(m.layers()[0].media_type, mt::OCI_LAYER_TAR_GZIP);
    assert_eq!(m.layers()[0].size, 51_105_448);
    assert_eq!(m.artifact_type(), Some(mt::OCI_CONFIG));
    assert_eq!(
        m.digest().to_string(),
        "sha256:70f05d77ccbb0b26ee08f542c1c75483ec0ebb3e331c5040fc3825e58b38700d"
    );
}

#[test]
fn multiarch_index_platforms() {
    let (layout, idx) = load_index("multiarch");
    let d = by_ref_name(&idx, "latest");
    let mut n = 0;
    let m = check_manifest(&layout, d, &mut n);
    assert_eq!(n, 4);
    assert_eq!(m.kind(), ManifestKind::OciIndex);
    let plats: Vec<(String, String, Option<String>)> = m
        .manifests()
        .iter()
        .map(|c| {
            let p = c.platform.clone().expect("platform");
            (p.os, p.architecture, p.variant)
        })
        .collect();
    assert_eq!(
        plats,
        vec![
            ("linux".into(), "amd64".into(), None),
            ("linux".into(), "arm64".into(), None),
            ("linux".into(), "arm".into(), Some("v7".into())),
        ]
    );
    assert!(m.referenced_blobs().is_empty());
}

#[test]
fn artifact_and_referrers() {
    let (layout, idx) = load_index("artifact");
    let mut n = 0;
    let v1 = check_manifest(&layout, by_ref_name(&idx, "v1"), &mut n);
    assert_eq!(v1.artifact_type(), Some("application/vnd.quayside.test.v1"));
    assert_eq!(
        v1.config().map(|c| c.media_type.as_str()),
        Some(mt::OCI_EMPTY)
    );
    assert_eq!(
        v1.config().map(|c| c.digest.to_string()).as_deref(),
        Some(mt::OCI_EMPTY_DIGEST)
    );

    let base = check_manifest(&layout, by_ref_name(&idx, "base"), &mut n);
    assert_eq!(base.artifact_type(), Some(mt::OCI_CONFIG));
    assert!(base.subject().is_none());

    let sbom = check_manifest(&layout, by_ref_name(&idx, "sbom"), &mut n);
    assert_eq!(sbom.artifact_type(), Some("application/spdx+json"));
    assert_eq!(sbom.subject_digest(), Some(base.digest()));
    assert_eq!(sbom.subject().map(|s| s.size), Some(base.size() as u64));
    // index.json's descriptor artifactType agrees with the manifest's
    assert_eq!(
        by_ref_name(&idx, "sbom").artifact_type.as_deref(),
        sbom.artifact_type()
    );
}

#[test]
fn helm_chart() {
    let (layout, idx) = load_index("helm-chart");
    let mut n = 0;
    let m = check_manifest(&layout, by_ref_name(&idx, "0.1.0"), &mut n);
    assert_eq!(
        m.config().map(|c| c.media_type.as_str()),
        Some(mt::HELM_CONFIG)
    );
    assert_eq!(m.artifact_type(), Some(mt::HELM_CONFIG));
    assert_eq!(m.layers().len(), 1);
    assert_eq!(m.layers()[0].media_type, mt::HELM_CHART_CONTENT);
    assert_eq!(
        quayside_oci::check_artifact_types(&m, mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES),
        Ok(())
    );
}
