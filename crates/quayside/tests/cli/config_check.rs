//! `quayside config check` and the refusals of `serve` on bad configuration.

use std::path::Path;

use crate::harness::run;

/// A config directory whose config passes every check (SQLite, local storage,
/// the machine's Redis).
pub fn valid_config(dir: &Path) -> String {
    format!(
        r#"SETUP_COMPLETE: true
SERVER_HOSTNAME: localhost:8080
PREFERRED_URL_SCHEME: http
DB_URI: sqlite:///{db}
AUTHENTICATION_TYPE: Database
SECRET_KEY: a-secret
DATABASE_SECRET_KEY: another-secret
BUILDLOGS_REDIS:
  host: 127.0.0.1
  port: 6379
USER_EVENTS_REDIS:
  host: 127.0.0.1
  port: 6379
DISTRIBUTED_STORAGE_CONFIG:
  local_us:
    - LocalStorage
    - storage_path: {storage}
DISTRIBUTED_STORAGE_PREFERENCE:
  - local_us
DEFAULT_TAG_EXPIRATION: 2w
TAG_EXPIRATION_OPTIONS: [0s, 1d, 1w, 2w, 4w]
INSTANCE_SERVICE_KEY_KID_LOCATION: {keys}/quay.kid
INSTANCE_SERVICE_KEY_LOCATION: {keys}/quay.pem
SOME_KEY_QUAYSIDE_DOES_NOT_KNOW: ignored
"#,
        db = dir.join("quay.db").display(),
        storage = dir.join("storage").display(),
        keys = dir.display()
    )
}

fn check(dir: &Path, yaml: &str) -> (bool, String, String) {
    std::fs::write(dir.join("config.yaml"), yaml).expect("write config");
    let out = run(
        &[
            "config",
            "check",
            "--config-dir",
            dir.to_str().expect("utf8"),
        ],
        dir,
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn nothing_written(dir: &Path) {
    assert!(
        !dir.join("quay.db").exists(),
        "config check must not create the database"
    );
    assert!(
        !dir.join("storage").exists(),
        "config check must not create storage"
    );
}

#[test]
fn a_valid_config_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out, err) = check(dir.path(), &valid_config(dir.path()));
    assert!(ok, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("Configuration is valid."), "{out}");
    nothing_written(dir.path());
}

#[test]
fn three_independent_errors_are_all_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = valid_config(dir.path())
        .replace(
            "SERVER_HOSTNAME: localhost:8080",
            "SERVER_HOSTNAME: quay_host!",
        )
        .replace("- LocalStorage", "- FloppyStorage")
        .replace("DEFAULT_TAG_EXPIRATION: 2w", "DEFAULT_TAG_EXPIRATION: 3w");
    let (ok, _, err) = check(dir.path(), &yaml);
    assert!(!ok, "three errors must fail the check");
    for (group, text) in [
        ("HostSettings", "SERVER_HOSTNAME"),
        (
            "DistributedStorage",
            "FloppyStorage is not a valid storage type.",
        ),
        (
            "TimeMachine",
            "The default tag expiration period must be included in the allowed expiration periods.",
        ),
    ] {
        assert!(
            err.contains(group) && err.contains(text),
            "missing {group}: {text}\n{err}"
        );
    }
    assert!(err.contains("3 configuration problems found."), "{err}");
    nothing_written(dir.path());
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, _, err) = check(dir.path(), "SERVER_HOSTNAME: [unclosed\nDB_URI: x\n");
    assert!(!ok);
    assert!(err.contains("config.yaml") && err.contains("line"), "{err}");
    nothing_written(dir.path());
}

#[test]
fn a_wrong_type_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = valid_config(dir.path()).replace(
        "SETUP_COMPLETE: true",
        "SETUP_COMPLETE: true\nV2_PAGINATION_SIZE: lots",
    );
    let (ok, _, err) = check(dir.path(), &yaml);
    assert!(!ok);
    assert!(
        err.contains("V2_PAGINATION_SIZE") && err.contains("incorrect type"),
        "{err}"
    );
    nothing_written(dir.path());
}

