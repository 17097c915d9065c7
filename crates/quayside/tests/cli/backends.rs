//! A running quayside per database backend, for suites that must pass on both.

use std::path::PathBuf;

use crate::config_check::valid_config;
use crate::harness::{free_port, Server};

pub struct Running {
    pub server: Server,
    pub db_uri: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub pg: Option<quayside_testkit::TestDb>,
    pub label: &'static str,
    args: Vec<String>,
    /// Extra environment of every `serve` this runs.
    env: Vec<(String, String)>,
}

impl Running {
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// Stops the server gracefully and starts it again on the same data.
    pub async fn restart(mut self) -> Running {
        let status = self.server.signal_and_wait("TERM");
        assert!(status.success(), "{}: {status}", self.label);
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.server = Server::start_env(&args, self.dir.path(), self.port, &self.env).await;
        self
    }

    /// [`Running::restart`], the server's extra environment now `env`.
    pub async fn restart_with_env(mut self, env: &[(&str, &str)]) -> Running {
        self.env = owned_env(env);
        self.restart().await
    }

    /// The extra environment the server runs with.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    pub async fn stop(mut self) {
        let status = self.server.signal_and_wait("TERM");
        assert!(
            status.success(),
            "{}: {status}\n{}",
            self.label,
            self.server.log_text()
        );
        if let Some(pg) = self.pg.take() {
            pg.cleanup().await;
        }
    }
}

/// The embedded default: SQLite and local files.
pub async fn sqlite() -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let args = vec!["--listen".to_string(), format!("127.0.0.1:{port}")];
    let server = Server::start(
        &["--listen", &format!("127.0.0.1:{port}")],
        dir.path(),
        port,
    )
    .await;
    let db: PathBuf = dir.path().join("quayside-data/quayside.db");
    Running {
        server,
        db_uri: format!("sqlite:///{}", db.display()),
        port,
        dir,
        pg: None,
        label: "sqlite",
        args,
        env: Vec::new(),
    }
}

/// A Quay config directory on a fresh PostgreSQL database (and Redis).
pub async fn postgres() -> Running {
    postgres_with("").await
}

/// [`postgres`], with `extra` (top-level YAML lines) appended to the config.
pub async fn postgres_with(extra: &str) -> Running {
    postgres_via(extra, |uri| uri.to_string()).await
}

/// [`postgres_with`], the server reaching the database at `server_uri(test database URI)`
/// (for example through a proxy the test controls); `Running::db_uri` stays direct.
pub async fn postgres_via(extra: &str, server_uri: impl Fn(&str) -> String) -> Running {
    quay_config(true, |yaml| yaml + extra, server_uri, &[], &[]).await
}

/// A Quay config directory on SQLite (`postgres: false`, the database file in the
/// directory) or on a fresh PostgreSQL database, its `config.yaml` passed through `map_yaml`
/// before the server starts.
pub async fn quay_config_with(postgres: bool, map_yaml: impl Fn(String) -> String) -> Running {
    quay_config(postgres, map_yaml, |uri| uri.to_string(), &[], &[]).await
}

/// [`quay_config_with`], `serve` run with the extra environment `env` (kept across
/// restarts).
pub async fn quay_config_env(
    postgres: bool,
    map_yaml: impl Fn(String) -> String,
    env: &[(&str, &str)],
) -> Running {
    quay_config(postgres, map_yaml, |uri| uri.to_string(), &[], env).await
}

fn owned_env(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// [`quay_config_with`], `serve` also given `extra_args` (for example `--no-workers`), which
/// [`Running::restart`] passes again.
pub async fn quay_config_args(
    postgres: bool,
    map_yaml: impl Fn(String) -> String,
    extra_args: &[&str],
) -> Running {
    quay_config(postgres, map_yaml, |uri| uri.to_string(), extra_args, &[]).await
}

async fn quay_config(
    postgres: bool,
    map_yaml: impl Fn(String) -> String,
    server_uri: impl Fn(&str) -> String,
    extra_args: &[&str],
    env: &[(&str, &str)],
) -> Running {
    prepare(postgres, map_yaml, server_uri, extra_args, env)
        .await
        .start()
        .await
}

/// A Quay config directory and its database, before any `serve`: commands such as
/// `quayside migrate` can run on it first.
pub struct Prepared {
    pub dir: tempfile::TempDir,
    pub db_uri: String,
    pub port: u16,
    pub pg: Option<quayside_testkit::TestDb>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Prepared {
    /// `["--config-dir", <dir>]`, for commands run on the directory.
    pub fn config_args(&self) -> Vec<String> {
        vec![
            "--config-dir".to_string(),
            self.dir.path().to_str().expect("utf8").to_string(),
        ]
    }

    /// Starts `serve` on the directory.
    pub async fn start(self) -> Running {
        let arg_refs: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let server = Server::start_env(&arg_refs, self.dir.path(), self.port, &self.env).await;
        Running {
            server,
            db_uri: self.db_uri,
            port: self.port,
            dir: self.dir,
            label: if self.pg.is_some() {
                "postgres"
            } else {
                "sqlite"
            },
            pg: self.pg,
            args: self.args,
            env: self.env,
        }
    }
}

/// [`quay_config_with`] without starting the server.
pub async fn prepare_quay_config(postgres: bool) -> Prepared {
    prepare(postgres, |y| y, |uri| uri.to_string(), &[], &[]).await
}

async fn prepare(
    postgres: bool,
    map_yaml: impl Fn(String) -> String,
    server_uri: impl Fn(&str) -> String,
    extra_args: &[&str],
    env: &[(&str, &str)],
) -> Prepared {
    let env = owned_env(env);
    let pg = if postgres {
        Some(quayside_testkit::TestDb::empty_postgres().await)
    } else {
        None
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let sqlite_uri = format!("sqlite:///{}", dir.path().join("quay.db").display());
    let db_uri = pg
        .as_ref()
        .map_or(sqlite_uri.clone(), |pg| pg.uri().to_string());
    let yaml = valid_config(dir.path())
        .replace(
            &format!("DB_URI: {sqlite_uri}"),
            &format!("DB_URI: {}", server_uri(&db_uri)),
        )
        .replace(
            "SERVER_HOSTNAME: localhost:8080",
            &format!("SERVER_HOSTNAME: localhost:{port}"),
        );
    std::fs::write(dir.path().join("config.yaml"), map_yaml(yaml)).expect("write config");
    let mut args = vec![
        "--config-dir".to_string(),
        dir.path().to_str().expect("utf8").to_string(),
        "--listen".to_string(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(extra_args.iter().map(|a| a.to_string()));
    Prepared {
        dir,
        db_uri,
        port,
        pg,
        args,
        env,
    }
}
