//! The typed configuration and its construction from a raw key/value mapping.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::bundle::BundleFiles;
use crate::error::ConfigError;
use crate::features::Features;
use crate::redact;
use crate::types::{describe, truthy, DurationStr, SizeStr};

/// Origin label used for configs built in code via [`Config::from_value`].
pub const IN_MEMORY_ORIGIN: &str = "<in-memory config>";

/// Quay's default `ALLOWED_OCI_ARTIFACT_TYPES` (config.py).
const DEFAULT_OCI_ARTIFACT_TYPES: &[(&str, &[&str])] = &[
    (
        "application/vnd.oci.image.config.v1+json",
        &[
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dsse.envelope.v1+json",
            "text/spdx",
            "text/spdx+xml",
            "text/spdx+json",
            "application/vnd.syft+json",
            "application/vnd.cyclonedx",
            "application/vnd.cyclonedx+xml",
            "application/vnd.cyclonedx+json",
            "application/vnd.in-toto+json",
        ],
    ),
    (
        "application/vnd.cncf.helm.config.v1+json",
        &[
            "application/tar+gzip",
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        ],
    ),
    (
        "application/vnd.oci.source.image.config.v1+json",
        &["application/vnd.oci.image.layer.v1.tar+gzip"],
    ),
    (
        "application/vnd.unknown.config.v1+json",
        &[
            "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
            "application/vnd.cncf.openpolicyagent.data.layer.v1+json",
        ],
    ),
];

/// A Redis connection object (`BUILDLOGS_REDIS`, `USER_EVENTS_REDIS`, `PULL_METRICS_REDIS`).
/// The full parameter map is kept (it is passed straight to the client in Quay).
#[derive(Clone, PartialEq)]
pub struct RedisConfig {
    pub params: Map<String, Value>,
}

impl RedisConfig {
    fn localhost(db: Option<u64>) -> Self {
        let mut params = Map::new();
        params.insert("host".into(), Value::from("localhost"));
        if let Some(db) = db {
            params.insert("db".into(), Value::from(db));
        }
        RedisConfig { params }
    }

    pub fn host(&self) -> Option<&str> {
        self.params.get("host").and_then(Value::as_str)
    }
    /// Port, defaulting to 6379 like redis-py.
    pub fn port(&self) -> u16 {
        self.params
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(6379)
    }
    pub fn password(&self) -> Option<&str> {
        self.params.get("password").and_then(Value::as_str)
    }
    pub fn db(&self) -> u64 {
        self.params.get("db").and_then(Value::as_u64).unwrap_or(0)
    }
    pub fn ssl(&self) -> bool {
        self.params
            .get("ssl")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisConfig")
            .field(&redact::RedactedMap(&self.params))
            .finish()
    }
}

/// One entry of `DISTRIBUTED_STORAGE_CONFIG`: `[DriverName, {params}]`.
#[derive(Clone, PartialEq)]
pub struct StorageLocation {
    pub driver: String,
    pub params: Map<String, Value>,
}

impl StorageLocation {
    pub fn param_str(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }
}

impl fmt::Debug for StorageLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageLocation")
            .field("driver", &self.driver)
            .field("params", &redact::RedactedMap(&self.params))
            .finish()
    }
}

/// `HEALTH_CHECKER`: `[name, {params}]`.
#[derive(Clone, PartialEq)]
pub struct HealthChecker {
    pub name: String,
    pub params: Map<String, Value>,
}

impl fmt::Debug for HealthChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthChecker")
            .field("name", &self.name)
            .field("params", &redact::RedactedMap(&self.params))
            .finish()
    }
}

/// `FEATURE_LISTEN_IP_VERSION` parsed (compared case-insensitively, like nginx_conf_create.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenIpVersion {
    IPv4,
    IPv6,
    DualStack,
}

impl ListenIpVersion {
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("ipv4") {
            Some(Self::IPv4)
        } else if s.eq_ignore_ascii_case("ipv6") {
            Some(Self::IPv6)
        } else if s.eq_ignore_ascii_case("dual-stack") {
            Some(Self::DualStack)
        } else {
            None
        }
    }
}

