//! Every driver runs the shared suite.

use quayside_storage::{
    layout, testsuite, DistributedStorage, Engine, LocationConfig, StorageError, UploadStyle,
};
use quayside_testkit::{azurite, garage, gcs, swift};
use serde_json::json;

fn local(id: &str, params: serde_json::Value) -> LocationConfig {
    LocationConfig {
        id: id.to_string(),
        driver: "LocalStorage".to_string(),
        params: params.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    }
}

/// A LocalStorage location `local_us` rooted at `dir`.
fn local_engine(dir: &std::path::Path) -> Engine {
    Engine::open(&local("local_us", json!({"storage_path": dir.to_str()})))
        .expect("open LocalStorage")
}

#[tokio::test]
async fn local_storage_passes_the_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = local_engine(dir.path());
    testsuite::run_all(&engine).await;
    // Quay's layout on disk, not some private one.
    let hex = sha2_hex(&testsuite::pattern(40_000, 3));
    assert!(dir
        .path()
        .join("sha256")
        .join(&hex[..2])
        .join(&hex)
        .is_file());
    assert_eq!(
        std::fs::read(dir.path().join("_verify")).expect("probe"),
        b"testing 123"
    );
}

/// A local file shorter than the range asked for (truncated behind quayside's back) is an
/// error, never a short body passed off as complete: before the first byte when nothing can
/// be read, else at the point where the file ends.
#[tokio::test]
async fn local_stream_of_a_short_file_fails() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = local_engine(dir.path());
    let data = testsuite::pattern(700_000, 5);
    engine.put("short", data.clone()).await.expect("put");

    let err = match engine.stream("short", Some(800_000..900_000)).await {
        Err(e) => e,
        Ok(_) => panic!("a range past the end of the file must fail to open"),
    };
    assert!(!err.is_not_found(), "{err}");

    let mut stream = engine
        .stream("short", Some(0..1_000_000))
        .await
        .expect("the first chunk is there");
    let mut got = Vec::new();
    let mut failed = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => got.extend_from_slice(&chunk),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let failed = failed.expect("the stream must end with an error");
    assert_eq!(failed.kind(), std::io::ErrorKind::UnexpectedEof, "{failed}");
    assert_eq!(got, data, "every byte the file has, then the error");
}

#[tokio::test]
async fn memory_storage_passes_the_suite() {
    testsuite::run_all(&Engine::memory("mem")).await;
}

fn sha2_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn bad_configurations_are_named() {
    let err = Engine::open(&local("local_us", json!({}))).expect_err("missing path");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.local_us.storage_path is required"
    );

    let err = Engine::open(&local(
        "local_us",
        json!({"storage_path": "/tmp/x", "bogus": 1}),
    ))
    .expect_err("unexpected param");
    assert!(
        err.to_string()
            .contains("DISTRIBUTED_STORAGE_CONFIG.local_us.bogus"),
        "{err}"
    );

    let err = Engine::open(&LocationConfig {
        id: "x".into(),
        driver: "FloppyStorage".into(),
        params: Default::default(),
        ..Default::default()
    })
    .expect_err("unknown driver");
    assert_eq!(
        err.to_string(),
        "FloppyStorage is not a valid storage type."
    );

    let err = Engine::open(&LocationConfig {
        id: "swift".into(),
        driver: "SwiftStorage".into(),
        params: Default::default(),
        ..Default::default()
    })
    .expect_err("no parameters");
    assert!(matches!(err, StorageError::MissingParam { .. }), "{err}");
    let mut params = params_object(
        swift::Container {
            name: "c".into(),
            auth_url: "http://127.0.0.1:1/auth/v1.0".into(),
        }
        .swift_storage_params("/x"),
    );
    params["auth_version"] = "3".into();
    let err =
        Engine::open(&location("swift", "SwiftStorage", params)).expect_err("v3 without domain");
    assert!(err.to_string().contains("requires a domain"), "{err}");
}

