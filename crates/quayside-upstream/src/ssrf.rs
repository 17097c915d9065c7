//! Which external registries quayside may be told to reach (repository mirrors, the proxy
//! cache): Quay's `validate_external_registry_reference` without DNS resolution. A reference
//! is `registry[:port]/path`; the registry may not be an internal name (`localhost`,
//! cloud metadata hosts, `*.internal`, `*.local`, the Kubernetes API) nor an address that is
//! not globally routable, unless `SSRF_ALLOWED_HOSTS` names it (a host name, or a CIDR range
//! for address literals). The messages are Quay's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const BLOCKED_HOSTNAMES: &[&str] = &[
    "localhost",
    "metadata.google.internal",
    "metadata.azure.internal",
    "metadata",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "kubernetes.default",
    "kubernetes",
];

fn v4_blocked(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn v6_blocked(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0])
        || (s[0] == 0x2001 && s[1] == 0xdb8)
        || ip.to_ipv4_mapped().is_some()
}

/// Whether an address is one no user-given destination may point at.
pub fn ip_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_blocked(v4),
        IpAddr::V6(v6) => v6_blocked(v6),
    }
}

/// Whether `ip` lies in `cidr` (`a.b.c.d/n`, `x::/n`, or a single address).
fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => match b.parse::<u32>() {
            Ok(b) => (n, Some(b)),
            Err(_) => return false,
        },
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn allowed(host: &str, ip: Option<IpAddr>, allowed_hosts: &[String]) -> bool {
    allowed_hosts.iter().any(|entry| {
        let entry = entry.trim();
        match ip {
            Some(ip) if entry.parse::<IpAddr>().is_ok() || entry.contains('/') => {
                in_cidr(ip, entry)
            }
            _ => entry.eq_ignore_ascii_case(host),
        }
    })
}

fn valid_hostname(host: &str) -> bool {
    host.len() <= 253
        && !host.ends_with('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks a mirror's `external_reference` (`registry[:port]/namespace/repository`).
pub fn validate_registry_reference(
    reference: &str,
    allowed_hosts: &[String],
) -> Result<(), String> {
    if reference.trim().is_empty() {
        return Err("External registry reference is required".into());
    }
    if reference.chars().any(char::is_whitespace) {
        return Err("External registry reference must not include whitespace".into());
    }
    if reference.contains("://") {
        return Err("External registry reference must not include a URL scheme".into());
    }
    if reference.contains(['?', '#', '\\', '%']) {
        return Err("External registry reference contains an invalid character".into());
    }
    let Some((registry, path)) = reference.split_once('/') else {
        return Err("External registry reference must include a repository path".into());
    };
    if registry.is_empty() || path.is_empty() {
        return Err("External registry reference must include a repository path".into());
    }
    validate_registry_host(registry, allowed_hosts)
}

/// Checks a registry authority (`host[:port]`, `[v6]:port`) as a destination.
pub fn validate_registry_host(registry: &str, allowed_hosts: &[String]) -> Result<(), String> {
    const AUTHORITY: &str = "External registry reference contains an invalid registry authority";
    const PORT: &str = "External registry reference contains an invalid registry port";
    const HOST: &str = "External registry reference must include a valid registry hostname";
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((h, suffix)) = rest.split_once(']') else {
            return Err(AUTHORITY.into());
        };
        match suffix {
            "" => (h, None),
            ":" => return Err(PORT.into()),
            s => match s.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return Err(AUTHORITY.into()),
            },
        }
    } else {
        if registry.matches(':').count() > 1 {
            return Err(AUTHORITY.into());
        }
        if registry.ends_with(':') {
            return Err(PORT.into());
        }
        match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        }
    };
    if registry.contains('@') || host.is_empty() {
        return Err(HOST.into());
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(0) => return Err(PORT.into()),
            Ok(_) => {}
            Err(_) => return Err(AUTHORITY.into()),
        }
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip_blocked(ip) && !allowed(host, Some(ip), allowed_hosts) {
            return Err("URL points to a private or reserved IP address".into());
        }
        return Ok(());
    }
    if !valid_hostname(host) {
        return Err(HOST.into());
    }
    let lower = host.to_ascii_lowercase();
    let blocked = BLOCKED_HOSTNAMES.contains(&lower.as_str())
        || lower.ends_with(".internal")
        || lower.ends_with(".local");
    if blocked && !allowed(host, None, allowed_hosts) {
        return Err(format!("Hostname '{host}' is not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_registries_pass() {
        for r in [
            "quay.io/org/repo",
            "registry.example.com:5000/a/b",
            "8.8.8.8/x",
        ] {
            assert_eq!(validate_registry_reference(r, &[]), Ok(()), "{r}");
        }
    }

    #[test]
    fn internal_destinations_are_refused_unless_allowed() {
        let private = "URL points to a private or reserved IP address";
        assert_eq!(
            validate_registry_reference("127.0.0.1:5000/a", &[]),
            Err(private.into())
        );
        assert_eq!(
            validate_registry_reference("[::1]:5000/a", &[]),
            Err(private.into())
        );
        assert_eq!(
            validate_registry_reference("10.1.2.3/a", &[]),
            Err(private.into())
        );
        assert_eq!(
            validate_registry_reference("169.254.169.254/a", &[]),
            Err(private.into())
        );
        assert_eq!(
            validate_registry_reference("localhost:5000/a", &[]),
            Err("Hostname 'localhost' is not allowed".into())
        );
        assert_eq!(
            validate_registry_reference("svc.cluster.local/a", &[]),
            Err("Hostname 'svc.cluster.local' is not allowed".into())
        );
        let allow = vec!["127.0.0.0/8".to_owned(), "localhost".to_owned()];
        assert_eq!(
            validate_registry_reference("127.0.0.1:5000/a", &allow),
            Ok(())
        );
        assert_eq!(
            validate_registry_reference("localhost:5000/a", &allow),
            Ok(())
        );
        assert_eq!(
            validate_registry_reference("10.0.0.1/a", &allow),
            Err(private.into())
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        let cases = [
            ("", "External registry reference is required"),
            (
                "quay.io/a b",
                "External registry reference must not include whitespace",
            ),
            (
                "https://quay.io/a",
                "External registry reference must not include a URL scheme",
            ),
            (
                "quay.io/a?b",
                "External registry reference contains an invalid character",
            ),
            (
                "quay.io",
                "External registry reference must include a repository path",
            ),
            (
                "quay.io:/a",
                "External registry reference contains an invalid registry port",
            ),
            (
                "quay.io:0/a",
                "External registry reference contains an invalid registry port",
            ),
            (
                "a:b:c/a",
                "External registry reference contains an invalid registry authority",
            ),
            (
                "bad_host/a",
                "External registry reference must include a valid registry hostname",
            ),
            (
                "user@quay.io/a",
                "External registry reference must include a valid registry hostname",
            ),
        ];
        for (r, msg) in cases {
            assert_eq!(
                validate_registry_reference(r, &[]),
                Err(msg.to_owned()),
                "{r}"
            );
        }
    }
}
