//! Geo-replication (`FEATURE_STORAGE_REPLICATION`) on two real S3 buckets (Garage), on
//! SQLite and on PostgreSQL: skopeo pushes to the preferred location only, every blob is
//! queued on `imagestoragereplication`, `quayside worker storagereplication --once` copies
//! each blob into the second bucket and records its placement; pulls preferring the second
//! location are redirected there and keep working when the first S3 server is down, and a
//! proxied pull (`FEATURE_PROXY_STORAGE`) preferring the dead location falls back to the
//! replica.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use quayside_meta::{with_pool, ConnectOptions, Db};
use quayside_testkit::garage::Bucket;
use quayside_testkit::sql::{scalar_i64, Arg};
use reqwest::{Client, StatusCode};
use sha2::Digest as _;

use crate::backends::{self, Running};
use crate::outage::Proxy;
use crate::{fixtures, skopeo};

const USER: &str = "geo";
const PASSWORD: &str = "geo-long-password";
const STORAGE_PATH: &str = "/datastorage/registry";
const BLOBS: &str = "datastorage/registry/sha256/";
const UPLOADS: &str = "datastorage/registry/uploads/";
const ONE: &str = "s3_one";
const TWO: &str = "s3_two";

/// The images pushed: (layout under shared/testdata/images, tag, repository, `--all`).
const IMAGES: [(&str, &str, &str, bool); 2] = [
    ("multiarch", "latest", "multiarch", true),
    ("helm-chart", "0.1.0", "charts", false),
];

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/images")
        .join(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Quay's object key of a `sha256:` digest, as listed in a bucket.
fn key_of(digest: &str) -> String {
    let hex = digest.trim_start_matches("sha256:");
    format!("{BLOBS}{}/{hex}", &hex[..2])
}

/// The config's storage block replaced by two `S3Storage` locations, `s3_one` on `one` and
/// `s3_two` on `two`, both default (replication) locations, read in `preference` order.
fn geo_config(
    yaml: &str,
    one: &Bucket,
    two: &Bucket,
    preference: [&str; 2],
    proxy_storage: bool,
) -> String {
    let start = yaml
        .find("DISTRIBUTED_STORAGE_CONFIG:")
        .expect("storage block");
    let end = yaml.find("DEFAULT_TAG_EXPIRATION:").expect("block end");
    let mut block = String::from("DISTRIBUTED_STORAGE_CONFIG:\n");
    for (id, bucket) in [(ONE, one), (TWO, two)] {
        block.push_str(&format!("  {id}:\n    - S3Storage\n"));
        for (i, (k, v)) in bucket.s3_storage_params(STORAGE_PATH).iter().enumerate() {
            let lead = if i == 0 { "    - " } else { "      " };
            block.push_str(&format!("{lead}{k}: {v}\n"));
        }
    }
    block.push_str(&format!(
        "DISTRIBUTED_STORAGE_PREFERENCE: [{}, {}]\n",
        preference[0], preference[1]
    ));
    block.push_str(&format!(
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [{ONE}, {TWO}]\n"
    ));
    block.push_str("FEATURE_STORAGE_REPLICATION: true\n");
    block.push_str(&format!("FEATURE_PROXY_STORAGE: {proxy_storage}\n"));
    format!("{}{block}{}", &yaml[..start], &yaml[end..])
}

/// Rewrites the running instance's config (same database, same buckets) and restarts it.
async fn reconfigure(
    run: Running,
    one: &Bucket,
    two: &Bucket,
    preference: [&str; 2],
    proxy_storage: bool,
) -> Running {
    let path = run.dir.path().join("config.yaml");
    let yaml = std::fs::read_to_string(&path).expect("read config");
    std::fs::write(
        &path,
        geo_config(&yaml, one, two, preference, proxy_storage),
    )
    .expect("write config");
    run.restart().await
}

fn raw_engine(bucket: &Bucket) -> quayside_storage::Engine {
    let mut params = serde_json::Map::new();
    for (k, v) in bucket.s3_storage_params("/") {
        params.insert(k.to_string(), serde_json::Value::String(v));
    }
    quayside_storage::Engine::open(&quayside_storage::LocationConfig {
        id: "raw".into(),
        driver: "S3Storage".into(),
        params,
        ..Default::default()
    })
    .expect("open bucket")
}

/// Every key in the bucket under `prefix`, sorted.
async fn keys(bucket: &Bucket, prefix: &str) -> BTreeSet<String> {
    raw_engine(bucket)
        .list(prefix)
        .await
        .expect("list")
        .into_iter()
        .collect()
}

/// The object keys of every `imagestorage` row (all content-addressed after skopeo pushes).
async fn db_blob_keys(db: &Db) -> BTreeSet<String> {
    let sums: Vec<Option<String>> = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT content_checksum FROM imagestorage")
            .fetch_all(pool)
            .await
    })
    .expect("imagestorage");
    sums.into_iter()
        .map(|s| key_of(&s.expect("every blob has a checksum")))
        .collect()
}

