//! Real clients: skopeo pushes and pulls every test image through quayside,
//! on SQLite and on PostgreSQL, and every round trip is byte-identical.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest as _;

use crate::backends::{self, Running};
use crate::fixtures;

const USER: &str = "alice";
const PASSWORD: &str = "correct-horse-battery";

pub(crate) fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/images")
        .join(name)
}

fn sha256_file(path: &Path) -> String {
    let mut f =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).expect("hash");
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// The manifest digest a layout's index.json names for `tag`.
pub(crate) fn layout_digest(layout: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("json");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .unwrap_or_else(|| panic!("tag {tag} in {}", layout.display()))
        .to_string()
}

pub(crate) fn skopeo(args: &[&str]) -> std::process::Output {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("skopeo is installed (Debian package skopeo)");
    out
}

fn skopeo_ok(args: &[&str]) -> String {
    let out = skopeo(args);
    assert!(
        out.status.success(),
        "skopeo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) struct Client<'a> {
    run: &'a Running,
    creds: String,
}

impl<'a> Client<'a> {
    /// A skopeo client of `run` as `user`.
    pub(crate) fn new(run: &'a Running, user: &str, password: &str) -> Client<'a> {
        Client {
            run,
            creds: format!("{user}:{password}"),
        }
    }

    fn reference(&self, repo: &str, tag: &str) -> String {
        let user = self.creds.split(':').next().unwrap_or(USER);
        format!("docker://{}/{user}/{repo}:{tag}", self.run.host())
    }

    fn push(&self, src: &str, repo: &str, tag: &str, extra: &[&str]) {
        let dest = self.reference(repo, tag);
        let mut args = vec![
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &self.creds,
        ];
        args.extend_from_slice(extra);
        args.push(src);
        args.push(&dest);
        skopeo_ok(&args);
    }

    /// The manifest bytes the registry serves for repo:tag, and their digest.
    fn raw_digest(&self, repo: &str, tag: &str) -> String {
        let out = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &self.creds,
            &self.reference(repo, tag),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout)))
    }

    /// Pulls into a `dir:` layout (which keeps manifest bytes as served).
    fn pull_dir(&self, repo: &str, tag: &str, extra: &[&str]) -> tempfile::TempDir {
        let out = tempfile::tempdir().expect("tempdir");
        let dest = format!("dir:{}", out.path().display());
        let src = self.reference(repo, tag);
        let mut args = vec!["copy", "--src-tls-verify=false", "--src-creds", &self.creds];
        args.extend_from_slice(extra);
        args.push(&src);
        args.push(&dest);
        skopeo_ok(&args);
        out
    }
}

/// Pushes `layout:tag`, checks the served manifest is the source's, pulls it
/// back and checks the pulled manifest and every blob against their digests.
pub(crate) fn round_trip(c: &Client, layout: &str, tag: &str, repo: &str, all: bool) {
    let path = testdata(layout);
    let extra: &[&str] = if all { &["--all"] } else { &[] };
    c.push(&format!("oci:{}:{tag}", path.display()), repo, tag, extra);
    pulls_identical(c, layout, tag, repo, all);
}

/// `repo:tag` (pushed from `layout:tag` earlier, perhaps to another server holding the
/// same data) is served with the source's manifest, and pulls back with every blob intact.
pub(crate) fn pulls_identical(c: &Client, layout: &str, tag: &str, repo: &str, all: bool) {
    let path = testdata(layout);
    let expected = layout_digest(&path, tag);
    let extra: &[&str] = if all { &["--all"] } else { &[] };
    assert_eq!(
        c.raw_digest(repo, tag),
        expected,
        "{layout}:{tag} served byte-identical"
    );
    let pulled = c.pull_dir(repo, tag, extra);
    assert_eq!(
        sha256_file(&pulled.path().join("manifest.json")),
        expected,
        "{layout}:{tag} pulled byte-identical"
    );
    verify_dir_blobs(pulled.path());
}

