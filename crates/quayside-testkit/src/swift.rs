//! A real OpenStack Swift for tests: a one-node, one-replica cluster (Debian's `swift-*`
//! servers and `memcached`), started once per test process on loopback ports, with
//! tempauth (auth v1), the middleware a production proxy runs (copy, static and dynamic
//! large objects, JSON listings, temp URLs with the account's key [`TEMP_URL_KEY`]) and one
//! fresh container per test.
//!
//! Without the servers, [`swift`] PANICS: a storage test never passes without its server.
//! `.ci/run` installs them (Debian `swift-proxy swift-account swift-container swift-object
//! memcached`). Every server runs under a shell holding a pipe from this process, so the
//! cluster stops when the test process ends.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::server::{free_port, spawn_with_lifeline};

/// tempauth's account, user and key.
pub const USER: &str = "test:tester";
pub const KEY: &str = "testing";
/// The account's `X-Account-Meta-Temp-URL-Key`: what Quay's `temp_url_key` must be for
/// direct downloads to be accepted.
pub const TEMP_URL_KEY: &str = "quayside-temp-url-key";

/// The process's Swift cluster.
pub struct Swift {
    /// `http://127.0.0.1:<port>/auth/v1.0`.
    pub auth_url: String,
    proxy_port: u16,
    cache_port: u16,
    _dir: tempfile::TempDir,
    _lifelines: Mutex<Vec<std::process::ChildStdin>>,
}

/// A fresh, empty container on [`swift`].
#[derive(Clone, Debug)]
pub struct Container {
    pub name: String,
    pub auth_url: String,
}

impl Container {
    /// Quay's `SwiftStorage` parameters for this container, objects under `storage_path`.
    pub fn swift_storage_params(&self, storage_path: &str) -> Vec<(&'static str, String)> {
        vec![
            ("auth_version", "1".to_string()),
            ("auth_url", self.auth_url.clone()),
            ("swift_user", USER.to_string()),
            ("swift_password", KEY.to_string()),
            ("swift_container", self.name.clone()),
            ("storage_path", storage_path.to_string()),
        ]
    }
}

static SWIFT: OnceLock<Result<Swift, String>> = OnceLock::new();

/// The process's Swift cluster, started on first use. Panics with the reason when it cannot
/// be started.
pub fn swift() -> &'static Swift {
    match SWIFT.get_or_init(start) {
        Ok(s) => s,
        Err(e) => panic!(
            "a real Swift cluster is needed for this test and could not be started: {e}. \
             `bash .ci/run` installs it (Debian swift-proxy swift-account swift-container \
             swift-object memcached)"
        ),
    }
}

/// A new container on the process's cluster.
pub fn container() -> Container {
    swift().container()
}

/// One HTTP/1.0 request to 127.0.0.1:`port`; the status code and the response headers.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, Vec<(String, String)>), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut req =
        format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, headers))
}

impl Swift {
    /// A token and the storage URL's path (`/v1/AUTH_test`), from tempauth.
    fn login(&self) -> Result<(String, String), String> {
        let (status, headers) = request(
            self.proxy_port,
            "GET",
            "/auth/v1.0",
            &[("X-Auth-User", USER), ("X-Auth-Key", KEY)],
        )?;
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match (status, get("x-auth-token"), get("x-storage-url")) {
            (200, Some(token), Some(url)) => {
                let path = url
                    .split_once("/v1/")
                    .map(|(_, rest)| format!("/v1/{rest}"))
                    .ok_or_else(|| format!("odd storage url {url}"))?;
                Ok((token, path))
            }
            other => Err(format!("tempauth login failed: {other:?}")),
        }
    }

