//! The two servers under test: started on free loopback ports with fresh data
//! directories, waited for, measured through `/proc`, and stopped at the end
//! (also when the harness fails or is interrupted: [`ServerProc`] stops its
//! process on drop).

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A free loopback port (bound and released).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind a loopback port")?;
    Ok(listener.local_addr().context("local address")?.port())
}

/// Finds `name` on the PATH (or takes it as a path when it has a slash).
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.canonicalize().ok().filter(|p| p.is_file());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Removes the environment that would steer quayside away from the command line the harness
/// gives it (a config dir, data dir, listeners, overrides or storage preference of the shell).
fn clear_quayside_env(cmd: &mut Command) {
    for var in [
        "QUAYSIDE_CONFIG_DIR",
        "QUAYSIDE_DATA_DIR",
        "QUAYSIDE_LISTEN",
        "QUAYSIDE_METRICS_LISTEN",
        "QUAY_OVERRIDE_CONFIG",
        "QUAY_DISTRIBUTED_STORAGE_PREFERENCE",
    ] {
        cmd.env_remove(var);
    }
}

/// One running server process.
pub struct ServerProc {
    pub name: &'static str,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl ServerProc {
    /// `quayside serve` on the embedded default (SQLite + local files) in
    /// `dir/data`, metrics off.
    pub fn start_quayside(bin: &Path, dir: &Path) -> Result<ServerProc> {
        let port = free_port()?;
        let data = dir.join("data");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--metrics-listen")
            .arg("off");
        clear_quayside_env(&mut cmd);
        ServerProc::spawn("quayside", cmd, dir, port)
    }

    /// `quayside serve --config-dir`: a Quay config directory in `dir/config` with SQLite
    /// (`dir/quay.db`), the machine's Redis and the `DISTRIBUTED_STORAGE_CONFIG` block
    /// `storage_yaml`; metrics off. Returns the server and its database URI.
    pub fn start_quayside_config_dir(
        bin: &Path,
        dir: &Path,
        storage_yaml: &str,
    ) -> Result<(ServerProc, String)> {
        let port = free_port()?;
        let config_dir = dir.join("config");
        std::fs::create_dir_all(&config_dir).context("quayside config directory")?;
        let db_uri = format!("sqlite:///{}", dir.join("quay.db").display());
        let yaml = format!(
            "SETUP_COMPLETE: true\nSERVER_HOSTNAME: localhost:{port}\nPREFERRED_URL_SCHEME: http\n\
             DB_URI: {db_uri}\nAUTHENTICATION_TYPE: Database\n\
             SECRET_KEY: quayside-bench-secret\nDATABASE_SECRET_KEY: quayside-bench-db-secret\n\
             BUILDLOGS_REDIS:\n  host: 127.0.0.1\n  port: 6379\n\
             USER_EVENTS_REDIS:\n  host: 127.0.0.1\n  port: 6379\n{storage_yaml}"
        );
        std::fs::write(config_dir.join("config.yaml"), yaml).context("write quayside config")?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--config-dir")
            .arg(&config_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--metrics-listen")
            .arg("off");
        clear_quayside_env(&mut cmd);
        Ok((ServerProc::spawn("quayside", cmd, dir, port)?, db_uri))
    }

    /// CNCF distribution (`docker-registry serve config.yml`) with filesystem
    /// storage under `dir/data` and no auth.
    pub fn start_distribution(bin: &Path, dir: &Path) -> Result<ServerProc> {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).context("distribution data directory")?;
        let storage = format!("  filesystem:\n    rootdirectory: {}\n", data.display());
        ServerProc::start_distribution_with(bin, dir, &storage)
    }

    /// CNCF distribution with the storage driver block `storage` (lines under `storage:`,
    /// indented two spaces) and no auth.
    pub fn start_distribution_with(bin: &Path, dir: &Path, storage: &str) -> Result<ServerProc> {
        let port = free_port()?;
        let config = dir.join("config.yml");
        let yaml = format!(
            "version: 0.1\n\
             log:\n  level: info\n\
             storage:\n{storage}  \
             cache:\n    blobdescriptor: inmemory\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: quayside-bench-not-secret\n"
        );
        std::fs::write(&config, yaml).context("write distribution config.yml")?;
        let mut cmd = Command::new(bin);
        // distribution 2.8's AWS SDK cannot apply a custom CA bundle to its transport and
        // panics at start when AWS_CA_BUNDLE is set; the S3 server is plain HTTP on loopback.
        cmd.arg("serve").arg(&config).env_remove("AWS_CA_BUNDLE");
        ServerProc::spawn("distribution", cmd, dir, port)
    }

    fn spawn(name: &'static str, mut cmd: Command, dir: &Path, port: u16) -> Result<ServerProc> {
        let log = dir.join("server.log");
        let log_file = File::create(&log).context("server log file")?;
        let child = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("server log file")?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("start {name} ({:?})", cmd.get_program()))?;
        Ok(ServerProc {
            name,
            port,
            child: Some(child),
            log,
        })
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `GET path` answers `expect` (60 s at most).
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        path: &str,
        expect: u16,
    ) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}{path}", self.base());
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("poll server")? {
                    bail!(
                        "{} exited early with {status}:\n{}",
                        self.name,
                        self.log_tail()
                    );
                }
            }
            if let Ok(r) = http.get(&url).send().await {
                if r.status().as_u16() == expect {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer GET {path} with {expect} within 60 s:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> Result<u32> {
        self.child
            .as_ref()
            .map(Child::id)
            .with_context(|| format!("{} is not running", self.name))
    }

    /// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in MiB.
    pub fn memory_mib(&self, field: &str) -> Result<f64> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("read /proc/{pid}/status of {}", self.name))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
        Ok(kib as f64 / 1024.0)
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM, then up to 20 s for a graceful exit, then SIGKILL. Returns
    /// whether the process exited by itself.
    pub fn stop(&mut self) -> Result<bool> {
        let Some(mut child) = self.child.take() else {
            return Ok(true);
        };
        if child.try_wait().context("poll server")?.is_some() {
            return Ok(true);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().context("wait for server")?.is_some() {
                return Ok(true);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