#[test]
fn a_missing_required_key_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml: String = valid_config(dir.path())
        .lines()
        .filter(|l| !l.starts_with("DB_URI"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (ok, _, err) = check(dir.path(), &yaml);
    assert!(!ok);
    assert!(err.contains("DB_URI is required"), "{err}");
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = valid_config(dir.path()).replace(
        &format!("DB_URI: sqlite:///{}", dir.path().join("quay.db").display()),
        "DB_URI: postgresql://quay:s3cretpw@127.0.0.1:1/quay",
    );
    let (ok, _, err) = check(dir.path(), &yaml);
    assert!(!ok);
    assert!(
        err.contains("Could not connect to database") && err.contains("127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("s3cretpw"), "password leaked: {err}");
}

#[test]
fn an_unreachable_redis_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = valid_config(dir.path()).replacen("port: 6379", "port: 1", 1);
    let (ok, _, err) = check(dir.path(), &yaml);
    assert!(!ok);
    assert!(
        err.contains("Could not connect to Redis with values provided in BUILDLOGS_REDIS"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_bad_config_with_the_same_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = valid_config(dir.path()).replace("- LocalStorage", "- FloppyStorage");
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("write");
    let out = run(
        &[
            "serve",
            "--config-dir",
            dir.path().to_str().expect("utf8"),
            "--listen",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FloppyStorage is not a valid storage type."),
        "{err}"
    );
    assert!(err.contains("will not start"), "{err}");
    nothing_written(dir.path());
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &[
            "config",
            "check",
            "--config-dir",
            dir.path().to_str().expect("utf8"),
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.yaml"), "{err}");
}

/// The storage block of [`valid_config`] replaced by `block`.
fn with_storage(dir: &Path, block: &str) -> String {
    let yaml = valid_config(dir);
    let start = yaml.find("DISTRIBUTED_STORAGE_CONFIG:").expect("storage");
    let end = yaml.find("DEFAULT_TAG_EXPIRATION:").expect("end");
    format!("{}{block}{}", &yaml[..start], &yaml[end..])
}

fn s3_block(bucket: &quayside_testkit::garage::Bucket, name: &str) -> String {
    let mut block = String::from("DISTRIBUTED_STORAGE_CONFIG:\n  s3_us:\n    - S3Storage\n");
    for (i, (k, v)) in bucket.s3_storage_params("/registry").iter().enumerate() {
        let v = if *k == "s3_bucket" {
            name.to_string()
        } else {
            v.clone()
        };
        let lead = if i == 0 { "    - " } else { "      " };
        block.push_str(&format!("{lead}{k}: {v}\n"));
    }
    block.push_str("DISTRIBUTED_STORAGE_PREFERENCE:\n  - s3_us\n");
    block
}

/// As config-tool does, `config check` asks a real S3 server (Garage) whether each bucket
/// exists, writing nothing: an existing bucket passes, a missing one is Quay's message, an
/// unreachable server is named.
#[test]
fn object_store_buckets_are_probed_live() {
    let bucket = quayside_testkit::garage::bucket();
    let dir = tempfile::tempdir().expect("tempdir");

    let (ok, out, err) = check(
        dir.path(),
        &with_storage(dir.path(), &s3_block(&bucket, &bucket.name)),
    );
    assert!(ok, "stdout: {out}\nstderr: {err}");

    let (ok, out, err) = check(
        dir.path(),
        &with_storage(dir.path(), &s3_block(&bucket, "no-such-bucket-here")),
    );
    assert!(!ok, "a missing bucket fails: {out}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("Could not find bucket (no-such-bucket-here) in storage (s3_us)"),
        "{all}"
    );

    let gone = quayside_testkit::garage::Bucket {
        endpoint: "http://127.0.0.1:9".into(),
        port: 9,
        ..bucket.clone()
    };
    let (ok, out, err) = check(
        dir.path(),
        &with_storage(dir.path(), &s3_block(&gone, &gone.name)),
    );
    assert!(!ok, "an unreachable server fails: {out}");
    let all = format!("{out}{err}");
    assert!(all.contains("Could not connect to storage s3_us"), "{all}");
    nothing_written(dir.path());
}
