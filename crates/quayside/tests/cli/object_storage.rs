//! quayside on a real S3 server (Garage): a Quay config whose `DISTRIBUTED_STORAGE_CONFIG` is
//! `S3Storage`, on SQLite and on PostgreSQL. skopeo round trips, chunked uploads that become
//! parts and are assembled once, and nothing left under `uploads/` in the bucket.

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use sha2::Digest as _;

use crate::backends::{self, Running};
use crate::{fixtures, skopeo};

const USER: &str = "olga";
const PASSWORD: &str = "olgas-long-password";
const STORAGE_PATH: &str = "/datastorage/registry";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The config's storage block replaced by one `S3Storage` location on `bucket`.
fn s3_config(yaml: String, bucket: &quayside_testkit::garage::Bucket) -> String {
    let start = yaml
        .find("DISTRIBUTED_STORAGE_CONFIG:")
        .expect("storage block");
    let end = yaml.find("DEFAULT_TAG_EXPIRATION:").expect("block end");
    let mut block = String::from("DISTRIBUTED_STORAGE_CONFIG:\n  s3_us:\n    - S3Storage\n");
    for (i, (k, v)) in bucket.s3_storage_params(STORAGE_PATH).iter().enumerate() {
        let lead = if i == 0 { "    - " } else { "      " };
        block.push_str(&format!("{lead}{k}: {v}\n"));
    }
    block.push_str("DISTRIBUTED_STORAGE_PREFERENCE:\n  - s3_us\n");
    format!("{}{block}{}", &yaml[..start], &yaml[end..])
}

/// The config with its storage block replaced by one `AzureStorage` location on `container`.
fn azure_config(yaml: String, container: &quayside_testkit::azurite::Container) -> String {
    let start = yaml
        .find("DISTRIBUTED_STORAGE_CONFIG:")
        .expect("storage block");
    let end = yaml.find("DEFAULT_TAG_EXPIRATION:").expect("block end");
    let mut block = String::from("DISTRIBUTED_STORAGE_CONFIG:\n  azure_us:\n    - AzureStorage\n");
    for (i, (k, v)) in container
        .azure_storage_params(STORAGE_PATH)
        .iter()
        .enumerate()
    {
        let lead = if i == 0 { "    - " } else { "      " };
        block.push_str(&format!("{lead}{k}: \"{v}\"\n"));
    }
    block.push_str("DISTRIBUTED_STORAGE_PREFERENCE:\n  - azure_us\n");
    format!("{}{block}{}", &yaml[..start], &yaml[end..])
}

/// Every key in the bucket under `prefix`.
async fn keys(bucket: &quayside_testkit::garage::Bucket, prefix: &str) -> Vec<String> {
    let mut params = serde_json::Map::new();
    for (k, v) in bucket.s3_storage_params("/") {
        params.insert(k.to_string(), Value::String(v));
    }
    let engine = quayside_storage::Engine::open(&quayside_storage::LocationConfig {
        id: "raw".into(),
        driver: "S3Storage".into(),
        params,
        ..Default::default()
    })
    .expect("open bucket");
    engine.list(prefix).await.expect("list")
}

struct Ctx {
    base: String,
    token: String,
    http: Client,
}

impl Ctx {
    async fn new(run: &Running, repo: &str) -> Ctx {
        Ctx::new_as(run, USER, repo).await
    }

    /// A push-and-pull token on `repo` for `user` (password [`PASSWORD`]).
    async fn new_as(run: &Running, user: &str, repo: &str) -> Ctx {
        let http = Client::new();
        let base = format!("http://127.0.0.1:{}", run.port);
        let resp = http
            .get(format!("{base}/v2/auth"))
            .query(&[
                ("service", run.host().as_str()),
                ("scope", &format!("repository:{repo}:push,pull")),
            ])
            .basic_auth(user, Some(PASSWORD))
            .send()
            .await
            .expect("auth");
        assert_eq!(resp.status(), StatusCode::OK, "{}", run.label);
        let body: Value = resp.json().await.expect("token json");
        Ctx {
            base,
            token: body["token"].as_str().expect("token").to_string(),
            http,
        }
    }

