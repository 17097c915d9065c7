//! The embedded default: no setup, SQLite + local files, restart keeps data.

use crate::harness::{free_port, run, Server};

fn services(body: &serde_json::Value) -> Vec<(String, bool)> {
    body["data"]["services"]
        .as_object()
        .expect("data.services object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bool().expect("service value is a bool")))
        .collect()
}

#[tokio::test]
async fn embedded_default_serves_health_and_survives_restart() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::start(&["--listen", &listen], cwd.path(), port).await;

    let (status, body) = server.get_json("/health/instance").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status_code"], 200);
    assert_eq!(
        services(&body),
        vec![
            ("auth".to_string(), true),
            ("database".to_string(), true),
            ("disk_space".to_string(), true),
            ("registry_gunicorn".to_string(), true),
            ("service_key".to_string(), true),
            ("web_gunicorn".to_string(), true),
        ]
    );
    // The service_key entry is a real check: an expired instance key fails it.
    let db_uri = format!(
        "sqlite:///{}",
        cwd.path().join("quayside-data/quayside.db").display()
    );
    let db = quayside_meta::Db::connect(&db_uri, &quayside_meta::ConnectOptions::default())
        .await
        .expect("connect");
    let kid =
        std::fs::read_to_string(cwd.path().join("quayside-data/secrets/quay.kid")).expect("kid");
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    let real_expiry = db
        .service_key(kid.trim())
        .await
        .expect("row")
        .expect("key")
        .expiration_date;
    assert_eq!(
        db.set_service_key_expiration(kid.trim(), Some(past))
            .await
            .expect("expire"),
        1
    );
    let (status, body) = server.get_json("/health/instance").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status_code"], 503);
    assert_eq!(body["data"]["services"]["service_key"], false, "{body}");
    db.set_service_key_expiration(kid.trim(), real_expiry)
        .await
        .expect("restore");
    let (status, _) = server.get_json("/health/instance").await;
    assert_eq!(status, 200);
    db.close().await;

    let (status, body) = server.get_json("/health/endtoend").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        services(&body),
        vec![
            ("auth".to_string(), true),
            ("database".to_string(), true),
            ("storage".to_string(), true),
        ],
        "no Redis is configured on the embedded default"
    );
    let (status, body) = server.get_json("/_internal_ping").await;
    assert_eq!((status, body), (200, serde_json::json!(true)));

    // The data directory holds the database, the storage probe and secrets.
    let data = cwd.path().join("quayside-data");
    assert!(data.join("quayside.db").is_file());
    assert_eq!(
        std::fs::read(data.join("storage/_verify")).expect("probe"),
        b"testing 123"
    );
    let secret_before =
        std::fs::read_to_string(data.join("secrets/DATABASE_SECRET_KEY")).expect("secret");
    #[cfg(unix)]
    for name in ["SECRET_KEY", "DATABASE_SECRET_KEY"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secrets").join(name))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} must be private");
    }
    let log = server.log_text();
    assert!(
        log.contains("/api/v1/user/initialize"),
        "first-user hint logged:\n{log}"
    );
    assert!(
        log.contains(&format!("http://127.0.0.1:{port}")) || log.contains("localhost"),
        "{log}"
    );

    let status = server.signal_and_wait("TERM");
    assert!(
        status.success(),
        "SIGTERM exits cleanly: {status}\n{}",
        server.log_text()
    );

    // A restart reuses the database, secrets and storage.
    let port2 = free_port();
    let mut server = Server::start(
        &["--listen", &format!("127.0.0.1:{port2}")],
        cwd.path(),
        port2,
    )
    .await;
    let (status, _) = server.get_json("/health/endtoend").await;
    assert_eq!(status, 200);
    let secret_after =
        std::fs::read_to_string(data.join("secrets/DATABASE_SECRET_KEY")).expect("secret");
    assert_eq!(secret_before, secret_after, "secrets survive a restart");
    let log = server.log_text();
    assert!(
        log.contains("already"),
        "second start does not recreate the schema:\n{log}"
    );
    let status = server.signal_and_wait("INT");
    assert!(status.success(), "SIGINT exits cleanly: {status}");

    // migrate on the same data directory is a no-op.
    let out = run(&["migrate"], cwd.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("already at revision 9fa37f66a9b6"));
}

#[tokio::test]
async fn no_migrate_refuses_an_empty_database() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["serve", "--no-migrate", "--listen", "127.0.0.1:0"],
        cwd.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--no-migrate") && err.contains("quayside migrate"),
        "{err}"
    );
}

#[test]
fn version_names_the_schema_revision() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let out = run(&["version"], cwd.path());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("quayside ") && text.contains("9fa37f66a9b6"),
        "{text}"
    );
    assert!(
        text.contains("quay release 3.18 (upgrades databases of Quay 3.17"),
        "{text}"
    );
}

#[test]
fn bad_listen_address_is_named() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let out = run(&["serve", "--listen", "localhost:http"], cwd.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("localhost:http"), "{err}");
}
