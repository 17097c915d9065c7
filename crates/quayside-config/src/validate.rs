//! Static configuration checks: config-tool's offline field-group checks plus Quay's boot-time
//! rules. No network or database I/O happens here; the app layer adds connectivity probes.

use std::fmt::Write as _;

use serde_json::Value;

use crate::bundle::BundleFiles;
use crate::config::Config;
use crate::types::{is_hostname, DURATION_PATTERN, SIZE_PATTERN};

/// One failed check, shaped like a row of config-tool's output table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationFailure {
    pub field_group: String,
    pub message: String,
}

impl ValidationFailure {
    fn new(field_group: &str, message: impl Into<String>) -> Self {
        ValidationFailure {
            field_group: field_group.to_string(),
            message: message.into(),
        }
    }
}

/// Storage driver names config-tool accepts (AkamaiS3Storage is valid in Python but rejected
/// by config-tool, and therefore here).
pub const VALID_STORAGE_TYPES: &[&str] = &[
    "LocalStorage",
    "RHOCSStorage",
    "RadosGWStorage",
    "IBMCloudStorage",
    "S3Storage",
    "STSS3Storage",
    "GoogleCloudStorage",
    "AzureStorage",
    "CloudFrontedS3Storage",
    "SwiftStorage",
    "CloudFlareStorage",
    "MultiCDNStorage",
];

pub const AUTHENTICATION_TYPES: &[&str] =
    &["Database", "LDAP", "JWT", "Keystone", "OIDC", "AppToken"];

/// Run every static check and return all failures (never stops at the first).
pub fn validate(config: &Config, bundle: &BundleFiles) -> Vec<ValidationFailure> {
    let mut out = Vec::new();
    host_settings(config, bundle, &mut out);
    database(config, &mut out);
    redis(config, &mut out);
    distributed_storage(config, &mut out);
    time_machine(config, &mut out);
    access_settings(config, &mut out);
    security_scanner(config, &mut out);
    repo_mirror(config, &mut out);
    action_log_archiving(config, &mut out);
    programmatic_bootstrap(config, &mut out);
    startup(config, &mut out);
    out
}

fn duration_msg(field: &str) -> String {
    format!("{field} must have the regex pattern {DURATION_PATTERN}")
}

fn non_empty_str<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn host_settings(c: &Config, bundle: &BundleFiles, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "HostSettings";
    let hostname = c.server_hostname.trim();
    if !c.is_set("SERVER_HOSTNAME") || hostname.is_empty() {
        out.push(ValidationFailure::new(FG, "SERVER_HOSTNAME is required"));
    } else if !is_hostname(hostname) {
        out.push(ValidationFailure::new(
            FG,
            "SERVER_HOSTNAME must be of type Hostname",
        ));
    } else {
        let host = hostname.split(':').next().unwrap_or(hostname);
        if host != "localhost" && !host.contains('.') {
            out.push(ValidationFailure::new(
                FG,
                format!(
                    "SERVER_HOSTNAME must be a fully qualified domain name (e.g. quay.example.com); \
                     single-label hostnames such as `{host}` are not supported by OpenShift"
                ),
            ));
        }
    }

    let scheme = c.preferred_url_scheme.as_str();
    if scheme != "http" && scheme != "https" {
        out.push(ValidationFailure::new(
            FG,
            "PREFERRED_URL_SCHEME must be one of http, https.",
        ));
    }
    if scheme == "https" && !c.external_tls_termination {
        match (&bundle.ssl_cert, &bundle.ssl_key) {
            (None, None) => out.push(ValidationFailure::new(
                FG,
                "Certificates are required for SSL but are not present",
            )),
            (None, Some(_)) => out.push(ValidationFailure::new(
                FG,
                "Certificate ssl.cert is required for HostSettings .",
            )),
            (Some(_), None) => out.push(ValidationFailure::new(
                FG,
                "Certificate ssl.key is required for HostSettings .",
            )),
            (Some(_), Some(_)) => {}
        }
    }

    if !matches!(c.registry_state.as_str(), "normal" | "readonly") {
        out.push(ValidationFailure::new(
            FG,
            "REGISTRY_STATE must be one of normal, readonly.",
        ));
    }
    if c.listen_ip().is_none() {
        out.push(ValidationFailure::new(
            FG,
            "FEATURE_LISTEN_IP_VERSION must be one of IPv4, IPv6, dual-stack.",
        ));
    }
    if !c.maximum_layer_size.is_valid() {
        out.push(ValidationFailure::new(
            FG,
            format!("MAXIMUM_LAYER_SIZE must have the regex pattern {SIZE_PATTERN}"),
        ));
    }
}