    fn req(&self, method: Method, path_or_url: &str) -> reqwest::RequestBuilder {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        self.http.request(method, url).bearer_auth(&self.token)
    }

    async fn start_upload(&self, repo: &str) -> String {
        let resp = self
            .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .expect("POST upload");
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string()
    }

    /// PATCHes `chunk` at `offset`; returns the next upload location.
    async fn patch(&self, location: &str, offset: usize, chunk: &[u8]) -> String {
        let resp = self
            .req(Method::PATCH, location)
            .header("content-type", "application/octet-stream")
            .header(
                "content-range",
                format!("{offset}-{}", offset + chunk.len() - 1),
            )
            .body(chunk.to_vec())
            .send()
            .await
            .expect("PATCH");
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "PATCH at {offset}");
        assert_eq!(
            resp.headers()["range"],
            format!("0-{}", offset + chunk.len() - 1).as_str()
        );
        resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string()
    }

    async fn finish(&self, location: &str, digest: &str) -> reqwest::Response {
        let sep = if location.contains('?') { '&' } else { '?' };
        self.req(Method::PUT, &format!("{location}{sep}digest={digest}"))
            .send()
            .await
            .expect("PUT")
    }

    async fn get_blob(&self, repo: &str, digest: &str) -> (StatusCode, Vec<u8>) {
        let resp = self
            .req(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
            .send()
            .await
            .expect("GET blob");
        let status = resp.status();
        (status, resp.bytes().await.expect("body").to_vec())
    }
}

/// A client that shows redirects instead of following them.
fn no_follow() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Quay's direct download: a blob `GET` is a `302` to a signed URL on the bucket (valid 60 s,
/// no credentials in it) and the store serves the bytes and ranges itself; `HEAD` is still
/// answered by quayside.
async fn assert_direct_download(
    ctx: &Ctx,
    bucket: &quayside_testkit::garage::Bucket,
    repo: &str,
    blob: &str,
    bytes: &[u8],
    label: &str,
) {
    let url = format!("{}/v2/{repo}/blobs/{blob}", ctx.base);
    let resp = no_follow()
        .get(&url)
        .bearer_auth(&ctx.token)
        .send()
        .await
        .expect("GET blob");
    assert_eq!(resp.status(), StatusCode::FOUND, "{label}");
    assert_eq!(resp.headers()["docker-content-digest"], blob, "{label}");
    assert_eq!(resp.headers()["accept-ranges"], "bytes", "{label}");
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let hex = blob.trim_start_matches("sha256:");
    assert!(
        location.starts_with(&format!(
            "{}/{}/datastorage/registry/sha256/{}/{hex}?",
            bucket.endpoint,
            bucket.name,
            &hex[..2]
        )),
        "{label}: signed URL of Quay's key: {location}"
    );
    assert!(location.contains("X-Amz-Expires=60"), "{label}: {location}");
    assert!(location.contains("X-Amz-Signature="), "{label}: {location}");
    for (key, value) in bucket.s3_storage_params(STORAGE_PATH) {
        if key == "s3_secret_key" {
            assert!(!location.contains(&value), "{label}: secret in {location}");
        }
    }
    let fetched = Client::new()
        .get(&location)
        .send()
        .await
        .expect("signed GET");
    assert_eq!(fetched.status(), StatusCode::OK, "{label}");
    assert_eq!(
        fetched.bytes().await.expect("body").as_ref(),
        bytes,
        "{label}"
    );
    let part = Client::new()
        .get(&location)
        .header("range", "bytes=1-10")
        .send()
        .await
        .expect("signed ranged GET");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{label}");
    assert_eq!(
        part.bytes().await.expect("body").as_ref(),
        &bytes[1..=10],
        "{label}"
    );
    let head = no_follow()
        .head(&url)
        .bearer_auth(&ctx.token)
        .send()
        .await
        .expect("HEAD blob");
    assert_eq!(head.status(), StatusCode::OK, "{label}");
    assert_eq!(
        head.headers()["content-length"],
        bytes.len().to_string().as_str(),
        "{label}"
    );
}

