//! Manifest parsing: every kind, every error path.

use base64::Engine as _;
use quayside_oci::media_types as mt;
use quayside_oci::{
    check_artifact_types, Digest, DigestError, ErrorCode, ManifestError, ManifestKind,
    ParsedManifest, MAX_MANIFEST_SIZE,
};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn oci_manifest(extra: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{D1}","size":7}},"layers":[{{"mediaType":"{}","digest":"{D2}","size":10}}]{extra}}}"#,
        mt::OCI_MANIFEST,
        mt::OCI_CONFIG,
        mt::OCI_LAYER_TAR_GZIP
    )
}

fn parse(body: &str, ct: Option<&str>) -> Result<ParsedManifest, ManifestError> {
    ParsedManifest::parse(body.as_bytes(), ct)
}

fn err(body: &str, ct: Option<&str>) -> ManifestError {
    match parse(body, ct) {
        Ok(m) => panic!("expected error, parsed {:?}", m.kind()),
        Err(e) => e,
    }
}

#[test]
fn oci_manifest_basic() {
    let body = oci_manifest(r#","annotations":{"a":"b"},"unknownField":[1,2]"#);
    let m = parse(&body, Some(mt::OCI_MANIFEST)).expect("parses");
    assert_eq!(m.kind(), ManifestKind::OciManifest);
    assert_eq!(m.media_type(), mt::OCI_MANIFEST);
    assert_eq!(m.bytes(), body.as_bytes());
    assert_eq!(m.size(), body.len());
    assert_eq!(m.digest(), &Digest::sha256_of(body.as_bytes()));
    assert_eq!(
        m.config().map(|c| c.digest.to_string()),
        Some(D1.to_owned())
    );
    assert_eq!(m.config().map(|c| c.size), Some(7));
    assert_eq!(m.layers().len(), 1);
    assert_eq!(m.layers()[0].media_type, mt::OCI_LAYER_TAR_GZIP);
    assert!(m.manifests().is_empty());
    assert!(m.child_digests().is_empty());
    assert!(!m.is_index());
    assert!(m.schema1().is_none());
    assert_eq!(m.artifact_type(), Some(mt::OCI_CONFIG));
    assert_eq!(
        m.annotations().and_then(|a| a.get("a")).map(String::as_str),
        Some("b")
    );
    let blobs: Vec<String> = m.referenced_blobs().iter().map(|d| d.to_string()).collect();
    assert_eq!(blobs, vec![D1, D2]);
    assert_eq!(m.subject(), None);
    assert_eq!(m.into_bytes(), body.into_bytes());
}

#[test]
fn content_type_parameters_and_case_are_ignored() {
    let body = oci_manifest("");
    let m = parse(
        &body,
        Some("Application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
    )
    .expect("parses");
    assert_eq!(m.kind(), ManifestKind::OciManifest);
}

#[test]
fn oci_manifest_without_body_media_type_is_fine() {
    let body = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{D1}","size":1}},"layers":[]}}"#,
        mt::OCI_CONFIG
    );
    let m = parse(&body, Some(mt::OCI_MANIFEST)).expect("parses");
    assert!(m.layers().is_empty());
    assert_eq!(m.referenced_blobs().len(), 1);
}

#[test]
fn artifact_with_subject_and_artifact_type() {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","artifactType":"application/spdx+json","config":{{"mediaType":"{}","digest":"{}","size":2}},"layers":[{{"mediaType":"application/spdx+json","digest":"{D2}","size":3}}],"subject":{{"mediaType":"{}","digest":"{D3}","size":100}}}}"#,
        mt::OCI_MANIFEST,
        mt::OCI_EMPTY,
        mt::OCI_EMPTY_DIGEST,
        mt::OCI_MANIFEST
    );
    let m = parse(&body, Some(mt::OCI_MANIFEST)).expect("parses");
    assert_eq!(m.artifact_type(), Some("application/spdx+json"));
    assert_eq!(
        m.subject_digest().map(ToString::to_string),
        Some(D3.to_owned())
    );
    assert_eq!(m.subject().map(|s| s.size), Some(100));
    // Quay's default allow-list rejects the empty config (IGNORE_UNKNOWN_MEDIATYPES=false).
    assert_eq!(
        check_artifact_types(&m, mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES),
        Err(ManifestError::DisallowedMediaType {
            field: "config.mediaType".into(),
            media_type: mt::OCI_EMPTY.into()
        })
    );
}

