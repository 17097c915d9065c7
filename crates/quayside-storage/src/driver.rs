//! The driver seam: a Quay `DISTRIBUTED_STORAGE_CONFIG` entry (`[DriverName, {params}]`)
//! becomes an OpenDAL operator. Adding a driver means adding one arm to
//! [`build_operator`] and running it through [`crate::testsuite`].

use opendal::Operator;
use serde_json::{Map, Value};

use crate::StorageError;

/// Every driver name Quay accepts in `DISTRIBUTED_STORAGE_CONFIG`.
pub const QUAY_DRIVER_NAMES: &[&str] = &[
    "LocalStorage",
    "S3Storage",
    "STSS3Storage",
    "CloudFrontedS3Storage",
    "CloudFlareStorage",
    "AkamaiS3Storage",
    "MultiCDNStorage",
    "GoogleCloudStorage",
    "AzureStorage",
    "RadosGWStorage",
    "RHOCSStorage",
    "IBMCloudStorage",
    "SwiftStorage",
];

/// Drivers this build can actually open.
pub const SUPPORTED_DRIVER_NAMES: &[&str] = &[
    "LocalStorage",
    "S3Storage",
    "STSS3Storage",
    "RadosGWStorage",
    "RHOCSStorage",
    "IBMCloudStorage",
    "GoogleCloudStorage",
    "AzureStorage",
    "CloudFrontedS3Storage",
    "CloudFlareStorage",
    "AkamaiS3Storage",
    "MultiCDNStorage",
    "SwiftStorage",
];

/// The parameters of Quay's CDN drivers that are the CDN's own; the rest are `S3Storage`'s,
/// for the bucket behind the CDN.
const CDN_PARAMS: &[(&str, &[&str])] = &[
    (
        "CloudFrontedS3Storage",
        &[
            "cloudfront_distribution_domain",
            "cloudfront_key_id",
            "cloudfront_privatekey_filename",
            "cloudfront_distribution_org_overrides",
        ],
    ),
    (
        "CloudFlareStorage",
        &["cloudflare_domain", "cloudflare_privatekey_filename"],
    ),
    (
        "AkamaiS3Storage",
        &[
            "akamai_domain",
            "akamai_shared_secret",
            "amz_encryption_token",
        ],
    ),
];

/// The CDN in front of a location's bucket: one, or Quay's rule-chosen several.
#[derive(Debug)]
pub(crate) enum Cdn {
    One(crate::cdn::CdnSigner),
    Multi(crate::cdn::MultiCdn),
}

/// AWS's published ranges (`ip-ranges.json`) next to `config.yaml`, read when a CDN location
/// is opened: clients inside AWS get the S3 URL instead of the CDN's, as Quay decides with
/// the copy it ships. Without the file every client is outside AWS.
pub const AWS_IP_RANGES_FILE: &str = "aws-ip-ranges.json";

/// A CDN location's CDN with the AWS ranges beside its config; `None` for other drivers.
pub(crate) fn cdn_with_ranges(
    loc: &LocationConfig,
) -> Result<Option<(Cdn, Option<crate::cdn::AwsIpRanges>)>, StorageError> {
    let Some(cdn) = cdn(loc)? else {
        return Ok(None);
    };
    let ranges = match &loc.config_dir {
        None => None,
        Some(dir) => {
            let path = dir.join(AWS_IP_RANGES_FILE);
            crate::cdn::AwsIpRanges::load(&path).map_err(|problem| StorageError::InvalidParam {
                location: loc.id.clone(),
                param: AWS_IP_RANGES_FILE.into(),
                problem: format!(
                    "({}) is not AWS's ip-ranges.json: {problem}",
                    path.display()
                ),
            })?
        }
    };
    Ok(Some((cdn, ranges)))
}

/// The CDN signer of a CDN driver's location (its key files read now, so a bad key is a
/// start-up error naming the location and the key); `None` for every other driver.
fn cdn(loc: &LocationConfig) -> Result<Option<Cdn>, StorageError> {
    let dir = loc.config_dir.as_deref();
    match loc.driver.as_str() {
        "MultiCDNStorage" => Ok(Some(Cdn::Multi(crate::cdn::MultiCdn::from_params(
            &loc.id,
            &loc.params,
            dir,
        )?))),
        d if CDN_PARAMS.iter().any(|(name, _)| *name == d) => Ok(Some(Cdn::One(
            crate::cdn::CdnSigner::from_params(&loc.id, d, &loc.params, dir)?,
        ))),
        _ => Ok(None),
    }
}

