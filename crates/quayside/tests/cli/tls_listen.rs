//! HTTPS from the config directory's ssl.cert/ssl.key, the certificate checks,
//! FEATURE_LISTEN_IP_VERSION listeners, and `keys generate`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::config_check::valid_config;
use crate::harness::{bin, free_port, run};

/// A throw-away certificate authority and leaf certificates it signs.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "quayside test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA cert"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// (chain PEM: leaf then CA, private key PEM) for these SANs.
    fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().expect("leaf key");
        let params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("leaf params");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        (format!("{}{}", cert.pem(), self.pem()), key.serialize_pem())
    }
}

/// A Quay config directory serving `https` as `localhost:<port>` with the given files.
fn https_config(dir: &Path, port: u16, cert: &str, key: &str) {
    let yaml = valid_config(dir)
        .replace(
            "SERVER_HOSTNAME: localhost:8080",
            &format!("SERVER_HOSTNAME: localhost:{port}"),
        )
        .replace("PREFERRED_URL_SCHEME: http", "PREFERRED_URL_SCHEME: https");
    assert!(yaml.contains("PREFERRED_URL_SCHEME: https"), "{yaml}");
    std::fs::write(dir.join("config.yaml"), yaml).expect("write config");
    std::fs::write(dir.join("ssl.cert"), cert).expect("write ssl.cert");
    std::fs::write(dir.join("ssl.key"), key).expect("write ssl.key");
}

fn http_config(dir: &Path, port: u16, extra: &str) {
    let yaml = valid_config(dir).replace(
        "SERVER_HOSTNAME: localhost:8080",
        &format!("SERVER_HOSTNAME: localhost:{port}"),
    );
    std::fs::write(dir.join("config.yaml"), format!("{yaml}{extra}")).expect("write config");
}

/// A running `quayside serve` that is killed on drop.
struct Serving {
    child: Option<Child>,
    log: PathBuf,
}