/// A loaded Quay configuration: typed known keys with Quay's `config.py` defaults, all feature
/// flags, and the raw merged mapping (unknown keys are kept there and otherwise ignored).
#[derive(Clone)]
pub struct Config {
    raw: Map<String, Value>,
    origins: BTreeMap<String, String>,
    default_origin: String,
    /// Directory the config was loaded from (`None` for in-memory configs).
    pub config_dir: Option<PathBuf>,
    /// TLS files found next to `config.yaml`.
    pub bundle: BundleFiles,
    pub features: Features,

    pub server_hostname: String,
    pub preferred_url_scheme: String,
    pub external_tls_termination: bool,
    /// `FEATURE_LISTEN_IP_VERSION` (a string, not a flag).
    pub listen_ip_version: String,
    pub registry_state: String,
    pub disable_pushes: bool,

    pub db_uri: String,
    pub db_connection_args: Map<String, Value>,
    pub db_connection_pooling: bool,

    pub secret_key: Option<String>,
    pub database_secret_key: Option<String>,
    pub setup_complete: bool,

    pub buildlogs_redis: RedisConfig,
    pub user_events_redis: RedisConfig,
    pub pull_metrics_redis: RedisConfig,

    pub distributed_storage_config: BTreeMap<String, StorageLocation>,
    pub distributed_storage_preference: Vec<String>,
    pub distributed_storage_default_locations: Vec<String>,

    pub authentication_type: String,
    pub super_users: Vec<String>,

    pub default_tag_expiration: DurationStr,
    pub tag_expiration_options: Vec<DurationStr>,
    pub push_temp_tag_expiration_sec: u64,
    pub garbage_collection_frequency: u64,
    pub maximum_layer_size: SizeStr,
    pub fresh_login_timeout: DurationStr,
    pub session_timeout: DurationStr,
    pub user_recovery_token_lifetime: DurationStr,
    pub create_private_repo_on_push: bool,
    pub create_namespace_on_push: bool,
    pub v2_pagination_size: u64,

    pub instance_service_key_service: String,
    pub instance_service_key_kid_location: PathBuf,
    pub instance_service_key_location: PathBuf,
    /// Minutes.
    pub instance_service_key_expiration: u64,
    /// Minutes.
    pub instance_service_key_refresh: u64,
    pub registry_jwt_auth_max_fresh_s: u64,

    pub allowed_oci_artifact_types: BTreeMap<String, Vec<String>>,
    pub library_namespace: String,
    pub prometheus_namespace: String,
    pub health_checker: HealthChecker,
    pub testing: bool,
    /// Minutes.
    pub blobupload_deletion_date_threshold: u64,
    pub permanently_delete_tags: bool,
    pub reset_child_manifest_expiration: bool,
    /// `SPARSE_INDEX_REQUIRED_ARCHS`: with `FEATURE_SPARSE_INDEX`, the architectures whose
    /// child manifests an index must carry; children of other architectures may be absent.
    /// Empty: every child is required.
    pub sparse_index_required_archs: Vec<String>,
    pub logs_model: String,
    /// `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES`: reject limit of a namespace without a quota
    /// (0: none).
    pub default_system_reject_quota_bytes: u64,
    /// `QUOTA_INVALIDATE_TOTALS`: with quota management off, writes mark totals stale.
    pub quota_invalidate_totals: bool,
    /// `QUOTA_BACKFILL`: the totals worker computes missing namespace totals.
    pub quota_backfill: bool,
    /// `QUOTA_TOTAL_DELAY_SECONDS`: the totals worker's sleep before its first backfill.
    pub quota_total_delay_seconds: u64,
    /// `QUOTA_BACKFILL_POLL_PERIOD` (seconds) and `QUOTA_BACKFILL_BATCH_SIZE`.
    pub quota_backfill_poll_period: u64,
    pub quota_backfill_batch_size: u64,
    pub security_scanner_v4_endpoint: Option<String>,
    pub bootstrap_token_owner: Option<String>,
}

