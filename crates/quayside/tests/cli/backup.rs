//! `quayside backup` while the registry serves, `quayside restore` into a new, empty
//! database and storage, then skopeo pulls every test image from the restored registry
//! byte-identical; a restore into a non-empty target is refused, and a backup missing a blob
//! fails verification naming it. Both backends (PostgreSQL through pg_dump and psql).

use std::path::Path;

use crate::backends::{self, prepare_quay_config};
use crate::fixtures;
use crate::harness::run_env;
use crate::skopeo::{self, Client};

const IMAGES: &[(&str, &str, &str, bool)] = &[
    ("debian-bookworm", "bookworm", "debian", false),
    ("multiarch", "latest", "multiarch", true),
    ("artifact", "v1", "artifacts", false),
    ("artifact", "base", "artifacts", false),
    ("artifact", "sbom", "artifacts", false),
    ("helm-chart", "0.1.0", "charts", false),
];

fn quayside(config_dir: &Path, args: &[&str]) -> (bool, String, String) {
    quayside_env(config_dir, args, &[])
}

fn quayside_env(
    config_dir: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> (bool, String, String) {
    let mut all = vec!["--config-dir", config_dir.to_str().expect("utf8")];
    all.extend_from_slice(args);
    let out = run_env(&all, config_dir, env);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn suite(postgres: bool) {
    let source = backends::quay_config_with(postgres, |y| y).await;
    let label = source.label;
    fixtures::create_user(
        &source.db_uri,
        "alice",
        "correct-horse-battery",
        "a@example.com",
    )
    .await;
    let c = Client::new(&source, "alice", "correct-horse-battery");
    for (layout, tag, repo, all) in IMAGES {
        skopeo::round_trip(&c, layout, tag, repo, *all);
    }

    // Online: the source keeps serving while the backup is taken.
    let work = tempfile::tempdir().expect("tempdir");
    let backup = work.path().join("backup");
    let b = backup.to_str().expect("utf8");
    let (ok, out, err) = quayside(
        source.dir.path(),
        &["backup", "--to", b, "--with-blobs", "--verify-blobs"],
    );
    assert!(ok, "[{label}] backup: {out}{err}");
    assert!(out.contains("blob(s)"), "{out}");
    let info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(backup.join("quayside-backup.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(info["alembic_revision"], quayside_meta::ALEMBIC_REVISION);
    assert!(info["blobs"].as_u64().unwrap_or(0) > 5, "{info}");
    assert!(backup.join("config/config.yaml").is_file());
    assert!(backup
        .join(if postgres {
            "database.sql"
        } else {
            "database.sqlite"
        })
        .is_file());
    // Into a non-empty directory: refused.
    let (ok, _, err) = quayside(source.dir.path(), &["backup", "--to", b]);
    assert!(!ok && err.contains("not empty"), "{err}");
    source.stop().await;

    // Restore into a new configuration with an empty database and empty storage.
    let target = prepare_quay_config(postgres).await;
    let (ok, out, err) = quayside(
        target.dir.path(),
        &["restore", "--from", b, "--verify-blobs"],
    );
    assert!(ok, "[{label}] restore: {out}{err}");
    assert!(out.contains("all present"), "{out}");
    // A second restore into it is refused: it is no longer empty.
    let (ok, _, err) = quayside(target.dir.path(), &["restore", "--from", b]);
    assert!(!ok && err.contains("not empty"), "[{label}] {err}");

    let restored = target.start().await;
    let c = Client::new(&restored, "alice", "correct-horse-battery");
    for (layout, tag, repo, all) in IMAGES {
        skopeo::pulls_identical(&c, layout, tag, repo, *all);
    }
    restored.stop().await;

    // Storage that already holds a blob, next to an empty database: refused, and the
    // database stays empty.
    let target = prepare_quay_config(postgres).await;
    let stray = target.dir.path().join("storage/sha256/ab/abcd");
    std::fs::create_dir_all(stray.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stray, b"left over").expect("stray blob");
    let (ok, _, err) = quayside(target.dir.path(), &["restore", "--from", b]);
    assert!(
        !ok && err.contains("already holds blobs"),
        "[{label}] {err}"
    );
    let db = quayside_meta::Db::connect(&target.db_uri, &quayside_meta::ConnectOptions::default())
        .await
        .expect("connect");
    assert_eq!(
        db.schema_state().await.expect("state"),
        quayside_meta::SchemaState::Empty,
        "[{label}] a refused restore wrote the database"
    );
    db.close().await;
    if let Some(pg) = target.pg {
        pg.cleanup().await;
    }
    // A configuration on the other database backend: refused, naming both.
    let other = prepare_quay_config(!postgres).await;
    let (ok, _, err) = quayside(other.dir.path(), &["restore", "--from", b]);
    let want = if postgres {
        "holds a postgres database"
    } else {
        "holds a sqlite database"
    };
    assert!(!ok && err.contains(want), "[{label}] {err}");
    if let Some(pg) = other.pg {
        pg.cleanup().await;
    }

    // A backup that lost a blob: the restore says which one is missing.
    let blobs = backup.join("blobs");
    let victim = find_file(&blobs).expect("a blob file");
    let digest = format!(
        "sha256:{}",
        victim
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    );
    std::fs::remove_file(&victim).expect("remove blob");
    let target = prepare_quay_config(postgres).await;
    let (ok, out, err) = quayside(target.dir.path(), &["restore", "--from", b]);
    assert!(
        !ok,
        "[{label}] restore of a damaged backup must fail: {out}"
    );
    assert!(err.contains(&digest) && err.contains("missing"), "{err}");
    if let Some(pg) = target.pg {
        pg.cleanup().await;
    }
}

fn find_file(dir: &Path) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let p = entry.ok()?.path();
        if p.is_file() {
            return Some(p);
        }
        if let Some(f) = find_file(&p) {
            return Some(f);
        }
    }
    None
}

#[tokio::test]
async fn backup_restore_round_trip_sqlite() {
    suite(false).await;
}

#[tokio::test]
async fn backup_restore_round_trip_postgres() {
    suite(true).await;
}

/// The same round trip through an S3 bucket (Garage): `--to s3://bucket/prefix`, the
/// credentials and endpoint from the standard AWS variables.
#[tokio::test]
async fn backup_restore_through_s3() {
    use quayside_testkit::garage;
    let bucket = garage::bucket();
    let env = vec![
        (
            "AWS_ACCESS_KEY_ID".to_string(),
            garage::ACCESS_KEY.to_string(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_string(),
            garage::SECRET_KEY.to_string(),
        ),
        ("AWS_REGION".to_string(), garage::REGION.to_string()),
        ("AWS_ENDPOINT_URL".to_string(), bucket.endpoint.clone()),
    ];
    let url = format!("s3://{}/backups/nightly", bucket.name);
    let source = backends::quay_config_with(false, |y| y).await;
    fixtures::create_user(
        &source.db_uri,
        "bob",
        "correct-horse-battery",
        "b@example.com",
    )
    .await;
    let c = Client::new(&source, "bob", "correct-horse-battery");
    skopeo::round_trip(&c, "multiarch", "latest", "multiarch", true);
    let (ok, out, err) = quayside_env(
        source.dir.path(),
        &["backup", "--to", &url, "--with-blobs"],
        &env,
    );
    assert!(ok, "backup to S3: {out}{err}");
    // The prefix now holds a backup: a second one there is refused.
    let (ok, _, err) = quayside_env(source.dir.path(), &["backup", "--to", &url], &env);
    assert!(!ok && err.contains("not empty"), "{err}");
    // Without credentials the command says which variables it needs.
    let (ok, _, err) = quayside(source.dir.path(), &["backup", "--to", &format!("{url}-2")]);
    assert!(!ok && err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    source.stop().await;

    let target = prepare_quay_config(false).await;
    let (ok, out, err) = quayside_env(
        target.dir.path(),
        &["restore", "--from", &url, "--verify-blobs"],
        &env,
    );
    assert!(ok, "restore from S3: {out}{err}");
    let restored = target.start().await;
    let c = Client::new(&restored, "bob", "correct-horse-battery");
    skopeo::pulls_identical(&c, "multiarch", "latest", "multiarch", true);
    restored.stop().await;
}
