//! TLS: the HTTPS listener's certificate (`ssl.cert` / `ssl.key` in the config
//! directory, as Quay's nginx uses them), the checks config-tool runs on them, and
//! the trust store for outbound HTTP (system roots plus `extra_ca_certs/`).
//!
//! Quay serves HTTPS itself when `PREFERRED_URL_SCHEME` is `https` and
//! `EXTERNAL_TLS_TERMINATION` is false; then the pair must match and the leaf
//! certificate must be valid for `SERVER_HOSTNAME` without its port (SAN DNS names
//! with wildcard rules, or IP SANs — the common name is not consulted).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quayside_config::Config;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of the outbound client (internal pings; callers may set their own).
const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} ({}): {problem}", name, path.display())]
    Pem {
        name: String,
        path: PathBuf,
        problem: String,
    },
    #[error(
        "ssl.key ({}) does not match the certificate in ssl.cert ({}): the private key is not the certificate's key",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "ssl.cert ({}) is not valid for SERVER_HOSTNAME {host}: {detail}",
        path.display()
    )]
    Hostname {
        path: PathBuf,
        host: String,
        detail: String,
    },
    #[error("ssl.cert ({}) {problem}", path.display())]
    Validity { path: PathBuf, problem: String },
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("cannot build the outbound HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Whether quayside terminates TLS itself (Quay's nginx listens with `ssl.cert`).
pub fn serves_tls(config: &Config) -> bool {
    config.preferred_url_scheme == "https" && !config.external_tls_termination
}

/// `<config-dir>/ssl.cert` and `<config-dir>/ssl.key` (whether or not they exist).
pub fn server_files(config: &Config) -> Option<(PathBuf, PathBuf)> {
    let dir = config.config_dir.as_ref()?;
    Some((dir.join("ssl.cert"), dir.join("ssl.key")))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn pem_err(name: &str, path: &Path, problem: impl Into<String>) -> TlsError {
    TlsError::Pem {
        name: name.to_string(),
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Every certificate in a PEM file, in order (for `ssl.cert`: leaf first, then the chain).
pub fn read_certificates(
    name: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(name, path, format!("unparsable PEM: {e}")))?;
    if certs.is_empty() {
        return Err(pem_err(
            name,
            path,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) found",
        ));
    }
    Ok(certs)
}

/// The private key in `ssl.key`: PKCS#1 (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or
/// SEC1 (`EC PRIVATE KEY`).
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => Ok(k),
        Err(_) if String::from_utf8_lossy(&bytes).contains("ENCRYPTED") => Err(pem_err(
            "ssl.key",
            path,
            "the private key is encrypted; ssl.key must hold an unencrypted key",
        )),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => Err(pem_err(
            "ssl.key",
            path,
            "no PEM private key (RSA PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY) found",
        )),
        Err(e) => Err(pem_err("ssl.key", path, format!("unparsable PEM: {e}"))),
    }
}

/// Loads and pairs the certificate chain and key, as the listener uses them.
fn certified_key(cert: &Path, key: &Path) -> Result<rustls::sign::CertifiedKey, TlsError> {
    let chain = read_certificates("ssl.cert", cert)?;
    let private = read_private_key(key)?;
    rustls::sign::CertifiedKey::from_der(chain, private, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        },
        other => pem_err(
            "ssl.key",
            key,
            format!("the private key cannot be used: {other}"),
        ),
    })
}

/// The host part of `SERVER_HOSTNAME`: the port stripped, IPv6 brackets removed.
pub fn hostname_without_port(server_hostname: &str) -> &str {
    let h = server_hostname.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => h,
    }
}