fn location(id: &str, driver: &str, params: serde_json::Value) -> LocationConfig {
    LocationConfig {
        id: id.to_string(),
        driver: driver.to_string(),
        params: params.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    }
}

fn s3_params(bucket: &garage::Bucket, storage_path: &str) -> serde_json::Value {
    params_object(bucket.s3_storage_params(storage_path))
}

/// A driver's `(key, value)` parameters as the JSON object of a storage config entry.
fn params_object(params: Vec<(&'static str, String)>) -> serde_json::Value {
    params
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Writes a blob through `engine` (a location with `storage_path: /datastorage/registry`) and
/// checks, through `root` (the same bucket or container at `/`), that it landed at Quay's
/// key `<storage_path without the leading slash>/sha256/<2>/<hex>`. Returns the keys under
/// `datastorage/`.
async fn blob_lands_under_quays_key(engine: &Engine, root: &Engine) -> Vec<String> {
    let data = testsuite::pattern(40_000, 3);
    let hex = sha2_hex(&data);
    let mut w = engine
        .writer(&layout::blob_path(&hex).expect("path"), false)
        .await
        .expect("writer");
    w.write(data.into()).await.expect("write");
    w.finish().await.expect("finish");
    let keys = root.list("datastorage/").await.expect("list");
    assert!(
        keys.contains(&format!("datastorage/registry/sha256/{}/{hex}", &hex[..2])),
        "{keys:?}"
    );
    keys
}

/// Every key under `prefix` in the bucket, read through a location rooted at the bucket.
async fn bucket_keys(bucket: &garage::Bucket, prefix: &str) -> Vec<String> {
    let root = Engine::open(&location("raw", "S3Storage", s3_params(bucket, "/")))
        .expect("open bucket root");
    root.list(prefix).await.expect("list")
}

#[tokio::test]
async fn s3_storage_passes_the_suite_with_quays_keys() {
    let bucket = garage::bucket();
    let engine = Engine::open(&location(
        "s3_us",
        "S3Storage",
        s3_params(&bucket, "/datastorage/registry"),
    ))
    .expect("open S3Storage");
    assert_eq!(
        engine.upload_style(),
        UploadStyle::Parts,
        "S3 cannot append"
    );
    testsuite::run_all(&engine).await;
    let root = Engine::open(&location("raw", "S3Storage", s3_params(&bucket, "/")))
        .expect("open bucket root");
    let keys = blob_lands_under_quays_key(&engine, &root).await;
    assert!(
        keys.contains(&"datastorage/registry/_verify".to_string()),
        "{keys:?}"
    );
}

/// RadosGW, NooBaa (RHOCS) and IBM COS are S3 servers addressed by host, port and
/// `is_secure`, with their own key names; each opens onto the same bucket.
#[tokio::test]
async fn s3_compatible_drivers_pass_the_suite() {
    let bucket = garage::bucket();
    for (i, driver) in ["RadosGWStorage", "RHOCSStorage", "IBMCloudStorage"]
        .into_iter()
        .enumerate()
    {
        let engine = Engine::open(&location(
            "ceph",
            driver,
            json!({
                "hostname": "127.0.0.1",
                "port": bucket.port,
                "is_secure": false,
                "storage_path": format!("/{driver}"),
                "access_key": garage::ACCESS_KEY,
                "secret_key": garage::SECRET_KEY,
                "bucket_name": bucket.name,
            }),
        ))
        .unwrap_or_else(|e| panic!("open {driver}: {e}"));
        if i == 0 {
            testsuite::run_all(&engine).await;
        } else {
            engine
                .validate()
                .await
                .unwrap_or_else(|e| panic!("{driver}: {e}"));
        }
    }
    for driver in ["RadosGWStorage", "RHOCSStorage", "IBMCloudStorage"] {
        let keys = bucket_keys(&bucket, &format!("{driver}/")).await;
        assert!(keys.contains(&format!("{driver}/_verify")), "{keys:?}");
    }
}

#[test]
fn s3_configurations_are_checked_like_quay() {
    let bucket = garage::Bucket {
        name: "b".into(),
        endpoint: "http://127.0.0.1:1".into(),
        port: 1,
    };
    let mut params = s3_params(&bucket, "/x");
    params["s3_bucket"] = json!(null);
    let err = Engine::open(&location("s3", "S3Storage", params)).expect_err("no bucket");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.s3.s3_bucket is required"
    );
    let mut params = s3_params(&bucket, "/x");
    params["bucket_name"] = json!("b");
    let err = Engine::open(&location("s3", "S3Storage", params)).expect_err("a RadosGW key");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.s3.bucket_name is not a parameter of S3Storage"
    );
    let radosgw = |extra: serde_json::Value| {
        let mut p = json!({
            "hostname": "h", "is_secure": true, "storage_path": "/p",
            "access_key": "a", "secret_key": "s", "bucket_name": "b",
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p[k] = v;
        }
        Engine::open(&location("ceph", "RadosGWStorage", p))
    };
    radosgw(json!({})).expect("complete RadosGW config");
    radosgw(json!({"port": "8080"})).expect("a port may be a string");
    let err = radosgw(json!({"port": 70000})).expect_err("bad port");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.ceph.port must be a port number (1-65535)"
    );
    let err = radosgw(json!({"is_secure": "yes"})).expect_err("bad bool");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.ceph.is_secure must be true or false"
    );
    let err = radosgw(json!({"signature_version": "v2"})).expect_err("v2 signatures");
    assert!(err.to_string().contains("signature_version"), "{err}");
    let err = Engine::open(&location(
        "ibm",
        "IBMCloudStorage",
        json!({"hostname": "h", "is_secure": true, "storage_path": "/p",
               "access_key": "a", "secret_key": "s", "bucket_name": "b",
               "server_side_assembly": true}),
    ))
    .expect_err("IBM has no server_side_assembly");
    assert!(err.to_string().contains("server_side_assembly"), "{err}");
}

