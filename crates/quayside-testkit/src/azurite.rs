//! A real Azure Blob server for tests: [Azurite](https://github.com/Azure/Azurite), the
//! emulator Microsoft ships, started once per test process on a loopback port, with one
//! fresh container per test.
//!
//! The launcher is `$QUAYSIDE_AZURITE` (an `azurite-blob` script), else `azurite-blob` on
//! `PATH`, else the copy `.ci/run` installs with npm under [`CACHED_AZURITE`]. Without one,
//! [`azurite`] PANICS: a storage test never passes without its server.
//!
//! Like the Garage harness, the server runs under a shell holding a pipe from this process,
//! so it stops when the test process ends, however it ends.

use std::io::{Read as _, Write as _};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::server::{find_program, free_port, spawn_with_lifeline};

/// Environment variable naming the `azurite-blob` launcher.
pub const AZURITE_ENV: &str = "QUAYSIDE_AZURITE";
/// Where `.ci/run` installs Azurite (`npm install --prefix …`).
pub const CACHED_AZURITE: &str = "/var/cache/quayside-tools/azurite/node_modules/.bin/azurite-blob";
/// The emulator's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Its well-known key (public: it is in Microsoft's documentation of the emulator).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The REST API version the harness speaks when it creates containers.
const API_VERSION: &str = "2021-08-06";

/// The running server.
pub struct Azurite {
    /// `http://127.0.0.1:<port>/devstoreaccount1`, the account's blob endpoint.
    pub endpoint: String,
    pub port: u16,
    _dir: tempfile::TempDir,
    _lifeline: Mutex<std::process::ChildStdin>,
}

/// A fresh, empty container on [`azurite`].
#[derive(Clone, Debug)]
pub struct Container {
    pub name: String,
    pub endpoint: String,
}

impl Container {
    /// Quay's `AzureStorage` parameters for this container, objects under `storage_path`.
    pub fn azure_storage_params(&self, storage_path: &str) -> Vec<(&'static str, String)> {
        vec![
            ("storage_path", storage_path.to_string()),
            ("azure_container", self.name.clone()),
            ("azure_account_name", ACCOUNT.to_string()),
            ("azure_account_key", ACCOUNT_KEY.to_string()),
            ("endpoint_url", self.endpoint.clone()),
        ]
    }
}

static AZURITE: OnceLock<Result<Azurite, String>> = OnceLock::new();

/// The process's Azurite server, started on first use. Panics with the reason when it
/// cannot be started.
pub fn azurite() -> &'static Azurite {
    match AZURITE.get_or_init(start) {
        Ok(a) => a,
        Err(e) => panic!(
            "a real Azure Blob server (Azurite) is needed for this test and could not be \
             started: {e}. `bash .ci/run` installs it; or `npm install --prefix \
             /var/cache/quayside-tools/azurite azurite@3`, or set {AZURITE_ENV}"
        ),
    }
}

/// A new container on the process's server.
pub fn container() -> Container {
    azurite().container()
}

impl Azurite {
    /// Creates a uniquely named container (Create Container, signed with the account key).
    pub fn container(&self) -> Container {
        let name = format!("qs{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = create_container(self.port, &name) {
            panic!("creating container {name} on Azurite: {e}");
        }
        Container {
            name,
            endpoint: self.endpoint.clone(),
        }
    }
}

/// `PUT /<account>/<name>?restype=container` with a SharedKey signature.
fn create_container(port: u16, name: &str) -> Result<(), String> {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    // VERB, eleven standard headers (all empty: no body), canonical x-ms headers, resource.
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{API_VERSION}\n\
         /{ACCOUNT}/{ACCOUNT}/{name}\nrestype:container"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(ACCOUNT_KEY)
        .map_err(|e| format!("account key: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let request = format!(
        "PUT /{ACCOUNT}/{name}?restype=container HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\n\
         x-ms-date: {date}\r\n\
         x-ms-version: {API_VERSION}\r\n\
         Authorization: SharedKey {ACCOUNT}:{signature}\r\n\
         Content-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connecting: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    conn.write_all(request.as_bytes())
        .map_err(|e| format!("sending: {e}"))?;
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    match answer.lines().next() {
        Some(status) if status.contains(" 201 ") => Ok(()),
        _ => Err(format!("Create Container answered: {answer}")),
    }
}

fn start() -> Result<Azurite, String> {
    let bin = find_program(AZURITE_ENV, "azurite-blob", CACHED_AZURITE)?;
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let port = free_port()?;
    let port_arg = port.to_string();
    let data = dir.path().join("data");
    // `--skipApiVersionCheck`: OpenDAL may speak a newer REST version than this Azurite
    // knows; the operations it uses are the same.
    let lifeline = spawn_with_lifeline(
        "\"$0\" --blobHost 127.0.0.1 --blobPort \"$1\" --location \"$2\" --silent \
         --skipApiVersionCheck --disableTelemetry",
        &[bin.as_os_str(), port_arg.as_ref(), data.as_os_str()],
        dir.path(),
        &dir.path().join("azurite.log"),
        &[],
    )?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("azurite.log")).unwrap_or_default();
            return Err(format!("Azurite never listened on port {port}: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Azurite {
        endpoint: format!("http://127.0.0.1:{port}/{ACCOUNT}"),
        port,
        _dir: dir,
        _lifeline: Mutex::new(lifeline),
    })
}