#[test]
fn artifact_type_allow_list() {
    let img = parse(&oci_manifest(""), Some(mt::OCI_MANIFEST)).expect("parses");
    assert_eq!(
        check_artifact_types(&img, mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES),
        Ok(())
    );
    let cosign = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{D1}","size":1}},"layers":[{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"{D2}","size":1}}]}}"#,
        mt::OCI_CONFIG
    );
    let m = parse(&cosign, Some(mt::OCI_MANIFEST)).expect("parses");
    assert_eq!(
        check_artifact_types(&m, mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES),
        Ok(())
    );
    let odd_layer = cosign.replace("application/vnd.dev.cosign.simplesigning.v1+json", "x/y");
    let m = parse(&odd_layer, Some(mt::OCI_MANIFEST)).expect("parses");
    assert_eq!(
        check_artifact_types(&m, mt::DEFAULT_ALLOWED_OCI_ARTIFACT_TYPES),
        Err(ManifestError::DisallowedMediaType {
            field: "layers[0].mediaType".into(),
            media_type: "x/y".into()
        })
    );
    assert_eq!(check_artifact_types(&m, &[("x", &["x/y"])]), Ok(()));
}

#[test]
fn oci_index_with_platforms() {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{idx}","manifests":[{{"mediaType":"{m}","digest":"{D1}","size":5,"platform":{{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1","os.features":["win32k"]}}}},{{"mediaType":"{m}","digest":"{D2}","size":6,"platform":{{"architecture":"arm","os":"linux","variant":"v7"}}}},{{"mediaType":"{m}","digest":"{D3}","size":7,"artifactType":"x/y"}}],"artifactType":"a/b"}}"#,
        idx = mt::OCI_INDEX,
        m = mt::OCI_MANIFEST
    );
    let m = parse(&body, Some(mt::OCI_INDEX)).expect("parses");
    assert_eq!(m.kind(), ManifestKind::OciIndex);
    assert!(m.is_index());
    assert!(m.config().is_none());
    assert!(m.layers().is_empty());
    assert!(m.referenced_blobs().is_empty());
    assert_eq!(m.artifact_type(), Some("a/b"));
    let kids = m.manifests();
    assert_eq!(kids.len(), 3);
    let p0 = kids[0].platform.as_ref().expect("platform");
    assert_eq!(
        (p0.architecture.as_str(), p0.os.as_str()),
        ("amd64", "windows")
    );
    assert_eq!(p0.os_version.as_deref(), Some("10.0.17763.1"));
    assert_eq!(p0.os_features, vec!["win32k".to_owned()]);
    assert_eq!(
        kids[1].platform.as_ref().and_then(|p| p.variant.as_deref()),
        Some("v7")
    );
    assert!(kids[2].platform.is_none());
    assert_eq!(kids[2].artifact_type.as_deref(), Some("x/y"));
    let digests: Vec<String> = m.child_digests().iter().map(|d| d.to_string()).collect();
    assert_eq!(digests, vec![D1, D2, D3]);
}