#[test]
fn preference_orders_locations() {
    let ds = DistributedStorage::from_engines(
        vec![Engine::memory("a"), Engine::memory("b")],
        &["b".to_string()],
    )
    .expect("storage");
    assert_eq!(ds.preferred().id(), "b");
    assert_eq!(
        ds.read_location(&["a".into(), "b".into()]).map(|e| e.id()),
        Some("b")
    );
    assert_eq!(ds.read_location(&["a".into()]).map(|e| e.id()), Some("a"));
    assert!(ds.read_location(&["zz".into()]).is_none());

    let ds = DistributedStorage::from_engines(vec![Engine::memory("b"), Engine::memory("a")], &[])
        .expect("storage");
    assert_eq!(
        ds.preference(),
        ["a", "b"],
        "empty preference means all, in id order"
    );

    let err = DistributedStorage::from_engines(vec![Engine::memory("a")], &["nope".into()])
        .expect_err("unknown preference");
    assert!(matches!(err, StorageError::UnknownLocation(ref l) if l == "nope"));
    assert!(matches!(
        DistributedStorage::from_engines(vec![], &[]),
        Err(StorageError::NoLocations)
    ));
}

#[test]
fn checking_a_location_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("not/yet/there");
    let loc = local("local_us", json!({"storage_path": target.to_str()}));
    quayside_storage::driver::check_location(&loc).expect("creatable path is fine");
    assert!(
        !target.exists(),
        "check_location must not create the directory"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let loc = local(
        "local_us",
        json!({"storage_path": file.join("sub").to_str()}),
    );
    let err = quayside_storage::driver::check_location(&loc).expect_err("under a file");
    assert!(err.to_string().contains("cannot be created"), "{err}");

    let err = quayside_storage::driver::check_location(&LocationConfig {
        id: "x".into(),
        driver: "FloppyStorage".into(),
        params: Default::default(),
        ..Default::default()
    })
    .expect_err("unknown driver");
    assert_eq!(
        err.to_string(),
        "FloppyStorage is not a valid storage type."
    );
}

