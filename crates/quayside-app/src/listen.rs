//! Which sockets to listen on: `--listen`, or `FEATURE_LISTEN_IP_VERSION` (`IPv4`,
//! `IPv6` or `dual-stack`, compared case-insensitively) on the port `bootstrap`
//! chooses (`SERVER_HOSTNAME`'s port, else Quay's 8080/8443).
//!
//! - `IPv4`: `0.0.0.0`.
//! - `IPv6`: `[::]` with `IPV6_V6ONLY`, so no IPv4 is accepted.
//! - `dual-stack`: `0.0.0.0` and `[::]` (v6-only), two sockets on one port.
//!
//! A host that cannot listen that way (no IPv6, port in use) fails with the address
//! and the setting in the message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use quayside_config::{Config, ListenIpVersion};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use crate::bootstrap::{self, BootstrapError};

/// One socket to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindSpec {
    pub addr: SocketAddr,
    /// For IPv6 sockets: accept IPv6 only (`IPV6_V6ONLY`).
    pub v6_only: bool,
    /// Why this address (for messages): the setting that chose it.
    pub reason: BindReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindReason {
    /// `--listen` / `QUAYSIDE_LISTEN`.
    Explicit,
    /// `FEATURE_LISTEN_IP_VERSION` with this value.
    Setting(ListenIpVersion),
}

impl std::fmt::Display for BindReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindReason::Explicit => f.write_str("--listen"),
            BindReason::Setting(v) => write!(f, "FEATURE_LISTEN_IP_VERSION: {}", version_name(*v)),
        }
    }
}

fn version_name(v: ListenIpVersion) -> &'static str {
    match v {
        ListenIpVersion::IPv4 => "IPv4",
        ListenIpVersion::IPv6 => "IPv6",
        ListenIpVersion::DualStack => "dual-stack",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error("FEATURE_LISTEN_IP_VERSION {0:?} must be one of IPv4, IPv6, dual-stack")]
    BadSetting(String),
    #[error("cannot listen on {addr} ({reason}): {source}{hint}")]
    Bind {
        addr: SocketAddr,
        reason: BindReason,
        #[source]
        source: std::io::Error,
        hint: &'static str,
    },
}

/// An explicit address binds as given; an unspecified IPv6 address (`[::]`) is v6-only
/// unless the setting is `dual-stack`.
pub fn explicit(addr: SocketAddr, setting: Option<ListenIpVersion>) -> BindSpec {
    BindSpec {
        addr,
        v6_only: setting != Some(ListenIpVersion::DualStack),
        reason: BindReason::Explicit,
    }
}

/// The sockets for a Quay config directory: `--listen` if given, else what
/// `FEATURE_LISTEN_IP_VERSION` says on the default port.
pub fn for_config(config: &Config, listen: Option<&str>) -> Result<Vec<BindSpec>, ListenError> {
    let setting = config.listen_ip();
    if listen.is_some() {
        let addr = bootstrap::listen_for_config(config, listen)?;
        return Ok(vec![explicit(addr, setting)]);
    }
    let version =
        setting.ok_or_else(|| ListenError::BadSetting(config.listen_ip_version.clone()))?;
    let port = bootstrap::listen_for_config(config, None)?.port();
    Ok(by_version(version, port))
}

/// The wildcard sockets for a setting and port.
pub fn by_version(version: ListenIpVersion, port: u16) -> Vec<BindSpec> {
    let v4 = BindSpec {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        v6_only: false,
        reason: BindReason::Setting(version),
    };
    let v6 = BindSpec {
        addr: SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        v6_only: true,
        reason: BindReason::Setting(version),
    };
    match version {
        ListenIpVersion::IPv4 => vec![v4],
        ListenIpVersion::IPv6 => vec![v6],
        ListenIpVersion::DualStack => vec![v4, v6],
    }
}