/// The leaf certificate's subject alternative names, for messages.
fn san_names(leaf: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(san)) = leaf.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some((*d).to_string()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(*b)
                    .ok()
                    .map(|a| std::net::Ipv4Addr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*b)
                    .ok()
                    .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Whether the leaf is valid for `host` (Go's `VerifyHostname`: SAN DNS names with
/// wildcard rules, IP SANs for an IP; never the common name).
fn check_hostname(
    cert_path: &Path,
    leaf_der: &CertificateDer<'_>,
    leaf: &x509_parser::certificate::X509Certificate<'_>,
    host: &str,
) -> Result<(), TlsError> {
    let fail = |detail: String| TlsError::Hostname {
        path: cert_path.to_path_buf(),
        host: host.to_string(),
        detail,
    };
    // A trailing dot names the same host (Go strips it too).
    let wanted = host.strip_suffix('.').unwrap_or(host);
    let name = ServerName::try_from(wanted)
        .map_err(|_| fail(format!("{host:?} is neither a DNS name nor an IP address")))?;
    let end_entity = webpki::EndEntityCert::try_from(leaf_der)
        .map_err(|e| fail(format!("the certificate cannot be parsed: {e:?}")))?;
    if end_entity.verify_is_valid_for_subject_name(&name).is_ok() {
        return Ok(());
    }
    let names = san_names(leaf);
    Err(fail(if names.is_empty() {
        format!(
            "the certificate has no subject alternative names (the common name is not used), so it does not match {host}"
        )
    } else {
        format!(
            "the certificate is valid for {}, not {host}",
            names.join(", ")
        )
    }))
}

fn check_validity(
    cert_path: &Path,
    leaf: &x509_parser::certificate::X509Certificate<'_>,
    now_unix: i64,
) -> Result<(), TlsError> {
    let v = leaf.validity();
    let fail = |problem: String| TlsError::Validity {
        path: cert_path.to_path_buf(),
        problem,
    };
    if v.not_after.timestamp() < now_unix {
        return Err(fail(format!("expired on {}", v.not_after)));
    }
    if v.not_before.timestamp() > now_unix {
        return Err(fail(format!("is not valid before {}", v.not_before)));
    }
    Ok(())
}

/// Every problem with `ssl.cert` / `ssl.key` for serving `server_hostname`: unreadable
/// or unparsable PEM, a key that is not the certificate's, a leaf that is not valid for
/// the host (port stripped), or a leaf outside its validity period at `now_unix`.
pub fn check_server_files(
    cert: &Path,
    key: &Path,
    server_hostname: &str,
    now_unix: i64,
) -> Vec<TlsError> {
    let mut out = Vec::new();
    let chain = match read_certificates("ssl.cert", cert) {
        Ok(c) => Some(c),
        Err(e) => {
            out.push(e);
            None
        }
    };
    let key_ok = match read_private_key(key) {
        Ok(_) => true,
        Err(e) => {
            out.push(e);
            false
        }
    };
    let Some(chain) = chain else {
        return out;
    };
    if key_ok {
        if let Err(e) = certified_key(cert, key) {
            out.push(e);
        }
    }
    let Some(leaf_der) = chain.first() else {
        return out;
    };
    match x509_parser::parse_x509_certificate(leaf_der.as_ref()) {
        Ok((_, leaf)) => {
            let host = hostname_without_port(server_hostname);
            if let Err(e) = check_hostname(cert, leaf_der, &leaf, host) {
                out.push(e);
            }
            if let Err(e) = check_validity(cert, &leaf, now_unix) {
                out.push(e);
            }
        }
        Err(e) => out.push(pem_err(
            "ssl.cert",
            cert,
            format!("the first certificate is not valid X.509: {e}"),
        )),
    }
    out
}

/// The HTTPS server configuration: the chain and key from the config directory,
/// TLS 1.2 and 1.3, ALPN `h2` and `http/1.1` (as Quay's nginx offers on 8443).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certified = certified_key(cert, key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The extra trusted CA files: `extra_ca_certs/*.crt|*.pem` and Quay's
/// `extra_ca_cert_*` files at the top of the config directory.
pub fn extra_ca_files(config: &Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = config
        .bundle
        .extra_ca_certs
        .iter()
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("crt") || e.eq_ignore_ascii_case("pem"))
        })
        .cloned()
        .collect();
    if let Some(dir) = &config.config_dir {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut top: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("extra_ca_cert_"))
                })
                .collect();
            top.sort();
            files.extend(top);
        }
    }
    files
}