#[test]
fn docker_schema2_manifest_and_foreign_layers() {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{D1}","size":1}},"layers":[{{"mediaType":"{}","digest":"{D2}","size":2,"urls":["https://example.com/l"]}},{{"mediaType":"{}","digest":"{D3}","size":3}}]}}"#,
        mt::DOCKER_MANIFEST_V2,
        mt::DOCKER_CONFIG,
        mt::DOCKER_FOREIGN_LAYER,
        mt::DOCKER_LAYER
    );
    let m = parse(&body, Some(mt::DOCKER_MANIFEST_V2)).expect("parses");
    assert_eq!(m.kind(), ManifestKind::DockerManifest);
    assert_eq!(m.artifact_type(), None);
    assert_eq!(m.layers()[0].urls, vec!["https://example.com/l".to_owned()]);
    assert!(m.layers()[0].is_non_distributable());
    assert_eq!(m.referenced_blobs().len(), 3);
    let local: Vec<String> = m.local_blobs().iter().map(|d| d.to_string()).collect();
    assert_eq!(local, vec![D1, D3]);
    // artifact policy does not apply to docker manifests
    assert_eq!(check_artifact_types(&m, &[]), Ok(()));

    let no_urls = body.replace(r#","urls":["https://example.com/l"]"#, "");
    assert_eq!(
        err(&no_urls, Some(mt::DOCKER_MANIFEST_V2)),
        ManifestError::MissingUrls {
            field: "layers[0]".into()
        }
    );
}

#[test]
fn docker_manifest_list_requires_platform() {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{D1}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        mt::DOCKER_MANIFEST_LIST,
        mt::DOCKER_MANIFEST_V2
    );
    let m = parse(&body, Some(mt::DOCKER_MANIFEST_LIST)).expect("parses");
    assert_eq!(m.kind(), ManifestKind::DockerManifestList);
    assert_eq!(m.media_type(), mt::DOCKER_MANIFEST_LIST);
    assert_eq!(m.artifact_type(), None);
    let no_platform = body.replace(r#","platform":{"architecture":"amd64","os":"linux"}"#, "");
    assert_eq!(
        err(&no_platform, Some(mt::DOCKER_MANIFEST_LIST)),
        ManifestError::MissingField("manifests[0].platform".into())
    );
    let no_os = body.replace(r#","os":"linux""#, "");
    assert_eq!(
        err(&no_os, Some(mt::DOCKER_MANIFEST_LIST)),
        ManifestError::MissingField("manifests[0].platform.os".into())
    );
    let no_arch = body.replace(r#""architecture":"amd64","#, "");
    assert_eq!(
        err(&no_arch, Some(mt::DOCKER_MANIFEST_LIST)),
        ManifestError::MissingField("manifests[0].platform.architecture".into())
    );
    let no_manifests = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}"}}"#,
        mt::DOCKER_MANIFEST_LIST
    );
    assert_eq!(
        err(&no_manifests, Some(mt::DOCKER_MANIFEST_LIST)),
        ManifestError::MissingField("manifests".into())
    );
}