/// Every file in a `dir:` layout named by a digest hashes to that digest.
fn verify_dir_blobs(dir: &Path) {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let p = entry.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let hex = name.strip_suffix(".manifest.json").unwrap_or(&name);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            assert_eq!(sha256_file(&p), format!("sha256:{hex}"), "{}", p.display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no blobs in {}", dir.display());
}

async fn suite(run: Running) {
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "alice@example.com").await;
    let c = Client {
        run: &run,
        creds: format!("{USER}:{PASSWORD}"),
    };
    // OCI image (a real Debian root filesystem, one 51 MB layer).
    round_trip(&c, "debian-bookworm", "bookworm", "debian", false);
    // Multi-arch index with --all.
    round_trip(&c, "multiarch", "latest", "multiarch", true);
    // OCI 1.1 artifact, a tiny image, and an SBOM whose subject is that image.
    round_trip(&c, "artifact", "v1", "artifacts", false);
    round_trip(&c, "artifact", "base", "artifacts", false);
    round_trip(&c, "artifact", "sbom", "artifacts", false);
    // Helm chart.
    round_trip(&c, "helm-chart", "0.1.0", "charts", false);

    // The pulls were audited with the client's address: the server records the peer of the
    // connection when no proxy header names one.
    let db = quayside_meta::Db::connect(&run.db_uri, &quayside_meta::ConnectOptions::default())
        .await
        .expect("connect");
    let filter = quayside_meta::logs::LogFilter::default();
    let mut pulls = Vec::new();
    for _ in 0..50 {
        pulls = db.log_entries(&filter, 500).await.expect("logs");
        pulls.retain(|r| r.kind == "pull_repo");
        if !pulls.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!pulls.is_empty(), "{}: pull_repo rows", run.label);
    for row in &pulls {
        assert_eq!(row.ip.as_deref(), Some("127.0.0.1"), "{}", run.label);
    }
    db.close().await;

    // Referrers of `base` list the SBOM.
    let base = layout_digest(&testdata("artifact"), "base");
    let sbom = layout_digest(&testdata("artifact"), "sbom");
    let token = fixtures::token(
        &run,
        USER,
        PASSWORD,
        &format!("repository:{USER}/artifacts:pull"),
    )
    .await;
    let resp = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/v2/{USER}/artifacts/referrers/{base}",
            run.port
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("referrers");
    assert_eq!(resp.status(), 200);
    let index: serde_json::Value = resp.json().await.expect("json");
    let listed: Vec<&str> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter_map(|m| m["digest"].as_str())
        .collect();
    assert_eq!(listed, vec![sbom.as_str()], "{index}");
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/spdx+json"
    );

    // A Docker schema 2 image, converted by skopeo on push.
    let base_ref = format!("oci:{}:base", testdata("artifact").display());
    c.push(&base_ref, "docker-v2s2", "latest", &["--format", "v2s2"]);
    let pulled = c.pull_dir("docker-v2s2", "latest", &[]);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(pulled.path().join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        sha256_file(&pulled.path().join("manifest.json")),
        c.raw_digest("docker-v2s2", "latest")
    );
    verify_dir_blobs(pulled.path());

    // list-tags and delete.
    let tags: serde_json::Value = serde_json::from_str(&skopeo_ok(&[
        "list-tags",
        "--tls-verify=false",
        "--creds",
        &c.creds,
        &format!("docker://{}/{USER}/artifacts", run.host()),
    ]))
    .expect("list-tags json");
    let mut names: Vec<&str> = tags["Tags"]
        .as_array()
        .expect("Tags")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    names.sort();
    assert_eq!(names, vec!["base", "sbom", "v1"]);
    skopeo_ok(&[
        "delete",
        "--tls-verify=false",
        "--creds",
        &c.creds,
        &c.reference("charts", "0.1.0"),
    ]);
    let gone = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &c.creds,
        &c.reference("charts", "0.1.0"),
    ]);
    assert!(!gone.status.success(), "deleted tag must not resolve");

    // A generated 100 MiB single-layer image streams through without the
    // server ever holding it: its peak RSS stays far below the blob size.
    let big = tempfile::tempdir().expect("tempdir");
    write_big_layout(big.path(), 100 * 1024 * 1024);
    // skopeo compresses an uncompressed layer on its way to a registry, so the
    // pushed manifest is skopeo's; the round trip must still be exact.
    c.push(
        &format!("oci:{}:big", big.path().display()),
        "big",
        "big",
        &[],
    );
    let pulled = c.pull_dir("big", "big", &[]);
    assert_eq!(
        sha256_file(&pulled.path().join("manifest.json")),
        c.raw_digest("big", "big")
    );
    let layers: serde_json::Value = serde_json::from_slice(
        &std::fs::read(pulled.path().join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let layer_size = layers["layers"][0]["size"].as_u64().expect("layer size");
    assert!(
        layer_size > 100 * 1000 * 1000,
        "random data stays ~100 MiB: {layer_size}"
    );
    verify_dir_blobs(pulled.path());
    let peak = peak_rss_kib(run.server.pid());
    assert!(
        peak < 80 * 1024,
        "{}: server peak RSS {peak} KiB after a 100 MiB blob round trip",
        run.label
    );

    run.stop().await;
}

/// Writes an OCI layout with one layer of `size` deterministic bytes.
fn write_big_layout(dir: &Path, size: usize) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    let tmp = dir.join("layer.tmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("create"));
    let mut h = sha2::Sha256::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let n = left.min(buf.len());
        f.write_all(&buf[..n]).expect("write");
        h.update(&buf[..n]);
        left -= n;
    }
    f.flush().expect("flush");
    drop(f);
    let layer_hex = hex::encode(h.finalize());
    std::fs::rename(&tmp, blobs.join(&layer_hex)).expect("rename");
    let put = |bytes: &[u8]| -> (String, usize) {
        let hex = hex::encode(sha2::Sha256::digest(bytes));
        std::fs::write(blobs.join(&hex), bytes).expect("write blob");
        (format!("sha256:{hex}"), bytes.len())
    };
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let (config_digest, config_size) = put(config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{layer_hex}"), "size": size}]
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("json");
    let (manifest_digest, manifest_size) = put(&manifest_bytes);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest_size,
                       "annotations": {"org.opencontainers.image.ref.name": "big"}}]
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("layout");
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test]
async fn skopeo_round_trips_every_image_on_sqlite() {
    suite(backends::sqlite().await).await;
}

#[tokio::test]
async fn skopeo_round_trips_every_image_on_postgres() {
    suite(backends::postgres().await).await;
}
