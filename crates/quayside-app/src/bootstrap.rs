//! Where the configuration comes from, and the embedded default.
//!
//! - A config directory (`--config-dir`, `QUAYSIDE_CONFIG_DIR`, or
//!   `conf/stack` when it holds a `config.yaml`) is read exactly as Quay reads
//!   `/conf/stack`.
//! - Otherwise quayside runs on the embedded default: a data directory holding
//!   an SQLite database (`quayside.db`), LocalStorage blobs (`storage/`) and
//!   generated secrets (`secrets/`, mode 0600). A restart reuses all of it.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use quayside_config::{Config, ConfigError, EnvOverrides};
use serde_json::json;

/// The default `--listen` value of the embedded default.
pub const DEFAULT_LISTEN: &str = "localhost:8080";
/// The default config directory, relative to the working directory.
pub const DEFAULT_CONFIG_DIR: &str = "conf/stack";
/// The default embedded data directory.
pub const DEFAULT_DATA_DIR: &str = "quayside-data";
/// Storage location id of the embedded default (the id Quay's operator uses).
pub const EMBEDDED_STORAGE_ID: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--listen {value:?}: {problem}")]
    Listen { value: String, problem: String },
}

/// Where the running configuration came from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A Quay config directory.
    ConfigDir(PathBuf),
    /// The embedded default in this data directory.
    Embedded(PathBuf),
}

/// A resolved configuration plus where it came from.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub config: Config,
    pub source: Source,
    /// The directory whose volume health checks watch.
    pub work_dir: PathBuf,
}

/// Decides the configuration source: an explicit directory wins; otherwise
/// `conf/stack` if it holds a `config.yaml`; otherwise the embedded default.
pub fn choose_source(config_dir: Option<&Path>, data_dir: &Path) -> Source {
    match config_dir {
        Some(dir) => Source::ConfigDir(dir.to_path_buf()),
        None if Path::new(DEFAULT_CONFIG_DIR).join("config.yaml").is_file() => {
            Source::ConfigDir(PathBuf::from(DEFAULT_CONFIG_DIR))
        }
        None => Source::Embedded(data_dir.to_path_buf()),
    }
}

/// Loads the configuration from its source. For the embedded default this
/// creates the data directory and secrets on first use (and only then writes
/// anything); `server_hostname` is what `--listen` implies.
pub fn resolve(
    source: &Source,
    server_hostname: &str,
    env: &EnvOverrides,
) -> Result<Resolved, BootstrapError> {
    match source {
        Source::ConfigDir(dir) => Ok(Resolved {
            config: quayside_config::load_dir(dir, env)?,
            source: source.clone(),
            work_dir: dir.clone(),
        }),
        Source::Embedded(dir) => {
            let dir = absolute(dir)?;
            prepare_data_dir(&dir)?;
            let config = embedded_config(&dir, server_hostname)?;
            Ok(Resolved {
                config,
                source: Source::Embedded(dir.clone()),
                work_dir: dir,
            })
        }
    }
}

fn absolute(dir: &Path) -> Result<PathBuf, BootstrapError> {
    std::path::absolute(dir).map_err(|source| BootstrapError::DataDir {
        path: dir.to_path_buf(),
        source,
    })
}

fn data_err(path: &Path) -> impl FnOnce(std::io::Error) -> BootstrapError + '_ {
    move |source| BootstrapError::DataDir {
        path: path.to_path_buf(),
        source,
    }
}

fn prepare_data_dir(dir: &Path) -> Result<(), BootstrapError> {
    std::fs::create_dir_all(dir.join("storage")).map_err(data_err(dir))?;
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).map_err(data_err(&secrets))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700))
            .map_err(data_err(&secrets))?;
    }
    Ok(())
}

/// Reads a secret file, or creates it (mode 0600) with a fresh random value.
pub fn secret(path: &Path) -> Result<String, BootstrapError> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(data_err(path)(e)),
    }
    let value = hex::encode(rand::random::<[u8; 32]>());
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(data_err(path))?;
    f.write_all(value.as_bytes()).map_err(data_err(path))?;
    f.sync_all().map_err(data_err(path))?;
    Ok(value)
}