/// The `S3Storage` location behind a CDN driver's location: its S3 parameters (for
/// `MultiCDNStorage`, its `storage_config`).
fn bucket_behind_cdn(loc: &LocationConfig) -> Result<LocationConfig, StorageError> {
    let params = if loc.driver == "MultiCDNStorage" {
        match loc.params.get("storage_config") {
            Some(Value::Object(m)) => m.clone(),
            _ => {
                return Err(StorageError::InvalidParam {
                    location: loc.id.clone(),
                    param: "storage_config".into(),
                    problem: "must be the configuration of the S3 storage under the CDNs".into(),
                })
            }
        }
    } else {
        let own = CDN_PARAMS
            .iter()
            .find(|(name, _)| *name == loc.driver)
            .map_or(&[][..], |(_, keys)| *keys);
        loc.params
            .iter()
            .filter(|(k, _)| !own.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    Ok(LocationConfig {
        id: loc.id.clone(),
        driver: "S3Storage".into(),
        params,
        config_dir: loc.config_dir.clone(),
        gcs_endpoint: None,
    })
}

/// Google Cloud Storage's XML API, where Quay's `GoogleCloudStorage` sends every request.
pub const GCS_ENDPOINT: &str = "https://storage.googleapis.com";

/// Environment variable that moves [`GCS_ENDPOINT`] (Quay has no parameter for it): a
/// GCS-compatible gateway, or a test server.
pub const GCS_ENDPOINT_ENV: &str = "QUAYSIDE_GCS_ENDPOINT";

/// One configured storage location, as read from Quay's config.
#[derive(Clone, Debug, Default)]
pub struct LocationConfig {
    /// The location id (the key in `DISTRIBUTED_STORAGE_CONFIG`, and the
    /// `imagestoragelocation.name` row).
    pub id: String,
    /// Quay's driver name, e.g. `LocalStorage`.
    pub driver: String,
    /// The driver's keyword parameters.
    pub params: Map<String, Value>,
    /// The directory of `config.yaml`: key files a driver names (a CDN's signing key) are
    /// read relative to it, as Quay reads them from its config volume.
    pub config_dir: Option<std::path::PathBuf>,
    /// Where a `GoogleCloudStorage` location sends its requests instead of
    /// [`GCS_ENDPOINT`] (from [`GCS_ENDPOINT_ENV`]); ignored by other drivers.
    pub gcs_endpoint: Option<String>,
}

/// Which backend an engine talks to; decides capabilities such as append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverKind {
    Local,
    Memory,
    /// The S3 protocol: `S3Storage`, `STSS3Storage`, `RadosGWStorage`, `RHOCSStorage`,
    /// `IBMCloudStorage`.
    S3,
    /// Azure Blob Storage: `AzureStorage`.
    Azure,
    /// OpenStack Swift: `SwiftStorage`.
    Swift,
    /// Google Cloud Storage through its S3-interoperable XML API with HMAC keys:
    /// `GoogleCloudStorage`. The XML API lacks three S3 calls (ListObjectsV2, multi-object
    /// delete, UploadPartCopy), so this dialect never sends them.
    Gcs,
}

/// The HTTP client every object-store operator sends through: reqwest over rustls with the
/// `ring` provider the rest of quayside uses, installed once per process.
fn install_http_transport() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed the provider first; that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal::HttpTransporter::install_default(
            opendal_http_transport_reqwest::ReqwestTransport::default(),
        );
    });
}

/// What every remote store gets on top of its service: a timeout per call and per body read
/// (so a hung store answers as unavailable instead of holding the request), and a few quick
/// retries of temporary failures. A pooled connection the store closed between requests, a
/// 503 SlowDown or a body cut mid-stream is retried, a cut read resuming at the byte it
/// reached; an outage still surfaces within about a second. The timeout sits inside the
/// retry, as OpenDAL requires, so a retried call gets a fresh timeout.
fn remote_layers(op: Operator) -> Operator {
    op.layer(opendal::layers::TimeoutLayer::default()).layer(
        opendal::layers::RetryLayer::default()
            .with_jitter()
            .with_min_delay(std::time::Duration::from_millis(50))
            .with_max_delay(std::time::Duration::from_millis(500))
            .with_max_times(3),
    )
}

