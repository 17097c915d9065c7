//! What points a cluster at a mirror, from the source → mirror repository pairs of a copy:
//!
//! * `ImageContentSourcePolicy` (`operator.openshift.io/v1alpha1`, `spec.repositoryDigestMirrors`)
//!   for OpenShift before 4.13;
//! * `ImageDigestMirrorSet` (`config.openshift.io/v1`, `spec.imageDigestMirrors`) for 4.13 on;
//! * a `registries.conf` stanza (containers-registries.conf(5)) for podman, CRI-O and skopeo:
//!   one `[[registry]]` per source with the mirror, pulls by digest only.
//!
//! Mirrors only serve by digest (a tag may have moved upstream since), as the cluster's
//! policies require.

use std::collections::BTreeMap;

use serde_json::json;

/// One source repository and its mirror.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MirrorPair {
    /// `registry/path` as images name it (`quay.io/openshift-release-dev/ocp-release`).
    pub source: String,
    /// `host/namespace/name` of the mirror.
    pub mirror: String,
}

fn grouped(pairs: &[MirrorPair]) -> BTreeMap<&str, Vec<&str>> {
    let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in pairs {
        let v = by_source.entry(p.source.as_str()).or_default();
        if !v.contains(&p.mirror.as_str()) {
            v.push(p.mirror.as_str());
        }
    }
    by_source
}

fn yaml(v: &serde_json::Value) -> String {
    serde_yaml_ng::to_string(v).unwrap_or_default()
}

/// `ImageContentSourcePolicy` named `name`.
pub fn image_content_source_policy(name: &str, pairs: &[MirrorPair]) -> String {
    let mirrors: Vec<serde_json::Value> = grouped(pairs)
        .into_iter()
        .map(|(source, mirrors)| json!({"mirrors": mirrors, "source": source}))
        .collect();
    yaml(&json!({
        "apiVersion": "operator.openshift.io/v1alpha1",
        "kind": "ImageContentSourcePolicy",
        "metadata": {"name": name},
        "spec": {"repositoryDigestMirrors": mirrors},
    }))
}

/// `ImageDigestMirrorSet` named `name`.
pub fn image_digest_mirror_set(name: &str, pairs: &[MirrorPair]) -> String {
    let mirrors: Vec<serde_json::Value> = grouped(pairs)
        .into_iter()
        .map(|(source, mirrors)| json!({"mirrors": mirrors, "source": source}))
        .collect();
    yaml(&json!({
        "apiVersion": "config.openshift.io/v1",
        "kind": "ImageDigestMirrorSet",
        "metadata": {"name": name},
        "spec": {"imageDigestMirrors": mirrors},
    }))
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `registries.conf` stanza; `insecure`: the mirror is reached without TLS verification.
pub fn registries_conf(pairs: &[MirrorPair], insecure: bool) -> String {
    let mut out =
        String::from("# Written by `quayside mirror`: pulls by digest come from the mirror.\n");
    for (source, mirrors) in grouped(pairs) {
        out.push_str("\n[[registry]]\n");
        out.push_str(&format!("prefix = {}\n", toml_str(source)));
        out.push_str(&format!("location = {}\n", toml_str(source)));
        out.push_str("mirror-by-digest-only = true\n");
        for m in mirrors {
            out.push_str("\n[[registry.mirror]]\n");
            out.push_str(&format!("location = {}\n", toml_str(m)));
            if insecure {
                out.push_str("insecure = true\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<MirrorPair> {
        vec![
            MirrorPair {
                source: "quay.io/openshift-release-dev/ocp-release".into(),
                mirror: "mirror.example.com:8443/ocp4/ocp-release".into(),
            },
            MirrorPair {
                source: "quay.io/openshift-release-dev/ocp-release".into(),
                mirror: "mirror.example.com:8443/ocp4/ocp-release".into(),
            },
            MirrorPair {
                source: "registry.access.redhat.com/ubi8/ubi-minimal".into(),
                mirror: "mirror.example.com:8443/ocp4/ubi-minimal".into(),
            },
        ]
    }

    #[test]
    fn policies_list_each_source_once() {
        let icsp: serde_json::Value =
            serde_yaml_ng::from_str(&image_content_source_policy("quayside", &pairs()))
                .expect("yaml");
        assert_eq!(icsp["kind"], "ImageContentSourcePolicy");
        assert_eq!(
            icsp["spec"]["repositoryDigestMirrors"],
            json!([
                {"mirrors": ["mirror.example.com:8443/ocp4/ocp-release"],
                 "source": "quay.io/openshift-release-dev/ocp-release"},
                {"mirrors": ["mirror.example.com:8443/ocp4/ubi-minimal"],
                 "source": "registry.access.redhat.com/ubi8/ubi-minimal"},
            ])
        );
        let idms: serde_json::Value =
            serde_yaml_ng::from_str(&image_digest_mirror_set("quayside", &pairs())).expect("yaml");
        assert_eq!(idms["apiVersion"], "config.openshift.io/v1");
        assert_eq!(
            idms["spec"]["imageDigestMirrors"][1]["source"],
            "registry.access.redhat.com/ubi8/ubi-minimal"
        );
    }

    #[test]
    fn registries_conf_has_a_stanza_per_source() {
        let conf = registries_conf(&pairs(), true);
        assert_eq!(conf.matches("[[registry]]").count(), 2, "{conf}");
        assert!(
            conf.contains(
                "location = \"mirror.example.com:8443/ocp4/ubi-minimal\"\ninsecure = true"
            ),
            "{conf}"
        );
        assert!(conf.contains("mirror-by-digest-only = true"));
    }
}
