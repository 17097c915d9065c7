//! Direct-download URLs through a CDN in front of S3, as Quay's CDN storage drivers hand them
//! out: `CloudFrontedS3Storage` (a CloudFront canned-policy signed URL), `CloudFlareStorage`
//! (the S3 presigned URL on the CloudFlare domain, with an RSA signature of its path and
//! expiry), `AkamaiS3Storage` (the S3 presigned URL on the Akamai domain, with an EdgeAuth
//! token) and `MultiCDNStorage` (several of these over one S3 config, chosen per request).
//!
//! The objects themselves live in S3, which is opened and presigned elsewhere; this module only
//! turns an S3 presigned URL (or a layout path) into the URL the client is redirected to. All
//! of it is pure and synchronous, and takes the current time as an argument.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockEncryptMut as _, KeyIvInit as _};
use hmac::{Hmac, Mac};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::rand_core::{OsRng, RngCore};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::StorageError;

type Params = Map<String, Value>;

/// The Quay driver names this module signs for.
const CLOUDFRONT: &str = "CloudFrontedS3Storage";
const CLOUDFLARE: &str = "CloudFlareStorage";
const AKAMAI: &str = "AkamaiS3Storage";
const CDN_DRIVERS: [&str; 3] = [CLOUDFRONT, CLOUDFLARE, AKAMAI];

/// How long the S3 presigned URL behind an Akamai redirect is valid, whatever was asked.
const AKAMAI_S3_EXPIRES: Duration = Duration::from_secs(3600);
/// How long an Akamai EdgeAuth token is valid.
const AKAMAI_TOKEN_WINDOW_SECS: u64 = 900;

/// The keys a MultiCDN rule may have.
const RULE_KEYS: [&str; 4] = ["namespace", "continent", "host", "target"];
/// The continent codes of the GeoIP database.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// What a download request tells a CDN rule or signer about its client.
#[derive(Clone, Debug, Default)]
pub struct DownloadRequest {
    pub client_ip: Option<IpAddr>,
    pub namespace: Option<String>,
    pub host: Option<String>,
    pub username: Option<String>,
    pub repo_name: Option<String>,
}

impl DownloadRequest {
    fn namespace(&self) -> Option<&str> {
        non_empty(self.namespace.as_deref())
    }

    fn username(&self) -> Option<&str> {
        non_empty(self.username.as_deref())
    }

    fn repo_name(&self) -> Option<&str> {
        non_empty(self.repo_name.as_deref())
    }
}

/// Quay leaves out request fields that are unset or empty.
fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------------
// AWS IP ranges

/// AWS's published IP ranges (the `ip-ranges.json` document). Only the `AMAZON` entries are
/// kept: that service's list covers every other one.
#[derive(Clone, Debug, Default)]
pub struct AwsIpRanges {
    /// (network, prefix length, region), longest prefixes first.
    v4: Vec<(u32, u8, String)>,
    /// (network, prefix length, region), longest prefixes first.
    v6: Vec<(u128, u8, String)>,
}

#[derive(Deserialize)]
struct IpRangesDoc {
    #[serde(default)]
    prefixes: Vec<V4Entry>,
    #[serde(default)]
    ipv6_prefixes: Vec<V6Entry>,
}

#[derive(Deserialize)]
struct V4Entry {
    ip_prefix: String,
    region: String,
    service: String,
}

#[derive(Deserialize)]
struct V6Entry {
    ipv6_prefix: String,
    region: String,
    service: String,
}

impl AwsIpRanges {
    /// Reads an `ip-ranges.json` document.
    pub fn parse(json: &[u8]) -> Result<AwsIpRanges, String> {
        let bad =
            |why: String| format!("AWS IP ranges are not a valid ip-ranges.json document: {why}");
        let doc: Value = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        if !doc.is_object() {
            return Err(bad("expected a JSON object".to_string()));
        }
        let doc: IpRangesDoc = serde_json::from_value(doc).map_err(|e| bad(e.to_string()))?;
        let mut v4 = Vec::new();
        for e in doc.prefixes.iter().filter(|e| e.service == "AMAZON") {
            let (net, len) = parse_cidr_v4(&e.ip_prefix)
                .ok_or_else(|| format!("AWS IP ranges: {:?} is not an IPv4 CIDR", e.ip_prefix))?;
            v4.push((net, len, e.region.clone()));
        }
        let mut v6 = Vec::new();
        for e in doc.ipv6_prefixes.iter().filter(|e| e.service == "AMAZON") {
            let (net, len) = parse_cidr_v6(&e.ipv6_prefix)
                .ok_or_else(|| format!("AWS IP ranges: {:?} is not an IPv6 CIDR", e.ipv6_prefix))?;
            v6.push((net, len, e.region.clone()));
        }
        // Longest prefix first, so the first range containing an address is the most specific.
        v4.sort_by_key(|e| std::cmp::Reverse(e.1));
        v6.sort_by_key(|e| std::cmp::Reverse(e.1));
        Ok(AwsIpRanges { v4, v6 })
    }

    /// Reads the document at `path`; `Ok(None)` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<AwsIpRanges>, String> {
        match std::fs::read(path) {
            Ok(bytes) => AwsIpRanges::parse(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// The AWS region of the range containing `ip`, if any (the longest prefix wins).
    pub fn region_of(&self, ip: IpAddr) -> Option<&str> {
        // A dual-stack listener reports IPv4 clients as `::ffff:a.b.c.d`.
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4
                    .iter()
                    .find(|(net, len, _)| a & mask_v4(*len) == *net)
                    .map(|(_, _, r)| r.as_str())
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6
                    .iter()
                    .find(|(net, len, _)| a & mask_v6(*len) == *net)
                    .map(|(_, _, r)| r.as_str())
            }
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.region_of(ip).is_some()
    }
}

fn mask_v4(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask_v6(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// `a.b.c.d/n` as (network, n); host bits are cleared.
fn parse_cidr_v4(s: &str) -> Option<(u32, u8)> {
    let (addr, len) = s.trim().split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(addr) & mask_v4(len), len))
}

/// `x:y::z/n` as (network, n); host bits are cleared.
fn parse_cidr_v6(s: &str) -> Option<(u128, u8)> {
    let (addr, len) = s.trim().split_once('/')?;
    let addr: Ipv6Addr = addr.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 128)?;
    Some((u128::from(addr) & mask_v6(len), len))
}

// ---------------------------------------------------------------------------------------------
// Signers

/// One CDN in front of an S3 bucket.
#[derive(Clone, Debug)]
pub enum CdnSigner {
    CloudFront(CloudFrontSigner),
    CloudFlare(CloudFlareSigner),
    Akamai(AkamaiSigner),
}

/// `CloudFrontedS3Storage`: CloudFront canned-policy URLs for the layout path.
#[derive(Clone)]
pub struct CloudFrontSigner {
    domain: String,
    key_id: String,
    key: Box<RsaPrivateKey>,
}

/// `CloudFlareStorage`: the S3 URL on the CloudFlare domain, its path and expiry RSA-signed.
#[derive(Clone)]
pub struct CloudFlareSigner {
    domain: String,
    key: Box<RsaPrivateKey>,
    region: String,
}

/// `AkamaiS3Storage`: the S3 URL on the Akamai domain with an EdgeAuth token.
#[derive(Clone)]
pub struct AkamaiSigner {
    domain: String,
    /// The decoded shared secret.
    key: Vec<u8>,
    region: String,
    /// `amz_encryption_token`: hides the S3 signature from the client.
    encryption: Option<Box<SignatureCipher>>,
}

