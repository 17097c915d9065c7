//! Geo-replication (`FEATURE_STORAGE_REPLICATION`) over two real locations: a push lands in
//! the preferred one and queues its blobs; the `storagereplication` worker copies each into
//! every required location (`DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` ∪ the namespace's
//! `userregion`), verified, and records the placement; a pull then reads from a replica when
//! the first location has lost the object — on SQLite and PostgreSQL.

use std::path::Path;
use std::sync::Arc;

use quayside_config::{Config, LiveSettings};
use quayside_domain::{Registry, RegistrySettings};
use quayside_meta::replication::REPLICATION_QUEUE;
use quayside_metrics::Metrics;
use quayside_storage::{DistributedStorage, LocationConfig};
use quayside_testkit::registry::{push_image, read_blob};
use quayside_testkit::sql::{exec, scalar_i64, Arg};
use quayside_testkit::{backends, create_namespace, create_repository, Backend, TestDb};
use quayside_workers::{run_once, RunOutcome, WorkerContext, WorkerSettings};

fn location(id: &str, dir: &Path) -> LocationConfig {
    let mut params = serde_json::Map::new();
    params.insert("storage_path".into(), dir.display().to_string().into());
    LocationConfig {
        id: id.into(),
        driver: "LocalStorage".into(),
        params,
        ..Default::default()
    }
}

fn storage(us: &Path, eu: &Path, ap: &Path, preference: &[&str]) -> Arc<DistributedStorage> {
    let pref: Vec<String> = preference.iter().map(|s| s.to_string()).collect();
    Arc::new(
        DistributedStorage::open(
            &[location("us", us), location("eu", eu), location("ap", ap)],
            &pref,
        )
        .expect("storage"),
    )
}

fn context(db: &quayside_meta::Db, storage: Arc<DistributedStorage>) -> WorkerContext {
    // Default locations us + eu; ap only for namespaces with a userregion there.
    let config = Config::from_yaml_str(
        "FEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [us, eu]\n",
    )
    .expect("config");
    let live = Arc::new(LiveSettings::from_config(&config));
    WorkerContext::new(
        db.clone(),
        storage,
        Metrics::new(),
        live,
        WorkerSettings::from_config(&config),
    )
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.ends_with("_verify") {
                n += 1;
            }
        }
    }
    n
}

async fn placements(db: &quayside_meta::Db, location: &str) -> i64 {
    scalar_i64(
        db,
        "SELECT COUNT(*) FROM imagestorageplacement p JOIN imagestoragelocation l \
         ON l.id = p.location_id WHERE l.name = $1",
        &[Arg::S(location)],
    )
    .await
}