async fn suite(run: Running, bucket: &quayside_testkit::garage::Bucket) {
    let label = run.label;
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "olga@example.com").await;
    let repo = format!("{USER}/chunks");
    let ctx = Ctx::new(&run, &repo).await;

    // Three chunks of very different sizes (one above S3's 5 MiB part minimum), then a PUT
    // that carries the last bytes: four parts, one blob.
    let chunks = [
        pattern(1, 1),
        pattern(6 * 1024 * 1024 + 3, 2),
        pattern(100, 3),
    ];
    let tail = pattern(4_000, 4);
    let mut all: Vec<u8> = chunks.concat();
    all.extend_from_slice(&tail);
    let blob = digest(&all);
    let mut location = ctx.start_upload(&repo).await;
    let mut offset = 0;
    for chunk in &chunks {
        location = ctx.patch(&location, offset, chunk).await;
        offset += chunk.len();
    }
    let uploads = keys(bucket, "datastorage/registry/uploads/").await;
    assert_eq!(uploads.len(), 3, "{label}: one part per chunk: {uploads:?}");
    let sep = if location.contains('?') { '&' } else { '?' };
    let resp = ctx
        .req(Method::PUT, &format!("{location}{sep}digest={blob}"))
        .header("content-type", "application/octet-stream")
        .body(tail.clone())
        .send()
        .await
        .expect("PUT with bytes");
    assert_eq!(resp.status(), StatusCode::CREATED, "{label}");
    assert_eq!(
        ctx.get_blob(&repo, &blob).await,
        (StatusCode::OK, all.clone())
    );
    let hex = blob.trim_start_matches("sha256:");
    assert_direct_download(&ctx, bucket, &repo, &blob, &all, label).await;
    let stored = keys(bucket, "datastorage/").await;
    assert!(
        stored.contains(&format!("datastorage/registry/sha256/{}/{hex}", &hex[..2])),
        "{label}: Quay's key under storage_path: {stored:?}"
    );
    assert!(
        keys(bucket, "datastorage/registry/uploads/")
            .await
            .is_empty(),
        "{label}: parts removed once assembled"
    );

    // A wrong digest: refused as Quay does (BLOB_UPLOAD_INVALID), nothing visible, nothing
    // left behind.
    let mut location = ctx.start_upload(&repo).await;
    location = ctx.patch(&location, 0, b"some bytes").await;
    let wrong = digest(b"other bytes");
    let resp = ctx.finish(&location, &wrong).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{label}");
    let body: Value = resp.json().await.expect("error json");
    assert_eq!(body["errors"][0]["code"], "BLOB_UPLOAD_INVALID", "{label}");
    assert_eq!(ctx.get_blob(&repo, &wrong).await.0, StatusCode::NOT_FOUND);
    assert!(
        keys(bucket, "datastorage/registry/uploads/")
            .await
            .is_empty(),
        "{label}: a refused upload leaves no part"
    );

    // A cancelled upload removes its parts too.
    let mut location = ctx.start_upload(&repo).await;
    location = ctx.patch(&location, 0, b"to be cancelled").await;
    let resp = ctx
        .req(Method::DELETE, &location)
        .send()
        .await
        .expect("DELETE upload");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{label}");
    assert!(
        keys(bucket, "datastorage/registry/uploads/")
            .await
            .is_empty(),
        "{label}: a cancelled upload leaves no part"
    );

    // Real clients: a 51 MB layer image and a multi-arch index, byte-identical both ways.
    let client = skopeo::Client::new(&run, USER, PASSWORD);
    skopeo::round_trip(&client, "debian-bookworm", "bookworm", "debian", false);
    skopeo::round_trip(&client, "multiarch", "latest", "multiarch", true);
    assert!(
        keys(bucket, "datastorage/registry/uploads/")
            .await
            .is_empty(),
        "{label}: skopeo's uploads leave no part"
    );
    run.stop().await;
}

#[tokio::test]
async fn s3_storage_serves_pushes_and_pulls_on_sqlite() {
    let bucket = quayside_testkit::garage::bucket();
    let run = backends::quay_config_with(false, |yaml| s3_config(yaml, &bucket)).await;
    suite(run, &bucket).await;
}