/// Schemes quayside can serve. MySQL is a real Quay option that quayside does not support.
pub const SUPPORTED_DB_SCHEMES: &[&str] =
    &["postgresql", "postgresql+psycopg2", "postgres", "sqlite"];

fn database(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "Database";
    let uri = c.db_uri.trim();
    if !c.is_set("DB_URI") || uri.is_empty() {
        out.push(ValidationFailure::new(FG, "DB_URI is required."));
        return;
    }
    let Some((scheme, _)) = uri.split_once("://") else {
        out.push(ValidationFailure::new(
            FG,
            "DB_URI must be a URI of the form <scheme>://..., e.g. postgresql://user:password@host:5432/quay",
        ));
        return;
    };
    let lower = scheme.to_ascii_lowercase();
    if lower == "mysql" || lower.starts_with("mysql+") {
        out.push(ValidationFailure::new(
            FG,
            format!(
                "DB_URI uses the MySQL scheme `{scheme}`; MySQL/MariaDB databases are not supported by quayside. \
                 Use PostgreSQL (postgresql://) or SQLite (sqlite://)."
            ),
        ));
        return;
    }
    if !SUPPORTED_DB_SCHEMES.contains(&scheme) {
        out.push(ValidationFailure::new(
            FG,
            format!(
                "DB_URI scheme `{scheme}` is not supported; it must be one of {}.",
                SUPPORTED_DB_SCHEMES.join(", ")
            ),
        ));
        return;
    }
    if scheme != "sqlite" {
        match url::Url::parse(uri) {
            Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => {}
            Ok(_) => out.push(ValidationFailure::new(
                FG,
                "DB_URI must name a database host",
            )),
            // url's error text never echoes the input, so no password can leak here.
            Err(e) => out.push(ValidationFailure::new(
                FG,
                format!("DB_URI is not a valid URI: {e}"),
            )),
        }
    }
}

fn redis(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "Redis";
    for (key, cfg) in [
        ("BUILDLOGS_REDIS", &c.buildlogs_redis),
        ("USER_EVENTS_REDIS", &c.user_events_redis),
    ] {
        if !c.is_set(key) {
            out.push(ValidationFailure::new(FG, format!("{key} is required")));
        } else if cfg.host().is_none_or(|h| h.trim().is_empty()) {
            out.push(ValidationFailure::new(
                FG,
                format!("{key}.HOST is required"),
            ));
        }
    }
    if c.is_set("PULL_METRICS_REDIS")
        && c.pull_metrics_redis
            .host()
            .is_none_or(|h| h.trim().is_empty())
    {
        out.push(ValidationFailure::new(
            FG,
            "PULL_METRICS_REDIS.HOST is required",
        ));
    }
}

/// Statically required parameters per driver (config-tool's required-field checks; the
/// bucket/credential probes that follow them need network access and belong to the app).
fn required_storage_params(driver: &str) -> &'static [&'static str] {
    match driver {
        "LocalStorage" => &["storage_path"],
        "RHOCSStorage" | "RadosGWStorage" | "IBMCloudStorage" => {
            &["access_key", "secret_key", "hostname", "bucket_name"]
        }
        "S3Storage" | "STSS3Storage" => &["s3_bucket"],
        "GoogleCloudStorage" => &["access_key", "secret_key", "bucket_name"],
        "AzureStorage" => &["azure_container", "azure_account_name"],
        "CloudFrontedS3Storage" => &[
            "s3_access_key",
            "s3_secret_key",
            "s3_bucket",
            "cloudfront_distribution_domain",
            "cloudfront_key_id",
        ],
        "SwiftStorage" => &[
            "auth_url",
            "swift_container",
            "swift_user",
            "swift_password",
        ],
        "CloudFlareStorage" => &[
            "s3_access_key",
            "s3_secret_key",
            "s3_bucket",
            "cloudflare_domain",
        ],
        "MultiCDNStorage" => &["default_provider"],
        _ => &[],
    }
}