/// The embedded default as a Quay configuration.
pub fn embedded_config(dir: &Path, server_hostname: &str) -> Result<Config, BootstrapError> {
    let secret_key = secret(&dir.join("secrets").join("SECRET_KEY"))?;
    let database_secret_key = secret(&dir.join("secrets").join("DATABASE_SECRET_KEY"))?;
    let db = dir.join("quayside.db");
    let storage = dir.join("storage");
    let value = json!({
        "SETUP_COMPLETE": true,
        "SERVER_HOSTNAME": server_hostname,
        "PREFERRED_URL_SCHEME": "http",
        // SQLAlchemy form: four slashes for an absolute path.
        "DB_URI": format!("sqlite:///{}", db.display()),
        "AUTHENTICATION_TYPE": "Database",
        "DISTRIBUTED_STORAGE_CONFIG": {
            EMBEDDED_STORAGE_ID: ["LocalStorage", {"storage_path": storage.display().to_string()}]
        },
        "DISTRIBUTED_STORAGE_PREFERENCE": [EMBEDDED_STORAGE_ID],
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": [EMBEDDED_STORAGE_ID],
        "FEATURE_USER_INITIALIZE": true,
        // OCI 1.1 accepts any config and layer media type for artifacts; Quay's
        // allow-list (`ALLOWED_OCI_ARTIFACT_TYPES`) applies to Quay configurations,
        // where this key is off unless set (docs/REGISTRY.md).
        "IGNORE_UNKNOWN_MEDIATYPES": true,
        "SECRET_KEY": secret_key,
        "DATABASE_SECRET_KEY": database_secret_key,
    });
    Ok(Config::from_value(value)?)
}

/// Parses `--listen` (`host:port`, `[v6]:port` or `:port`) into the socket
/// address to bind and the `SERVER_HOSTNAME` it implies for the embedded
/// default: the given host, or `localhost` for a wildcard or loopback address.
pub fn parse_listen(value: &str) -> Result<(SocketAddr, String), BootstrapError> {
    let err = |problem: &str| BootstrapError::Listen {
        value: value.to_string(),
        problem: problem.to_string(),
    };
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| err("expected host:port, for example localhost:8080"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| err("the port must be a number from 0 to 65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match host {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        // Deterministic: "localhost" is the IPv4 loopback.
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => match h.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => (h, port)
                .to_socket_addrs()
                .map_err(|e| err(&format!("cannot resolve {h}: {e}")))?
                .next()
                .map(|a| a.ip())
                .ok_or_else(|| err(&format!("{h} resolves to no address")))?,
        },
    };
    let public_host = match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() || ip.is_loopback() => "localhost".to_string(),
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) if host.is_empty() => "localhost".to_string(),
        Err(_) => host.to_string(),
    };
    Ok((SocketAddr::new(ip, port), format!("{public_host}:{port}")))
}

/// The address to listen on for a Quay config directory: `--listen` if given,
/// else all interfaces on the port in `SERVER_HOSTNAME`, else Quay's container
/// port (8080 for http, 8443 for https).
pub fn listen_for_config(
    config: &Config,
    listen: Option<&str>,
) -> Result<SocketAddr, BootstrapError> {
    if let Some(l) = listen {
        return parse_listen(l).map(|(addr, _)| addr);
    }
    let port = config
        .server_hostname
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(
            if config.preferred_url_scheme == "https" && !config.external_tls_termination {
                8443
            } else {
                8080
            },
        );
    Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_imply_hostnames() {
        let (a, h) = parse_listen("localhost:8080").expect("parse");
        assert_eq!(a.to_string(), "127.0.0.1:8080");
        assert_eq!(h, "localhost:8080");
        let (a, h) = parse_listen("0.0.0.0:9000").expect("parse");
        assert_eq!(a.to_string(), "0.0.0.0:9000");
        assert_eq!(h, "localhost:9000");
        let (a, h) = parse_listen(":7000").expect("parse");
        assert_eq!(a.to_string(), "0.0.0.0:7000");
        assert_eq!(h, "localhost:7000");
        let (a, h) = parse_listen("[::1]:5000").expect("parse");
        assert_eq!(a.to_string(), "[::1]:5000");
        assert_eq!(h, "localhost:5000");
        let (_, h) = parse_listen("10.1.2.3:5000").expect("parse");
        assert_eq!(h, "10.1.2.3:5000");
    }

    #[test]
    fn bad_listen_values_are_named() {
        for bad in ["8080", "localhost:http", "localhost:70000"] {
            let e = parse_listen(bad).expect_err(bad).to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn secrets_are_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("S");
        let a = secret(&p).expect("create");
        let b = secret(&p).expect("reuse");
        assert_eq!(a, b, "a restart reuses the secret");
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn embedded_config_is_valid_and_uses_the_data_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = resolve(
            &Source::Embedded(dir.path().to_path_buf()),
            "localhost:8080",
            &EnvOverrides::default(),
        )
        .expect("resolve");
        let c = &r.config;
        assert!(c.feature("USER_INITIALIZE"));
        assert_eq!(c.server_hostname, "localhost:8080");
        assert!(c.db_uri.starts_with("sqlite:////"), "{}", c.db_uri);
        let failures = quayside_config::validate(c, &c.bundle);
        // The embedded default has no Redis; everything else must pass.
        let others: Vec<_> = failures
            .iter()
            .filter(|f| f.field_group != "Redis")
            .collect();
        assert!(others.is_empty(), "{others:?}");
    }
}
