//! `CLEAN_BLOB_UPLOAD_FOLDER`: the `blobuploadcleanup` worker also sweeps, in every
//! location, the objects under `uploads/` older than `BLOBUPLOAD_DELETION_DATE_THRESHOLD`
//! (what a push or a replication copy that died midway left), and nothing else: blobs stay,
//! as do upload objects younger than the threshold. On LocalStorage and on S3 (Garage).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use quayside_storage::{DistributedStorage, Engine, LocationConfig};
use quayside_testkit::garage;
use quayside_workers::purge::sweep_upload_folder;

const BLOB: &str = "sha256/ab/abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::test]
async fn old_upload_objects_go_and_everything_else_stays_on_local_storage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = quayside_testkit::storage::local(dir.path());
    let engine = storage.preferred().clone();
    for path in ["uploads/crashed-copy", "uploads/fresh", BLOB] {
        engine.put(path, b"bytes".to_vec()).await.expect("put");
    }
    let three_days_ago = SystemTime::now() - 3 * DAY;
    for path in ["uploads/crashed-copy", BLOB] {
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(path))
            .and_then(|f| f.set_modified(three_days_ago))
            .expect("age the file");
    }
    let swept = sweep_upload_folder(&storage, SystemTime::now() - 2 * DAY).await;
    assert_eq!(swept, 1);
    assert!(!engine.exists("uploads/crashed-copy").await.expect("stat"));
    assert!(
        engine.exists("uploads/fresh").await.expect("stat"),
        "younger than the threshold"
    );
    assert!(
        engine.exists(BLOB).await.expect("stat"),
        "a blob is never swept"
    );
}

#[tokio::test]
async fn old_upload_objects_go_and_everything_else_stays_on_s3() {
    let bucket = garage::bucket();
    let params = bucket
        .s3_storage_params("/registry")
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
        .collect();
    let engine = Engine::open(&LocationConfig {
        id: "s3_us".into(),
        driver: "S3Storage".into(),
        params,
        ..Default::default()
    })
    .expect("open S3");
    let storage = Arc::new(
        DistributedStorage::from_engines(vec![engine.clone()], &["s3_us".to_string()])
            .expect("storage"),
    );
    for path in ["uploads/a", "uploads/b.part", BLOB] {
        engine.put(path, b"bytes".to_vec()).await.expect("put");
    }
    // Objects a day younger than the cutoff: nothing goes.
    assert_eq!(
        sweep_upload_folder(&storage, SystemTime::now() - DAY).await,
        0
    );
    assert_eq!(engine.list("uploads/").await.expect("list").len(), 2);
    // A cutoff after they were written: both upload objects go, the blob stays.
    let swept = sweep_upload_folder(&storage, SystemTime::now() + Duration::from_secs(60)).await;
    assert_eq!(swept, 2);
    assert!(engine.list("uploads/").await.expect("list").is_empty());
    assert!(engine.exists(BLOB).await.expect("stat"));
}

#[test]
fn the_sweep_is_on_unless_clean_blob_upload_folder_is_false() {
    use quayside_config::Config;
    use quayside_workers::WorkerSettings;
    let default = Config::from_yaml_str("FEATURE_GARBAGE_COLLECTION: true\n").expect("config");
    assert!(WorkerSettings::from_config(&default).clean_upload_folder);
    let off = Config::from_yaml_str("CLEAN_BLOB_UPLOAD_FOLDER: false\n").expect("config");
    assert!(!WorkerSettings::from_config(&off).clean_upload_folder);
}

/// The worker itself: a run of `blobuploadcleanup` sweeps an aged upload object on both
/// backends, and leaves it with `CLEAN_BLOB_UPLOAD_FOLDER: false`.
#[tokio::test]
async fn the_blobuploadcleanup_worker_sweeps_unless_told_not_to() {
    use quayside_config::{Config, LiveSettings};
    use quayside_metrics::Metrics;
    use quayside_workers::{run_once, RunOutcome, WorkerContext, WorkerSettings};
    for backend in quayside_testkit::backends() {
        for (yaml, swept) in [
            ("FEATURE_GARBAGE_COLLECTION: true\n", true),
            ("CLEAN_BLOB_UPLOAD_FOLDER: false\n", false),
        ] {
            let db = quayside_testkit::TestDb::new(backend).await;
            let dir = tempfile::tempdir().expect("tempdir");
            let storage = quayside_testkit::storage::local(dir.path());
            storage
                .preferred()
                .put("uploads/left-behind", b"bytes".to_vec())
                .await
                .expect("put");
            std::fs::File::options()
                .write(true)
                .open(dir.path().join("uploads/left-behind"))
                .and_then(|f| f.set_modified(SystemTime::now() - 3 * DAY))
                .expect("age the file");
            let config = Config::from_yaml_str(yaml).expect("config");
            let ctx = WorkerContext::new(
                db.db().clone(),
                storage.clone(),
                Metrics::new(),
                Arc::new(LiveSettings::from_config(&config)),
                WorkerSettings::from_config(&config),
            );
            let worker = quayside_workers::purge::BlobUploadCleanupWorker;
            assert_eq!(run_once(&ctx, &worker).await.expect("run"), RunOutcome::Ok);
            assert_eq!(
                !storage
                    .preferred()
                    .exists("uploads/left-behind")
                    .await
                    .expect("stat"),
                swept,
                "{backend:?} {yaml}"
            );
            db.cleanup().await;
        }
    }
}