impl Default for Config {
    /// Quay's `DefaultConfig` with nothing set.
    fn default() -> Self {
        // An empty mapping cannot fail to type-check.
        match Config::build(
            Map::new(),
            BTreeMap::new(),
            IN_MEMORY_ORIGIN,
            Path::new("conf"),
        ) {
            Ok(c) => c,
            Err(e) => unreachable!("empty config cannot fail: {e}"),
        }
    }
}

impl Config {
    /// Build a config from an in-memory mapping (e.g. an embedded default built by the app).
    /// Null values are dropped; the value must be a mapping.
    pub fn from_value(value: Value) -> Result<Config, ConfigError> {
        match drop_nulls(value) {
            Value::Object(map) => {
                Config::build(map, BTreeMap::new(), IN_MEMORY_ORIGIN, Path::new("conf"))
            }
            other => Err(ConfigError::NotAMapping {
                origin: IN_MEMORY_ORIGIN.into(),
                found: describe(&other),
            }),
        }
    }

    /// Same as [`Config::from_value`] for a YAML value.
    pub fn from_yaml_value(value: serde_yaml_ng::Value) -> Result<Config, ConfigError> {
        Config::from_value(crate::load::yaml_to_json(value))
    }

    /// Parse YAML text (no file, no env overrides). Errors name `<in-memory config>`.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        let map = crate::load::parse_yaml_mapping(text, Path::new(IN_MEMORY_ORIGIN))?;
        Config::build(map, BTreeMap::new(), IN_MEMORY_ORIGIN, Path::new("conf"))
    }

    /// The merged raw mapping (nulls dropped), including unknown keys.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// Raw value of any key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.raw.get(key)
    }

    /// Whether the key was explicitly set (YAML, override or env), as opposed to defaulted.
    pub fn is_set(&self, key: &str) -> bool {
        self.raw.contains_key(key)
    }

    /// Where an explicitly-set key came from (file path, `QUAY_OVERRIDE_CONFIG`, or
    /// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`).
    pub fn origin_of(&self, key: &str) -> Option<&str> {
        match self.origins.get(key) {
            Some(o) => Some(o.as_str()),
            None if self.raw.contains_key(key) => Some(self.default_origin.as_str()),
            None => None,
        }
    }

    /// A feature flag by name, with or without the `FEATURE_` prefix. Known flags return the
    /// typed value (Quay default when unset); unknown flags apply Quay's truthiness rule to the
    /// raw value and are false when absent.
    pub fn feature(&self, name: &str) -> bool {
        let short = name.strip_prefix("FEATURE_").unwrap_or(name);
        if let Some(v) = self.features.get(short) {
            return v;
        }
        self.raw
            .get(&format!("FEATURE_{short}"))
            .is_some_and(truthy)
    }

    /// `FEATURE_LISTEN_IP_VERSION` parsed; `None` if it is not IPv4/IPv6/dual-stack.
    pub fn listen_ip(&self) -> Option<ListenIpVersion> {
        ListenIpVersion::parse(&self.listen_ip_version)
    }

    /// `REGISTRY_STATE: readonly`.
    pub fn is_readonly(&self) -> bool {
        self.registry_state == "readonly"
    }

    pub(crate) fn build(
        raw: Map<String, Value>,
        origins: BTreeMap<String, String>,
        default_origin: &str,
        conf_root: &Path,
    ) -> Result<Config, ConfigError> {
        let r = Reader {
            raw: &raw,
            origins: &origins,
            default_origin,
        };

        let mut features = Features::default();
        for (key, value) in &raw {
            if let Some(name) = key.strip_prefix("FEATURE_") {
                if name != "LISTEN_IP_VERSION" {
                    features.set(name, truthy(value));
                }
            }
        }

        let config = Config {
            features,
            server_hostname: r.string("SERVER_HOSTNAME", "localhost:5000")?,
            preferred_url_scheme: r.string("PREFERRED_URL_SCHEME", "http")?,
            external_tls_termination: r.boolean("EXTERNAL_TLS_TERMINATION", false)?,
            listen_ip_version: r.string("FEATURE_LISTEN_IP_VERSION", "IPv4")?,
            registry_state: r.string("REGISTRY_STATE", "normal")?,
            disable_pushes: r.boolean("DISABLE_PUSHES", false)?,
            db_uri: r.string("DB_URI", "sqlite:///test/data/test.db")?,
            db_connection_args: r.map("DB_CONNECTION_ARGS")?.unwrap_or_else(|| {
                let mut m = Map::new();
                m.insert("threadlocals".into(), Value::Bool(true));
                m.insert("autorollback".into(), Value::Bool(true));
                m
            }),
            db_connection_pooling: r.boolean("DB_CONNECTION_POOLING", true)?,
            secret_key: r.secret("SECRET_KEY")?,
            database_secret_key: r.secret("DATABASE_SECRET_KEY")?,
            setup_complete: r.boolean("SETUP_COMPLETE", false)?,
            buildlogs_redis: r.redis("BUILDLOGS_REDIS", None)?,
            user_events_redis: r.redis("USER_EVENTS_REDIS", None)?,
            pull_metrics_redis: r.redis("PULL_METRICS_REDIS", Some(1))?,
            distributed_storage_config: r.storage_config()?,
            distributed_storage_preference: r
                .string_list("DISTRIBUTED_STORAGE_PREFERENCE", &["local_us"])?,
            distributed_storage_default_locations: r
                .string_list("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", &["local_us"])?,
            authentication_type: r.string("AUTHENTICATION_TYPE", "Database")?,
            super_users: r.string_list("SUPER_USERS", &[])?,
            default_tag_expiration: DurationStr(r.string("DEFAULT_TAG_EXPIRATION", "2w")?),
            tag_expiration_options: r
                .string_list("TAG_EXPIRATION_OPTIONS", &["0s", "1d", "1w", "2w", "4w"])?
                .into_iter()
                .map(DurationStr)
                .collect(),
            push_temp_tag_expiration_sec: r.uint("PUSH_TEMP_TAG_EXPIRATION_SEC", 3600)?,
            garbage_collection_frequency: r.uint("GARBAGE_COLLECTION_FREQUENCY", 30)?,
            maximum_layer_size: SizeStr(r.string("MAXIMUM_LAYER_SIZE", "20G")?),
            fresh_login_timeout: DurationStr(r.string("FRESH_LOGIN_TIMEOUT", "10m")?),
            session_timeout: DurationStr(r.string("SESSION_TIMEOUT", "31d")?),
            user_recovery_token_lifetime: DurationStr(
                r.string("USER_RECOVERY_TOKEN_LIFETIME", "30m")?,
            ),
            create_private_repo_on_push: r.boolean("CREATE_PRIVATE_REPO_ON_PUSH", true)?,
            create_namespace_on_push: r.boolean("CREATE_NAMESPACE_ON_PUSH", false)?,
            v2_pagination_size: r.uint("V2_PAGINATION_SIZE", 50)?,
            instance_service_key_service: r.string("INSTANCE_SERVICE_KEY_SERVICE", "quay")?,
            instance_service_key_kid_location: r
                .opt_string("INSTANCE_SERVICE_KEY_KID_LOCATION")?
                .map(PathBuf::from)
                .unwrap_or_else(|| conf_root.join("quay.kid")),
            instance_service_key_location: r
                .opt_string("INSTANCE_SERVICE_KEY_LOCATION")?
                .map(PathBuf::from)
                .unwrap_or_else(|| conf_root.join("quay.pem")),
            instance_service_key_expiration: r.uint("INSTANCE_SERVICE_KEY_EXPIRATION", 120)?,
            instance_service_key_refresh: r.uint("INSTANCE_SERVICE_KEY_REFRESH", 55)?,
            registry_jwt_auth_max_fresh_s: r.uint("REGISTRY_JWT_AUTH_MAX_FRESH_S", 3660)?,
            allowed_oci_artifact_types: r.oci_artifact_types()?,
            library_namespace: r.string("LIBRARY_NAMESPACE", "library")?,
            prometheus_namespace: r.string("PROMETHEUS_NAMESPACE", "quay")?,
            health_checker: r.health_checker()?,
            testing: r.boolean("TESTING", true)?,
            blobupload_deletion_date_threshold: r
                .uint("BLOBUPLOAD_DELETION_DATE_THRESHOLD", 2880)?,
            permanently_delete_tags: r.boolean("PERMANENTLY_DELETE_TAGS", false)?,
            reset_child_manifest_expiration: r.boolean("RESET_CHILD_MANIFEST_EXPIRATION", false)?,
            sparse_index_required_archs: r.string_list("SPARSE_INDEX_REQUIRED_ARCHS", &[])?,
            logs_model: r.string("LOGS_MODEL", "database")?,
            default_system_reject_quota_bytes: r.uint("DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", 0)?,
            quota_invalidate_totals: r.boolean("QUOTA_INVALIDATE_TOTALS", true)?,
            quota_backfill: r.boolean("QUOTA_BACKFILL", true)?,
            quota_total_delay_seconds: r.uint("QUOTA_TOTAL_DELAY_SECONDS", 1800)?,
            quota_backfill_poll_period: r.uint("QUOTA_BACKFILL_POLL_PERIOD", 15)?,
            quota_backfill_batch_size: r.uint("QUOTA_BACKFILL_BATCH_SIZE", 100)?,
            security_scanner_v4_endpoint: r.opt_string("SECURITY_SCANNER_V4_ENDPOINT")?,
            bootstrap_token_owner: r.opt_string("BOOTSTRAP_TOKEN_OWNER")?,
            config_dir: None,
            bundle: BundleFiles::default(),
            raw: Map::new(),
            origins: BTreeMap::new(),
            default_origin: String::new(),
        };
        // Types of keys read only by validation (kept raw) are checked too, so a wrong type is
        // a load error rather than a confusing validation message.
        r.opt_string("SECURITY_SCANNER_ENDPOINT")?;
        r.opt_string("REPO_MIRROR_SERVER_HOSTNAME")?;
        Ok(Config {
            raw,
            origins,
            default_origin: default_origin.to_string(),
            ..config
        })
    }
}