#[tokio::test]
async fn s3_storage_serves_pushes_and_pulls_on_postgres() {
    let bucket = quayside_testkit::garage::bucket();
    let run = backends::quay_config_with(true, |yaml| s3_config(yaml, &bucket)).await;
    suite(run, &bucket).await;
}

/// The S3 server goes away while quayside runs: a blob push and a blob pull answer 503
/// `UNAVAILABLE` at once (never a 200 with a cut body), and both work again when it is back,
/// without a restart.
#[tokio::test]
async fn s3_outage_answers_503_and_recovers() {
    let bucket = quayside_testkit::garage::bucket();
    let proxy = crate::outage::Proxy::start(format!("127.0.0.1:{}", bucket.port)).await;
    let via = quayside_testkit::garage::Bucket {
        endpoint: format!("http://127.0.0.1:{}", proxy.port),
        port: proxy.port,
        ..bucket.clone()
    };
    // Pulls are streamed by quayside here (FEATURE_PROXY_STORAGE), so the pull below is the
    // path that reads the store; with direct download the store would be the client's to reach.
    let run = backends::quay_config_with(false, |yaml| {
        format!("{}FEATURE_PROXY_STORAGE: true\n", s3_config(yaml, &via))
    })
    .await;
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "olga@example.com").await;
    let repo = format!("{USER}/outage");
    let ctx = Ctx::new(&run, &repo).await;
    let push = |data: Vec<u8>| {
        let ctx = &ctx;
        let repo = &repo;
        async move {
            let started = std::time::Instant::now();
            let resp = ctx
                .req(
                    Method::POST,
                    &format!("/v2/{repo}/blobs/uploads/?digest={}", digest(&data)),
                )
                .body(data)
                .send()
                .await
                .expect("monolithic push");
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body, started.elapsed())
        }
    };
    let before = pattern(300_000, 9);
    assert_eq!(push(before.clone()).await.0, StatusCode::CREATED);

    proxy.cut();
    let (status, body, took) = push(pattern(1000, 10)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{body}");
    assert!(
        took < std::time::Duration::from_secs(15),
        "answered after {took:?}"
    );
    let resp = ctx
        .req(
            Method::GET,
            &format!("/v2/{repo}/blobs/{}", digest(&before)),
        )
        .send()
        .await
        .expect("pull");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.json().await.expect("an error body, not blob bytes");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{body}");

    proxy.restore();
    assert_eq!(push(pattern(1000, 10)).await.0, StatusCode::CREATED);
    assert_eq!(
        ctx.get_blob(&repo, &digest(&before)).await,
        (StatusCode::OK, before)
    );
    run.stop().await;
}

/// `FEATURE_PROXY_STORAGE`: quayside streams every blob itself, so the client never talks to
/// the store (as Quay's storage proxy does); the bytes and ranges are the same.
#[tokio::test]
async fn proxy_storage_streams_instead_of_redirecting() {
    let bucket = quayside_testkit::garage::bucket();
    let run = backends::quay_config_with(false, |yaml| {
        format!("{}FEATURE_PROXY_STORAGE: true\n", s3_config(yaml, &bucket))
    })
    .await;
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "olga@example.com").await;
    let repo = format!("{USER}/proxied");
    let ctx = Ctx::new(&run, &repo).await;
    let data = pattern(70_000, 5);
    let resp = ctx
        .req(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={}", digest(&data)),
        )
        .body(data.clone())
        .send()
        .await
        .expect("monolithic push");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let url = format!("{}/v2/{repo}/blobs/{}", ctx.base, digest(&data));
    let resp = no_follow()
        .get(&url)
        .bearer_auth(&ctx.token)
        .send()
        .await
        .expect("GET blob");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.bytes().await.expect("body").as_ref(), data.as_slice());
    let part = no_follow()
        .get(&url)
        .bearer_auth(&ctx.token)
        .header("range", "bytes=5-9")
        .send()
        .await
        .expect("ranged GET");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.expect("body").as_ref(), &data[5..=9]);
    run.stop().await;
}

