//! A real S3 server for tests: [Garage](https://garagehq.deuxfleurs.fr/), started once per
//! test process on loopback ports, with one fresh bucket per test.
//!
//! The binary is `$QUAYSIDE_GARAGE`, else `garage` on `PATH`, else the copy `.ci/run` builds
//! into [`CACHED_GARAGE`]. Without one, [`garage`] PANICS: a storage test never passes
//! without its server.
//!
//! The server runs under a small shell that holds a pipe from this process: when the test
//! process ends, however it ends, the pipe closes and the shell stops Garage.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::server::{find_program, free_port, spawn_with_lifeline};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Environment variable naming the Garage binary.
pub const GARAGE_ENV: &str = "QUAYSIDE_GARAGE";
/// Where `.ci/run` installs Garage (`cargo install garage --root …`).
pub const CACHED_GARAGE: &str = "/var/cache/quayside-tools/garage/bin/garage";
/// The S3 region the test server answers for.
pub const REGION: &str = "us-east-1";
/// The access key every test bucket grants read, write and owner rights to.
pub const ACCESS_KEY: &str = "GK0123456789abcdef01234567";
/// Its secret.
pub const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The running server.
pub struct Garage {
    bin: PathBuf,
    config: PathBuf,
    /// `http://127.0.0.1:<port>`, the S3 API.
    pub endpoint: String,
    /// The S3 API port.
    pub port: u16,
    _dir: tempfile::TempDir,
    /// Closing this (process exit) stops the server.
    _lifeline: Mutex<std::process::ChildStdin>,
}

/// A fresh, empty bucket on [`garage`].
#[derive(Clone, Debug)]
pub struct Bucket {
    pub name: String,
    pub endpoint: String,
    pub port: u16,
}

impl Bucket {
    /// Quay's `S3Storage` parameters for this bucket, objects under `storage_path`.
    pub fn s3_storage_params(&self, storage_path: &str) -> Vec<(&'static str, String)> {
        vec![
            ("storage_path", storage_path.to_string()),
            ("s3_bucket", self.name.clone()),
            ("s3_access_key", ACCESS_KEY.to_string()),
            ("s3_secret_key", SECRET_KEY.to_string()),
            ("s3_region", REGION.to_string()),
            ("endpoint_url", self.endpoint.clone()),
        ]
    }
}

static GARAGE: OnceLock<Result<Garage, String>> = OnceLock::new();

/// The process's Garage server, started on first use. Panics with the reason when it
/// cannot be started.
pub fn garage() -> &'static Garage {
    match GARAGE.get_or_init(start) {
        Ok(g) => g,
        Err(e) => panic!(
            "a real S3 server (Garage) is needed for this test and could not be started: {e}. \
             `bash .ci/run` installs it; or `cargo install garage --locked --root \
             /var/cache/quayside-tools/garage`, or set {GARAGE_ENV}"
        ),
    }
}

/// A new bucket on the process's server.
pub fn bucket() -> Bucket {
    garage().bucket()
}

impl Garage {
    /// Creates a uniquely named bucket that [`ACCESS_KEY`] may read, write and own.
    pub fn bucket(&self) -> Bucket {
        let name = format!("qs{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = self.cli(&["bucket", "create", &name]).and_then(|_| {
            self.cli(&[
                "bucket", "allow", "--read", "--write", "--owner", &name, "--key", "quayside",
            ])
        }) {
            panic!("creating bucket {name} on Garage: {e}");
        }
        Bucket {
            name,
            endpoint: self.endpoint.clone(),
            port: self.port,
        }
    }

    fn cli(&self, args: &[&str]) -> Result<String, String> {
        run(&self.bin, &self.config, args)
    }
}

fn run(bin: &Path, config: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {} {args:?}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "garage {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn start() -> Result<Garage, String> {
    let bin = find_program(GARAGE_ENV, "garage", CACHED_GARAGE)?;
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let (rpc, s3, admin) = (free_port()?, free_port()?, free_port()?);
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let root = dir.path().display().to_string();
    let config = dir.path().join("garage.toml");
    std::fs::write(
        &config,
        format!(
            "metadata_dir = \"{root}/meta\"\n\
             data_dir = \"{root}/data\"\n\
             db_engine = \"lmdb\"\n\
             replication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_secret = \"{secret}\"\n\
             [s3_api]\n\
             s3_region = \"{REGION}\"\n\
             api_bind_addr = \"127.0.0.1:{s3}\"\n\
             root_domain = \".s3.garage.localhost\"\n\
             [admin]\n\
             api_bind_addr = \"127.0.0.1:{admin}\"\n"
        ),
    )
    .map_err(|e| format!("writing {}: {e}", config.display()))?;
    let lifeline = spawn_with_lifeline(
        "\"$0\" -c \"$1\" server",
        &[bin.as_os_str(), config.as_os_str()],
        dir.path(),
        &dir.path().join("garage.log"),
        &[("RUST_LOG", "warn")],
    )?;

    // `status` needs the server's RPC, so it answers only once the server is up.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match run(&bin, &config, &["status"]) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let node = run(&bin, &config, &["node", "id", "-q"])?
        .trim()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let short: String = node.chars().take(16).collect();
    run(
        &bin,
        &config,
        &["layout", "assign", "-z", "dc1", "-c", "1G", &short],
    )?;
    run(&bin, &config, &["layout", "apply", "--version", "1"])?;
    run(
        &bin,
        &config,
        &[
            "key", "import", "--yes", "-n", "quayside", ACCESS_KEY, SECRET_KEY,
        ],
    )?;
    // The S3 API answers once the layout is live.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", s3)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("Garage's S3 API never listened on port {s3}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut lifeline = lifeline;
    // Nothing is ever written; a failed flush only means the shell is gone already.
    let _ = lifeline.flush();
    Ok(Garage {
        bin,
        config,
        endpoint: format!("http://127.0.0.1:{s3}"),
        port: s3,
        _dir: dir,
        _lifeline: Mutex::new(lifeline),
    })
}
