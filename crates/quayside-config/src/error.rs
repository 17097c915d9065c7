//! The closed set of errors that loading a configuration can produce.

use std::path::PathBuf;

/// Config-tool's wording when `config.yaml` cannot be unmarshalled into its typed field groups.
pub const MARSHAL_ERROR_PREFIX: &str = "An error occurred during validation. Process could not marshal config.yaml. This is most likely due to an incorrect type.";

/// Everything that can go wrong while *loading* a configuration. Validation problems are not
/// errors: they are collected as [`crate::ValidationFailure`]s.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `<dir>/config.yaml` does not exist.
    #[error("config file {} not found: mount the Quay config bundle so that config.yaml is inside the config directory", path.display())]
    MissingFile { path: PathBuf },

    /// The file exists but could not be read.
    #[error("could not read config file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The YAML is syntactically invalid.
    #[error("{}: malformed YAML{}: {message}", path.display(), location_suffix(*line, *column))]
    MalformedYaml {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },

    /// The document (YAML file or override JSON) is not a mapping of keys to values.
    #[error("{origin}: the top level must be a mapping of config keys to values, found {found}")]
    NotAMapping { origin: String, found: String },

    /// `QUAY_OVERRIDE_CONFIG` is not valid JSON.
    #[error("QUAY_OVERRIDE_CONFIG: invalid JSON at line {line}, column {column}: {message}")]
    InvalidOverrideJson {
        line: usize,
        column: usize,
        message: String,
    },

    /// A known key has a value of the wrong type.
    #[error("{origin}: {MARSHAL_ERROR_PREFIX} Key {key} must be {expected}, found {found}.")]
    WrongType {
        origin: String,
        key: String,
        expected: String,
        found: String,
    },
}

fn location_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}