fn distributed_storage(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "DistributedStorage";
    const KEY: &str = "DISTRIBUTED_STORAGE_CONFIG";
    if !c.is_set(KEY) {
        out.push(ValidationFailure::new(FG, format!("{KEY} is required")));
        return;
    }
    if c.distributed_storage_config.is_empty() {
        out.push(ValidationFailure::new(
            FG,
            "DISTRIBUTED_STORAGE_CONFIG must contain at least one storage location.",
        ));
        return;
    }
    for (id, loc) in &c.distributed_storage_config {
        if !VALID_STORAGE_TYPES.contains(&loc.driver.as_str()) {
            out.push(ValidationFailure::new(
                FG,
                format!("{} is not a valid storage type.", loc.driver),
            ));
            continue;
        }
        if loc.driver == "LocalStorage" && c.features.storage_replication {
            out.push(ValidationFailure::new(
                FG,
                "FEATURE_STORAGE_REPLICATION is not supported by LocalStorage.",
            ));
        }
        for param in required_storage_params(&loc.driver) {
            match loc.params.get(*param) {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                Some(
                    v @ (Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_)),
                ) => out.push(ValidationFailure::new(
                    FG,
                    format!(
                        "{KEY}.{id}.{param} must be a string, found {}",
                        crate::types::describe(v)
                    ),
                )),
                _ => out.push(ValidationFailure::new(
                    FG,
                    format!("{KEY}.{id}.{param} is required"),
                )),
            }
        }
        if loc.driver == "MultiCDNStorage" {
            for param in ["providers", "storage_config"] {
                if !loc.params.get(param).is_some_and(Value::is_object) {
                    out.push(ValidationFailure::new(
                        FG,
                        format!("{KEY}.{id}.{param} is required"),
                    ));
                }
            }
        }
        if loc.driver == "SwiftStorage" {
            if let Some(v) = loc.params.get("auth_version") {
                // Quay's own examples write it as a string ("3") as often as a number.
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                if !matches!(n, Some(1..=3)) {
                    out.push(ValidationFailure::new(
                        FG,
                        format!("{v} must be either 1, 2, or 3."),
                    ));
                }
            }
        }
    }

    let from_env =
        c.origin_of("DISTRIBUTED_STORAGE_PREFERENCE") == Some(crate::load::STORAGE_PREFERENCE_ENV);
    for (key, list) in [
        (
            "DISTRIBUTED_STORAGE_PREFERENCE",
            &c.distributed_storage_preference,
        ),
        (
            "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
            &c.distributed_storage_default_locations,
        ),
    ] {
        // Only lists the configuration names: Quay's built-in default
        // (`[local_us]`) is not an error for a config without `local_us`.
        if !c.is_set(key) {
            continue;
        }
        for id in list {
            if !c.distributed_storage_config.contains_key(id) {
                let via = if key == "DISTRIBUTED_STORAGE_PREFERENCE" && from_env {
                    " (set via QUAY_DISTRIBUTED_STORAGE_PREFERENCE)"
                } else {
                    ""
                };
                out.push(ValidationFailure::new(
                    FG,
                    format!("{key} entry `{id}`{via} is not a location defined in {KEY}."),
                ));
            }
        }
    }
}