/// What opening a location builds: its driver kind, its operator, and (for a Swift location
/// with a `temp_url_key`) the signer of its direct-download URLs.
pub(crate) struct Built {
    pub kind: DriverKind,
    pub op: Operator,
    pub swift_temp_url: Option<crate::swift::SwiftTempUrl>,
}

impl From<(DriverKind, Operator)> for Built {
    fn from((kind, op): (DriverKind, Operator)) -> Built {
        Built {
            kind,
            op,
            swift_temp_url: None,
        }
    }
}

pub(crate) fn build_operator(loc: &LocationConfig) -> Result<Built, StorageError> {
    if loc.driver == "SwiftStorage" {
        install_http_transport();
        let (op, swift_temp_url) = swift_operator(loc)?;
        return Ok(Built {
            kind: DriverKind::Swift,
            op: remote_layers(op),
            swift_temp_url,
        });
    }
    build_plain_operator(loc).map(Built::from)
}

fn build_plain_operator(loc: &LocationConfig) -> Result<(DriverKind, Operator), StorageError> {
    if loc.driver != "LocalStorage" {
        install_http_transport();
    }
    match loc.driver.as_str() {
        "LocalStorage" => {
            let path = required_str(loc, "storage_path")?;
            reject_unexpected(loc, &["storage_path"])?;
            let builder = opendal::services::Fs::default().root(path);
            let op = Operator::new(builder).map_err(|source| backend(loc, "open", path, source))?;
            Ok((DriverKind::Local, op))
        }
        "S3Storage" | "STSS3Storage" | "RadosGWStorage" | "RHOCSStorage" | "IBMCloudStorage" => {
            let builder = s3_builder(loc)?;
            let op = Operator::new(builder).map_err(|source| backend(loc, "open", "", source))?;
            Ok((DriverKind::S3, remote_layers(op)))
        }
        "CloudFrontedS3Storage" | "CloudFlareStorage" | "AkamaiS3Storage" | "MultiCDNStorage" => {
            let bucket = bucket_behind_cdn(loc)?;
            let builder = s3_builder(&bucket).map_err(|e| match e {
                // The S3 keys are checked as S3Storage's; the message names the real driver.
                StorageError::InvalidParam {
                    location,
                    param,
                    problem,
                } => StorageError::InvalidParam {
                    location,
                    param,
                    problem: problem.replace("of S3Storage", &format!("of {}", loc.driver)),
                },
                other => other,
            })?;
            let op = Operator::new(builder).map_err(|source| backend(loc, "open", "", source))?;
            Ok((DriverKind::S3, remote_layers(op)))
        }
        "GoogleCloudStorage" => {
            let builder = gcs_builder(loc)?;
            let op = Operator::new(builder).map_err(|source| backend(loc, "open", "", source))?;
            // Parts of a chunked upload are joined by streaming them through quayside (as
            // Quay's GCS driver joins them client-side), and objects are deleted one by one.
            let op = op.layer(opendal::layers::CapabilityOverrideLayer::new(|mut cap| {
                cap.write_can_copy_from = false;
                cap.delete_max_size = Some(1);
                cap
            }));
            Ok((DriverKind::Gcs, remote_layers(op)))
        }
        "AzureStorage" => {
            let builder = azure_builder(loc)?;
            let op = Operator::new(builder).map_err(|source| backend(loc, "open", "", source))?;
            Ok((DriverKind::Azure, remote_layers(op)))
        }
        other if QUAY_DRIVER_NAMES.contains(&other) => Err(StorageError::UnsupportedDriver {
            location: loc.id.clone(),
            driver: other.to_string(),
        }),
        other => Err(StorageError::UnknownDriver {
            driver: other.to_string(),
        }),
    }
}