    /// PUTs a container, retrying while the cluster's servers are still coming up (503).
    fn create_container(&self, name: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let created = self.login().and_then(|(token, account)| {
                request(
                    self.proxy_port,
                    "PUT",
                    &format!("{account}/{name}"),
                    &[("X-Auth-Token", &token)],
                )
            });
            match created {
                Ok((201 | 202, _)) => return self.set_temp_url_key(),
                other if Instant::now() > deadline => return Err(format!("{other:?}")),
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Sets the account's temp URL key to [`TEMP_URL_KEY`] (idempotent).
    fn set_temp_url_key(&self) -> Result<(), String> {
        let (token, account) = self.login()?;
        match request(
            self.proxy_port,
            "POST",
            &account,
            &[
                ("X-Auth-Token", &token),
                ("X-Account-Meta-Temp-URL-Key", TEMP_URL_KEY),
            ],
        )? {
            (204, _) => Ok(()),
            other => Err(format!("setting the account's temp URL key: {other:?}")),
        }
    }

    /// Forgets every token tempauth issued (they live in memcached), as if they had expired:
    /// the next request with an old token answers 401.
    pub fn expire_tokens(&self) {
        let (token, account) = self.login().expect("login");
        let flushed = TcpStream::connect(("127.0.0.1", self.cache_port)).and_then(|mut s| {
            s.write_all(b"flush_all\r\n")?;
            let mut buf = [0u8; 16];
            let n = s.read(&mut buf)?;
            Ok(buf[..n].starts_with(b"OK"))
        });
        assert!(
            matches!(flushed, Ok(true)),
            "memcached flush_all: {flushed:?}"
        );
        let after = request(
            self.proxy_port,
            "GET",
            &account,
            &[("X-Auth-Token", &token)],
        );
        assert!(
            matches!(after, Ok((401, _))),
            "an old token still works: {after:?}"
        );
    }

    /// Creates a uniquely named container.
    pub fn container(&self) -> Container {
        let name = format!("qs{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = self.create_container(&name) {
            panic!("creating Swift container {name}: {e}");
        }
        Container {
            name,
            auth_url: self.auth_url.clone(),
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn ring(etc: &Path, kind: &str, port: u16) -> Result<(), String> {
    let builder = etc.join(format!("{kind}.builder"));
    let b = builder.to_string_lossy().to_string();
    let dev = format!("r1z1-127.0.0.1:{port}/d1");
    for args in [
        vec![b.as_str(), "create", "6", "1", "1"],
        vec![b.as_str(), "add", dev.as_str(), "100"],
        vec![b.as_str(), "rebalance"],
    ] {
        let out = Command::new("swift-ring-builder")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running swift-ring-builder: {e}"))?;
        // rebalance exits 1 with a warning on a one-device ring; the ring is written.
        if !out.status.success() && args[1] != "rebalance" {
            return Err(format!(
                "swift-ring-builder {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    if !etc.join(format!("{kind}.ring.gz")).is_file() {
        return Err(format!("swift-ring-builder wrote no {kind} ring"));
    }
    Ok(())
}

fn start() -> Result<Swift, String> {
    for bin in ["swift-proxy-server", "swift-ring-builder", "memcached"] {
        if Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {bin}"))
            .stdout(Stdio::null())
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            return Err(format!("{bin} is not installed"));
        }
    }
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let etc = dir.path().join("etc");
    let srv = dir.path().join("srv");
    std::fs::create_dir_all(srv.join("d1")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&run_dir).map_err(|e| e.to_string())?;
    let (proxy, account, container, object, cache) = (
        free_port()?,
        free_port()?,
        free_port()?,
        free_port()?,
        free_port()?,
    );
    let etc_s = etc.display().to_string();
    let srv_s = srv.display().to_string();
    write(
        &etc.join("swift.conf"),
        "[swift-hash]\nswift_hash_path_suffix = quayside\nswift_hash_path_prefix = quayside\n\
         [storage-policy:0]\nname = gold\ndefault = yes\n",
    )?;
    let common = |port: u16| {
        format!(
            "[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 0\nuser = root\n\
             swift_dir = {etc_s}\ndevices = {srv_s}\nmount_check = false\nlog_level = WARNING\n"
        )
    };
    for (kind, port) in [
        ("account", account),
        ("container", container),
        ("object", object),
    ] {
        write(
            &etc.join(format!("{kind}-server.conf")),
            &format!(
                "{}[pipeline:main]\npipeline = {kind}-server\n[app:{kind}-server]\nuse = egg:swift#{kind}\n",
                common(port)
            ),
        )?;
        ring(&etc, kind, port)?;
    }
    write(
        &etc.join("proxy-server.conf"),
        &format!(
            "{}[pipeline:main]\npipeline = catch_errors gatekeeper cache listing_formats tempurl \
             tempauth copy slo dlo proxy-server\n\
             [app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\
             [filter:gatekeeper]\nuse = egg:swift#gatekeeper\n\
             [filter:listing_formats]\nuse = egg:swift#listing_formats\n\
             [filter:copy]\nuse = egg:swift#copy\n\
             [filter:slo]\nuse = egg:swift#slo\n\
             [filter:dlo]\nuse = egg:swift#dlo\n\
             [filter:tempurl]\nuse = egg:swift#tempurl\nallowed_digests = sha1 sha256 sha512\n\
             [filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = {KEY} .admin\n\
             token_life = 86400\n\
             [filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{cache}\n\
             [filter:catch_errors]\nuse = egg:swift#catch_errors\n",
            common(proxy)
        ),
    )?;
    // SWIFT_DIR and the /etc/swift default: point every server at this directory.
    let envs: &[(&str, &str)] = &[("SWIFT_DIR", &etc_s)];
    let mut lifelines = Vec::new();
    lifelines.push(spawn_with_lifeline(
        "memcached -u root -l 127.0.0.1 -p \"$0\"",
        &[std::ffi::OsStr::new(&cache.to_string())],
        dir.path(),
        &dir.path().join("memcached.log"),
        envs,
    )?);
    for kind in ["account", "container", "object", "proxy"] {
        let conf = etc.join(format!("{kind}-server.conf"));
        lifelines.push(spawn_with_lifeline(
            &format!("swift-{kind}-server \"$0\""),
            &[conf.as_os_str()],
            dir.path(),
            &dir.path().join(format!("{kind}.log")),
            envs,
        )?);
    }
    let swift = Swift {
        auth_url: format!("http://127.0.0.1:{proxy}/auth/v1.0"),
        proxy_port: proxy,
        cache_port: cache,
        _dir: dir,
        _lifelines: Mutex::new(lifelines),
    };
    // Up when tempauth logs in and a container can be created (every server answers).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = swift.login().and_then(|(token, account)| {
            request(
                proxy,
                "PUT",
                &format!("{account}/ready"),
                &[("X-Auth-Token", &token)],
            )
        });
        match ready {
            Ok((200..=299, _)) => break,
            other if Instant::now() > deadline => {
                let logs: String = ["proxy", "account", "container", "object", "memcached"]
                    .iter()
                    .map(|k| {
                        let p = swift._dir.path().join(format!("{k}.log"));
                        format!(
                            "--- {k}: {}",
                            std::fs::read_to_string(p).unwrap_or_default()
                        )
                    })
                    .collect();
                return Err(format!("Swift never became ready: {other:?}\n{logs}"));
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    Ok(swift)
}

/// An in-process stand-in for Keystone's token API (v2 `POST /v2.0/tokens`, v3
/// `POST /v3/auth/tokens`) in front of [`swift`]: Keystone is in Debian but needs its own
/// database, keys and WSGI server, so this speaks only the token exchange. It checks the
/// credentials and scope the request carries (user `tester`, password [`KEY`], project
/// `test`, user domain `Default` on v3), logs in to tempauth, and answers with that real token
/// and a catalog whose object-store endpoint is the real storage URL (in region `RegionOne`,
/// next to a decoy endpoint in another region and an internal one).
pub async fn keystone() -> String {
    use axum::routing::post;
    use axum::Json;
    let port = swift().proxy_port;
    let session = move || -> Result<(String, String), String> {
        let swift = swift();
        let (token, account) = swift.login()?;
        Ok((token, format!("http://127.0.0.1:{port}{account}")))
    };
    let v3 = move |Json(body): Json<serde_json::Value>| async move {
        let user = &body["auth"]["identity"]["password"]["user"];
        let scope = &body["auth"]["scope"]["project"];
        let ok = user["name"] == "tester"
            && user["password"] == KEY
            && user["domain"]["name"] == "Default"
            && scope["name"] == "test";
        match (ok, session()) {
            (true, Ok((token, url))) => {
                let catalog = serde_json::json!({"token": {"catalog": [
                    {"type": "identity", "endpoints": [{"interface": "public", "region": "RegionOne", "url": "http://127.0.0.1:1/v3"}]},
                    {"type": "object-store", "endpoints": [
                        {"interface": "public", "region": "RegionTwo", "url": "http://127.0.0.1:1/v1/AUTH_decoy"},
                        {"interface": "internal", "region": "RegionOne", "url": "http://127.0.0.1:1/v1/AUTH_internal"},
                        {"interface": "public", "region": "RegionOne", "url": url}
                    ]}
                ]}});
                let mut resp = axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::CREATED,
                    Json(catalog),
                ));
                if let Ok(v) = axum::http::HeaderValue::from_str(&token) {
                    resp.headers_mut().insert("X-Subject-Token", v);
                }
                resp
            }
            _ => axum::response::IntoResponse::into_response(axum::http::StatusCode::UNAUTHORIZED),
        }
    };
    let v2 = move |Json(body): Json<serde_json::Value>| async move {
        let creds = &body["auth"]["passwordCredentials"];
        let ok = creds["username"] == "tester"
            && creds["password"] == KEY
            && body["auth"]["tenantName"] == "test";
        match (ok, session()) {
            (true, Ok((token, url))) => axum::response::IntoResponse::into_response(Json(
                serde_json::json!({"access": {"token": {"id": token}, "serviceCatalog": [
                    {"type": "object-store", "endpoints": [
                        {"region": "RegionTwo", "publicURL": "http://127.0.0.1:1/v1/AUTH_decoy"},
                        {"region": "RegionOne", "publicURL": url}
                    ]}
                ]}}),
            )),
            _ => axum::response::IntoResponse::into_response(axum::http::StatusCode::UNAUTHORIZED),
        }
    };
    let app = axum::Router::new()
        .route("/v3/auth/tokens", post(v3))
        .route("/v2.0/tokens", post(v2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("binding the Keystone stand-in: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("the Keystone stand-in's address: {e}"))
        .port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://127.0.0.1:{port}")
}
