//! Starts the real `quayside` binary and talks to it over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_quayside")
}

/// A loopback port for a server the test starts next (outside the ephemeral range, unique
/// in this process: see [`quayside_testkit::free_port`]).
pub fn free_port() -> u16 {
    quayside_testkit::free_port().expect("free port")
}

/// Runs a quayside command to completion.
pub fn run(args: &[&str], cwd: &Path) -> Output {
    run_env(args, cwd, &[])
}

/// [`run`] with extra environment variables.
pub fn run_env(args: &[&str], cwd: &Path, env: &[(String, String)]) -> Output {
    Command::new(bin())
        .env("QUAYSIDE_METRICS_LISTEN", "127.0.0.1:0")
        .args(args)
        .current_dir(cwd)
        .env_remove("QUAYSIDE_CONFIG_DIR")
        .env_remove("QUAYSIDE_DATA_DIR")
        .env_remove("QUAY_OVERRIDE_CONFIG")
        .env_remove("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run quayside")
}

pub struct Server {
    child: Option<Child>,
    pub base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `quayside serve` with extra args, in `cwd`, and waits until
    /// `/_internal_ping` answers.
    pub async fn start(args: &[&str], cwd: &Path, port: u16) -> Server {
        Server::start_env(args, cwd, port, &[]).await
    }

    /// [`Server::start`] with extra environment variables.
    pub async fn start_env(
        args: &[&str],
        cwd: &Path,
        port: u16,
        env: &[(String, String)],
    ) -> Server {
        let log = cwd.join(format!("serve-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin())
            .env("QUAYSIDE_METRICS_LISTEN", "127.0.0.1:0")
            .arg("serve")
            .args(args)
            .current_dir(cwd)
            .env_remove("QUAYSIDE_CONFIG_DIR")
            .env_remove("QUAYSIDE_DATA_DIR")
            .env_remove("QUAY_OVERRIDE_CONFIG")
            .env_remove("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawn quayside serve");
        let mut server = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("quayside exited early with {status}:\n{}", self.log_text());
            }
            if let Ok(r) = client
                .get(format!("{}/_internal_ping", self.base))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!("quayside did not become ready:\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("running")
    }

    /// Sends a signal by name (HUP, TERM, INT) without waiting.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{sig} failed");
    }

    /// Sends a signal by name (TERM, INT) and waits for the exit status.
    pub fn signal_and_wait(&mut self, sig: &str) -> ExitStatus {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{sig} failed");
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("quayside did not stop after SIG{sig}:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("GET");
        let status = r.status().as_u16();
        let body = r.json().await.expect("JSON body");
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