/// Remove null values from every mapping, recursively (config-tool does the same).
pub(crate) fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

struct Reader<'a> {
    raw: &'a Map<String, Value>,
    origins: &'a BTreeMap<String, String>,
    default_origin: &'a str,
}

impl Reader<'_> {
    fn wrong(&self, top_key: &str, path: &str, expected: &str, found: &Value) -> ConfigError {
        ConfigError::WrongType {
            origin: self
                .origins
                .get(top_key)
                .cloned()
                .unwrap_or_else(|| self.default_origin.to_string()),
            key: path.to_string(),
            expected: expected.to_string(),
            found: describe(found),
        }
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.raw.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong(key, key, "a string", v)),
        }
    }

    fn string(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.opt_string(key)?.unwrap_or_else(|| default.to_string()))
    }

    /// Secrets may be written as unquoted integers in YAML; Quay accepts both.
    fn secret(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.raw.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            Some(v) => Err(self.wrong(key, key, "a string", v)),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.wrong(key, key, "a boolean (true/false)", v)),
        }
    }

    fn uint(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.raw.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| self.wrong(key, key, "a non-negative integer", v)),
        }
    }

    fn string_list(&self, key: &str, default: &[&str]) -> Result<Vec<String>, ConfigError> {
        match self.raw.get(key) {
            None => Ok(default.iter().map(|s| s.to_string()).collect()),
            Some(v @ Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.wrong(key, key, "a list of strings", v))
                })
                .collect(),
            Some(v) => Err(self.wrong(key, key, "a list of strings", v)),
        }
    }

    fn map(&self, key: &str) -> Result<Option<Map<String, Value>>, ConfigError> {
        match self.raw.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(v) => Err(self.wrong(key, key, "a mapping", v)),
        }
    }

    fn redis(&self, key: &str, default_db: Option<u64>) -> Result<RedisConfig, ConfigError> {
        let Some(params) = self.map(key)? else {
            return Ok(RedisConfig::localhost(default_db));
        };
        for (field, expected) in [
            ("host", "a string"),
            ("password", "a string"),
            ("username", "a string"),
            ("port", "an integer"),
            ("db", "an integer"),
            ("ssl", "a boolean (true/false)"),
        ] {
            let Some(v) = params.get(field) else { continue };
            let ok = match field {
                "port" | "db" => v.is_u64(),
                "ssl" => v.is_boolean(),
                _ => v.is_string(),
            };
            if !ok {
                return Err(self.wrong(key, &format!("{key}.{field}"), expected, v));
            }
        }
        Ok(RedisConfig { params })
    }

    fn pair(
        &self,
        key: &str,
        path: &str,
        v: &Value,
    ) -> Result<(String, Map<String, Value>), ConfigError> {
        let expected = "a two-element list [Name, {parameters}]";
        match v {
            Value::Array(items) => match items.as_slice() {
                [Value::String(name), Value::Object(params)] => Ok((name.clone(), params.clone())),
                _ => Err(self.wrong(key, path, expected, v)),
            },
            _ => Err(self.wrong(key, path, expected, v)),
        }
    }

    fn storage_config(&self) -> Result<BTreeMap<String, StorageLocation>, ConfigError> {
        const KEY: &str = "DISTRIBUTED_STORAGE_CONFIG";
        let Some(map) = self.map(KEY)? else {
            let mut d = BTreeMap::new();
            for (id, path) in [
                ("local_eu", "test/data/registry/eu"),
                ("local_us", "test/data/registry/us"),
            ] {
                let mut params = Map::new();
                params.insert("storage_path".into(), Value::from(path));
                d.insert(
                    id.to_string(),
                    StorageLocation {
                        driver: "LocalStorage".into(),
                        params,
                    },
                );
            }
            return Ok(d);
        };
        let mut out = BTreeMap::new();
        for (id, v) in &map {
            let (driver, params) = self.pair(KEY, &format!("{KEY}.{id}"), v)?;
            out.insert(id.clone(), StorageLocation { driver, params });
        }
        Ok(out)
    }

    fn health_checker(&self) -> Result<HealthChecker, ConfigError> {
        const KEY: &str = "HEALTH_CHECKER";
        match self.raw.get(KEY) {
            None => Ok(HealthChecker {
                name: "LocalHealthCheck".into(),
                params: Map::new(),
            }),
            Some(v) => {
                let (name, params) = self.pair(KEY, KEY, v)?;
                Ok(HealthChecker { name, params })
            }
        }
    }

    fn oci_artifact_types(&self) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
        const KEY: &str = "ALLOWED_OCI_ARTIFACT_TYPES";
        let Some(map) = self.map(KEY)? else {
            return Ok(DEFAULT_OCI_ARTIFACT_TYPES
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect());
        };
        let mut out = BTreeMap::new();
        for (media_type, v) in &map {
            let path = format!("{KEY}.{media_type}");
            let layers = match v {
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.wrong(KEY, &path, "a list of strings", v))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(self.wrong(KEY, &path, "a list of strings", v)),
            };
            out.insert(media_type.clone(), layers);
        }
        Ok(out)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &Option<String>| s.as_ref().map(|_| redact::REDACTED);
        f.debug_struct("Config")
            .field("config_dir", &self.config_dir)
            .field("bundle", &self.bundle)
            .field("server_hostname", &self.server_hostname)
            .field("preferred_url_scheme", &self.preferred_url_scheme)
            .field("external_tls_termination", &self.external_tls_termination)
            .field("listen_ip_version", &self.listen_ip_version)
            .field("registry_state", &self.registry_state)
            .field("disable_pushes", &self.disable_pushes)
            .field("db_uri", &redact::redact_uri(&self.db_uri))
            .field(
                "db_connection_args",
                &redact::RedactedMap(&self.db_connection_args),
            )
            .field("db_connection_pooling", &self.db_connection_pooling)
            .field("secret_key", &secret(&self.secret_key))
            .field("database_secret_key", &secret(&self.database_secret_key))
            .field("setup_complete", &self.setup_complete)
            .field("buildlogs_redis", &self.buildlogs_redis)
            .field("user_events_redis", &self.user_events_redis)
            .field("pull_metrics_redis", &self.pull_metrics_redis)
            .field(
                "distributed_storage_config",
                &self.distributed_storage_config,
            )
            .field(
                "distributed_storage_preference",
                &self.distributed_storage_preference,
            )
            .field(
                "distributed_storage_default_locations",
                &self.distributed_storage_default_locations,
            )
            .field("authentication_type", &self.authentication_type)
            .field("super_users", &self.super_users)
            .field("default_tag_expiration", &self.default_tag_expiration)
            .field("tag_expiration_options", &self.tag_expiration_options)
            .field(
                "push_temp_tag_expiration_sec",
                &self.push_temp_tag_expiration_sec,
            )
            .field(
                "garbage_collection_frequency",
                &self.garbage_collection_frequency,
            )
            .field("maximum_layer_size", &self.maximum_layer_size)
            .field("fresh_login_timeout", &self.fresh_login_timeout)
            .field("session_timeout", &self.session_timeout)
            .field(
                "user_recovery_token_lifetime",
                &self.user_recovery_token_lifetime,
            )
            .field(
                "create_private_repo_on_push",
                &self.create_private_repo_on_push,
            )
            .field("create_namespace_on_push", &self.create_namespace_on_push)
            .field("v2_pagination_size", &self.v2_pagination_size)
            .field(
                "instance_service_key_service",
                &self.instance_service_key_service,
            )
            .field(
                "instance_service_key_kid_location",
                &self.instance_service_key_kid_location,
            )
            .field(
                "instance_service_key_location",
                &self.instance_service_key_location,
            )
            .field(
                "instance_service_key_expiration",
                &self.instance_service_key_expiration,
            )
            .field(
                "instance_service_key_refresh",
                &self.instance_service_key_refresh,
            )
            .field(
                "registry_jwt_auth_max_fresh_s",
                &self.registry_jwt_auth_max_fresh_s,
            )
            .field(
                "allowed_oci_artifact_types",
                &self.allowed_oci_artifact_types,
            )
            .field("library_namespace", &self.library_namespace)
            .field("prometheus_namespace", &self.prometheus_namespace)
            .field("health_checker", &self.health_checker)
            .field("testing", &self.testing)
            .field(
                "blobupload_deletion_date_threshold",
                &self.blobupload_deletion_date_threshold,
            )
            .field("permanently_delete_tags", &self.permanently_delete_tags)
            .field(
                "reset_child_manifest_expiration",
                &self.reset_child_manifest_expiration,
            )
            .field(
                "sparse_index_required_archs",
                &self.sparse_index_required_archs,
            )
            .field("logs_model", &self.logs_model)
            .field(
                "default_system_reject_quota_bytes",
                &self.default_system_reject_quota_bytes,
            )
            .field("quota_invalidate_totals", &self.quota_invalidate_totals)
            .field("quota_backfill", &self.quota_backfill)
            .field("quota_total_delay_seconds", &self.quota_total_delay_seconds)
            .field(
                "quota_backfill_poll_period",
                &self.quota_backfill_poll_period,
            )
            .field("quota_backfill_batch_size", &self.quota_backfill_batch_size)
            .field(
                "security_scanner_v4_endpoint",
                &self.security_scanner_v4_endpoint,
            )
            .field("bootstrap_token_owner", &self.bootstrap_token_owner)
            .field("features", &self.features)
            // Raw values may hold secrets (LDAP_ADMIN_PASSWD, OIDC client secrets…): names only.
            .field("raw_keys", &self.raw.keys().collect::<Vec<_>>())
            .finish()
    }
}