/// A loopback proxy in front of Garage that cuts, once, the first connection after it has
/// carried `cut_after` bytes towards the client: a store (or a load balancer) dropping a
/// response body midway. Returns the proxy's `http://` endpoint.
async fn cutting_proxy(upstream_port: u16, cut_after: usize) -> String {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let cut_done = Arc::new(AtomicBool::new(false));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let cut_done = cut_done.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut sent = 0usize;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if sent + n > cut_after && !cut_done.swap(true, Ordering::SeqCst) {
                        let _ = cw.write_all(&buf[..cut_after - sent]).await;
                        break;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    sent += n;
                }
                up.abort();
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// A body cut midway (a dropped connection, a stale pooled one) is resumed where it stopped:
/// the reader gets every byte once, in order, and no error.
#[tokio::test]
async fn s3_read_cut_midway_resumes() {
    use futures::StreamExt;
    let bucket = garage::bucket();
    let data = testsuite::pattern(6 * 1024 * 1024, 11);
    let direct = Engine::open(&location("s3_us", "S3Storage", s3_params(&bucket, "/cut")))
        .expect("open S3Storage");
    direct.put("big", data.clone()).await.expect("put");

    let proxy = cutting_proxy(bucket.port, 2 * 1024 * 1024).await;
    let mut params = s3_params(&bucket, "/cut");
    params["endpoint_url"] = serde_json::Value::String(proxy);
    let through = Engine::open(&location("s3_us", "S3Storage", params)).expect("open via proxy");
    let mut stream = through.stream("big", None).await.expect("open stream");
    let mut got = Vec::with_capacity(data.len());
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.expect("a cut body is resumed, not an error"));
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "resumed bytes differ");
}

fn azure_params(container: &azurite::Container, storage_path: &str) -> serde_json::Value {
    params_object(container.azure_storage_params(storage_path))
}

/// AzureStorage on a real Azure Blob server (Azurite): the suite, parts uploads, and
/// Quay's keys under `storage_path`.
#[tokio::test]
async fn azure_storage_passes_the_suite_with_quays_keys() {
    let container = azurite::container();
    let engine = Engine::open(&location(
        "azure_us",
        "AzureStorage",
        azure_params(&container, "/datastorage/registry"),
    ))
    .expect("open AzureStorage");
    assert_eq!(
        engine.upload_style(),
        UploadStyle::Parts,
        "Azure block blobs cannot append in place"
    );
    testsuite::run_all(&engine).await;
    let root = Engine::open(&location(
        "raw",
        "AzureStorage",
        azure_params(&container, "/"),
    ))
    .expect("open container root");
    blob_lands_under_quays_key(&engine, &root).await;

    // A wrong key is refused by the server, as an error that names the location.
    let mut bad = azure_params(&container, "/x");
    bad["azure_account_key"] = serde_json::Value::String(
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
            .into(),
    );
    let wrong = Engine::open(&location("azure_bad", "AzureStorage", bad)).expect("open");
    let err = wrong
        .put("probe", b"x".to_vec())
        .await
        .expect_err("bad key");
    assert!(err.to_string().contains("azure_bad"), "{err}");
}

/// A signed URL reads the object with a plain HTTP client (no credentials of its own) and
/// the store answers ranges on it.
async fn signed_url_reads(engine: &Engine, url: &str, data: &[u8]) {
    let http = reqwest::Client::new();
    let whole = http.get(url).send().await.expect("signed GET");
    assert_eq!(whole.status(), 200, "{} {url}", engine.id());
    assert_eq!(whole.bytes().await.expect("body").as_ref(), data);
    let part = http
        .get(url)
        .header("range", "bytes=2-5")
        .send()
        .await
        .expect("signed ranged GET");
    assert_eq!(part.status(), 206, "{} {url}", engine.id());
    assert_eq!(part.bytes().await.expect("body").as_ref(), &data[2..=5]);
}

