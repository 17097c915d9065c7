//! Serving from a Quay config directory, on both database backends, with Redis.

use crate::config_check::valid_config;
use crate::harness::{free_port, run, Server};

async fn serve_and_check(dir: &std::path::Path, expect_backend_rows: bool) {
    let port = free_port();
    let mut server = Server::start(
        &[
            "--config-dir",
            dir.to_str().expect("utf8"),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        dir,
        port,
    )
    .await;
    let (status, body) = server.get_json("/health/endtoend").await;
    assert_eq!(status, 200, "{body}\n{}", server.log_text());
    let services = &body["data"]["services"];
    for name in ["database", "redis", "storage", "auth"] {
        assert_eq!(services[name], true, "{name} healthy: {body}");
    }
    let (status, body) = server.get_json("/health/instance").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status_code"], 200);
    assert!(
        dir.join("quay.kid").is_file() && dir.join("quay.pem").is_file(),
        "the instance service key is written where INSTANCE_SERVICE_KEY_*_LOCATION say"
    );
    assert!(
        dir.join("storage/_verify").is_file(),
        "the storage probe is written in the configured LocalStorage path"
    );
    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "{status}");
    if expect_backend_rows {
        // `migrate` afterwards finds the schema current.
        let out = run(
            &["migrate", "--config-dir", dir.to_str().expect("utf8")],
            dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("already at revision"));
    }
}

#[tokio::test]
async fn serves_a_quay_config_on_sqlite_with_redis() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.yaml"), valid_config(dir.path())).expect("write");
    serve_and_check(dir.path(), true).await;
    assert!(dir.path().join("quay.db").is_file());
}

#[tokio::test]
async fn serves_a_quay_config_on_postgres_with_redis() {
    let db = quayside_testkit::TestDb::empty_postgres().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = valid_config(dir.path()).replace(
        &format!("DB_URI: sqlite:///{}", dir.path().join("quay.db").display()),
        &format!("DB_URI: {}", db.uri()),
    );
    assert!(yaml.contains("postgres"), "{yaml}");
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("write");
    serve_and_check(dir.path(), true).await;
    db.cleanup().await;
}

#[tokio::test]
async fn quay_override_config_is_merged_on_top() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.yaml"), valid_config(dir.path())).expect("write");
    let out = std::process::Command::new(crate::harness::bin())
        .args([
            "config",
            "check",
            "--config-dir",
            dir.path().to_str().expect("utf8"),
        ])
        .env(
            "QUAY_OVERRIDE_CONFIG",
            r#"{"DISTRIBUTED_STORAGE_PREFERENCE": ["nowhere"]}"#,
        )
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nowhere"),
        "the override reached validation: {err}"
    );

    let out = std::process::Command::new(crate::harness::bin())
        .args([
            "config",
            "check",
            "--config-dir",
            dir.path().to_str().expect("utf8"),
        ])
        .env("QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "elsewhere")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("elsewhere"),
        "the env preference reached validation: {err}"
    );
}