/// Binds one socket (SO_REUSEADDR like tokio's bind; IPV6_V6ONLY as asked).
pub fn bind_one(spec: &BindSpec) -> Result<TcpListener, ListenError> {
    let fail = |source: std::io::Error| {
        // EAFNOSUPPORT (97 on Linux) or EADDRNOTAVAIL on an IPv6 address: no IPv6 here.
        let no_v6 = spec.addr.is_ipv6()
            && (source.kind() == std::io::ErrorKind::AddrNotAvailable
                || (cfg!(target_os = "linux") && source.raw_os_error() == Some(97)));
        let hint = if no_v6 {
            " (this host does not support IPv6; set FEATURE_LISTEN_IP_VERSION to IPv4 or enable IPv6)"
        } else if source.kind() == std::io::ErrorKind::AddrInUse {
            " (another process is using this port)"
        } else {
            ""
        };
        ListenError::Bind {
            addr: spec.addr,
            reason: spec.reason,
            source,
            hint,
        }
    };
    let domain = Domain::for_address(spec.addr);
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    if spec.addr.is_ipv6() {
        socket.set_only_v6(spec.v6_only).map_err(fail)?;
    }
    #[cfg(unix)]
    socket.set_reuse_address(true).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    socket.bind(&spec.addr.into()).map_err(fail)?;
    socket.listen(1024).map_err(fail)?;
    TcpListener::from_std(socket.into()).map_err(fail)
}

/// Binds every socket. With port 0 the first socket's port is reused by the others,
/// so a dual-stack pair shares one port.
pub fn bind_all(specs: &[BindSpec]) -> Result<Vec<TcpListener>, ListenError> {
    let mut out: Vec<TcpListener> = Vec::with_capacity(specs.len());
    let mut port = None;
    for spec in specs {
        let mut spec = *spec;
        if spec.addr.port() == 0 {
            if let Some(p) = port {
                spec.addr.set_port(p);
            }
        }
        let l = bind_one(&spec)?;
        if port.is_none() {
            port = l.local_addr().ok().map(|a| a.port());
        }
        out.push(l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        let value: serde_json::Value = serde_json::from_str(yaml).expect("json");
        Config::from_value(value).expect("config")
    }

    #[test]
    fn setting_chooses_the_wildcards() {
        let c = config(
            r#"{"SERVER_HOSTNAME": "quay.example.com", "FEATURE_LISTEN_IP_VERSION": "ipv6"}"#,
        );
        let specs = for_config(&c, None).expect("specs");
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].addr.to_string(), "[::]:8080");
        assert!(specs[0].v6_only);
        let c = config(
            r#"{"SERVER_HOSTNAME": "quay.example.com:9443", "FEATURE_LISTEN_IP_VERSION": "Dual-Stack"}"#,
        );
        let addrs: Vec<String> = for_config(&c, None)
            .expect("specs")
            .iter()
            .map(|s| s.addr.to_string())
            .collect();
        assert_eq!(addrs, ["0.0.0.0:9443", "[::]:9443"]);
        let c =
            config(r#"{"SERVER_HOSTNAME": "quay.example.com", "PREFERRED_URL_SCHEME": "https"}"#);
        let specs = for_config(&c, None).expect("specs");
        assert_eq!(
            specs[0].addr.to_string(),
            "0.0.0.0:8443",
            "IPv4 is the default"
        );
    }

    #[test]
    fn explicit_listen_wins() {
        let c = config(r#"{"FEATURE_LISTEN_IP_VERSION": "IPv6"}"#);
        let specs = for_config(&c, Some("127.0.0.1:7000")).expect("specs");
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].addr.to_string(), "127.0.0.1:7000");
        assert_eq!(specs[0].reason, BindReason::Explicit);
    }

    #[test]
    fn unknown_setting_is_refused() {
        let c = config(r#"{"FEATURE_LISTEN_IP_VERSION": "IPv5"}"#);
        let e = for_config(&c, None).expect_err("IPv5").to_string();
        assert!(e.contains("IPv5") && e.contains("dual-stack"), "{e}");
    }

    #[tokio::test]
    async fn busy_port_names_address_and_setting() {
        let first = bind_all(&by_version(ListenIpVersion::IPv4, 0)).expect("bind");
        let port = first[0].local_addr().expect("addr").port();
        let e = bind_all(&by_version(ListenIpVersion::IPv4, port))
            .expect_err("port in use")
            .to_string();
        assert!(e.contains(&format!("0.0.0.0:{port}")), "{e}");
        assert!(e.contains("FEATURE_LISTEN_IP_VERSION: IPv4"), "{e}");
    }

    #[tokio::test]
    async fn dual_stack_shares_one_ephemeral_port() {
        if !std::path::Path::new("/proc/net/if_inet6").exists() {
            panic!("this test needs IPv6 (/proc/net/if_inet6 is missing)");
        }
        let ls = bind_all(&by_version(ListenIpVersion::DualStack, 0)).expect("bind dual-stack");
        let a = ls[0].local_addr().expect("v4");
        let b = ls[1].local_addr().expect("v6");
        assert!(a.is_ipv4() && b.is_ipv6());
        assert_eq!(a.port(), b.port());
    }
}