async fn replication_end_to_end(backend: Backend) {
    let tdb = TestDb::new(backend).await;
    let db = tdb.db().clone();
    let (us, eu, ap) = (
        tempfile::tempdir().expect("us"),
        tempfile::tempdir().expect("eu"),
        tempfile::tempdir().expect("ap"),
    );
    db.sync_storage_locations(&["us".into(), "eu".into(), "ap".into()])
        .await
        .expect("locations");
    let site_us = storage(us.path(), eu.path(), ap.path(), &["us", "eu"]);
    let settings = RegistrySettings {
        storage_replication: true,
        ..RegistrySettings::default()
    };
    let reg = Registry::new(db.clone(), site_us.clone(), settings.clone());
    let ns = create_namespace(&db, "devtable").await;
    create_repository(&db, ns, "app").await;
    let other = create_namespace(&db, "asia").await;
    create_repository(&db, other, "app").await;
    // `asia` also wants its blobs in `ap`.
    exec(
        &db,
        "INSERT INTO userregion (user_id, location_id) \
         SELECT $1, id FROM imagestoragelocation WHERE name = 'ap'",
        &[Arg::I(i64::from(other))],
    )
    .await;
    let repo = reg
        .lookup_repo("devtable", "app")
        .await
        .expect("lookup")
        .expect("repo");
    let asia = reg
        .lookup_repo("asia", "app")
        .await
        .expect("lookup")
        .expect("repo");

    let layers = vec![vec![7u8; 40_000], vec![8u8; 1234]];
    push_image(&reg, &repo, Some("v1"), b"{\"config\":1}", &layers, None).await;
    push_image(
        &reg,
        &asia,
        Some("v1"),
        b"{\"config\":2}",
        &[vec![9u8; 999]],
        None,
    )
    .await;
    assert_eq!(
        count_files(us.path()),
        5,
        "{backend}: pushes land in the preferred location"
    );
    assert_eq!(count_files(eu.path()), 0, "{backend}");
    let queued = scalar_i64(
        &db,
        "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE $1",
        &[Arg::S(&format!("{REPLICATION_QUEUE}/%"))],
    )
    .await;
    assert_eq!(queued, 5, "{backend}: one item per blob of each manifest");

    let ctx = context(&db, site_us.clone());
    let worker = quayside_workers::find("storagereplication").expect("worker");
    assert!(worker.enabled(&ctx.settings));
    assert_eq!(run_once(&ctx, worker).await.expect("run"), RunOutcome::Ok);
    assert_eq!(
        count_files(eu.path()),
        5,
        "{backend}: every blob copied to eu"
    );
    assert_eq!(
        count_files(ap.path()),
        2,
        "{backend}: only asia's blobs go to its region"
    );
    assert_eq!(placements(&db, "eu").await, 5, "{backend}");
    assert_eq!(placements(&db, "ap").await, 2, "{backend}");
    let left = scalar_i64(&db, "SELECT COUNT(*) FROM queueitem", &[]).await;
    assert_eq!(left, 0, "{backend}: every item completed");

    // Queued again (a manifest pushed twice): nothing more is copied or placed.
    push_image(&reg, &repo, Some("v2"), b"{\"config\":1}", &layers, None).await;
    run_once(&ctx, worker).await.expect("run");
    assert_eq!(placements(&db, "eu").await, 5, "{backend}");

    // The eu site prefers eu: it reads the replicas, also once us has lost its objects.
    let site_eu = storage(us.path(), eu.path(), ap.path(), &["eu", "us"]);
    let reg_eu = Registry::new(db.clone(), site_eu, settings.clone());
    let digest = quayside_oci::Digest::sha256_of(&layers[0]);
    std::fs::remove_dir_all(us.path().join("sha256")).expect("lose us");
    assert_eq!(
        read_blob(&reg_eu, &repo, &digest).await.as_deref(),
        Some(layers[0].as_slice()),
        "{backend}: eu reads its replica"
    );
    // The us site still prefers us, which lacks the object now: the read falls back.
    assert_eq!(
        read_blob(&reg, &repo, &digest).await.as_deref(),
        Some(layers[0].as_slice()),
        "{backend}: a read falls back to a replica when the preferred location lacks it"
    );
    tdb.cleanup().await;
}

#[tokio::test]
async fn replication_copies_to_every_required_location_on_both_backends() {
    for backend in backends() {
        replication_end_to_end(backend).await;
    }
}

/// A copy is verified before it takes the blob's key: a corrupt source leaves the item for
/// a retry, no placement and no object at the destination.
#[tokio::test]
async fn a_corrupt_source_is_not_replicated() {
    let tdb = TestDb::sqlite().await;
    let db = tdb.db().clone();
    let (us, eu, ap) = (
        tempfile::tempdir().expect("us"),
        tempfile::tempdir().expect("eu"),
        tempfile::tempdir().expect("ap"),
    );
    db.sync_storage_locations(&["us".into(), "eu".into(), "ap".into()])
        .await
        .expect("locations");
    let site = storage(us.path(), eu.path(), ap.path(), &["us", "eu"]);
    let settings = RegistrySettings {
        storage_replication: true,
        ..RegistrySettings::default()
    };
    let reg = Registry::new(db.clone(), site.clone(), settings);
    let ns = create_namespace(&db, "devtable").await;
    create_repository(&db, ns, "app").await;
    let repo = reg
        .lookup_repo("devtable", "app")
        .await
        .expect("lookup")
        .expect("repo");
    let layer = vec![5u8; 3000];
    push_image(
        &reg,
        &repo,
        Some("v1"),
        b"{}",
        std::slice::from_ref(&layer),
        None,
    )
    .await;
    let digest = quayside_oci::Digest::sha256_of(&layer);
    let hex = digest.to_string().trim_start_matches("sha256:").to_string();
    let object = us.path().join("sha256").join(&hex[..2]).join(&hex);
    std::fs::write(&object, b"tampered").expect("corrupt");

    let ctx = context(&db, site);
    let worker = quayside_workers::find("storagereplication").expect("worker");
    assert!(
        run_once(&ctx, worker).await.is_err(),
        "the run reports the bad copy"
    );
    let layer_in_eu = scalar_i64(
        &db,
        "SELECT COUNT(*) FROM imagestorageplacement p \
         JOIN imagestoragelocation l ON l.id = p.location_id \
         JOIN imagestorage s ON s.id = p.storage_id \
         WHERE l.name = 'eu' AND s.content_checksum = $1",
        &[Arg::S(&digest.to_string())],
    )
    .await;
    assert_eq!(layer_in_eu, 0, "the corrupt blob is not placed in eu");
    assert!(!eu.path().join("sha256").join(&hex[..2]).join(&hex).exists());
    let waiting = scalar_i64(
        &db,
        "SELECT COUNT(*) FROM queueitem WHERE retries_remaining > 0",
        &[],
    )
    .await;
    assert!(waiting >= 1, "the item stays queued for a retry");
    tdb.cleanup().await;
}