fn time_machine(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "TimeMachine";
    if !c.tag_expiration_options.contains(&c.default_tag_expiration) {
        out.push(ValidationFailure::new(
            FG,
            "The default tag expiration period must be included in the allowed expiration periods.",
        ));
    }
    if !c.default_tag_expiration.is_valid() {
        out.push(ValidationFailure::new(
            FG,
            duration_msg("DEFAULT_TAG_EXPIRATION"),
        ));
    }
    for opt in &c.tag_expiration_options {
        if !opt.is_valid() {
            out.push(ValidationFailure::new(
                FG,
                format!("TAG_EXPIRATION_OPTIONS entry `{}` must have the regex pattern {DURATION_PATTERN}", opt.as_str()),
            ));
        }
    }
}

fn access_settings(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "AccessSettings";
    if !AUTHENTICATION_TYPES.contains(&c.authentication_type.as_str()) {
        out.push(ValidationFailure::new(
            FG,
            format!(
                "AUTHENTICATION_TYPE must be one of {}.",
                AUTHENTICATION_TYPES.join(", ")
            ),
        ));
    }
    // config-tool counts any other `*_LOGIN_CONFIG` key as an OIDC login provider.
    let has_oidc_login = c.raw().keys().any(|k| {
        k.ends_with("_LOGIN_CONFIG") && k != "GITHUB_LOGIN_CONFIG" && k != "GOOGLE_LOGIN_CONFIG"
    });
    let f = &c.features;
    if c.authentication_type == "Database"
        && !has_oidc_login
        && !(f.direct_login || f.github_login || f.google_login)
    {
        out.push(ValidationFailure::new(
            FG,
            "At least one of FEATURE_DIRECT_LOGIN,FEATURE_GITHUB_LOGIN,FEATURE_GOOGLE_LOGIN must be enabled",
        ));
    }
    for (key, d) in [
        ("FRESH_LOGIN_TIMEOUT", &c.fresh_login_timeout),
        ("SESSION_TIMEOUT", &c.session_timeout),
        (
            "USER_RECOVERY_TOKEN_LIFETIME",
            &c.user_recovery_token_lifetime,
        ),
    ] {
        if !d.is_valid() {
            out.push(ValidationFailure::new(FG, duration_msg(key)));
        }
    }
    if !f.user_creation && f.invite_only_user_creation {
        out.push(ValidationFailure::new(
            FG,
            "INVITE_USER_ONLY_CREATION requires FEATURE_USER_CREATION to be enabled",
        ));
    }
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

fn security_scanner(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "SecurityScanner";
    if !c.features.security_scanner {
        return;
    }
    let v2 = non_empty_str(c, "SECURITY_SCANNER_ENDPOINT");
    let v4 = c
        .security_scanner_v4_endpoint
        .as_deref()
        .filter(|s| !s.is_empty());
    if v2.is_none() && v4.is_none() {
        out.push(ValidationFailure::new(
            FG,
            "At least one of SECURITY_SCANNER_ENDPOINT,SECURITY_SCANNER_V4_ENDPOINT must be present",
        ));
        return;
    }
    for (key, val) in [
        ("SECURITY_SCANNER_ENDPOINT", v2),
        ("SECURITY_SCANNER_V4_ENDPOINT", v4),
    ] {
        if let Some(v) = val {
            if !is_http_url(v) {
                out.push(ValidationFailure::new(
                    FG,
                    format!("{key} must be of type URL"),
                ));
            }
        }
    }
}

fn repo_mirror(c: &Config, out: &mut Vec<ValidationFailure>) {
    if let Some(h) = non_empty_str(c, "REPO_MIRROR_SERVER_HOSTNAME") {
        if !is_hostname(h.trim()) {
            out.push(ValidationFailure::new(
                "RepoMirror",
                "REPO_MIRROR_SERVER_HOSTNAME must be of type Hostname",
            ));
        }
    }
}

fn action_log_archiving(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "ActionLogArchiving";
    if !c.features.action_log_rotation {
        return;
    }
    // Quay defaults: ACTION_LOG_ARCHIVE_LOCATION=local_us, ACTION_LOG_ARCHIVE_PATH=actionlogarchive/.
    let location = match c.get("ACTION_LOG_ARCHIVE_LOCATION") {
        None => Some("local_us"),
        Some(v) => v.as_str().filter(|s| !s.is_empty()),
    };
    let path_ok = match c.get("ACTION_LOG_ARCHIVE_PATH") {
        None => true,
        Some(v) => v.as_str().is_some_and(|s| !s.is_empty()),
    };
    if !path_ok {
        out.push(ValidationFailure::new(
            FG,
            "ACTION_LOG_ARCHIVE_PATH is required",
        ));
    }
    match location {
        None => out.push(ValidationFailure::new(FG, "ACTION_LOG_ARCHIVE_LOCATION is required")),
        Some(loc) if !c.distributed_storage_config.contains_key(loc) => out.push(ValidationFailure::new(
            FG,
            format!("ACTION_LOG_ARCHIVE_LOCATION `{loc}` is not a location defined in DISTRIBUTED_STORAGE_CONFIG."),
        )),
        Some(_) => {}
    }
}

fn programmatic_bootstrap(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "ProgrammaticBootstrap";
    if !c.features.programmatic_bootstrap {
        return;
    }
    match c
        .bootstrap_token_owner
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => out.push(ValidationFailure::new(
            FG,
            "BOOTSTRAP_TOKEN_OWNER is required when FEATURE_PROGRAMMATIC_BOOTSTRAP is enabled",
        )),
        Some(owner) if !c.super_users.iter().any(|u| u == owner) => {
            out.push(ValidationFailure::new(
                FG,
                format!("BOOTSTRAP_TOKEN_OWNER `{owner}` must be listed in SUPER_USERS"),
            ))
        }
        Some(_) => {}
    }
}

