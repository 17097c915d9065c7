//! `TRACKED_NAMESPACES`: which namespaces get a `namespace_name` label value.

use std::collections::BTreeMap;

/// The namespaces whose requests carry a non-empty `namespace_name` label on
/// `quay_request_duration_seconds`. Every other request gets `namespace_name=""`, which
/// keeps the label's cardinality bounded by configuration, never by traffic.
///
/// Quay's config accepts either a list of namespaces (each labelled with its own name) or a
/// map of bucket name → namespaces (each namespace labelled with its bucket's name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackedNamespaces {
    /// namespace → label value.
    labels: BTreeMap<String, String>,
}

impl TrackedNamespaces {
    /// Nothing tracked (Quay's default `[]`).
    pub fn none() -> TrackedNamespaces {
        TrackedNamespaces::default()
    }

    /// A list: each namespace is its own label value.
    pub fn from_list<I, S>(namespaces: I) -> TrackedNamespaces
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let labels = namespaces
            .into_iter()
            .map(Into::into)
            .map(|ns| (ns.clone(), ns))
            .collect();
        TrackedNamespaces { labels }
    }

    /// Buckets: every namespace in a bucket is labelled with the bucket's name. A namespace
    /// listed in several buckets keeps the first bucket in name order.
    pub fn from_buckets<I, B, N, S>(buckets: I) -> TrackedNamespaces
    where
        I: IntoIterator<Item = (B, N)>,
        B: Into<String>,
        N: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut sorted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (bucket, namespaces) in buckets {
            sorted
                .entry(bucket.into())
                .or_default()
                .extend(namespaces.into_iter().map(Into::into));
        }
        let mut labels = BTreeMap::new();
        for (bucket, namespaces) in sorted {
            for ns in namespaces {
                labels.entry(ns).or_insert_with(|| bucket.clone());
            }
        }
        TrackedNamespaces { labels }
    }

    /// From the config value as written in `config.yaml` (a list of strings or a map of
    /// bucket → list of strings). Anything else (null, wrong types) tracks nothing; entries
    /// that are not strings are skipped.
    pub fn from_config_value(value: &serde_json::Value) -> TrackedNamespaces {
        fn strings(v: &serde_json::Value) -> Vec<String> {
            match v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                serde_json::Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            }
        }
        match value {
            serde_json::Value::Array(_) => TrackedNamespaces::from_list(strings(value)),
            serde_json::Value::Object(map) => {
                TrackedNamespaces::from_buckets(map.iter().map(|(k, v)| (k.clone(), strings(v))))
            }
            _ => TrackedNamespaces::none(),
        }
    }

    /// The `namespace_name` label value for a request in `namespace` (`""` when untracked).
    pub fn label_for(&self, namespace: Option<&str>) -> &str {
        namespace
            .and_then(|ns| self.labels.get(ns))
            .map_or("", String::as_str)
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_labels_each_namespace_with_itself() {
        let t = TrackedNamespaces::from_list(["acme", "beta"]);
        assert_eq!(t.label_for(Some("acme")), "acme");
        assert_eq!(t.label_for(Some("beta")), "beta");
        assert_eq!(t.label_for(Some("other")), "");
        assert_eq!(t.label_for(None), "");
    }

    #[test]
    fn buckets_label_with_bucket_name() {
        let t = TrackedNamespaces::from_config_value(&serde_json::json!({
            "big": ["acme", "globex"],
            "small": ["initech", 7],
        }));
        assert_eq!(t.label_for(Some("acme")), "big");
        assert_eq!(t.label_for(Some("globex")), "big");
        assert_eq!(t.label_for(Some("initech")), "small");
        assert_eq!(t.label_for(Some("7")), "");
    }

    #[test]
    fn config_value_shapes() {
        let list = TrackedNamespaces::from_config_value(&serde_json::json!(["a", null, "b"]));
        assert_eq!(list, TrackedNamespaces::from_list(["a", "b"]));
        assert!(TrackedNamespaces::from_config_value(&serde_json::Value::Null).is_empty());
        assert!(TrackedNamespaces::from_config_value(&serde_json::json!(3)).is_empty());
    }
}