/// The query of a signed URL of `signed-object`, put on `other-object`, answers `status`.
async fn signature_refused_elsewhere(url: &str, status: u16) {
    let other = url.replace("signed-object", "other-object");
    let refused = reqwest::Client::new()
        .get(&other)
        .send()
        .await
        .expect("GET");
    assert_eq!(refused.status(), status, "{other}");
}

#[tokio::test]
async fn object_stores_sign_read_urls_and_local_storage_does_not() {
    let data = testsuite::pattern(5_000, 42);
    let path = "sha256/ab/signed-object";
    let expires = std::time::Duration::from_secs(60);

    let bucket = garage::bucket();
    let s3 = Engine::open(&location(
        "s3_us",
        "S3Storage",
        s3_params(&bucket, "/datastorage/registry"),
    ))
    .expect("open S3Storage");
    s3.put(path, data.clone()).await.expect("put");
    let url = s3
        .presigned_read(path, expires)
        .await
        .expect("presign")
        .expect("S3 signs");
    assert!(url.contains("X-Amz-Expires=60"), "{url}");
    assert!(!url.contains(garage::SECRET_KEY), "{url}");
    signed_url_reads(&s3, &url, &data).await;

    // Azure with an account key: a read-only service SAS, as Quay signs it.
    let container = azurite::container();
    let azure = Engine::open(&location(
        "azure_us",
        "AzureStorage",
        azure_params(&container, "/datastorage/registry"),
    ))
    .expect("open AzureStorage");
    azure.put(path, data.clone()).await.expect("put");
    let url = azure
        .presigned_read(path, expires)
        .await
        .expect("presign")
        .expect("Azure signs with the account key");
    assert!(url.contains("sp=r") && url.contains("sig="), "{url}");
    assert!(
        url.contains("/datastorage/registry/sha256/ab/signed-object?"),
        "{url}"
    );
    signed_url_reads(&azure, &url, &data).await;
    // The signature covers the blob: the same query on another blob is refused.
    signature_refused_elsewhere(&url, 403).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let local = local_engine(dir.path());
    local.put(path, data.clone()).await.expect("put");
    assert_eq!(
        local.presigned_read(path, expires).await.expect("no error"),
        None
    );
    assert_eq!(
        Engine::memory("mem")
            .presigned_read(path, expires)
            .await
            .expect("no error"),
        None
    );
    // Paths are checked before anything is signed.
    assert!(s3.presigned_read("../escape", expires).await.is_err());
}

fn gcs_location(gate: &gcs::GcsGate, storage_path: &str) -> LocationConfig {
    LocationConfig {
        gcs_endpoint: Some(gate.endpoint.clone()),
        ..location(
            "gcs_us",
            "GoogleCloudStorage",
            params_object(gate.gcs_storage_params(storage_path)),
        )
    }
}

