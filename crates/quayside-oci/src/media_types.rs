//! Media type constants and Quay's artifact-type allow-list.

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI empty descriptor (`{}`), used as config of artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// OCI layer, uncompressed tar.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd.
pub const OCI_LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layer, tar (deprecated in image-spec 1.1).
pub const OCI_LAYER_NONDIST_TAR: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable layer, gzip (deprecated in image-spec 1.1).
pub const OCI_LAYER_NONDIST_TAR_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable layer, zstd (deprecated in image-spec 1.1).
pub const OCI_LAYER_NONDIST_TAR_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// The digest of the OCI empty JSON blob `{}`.
pub const OCI_EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// Docker image manifest v2 schema 2.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (v2 schema 2).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker container config (schema 2).
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer (gzip).
/// Digest of the gzipped empty tar layer Docker elides from schema 2 manifests (Quay's
/// `EMPTY_LAYER_BLOB_DIGEST`), and its size in bytes.
pub const EMPTY_LAYER_DIGEST: &str =
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
pub const EMPTY_LAYER_SIZE: u64 = 32;
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker foreign (non-distributable) layer.
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker schema 1 manifest, unsigned.
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1 manifest, signed (JWS "pretty" form).
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Plain JSON; Quay treats a manifest PUT with this Content-Type as schema 1.
pub const APPLICATION_JSON: &str = "application/json";

/// Helm chart config.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart content layer.
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm provenance layer.
pub const HELM_PROVENANCE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// Legacy helm chart layer type allowed by Quay.
pub const TAR_GZIP: &str = "application/tar+gzip";

/// All manifest media types Quay accepts on `PUT /v2/<name>/manifests/<ref>`.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST_V2,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
];

/// OCI layer types that Quay always allows in OCI image manifests (its
/// `OCI_IMAGE_LAYER_CONTENT_TYPES`, plus zstd variants).
pub const OCI_LAYER_TYPES: &[&str] = &[
    OCI_LAYER_TAR,
    OCI_LAYER_TAR_GZIP,
    OCI_LAYER_TAR_ZSTD,
    OCI_LAYER_NONDIST_TAR,
    OCI_LAYER_NONDIST_TAR_GZIP,
    OCI_LAYER_NONDIST_TAR_ZSTD,
];

/// Layer media types that mark a non-distributable ("foreign") layer, which
/// must carry `urls` (Quay: "missing `urls` for remote layer").
pub const NON_DISTRIBUTABLE_LAYER_TYPES: &[&str] = &[
    OCI_LAYER_NONDIST_TAR,
    OCI_LAYER_NONDIST_TAR_GZIP,
    OCI_LAYER_NONDIST_TAR_ZSTD,
    DOCKER_FOREIGN_LAYER,
];

/// Quay's default `ALLOWED_OCI_ARTIFACT_TYPES` (`config.py`): config media type →
/// extra layer media types accepted with it.
pub const DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES: &[(&str, &[&str])] = &[
    (
        OCI_CONFIG,
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
    (HELM_CONFIG, &[TAR_GZIP, HELM_CHART_CONTENT]),
    (
        "application/vnd.oci.source.image.config.v1+json",
        &[OCI_LAYER_TAR_GZIP],
    ),
    (
        "application/vnd.unknown.config.v1+json",
        &[
            "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
            "application/vnd.cncf.openpolicyagent.data.layer.v1+json",
        ],
    ),
];

/// Normalises a `Content-Type` header value: drops parameters (`; charset=...`),
/// trims whitespace and lowercases. `None` for an empty value.
///
/// Quay compares Werkzeug's `request.content_type` (the raw header, parameters
/// included) by string equality; quayside is lenient about parameters and case.
pub fn normalize_content_type(value: &str) -> Option<String> {
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.is_empty() {
        None
    } else {
        Some(essence.to_ascii_lowercase())
    }
}

/// True when `mt` is a manifest media type quayside can parse.
pub fn is_manifest_media_type(mt: &str) -> bool {
    MANIFEST_MEDIA_TYPES.contains(&mt)
}

/// True when `mt` is an index / manifest-list type.
pub fn is_index_media_type(mt: &str) -> bool {
    mt == OCI_INDEX || mt == DOCKER_MANIFEST_LIST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize() {
        assert_eq!(
            normalize_content_type(" Application/VND.oci.image.manifest.v1+json ; charset=utf-8")
                .as_deref(),
            Some(OCI_MANIFEST)
        );
        assert_eq!(normalize_content_type(""), None);
        assert_eq!(normalize_content_type(" ;x=y"), None);
    }

    #[test]
    fn classification() {
        for mt in MANIFEST_MEDIA_TYPES {
            assert!(is_manifest_media_type(mt));
        }
        assert!(!is_manifest_media_type(APPLICATION_JSON));
        assert!(!is_manifest_media_type(OCI_CONFIG));
        assert!(is_index_media_type(OCI_INDEX));
        assert!(is_index_media_type(DOCKER_MANIFEST_LIST));
        assert!(!is_index_media_type(OCI_MANIFEST));
    }

    #[test]
    fn default_artifact_types_contain_helm_and_cosign() {
        let helm = DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES
            .iter()
            .find(|(c, _)| *c == HELM_CONFIG)
            .map(|(_, l)| *l)
            .unwrap_or_default();
        assert!(helm.contains(&HELM_CHART_CONTENT));
        let oci = DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES
            .iter()
            .find(|(c, _)| *c == OCI_CONFIG)
            .map(|(_, l)| *l)
            .unwrap_or_default();
        assert!(oci.contains(&"application/vnd.dev.cosign.simplesigning.v1+json"));
        assert_eq!(DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES.len(), 4);
    }

    #[test]
    fn empty_digest_constant_is_digest_of_empty_json() {
        assert_eq!(
            crate::Digest::sha256_of(b"{}").to_string(),
            OCI_EMPTY_DIGEST
        );
    }
}