/// Quay's `SwiftStorage` parameters as an OpenDAL Swift operator whose requests go through a
/// [`crate::swift::SwiftTransport`] (login, storage URL, token renewal), and the signer of its
/// temp URLs when `temp_url_key` is set (the same login serves both).
fn swift_operator(
    loc: &LocationConfig,
) -> Result<(Operator, Option<crate::swift::SwiftTempUrl>), StorageError> {
    reject_unexpected(
        loc,
        &[
            "swift_container",
            "storage_path",
            "auth_url",
            "swift_user",
            "swift_password",
            "auth_version",
            "os_options",
            "ca_cert_path",
            "temp_url_key",
            "simple_path_concat",
            "connect_timeout",
            "retry_count",
            "retry_on_ratelimit",
        ],
    )?;
    let container = required_str(loc, "swift_container")?;
    let root = required_str(loc, "storage_path")?;
    let auth_url = required_str(loc, "auth_url")?;
    let user = required_str(loc, "swift_user")?;
    let password = required_str(loc, "swift_password")?;
    let invalid = |param: &str, problem: String| StorageError::InvalidParam {
        location: loc.id.clone(),
        param: param.to_string(),
        problem,
    };
    // Quay's `simple_path_concat` appends the layout path to `storage_path` without a `/`.
    // With a `storage_path` that ends in `/` the names are the same as without it; otherwise
    // they would be `<storage_path>sha256/...`, which quayside does not write, so such a
    // config is refused rather than served with objects at other names than Quay's.
    let simple_concat = match loc.params.get("simple_path_concat") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid(
                "simple_path_concat",
                "must be true or false".into(),
            ))
        }
    };
    let stripped = root.trim_start_matches('/');
    if simple_concat && !stripped.is_empty() && !stripped.ends_with('/') {
        return Err(invalid(
            "simple_path_concat",
            format!(
                "with storage_path {root:?} Quay names objects {stripped}sha256/...; quayside \
                 keeps them under {stripped}/ only: end storage_path with '/' (the same \
                 object names either way) or set simple_path_concat to false"
            ),
        ));
    }
    // Quay's default is Keystone v2.
    let version = match loc.params.get("auth_version") {
        None | Some(Value::Null) => 2,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(_) => 0,
    };
    let version = match version {
        1..=3 => version as u8,
        _ => {
            return Err(invalid(
                "auth_version",
                "must be 1, 2 or 3 (swiftclient's auth versions)".into(),
            ))
        }
    };
    let os_options = match loc.params.get("os_options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("os_options", "must be a mapping".into())),
    };
    if version == 3
        && ![
            "user_domain_name",
            "user_domain_id",
            "project_domain_name",
            "project_domain_id",
        ]
        .iter()
        .any(|k| os_options.get(*k).and_then(Value::as_str).is_some())
    {
        return Err(invalid(
            "os_options",
            "Swift auth v3 requires a domain (string) in os_options".into(),
        ));
    }
    let mut client = reqwest13::Client::builder();
    if let Some(path) = optional_str(loc, "ca_cert_path")? {
        let full = match &loc.config_dir {
            Some(dir) if !std::path::Path::new(path).is_absolute() => dir.join(path),
            _ => std::path::PathBuf::from(path),
        };
        let pem = std::fs::read(&full).map_err(|e| {
            invalid(
                "ca_cert_path",
                format!("cannot read {}: {e}", full.display()),
            )
        })?;
        let cert = reqwest13::Certificate::from_pem(&pem)
            .map_err(|e| invalid("ca_cert_path", format!("not a PEM certificate: {e}")))?;
        client = client.add_root_certificate(cert);
    }
    if let Some(t) = loc.params.get("connect_timeout").and_then(Value::as_f64) {
        client = client.connect_timeout(std::time::Duration::from_secs_f64(t.max(0.1)));
    }
    let client = client
        .build()
        .map_err(|e| invalid("ca_cert_path", format!("HTTP client: {e}")))?;
    let http = opendal::HttpTransporter::new(
        opendal_http_transport_reqwest::ReqwestTransport::new(client),
    );
    let login = crate::swift::SwiftLogin {
        version,
        auth_url: auth_url.to_string(),
        user: user.to_string(),
        password: password.to_string(),
        os_options,
    };
    let auth = std::sync::Arc::new(crate::swift::SwiftAuth::new(login, http.clone()));
    let temp_url = optional_str(loc, "temp_url_key")?.map(|key| crate::swift::SwiftTempUrl {
        key: key.to_string(),
        container: container.to_string(),
        prefix: swift_object_prefix(root),
        auth: auth.clone(),
    });
    let transport = crate::swift::SwiftTransport { inner: http, auth };
    let builder = opendal::services::Swift::default()
        .endpoint(crate::swift::PLACEHOLDER)
        .container(container)
        .root(root)
        .token("logged-in-on-first-request");
    let op = Operator::new(builder).map_err(|source| backend(loc, "open", "", source))?;
    let op = op.with_context(
        opendal::OperationContext::new()
            .with_http_transport(opendal::HttpTransporter::new(transport)),
    );
    Ok((op, temp_url))
}

