//! Helpers that keep secrets out of `Debug` output and logs.

use std::fmt;

use serde_json::{Map, Value};

pub const REDACTED: &str = "<redacted>";

/// Is a parameter with this name secret-bearing? (passwords, secret/access keys, tokens, PSKs…)
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "private",
        "credential",
        "psk",
    ]
    .iter()
    .any(|s| n.contains(s))
        || n == "key"
        || n.ends_with("_key")
}

/// Replace the password part of `scheme://user:password@host/...` with `<redacted>`.
/// Works on unparseable strings too (no URL parser involved).
pub fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_string();
    };
    let rest_start = scheme_end + 3;
    let rest = &uri[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return uri.to_string();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return uri.to_string();
    };
    format!(
        "{}{}:{}{}",
        &uri[..rest_start],
        &userinfo[..colon],
        REDACTED,
        &rest[at..]
    )
}

/// A copy of `value` with secret-named entries replaced and URI passwords masked.
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(redact_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::String(s) => Value::String(redact_uri(s)),
        other => other.clone(),
    }
}

pub fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let v = if is_secret_name(k) {
                Value::String(REDACTED.into())
            } else {
                redact_value(v)
            };
            (k.clone(), v)
        })
        .collect()
}

/// `Debug` wrapper that prints a parameter map as compact JSON with secrets redacted.
pub struct RedactedMap<'a>(pub &'a Map<String, Value>);

impl fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Value::Object(redact_map(self.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_passwords_are_masked() {
        assert_eq!(
            redact_uri("postgresql://quay:s3cr3t@db:5432/quay?sslmode=require"),
            "postgresql://quay:<redacted>@db:5432/quay?sslmode=require"
        );
        assert_eq!(
            redact_uri("postgresql://quay@db/quay"),
            "postgresql://quay@db/quay"
        );
        assert_eq!(redact_uri("sqlite:///x.db"), "sqlite:///x.db");
        // '@' in the password and unparseable text still get masked.
        assert_eq!(
            redact_uri("postgres://u:p@ss@h/d"),
            "postgres://u:<redacted>@h/d"
        );
        assert_eq!(redact_uri("not a uri"), "not a uri");
    }

    #[test]
    fn secret_names() {
        for s in [
            "password",
            "s3_secret_key",
            "s3_access_key",
            "azure_account_key",
            "sas_token",
            "swift_password",
            "REDIS_PASSWORD",
        ] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in [
            "host",
            "storage_path",
            "s3_bucket",
            "port",
            "cloudfront_key_id",
            "hostname",
        ] {
            assert!(!is_secret_name(s), "{s}");
        }
    }
}