/// `GoogleCloudStorage` speaks GCS's XML API: the whole suite, with Quay's keys, through a
/// gate that refuses the three S3 calls the XML API lacks, and not one of them is sent.
#[tokio::test]
async fn gcs_storage_passes_the_suite_in_the_xml_dialect() {
    let gate = gcs::gate().await;
    let engine = Engine::open(&gcs_location(&gate, "/datastorage/registry"))
        .expect("open GoogleCloudStorage");
    assert_eq!(engine.kind(), quayside_storage::DriverKind::Gcs);
    assert_eq!(engine.upload_style(), UploadStyle::Parts);
    testsuite::run_all(&engine).await;
    let root = Engine::open(&gcs_location(&gate, "/")).expect("open bucket root");
    let keys = blob_lands_under_quays_key(&engine, &root).await;
    assert!(
        keys.contains(&"datastorage/registry/_verify".to_string()),
        "{keys:?}"
    );
    // Quay's GCS keys are the same objects an S3 client of the bucket sees.
    let direct = bucket_keys(&gate.bucket, "datastorage/registry/sha256/").await;
    assert!(!direct.is_empty(), "blob written to the bucket itself");
    assert_eq!(
        gate.refused(),
        Vec::<String>::new(),
        "calls GCS does not implement"
    );

    // The gate is not a formality: the plain S3 dialect through it is refused where it
    // lists (ListObjectsV2) and where it joins parts on the server (UploadPartCopy).
    let mut s3 = s3_params(&gate.bucket, "/s3-through-gate");
    s3["endpoint_url"] = serde_json::Value::String(gate.endpoint.clone());
    let s3 = Engine::open(&location("s3_gate", "S3Storage", s3)).expect("open S3 via gate");
    assert!(s3.list("uploads/").await.is_err(), "ListObjectsV2 refused");
    let id = uuid::Uuid::new_v4();
    let mut parts = quayside_storage::UploadParts::default();
    let mut offset = 0u64;
    for (i, size) in [17 * 1024 * 1024usize, 3_000_000].into_iter().enumerate() {
        let path = layout::upload_part_path(&id);
        s3.put(&path, testsuite::pattern(size, i as u64))
            .await
            .expect("part");
        parts = parts.with(quayside_storage::UploadPart {
            path,
            offset,
            length: size as u64,
        });
        offset += size as u64;
    }
    assert!(
        s3.assemble(&parts, "sha256/00/joined").await.is_err(),
        "UploadPartCopy refused"
    );
    let refused = gate.refused();
    assert!(
        refused.iter().any(|r| r.contains("list-type=2")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|r| r.contains("partNumber")),
        "{refused:?}"
    );
}

#[test]
fn gcs_configurations_are_checked_like_quay() {
    let base = json!({
        "storage_path": "/registry",
        "access_key": "GOOG1EXAMPLE",
        "secret_key": "secret",
        "bucket_name": "quay-bucket",
    });
    Engine::open(&location("gcs", "GoogleCloudStorage", base.clone())).expect("Quay's four keys");
    let mut extra = base.clone();
    extra["endpoint_url"] = json!("http://elsewhere");
    let err = Engine::open(&location("gcs", "GoogleCloudStorage", extra)).expect_err("no endpoint");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.gcs.endpoint_url is not a parameter of GoogleCloudStorage"
    );
    let mut missing = base.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("bucket_name");
    let err = Engine::open(&location("gcs", "GoogleCloudStorage", missing)).expect_err("bucket");
    assert_eq!(
        err.to_string(),
        "DISTRIBUTED_STORAGE_CONFIG.gcs.bucket_name is required"
    );
    let mut v2 = base;
    v2["signature_version"] = json!("s3");
    let err = Engine::open(&location("gcs", "GoogleCloudStorage", v2)).expect_err("v2");
    assert!(err.to_string().contains("signature_version"), "{err}");
}

/// A CDN location reads `aws-ip-ranges.json` beside `config.yaml` when it opens; a file that
/// is not AWS's format stops the start (and `config check`) with an error naming the location
/// and the file, and a missing file is fine.
#[test]
fn a_cdn_location_refuses_an_unusable_aws_ranges_file() {
    use rsa::pkcs8::EncodePrivateKey as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).expect("key");
    let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("pem");
    std::fs::write(dir.path().join("cf.pem"), pem.as_bytes()).expect("write key");
    let loc = LocationConfig {
        config_dir: Some(dir.path().to_path_buf()),
        ..location(
            "cdn_us",
            "CloudFrontedS3Storage",
            json!({
                "storage_path": "/registry",
                "s3_bucket": "b",
                "s3_access_key": "k",
                "s3_secret_key": "s",
                "cloudfront_distribution_domain": "d.cloudfront.net",
                "cloudfront_key_id": "K1",
                "cloudfront_privatekey_filename": "cf.pem",
            }),
        )
    };
    Engine::open(&loc).expect("no ranges file: every client is outside AWS");
    quayside_storage::driver::check_location(&loc).expect("check without ranges");
    std::fs::write(dir.path().join("aws-ip-ranges.json"), "{\"prefixes\": 7}").expect("write");
    for err in [
        Engine::open(&loc).expect_err("bad ranges"),
        quayside_storage::driver::check_location(&loc).expect_err("bad ranges"),
    ] {
        let text = err.to_string();
        assert!(
            text.starts_with("DISTRIBUTED_STORAGE_CONFIG.cdn_us.aws-ip-ranges.json ("),
            "{text}"
        );
        assert!(text.contains("is not AWS's ip-ranges.json"), "{text}");
    }
}