/// AES in the key size `amz_encryption_token` asks for.
#[derive(Clone)]
enum SignatureCipher {
    Aes128(Vec<u8>),
    Aes192(Vec<u8>),
    Aes256(Vec<u8>),
}

impl std::fmt::Debug for CloudFrontSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFrontSigner")
            .field("domain", &self.domain)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CloudFlareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFlareSigner")
            .field("domain", &self.domain)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AkamaiSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AkamaiSigner")
            .field("domain", &self.domain)
            .field("region", &self.region)
            .field("encrypts_signature", &self.encryption.is_some())
            .finish_non_exhaustive()
    }
}

/// Reads one driver's parameters, naming `<prefix><key>` of `location` in errors.
struct ParamReader<'a> {
    location: &'a str,
    prefix: &'a str,
    params: &'a Params,
}

impl ParamReader<'_> {
    fn param(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn invalid(&self, key: &str, problem: String) -> StorageError {
        StorageError::InvalidParam {
            location: self.location.to_string(),
            param: self.param(key),
            problem,
        }
    }

    fn required_str(&self, key: &str) -> Result<&str, StorageError> {
        match self.params.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            None | Some(Value::Null) | Some(Value::String(_)) => Err(StorageError::MissingParam {
                location: self.location.to_string(),
                param: self.param(key),
            }),
            Some(_) => Err(self.invalid(key, "must be a string".to_string())),
        }
    }

    fn optional_str(&self, key: &str) -> Result<Option<&str>, StorageError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(key, "must be a string".to_string())),
        }
    }

    /// The PEM RSA private key in the file `key` names (relative to `config_dir`).
    fn private_key(
        &self,
        key: &str,
        config_dir: Option<&Path>,
    ) -> Result<RsaPrivateKey, StorageError> {
        let name = self.required_str(key)?;
        let path = match config_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| self.invalid(key, format!("cannot read {}: {e}", path.display())))?;
        let parsed = std::str::from_utf8(&bytes)
            .map_err(|_| "the file is not text".to_string())
            .and_then(parse_rsa_pem);
        parsed.map_err(|why| {
            self.invalid(
                key,
                format!("{} is not a PEM RSA private key: {why}", path.display()),
            )
        })
    }
}

/// A PEM RSA private key, PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
fn parse_rsa_pem(text: &str) -> Result<RsaPrivateKey, String> {
    const PKCS1: &str = "RSA PRIVATE KEY";
    const PKCS8: &str = "PRIVATE KEY";
    if let Some(block) = pem_block(text, PKCS1) {
        return RsaPrivateKey::from_pkcs1_pem(block).map_err(|e| e.to_string());
    }
    if let Some(block) = pem_block(text, PKCS8) {
        return RsaPrivateKey::from_pkcs8_pem(block).map_err(|e| e.to_string());
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err("encrypted private keys are not supported".to_string());
    }
    Err(format!(
        "no \"BEGIN {PKCS1}\" or \"BEGIN {PKCS8}\" block found"
    ))
}

/// The `-----BEGIN <label>-----` ... `-----END <label>-----` block of `text`, if any.
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    text.get(start..stop)
}

impl CdnSigner {
    /// Builds the signer for Quay driver `driver` (`CloudFrontedS3Storage`, `CloudFlareStorage`
    /// or `AkamaiS3Storage`) from its config params. Private key files are named relative to
    /// `config_dir` (an absolute name is used as is). Errors name `location` and the key.
    pub fn from_params(
        location: &str,
        driver: &str,
        params: &Params,
        config_dir: Option<&Path>,
    ) -> Result<CdnSigner, StorageError> {
        CdnSigner::build(location, "", driver, params, config_dir)
    }

    fn build(
        location: &str,
        prefix: &str,
        driver: &str,
        params: &Params,
        config_dir: Option<&Path>,
    ) -> Result<CdnSigner, StorageError> {
        let p = ParamReader {
            location,
            prefix,
            params,
        };
        match driver {
            CLOUDFRONT => {
                const OVERRIDES: &str = "cloudfront_distribution_org_overrides";
                match params.get(OVERRIDES) {
                    None | Some(Value::Null) | Some(Value::Object(_)) => {}
                    Some(_) => {
                        return Err(p.invalid(
                            OVERRIDES,
                            "must be an object (namespace -> distribution)".to_string(),
                        ))
                    }
                }
                Ok(CdnSigner::CloudFront(CloudFrontSigner {
                    domain: p
                        .required_str("cloudfront_distribution_domain")?
                        .to_string(),
                    key_id: p.required_str("cloudfront_key_id")?.to_string(),
                    key: Box::new(p.private_key("cloudfront_privatekey_filename", config_dir)?),
                }))
            }
            CLOUDFLARE => Ok(CdnSigner::CloudFlare(CloudFlareSigner {
                domain: p.required_str("cloudflare_domain")?.to_string(),
                key: Box::new(p.private_key("cloudflare_privatekey_filename", config_dir)?),
                region: p.required_str("s3_region")?.to_string(),
            })),
            AKAMAI => {
                const SECRET: &str = "akamai_shared_secret";
                let key = hex::decode(p.required_str(SECRET)?).map_err(|e| {
                    p.invalid(SECRET, format!("must be a hex string (the HMAC key): {e}"))
                })?;
                const TOKEN: &str = "amz_encryption_token";
                let encryption = match p.optional_str(TOKEN)? {
                    None => None,
                    Some(t) => Some(
                        SignatureCipher::new(t.as_bytes())
                            .map(Box::new)
                            .ok_or_else(|| {
                                p.invalid(
                                    TOKEN,
                                    format!(
                                "must be 16, 24 or 32 bytes long (an AES-128/192/256 key), not {}",
                                t.len()
                            ),
                                )
                            })?,
                    ),
                };
                Ok(CdnSigner::Akamai(AkamaiSigner {
                    domain: p.required_str("akamai_domain")?.to_string(),
                    key,
                    region: p.required_str("s3_region")?.to_string(),
                    encryption,
                }))
            }
            other => Err(StorageError::InvalidParam {
                location: location.to_string(),
                param: format!("{prefix}driver"),
                problem: format!(
                    "{other:?} is not a CDN storage driver (one of {})",
                    CDN_DRIVERS.join(", ")
                ),
            }),
        }
    }

    /// The validity the S3 presigned URL must be made with instead of the one asked for:
    /// Akamai always fetches with a one-hour URL.
    pub fn expires_override(&self) -> Option<Duration> {
        match self {
            CdnSigner::Akamai(_) => Some(AKAMAI_S3_EXPIRES),
            CdnSigner::CloudFront(_) | CdnSigner::CloudFlare(_) => None,
        }
    }

    /// The URL to redirect the client to, or `None` when the client should get the plain S3
    /// presigned URL. `s3_url` is the S3 presigned URL for the object; `path` the object path
    /// relative to `storage_path` (Quay's layout path); `expires` the validity asked for; `aws`
    /// the AWS ranges if configured.
    pub fn sign(
        &self,
        s3_url: &str,
        path: &str,
        req: &DownloadRequest,
        expires: Duration,
        now: SystemTime,
        aws: Option<&AwsIpRanges>,
    ) -> Option<String> {
        match self {
            CdnSigner::CloudFront(s) => s.sign(path, req, expires, now, aws),
            CdnSigner::CloudFlare(s) => s.sign(s3_url, req, expires, now),
            CdnSigner::Akamai(s) => s.sign(s3_url, req, now, aws),
        }
    }
}