/// The object-name prefix of a Swift location, as Quay joins `storage_path` (leading `/`
/// dropped) and a layout path: `datastorage/registry/` for `/datastorage/registry`, nothing
/// for `/`.
fn swift_object_prefix(storage_path: &str) -> String {
    let trimmed = storage_path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// Quay's S3-protocol drivers as one OpenDAL S3 service, each with Quay's parameter names.
/// Keys are `<storage_path>/<Quay's layout path>`, as Quay writes them; requests use path-style
/// addressing, which every S3-compatible server accepts.
fn s3_builder(loc: &LocationConfig) -> Result<opendal::services::S3, StorageError> {
    let driver = loc.driver.as_str();
    let mut b = opendal::services::S3::default()
        // Credentials come from the config, or from the standard AWS environment (as boto's
        // default chain), never from a profile file picked up by accident.
        .disable_config_load();
    let mut aws = false;
    match driver {
        "S3Storage" | "STSS3Storage" => {
            reject_unexpected(
                loc,
                if driver == "S3Storage" {
                    &[
                        "storage_path",
                        "s3_bucket",
                        "s3_access_key",
                        "s3_secret_key",
                        "s3_region",
                        "host",
                        "port",
                        "endpoint_url",
                        "maximum_chunk_size_gb",
                        "minimum_chunk_size_mb",
                        "aws_session_token",
                        "signature_version",
                    ]
                } else {
                    &[
                        "storage_path",
                        "s3_bucket",
                        "sts_role_arn",
                        "sts_user_access_key",
                        "sts_user_secret_key",
                        "s3_region",
                        "endpoint_url",
                        "maximum_chunk_size_gb",
                        "signature_version",
                    ]
                },
            )?;
            b = b.bucket(required_str(loc, "s3_bucket")?);
            let region = optional_str(loc, "s3_region")?;
            let endpoint = match (
                optional_str(loc, "endpoint_url")?,
                optional_str(loc, "host")?,
            ) {
                (Some(url), _) => url.to_string(),
                (None, Some(host)) if driver == "S3Storage" => match optional_port(loc)? {
                    Some(port) => format!("https://{host}:{port}"),
                    None => format!("https://{host}"),
                },
                _ => {
                    aws = true;
                    match region {
                        Some(r) if r.starts_with("cn-") => {
                            format!("https://s3.{r}.amazonaws.com.cn")
                        }
                        Some(r) => format!("https://s3.{r}.amazonaws.com"),
                        None => "https://s3.amazonaws.com".to_string(),
                    }
                }
            };
            b = b.endpoint(&endpoint).region(region.unwrap_or("us-east-1"));
            if driver == "S3Storage" {
                if let Some(k) = optional_str(loc, "s3_access_key")? {
                    b = b.access_key_id(k);
                }
                if let Some(k) = optional_str(loc, "s3_secret_key")? {
                    b = b.secret_access_key(k);
                }
                if let Some(t) = optional_str(loc, "aws_session_token")? {
                    b = b.session_token(t);
                }
            } else {
                b = b
                    .role_arn(required_str(loc, "sts_role_arn")?)
                    .role_session_name("quay");
                if let Some(k) = optional_str(loc, "sts_user_access_key")? {
                    b = b.access_key_id(k);
                }
                if let Some(k) = optional_str(loc, "sts_user_secret_key")? {
                    b = b.secret_access_key(k);
                }
            }
        }
        _ => {
            let mut allowed = vec![
                "hostname",
                "is_secure",
                "storage_path",
                "access_key",
                "secret_key",
                "bucket_name",
                "port",
                "signature_version",
                "maximum_chunk_size_mb",
            ];
            if driver != "IBMCloudStorage" {
                allowed.extend([
                    "region_name",
                    "minimum_chunk_size_mb",
                    "server_side_assembly",
                ]);
            }
            reject_unexpected(loc, &allowed)?;
            let host = required_str(loc, "hostname")?;
            let secure = required_bool(loc, "is_secure")?;
            let scheme = if secure { "https" } else { "http" };
            let endpoint = match optional_port(loc)? {
                Some(port) => format!("{scheme}://{host}:{port}"),
                None => format!("{scheme}://{host}"),
            };
            b = b
                .endpoint(&endpoint)
                .bucket(required_str(loc, "bucket_name")?)
                .access_key_id(required_str(loc, "access_key")?)
                .secret_access_key(required_str(loc, "secret_key")?)
                .region(optional_str(loc, "region_name")?.unwrap_or("us-east-1"));
        }
    }
    check_signature_version(loc)?;
    if aws {
        // Quay sends `ServerSideEncryption: AES256` on AWS; S3-compatible servers other than
        // AWS often refuse the header, so only AWS endpoints get it.
        b = b.server_side_encryption_with_s3_key();
    } else {
        b = b.disable_ec2_metadata();
    }
    Ok(b.root(&object_root(required_str(loc, "storage_path")?)))
}

/// `signature_version`, if given, must be SigV4: the only signature quayside sends.
fn check_signature_version(loc: &LocationConfig) -> Result<(), StorageError> {
    match optional_str(loc, "signature_version")? {
        Some(v) if v != "s3v4" && v != "v4" => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: "signature_version".into(),
            problem: format!("{v:?} is not supported; quayside signs with s3v4"),
        }),
        _ => Ok(()),
    }
}

