//! Every driver runs the shared suite.

use quayside_storage::{testsuite, DistributedStorage, Engine, LocationConfig, StorageError};
use serde_json::json;

fn local(id: &str, params: serde_json::Value) -> LocationConfig {
    LocationConfig {
        id: id.to_string(),
        driver: "LocalStorage".to_string(),
        params: params.as_object().cloned().unwrap_or_default(),
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
    })
    .expect_err("unknown driver");
    assert_eq!(
        err.to_string(),
        "FloppyStorage is not a valid storage type."
    );

    let err = Engine::open(&LocationConfig {
        id: "s3".into(),
        driver: "S3Storage".into(),
        params: Default::default(),
    })
    .expect_err("not yet built");
    assert!(
        matches!(err, StorageError::UnsupportedDriver { .. }),
        "{err}"
    );
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
    })
    .expect_err("unknown driver");
    assert_eq!(
        err.to_string(),
        "FloppyStorage is not a valid storage type."
    );
}