impl CloudFrontSigner {
    fn sign(
        &self,
        path: &str,
        req: &DownloadRequest,
        expires: Duration,
        now: SystemTime,
        aws: Option<&AwsIpRanges>,
    ) -> Option<String> {
        let ip = req.client_ip?;
        // Clients inside AWS read S3 directly.
        if aws.is_some_and(|r| r.contains(ip)) {
            return None;
        }
        let url = format!("https://{}/{}", self.domain, path);
        let epoch = epoch_after(now, expires);
        let policy = [
            r#"{"Statement":[{"Resource":""#,
            url.as_str(),
            r#"","Condition":{"DateLessThan":{"AWS:EpochTime":"#,
            epoch.to_string().as_str(),
            "}}}]}",
        ]
        .concat();
        let digest = Sha1::digest(policy.as_bytes());
        let signature = rsa_sign(&self.key, Pkcs1v15Sign::new::<Sha1>(), &digest)?;
        let signature: String = base64::engine::general_purpose::STANDARD
            .encode(signature)
            .chars()
            .map(|c| match c {
                '+' => '-',
                '=' => '_',
                '/' => '~',
                c => c,
            })
            .collect();
        let sep = if url.contains('?') { '&' } else { '?' };
        Some(format!(
            "{url}{sep}Expires={epoch}&Signature={signature}&Key-Pair-Id={}",
            self.key_id
        ))
    }
}

impl CloudFlareSigner {
    fn sign(
        &self,
        s3_url: &str,
        req: &DownloadRequest,
        expires: Duration,
        now: SystemTime,
    ) -> Option<String> {
        req.client_ip?;
        let Some(url) = UrlParts::split(s3_url) else {
            tracing::warn!("CloudFlare: cannot parse the S3 presigned URL; serving it as is");
            return None;
        };
        let expiry = epoch_after(now, expires);
        let to_sign = format!("{}@{expiry}", url.path);
        let digest = Sha256::digest(to_sign.as_bytes());
        let signature = rsa_sign(&self.key, Pkcs1v15Sign::new::<Sha256>(), &digest)?;
        let mut pairs = parse_form(url.query.unwrap_or(""));
        let mut add = |k: &str, v: &str| pairs.push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
        add(
            "cf_sign",
            &base64::engine::general_purpose::STANDARD.encode(signature),
        );
        add("cf_expiry", &expiry.to_string());
        add("region", &self.region);
        if let Some(ns) = req.namespace() {
            add("namespace", ns);
        }
        if let Some(user) = req.username() {
            add("username", user);
        }
        Some(url.join(&self.domain, &encode_form(&pairs)))
    }
}

impl AkamaiSigner {
    fn sign(
        &self,
        s3_url: &str,
        req: &DownloadRequest,
        now: SystemTime,
        aws: Option<&AwsIpRanges>,
    ) -> Option<String> {
        let ip = req.client_ip?;
        // Clients in the bucket's own AWS region read S3 directly.
        if aws.is_some_and(|r| r.region_of(ip) == Some(self.region.as_str())) {
            return None;
        }
        let Some(url) = UrlParts::split(s3_url) else {
            tracing::warn!("Akamai: cannot parse the S3 presigned URL; serving it as is");
            return None;
        };
        let mut query = url.query.unwrap_or("").to_string();
        if let Some(cipher) = &self.encryption {
            query = cipher.hide_signature(&query)?;
        }
        let mut extra = vec![format!("region={}", self.region)];
        if let Some(ns) = req.namespace() {
            extra.push(format!("namespace={ns}"));
        }
        if let Some(user) = req.username() {
            extra.push(format!("username={user}"));
        }
        if let Some(repo) = req.repo_name() {
            extra.push(format!("repo_name={repo}"));
        }
        extra.push(format!(
            "akamai_signature={}",
            self.edge_auth_token(url.path, now)
        ));
        for e in extra {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&e);
        }
        Some(url.join(&self.domain, &query))
    }

    /// An EdgeAuth URL token for `path`: valid from now for the window, the path escaped early,
    /// HMAC-SHA256 with the shared secret.
    fn edge_auth_token(&self, path: &str, now: SystemTime) -> String {
        let exp = unix_secs(now).saturating_add(AKAMAI_TOKEN_WINDOW_SECS);
        let hash_source = format!("exp={exp}~url={}", escape_early(path));
        // HMAC takes keys of any length.
        let hmac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(hash_source.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        };
        format!("exp={exp}~hmac={hmac}")
    }
}

impl SignatureCipher {
    fn new(key: &[u8]) -> Option<SignatureCipher> {
        match key.len() {
            16 => Some(SignatureCipher::Aes128(key.to_vec())),
            24 => Some(SignatureCipher::Aes192(key.to_vec())),
            32 => Some(SignatureCipher::Aes256(key.to_vec())),
            _ => None,
        }
    }

    /// `plain`, PKCS#7-padded and AES-CBC encrypted with `iv`.
    fn cbc_encrypt(&self, iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        // The key lengths were checked in `new`, so the ciphers always build.
        let sealed = match self {
            SignatureCipher::Aes128(k) => cbc::Encryptor::<aes::Aes128>::new_from_slices(k, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(plain)),
            SignatureCipher::Aes192(k) => cbc::Encryptor::<aes::Aes192>::new_from_slices(k, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(plain)),
            SignatureCipher::Aes256(k) => cbc::Encryptor::<aes::Aes256>::new_from_slices(k, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(plain)),
        };
        sealed.unwrap_or_default()
    }

    /// `query` with its `X-Amz-Signature` value replaced by the base64 of its encryption under
    /// a fresh IV, and that IV added as `initializationVector`. `None` if no IV can be drawn.
    fn hide_signature(&self, query: &str) -> Option<String> {
        const SIGNATURE: &str = "X-Amz-Signature";
        let mut iv = [0u8; 16];
        if let Err(e) = OsRng.try_fill_bytes(&mut iv) {
            tracing::warn!("Akamai: cannot draw an IV to encrypt the S3 signature: {e}");
            return None;
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut found = false;
        let mut parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if k == SIGNATURE && !found => {
                    found = true;
                    let encrypted = self.cbc_encrypt(&iv, &form_decode(v));
                    format!("{k}={}", form_encode(b64.encode(encrypted).as_bytes()))
                }
                _ => pair.to_string(),
            })
            .collect();
        if found {
            parts.push(format!(
                "initializationVector={}",
                form_encode(b64.encode(iv).as_bytes())
            ));
        }
        Some(parts.join("&"))
    }
}

fn rsa_sign(key: &RsaPrivateKey, scheme: Pkcs1v15Sign, digest: &[u8]) -> Option<Vec<u8>> {
    match key.sign_with_rng(&mut OsRng, scheme, digest) {
        Ok(sig) => Some(sig),
        Err(e) => {
            tracing::warn!("CDN URL signing failed, serving the S3 URL: {e}");
            None
        }
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whole seconds since the epoch at `now + expires` (rounded down).
fn epoch_after(now: SystemTime, expires: Duration) -> u64 {
    match now.checked_add(expires) {
        Some(t) => unix_secs(t),
        None => unix_secs(now).saturating_add(expires.as_secs()),
    }
}

// ---------------------------------------------------------------------------------------------
// URLs

/// An absolute URL cut into the pieces the signers rebuild it from.
struct UrlParts<'a> {
    scheme: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Option<UrlParts<'a>> {
        let (scheme, rest) = url.split_once("://")?;
        if scheme.is_empty() {
            return None;
        }
        let netloc_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let rest = rest.get(netloc_end..)?;
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        Some(UrlParts {
            scheme,
            path,
            query,
            fragment,
        })
    }

    /// The URL on host `netloc` with query `query`.
    fn join(&self, netloc: &str, query: &str) -> String {
        let mut out = format!("{}://{netloc}{}", self.scheme, self.path);
        if !query.is_empty() {
            out.push('?');
            out.push_str(query);
        }
        if let Some(f) = self.fragment {
            out.push('#');
            out.push_str(f);
        }
        out
    }
}