/// The trust store for outbound HTTPS: the system roots (the bundled Mozilla roots
/// when the system has none) plus every extra CA file. An unparsable extra CA file is
/// an error naming it.
pub fn outbound_roots(config: &Config) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::warn!(error = %e, "cannot read some system CA certificates");
    }
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::warn!("no system CA certificates found; using the bundled Mozilla roots");
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in extra_ca_files(config) {
        let name = path
            .file_name()
            .map(|n| format!("extra CA certificate {}", n.to_string_lossy()))
            .unwrap_or_else(|| "extra CA certificate".into());
        for cert in read_certificates(&name, &path)? {
            roots
                .add(cert)
                .map_err(|e| pem_err(&name, &path, format!("not a usable CA certificate: {e}")))?;
        }
    }
    Ok(roots)
}

/// The outbound HTTP client: rustls trusting [`outbound_roots`].
pub fn outbound_client(config: &Config) -> Result<reqwest::Client, TlsError> {
    let roots = outbound_roots(config)?;
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(OUTBOUND_TIMEOUT)
        .build()?)
}

/// A TLS listener for `axum::serve`: handshakes run off the accept loop (one slow
/// client cannot stall others) and only finished connections are handed out.
/// Dropping it stops accepting.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = tx.closed() => break,
                    r = listener.accept() => r,
                };
                let (tcp, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            rx,
            local_addr,
            task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair {
        _dir: tempfile::TempDir,
        cert: PathBuf,
        key: PathBuf,
    }

    fn pair(names: &[&str], key_pem: Option<&str>) -> Pair {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let dir = tempfile::tempdir().expect("tempdir");
        let cert_path = dir.path().join("ssl.cert");
        let key_path = dir.path().join("ssl.key");
        std::fs::write(&cert_path, cert.pem()).expect("write");
        std::fs::write(
            &key_path,
            key_pem
                .map(str::to_owned)
                .unwrap_or_else(|| key.serialize_pem()),
        )
        .expect("write");
        Pair {
            _dir: dir,
            cert: cert_path,
            key: key_path,
        }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn problems(p: &Pair, host: &str) -> Vec<String> {
        check_server_files(&p.cert, &p.key, host, now())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn hostname_port_is_stripped() {
        assert_eq!(
            hostname_without_port("quay.example.com:8443"),
            "quay.example.com"
        );
        assert_eq!(
            hostname_without_port("quay.example.com"),
            "quay.example.com"
        );
        assert_eq!(hostname_without_port("[::1]:8443"), "::1");
        assert_eq!(hostname_without_port("10.0.0.1:443"), "10.0.0.1");
    }

    #[test]
    fn matching_pair_for_the_host_passes_with_and_without_port() {
        let p = pair(&["localhost", "quay.example.com"], None);
        assert!(problems(&p, "localhost:8443").is_empty());
        assert!(problems(&p, "quay.example.com").is_empty());
        assert!(
            problems(&p, "QUAY.example.com.").is_empty(),
            "case and trailing dot"
        );
        server_config(&p.cert, &p.key).expect("usable by the listener");
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        let p = pair(&["*.example.com"], None);
        assert!(problems(&p, "quay.example.com:443").is_empty());
        let deep = problems(&p, "a.quay.example.com");
        assert_eq!(deep.len(), 1, "{deep:?}");
        assert!(
            deep[0].contains("valid for *.example.com, not a.quay.example.com"),
            "{deep:?}"
        );
        assert_eq!(problems(&p, "example.com").len(), 1);
    }

    #[test]
    fn ip_hosts_need_ip_sans() {
        let p = pair(&["10.1.2.3"], None);
        assert!(problems(&p, "10.1.2.3:8443").is_empty());
        let other = problems(&p, "10.1.2.4");
        assert_eq!(other.len(), 1, "{other:?}");
        assert!(
            other[0].contains("valid for 10.1.2.3, not 10.1.2.4"),
            "{other:?}"
        );
    }

    #[test]
    fn wrong_host_names_file_and_host() {
        let p = pair(&["other.example.com"], None);
        let e = problems(&p, "localhost:8443");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("ssl.cert"), "{e:?}");
        assert!(e[0].contains("SERVER_HOSTNAME localhost"), "{e:?}");
        assert!(e[0].contains("other.example.com"), "{e:?}");
    }

    #[test]
    fn mismatched_key_is_named() {
        let other = rcgen::KeyPair::generate().expect("key").serialize_pem();
        let p = pair(&["localhost"], Some(&other));
        let e = problems(&p, "localhost");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("ssl.key") && e[0].contains("does not match"),
            "{e:?}"
        );
        assert!(server_config(&p.cert, &p.key).is_err());
    }

    #[test]
    fn garbage_pem_is_named() {
        let p = pair(&["localhost"], Some("not a key"));
        std::fs::write(
            &p.cert,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let e = problems(&p, "localhost");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("ssl.cert ("), "{e:?}");
        assert!(
            e[1].starts_with("ssl.key (") && e[1].contains("no PEM private key"),
            "{e:?}"
        );
    }

    #[test]
    fn pkcs1_pkcs8_and_sec1_keys_load() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        // RSA, written as PKCS#1 (what `openssl genrsa` traditionally writes).
        let rsa_key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa");
        let pkcs8 = rsa_key.to_pkcs8_der().expect("pkcs8");
        let kp = rcgen::KeyPair::try_from(pkcs8.as_bytes()).expect("rcgen key");
        let pkcs1 = rsa_key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .expect("pkcs1")
            .to_string();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("p");
        let cert = params.self_signed(&kp).expect("cert");
        let p = pair(&["localhost"], Some(&pkcs1));
        std::fs::write(&p.cert, cert.pem()).expect("write");
        assert!(problems(&p, "localhost").is_empty(), "PKCS#1");
        std::fs::write(&p.key, kp.serialize_pem()).expect("write");
        assert!(problems(&p, "localhost").is_empty(), "PKCS#8");
        let _ = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.as_bytes()).expect("roundtrip");
        // ECDSA P-256 as SEC1 (`EC PRIVATE KEY`).
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ec");
        let sec1 = sec1_pem(&ec);
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("p")
            .self_signed(&ec)
            .expect("cert");
        std::fs::write(&p.cert, cert.pem()).expect("write");
        std::fs::write(&p.key, sec1).expect("write");
        assert!(problems(&p, "localhost").is_empty(), "SEC1");
    }

    /// SEC1 `EC PRIVATE KEY` PEM from rcgen's PKCS#8 P-256 key: the PKCS#8 wrapper's
    /// inner OCTET STRING is the SEC1 structure.
    fn sec1_pem(key: &rcgen::KeyPair) -> String {
        let der = key.serialize_der();
        let (_, info) = x509_parser::der_parser::der::parse_der_sequence(&der).expect("pkcs8");
        let seq = info.as_sequence().expect("seq");
        let inner = seq
            .iter()
            .find_map(|o| o.as_slice().ok().filter(|_| o.header.tag().0 == 4))
            .expect("octet string");
        let pem = rustls::pki_types::PrivateSec1KeyDer::from(inner.to_vec());
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem.secret_sec1_der());
        let mut lines = String::new();
        for line in b64.as_bytes().chunks(64) {
            lines.push_str(&String::from_utf8_lossy(line));
            lines.push('\n');
        }
        format!("-----BEGIN EC PRIVATE KEY-----\n{lines}-----END EC PRIVATE KEY-----\n")
    }

    #[test]
    fn expired_certificate_is_rejected() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("p");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let cert = params.self_signed(&key).expect("cert");
        let p = pair(&["localhost"], Some(&key.serialize_pem()));
        std::fs::write(&p.cert, cert.pem()).expect("write");
        let e = problems(&p, "localhost");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("expired on") && e[0].contains("2021"),
            "{e:?}"
        );
    }
}