impl Serving {
    fn spawn(dir: &Path, extra: &[&str]) -> Serving {
        let log = dir.join("serve.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin())
            .env("QUAYSIDE_METRICS_LISTEN", "127.0.0.1:0")
            .arg("serve")
            .arg("--config-dir")
            .arg(dir)
            .args(extra)
            .current_dir(dir)
            .env_remove("QUAYSIDE_CONFIG_DIR")
            .env_remove("QUAYSIDE_DATA_DIR")
            .env_remove("QUAYSIDE_LISTEN")
            .env_remove("QUAY_OVERRIDE_CONFIG")
            .env_remove("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawn quayside serve");
        Serving {
            child: Some(child),
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `url` answers 200 through `client`.
    async fn wait_ready(&mut self, client: &reqwest::Client, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("quayside exited early with {status}:\n{}", self.log_text());
            }
            let last = match client.get(url).send().await {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => format!("status {}", r.status()),
                Err(e) => format!("{e:?}"),
            };
            if Instant::now() > deadline {
                panic!("{url} did not answer ({last}):\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("quayside did not stop after SIGTERM:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit by itself (it must refuse to start).
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("quayside kept running:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn config_check(dir: &Path) -> (bool, String, String) {
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

/// This machine must have IPv6 loopback; a test that needs it fails (never skips)
/// without it.
fn require_ipv6_loopback() {
    let table = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_else(|e| {
        panic!("this test needs IPv6, but /proc/net/if_inet6 cannot be read ({e}): enable IPv6")
    });
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("00000000000000000000000000000001")),
        "this test needs the IPv6 loopback address ::1, which this machine does not have:\n{table}"
    );
}

#[tokio::test]
async fn https_serves_with_the_config_dir_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost"]);
    let port = free_port();
    https_config(dir.path(), port, &chain, &key);

    let (ok, stdout, stderr) = config_check(dir.path());
    assert!(ok, "config check passes:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Configuration is valid."), "{stdout}");

    let mut server = Serving::spawn(dir.path(), &["--listen", &format!("127.0.0.1:{port}")]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA"))
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let base = format!("https://localhost:{port}");
    server
        .wait_ready(&client, &format!("{base}/_internal_ping"))
        .await;

    let resp = client
        .get(format!("{base}/health/instance"))
        .send()
        .await
        .expect("GET /health/instance over TLS");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status_code"], 200, "{body}\n{}", server.log_text());
    assert_eq!(
        body["data"]["services"]["registry_gunicorn"], true,
        "{body}"
    );

    // The port speaks TLS only, and a client that does not trust the CA is refused.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/_internal_ping"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP must not be served on the HTTPS port"
    );
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .resolve("localhost", addr)
        .build()
        .expect("client")
        .get(format!("{base}/_internal_ping"))
        .send()
        .await;
    assert!(
        untrusting.is_err(),
        "a client without the CA must fail the handshake"
    );

    let status = server.stop();
    assert!(status.success(), "{status}\n{}", server.log_text());
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["other.example.com"]);
    let port = free_port();
    https_config(dir.path(), port, &chain, &key);

    let (ok, _, stderr) = config_check(dir.path());
    assert!(!ok, "config check must fail:\n{stderr}");
    for needle in [
        "HostSettings",
        "ssl.cert",
        "SERVER_HOSTNAME localhost",
        "other.example.com",
    ] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }

    let mut server = Serving::spawn(dir.path(), &["--listen", &format!("127.0.0.1:{port}")]);
    let status = server.wait_exit();
    assert!(!status.success(), "serve must refuse to start");
    let log = server.log_text();
    assert!(
        log.contains("other.example.com") && log.contains("will not start"),
        "{log}"
    );
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (chain, _) = ca.leaf(&["localhost"]);
    let other_key = KeyPair::generate().expect("key").serialize_pem();
    https_config(dir.path(), free_port(), &chain, &other_key);

    let (ok, _, stderr) = config_check(dir.path());
    assert!(!ok, "config check must fail:\n{stderr}");
    assert!(stderr.contains("HostSettings"), "{stderr}");
    assert!(
        stderr.contains("ssl.key") && stderr.contains("does not match the certificate"),
        "{stderr}"
    );

    // Unparsable PEM is named too.
    std::fs::write(dir.path().join("ssl.cert"), "not a certificate\n").expect("write");
    let (ok, _, stderr) = config_check(dir.path());
    assert!(!ok);
    assert!(
        stderr.contains("ssl.cert") && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
}

#[tokio::test]
async fn ipv6_setting_listens_on_ipv6_only() {
    require_ipv6_loopback();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    http_config(dir.path(), port, "FEATURE_LISTEN_IP_VERSION: IPv6\n");
    let mut server = Serving::spawn(dir.path(), &[]);
    let client = reqwest::Client::new();
    server
        .wait_ready(&client, &format!("http://[::1]:{port}/_internal_ping"))
        .await;
    let resp = client
        .get(format!("http://[::1]:{port}/health/instance"))
        .send()
        .await
        .expect("GET over IPv6");
    assert_eq!(resp.status(), 200, "{}", server.log_text());
    let v4 = client
        .get(format!("http://127.0.0.1:{port}/_internal_ping"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(v4.is_err(), "IPv6 means no IPv4 listener: {v4:?}");
    assert!(server.stop().success(), "{}", server.log_text());

    // --listen [::1]:port binds exactly that.
    let port = free_port();
    let mut server = Serving::spawn(dir.path(), &["--listen", &format!("[::1]:{port}")]);
    server
        .wait_ready(&client, &format!("http://[::1]:{port}/_internal_ping"))
        .await;
    assert!(server.stop().success(), "{}", server.log_text());
}

#[tokio::test]
async fn dual_stack_answers_on_ipv4_and_ipv6() {
    require_ipv6_loopback();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    http_config(dir.path(), port, "FEATURE_LISTEN_IP_VERSION: Dual-Stack\n");
    let mut server = Serving::spawn(dir.path(), &[]);
    let client = reqwest::Client::new();
    server
        .wait_ready(&client, &format!("http://127.0.0.1:{port}/_internal_ping"))
        .await;
    for host in ["127.0.0.1", "[::1]"] {
        let resp = client
            .get(format!("http://{host}:{port}/health/instance"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET over {host}: {e}\n{}", server.log_text()));
        assert_eq!(resp.status(), 200, "{host}");
    }
    assert!(server.stop().success(), "{}", server.log_text());
}

#[tokio::test]
async fn an_occupied_ipv6_port_names_address_and_setting() {
    require_ipv6_loopback();
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("[::]:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    http_config(dir.path(), port, "FEATURE_LISTEN_IP_VERSION: ipv6\n");
    let mut server = Serving::spawn(dir.path(), &[]);
    assert!(!server.wait_exit().success());
    let log = server.log_text();
    assert!(
        log.contains(&format!("[::]:{port}")) && log.contains("FEATURE_LISTEN_IP_VERSION: IPv6"),
        "{log}"
    );
    drop(taken);
}

#[tokio::test]
async fn keys_generate_writes_a_key_a_read_only_registry_signs_with() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&["keys", "generate", "quay-readonly"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Writing public key to quay-readonly.jwk\n\
         Writing key ID to quay-readonly.kid\n\
         Writing private key to quay-readonly.pem\n"
    );
    let file = |ext: &str| dir.path().join(format!("quay-readonly.{ext}"));
    let kid = std::fs::read_to_string(file("kid")).expect("kid");
    let jwk_text = std::fs::read_to_string(file("jwk")).expect("jwk");
    let jwk: serde_json::Value = serde_json::from_str(&jwk_text).expect("jwk json");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["kid"], kid.as_str());
    assert_eq!(
        quayside_auth::jwk_thumbprint(jwk["e"].as_str().expect("e"), jwk["n"].as_str().expect("n")),
        kid,
        "the kid is the RFC 7638 thumbprint"
    );
    let pem = std::fs::read_to_string(file("pem")).expect("pem");
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "PKCS#1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file("pem"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // --dir, and no silent overwrite.
    let sub = dir.path().join("keys");
    std::fs::create_dir(&sub).expect("mkdir");
    let out = run(
        &[
            "keys",
            "generate",
            "svc",
            "--dir",
            sub.to_str().expect("utf8"),
        ],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(sub.join("svc.jwk").is_file() && sub.join("svc.kid").is_file());
    let again = run(&["keys", "generate", "quay-readonly"], dir.path());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(file("kid")).expect("kid"),
        kid,
        "the existing key is kept"
    );

    // The documented read-only procedure: insert the key and its approval, then boot
    // read-only with INSTANCE_SERVICE_KEY_* pointing at the files.
    for backend in quayside_testkit::backends() {
        let tdb = quayside_testkit::TestDb::new(backend).await;
        let db = tdb.db();
        let now = chrono::Utc::now().naive_utc();
        quayside_meta::with_pool!(db, pool => {
            sqlx::query(
                "INSERT INTO servicekey (name, service, metadata, kid, jwk, created_date, expiration_date) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind("quay-readonly")
            .bind("quay")
            .bind("{}")
            .bind(&kid)
            .bind(&jwk_text)
            .bind(now)
            .bind(now + chrono::Duration::days(365))
            .execute(pool)
            .await
            .expect("insert servicekey");
            sqlx::query(
                "INSERT INTO servicekeyapproval (approval_type, approved_date, notes) VALUES ($1, $2, $3)",
            )
            .bind("ServiceKeyApprovalType.SUPERUSER")
            .bind(now)
            .bind("read-only key")
            .execute(pool)
            .await
            .expect("insert approval");
            sqlx::query(
                "UPDATE servicekey SET approval_id = (SELECT id FROM servicekeyapproval \
                 WHERE approval_type = 'ServiceKeyApprovalType.SUPERUSER') WHERE name = 'quay-readonly'",
            )
            .execute(pool)
            .await
            .expect("approve");
        });
        // A user to sign in as, made while the registry is still writable.
        let writable_keys = tempfile::tempdir().expect("tempdir");
        let writable = quayside_auth::Auth::start(
            db.clone(),
            quayside_auth::AuthSettings {
                kid_path: writable_keys.path().join("quay.kid"),
                pem_path: writable_keys.path().join("quay.pem"),
                bcrypt_cost: 4,
                ..quayside_auth::AuthSettings::default()
            },
        )
        .await
        .expect("writable auth");
        writable
            .create_user("reader", "reader-password", "reader@example.com")
            .await
            .expect("user");
        let settings = quayside_auth::AuthSettings {
            server_hostname: "localhost:5000".into(),
            read_only: true,
            kid_path: file("kid"),
            pem_path: file("pem"),
            bcrypt_cost: 4,
            ..quayside_auth::AuthSettings::default()
        };
        let auth = quayside_auth::Auth::start(db.clone(), settings)
            .await
            .expect("read-only boot with the generated key");
        assert_eq!(auth.instance_kid(), kid, "{backend}");
        let reader = auth
            .verify_basic("reader", "reader-password")
            .await
            .expect("login");
        let token = auth
            .issue_registry_token(&reader, Some("localhost:5000"), &[])
            .await
            .expect("token");
        let grant = auth
            .verify_registry_token(&token)
            .await
            .expect("verifies from the servicekey row");
        assert_eq!(grant.subject, "reader", "{backend}");
        tdb.cleanup().await;
    }
}
