//! Loading `config.yaml` from a config directory and applying Quay's environment overrides.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Number, Value};

use crate::bundle::BundleFiles;
use crate::config::{drop_nulls, Config};
use crate::error::ConfigError;
use crate::types::describe;

pub const OVERRIDE_CONFIG_ENV: &str = "QUAY_OVERRIDE_CONFIG";
pub const STORAGE_PREFERENCE_ENV: &str = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE";

/// The environment variables Quay applies on top of `config.yaml`. Injected explicitly so tests
/// do not depend on the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvOverrides {
    /// `QUAY_OVERRIDE_CONFIG`: a JSON object merged over the YAML (top-level key replace).
    pub override_config: Option<String>,
    /// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`: whitespace-separated ids replacing
    /// `DISTRIBUTED_STORAGE_PREFERENCE`.
    pub storage_preference: Option<String>,
}

impl EnvOverrides {
    pub fn from_process_env() -> Self {
        EnvOverrides {
            override_config: std::env::var(OVERRIDE_CONFIG_ENV).ok(),
            storage_preference: std::env::var(STORAGE_PREFERENCE_ENV).ok(),
        }
    }
}

/// Load `<dir>/config.yaml`, merge `QUAY_OVERRIDE_CONFIG` on top, then apply
/// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`; record TLS files present in `dir`.
pub fn load_dir(dir: &Path, env: &EnvOverrides) -> Result<Config, ConfigError> {
    let path = dir.join("config.yaml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::MissingFile { path })
        }
        Err(source) => return Err(ConfigError::Io { path, source }),
    };
    let file_origin = path.display().to_string();
    let mut raw = parse_yaml_mapping(&text, &path)?;
    let mut origins: BTreeMap<String, String> = BTreeMap::new();

    // Empty/whitespace-only values are treated as unset (a templated-but-empty env var).
    if let Some(json) = env
        .override_config
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        let value: Value =
            serde_json::from_str(json).map_err(|e| ConfigError::InvalidOverrideJson {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        match drop_nulls(value) {
            Value::Object(over) => {
                for (k, v) in over {
                    origins.insert(k.clone(), OVERRIDE_CONFIG_ENV.to_string());
                    raw.insert(k, v);
                }
            }
            other => {
                return Err(ConfigError::NotAMapping {
                    origin: OVERRIDE_CONFIG_ENV.into(),
                    found: describe(&other),
                })
            }
        }
    }

    if let Some(pref) = env.storage_preference.as_deref() {
        let ids: Vec<Value> = pref.split_whitespace().map(Value::from).collect();
        if !ids.is_empty() {
            raw.insert("DISTRIBUTED_STORAGE_PREFERENCE".into(), Value::Array(ids));
            origins.insert(
                "DISTRIBUTED_STORAGE_PREFERENCE".into(),
                STORAGE_PREFERENCE_ENV.to_string(),
            );
        }
    }

    // Quay's CONF_DIR is the parent of the `stack/` directory holding config.yaml.
    let conf_root = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(dir);
    let mut config = Config::build(raw, origins, &file_origin, conf_root)?;
    config.config_dir = Some(dir.to_path_buf());
    config.bundle = BundleFiles::scan(dir);
    Ok(config)
}

/// Parse YAML text into a top-level mapping with nulls dropped.
pub(crate) fn parse_yaml_mapping(
    text: &str,
    path: &Path,
) -> Result<Map<String, Value>, ConfigError> {
    let malformed = |e: serde_yaml_ng::Error| {
        let loc = e.location();
        ConfigError::MalformedYaml {
            path: path.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: e.to_string(),
        }
    };
    let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(malformed)?;
    value.apply_merge().map_err(malformed)?;
    match drop_nulls(yaml_to_json(value)) {
        Value::Object(map) => Ok(map),
        Value::Null => Err(ConfigError::NotAMapping {
            origin: path.display().to_string(),
            found: "an empty document".into(),
        }),
        other => Err(ConfigError::NotAMapping {
            origin: path.display().to_string(),
            found: describe(&other),
        }),
    }
}

/// Convert a YAML value to JSON. Non-string mapping keys become their YAML text; tags are
/// dropped; non-finite floats become strings.
pub(crate) fn yaml_to_json(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Number::from_f64(f).map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn yaml_key(key: serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value as Y;
    match key {
        Y::String(s) => s,
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => n.to_string(),
        Y::Null => "null".into(),
        other => serde_yaml_ng::to_string(&other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}