/// Quay's `GoogleCloudStorage`: a bucket on GCS's XML API, HMAC keys signing AWS-style
/// (SigV4 with the region boto3 falls back to, `us-east-1`), objects under `storage_path`.
fn gcs_builder(loc: &LocationConfig) -> Result<opendal::services::S3, StorageError> {
    reject_unexpected(
        loc,
        &[
            "storage_path",
            "access_key",
            "secret_key",
            "bucket_name",
            "boto_timeout",
            "minimum_chunk_size_mb",
            "signature_version",
        ],
    )?;
    check_signature_version(loc)?;
    let endpoint = loc.gcs_endpoint.as_deref().unwrap_or(GCS_ENDPOINT);
    let b = opendal::services::S3::default()
        .disable_config_load()
        .disable_ec2_metadata()
        .disable_list_objects_v2()
        .endpoint(endpoint)
        .region("us-east-1")
        .bucket(required_str(loc, "bucket_name")?)
        .access_key_id(required_str(loc, "access_key")?)
        .secret_access_key(required_str(loc, "secret_key")?);
    Ok(b.root(&object_root(required_str(loc, "storage_path")?)))
}

/// Quay's `AzureStorage`: a container, the object prefix `storage_path`, and an account key
/// or a SAS token.
fn azure_builder(loc: &LocationConfig) -> Result<opendal::services::Azblob, StorageError> {
    reject_unexpected(
        loc,
        &[
            "azure_container",
            "storage_path",
            "azure_account_name",
            "azure_account_key",
            "sas_token",
            "endpoint_url",
        ],
    )?;
    let account = required_str(loc, "azure_account_name")?;
    let endpoint = match optional_str(loc, "endpoint_url")? {
        Some(url) => url.to_string(),
        None => format!("https://{account}.blob.core.windows.net"),
    };
    let mut b = opendal::services::Azblob::default()
        .container(required_str(loc, "azure_container")?)
        .account_name(account)
        .endpoint(&endpoint);
    if let Some(k) = optional_str(loc, "azure_account_key")? {
        b = b.account_key(k);
    }
    if let Some(t) = optional_str(loc, "sas_token")? {
        b = b.sas_token(t);
    }
    Ok(b.root(&object_root(required_str(loc, "storage_path")?)))
}

/// The direct-download signer of an `AzureStorage` location that has an account key (Quay
/// signs its blob URLs with it); `None` for every other location.
pub(crate) fn azure_signer(
    loc: &LocationConfig,
) -> Result<Option<crate::sas::AzureSigner>, StorageError> {
    if loc.driver != "AzureStorage" {
        return Ok(None);
    }
    let Some(key) = optional_str(loc, "azure_account_key")? else {
        return Ok(None);
    };
    let account = required_str(loc, "azure_account_name")?;
    let endpoint = match optional_str(loc, "endpoint_url")? {
        Some(url) => url.to_string(),
        None => format!("https://{account}.blob.core.windows.net"),
    };
    Ok(crate::sas::AzureSigner::new(
        &endpoint,
        account,
        required_str(loc, "azure_container")?,
        key,
        required_str(loc, "storage_path")?,
    ))
}

