//! quayside-config: loads a Quay `config.yaml` (plus Quay's environment overrides) into a typed
//! [`Config`] with Quay's `config.py` defaults, exposes every `FEATURE_*` flag, and runs the
//! static checks of Quay's config-tool and boot sequence. Pure: no network or database I/O.

mod bundle;
mod config;
mod error;
mod features;
mod live;
mod load;
mod redact;
mod types;
mod validate;

pub use bundle::BundleFiles;
pub use config::{
    Config, HealthChecker, ListenIpVersion, RedisConfig, StorageLocation, IN_MEMORY_ORIGIN,
};
pub use error::{ConfigError, MARSHAL_ERROR_PREFIX};
pub use features::{Features, KNOWN_FEATURES};
pub use live::LiveSettings;
pub use load::{load_dir, EnvOverrides, OVERRIDE_CONFIG_ENV, STORAGE_PREFERENCE_ENV};
pub use redact::{redact_uri, REDACTED};
pub use types::{
    parse_duration_seconds, parse_size_bytes, truthy, DurationStr, SizeStr, DURATION_PATTERN,
    SIZE_PATTERN,
};
pub use validate::{
    render_table, validate, ValidationFailure, AUTHENTICATION_TYPES, SUPPORTED_DB_SCHEMES,
    VALID_STORAGE_TYPES,
};