/// Quay's `SwiftStorage` on a real Swift (tempauth, auth v1): the whole suite, and Quay's
/// object names under `storage_path` in the container.
#[tokio::test]
async fn swift_storage_passes_the_suite_with_quays_keys() {
    let container = swift::container();
    let engine = Engine::open(&location(
        "swift_eu",
        "SwiftStorage",
        params_object(container.swift_storage_params("/datastorage/registry")),
    ))
    .expect("open SwiftStorage");
    assert_eq!(
        engine.upload_style(),
        UploadStyle::Parts,
        "Swift cannot append"
    );
    testsuite::run_all(&engine).await;
    let root = Engine::open(&location(
        "raw",
        "SwiftStorage",
        params_object(container.swift_storage_params("/")),
    ))
    .expect("open container root");
    blob_lands_under_quays_key(&engine, &root).await;
}

/// A wrong password is an error naming the login, not a hang or a panic.
#[tokio::test]
async fn swift_bad_credentials_are_reported() {
    let container = swift::container();
    let mut params = params_object(container.swift_storage_params("/x"));
    params["swift_password"] = "wrong".into();
    let engine =
        Engine::open(&location("swift_bad", "SwiftStorage", params)).expect("opens lazily");
    let err = engine
        .exists("sha256/aa/aa")
        .await
        .expect_err("login fails");
    assert!(err.to_string().contains("auth v1"), "{err}");
}

/// An expired token (tempauth forgot it) is renewed by logging in again, without an error.
#[tokio::test]
async fn swift_renews_an_expired_token() {
    let container = swift::container();
    let engine = Engine::open(&location(
        "swift_renew",
        "SwiftStorage",
        params_object(container.swift_storage_params("/renew")),
    ))
    .expect("open");
    engine
        .put("a", bytes::Bytes::from_static(b"one"))
        .await
        .expect("first write logs in");
    swift::swift().expire_tokens();
    engine
        .put("b", bytes::Bytes::from_static(b"two"))
        .await
        .expect("second write renews");
    assert_eq!(engine.get("b").await.expect("read").as_ref(), b"two");
}

/// Keystone v3 and v2 logins (`auth_version`, `os_options` as Quay's config writes them),
/// against a stand-in for Keystone's token API that hands out real sessions of the Swift
/// cluster: the object-store endpoint of the configured region and interface is used.
#[tokio::test]
async fn swift_logs_in_through_keystone_v3_and_v2() {
    let container = swift::container();
    let keystone = swift::keystone().await;
    for (version, auth_url, os_options) in [
        (
            "3",
            format!("{keystone}/v3"),
            serde_json::json!({"project_name": "test", "user_domain_name": "Default", "region_name": "RegionOne"}),
        ),
        (
            "2",
            format!("{keystone}/v2.0"),
            serde_json::json!({"tenant_name": "test", "region_name": "RegionOne"}),
        ),
    ] {
        let mut params = params_object(container.swift_storage_params(&format!("/v{version}")));
        params["auth_version"] = version.into();
        params["auth_url"] = auth_url.into();
        params["swift_user"] = "tester".into();
        params["os_options"] = os_options;
        let engine =
            Engine::open(&location("swift_ks", "SwiftStorage", params.clone())).expect("open");
        engine
            .put("hello", bytes::Bytes::from_static(b"keystone"))
            .await
            .unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(
            engine.get("hello").await.expect("read").as_ref(),
            b"keystone"
        );
        // Wrong password: the login error names Keystone.
        params["swift_password"] = "wrong".into();
        let bad = Engine::open(&location("swift_ks_bad", "SwiftStorage", params)).expect("open");
        let err = bad.exists("hello").await.expect_err("refused");
        assert!(err.to_string().contains("Keystone"), "v{version}: {err}");
    }
}