/// Quay's own boot-time refusals (boot.py / app.py), which config-tool does not check.
fn startup(c: &Config, out: &mut Vec<ValidationFailure>) {
    const FG: &str = "Startup";
    if !c.setup_complete {
        out.push(ValidationFailure::new(
            FG,
            "Your configuration bundle is either not mounted or setup has not been completed",
        ));
    } else if c
        .database_secret_key
        .as_deref()
        .is_none_or(|k| k.is_empty())
    {
        out.push(ValidationFailure::new(
            FG,
            "Missing DATABASE_SECRET_KEY in config; did you perhaps forget to add it?",
        ));
    }
    if c.features.storage_replication
        && (!c.is_set("DISTRIBUTED_STORAGE_PREFERENCE")
            || c.distributed_storage_preference.is_empty())
    {
        out.push(ValidationFailure::new(
            FG,
            "Missing storage preference: FEATURE_STORAGE_REPLICATION is enabled but no \
             DISTRIBUTED_STORAGE_PREFERENCE is configured; set it in config.yaml or set the \
             QUAY_DISTRIBUTED_STORAGE_PREFERENCE environment variable",
        ));
    }
}

/// Render failures as a `Field Group | Error` table for the CLI. Multi-line messages are
/// continued in the Error column.
pub fn render_table(failures: &[ValidationFailure]) -> String {
    const H1: &str = "Field Group";
    const H2: &str = "Error";
    let width = failures
        .iter()
        .map(|f| f.field_group.chars().count())
        .chain(std::iter::once(H1.len()))
        .max()
        .unwrap_or(H1.len());
    let msg_width = failures
        .iter()
        .flat_map(|f| f.message.lines().map(|l| l.chars().count()))
        .chain(std::iter::once(H2.len()))
        .max()
        .unwrap_or(H2.len());
    let mut s = String::new();
    let _ = writeln!(s, "{H1:<width$} | {H2}");
    let _ = writeln!(s, "{}-+-{}", "-".repeat(width), "-".repeat(msg_width));
    if failures.is_empty() {
        let _ = writeln!(s, "{:<width$} | (no validation errors)", "");
    }
    for f in failures {
        let mut lines = f.message.lines();
        let first = lines.next().unwrap_or("");
        let _ = writeln!(s, "{:<width$} | {first}", f.field_group);
        for more in lines {
            let _ = writeln!(s, "{:<width$} | {more}", "");
        }
    }
    s
}
