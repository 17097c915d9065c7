//! Quay's manifest labels: which key/value pairs a pushed manifest carries, the media type
//! a label value is stored with, and the duration syntax of `quay.expires-after`.
//!
//! A manifest's labels are, as Quay reads them at push time:
//! - Docker schema 2 image: the config blob's `config.Labels`;
//! - OCI image manifest whose config is an OCI image config: the config's `config.Labels`,
//!   then the manifest's own `annotations` (an annotation wins over a label of the same key);
//! - any other OCI manifest (artifacts) and OCI indexes: the `annotations`;
//! - Docker schema 1: `config.Labels` of the newest layer's `v1Compatibility`;
//! - Docker manifest lists: none.
//!
//! Only string values count; labels the database cannot hold (an empty key, a key over 255
//! characters, a NUL anywhere) are skipped.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::manifest::{Descriptor, ManifestKind, ParsedManifest};
use crate::media_types;

/// The label whose value gives a manifest's tags an expiration.
pub const EXPIRES_AFTER: &str = "quay.expires-after";
/// Media type of a plain label value.
pub const TEXT_PLAIN: &str = "text/plain";
/// Media type of a label value that is a JSON object or array.
pub const APPLICATION_JSON: &str = "application/json";

/// The media type Quay stores a label value with: `application/json` for a JSON object or
/// array, else `text/plain`.
pub fn value_media_type(value: &str) -> &'static str {
    let v = value;
    let bracketed =
        (v.starts_with('{') && v.ends_with('}')) || (v.starts_with('[') && v.ends_with(']'));
    if bracketed && serde_json::from_str::<Value>(v).is_ok() {
        APPLICATION_JSON
    } else {
        TEXT_PLAIN
    }
}

/// A `quay.expires-after` style duration, `<integer><s|m|h|d|w>`, in seconds (`None` when
/// it does not parse or overflows).
pub fn duration_seconds(value: &str) -> Option<i64> {
    let unit = value.chars().last()?;
    let number = &value[..value.len() - unit.len_utf8()];
    let mult: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let n: i64 = number.trim().replace('_', "").parse().ok()?;
    n.checked_mul(mult)
}

/// The config blob whose `config.Labels` count as the manifest's labels, if any: the
/// config of a Docker schema 2 image, or of an OCI manifest whose config is an OCI image
/// config.
pub fn label_config(m: &ParsedManifest) -> Option<&Descriptor> {
    let config = m.config()?;
    match m.kind() {
        ManifestKind::DockerManifest => Some(config),
        ManifestKind::OciManifest if config.media_type == media_types::OCI_CONFIG => Some(config),
        _ => None,
    }
}

/// `label.key` is `varchar(255)`.
const MAX_KEY_CHARS: usize = 255;

/// Whether a label can be stored: a non-empty key that fits the column, and no NUL in key
/// or value (PostgreSQL text cannot hold one). Others are skipped, not refused: Quay stores
/// what Docker put in the image, and a label it cannot store must not fail the push.
fn storable(key: &str, value: &str) -> bool {
    !key.is_empty()
        && key.chars().count() <= MAX_KEY_CHARS
        && !key.contains('\0')
        && !value.contains('\0')
}

fn string_labels(v: Option<&Value>, into: &mut BTreeMap<String, String>) {
    if let Some(Value::Object(map)) = v {
        for (k, v) in map {
            if let Some(s) = v.as_str().filter(|s| storable(k, s)) {
                into.insert(k.clone(), s.to_owned());
            }
        }
    }
}

/// The labels of a manifest. `config` is the content of [`label_config`]'s blob, when
/// there is one (a config that is not JSON contributes nothing).
pub fn manifest_labels(m: &ParsedManifest, config: Option<&[u8]>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if m.schema1().is_some() {
        let newest = serde_json::from_slice::<Value>(m.bytes())
            .ok()
            .and_then(|doc| {
                doc.get("history")?
                    .get(0)?
                    .get("v1Compatibility")?
                    .as_str()
                    .map(str::to_owned)
            })
            .and_then(|s| serde_json::from_str::<Value>(&s).ok());
        if let Some(v1) = newest {
            string_labels(v1.get("config").and_then(|c| c.get("Labels")), &mut labels);
        }
        return labels;
    }
    if let Some(bytes) = config {
        if let Ok(doc) = serde_json::from_slice::<Value>(bytes) {
            string_labels(doc.get("config").and_then(|c| c.get("Labels")), &mut labels);
        }
    }
    if matches!(m.kind(), ManifestKind::OciManifest | ManifestKind::OciIndex) {
        if let Some(annotations) = m.annotations() {
            for (k, v) in annotations {
                if storable(k, v) {
                    labels.insert(k.clone(), v.clone());
                }
            }
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_quay_reads_them() {
        assert_eq!(duration_seconds("2w"), Some(1_209_600));
        assert_eq!(duration_seconds("1d"), Some(86_400));
        assert_eq!(duration_seconds("24h"), Some(86_400));
        assert_eq!(duration_seconds("90m"), Some(5400));
        assert_eq!(duration_seconds("45s"), Some(45));
        assert_eq!(duration_seconds("-1d"), Some(-86_400));
        assert_eq!(duration_seconds("2y"), None);
        assert_eq!(duration_seconds("w"), None);
        assert_eq!(duration_seconds(""), None);
        assert_eq!(duration_seconds("99999999999999999999w"), None);
    }

    #[test]
    fn unstorable_labels_are_skipped() {
        let long = "k".repeat(256);
        let text = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_types::OCI_INDEX,
            "manifests": [],
            "annotations": {"ok": "1", "": "empty key", "nul": "a\0b", long.clone(): "x"}
        })
        .to_string();
        let m =
            ParsedManifest::parse(text.as_bytes(), Some(media_types::OCI_INDEX)).expect("index");
        let got = manifest_labels(&m, None);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![("ok".to_string(), "1".to_string())]
        );
        let config = serde_json::json!({"config": {"Labels": {"a": "b", "n": 3, long: "y"}}});
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":2,"digest":"sha256:{}"}},"layers":[]}}"#,
            media_types::DOCKER_MANIFEST_V2,
            media_types::DOCKER_CONFIG,
            "0".repeat(64)
        );
        let m = ParsedManifest::parse(docker.as_bytes(), Some(media_types::DOCKER_MANIFEST_V2))
            .expect("docker");
        let bytes = serde_json::to_vec(&config).expect("json");
        let got = manifest_labels(&m, Some(&bytes));
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![("a".to_string(), "b".to_string())]
        );
    }

    #[test]
    fn json_values_are_typed_json() {
        assert_eq!(value_media_type(r#"{"a": 1}"#), APPLICATION_JSON);
        assert_eq!(value_media_type("[1, 2]"), APPLICATION_JSON);
        assert_eq!(value_media_type("{not json}"), TEXT_PLAIN);
        assert_eq!(value_media_type("42"), TEXT_PLAIN);
        assert_eq!(value_media_type("hello"), TEXT_PLAIN);
    }
}
