//! CNCF distribution (Debian's `docker-registry`) as a real peer registry: an upstream for
//! mirroring and proxy-cache tests. Each [`Distribution`] is its own server (filesystem
//! storage in a temporary directory, plain HTTP on loopback, optionally `htpasswd` auth)
//! that the test can stop to play an upstream outage; it is killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::server::find_program;

/// One running distribution server.
pub struct Distribution {
    child: Option<Child>,
    pub port: u16,
    /// `htpasswd` credentials, when auth is on.
    pub credentials: Option<(String, String)>,
    dir: tempfile::TempDir,
}

impl Distribution {
    /// Starts a server; with `credentials`, every request needs them (Basic).
    pub async fn start(credentials: Option<(&str, &str)>) -> Result<Distribution, String> {
        let bin = find_program(
            "QUAYSIDE_TEST_DISTRIBUTION",
            "docker-registry",
            "/usr/bin/docker-registry",
        )?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = crate::free_port()?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let auth = match credentials {
            Some((user, password)) => {
                let hash = bcrypt::hash(password, 5).map_err(|e| e.to_string())?;
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, format!("{user}:{hash}\n")).map_err(|e| e.to_string())?;
                format!(
                    "auth:\n  htpasswd:\n    realm: quayside-test\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
                 delete:\n    enabled: true\n{auth}http:\n  addr: 127.0.0.1:{port}\n  secret: quayside-test\n",
                data.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("server.log")).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .env_remove("AWS_CA_BUNDLE")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting docker-registry: {e}"))?;
        let d = Distribution {
            child: Some(child),
            port,
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            dir,
        };
        let url = format!("http://127.0.0.1:{port}/v2/");
        for _ in 0..200 {
            if let Ok(r) = reqwest::get(&url).await {
                if r.status().is_success() || r.status() == 401 {
                    return Ok(d);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("docker-registry did not start; log:\n{}", d.log()))
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Where its data lives.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server (the upstream goes down).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        self.stop();
    }
}