/// Quay's `temp_url_key`: a Swift location signs temp URLs that the cluster's `tempurl`
/// middleware accepts with no token (whole object and ranges), that name Quay's object and
/// carry no credentials, and that are refused for another object. Checking the location
/// reads the probe through one; a wrong key fails it with Quay's message. Without the key
/// there is no direct download (Quay proxies then).
#[tokio::test]
async fn swift_signs_temp_urls_with_the_temp_url_key() {
    let container = swift::container();
    let mut params = params_object(container.swift_storage_params("/datastorage/registry"));
    params["temp_url_key"] = swift::TEMP_URL_KEY.into();
    let engine = Engine::open(&location("swift_dd", "SwiftStorage", params.clone())).expect("open");
    // Before anything is written (no `_verify` yet): the key is checked by a signed read
    // that Swift answers 404, not 401.
    engine
        .check_reachable()
        .await
        .expect("the key is accepted with nothing written");
    let data = testsuite::pattern(5_000, 9);
    let path = "sha256/ab/signed-object";
    engine.put(path, data.clone()).await.expect("put");
    let url = engine
        .presigned_read(path, std::time::Duration::from_secs(60))
        .await
        .expect("sign")
        .expect("a temp URL");
    assert!(
        url.contains(&format!(
            "/{}/datastorage/registry/sha256/ab/signed-object?temp_url_sig=",
            container.name
        )),
        "{url}"
    );
    assert!(url.contains("&temp_url_expires="), "{url}");
    assert!(
        !url.contains(swift::KEY) && !url.contains(swift::TEMP_URL_KEY),
        "{url}"
    );
    signed_url_reads(&engine, &url, &data).await;
    signature_refused_elsewhere(&url, 401).await;
    engine
        .validate()
        .await
        .expect("the probe reads through a temp URL");

    params["temp_url_key"] = "not-the-accounts-key".into();
    let wrong =
        Engine::open(&location("swift_dd_bad", "SwiftStorage", params.clone())).expect("open");
    for err in [
        wrong
            .validate()
            .await
            .expect_err("a wrong key fails the probe"),
        wrong
            .check_reachable()
            .await
            .expect_err("a wrong key fails config check"),
    ] {
        assert!(
            err.to_string().contains(
                "Direct download URL failed with status code 401. Please check your temp-url-key."
            ),
            "{err}"
        );
    }
    params
        .as_object_mut()
        .expect("object")
        .remove("temp_url_key");
    let plain = Engine::open(&location("swift_plain", "SwiftStorage", params)).expect("open");
    assert_eq!(
        plain
            .presigned_read(path, std::time::Duration::from_secs(60))
            .await
            .expect("no error"),
        None
    );
}

/// `simple_path_concat` with a `storage_path` that does not end in `/` would put objects at
/// `<storage_path>sha256/...`: refused, naming the key; ending it in `/` gives Quay's names.
#[test]
fn swift_simple_path_concat_is_checked() {
    let container = swift::Container {
        name: "c".into(),
        auth_url: "http://127.0.0.1:1/auth/v1.0".into(),
    };
    let mut params = params_object(container.swift_storage_params("/registry"));
    params["simple_path_concat"] = true.into();
    let err = Engine::open(&location("swift_concat", "SwiftStorage", params.clone()))
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("swift_concat") && text.contains("simple_path_concat"),
        "{text}"
    );
    params["storage_path"] = "/registry/".into();
    Engine::open(&location("swift_concat", "SwiftStorage", params.clone()))
        .expect("a trailing / names objects as Quay does");
    params["simple_path_concat"] = "yes".into();
    assert!(Engine::open(&location("swift_concat", "SwiftStorage", params)).is_err());
}