/// Quay joins `storage_path` (leading `/` dropped) and the layout path into the object key.
fn object_root(storage_path: &str) -> String {
    let trimmed = storage_path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{trimmed}/")
    }
}

/// The canonical root directory of a LocalStorage location (after [`build_operator`] made
/// it), where blob writes go straight to files; `None` for other drivers.
pub(crate) fn local_root(loc: &LocationConfig) -> Result<Option<std::path::PathBuf>, StorageError> {
    if loc.driver != "LocalStorage" {
        return Ok(None);
    }
    let path = required_str(loc, "storage_path")?;
    std::fs::canonicalize(path)
        .map(Some)
        .map_err(|e| StorageError::InvalidParam {
            location: loc.id.clone(),
            param: "storage_path".into(),
            problem: format!("is not a usable directory: {e}"),
        })
}

/// Checks a location's configuration and reachability without writing
/// anything (opening a LocalStorage operator would create its directory).
pub fn check_location(loc: &LocationConfig) -> Result<(), StorageError> {
    match loc.driver.as_str() {
        "LocalStorage" => {
            let path = required_str(loc, "storage_path")?;
            reject_unexpected(loc, &["storage_path"])?;
            let abs = std::path::absolute(path).map_err(|e| StorageError::InvalidParam {
                location: loc.id.clone(),
                param: "storage_path".into(),
                problem: format!("is not a usable path: {e}"),
            })?;
            match abs.ancestors().find(|a| a.exists()) {
                Some(a) if a.is_dir() => Ok(()),
                _ => Err(StorageError::InvalidParam {
                    location: loc.id.clone(),
                    param: "storage_path".into(),
                    problem: format!("{} is not a directory and cannot be created", abs.display()),
                }),
            }
        }
        // Everything else: the same refusals as opening it (a CDN's key files included).
        _ => {
            build_operator(loc)?;
            cdn_with_ranges(loc).map(|_| ())
        }
    }
}

pub(crate) fn memory_operator() -> Operator {
    // The memory service has no configuration that can fail.
    Operator::new(opendal::services::Memory::default())
        .unwrap_or_else(|e| panic!("in-memory storage cannot be built: {e}"))
}

fn required_str<'a>(loc: &'a LocationConfig, key: &str) -> Result<&'a str, StorageError> {
    match loc.params.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(StorageError::MissingParam {
            location: loc.id.clone(),
            param: key.to_string(),
        }),
        Some(_) => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: key.to_string(),
            problem: "must be a string".to_string(),
        }),
    }
}

fn optional_str<'a>(loc: &'a LocationConfig, key: &str) -> Result<Option<&'a str>, StorageError> {
    match loc.params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: key.to_string(),
            problem: "must be a string".to_string(),
        }),
    }
}

fn required_bool(loc: &LocationConfig, key: &str) -> Result<bool, StorageError> {
    match loc.params.get(key) {
        Some(Value::Bool(b)) => Ok(*b),
        None | Some(Value::Null) => Err(StorageError::MissingParam {
            location: loc.id.clone(),
            param: key.to_string(),
        }),
        Some(_) => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: key.to_string(),
            problem: "must be true or false".to_string(),
        }),
    }
}

/// `port`, as a number or a numeric string (both appear in Quay configs).
fn optional_port(loc: &LocationConfig) -> Result<Option<u16>, StorageError> {
    let bad = || StorageError::InvalidParam {
        location: loc.id.clone(),
        param: "port".to_string(),
        problem: "must be a port number (1-65535)".to_string(),
    };
    match loc.params.get("port") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(bad),
        Some(Value::String(s)) => s
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// Quay passes parameters as constructor keyword arguments, so an unexpected
/// key makes Quay refuse to start; we refuse the same way.
fn reject_unexpected(loc: &LocationConfig, allowed: &[&str]) -> Result<(), StorageError> {
    match loc.params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(StorageError::InvalidParam {
            location: loc.id.clone(),
            param: k.clone(),
            problem: format!("is not a parameter of {}", loc.driver),
        }),
        None => Ok(()),
    }
}

fn backend(
    loc: &LocationConfig,
    op: &'static str,
    path: &str,
    source: opendal::Error,
) -> StorageError {
    StorageError::Backend {
        location: loc.id.clone(),
        op,
        path: path.to_string(),
        source: Box::new(source),
    }
}