/// quayside on Azure Blob (Azurite): a blob pull is a `302` to a read-only SAS URL on the
/// container (Quay's direct download for `AzureStorage`), which serves the bytes; skopeo
/// pushes and pulls an image through it byte-identical.
#[tokio::test]
async fn azure_storage_redirects_pulls_to_a_sas_url() {
    let container = quayside_testkit::azurite::container();
    let run = backends::quay_config_with(false, |yaml| azure_config(yaml, &container)).await;
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "olga@example.com").await;
    let repo = format!("{USER}/azure");
    let ctx = Ctx::new(&run, &repo).await;
    let data = pattern(90_000, 6);
    let blob = digest(&data);
    let resp = ctx
        .req(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={blob}"),
        )
        .body(data.clone())
        .send()
        .await
        .expect("monolithic push");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = no_follow()
        .get(format!("{}/v2/{repo}/blobs/{blob}", ctx.base))
        .bearer_auth(&ctx.token)
        .send()
        .await
        .expect("GET blob");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let hex = blob.trim_start_matches("sha256:");
    assert!(
        location.contains(&format!(
            "/{}/datastorage/registry/sha256/{}/{hex}?",
            container.name,
            &hex[..2]
        )),
        "{location}"
    );
    assert!(
        location.contains("sp=r") && location.contains("sig="),
        "{location}"
    );
    assert!(
        !location.contains(quayside_testkit::azurite::ACCOUNT_KEY),
        "{location}"
    );
    let fetched = Client::new().get(&location).send().await.expect("SAS GET");
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(
        fetched.bytes().await.expect("body").as_ref(),
        data.as_slice()
    );
    let client = skopeo::Client::new(&run, USER, PASSWORD);
    skopeo::round_trip(&client, "multiarch", "latest", "azure-multiarch", true);
    run.stop().await;
}