/// Everything but RFC 3986's unreserved bytes is escaped (Python's `quote(safe="")`).
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// application/x-www-form-urlencoded as Python's `urlencode`: unreserved bytes as they are,
/// space as `+`, the rest as upper-case `%XX`.
fn form_encode(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, UNRESERVED)
        .to_string()
        .replace("%20", "+")
}

fn form_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).collect()
}

/// The name/value pairs of a query string, decoded, in order.
fn parse_form(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn encode_form(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// EdgeAuth's early escaping of the signed URL: every byte but the unreserved ones (`/`
/// included) as `%xx`, hex digits in lower case.
fn escape_early(path: &str) -> String {
    let escaped = percent_encoding::utf8_percent_encode(path, UNRESERVED).to_string();
    // Only the two hex digits after each `%` change case; unreserved bytes stay as they are.
    let mut out = String::with_capacity(escaped.len());
    let mut hex_left = 0;
    for c in escaped.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// MultiCDN

/// Quay's `MultiCDNStorage`: several CDN providers over one S3 storage config, chosen per
/// request by rules.
#[derive(Clone, Debug)]
pub struct MultiCdn {
    storage_config: Params,
    /// Provider name and signer, in name order.
    providers: Vec<(String, CdnSigner)>,
    /// Index into `providers`.
    default: usize,
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    namespace: Option<String>,
    continent: Option<String>,
    host: Option<String>,
    /// Index into `providers`.
    target: usize,
}

impl Rule {
    fn matches(&self, req: &DownloadRequest, continent: Option<&str>) -> bool {
        fn field(want: &Option<String>, got: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| got == Some(w))
        }
        field(&self.namespace, req.namespace.as_deref())
            && field(&self.continent, continent)
            && field(&self.host, req.host.as_deref())
    }
}

impl MultiCdn {
    /// From the MultiCDNStorage params: `storage_config` (the S3 params), `providers` (name ->
    /// `[DriverName, {params}]`), `default_provider` and `rules`. Each provider's signer is
    /// built from `storage_config` with the provider's own params laid over it.
    pub fn from_params(
        location: &str,
        params: &Params,
        config_dir: Option<&Path>,
    ) -> Result<MultiCdn, StorageError> {
        let err = |param: &str, problem: String| StorageError::InvalidParam {
            location: location.to_string(),
            param: param.to_string(),
            problem,
        };

        let storage_config =
            match params.get("storage_config") {
                Some(Value::Object(m)) if !m.is_empty() => m.clone(),
                _ => return Err(err(
                    "storage_config",
                    "is invalid: should be the configuration of the underlying storage (eg: S3)"
                        .to_string(),
                )),
            };

        let providers_cfg = match params.get("providers") {
            Some(Value::Object(m)) if !m.is_empty() => m,
            _ => {
                return Err(err(
                    "providers",
                    "should be a dict of storage providers with their configs".to_string(),
                ))
            }
        };
        let mut shapes: Vec<(&str, &str, &Params)> = Vec::new();
        for (name, value) in providers_cfg {
            let shape = match value {
                Value::Array(a) => match a.as_slice() {
                    [Value::String(driver), Value::Object(p)] => Some((driver.as_str(), p)),
                    _ => None,
                },
                _ => None,
            };
            let Some((driver, p)) = shape else {
                return Err(err(
                    "providers",
                    format!(
                        "Provider {name} invalid. Should contain provider name and config as list"
                    ),
                ));
            };
            if !CDN_DRIVERS.contains(&driver) {
                return Err(err(
                    "providers",
                    format!(
                        "Provider {name} invalid: {driver} is not a supported CDN provider; \
                         should be one of [{}]",
                        CDN_DRIVERS.join(", ")
                    ),
                ));
            }
            shapes.push((name.as_str(), driver, p));
        }
        let names: Vec<&str> = shapes.iter().map(|(n, _, _)| *n).collect();
        let index_of = |name: &str| names.iter().position(|n| *n == name);

        let default = match params.get("default_provider") {
            None | Some(Value::Null) => {
                return Err(err(
                    "default_provider",
                    "is missing: default provider not provided".to_string(),
                ))
            }
            Some(Value::String(s)) if s.is_empty() => {
                return Err(err(
                    "default_provider",
                    "is missing: default provider not provided".to_string(),
                ))
            }
            Some(Value::String(s)) => index_of(s).ok_or_else(|| {
                err(
                    "default_provider",
                    format!(
                        "{s:?} invalid: Default provider not found in configured providers [{}]",
                        names.join(", ")
                    ),
                )
            })?,
            Some(_) => {
                return Err(err(
                    "default_provider",
                    "must be a string naming one of the providers".to_string(),
                ))
            }
        };

        let rules_cfg: &[Value] = match params.get("rules") {
            None | Some(Value::Null) => &[],
            Some(Value::Array(a)) => a,
            Some(_) => return Err(err("rules", "should be a list of rules".to_string())),
        };
        let mut rules = Vec::new();
        for rule_value in rules_cfg {
            let shown = rule_value.to_string();
            let Value::Object(rule) = rule_value else {
                return Err(err(
                    "rules",
                    format!(
                        "{shown} Invalid: a rule should be a dict with keys among [{}]",
                        RULE_KEYS.join(", ")
                    ),
                ));
            };
            if let Some(key) = rule.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
                return Err(err(
                    "rules",
                    format!(
                        "{shown} Invalid: {key} bad rule key. Should be one of [{}]",
                        RULE_KEYS.join(", ")
                    ),
                ));
            }
            let text = |key: &str| -> Result<Option<String>, StorageError> {
                match rule.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(err(
                        "rules",
                        format!("{shown} Invalid: {key} should be a string"),
                    )),
                }
            };
            let Some(target) = text("target")? else {
                return Err(err(
                    "rules",
                    format!("target not configured for rule {shown}"),
                ));
            };
            let target = index_of(&target).ok_or_else(|| {
                err(
                    "rules",
                    format!(
                        "{shown} Invalid: {target} not in the configured targets [{}]",
                        names.join(", ")
                    ),
                )
            })?;
            let continent = text("continent")?;
            if let Some(c) = &continent {
                if !CONTINENTS.contains(&c.as_str()) {
                    return Err(err(
                        "rules",
                        format!(
                            "{shown} Invalid: {c} not a valid continent. Should be one of [{}]",
                            CONTINENTS.join(", ")
                        ),
                    ));
                }
            }
            rules.push(Rule {
                namespace: text("namespace")?,
                continent,
                host: text("host")?,
                target,
            });
        }

        let mut providers = Vec::with_capacity(shapes.len());
        for (name, driver, own) in shapes {
            let mut merged = storage_config.clone();
            merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            let prefix = format!("providers.{name}.");
            let signer = CdnSigner::build(location, &prefix, driver, &merged, config_dir)?;
            providers.push((name.to_string(), signer));
        }

        Ok(MultiCdn {
            storage_config,
            providers,
            default,
            rules,
        })
    }

    /// The S3 params every provider shares (`storage_config`), to open the S3 operator from.
    pub fn storage_config(&self) -> &Params {
        &self.storage_config
    }

    /// The provider for this request: that of the first rule all of whose fields match the
    /// request (`continent` being the client's GeoIP continent code), else the default.
    pub fn select(&self, req: &DownloadRequest, continent: Option<&str>) -> &CdnSigner {
        let index = self
            .rules
            .iter()
            .find(|r| r.matches(req, continent))
            .map_or(self.default, |r| r.target);
        &self.providers[index].1
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use rsa::RsaPublicKey;
    use std::sync::OnceLock;

    fn test_key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 1024).unwrap())
    }

    fn public_key() -> RsaPublicKey {
        RsaPublicKey::from(test_key())
    }

    /// A config dir with the test key as `pkcs1.pem` and `pkcs8.pem`, and a non-key `bad.pem`.
    fn key_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let key = test_key();
        std::fs::write(
            dir.path().join("pkcs1.pem"),
            key.to_pkcs1_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("pkcs8.pem"),
            key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad.pem"),
            "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n",
        )
        .unwrap();
        dir
    }

    fn obj(v: Value) -> Params {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis)
    }

    fn client(ip: &str) -> DownloadRequest {
        DownloadRequest {
            client_ip: Some(ip.parse().unwrap()),
            ..DownloadRequest::default()
        }
    }

    const RANGES: &str = r#"{
        "syncToken": "1700000000",
        "createDate": "2023-11-14-00-00-00",
        "prefixes": [
            {"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON", "network_border_group": "ap-northeast-2"},
            {"ip_prefix": "52.0.0.0/8", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
            {"ip_prefix": "52.94.0.0/16", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"},
            {"ip_prefix": "13.32.0.0/15", "region": "GLOBAL", "service": "CLOUDFRONT", "network_border_group": "GLOBAL"}
        ],
        "ipv6_prefixes": [
            {"ipv6_prefix": "2600:1f00::/24", "region": "us-west-2", "service": "AMAZON", "network_border_group": "us-west-2"},
            {"ipv6_prefix": "2600:1f14::/35", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
            {"ipv6_prefix": "2a05:d000::/25", "region": "eu-west-1", "service": "EC2", "network_border_group": "eu-west-1"}
        ]
    }"#;

    fn ranges() -> AwsIpRanges {
        AwsIpRanges::parse(RANGES.as_bytes()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // --- AWS ranges ---------------------------------------------------------------------------

    #[test]
    fn aws_ranges_v4_contains_and_longest_prefix() {
        let r = ranges();
        assert_eq!(r.region_of(ip("3.5.140.1")), Some("ap-northeast-2"));
        assert_eq!(r.region_of(ip("3.5.143.255")), Some("ap-northeast-2"));
        assert_eq!(r.region_of(ip("3.5.144.0")), None);
        assert_eq!(r.region_of(ip("52.1.2.3")), Some("us-east-1"));
        // 52.94.0.0/16 lies inside 52.0.0.0/8: the longer prefix wins.
        assert_eq!(r.region_of(ip("52.94.7.7")), Some("eu-west-1"));
        // Only AMAZON entries count.
        assert_eq!(r.region_of(ip("13.32.0.1")), None);
        assert_eq!(r.region_of(ip("8.8.8.8")), None);
        // An IPv4 client seen through a dual-stack socket.
        assert_eq!(r.region_of(ip("::ffff:52.94.1.1")), Some("eu-west-1"));
    }

    #[test]
    fn aws_ranges_v6_contains_and_longest_prefix() {
        let r = ranges();
        assert_eq!(r.region_of(ip("2600:1f00::1")), Some("us-west-2"));
        assert_eq!(r.region_of(ip("2600:1fff:ffff::1")), Some("us-west-2"));
        assert_eq!(r.region_of(ip("2600:1f14:1000::5")), Some("us-east-1"));
        assert_eq!(r.region_of(ip("2600:1f14:2000::5")), Some("us-west-2"));
        assert_eq!(r.region_of(ip("2a05:d000::1")), None);
        assert_eq!(r.region_of(ip("2001:db8::1")), None);
    }

    #[test]
    fn aws_ranges_bad_input_is_a_clear_error() {
        let e = AwsIpRanges::parse(b"{not json").unwrap_err();
        assert!(e.contains("not a valid ip-ranges.json"), "{e}");
        let e = AwsIpRanges::parse(
            br#"{"prefixes":[{"ip_prefix":"3.5.140.0/33","region":"x","service":"AMAZON"}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("3.5.140.0/33") && e.contains("IPv4 CIDR"), "{e}");
        let e = AwsIpRanges::parse(
            br#"{"ipv6_prefixes":[{"ipv6_prefix":"2600:zz::/24","region":"x","service":"AMAZON"}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("2600:zz::/24") && e.contains("IPv6 CIDR"), "{e}");
    }

    #[test]
    fn aws_ranges_load() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AwsIpRanges::load(&dir.path().join("missing.json"))
            .unwrap()
            .is_none());
        let file = dir.path().join("ip-ranges.json");
        std::fs::write(&file, RANGES).unwrap();
        let r = AwsIpRanges::load(&file).unwrap().unwrap();
        assert_eq!(r.region_of(ip("52.1.2.3")), Some("us-east-1"));
        std::fs::write(&file, "[]").unwrap();
        let e = AwsIpRanges::load(&file).unwrap_err();
        assert!(e.contains("ip-ranges.json"), "{e}");
    }

    // --- CloudFront ---------------------------------------------------------------------------

    fn cloudfront(dir: &Path, key_file: &str) -> Result<CdnSigner, StorageError> {
        CdnSigner::from_params(
            "cf_loc",
            CLOUDFRONT,
            &obj(serde_json::json!({
                "cloudfront_distribution_domain": "d111.cloudfront.net",
                "cloudfront_key_id": "K2JCJMDEHXQW5F",
                "cloudfront_privatekey_filename": key_file,
                "cloudfront_distribution_org_overrides": {},
                "storage_path": "/datastorage/registry",
                "s3_bucket": "bucket",
                "s3_access_key": "AKIA",
                "s3_secret_key": "secret",
            })),
            Some(dir),
        )
    }

    /// Undoes CloudFront's URL-safe base64.
    fn cloudfront_b64_decode(s: &str) -> Vec<u8> {
        let std_b64: String = s
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '=',
                '~' => '/',
                c => c,
            })
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(std_b64)
            .unwrap()
    }

    #[test]
    fn cloudfront_signs_a_canned_policy_verifiable_with_the_public_key() {
        let dir = key_dir();
        for key_file in ["pkcs1.pem", "pkcs8.pem"] {
            let signer = cloudfront(dir.path(), key_file).unwrap();
            assert_eq!(signer.expires_override(), None);
            let now = at(1_700_000_000, 700);
            let url = signer
                .sign(
                    "https://s3.amazonaws.com/bucket/x?X-Amz-Signature=1",
                    "sha256/ab/abcdef",
                    &client("8.8.8.8"),
                    Duration::from_millis(60_500),
                    now,
                    Some(&ranges()),
                )
                .unwrap();
            let (base, query) = url.split_once('?').unwrap();
            assert_eq!(base, "https://d111.cloudfront.net/sha256/ab/abcdef");
            let params: Vec<(&str, &str)> = query
                .split('&')
                .map(|p| p.split_once('=').unwrap())
                .collect();
            assert_eq!(params.len(), 3);
            assert_eq!(params[0], ("Expires", "1700000061"));
            assert_eq!(params[1].0, "Signature");
            assert_eq!(params[2], ("Key-Pair-Id", "K2JCJMDEHXQW5F"));
            let policy = format!(
                "{{\"Statement\":[{{\"Resource\":\"{base}\",\"Condition\":{{\"DateLessThan\":{{\"AWS:EpochTime\":1700000061}}}}}}]}}"
            );
            let sig = cloudfront_b64_decode(params[1].1);
            public_key()
                .verify(
                    Pkcs1v15Sign::new::<Sha1>(),
                    &Sha1::digest(policy.as_bytes()),
                    &sig,
                )
                .unwrap();
        }
    }

    #[test]
    fn cloudfront_no_client_ip_or_aws_client_gets_s3() {
        let dir = key_dir();
        let signer = cloudfront(dir.path(), "pkcs1.pem").unwrap();
        let sign = |req: &DownloadRequest, aws: Option<&AwsIpRanges>| {
            signer.sign(
                "https://s3/x",
                "sha256/ab/abcd",
                req,
                Duration::from_secs(60),
                at(1_700_000_000, 0),
                aws,
            )
        };
        let r = ranges();
        assert_eq!(sign(&DownloadRequest::default(), Some(&r)), None);
        assert_eq!(sign(&client("3.5.140.9"), Some(&r)), None);
        assert_eq!(sign(&client("2600:1f00::9"), Some(&r)), None);
        // Without ranges configured, nobody counts as inside AWS.
        assert!(sign(&client("3.5.140.9"), None).is_some());
        assert!(sign(&client("9.9.9.9"), Some(&r)).is_some());
    }

    #[test]
    fn cloudfront_key_file_errors_name_location_and_key() {
        let dir = key_dir();
        let missing = dir.path().join("nope.pem");
        let e = cloudfront(dir.path(), "nope.pem").unwrap_err().to_string();
        assert!(
            e.starts_with("DISTRIBUTED_STORAGE_CONFIG.cf_loc.cloudfront_privatekey_filename"),
            "{e}"
        );
        assert!(
            e.contains(&format!("cannot read {}", missing.display())),
            "{e}"
        );
        assert!(e.contains("No such file or directory"), "{e}");

        let e = cloudfront(dir.path(), "bad.pem").unwrap_err().to_string();
        assert!(
            e.starts_with("DISTRIBUTED_STORAGE_CONFIG.cf_loc.cloudfront_privatekey_filename"),
            "{e}"
        );
        assert!(e.contains("bad.pem is not a PEM RSA private key"), "{e}");

        // An absolute name is used as is.
        let abs = dir.path().join("pkcs8.pem");
        let other = tempfile::tempdir().unwrap();
        assert!(cloudfront(other.path(), abs.to_str().unwrap()).is_ok());
    }

    #[test]
    fn cloudfront_param_errors() {
        let dir = key_dir();
        let e = CdnSigner::from_params(
            "loc",
            CLOUDFRONT,
            &obj(serde_json::json!({
                "cloudfront_distribution_domain": "d.net",
                "cloudfront_privatekey_filename": "pkcs1.pem",
            })),
            Some(dir.path()),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "DISTRIBUTED_STORAGE_CONFIG.loc.cloudfront_key_id is required"
        );
        let e = CdnSigner::from_params(
            "loc",
            CLOUDFRONT,
            &obj(serde_json::json!({
                "cloudfront_distribution_domain": "d.net",
                "cloudfront_key_id": "K",
                "cloudfront_privatekey_filename": "pkcs1.pem",
                "cloudfront_distribution_org_overrides": "nope",
            })),
            Some(dir.path()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("DISTRIBUTED_STORAGE_CONFIG.loc.cloudfront_distribution_org_overrides"),
            "{e}"
        );
        let e = CdnSigner::from_params("loc", "S3Storage", &Params::new(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("S3Storage") && e.contains("not a CDN"), "{e}");
    }

    // --- CloudFlare ---------------------------------------------------------------------------

    fn cloudflare(dir: &Path) -> CdnSigner {
        CdnSigner::from_params(
            "cfl",
            CLOUDFLARE,
            &obj(serde_json::json!({
                "cloudflare_domain": "cdn.example.com",
                "cloudflare_privatekey_filename": "pkcs8.pem",
                "s3_region": "us-east-1",
                "s3_bucket": "bucket",
                "storage_path": "/registry",
            })),
            Some(dir),
        )
        .unwrap()
    }

    const S3_URL: &str =
        "https://bucket.s3.us-east-1.amazonaws.com:443/registry/sha256/ab/abcd%3Aef\
        ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAEXAMPLE%2F20231114%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20231114T221320Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=0123456789abcdef";

    /// Form-decodes a query value, written out here independently of the module's decoder.
    fn unform(v: &str) -> String {
        let mut out = Vec::new();
        let b = v.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cloudflare_moves_the_url_and_signs_path_and_expiry() {
        let dir = key_dir();
        let signer = cloudflare(dir.path());
        assert_eq!(signer.expires_override(), None);
        let req = DownloadRequest {
            client_ip: Some(ip("203.0.113.9")),
            namespace: Some("my org/x".into()),
            username: Some("joe+1".into()),
            host: Some("quay.example.com".into()),
            repo_name: Some("repo".into()),
        };
        let url = signer
            .sign(
                S3_URL,
                "sha256/ab/abcd:ef",
                &req,
                Duration::from_millis(600_400),
                at(1_700_000_000, 700),
                // CloudFlare does not look at AWS ranges.
                Some(&ranges()),
            )
            .unwrap();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://cdn.example.com/registry/sha256/ab/abcd%3Aef");
        let pairs: Vec<(&str, &str)> = query
            .split('&')
            .map(|p| p.split_once('=').unwrap())
            .collect();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "X-Amz-Signature",
                "cf_sign",
                "cf_expiry",
                "region",
                "namespace",
                "username",
            ]
        );
        assert_eq!(
            pairs[1].1,
            "AKIAEXAMPLE%2F20231114%2Fus-east-1%2Fs3%2Faws4_request"
        );
        assert_eq!(pairs[5].1, "0123456789abcdef");
        assert_eq!(pairs[7].1, "1700000601");
        assert_eq!(pairs[8].1, "us-east-1");
        assert_eq!(pairs[9].1, "my+org%2Fx");
        assert_eq!(pairs[10].1, "joe%2B1");
        let sig_b64 = unform(pairs[6].1);
        assert!(!pairs[6].1.contains(['+', '/', '=']));
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig_b64)
            .unwrap();
        let signed = "/registry/sha256/ab/abcd%3Aef@1700000601";
        public_key()
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signed.as_bytes()),
                &sig,
            )
            .unwrap();
    }

    #[test]
    fn cloudflare_without_client_ip_gets_s3() {
        let dir = key_dir();
        let signer = cloudflare(dir.path());
        let out = signer.sign(
            S3_URL,
            "p",
            &DownloadRequest::default(),
            Duration::from_secs(60),
            at(1, 0),
            None,
        );
        assert_eq!(out, None);
        // Without namespace or username, neither is added.
        let url = signer
            .sign(
                S3_URL,
                "p",
                &client("10.0.0.1"),
                Duration::from_secs(60),
                at(1, 0),
                None,
            )
            .unwrap();
        assert!(url.contains("&region=us-east-1"), "{url}");
        assert!(
            !url.contains("namespace=") && !url.contains("username="),
            "{url}"
        );
    }

    #[test]
    fn cloudflare_bad_pem_names_location_and_key() {
        let dir = key_dir();
        let e = CdnSigner::from_params(
            "cfl",
            CLOUDFLARE,
            &obj(serde_json::json!({
                "cloudflare_domain": "cdn.example.com",
                "cloudflare_privatekey_filename": "bad.pem",
                "s3_region": "us-east-1",
            })),
            Some(dir.path()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("DISTRIBUTED_STORAGE_CONFIG.cfl.cloudflare_privatekey_filename"),
            "{e}"
        );
        assert!(e.contains("not a PEM RSA private key"), "{e}");
    }

    // --- Akamai -------------------------------------------------------------------------------

    const AKAMAI_SECRET: &str = "00112233445566778899aabbccddeeff";

    fn akamai_params(extra: Value) -> Params {
        let mut p = obj(serde_json::json!({
            "akamai_domain": "cdn.akamai.example",
            "akamai_shared_secret": AKAMAI_SECRET,
            "s3_region": "us-east-1",
            "s3_bucket": "bucket",
            "storage_path": "/registry",
        }));
        p.extend(obj(extra));
        p
    }

    fn akamai(extra: Value) -> Result<CdnSigner, StorageError> {
        CdnSigner::from_params("ak", AKAMAI, &akamai_params(extra), None)
    }

    /// The token computed here by hand from EdgeAuth's definition.
    fn expected_token(escaped: &str, exp: u64) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&hex::decode(AKAMAI_SECRET).unwrap()).unwrap();
        mac.update(format!("exp={exp}~url={escaped}").as_bytes());
        format!(
            "exp={exp}~hmac={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn akamai_moves_the_url_and_appends_an_edgeauth_token() {
        let signer = akamai(serde_json::json!({})).unwrap();
        assert_eq!(signer.expires_override(), Some(Duration::from_secs(3600)));
        let req = DownloadRequest {
            client_ip: Some(ip("52.94.1.1")), // eu-west-1: not the bucket's region
            namespace: Some("org".into()),
            username: Some("joe".into()),
            repo_name: Some("repo".into()),
            host: None,
        };
        let url = signer
            .sign(
                S3_URL,
                "sha256/ab/abcd:ef",
                &req,
                Duration::from_secs(60),
                at(1_700_000_000, 900),
                Some(&ranges()),
            )
            .unwrap();
        let s3_query = S3_URL.split_once('?').unwrap().1;
        let token = expected_token("%2fregistry%2fsha256%2fab%2fabcd%253Aef", 1_700_000_900);
        assert_eq!(
            url,
            format!(
                "https://cdn.akamai.example/registry/sha256/ab/abcd%3Aef?{s3_query}\
                 &region=us-east-1&namespace=org&username=joe&repo_name=repo\
                 &akamai_signature={token}"
            )
        );
    }

    #[test]
    fn akamai_escapes_early_in_lower_case() {
        assert_eq!(
            escape_early("/a b/c:d~e_f.g-h/%2F"),
            "%2fa%20b%2fc%3ad~e_f.g-h%2f%252F"
        );
        let signer = akamai(serde_json::json!({})).unwrap();
        let CdnSigner::Akamai(a) = &signer else {
            panic!("not akamai")
        };
        assert_eq!(
            a.edge_auth_token("/bucket/sha256/ab:cd", at(1_600_000_000, 0)),
            expected_token("%2fbucket%2fsha256%2fab%3acd", 1_600_000_900)
        );
    }

    #[test]
    fn akamai_in_region_or_no_ip_gets_s3() {
        let signer = akamai(serde_json::json!({})).unwrap();
        let sign = |req: &DownloadRequest, aws: Option<&AwsIpRanges>| {
            signer.sign(S3_URL, "p", req, Duration::from_secs(60), at(1, 0), aws)
        };
        let r = ranges();
        assert_eq!(sign(&DownloadRequest::default(), Some(&r)), None);
        assert_eq!(sign(&client("52.1.2.3"), Some(&r)), None); // us-east-1
        assert_eq!(sign(&client("2600:1f14::1"), Some(&r)), None); // us-east-1
        assert!(sign(&client("3.5.140.1"), Some(&r)).is_some()); // another AWS region
        assert!(sign(&client("52.1.2.3"), None).is_some());
    }

    #[test]
    fn akamai_param_errors() {
        let e = akamai(serde_json::json!({"akamai_shared_secret": "not hex!"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("DISTRIBUTED_STORAGE_CONFIG.ak.akamai_shared_secret must be a hex"),
            "{e}"
        );
        let e = akamai(serde_json::json!({"amz_encryption_token": "short"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "DISTRIBUTED_STORAGE_CONFIG.ak.amz_encryption_token must be 16, 24 or 32"
            ),
            "{e}"
        );
        let e = akamai(serde_json::json!({"akamai_domain": null}))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "DISTRIBUTED_STORAGE_CONFIG.ak.akamai_domain is required");
    }

    /// AES-CBC decryption written out in the test, to check the module's encryption.
    fn cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
        use aes::cipher::{BlockDecrypt, KeyInit};
        let mut prev: Vec<u8> = iv.to_vec();
        let mut out = Vec::new();
        for chunk in data.chunks(16) {
            let mut block = aes::Block::clone_from_slice(chunk);
            match key.len() {
                16 => aes::Aes128::new_from_slice(key)
                    .unwrap()
                    .decrypt_block(&mut block),
                32 => aes::Aes256::new_from_slice(key)
                    .unwrap()
                    .decrypt_block(&mut block),
                _ => unreachable!(),
            }
            out.extend(block.iter().zip(&prev).map(|(b, p)| b ^ p));
            prev = chunk.to_vec();
        }
        let pad = usize::from(*out.last().unwrap());
        assert!((1..=16).contains(&pad));
        assert!(out[out.len() - pad..]
            .iter()
            .all(|b| usize::from(*b) == pad));
        out.truncate(out.len() - pad);
        out
    }

    #[test]
    fn aes_cbc_matches_the_nist_vector() {
        // SP 800-38A F.2.1, CBC-AES128.Encrypt, first two blocks.
        let key = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let iv: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
            .unwrap()
            .try_into()
            .unwrap();
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
            .unwrap();
        let out = SignatureCipher::new(&key).unwrap().cbc_encrypt(&iv, &plain);
        assert_eq!(out.len(), 48);
        assert_eq!(
            hex::encode(&out[..32]),
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        );
        assert_eq!(cbc_decrypt(&key, &iv, &out), plain);
    }

    #[test]
    fn akamai_encryption_token_hides_the_s3_signature() {
        for token in ["0123456789abcdef", "0123456789abcdef0123456789abcdef"] {
            let signer = akamai(serde_json::json!({"amz_encryption_token": token})).unwrap();
            let url = signer
                .sign(
                    S3_URL,
                    "p",
                    &client("198.51.100.1"),
                    Duration::from_secs(60),
                    at(1_700_000_000, 0),
                    None,
                )
                .unwrap();
            let query = url.split_once('?').unwrap().1;
            let pairs: Vec<(&str, &str)> = query
                .split('&')
                .map(|p| p.split_once('=').unwrap())
                .collect();
            let value = |k: &str| pairs.iter().find(|(n, _)| *n == k).unwrap().1;
            assert!(!url.contains("0123456789abcdef&"), "{url}");
            let b64 = base64::engine::general_purpose::STANDARD;
            let encrypted = b64.decode(unform(value("X-Amz-Signature"))).unwrap();
            let iv = b64.decode(unform(value("initializationVector"))).unwrap();
            assert_eq!(iv.len(), 16);
            assert_eq!(
                cbc_decrypt(token.as_bytes(), &iv, &encrypted),
                b"0123456789abcdef"
            );
            // The rest of the S3 query is untouched, and the token still follows.
            assert_eq!(value("X-Amz-Date"), "20231114T221320Z");
            assert!(value("akamai_signature").starts_with("exp=1700000900~hmac="));
        }
    }

    // --- MultiCDN -----------------------------------------------------------------------------

    fn multi_params(providers: Value, default: &str, rules: Value) -> Params {
        obj(serde_json::json!({
            "storage_config": {
                "s3_bucket": "bucket",
                "s3_access_key": "AKIA",
                "s3_secret_key": "secret",
                "s3_region": "us-east-1",
                "storage_path": "/registry",
            },
            "providers": providers,
            "default_provider": default,
            "rules": rules,
        }))
    }

    fn providers() -> Value {
        serde_json::json!({
            "akamai": [AKAMAI, {"akamai_domain": "ak.example", "akamai_shared_secret": AKAMAI_SECRET}],
            "cloudflare": [CLOUDFLARE, {"cloudflare_domain": "cfl.example", "cloudflare_privatekey_filename": "pkcs1.pem", "s3_region": "eu-west-1"}],
            "cloudfront": [CLOUDFRONT, {"cloudfront_distribution_domain": "cf.example", "cloudfront_key_id": "K", "cloudfront_privatekey_filename": "pkcs8.pem"}],
        })
    }

    fn multi(dir: &Path, rules: Value) -> MultiCdn {
        MultiCdn::from_params(
            "multi",
            &multi_params(providers(), "cloudfront", rules),
            Some(dir),
        )
        .unwrap()
    }

    fn kind(s: &CdnSigner) -> &'static str {
        match s {
            CdnSigner::CloudFront(_) => "cloudfront",
            CdnSigner::CloudFlare(_) => "cloudflare",
            CdnSigner::Akamai(_) => "akamai",
        }
    }

    fn req(namespace: Option<&str>, host: Option<&str>) -> DownloadRequest {
        DownloadRequest {
            client_ip: Some(ip("203.0.113.1")),
            namespace: namespace.map(str::to_string),
            host: host.map(str::to_string),
            ..DownloadRequest::default()
        }
    }

    #[test]
    fn multicdn_selects_by_rules_in_order() {
        let dir = key_dir();
        let m = multi(
            dir.path(),
            serde_json::json!([
                {"namespace": "special", "continent": "EU", "target": "akamai"},
                {"namespace": "org1", "target": "cloudflare"},
                {"host": "eu.quay.example", "target": "akamai"},
                {"continent": "AS", "target": "cloudflare"},
            ]),
        );
        assert_eq!(m.storage_config()["s3_bucket"], "bucket");
        // Namespace rule.
        assert_eq!(kind(m.select(&req(Some("org1"), None), None)), "cloudflare");
        // Host rule.
        assert_eq!(
            kind(m.select(&req(None, Some("eu.quay.example")), Some("NA"))),
            "akamai"
        );
        // Continent rule, the continent passed in.
        assert_eq!(kind(m.select(&req(None, None), Some("AS"))), "cloudflare");
        // A rule giving several fields needs all of them.
        assert_eq!(
            kind(m.select(&req(Some("special"), None), Some("EU"))),
            "akamai"
        );
        assert_eq!(
            kind(m.select(&req(Some("special"), None), Some("NA"))),
            "cloudfront"
        );
        assert_eq!(
            kind(m.select(&req(Some("special"), None), None)),
            "cloudfront"
        );
        // First match wins.
        assert_eq!(
            kind(m.select(&req(Some("org1"), Some("eu.quay.example")), None)),
            "cloudflare"
        );
        // Default.
        assert_eq!(
            kind(m.select(&req(Some("other"), Some("quay.example")), Some("OC"))),
            "cloudfront"
        );
        assert_eq!(
            kind(m.select(&DownloadRequest::default(), None)),
            "cloudfront"
        );
    }

    #[test]
    fn multicdn_provider_params_override_storage_config() {
        let dir = key_dir();
        let m = multi(
            dir.path(),
            serde_json::json!([{"namespace": "n", "target": "cloudflare"}]),
        );
        let url = m
            .select(&req(Some("n"), None), None)
            .sign(
                S3_URL,
                "p",
                &req(None, None),
                Duration::from_secs(60),
                at(1, 0),
                None,
            )
            .unwrap();
        assert!(url.starts_with("https://cfl.example/"), "{url}");
        assert!(url.contains("&region=eu-west-1"), "{url}");
        // Akamai took s3_region from storage_config.
        let m = MultiCdn::from_params(
            "multi",
            &multi_params(providers(), "akamai", serde_json::json!([])),
            Some(dir.path()),
        )
        .unwrap();
        let url = m
            .select(&req(None, None), None)
            .sign(
                S3_URL,
                "p",
                &req(None, None),
                Duration::from_secs(60),
                at(1, 0),
                None,
            )
            .unwrap();
        assert!(url.contains("&region=us-east-1&"), "{url}");
    }

    fn multi_err(params: Params, dir: &Path) -> String {
        MultiCdn::from_params("multi", &params, Some(dir))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn multicdn_validation_errors() {
        let dir = key_dir();
        let d = dir.path();
        let base = || multi_params(providers(), "cloudfront", serde_json::json!([]));
        let with = |key: &str, value: Value| {
            let mut p = base();
            p.insert(key.to_string(), value);
            p
        };
        let without = |key: &str| {
            let mut p = base();
            p.remove(key);
            p
        };
        let check = |params: Params, needle: &str| {
            let e = multi_err(params, d);
            assert!(e.starts_with("DISTRIBUTED_STORAGE_CONFIG.multi."), "{e}");
            assert!(e.contains(needle), "{e:?} should contain {needle:?}");
        };

        let sc = "should be the configuration of the underlying storage (eg: S3)";
        check(without("storage_config"), sc);
        check(with("storage_config", serde_json::json!("s3")), sc);
        check(with("storage_config", serde_json::json!({})), sc);

        let pv = "providers should be a dict of storage providers with their configs";
        check(without("providers"), pv);
        check(with("providers", serde_json::json!({})), pv);

        check(without("default_provider"), "default provider not provided");
        check(
            with("default_provider", serde_json::json!("fastly")),
            "Default provider not found in configured providers",
        );

        let mut bad = providers();
        bad["cloudfront"] = serde_json::json!([CLOUDFRONT]);
        check(
            with("providers", bad),
            "Provider cloudfront invalid. Should contain provider name and config as list",
        );
        let mut bad = providers();
        bad["cloudfront"] = serde_json::json!({"driver": CLOUDFRONT});
        check(
            with("providers", bad),
            "Provider cloudfront invalid. Should contain provider name and config as list",
        );
        let mut bad = providers();
        bad["cloudfront"] = serde_json::json!(["S3Storage", {}]);
        check(
            with("providers", bad),
            "S3Storage is not a supported CDN provider",
        );

        check(
            with(
                "rules",
                serde_json::json!([{"namespace": "a", "region": "x", "target": "akamai"}]),
            ),
            r#"{"namespace":"a","region":"x","target":"akamai"} Invalid: region bad rule key. Should be one of [namespace, continent, host, target]"#,
        );
        check(
            with("rules", serde_json::json!([{"namespace": "a"}])),
            r#"target not configured for rule {"namespace":"a"}"#,
        );
        check(
            with(
                "rules",
                serde_json::json!([{"namespace": "a", "target": "fastly"}]),
            ),
            "fastly not in the configured targets",
        );
        check(
            with(
                "rules",
                serde_json::json!([{"continent": "EUROPE", "target": "akamai"}]),
            ),
            "EUROPE not a valid continent",
        );
        check(
            with("rules", serde_json::json!({"namespace": "a"})),
            "should be a list of rules",
        );
    }

    #[test]
    fn multicdn_provider_errors_name_location_and_key() {
        let dir = key_dir();
        let mut p = providers();
        p["cloudflare"][1]["cloudflare_privatekey_filename"] = serde_json::json!("missing.pem");
        let e = multi_err(
            multi_params(p, "cloudfront", serde_json::json!([])),
            dir.path(),
        );
        assert!(
            e.starts_with(
                "DISTRIBUTED_STORAGE_CONFIG.multi.providers.cloudflare.cloudflare_privatekey_filename cannot read "
            ),
            "{e}"
        );
        assert!(e.contains("missing.pem"), "{e}");
    }
}