#[test]
fn media_type_consistency() {
    // body says index, header says manifest
    let body = oci_manifest("").replace(
        &format!(r#""mediaType":"{}","config""#, mt::OCI_MANIFEST),
        &format!(r#""mediaType":"{}","config""#, mt::OCI_INDEX),
    );
    assert_eq!(
        err(&body, Some(mt::OCI_MANIFEST)),
        ManifestError::MediaTypeMismatch {
            declared: mt::OCI_MANIFEST.into(),
            body: mt::OCI_INDEX.into()
        }
    );
    // OCI body pushed as docker v2
    assert_eq!(
        err(&oci_manifest(""), Some(mt::DOCKER_MANIFEST_V2)),
        ManifestError::MediaTypeMismatch {
            declared: mt::DOCKER_MANIFEST_V2.into(),
            body: mt::OCI_MANIFEST.into()
        }
    );
    // docker v2 requires body mediaType
    let no_mt = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{D1}","size":1}},"layers":[]}}"#,
        mt::DOCKER_CONFIG
    );
    assert_eq!(
        err(&no_mt, Some(mt::DOCKER_MANIFEST_V2)),
        ManifestError::MissingField("mediaType".into())
    );
}

#[test]
fn unsupported_content_types() {
    let body = oci_manifest("");
    for ct in [
        "text/plain",
        mt::OCI_CONFIG,
        "application/vnd.oci.artifact.manifest.v1+json",
    ] {
        let e = err(&body, Some(ct));
        assert_eq!(e, ManifestError::UnsupportedMediaType(ct.to_owned()));
        let r = e.registry_error();
        assert_eq!((r.code, r.status), (ErrorCode::ManifestInvalid, 415));
        assert_eq!(r.detail["message"], "manifest schema version not supported");
    }
}

#[test]
fn missing_content_type_means_schema1() {
    // An OCI body without Content-Type is validated as schema 1 and fails, as in Quay.
    assert_eq!(
        err(&oci_manifest(""), None),
        ManifestError::MissingField("tag".into())
    );
    assert_eq!(
        err(&oci_manifest(""), Some("application/json")),
        ManifestError::MissingField("tag".into())
    );
    assert_eq!(
        err(&oci_manifest(""), Some("")),
        ManifestError::MissingField("tag".into())
    );
}

#[test]
fn structural_errors() {
    let ct = Some(mt::OCI_MANIFEST);
    assert!(matches!(err("not json", ct), ManifestError::InvalidJson(_)));
    assert!(matches!(err("", ct), ManifestError::InvalidJson(_)));
    assert_eq!(err("[1,2]", ct), ManifestError::NotAnObject);
    assert_eq!(err("\"x\"", ct), ManifestError::NotAnObject);
    assert!(matches!(
        err(r#"{"schemaVersion":2,"layers":"x"}"#, ct),
        ManifestError::InvalidJson(_)
    ));
    assert_eq!(
        err(&oci_manifest("").replace(r#""schemaVersion":2,"#, ""), ct),
        ManifestError::MissingField("schemaVersion".into())
    );
    assert_eq!(
        err(
            &oci_manifest("").replace(r#""schemaVersion":2"#, r#""schemaVersion":1"#),
            ct
        ),
        ManifestError::InvalidSchemaVersion { expected: 2 }
    );
    assert_eq!(
        err(
            &oci_manifest("").replace(r#""schemaVersion":2"#, r#""schemaVersion":"2""#),
            ct
        ),
        ManifestError::InvalidSchemaVersion { expected: 2 }
    );
    let no_config = r#"{"schemaVersion":2,"layers":[]}"#;
    assert_eq!(
        err(no_config, ct),
        ManifestError::MissingField("config".into())
    );
    let no_layers =
        format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","digest":"{D1}","size":1}}}}"#);
    assert_eq!(
        err(&no_layers, ct),
        ManifestError::MissingField("layers".into())
    );
    let no_index_manifests = r#"{"schemaVersion":2}"#;
    assert_eq!(
        err(no_index_manifests, Some(mt::OCI_INDEX)),
        ManifestError::MissingField("manifests".into())
    );
}

#[test]
fn descriptor_errors() {
    let ct = Some(mt::OCI_MANIFEST);
    let base = oci_manifest("");
    assert_eq!(
        err(&base.replace(&format!(r#""digest":"{D2}","#), ""), ct),
        ManifestError::MissingField("layers[0].digest".into())
    );
    assert_eq!(
        err(&base.replace(r#","size":10"#, ""), ct),
        ManifestError::MissingField("layers[0].size".into())
    );
    assert_eq!(
        err(
            &base.replace(
                &format!(r#""mediaType":"{}","digest":"{D1}""#, mt::OCI_CONFIG),
                &format!(r#""digest":"{D1}""#)
            ),
            ct
        ),
        ManifestError::MissingField("config.mediaType".into())
    );
    assert_eq!(
        err(&base.replace(r#""size":10"#, r#""size":-1"#), ct),
        ManifestError::InvalidSize {
            field: "layers[0].size".into()
        }
    );
    assert_eq!(
        err(&base.replace(r#""size":10"#, r#""size":"10""#), ct),
        ManifestError::InvalidSize {
            field: "layers[0].size".into()
        }
    );
    assert_eq!(
        err(&base.replace(D1, "sha256:abc"), ct),
        ManifestError::InvalidDigest {
            field: "config.digest".into(),
            error: DigestError::InvalidLength {
                algorithm: quayside_oci::Algorithm::Sha256,
                expected: 64,
                found: 3
            }
        }
    );
    assert_eq!(
        err(&base.replace(D2, &format!("sha256:{}", "A".repeat(64))), ct),
        ManifestError::InvalidDigest {
            field: "layers[0].digest".into(),
            error: DigestError::NotLowercaseHex
        }
    );
    let bad_subject = oci_manifest(r#","subject":{"mediaType":"x","digest":"nope","size":1}"#);
    assert_eq!(
        err(&bad_subject, ct),
        ManifestError::InvalidDigest {
            field: "subject.digest".into(),
            error: DigestError::MissingSeparator
        }
    );
    let nondist = base.replace(mt::OCI_LAYER_TAR_GZIP, mt::OCI_LAYER_NONDIST_TAR_GZIP);
    assert_eq!(
        err(&nondist, ct),
        ManifestError::MissingUrls {
            field: "layers[0]".into()
        }
    );
    let platform_missing_os = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{D1}","size":1,"platform":{{"architecture":"amd64"}}}}]}}"#,
        mt::OCI_MANIFEST
    );
    assert_eq!(
        err(&platform_missing_os, Some(mt::OCI_INDEX)),
        ManifestError::MissingField("manifests[0].platform.os".into())
    );
    let non_string_annotation = oci_manifest(r#","annotations":{"a":1}"#);
    assert!(matches!(
        err(&non_string_annotation, ct),
        ManifestError::InvalidJson(_)
    ));
}

#[test]
fn size_limit() {
    let big = vec![b' '; MAX_MANIFEST_SIZE + 1];
    let e = ParsedManifest::parse(&big, Some(mt::OCI_MANIFEST)).expect_err("too large");
    assert_eq!(
        e,
        ManifestError::TooLarge {
            size: MAX_MANIFEST_SIZE + 1,
            limit: MAX_MANIFEST_SIZE
        }
    );
    let r = e.registry_error();
    assert_eq!((r.code, r.status), (ErrorCode::ManifestInvalid, 413));
    assert_eq!(MAX_MANIFEST_SIZE, 4 * 1024 * 1024);
    // exactly at the limit is not rejected for size (it fails later as JSON)
    let mut at = oci_manifest("").into_bytes();
    at.resize(MAX_MANIFEST_SIZE, b' ');
    let m = ParsedManifest::parse(&at, Some(mt::OCI_MANIFEST)).expect("whitespace padding is fine");
    assert_eq!(m.size(), MAX_MANIFEST_SIZE);
}

#[test]
fn registry_error_for_parse_failures() {
    let r = err("{", Some(mt::OCI_MANIFEST)).registry_error();
    assert_eq!((r.code, r.status), (ErrorCode::ManifestInvalid, 400));
    let msg = r.detail["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("failed to parse manifest: malformed manifest data"),
        "{msg}"
    );
}

// ---------------- Docker schema 1 ----------------

fn schema1_payload(name: &str) -> String {
    format!(
        "{{\n   \"schemaVersion\": 1,\n   \"name\": \"{name}\",\n   \"tag\": \"latest\",\n   \"architecture\": \"amd64\",\n   \"fsLayers\": [\n      {{\"blobSum\": \"{D2}\"}},\n      {{\"blobSum\": \"{D1}\"}}\n   ],\n   \"history\": [\n      {{\"v1Compatibility\": \"{{\\\"id\\\":\\\"b\\\",\\\"parent\\\":\\\"a\\\"}}\"}},\n      {{\"v1Compatibility\": \"{{\\\"id\\\":\\\"a\\\"}}\"}}\n   ]\n}}"
    )
}

fn sign(payload: &str) -> String {
    // JWS "pretty" form: payload without the closing "\n}", then signatures, then the tail.
    let cut = payload.len() - 2;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let protected = b64.encode(format!(
        r#"{{"formatLength":{cut},"formatTail":"{}","time":"2024-01-01T00:00:00Z"}}"#,
        b64.encode("\n}")
    ));
    format!(
        "{},\n   \"signatures\": [{{\"header\": {{\"alg\": \"ES256\", \"jwk\": {{}}}}, \"signature\": \"xx\", \"protected\": \"{protected}\"}}]\n}}",
        &payload[..cut]
    )
}

#[test]
fn schema1_unsigned() {
    let body = schema1_payload("acme/app");
    let m = parse(&body, Some(mt::DOCKER_SCHEMA1)).expect("parses");
    assert_eq!(m.kind(), ManifestKind::DockerSchema1 { signed: false });
    assert_eq!(m.media_type(), mt::DOCKER_SCHEMA1);
    assert_eq!(m.digest(), &Digest::sha256_of(body.as_bytes()));
    let s1 = m.schema1().expect("schema1");
    assert_eq!(s1.tag, "latest");
    assert_eq!(s1.namespace_and_repo(), ("acme", "app"));
    assert_eq!(s1.architecture.as_deref(), Some("amd64"));
    assert_eq!(s1.v1_ids, vec!["b".to_owned(), "a".to_owned()]);
    let blobs: Vec<String> = m.referenced_blobs().iter().map(|d| d.to_string()).collect();
    assert_eq!(blobs, vec![D2, D1]);
    assert!(m.config().is_none() && m.layers().is_empty() && m.subject().is_none());
    assert!(m.annotations().is_none());
    assert_eq!(m.artifact_type(), None);
    // no content type and application/json also mean schema 1
    assert!(parse(&body, None).is_ok());
    assert!(parse(&body, Some("application/json")).is_ok());
    let lib = parse(&schema1_payload("app"), None).expect("parses");
    assert_eq!(
        lib.schema1().map(|s| s.namespace_and_repo()),
        Some(("", "app"))
    );
}

#[test]
fn schema1_signed_digest_is_over_payload() {
    let payload = schema1_payload("acme/app");
    let signed = sign(&payload);
    // header says unsigned type; stored type follows the signatures, as in Quay
    let m = parse(&signed, Some(mt::DOCKER_SCHEMA1)).expect("parses");
    assert_eq!(m.kind(), ManifestKind::DockerSchema1 { signed: true });
    assert_eq!(m.media_type(), mt::DOCKER_SCHEMA1_SIGNED);
    assert_eq!(m.digest(), &Digest::sha256_of(payload.as_bytes()));
    assert_ne!(m.digest(), &Digest::sha256_of(signed.as_bytes()));
    assert_eq!(m.bytes(), signed.as_bytes());
}

#[test]
fn schema1_errors() {
    let ct = Some(mt::DOCKER_SCHEMA1_SIGNED);
    let body = schema1_payload("acme/app");
    assert_eq!(
        err(&body.replace("\"name\"", "\"nom\""), ct),
        ManifestError::MissingField("name".into())
    );
    assert_eq!(
        err(&body.replace("\"fsLayers\"", "\"fs\""), ct),
        ManifestError::MissingField("fsLayers".into())
    );
    assert_eq!(
        err(&body.replace("\"history\"", "\"hist\""), ct),
        ManifestError::MissingField("history".into())
    );
    assert_eq!(
        err(&body.replacen("\"blobSum\"", "\"blob\"", 1), ct),
        ManifestError::MissingField("fsLayers[0].blobSum".into())
    );
    assert_eq!(
        err(&body.replacen("\"v1Compatibility\"", "\"v1\"", 1), ct),
        ManifestError::MissingField("history[0].v1Compatibility".into())
    );
    assert!(matches!(
        err(&body.replace(D2, "sha256:zz"), ct),
        ManifestError::InvalidDigest { .. }
    ));
    assert_eq!(
        err(&body.replace("\\\"id\\\":\\\"a\\\"", "\\\"x\\\":1"), ct),
        ManifestError::Schema1V1Compatibility {
            index: 1,
            reason: "id field missing from v1Compatibility JSON".into()
        }
    );
    assert!(matches!(
        err(&body.replace("{\\\"id\\\":\\\"a\\\"}", "not json"), ct),
        ManifestError::Schema1V1Compatibility { index: 1, .. }
    ));
    let empty = r#"{"name":"a/b","tag":"t","fsLayers":[],"history":[]}"#;
    let e = err(empty, ct);
    assert_eq!(e, ManifestError::Schema1NoLayers);
    assert_eq!(
        e.registry_error().detail["message"],
        "manifest does not reference any layers"
    );
}

#[test]
fn schema1_bad_signatures() {
    let ct = Some(mt::DOCKER_SCHEMA1_SIGNED);
    let payload = schema1_payload("acme/app");
    let signed = sign(&payload);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let protected_start = signed
        .find("\"protected\": \"")
        .map(|i| i + 14)
        .unwrap_or(0);
    let protected_end = signed[protected_start..]
        .find('"')
        .map(|i| protected_start + i)
        .unwrap_or(0);
    let with_protected = |p: &str| {
        format!(
            "{}{}{}",
            &signed[..protected_start],
            p,
            &signed[protected_end..]
        )
    };

    assert!(matches!(
        err(&with_protected("!!!"), ct),
        ManifestError::Schema1Signature(_)
    ));
    assert!(matches!(
        err(&with_protected(&b64.encode("not json")), ct),
        ManifestError::Schema1Signature(_)
    ));
    assert_eq!(
        err(&with_protected(&b64.encode(r#"{"formatTail":"fQ"}"#)), ct),
        ManifestError::Schema1Signature("missing formatLength".into())
    );
    assert_eq!(
        err(&with_protected(&b64.encode(r#"{"formatLength":3}"#)), ct),
        ManifestError::Schema1Signature("missing formatTail".into())
    );
    assert!(matches!(
        err(
            &with_protected(&b64.encode(r#"{"formatLength":3,"formatTail":"@@"}"#)),
            ct
        ),
        ManifestError::Schema1Signature(_)
    ));
    assert_eq!(
        err(
            &with_protected(&b64.encode(r#"{"formatLength":99999999,"formatTail":"fQ"}"#)),
            ct
        ),
        ManifestError::Schema1Signature("formatLength exceeds manifest".into())
    );
    let no_protected = signed.replace("\"protected\"", "\"prot\"");
    assert_eq!(
        err(&no_protected, ct),
        ManifestError::MissingField("signatures[0].protected".into())
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A tiny deterministic fuzz: mutate a valid manifest byte by byte.
    let base = oci_manifest(r#","subject":{"mediaType":"a/b","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":1}"#).into_bytes();
    let mut seed: u32 = 12345;
    let mut ok = 0usize;
    for _ in 0..3000 {
        let mut b = base.clone();
        for _ in 0..3 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (seed as usize >> 8) % b.len();
            b[i] = (seed >> 16) as u8;
        }
        for ct in [
            Some(mt::OCI_MANIFEST),
            Some(mt::OCI_INDEX),
            None,
            Some(mt::DOCKER_MANIFEST_V2),
        ] {
            if ParsedManifest::parse(&b, ct).is_ok() {
                ok += 1;
            }
        }
    }
    // some mutations land in insignificant places (e.g. inside strings) and still parse
    assert!(ok > 0);
}