async fn placements(db: &Db, location: &str) -> i64 {
    scalar_i64(
        db,
        "SELECT COUNT(*) FROM imagestorageplacement p \
         JOIN imagestoragelocation l ON l.id = p.location_id WHERE l.name = $1",
        &[Arg::S(location)],
    )
    .await
}

/// `imagestorage` rows with no replication item (`imagestoragereplication/<uuid>/`).
async fn unqueued_blobs(db: &Db) -> i64 {
    scalar_i64(
        db,
        "SELECT COUNT(*) FROM imagestorage s WHERE NOT EXISTS (SELECT 1 FROM queueitem q \
         WHERE q.queue_name = 'imagestoragereplication/' || s.uuid || '/')",
        &[],
    )
    .await
}

async fn replication_items(db: &Db) -> i64 {
    scalar_i64(
        db,
        "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE 'imagestoragereplication/%'",
        &[],
    )
    .await
}

fn skopeo_ok(args: &[&str]) {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("skopeo is installed");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The manifest digest a layout's index.json names for `tag`.
fn layout_digest(layout: &Path, tag: &str) -> String {
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

/// Pulls every image into a `dir:` layout with skopeo: the manifest is the pushed one and
/// every file named by a digest (blobs, child manifests) hashes to it. Returns the number of
/// such files checked.
fn pull_all_verified(run: &Running, when: &str) -> usize {
    let creds = format!("{USER}:{PASSWORD}");
    let mut checked = 0;
    for (layout, tag, repo, all) in IMAGES {
        let out = tempfile::tempdir().expect("tempdir");
        let src = format!("docker://{}/{USER}/{repo}:{tag}", run.host());
        let dest = format!("dir:{}", out.path().display());
        let mut args = vec!["copy", "--src-tls-verify=false", "--src-creds", &creds];
        if all {
            args.push("--all");
        }
        args.push(&src);
        args.push(&dest);
        skopeo_ok(&args);
        let manifest = std::fs::read(out.path().join("manifest.json")).expect("manifest");
        assert_eq!(
            format!("sha256:{}", sha256_hex(&manifest)),
            layout_digest(&testdata(layout), tag),
            "{}: {when}: {layout}:{tag} pulled byte-identical",
            run.label
        );
        let mut here = 0;
        for entry in std::fs::read_dir(out.path()).expect("read dir") {
            let p = entry.expect("entry").path();
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let hex = name.strip_suffix(".manifest.json").unwrap_or(&name);
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                let bytes = std::fs::read(&p).expect("read pulled file");
                assert_eq!(
                    sha256_hex(&bytes),
                    hex,
                    "{}: {when}: {}",
                    run.label,
                    p.display()
                );
                here += 1;
            }
        }
        assert!(
            here > 0,
            "{}: {when}: no blobs pulled for {layout}",
            run.label
        );
        checked += here;
    }
    checked
}

/// Blobs of the `multiarch` layout that are blob objects in the registry (not manifests),
/// with their bytes: what the raw blob GETs below ask for.
fn multiarch_blobs(stored: &BTreeSet<String>) -> Vec<(String, Vec<u8>)> {
    let dir = testdata("multiarch").join("blobs/sha256");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("layout blobs") {
        let p = entry.expect("entry").path();
        let hex = p
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let digest = format!("sha256:{hex}");
        if stored.contains(&key_of(&digest)) {
            out.push((digest, std::fs::read(&p).expect("blob bytes")));
        }
    }
    out.sort();
    out
}

fn no_follow() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn blob_get(run: &Running, token: &str, digest: &str) -> reqwest::Response {
    no_follow()
        .get(format!(
            "http://127.0.0.1:{}/v2/{USER}/multiarch/blobs/{digest}",
            run.port
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET blob")
}

async fn geo_replication(postgres: bool) {
    // Two buckets; the first reached only through a proxy the test can cut ("stop the
    // first server").
    let b1 = quayside_testkit::garage::bucket();
    let b2 = quayside_testkit::garage::bucket();
    let proxy = Proxy::start(format!("127.0.0.1:{}", b1.port)).await;
    let via = Bucket {
        endpoint: format!("http://127.0.0.1:{}", proxy.port),
        port: proxy.port,
        ..b1.clone()
    };
    // No background workers: the replication below is the `worker --once` run, nothing
    // copies before it.
    let run = backends::quay_config_args(
        postgres,
        |yaml| geo_config(&yaml, &via, &b2, [ONE, TWO], false),
        &["--no-workers"],
    )
    .await;
    let label = run.label;
    let config_dir = run.dir.path().to_str().expect("utf8").to_string();
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "geo@example.com").await;

    // Push (and pull back, byte-identical) on the s3_one-preferred site.
    let client = skopeo::Client::new(&run, USER, PASSWORD);
    for (layout, tag, repo, all) in IMAGES {
        skopeo::round_trip(&client, layout, tag, repo, all);
    }

    // Every blob is in the first bucket only, with one s3_one placement, and queued.
    let db = Db::connect(&run.db_uri, &ConnectOptions::default())
        .await
        .expect("connect");
    let expected = db_blob_keys(&db).await;
    let n = expected.len() as i64;
    assert!(n >= 4, "{label}: blobs pushed: {expected:?}");
    let in_one = keys(&b1, BLOBS).await;
    assert_eq!(in_one, expected, "{label}: every blob object in s3_one");
    assert!(
        keys(&b2, BLOBS).await.is_empty(),
        "{label}: nothing in s3_two before replication"
    );
    assert!(
        keys(&b1, UPLOADS).await.is_empty(),
        "{label}: no parts left"
    );
    assert_eq!(placements(&db, ONE).await, n, "{label}");
    assert_eq!(placements(&db, TWO).await, 0, "{label}");
    assert_eq!(
        unqueued_blobs(&db).await,
        0,
        "{label}: every blob has an imagestoragereplication item"
    );
    assert!(replication_items(&db).await >= n, "{label}");

    // One run of the worker copies everything and empties the queue.
    let out = crate::harness::run(
        &[
            "--config-dir",
            &config_dir,
            "worker",
            "storagereplication",
            "--once",
        ],
        run.dir.path(),
    );
    assert!(
        out.status.success(),
        "{label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "storagereplication: Ok\n",
        "{label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        keys(&b2, BLOBS).await,
        in_one,
        "{label}: s3_two holds every blob key s3_one holds"
    );
    assert!(
        keys(&b2, UPLOADS).await.is_empty(),
        "{label}: the copies' upload objects are gone"
    );
    let two = raw_engine(&b2);
    for key in &in_one {
        let bytes = two.get(key).await.expect("replica");
        assert!(
            key.ends_with(&sha256_hex(&bytes)),
            "{label}: replica {key} has the blob's bytes"
        );
    }
    assert_eq!(
        placements(&db, TWO).await,
        n,
        "{label}: an s3_two placement per blob"
    );
    assert_eq!(placements(&db, ONE).await, n, "{label}");
    assert_eq!(replication_items(&db).await, 0, "{label}: queue drained");
    // A second run has nothing to do and changes nothing.
    let out = crate::harness::run(
        &[
            "--config-dir",
            &config_dir,
            "worker",
            "storagereplication",
            "--once",
        ],
        run.dir.path(),
    );
    assert!(out.status.success(), "{label}");
    assert_eq!(placements(&db, TWO).await, n, "{label}");

    // The site preferring s3_two: pulls are byte-identical, and a blob GET redirects to a
    // signed URL on the second bucket.
    let run = reconfigure(run, &via, &b2, [TWO, ONE], false).await;
    let pulled = pull_all_verified(&run, "preferring s3_two");
    assert!(pulled >= n as usize, "{label}: {pulled} files checked");
    let token = fixtures::token(
        &run,
        USER,
        PASSWORD,
        &format!("repository:{USER}/multiarch:pull"),
    )
    .await;
    let blobs = multiarch_blobs(&in_one);
    assert!(!blobs.is_empty(), "{label}: multiarch blobs");
    for (digest, bytes) in &blobs {
        let resp = blob_get(&run, &token, digest).await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{label}: {digest}");
        let location = resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert!(
            location.starts_with(&format!("{}/{}/{}?", b2.endpoint, b2.name, key_of(digest))),
            "{label}: signed URL on s3_two's bucket: {location}"
        );
        let fetched = Client::new()
            .get(&location)
            .send()
            .await
            .expect("signed GET");
        assert_eq!(fetched.status(), StatusCode::OK, "{label}");
        assert_eq!(
            fetched.bytes().await.expect("body").as_ref(),
            bytes.as_slice()
        );
    }

    // The first S3 server goes down: pulls still work, from s3_two.
    proxy.cut();
    let pulled = pull_all_verified(&run, "preferring s3_two, s3_one down");
    assert!(pulled >= n as usize, "{label}");

    // Another site's store being down does not keep this site down: the s3_two-preferred
    // site restarts while s3_one is unreachable (a warning at start-up) and serves.
    let run = reconfigure(run, &via, &b2, [TWO, ONE], false).await;
    assert!(
        run.server
            .log_text()
            .contains("this site does not upload to it"),
        "{label}: the unreachable location is named at start-up:\n{}",
        run.server.log_text()
    );
    let pulled = pull_all_verified(&run, "restarted with s3_one down");
    assert!(pulled >= n as usize, "{label}");

    // The s3_one-preferred site streaming blobs itself (FEATURE_PROXY_STORAGE). It is
    // started while s3_one is up (a site refuses to start when a location it prefers cannot
    // be reached), then s3_one goes down again: a blob GET falls back to the replica and
    // answers the bytes.
    proxy.restore();
    let run = reconfigure(run, &via, &b2, [ONE, TWO], true).await;
    proxy.cut();
    let token = fixtures::token(
        &run,
        USER,
        PASSWORD,
        &format!("repository:{USER}/multiarch:pull"),
    )
    .await;
    for (digest, bytes) in &blobs {
        let resp = blob_get(&run, &token, digest).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{label}: {digest} read from the replica"
        );
        assert!(resp.headers().get("location").is_none(), "{label}");
        assert_eq!(resp.bytes().await.expect("body").as_ref(), bytes.as_slice());
    }
    let log = run.server.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("blob read falls back to another location") && l.contains(ONE)),
        "{label}: the read went to s3_one first and fell back:\n{log}"
    );
    let pulled = pull_all_verified(&run, "preferring s3_one (down), proxied");
    assert!(pulled >= n as usize, "{label}");

    proxy.restore();
    db.close().await;
    run.stop().await;
}

// Multi-threaded: skopeo runs blocking on the test's thread while the proxy in front of the
// first bucket forwards on the runtime's workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geo_replication_two_buckets_on_sqlite() {
    geo_replication(false).await;
}

// Multi-threaded: skopeo runs blocking on the test's thread while the proxy in front of the
// first bucket forwards on the runtime's workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geo_replication_two_buckets_on_postgres() {
    geo_replication(true).await;
}