/// Quay's backfill after a location is added: blobs pushed before replication was on are
/// queued once (not twice while queued), copied by the worker, and a later backfill finds
/// nothing; removing the old location then leaves every blob readable from the new one.
#[tokio::test]
async fn backfill_then_remove_location_on_both_backends() {
    for backend in backends() {
        let tdb = TestDb::new(backend).await;
        let db = tdb.db().clone();
        let (us, eu, ap) = (
            tempfile::tempdir().expect("us"),
            tempfile::tempdir().expect("eu"),
            tempfile::tempdir().expect("ap"),
        );
        db.sync_storage_locations(&["us".into(), "eu".into(), "ap".into()])
            .await
            .expect("locations");
        let site = storage(us.path(), eu.path(), ap.path(), &["us", "eu"]);
        // Pushed while replication was off: nothing queued.
        let reg = Registry::new(db.clone(), site.clone(), RegistrySettings::default());
        let ns = create_namespace(&db, "devtable").await;
        create_repository(&db, ns, "app").await;
        let repo = reg
            .lookup_repo("devtable", "app")
            .await
            .expect("lookup")
            .expect("repo");
        let layers = vec![vec![1u8; 5000], vec![2u8; 6000]];
        push_image(&reg, &repo, Some("v1"), b"{\"c\":3}", &layers, None).await;
        assert_eq!(
            scalar_i64(&db, "SELECT COUNT(*) FROM queueitem", &[]).await,
            0
        );

        let ctx = context(&db, site.clone());
        let mut lines = Vec::new();
        let queued =
            quayside_workers::replication::backfill(&db, &ctx.settings.default_locations, |l| {
                lines.push(l)
            })
            .await
            .expect("backfill");
        assert_eq!(queued, 3, "{backend}: config and two layers lack eu");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("Enqueueing manifest blob ")
                    && l.ends_with(" to be replicated")),
            "{lines:?}"
        );
        let again =
            quayside_workers::replication::backfill(&db, &ctx.settings.default_locations, |_| {})
                .await
                .expect("backfill");
        assert_eq!(
            again, 0,
            "{backend}: already queued blobs are not queued twice"
        );

        let worker = quayside_workers::find("storagereplication").expect("worker");
        run_once(&ctx, worker).await.expect("run");
        assert_eq!(placements(&db, "eu").await, 3, "{backend}");
        let after =
            quayside_workers::replication::backfill(&db, &ctx.settings.default_locations, |_| {})
                .await
                .expect("backfill");
        assert_eq!(after, 0, "{backend}: nothing is missing any more");

        let removed = db.remove_storage_location("us").await.expect("remove");
        assert!(removed.location, "{backend}");
        assert_eq!(removed.placements.len(), 3, "{backend}");
        assert_eq!(placements(&db, "us").await, 0, "{backend}");
        let only_eu = storage(us.path(), eu.path(), ap.path(), &["eu"]);
        let reg_eu = Registry::new(db.clone(), only_eu, RegistrySettings::default());
        let digest = quayside_oci::Digest::sha256_of(&layers[1]);
        assert_eq!(
            read_blob(&reg_eu, &repo, &digest).await.as_deref(),
            Some(layers[1].as_slice()),
            "{backend}: readable from the replica after the location is gone"
        );
        assert!(
            !db.remove_storage_location("us")
                .await
                .expect("again")
                .location,
            "{backend}: a second removal finds nothing"
        );
        tdb.cleanup().await;
    }
}