/// A driver's parameters, as `(key, value)` pairs.
type Params = Vec<(&'static str, String)>;

/// One storage location's lines for `DISTRIBUTED_STORAGE_CONFIG`.
fn location_block(id: &str, driver: &str, params: &[(&'static str, String)]) -> String {
    let mut block = format!("  {id}:\n    - {driver}\n");
    for (i, (k, v)) in params.iter().enumerate() {
        let lead = if i == 0 { "    - " } else { "      " };
        block.push_str(&format!("{lead}{k}: \"{v}\"\n"));
    }
    block
}

/// Every key under `prefix` of one location, read through a location of the same driver
/// rooted at the bucket or container.
async fn location_keys(
    driver: &str,
    params: Vec<(&'static str, String)>,
    gcs_endpoint: Option<&str>,
    prefix: &str,
) -> Vec<String> {
    let params = params
        .into_iter()
        .map(|(k, v)| {
            let v = if k == "storage_path" {
                "/".to_string()
            } else {
                v
            };
            (k.to_string(), Value::String(v))
        })
        .collect();
    let engine = quayside_storage::Engine::open(&quayside_storage::LocationConfig {
        id: "raw".into(),
        driver: driver.into(),
        params,
        gcs_endpoint: gcs_endpoint.map(str::to_string),
        ..Default::default()
    })
    .expect("open the store's root");
    engine.list(prefix).await.expect("list")
}

/// Quay's clouds in one config: S3 (Garage), Azure (Azurite), GCS (its XML API dialect,
/// Garage behind a gate refusing what GCS lacks) and OpenStack Swift (a one-node cluster,
/// with temp URLs). `config check` passes with every
/// location probed, and each location, made the preferred one in turn
/// (`QUAY_DISTRIBUTED_STORAGE_PREFERENCE`), takes a skopeo push and serves it back
/// byte-identical, the blobs landing under Quay's keys in that location's store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_azure_gcs_and_swift_locations_each_serve_pushes_and_pulls() {
    let bucket = quayside_testkit::garage::bucket();
    let container = quayside_testkit::azurite::container();
    let gate = quayside_testkit::gcs::gate().await;
    let swift = quayside_testkit::swift::container();
    let locations: [(&str, &str, Params); 4] = [
        ("s3_us", "S3Storage", bucket.s3_storage_params(STORAGE_PATH)),
        (
            "azure_eu",
            "AzureStorage",
            container.azure_storage_params(STORAGE_PATH),
        ),
        (
            "gcs_asia",
            "GoogleCloudStorage",
            gate.gcs_storage_params(STORAGE_PATH),
        ),
        ("swift_ap", "SwiftStorage", {
            // With Quay's temp_url_key, Swift pulls are redirected to temp URLs and
            // `config check` reads the probe through one.
            let mut p = swift.swift_storage_params(STORAGE_PATH);
            p.push(("temp_url_key", quayside_testkit::swift::TEMP_URL_KEY.into()));
            p
        }),
    ];
    let map = |yaml: String| {
        let start = yaml
            .find("DISTRIBUTED_STORAGE_CONFIG:")
            .expect("storage block");
        let end = yaml.find("DEFAULT_TAG_EXPIRATION:").expect("block end");
        let mut block = String::from("DISTRIBUTED_STORAGE_CONFIG:\n");
        for (id, driver, params) in &locations {
            block.push_str(&location_block(id, driver, params));
        }
        block.push_str("DISTRIBUTED_STORAGE_PREFERENCE: [s3_us, azure_eu, gcs_asia, swift_ap]\n");
        block.push_str("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3_us]\n");
        format!("{}{block}{}", &yaml[..start], &yaml[end..])
    };
    let gcs_env = ("QUAYSIDE_GCS_ENDPOINT", gate.endpoint.as_str());
    let mut run = backends::quay_config_env(false, map, &[gcs_env]).await;

    let dir = run.dir.path().to_str().expect("utf8").to_string();
    let check = crate::harness::run_env(
        &["config", "check", "--config-dir", &dir],
        run.dir.path(),
        run.env(),
    );
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "config check: {report}");
    // The check probes the GCS location: pointed at a port nothing listens on, it fails
    // and names it.
    let dead = format!("http://127.0.0.1:{}", crate::harness::free_port());
    let check = crate::harness::run_env(
        &["config", "check", "--config-dir", &dir],
        run.dir.path(),
        &[("QUAYSIDE_GCS_ENDPOINT".to_string(), dead)],
    );
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(!check.status.success(), "{report}");
    assert!(report.contains("gcs_asia"), "{report}");

    fixtures::create_user(&run.db_uri, USER, PASSWORD, "olga@example.com").await;
    for (id, driver, params) in &locations {
        run = run
            .restart_with_env(&[gcs_env, ("QUAY_DISTRIBUTED_STORAGE_PREFERENCE", id)])
            .await;
        let repo = format!("multiarch-{}", id.replace('_', "-"));
        let client = skopeo::Client::new(&run, USER, PASSWORD);
        skopeo::round_trip(&client, "multiarch", "latest", &repo, true);
        let endpoint = (*driver == "GoogleCloudStorage").then_some(gate.endpoint.as_str());
        let blobs = location_keys(
            driver,
            params.clone(),
            endpoint,
            "datastorage/registry/sha256/",
        )
        .await;
        assert!(!blobs.is_empty(), "{id}: the push landed in its store");
        if *driver == "SwiftStorage" {
            let key = blobs
                .iter()
                .find(|k| !k.ends_with('/'))
                .expect("a blob key");
            let hex = key.rsplit('/').next().expect("a blob key");
            let full = format!("{USER}/{repo}");
            let ctx = Ctx::new(&run, &full).await;
            let resp = no_follow()
                .get(format!("{}/v2/{full}/blobs/sha256:{hex}", ctx.base))
                .bearer_auth(&ctx.token)
                .send()
                .await
                .expect("GET blob");
            assert_eq!(
                resp.status(),
                StatusCode::FOUND,
                "{id}: a temp URL redirect"
            );
            let location = resp.headers()["location"].to_str().expect("location");
            assert!(
                location.contains(&format!(
                    "/datastorage/registry/sha256/{}/{hex}?temp_url_sig=",
                    &hex[..2]
                )),
                "{id}: {location}"
            );
        }
        let uploads = location_keys(
            driver,
            params.clone(),
            endpoint,
            "datastorage/registry/uploads/",
        )
        .await;
        assert!(
            uploads.is_empty(),
            "{id}: no upload left behind: {uploads:?}"
        );
    }
    assert_eq!(
        gate.refused(),
        Vec::<String>::new(),
        "quayside sent GCS a call its XML API does not implement"
    );
    run.stop().await;
}

/// A monolithic blob push as `user` into `user/<repo>`; returns the digest.
async fn push_blob(run: &Running, user: &str, repo: &str, data: &[u8]) -> (Ctx, String) {
    let full = format!("{user}/{repo}");
    let ctx = Ctx::new_as(run, user, &full).await;
    let blob = digest(data);
    let resp = ctx
        .req(
            Method::POST,
            &format!("/v2/{full}/blobs/uploads/?digest={blob}"),
        )
        .body(data.to_vec())
        .send()
        .await
        .expect("monolithic push");
    assert_eq!(resp.status(), StatusCode::CREATED);
    (ctx, blob)
}

/// Where a blob pull from `forwarded_for` is redirected.
async fn redirect_of(ctx: &Ctx, repo: &str, blob: &str, forwarded_for: &str) -> url::Url {
    let resp = no_follow()
        .get(format!("{}/v2/{repo}/blobs/{blob}", ctx.base))
        .bearer_auth(&ctx.token)
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .expect("GET blob");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().expect("location");
    url::Url::parse(location).expect("absolute Location")
}

fn query_value(url: &url::Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{key} missing from {url}"))
}

/// Quay's CDN drivers in front of S3 (Garage), through one `MultiCDNStorage` location: blob
/// pulls are redirected to CloudFront (the default provider) or to CloudFlare (a namespace
/// rule), each URL signed as that CDN verifies it (checked here with the public key), and a
/// client inside AWS's ranges (`aws-ip-ranges.json` beside `config.yaml`) gets the S3 URL,
/// which serves the bytes.
#[tokio::test]
async fn cdn_drivers_sign_redirects_for_their_cdn() {
    use rsa::pkcs8::EncodePrivateKey as _;
    use rsa::Pkcs1v15Sign;
    let bucket = quayside_testkit::garage::bucket();
    let keys = tempfile::tempdir().expect("tempdir");
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
    let pem_path = keys.path().join("cdn-signing-key.pem");
    std::fs::write(
        &pem_path,
        key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .expect("PEM")
            .as_bytes(),
    )
    .expect("write key");
    let pem = pem_path.display().to_string();
    let map = |yaml: String| {
        let start = yaml
            .find("DISTRIBUTED_STORAGE_CONFIG:")
            .expect("storage block");
        let end = yaml.find("DEFAULT_TAG_EXPIRATION:").expect("block end");
        let mut block =
            String::from("DISTRIBUTED_STORAGE_CONFIG:\n  cdn_us:\n    - MultiCDNStorage\n    - storage_config:\n");
        for (k, v) in bucket.s3_storage_params(STORAGE_PATH) {
            block.push_str(&format!("          {k}: \"{v}\"\n"));
        }
        block.push_str(&format!(
            "      providers:\n\
             \x20       AWSCloudFront:\n\
             \x20         - CloudFrontedS3Storage\n\
             \x20         - cloudfront_distribution_domain: cdn.example.net\n\
             \x20           cloudfront_key_id: K2JCJMDEHXQW5F\n\
             \x20           cloudfront_privatekey_filename: {pem}\n\
             \x20           cloudfront_distribution_org_overrides: {{}}\n\
             \x20       CloudFlare:\n\
             \x20         - CloudFlareStorage\n\
             \x20         - cloudflare_domain: flare.example.org\n\
             \x20           cloudflare_privatekey_filename: {pem}\n\
             \x20     default_provider: AWSCloudFront\n\
             \x20     rules:\n\
             \x20       - namespace: flarens\n\
             \x20         target: CloudFlare\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [cdn_us]\n"
        ));
        format!("{}{block}{}", &yaml[..start], &yaml[end..])
    };
    let run = backends::quay_config_with(false, map).await;
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "olga@example.com").await;
    fixtures::create_user(&run.db_uri, "flarens", PASSWORD, "flare@example.com").await;
    let data = pattern(70_000, 9);
    let (ctx, blob) = push_blob(&run, USER, "cdn", &data).await;
    let hex = blob.trim_start_matches("sha256:");
    let public = key.to_public_key();

    // CloudFront: https://<domain>/<layout path>, a canned policy signed with SHA-1.
    let url = redirect_of(&ctx, &format!("{USER}/cdn"), &blob, "192.0.2.7").await;
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), Some("cdn.example.net"));
    assert_eq!(url.path(), format!("/sha256/{}/{hex}", &hex[..2]));
    assert_eq!(query_value(&url, "Key-Pair-Id"), "K2JCJMDEHXQW5F");
    let expires: i64 = query_value(&url, "Expires").parse().expect("epoch");
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 50..=now + 61).contains(&expires),
        "{expires} vs {now}"
    );
    let resource = format!("https://cdn.example.net{}", url.path());
    let policy = format!(
        "{{\"Statement\":[{{\"Resource\":\"{resource}\",\"Condition\":{{\"DateLessThan\":{{\"AWS:EpochTime\":{expires}}}}}}}]}}"
    );
    let sig = query_value(&url, "Signature")
        .replace('-', "+")
        .replace('_', "=")
        .replace('~', "/");
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .expect("base64 signature");
    public
        .verify(
            Pkcs1v15Sign::new::<sha1::Sha1>(),
            &<sha1::Sha1 as sha1::Digest>::digest(policy.as_bytes()),
            &sig,
        )
        .expect("CloudFront verifies the signature");
    assert!(!url.as_str().contains(quayside_testkit::garage::SECRET_KEY));

    // The namespace rule: CloudFlare, the S3 URL's path and query on its domain, signed
    // "<path>@<expiry>" with SHA-256.
    let (flare_ctx, flare_blob) = push_blob(&run, "flarens", "cdn", &data).await;
    let url = redirect_of(&flare_ctx, "flarens/cdn", &flare_blob, "192.0.2.7").await;
    assert_eq!(url.host_str(), Some("flare.example.org"));
    assert_eq!(
        url.path(),
        format!(
            "/{}/datastorage/registry/sha256/{}/{hex}",
            bucket.name,
            &hex[..2]
        )
    );
    assert_eq!(query_value(&url, "region"), "us-east-1");
    assert_eq!(query_value(&url, "namespace"), "flarens");
    assert!(
        url.query_pairs().any(|(k, _)| k == "X-Amz-Signature"),
        "{url}"
    );
    let expiry = query_value(&url, "cf_expiry");
    let sig = base64::engine::general_purpose::STANDARD
        .decode(query_value(&url, "cf_sign"))
        .expect("base64 signature");
    public
        .verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(format!("{}@{expiry}", url.path()).as_bytes()),
            &sig,
        )
        .expect("CloudFlare's worker verifies the signature");

    // AWS's ranges beside config.yaml: a client inside them reads S3 directly.
    std::fs::write(
        run.dir.path().join("aws-ip-ranges.json"),
        r#"{"syncToken": "1", "prefixes": [{"ip_prefix": "203.0.113.0/24", "region": "us-east-1", "service": "AMAZON"}], "ipv6_prefixes": []}"#,
    )
    .expect("write ranges");
    let run = run.restart().await;
    let (ctx, _) = push_blob(&run, USER, "cdn", &data).await;
    let url = redirect_of(&ctx, &format!("{USER}/cdn"), &blob, "203.0.113.9").await;
    assert_eq!(url.port(), Some(bucket.port), "{url}");
    let fetched = Client::new()
        .get(url.as_str())
        .send()
        .await
        .expect("S3 GET");
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(
        fetched.bytes().await.expect("body").as_ref(),
        data.as_slice()
    );
    let url = redirect_of(&ctx, &format!("{USER}/cdn"), &blob, "192.0.2.7").await;
    assert_eq!(
        url.host_str(),
        Some("cdn.example.net"),
        "outside AWS: still the CDN"
    );
    run.stop().await;
}
