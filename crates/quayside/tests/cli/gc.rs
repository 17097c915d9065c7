//! `quayside gc --dry-run` and `quayside gc` on both backends: the dry run reports what the
//! real run then deletes, and deletes nothing itself.

use std::path::Path;

use quayside_meta::{with_pool, ConnectOptions, Db};
use sha2::Digest as _;

use crate::config_check::valid_config;
use crate::harness::run;

/// Writes a blob object into LocalStorage and its Quay rows, linked to `repo` by an
/// `uploadedblob` row expiring at `expires_at`. Returns its digest.
async fn seed_blob(
    db: &Db,
    storage: &Path,
    repo: i32,
    data: &[u8],
    expires_at: chrono::NaiveDateTime,
) -> String {
    let hex = hex::encode(sha2::Sha256::digest(data));
    let dir = storage.join("sha256").join(&hex[..2]);
    std::fs::create_dir_all(&dir).expect("object dir");
    std::fs::write(dir.join(&hex), data).expect("object");
    let digest = format!("sha256:{hex}");
    let id: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO imagestorage (uuid, image_size, uncompressed_size, uploading, cas_path, content_checksum) \
             VALUES ($1, $2, NULL, $3, $4, $5) RETURNING id",
        )
        .bind(uuid_like(&hex))
        .bind(data.len() as i64)
        .bind(false)
        .bind(true)
        .bind(&digest)
        .fetch_one(pool)
        .await
    })
    .expect("imagestorage");
    with_pool!(db, pool => {
        sqlx::query("INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, (SELECT id FROM imagestoragelocation WHERE name = 'local_us'))")
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("placement");
    with_pool!(db, pool => {
        sqlx::query("INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) VALUES ($1, $2, $3, $3)")
            .bind(repo)
            .bind(id)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("uploadedblob");
    digest
}

fn uuid_like(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

async fn count(db: &Db, table: &str) -> i64 {
    db.count_rows(table).await.expect("count")
}

fn object_path(storage: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    storage.join("sha256").join(&hex[..2]).join(hex)
}

async fn gc_cli(db_uri: Option<&str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = valid_config(dir.path());
    if let Some(uri) = db_uri {
        yaml = yaml.replace(
            &format!("DB_URI: sqlite:///{}", dir.path().join("quay.db").display()),
            &format!("DB_URI: {uri}"),
        );
    }
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    let config_dir = dir.path().to_str().expect("utf8").to_string();
    let out = run(&["--config-dir", &config_dir, "migrate"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let uri = db_uri
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite:///{}", dir.path().join("quay.db").display()));
    let db = Db::connect(&uri, &ConnectOptions::default())
        .await
        .expect("connect");
    db.sync_storage_locations(&["local_us".to_string()])
        .await
        .expect("locations");
    let now = chrono::Utc::now().naive_utc();
    let ns: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            r#"INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email,
               invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, creation_date)
               VALUES ('u-1', 'devtable', 'd@example.com', $1, $2, $2, $2, 0, $3, 0, $1, $3) RETURNING id"#,
        )
        .bind(true)
        .bind(false)
        .bind(now)
        .fetch_one(pool)
        .await
    })
    .expect("namespace");
    let repo: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO repository (namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state) \
             VALUES ($1, 'simple', (SELECT id FROM visibility WHERE name = 'private'), NULL, 'b', \
             (SELECT id FROM repositorykind WHERE name = 'image'), $2, 0) RETURNING id",
        )
        .bind(ns)
        .bind(false)
        .fetch_one(pool)
        .await
    })
    .expect("repository");
    let storage = dir.path().join("storage");
    let expired = seed_blob(
        &db,
        &storage,
        repo,
        b"garbage bytes, 29 bytes long.",
        now - chrono::Duration::hours(2),
    )
    .await;
    let fresh = seed_blob(
        &db,
        &storage,
        repo,
        b"fresh upload",
        now + chrono::Duration::hours(1),
    )
    .await;

    let out = run(
        &["--config-dir", &config_dir, "gc", "--dry-run", "--json"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dry: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["report"],
        serde_json::json!({"repositories": 1, "tags": 0, "manifests": 0, "labels": 0,
            "uploaded_blobs": 1, "blobs": 1, "objects": 1, "bytes": 29})
    );
    assert_eq!(dry["plan"]["blobs"][0]["digest"], expired.as_str());
    assert_eq!(
        count(&db, "imagestorage").await,
        2,
        "a dry run deletes nothing"
    );
    assert_eq!(count(&db, "uploadedblob").await, 2);
    assert!(object_path(&storage, &expired).exists());

    // Human-readable dry run.
    let out = run(
        &["--config-dir", &config_dir, "gc", "--dry-run"],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains(&format!("blob {expired} 29 bytes (object)")),
        "{text}"
    );
    assert!(text.contains("total: 1 repositories, 0 tags, 0 manifests, 0 labels, 1 uploaded blob links, 1 blobs, 1 objects, 29 bytes"), "{text}");
    assert!(text.contains("dry run: nothing was deleted"), "{text}");

    let out = run(&["--config-dir", &config_dir, "gc", "--json"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let real: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(real["dry_run"], false);
    assert_eq!(
        real["report"], dry["report"],
        "the real run deletes what the dry run showed"
    );
    assert_eq!(
        real["rows"],
        serde_json::json!({"ImageStorage": 1, "ImageStoragePlacement": 1, "UploadedBlob": 1})
    );
    assert_eq!(count(&db, "imagestorage").await, 1);
    assert_eq!(count(&db, "imagestorageplacement").await, 1);
    assert_eq!(count(&db, "uploadedblob").await, 1);
    assert!(!object_path(&storage, &expired).exists());
    assert!(object_path(&storage, &fresh).exists());

    // Nothing left: the next run deletes nothing.
    let out = run(&["--config-dir", &config_dir, "gc"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("deleted: 0 repositories, 0 tags, 0 manifests, 0 labels, 0 uploaded blob links, 0 blobs, 0 objects, 0 bytes"), "{text}");

    // `worker --once` runs one worker; unknown names are refused.
    let out = run(
        &["--config-dir", &config_dir, "worker", "gc", "--once"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "gc: Ok\n");
    let out = run(&["--config-dir", &config_dir, "worker", "nope"], dir.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "unknown worker \"nope\"; workers: gc, repositorygc, namespacegc, blobuploadcleanup, storagereplication"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db.close().await;
}

#[tokio::test]
async fn gc_dry_run_then_real_run_sqlite() {
    gc_cli(None).await;
}

#[tokio::test]
async fn gc_dry_run_then_real_run_postgres() {
    let pg = quayside_testkit::TestDb::empty_postgres().await;
    gc_cli(Some(pg.uri())).await;
    pg.cleanup().await;
}

#[tokio::test]
async fn serve_runs_the_workers_unless_told_not_to() {
    use crate::harness::{free_port, Server};
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::start(&["--listen", &listen], dir.path(), port).await;
    let log = server.log_text();
    for w in [
        "gcworker",
        "repositorygcworker",
        "namespacegcworker",
        "blobuploadcleanupworker",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("starting worker") && l.contains(&format!("\"{w}\""))),
            "{w}:\n{log}"
        );
    }
    assert!(server.signal_and_wait("TERM").success());

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::start(&["--listen", &listen, "--no-workers"], dir.path(), port).await;
    assert!(
        !server.log_text().contains("starting worker"),
        "{}",
        server.log_text()
    );
    assert!(server.signal_and_wait("TERM").success());
}
