//! Manifest kinds and HTTP-level safety on /v2, each asserting status and
//! error code, on both database backends: Docker schema 1 (signed, unsigned,
//! no Content-Type) stored as Quay stores it, Docker manifest lists, the OCI
//! artifact-type policy, concurrent and interrupted uploads, catalog paging.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::backends::{self, Running};
use crate::fixtures;

const USER: &str = "carol";
const PASSWORD: &str = "carols-long-password";
const EMPTY_LAYER: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
const SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// base64url without padding (JWS).
fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// `(status, code, message, detail.message)` of an OCI error response.
async fn error_of(resp: reqwest::Response) -> (StatusCode, String, String, String) {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let e = &body["errors"][0];
    let s = |v: &Value| v.as_str().unwrap_or("<none>").to_string();
    (
        status,
        s(&e["code"]),
        s(&e["message"]),
        s(&e["detail"]["message"]),
    )
}

struct Ctx {
    base: String,
    token: String,
    http: Client,
}

impl Ctx {
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let d = digest(data);
        let resp = self
            .req(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
            )
            .body(data.to_vec())
            .send()
            .await
            .expect("monolithic upload");
        assert_eq!(
            resp.status(),
            StatusCode::CREATED,
            "{:?}",
            resp.text().await
        );
        d
    }

    async fn start_upload(&self, repo: &str) -> String {
        let resp = self
            .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .expect("start upload");
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let loc = resp.headers()["location"].to_str().expect("location");
        loc.split("/v2/")
            .nth(1)
            .map(|p| format!("/v2/{p}"))
            .expect("upload path")
    }

    /// start, two PATCHes, PUT ?digest: returns the final status.
    async fn chunked_upload(&self, repo: &str, data: &[u8]) -> StatusCode {
        let loc = self.start_upload(repo).await;
        let half = data.len() / 2;
        for part in [&data[..half], &data[half..]] {
            let resp = self
                .req(Method::PATCH, &loc)
                .body(part.to_vec())
                .send()
                .await
                .expect("patch");
            assert_eq!(resp.status(), StatusCode::ACCEPTED);
        }
        self.req(Method::PUT, &format!("{loc}?digest={}", digest(data)))
            .send()
            .await
            .expect("put")
            .status()
    }

    async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> reqwest::Response {
        let mut r = self
            .req(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))
            .body(body.to_vec());
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        r.send().await.expect("put manifest")
    }

    /// GET manifest: (status, content-type, docker-content-digest, body).
    async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        accept: &str,
    ) -> (StatusCode, String, String, Vec<u8>) {
        let resp = self
            .req(Method::GET, &format!("/v2/{repo}/manifests/{reference}"))
            .header("accept", accept)
            .send()
            .await
            .expect("get manifest");
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (status, ct, dcd) = (resp.status(), h("content-type"), h("docker-content-digest"));
        (status, ct, dcd, resp.bytes().await.expect("body").to_vec())
    }

    async fn delete_manifest(&self, repo: &str, reference: &str) -> reqwest::Response {
        self.req(Method::DELETE, &format!("/v2/{repo}/manifests/{reference}"))
            .send()
            .await
            .expect("delete manifest")
    }

    async fn tags(&self, repo: &str) -> Value {
        self.req(Method::GET, &format!("/v2/{repo}/tags/list"))
            .send()
            .await
            .expect("tags")
            .json::<Value>()
            .await
            .expect("json")["tags"]
            .clone()
    }
}

async fn db(run: &Running) -> quayside_meta::Db {
    quayside_meta::Db::connect(&run.db_uri, &quayside_meta::ConnectOptions::default())
        .await
        .expect("connect to the server's database")
}

/// `(media type, blob checksums)` of a stored manifest.
async fn stored_rows(run: &Running, repo: &str, manifest_digest: &str) -> (String, Vec<String>) {
    let db = db(run).await;
    let name = repo.strip_prefix("carol/").expect("carol's repo");
    let r = db
        .registry_repository(USER, name)
        .await
        .expect("query")
        .expect("repository exists");
    let rows = db
        .manifest_blob_checksums(r.id, manifest_digest)
        .await
        .expect("query")
        .expect("manifest row");
    db.close().await;
    rows
}

fn schema1_body(name: &str, tag: &str, layers: &[&str]) -> Value {
    let history: Vec<Value> = layers
        .iter()
        .enumerate()
        .map(|(i, _)| json!({"v1Compatibility": json!({"id": format!("{i:064x}")}).to_string()}))
        .collect();
    let fs: Vec<Value> = layers.iter().map(|l| json!({"blobSum": l})).collect();
    json!({
        "schemaVersion": 1, "name": name, "tag": tag, "architecture": "amd64",
        "fsLayers": fs, "history": history
    })
}

/// A JWS-signed schema 1 manifest the way docker/libtrust lays it out, and the
/// payload (the bytes its digest is computed over). The signature itself is
/// not a valid one: quayside does not verify schema 1 signatures.
fn signed_schema1(body: &Value) -> (Vec<u8>, Vec<u8>) {
    let payload = serde_json::to_string_pretty(body)
        .expect("json")
        .into_bytes();
    let cut = payload.len() - 2; // before the closing "\n}"
    let protected = json!({
        "formatLength": cut,
        "formatTail": b64url(&payload[cut..]),
        "time": "2024-01-01T00:00:00Z"
    });
    let sig = format!(
        ",\n   \"signatures\": [\n      {{\n         \"header\": {{\"alg\": \"ES256\", \"jwk\": {{\"crv\": \"P-256\", \"kty\": \"EC\", \"x\": \"AA\", \"y\": \"AA\"}}}},\n         \"signature\": \"{}\",\n         \"protected\": \"{}\"\n      }}\n   ]",
        b64url(b"not-a-real-signature"),
        b64url(protected.to_string().as_bytes())
    );
    let mut signed = payload[..cut].to_vec();
    signed.extend_from_slice(sig.as_bytes());
    signed.extend_from_slice(&payload[cut..]);
    (signed, payload)
}

async fn schema1(ctx: &Ctx, run: &Running) {
    let label = run.label;
    let repo = "carol/s1";
    let layer = ctx.push_blob(repo, b"schema1 layer bytes").await;

    // Unsigned, v1+json: the URL tag wins over the manifest's tag; the empty
    // layer is referenced without ever being uploaded (Quay supplies it).
    let unsigned = serde_json::to_vec(&schema1_body(repo, "not-this-tag", &[&layer, EMPTY_LAYER]))
        .expect("json");
    let resp = ctx
        .put_manifest(repo, "latest", Some(SCHEMA1), &unsigned)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{label}: {:?}",
        resp.text().await
    );
    let d = digest(&unsigned);
    let (status, ct, dcd, bytes) = ctx.get_manifest(repo, "latest", SCHEMA1).await;
    assert_eq!(
        (status, ct.as_str(), dcd.as_str()),
        (StatusCode::OK, SCHEMA1, d.as_str())
    );
    assert_eq!(bytes, unsigned, "{label}: stored bytes served");
    assert_eq!(
        ctx.tags(repo).await,
        json!(["latest"]),
        "{label}: URL tag wins"
    );
    let (status, _, _, bytes) = ctx.get_manifest(repo, &d, SCHEMA1).await;
    assert_eq!((status, bytes), (StatusCode::OK, unsigned.clone()));
    let mut want = vec![EMPTY_LAYER.to_string(), layer.clone()];
    want.sort();
    assert_eq!(
        stored_rows(run, repo, &d).await,
        (SCHEMA1.to_string(), want.clone())
    );
    // The shared empty layer is now a readable blob of the repository.
    let resp = ctx
        .req(Method::GET, &format!("/v2/{repo}/blobs/{EMPTY_LAYER}"))
        .send()
        .await
        .expect("empty layer");
    assert_eq!(resp.status(), StatusCode::OK, "{label}");
    assert_eq!(digest(&resp.bytes().await.expect("body")), EMPTY_LAYER);

    // No Content-Type at all: schema 1 as well.
    let untyped = serde_json::to_vec(&schema1_body(repo, "untyped", &[&layer])).expect("json");
    let resp = ctx.put_manifest(repo, "untyped", None, &untyped).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{label}: {:?}",
        resp.text().await
    );
    let (status, ct, _, bytes) = ctx.get_manifest(repo, "untyped", "application/json").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, SCHEMA1));
    assert_eq!(bytes, untyped);

    // Signed (prettyjws): the digest is over the JWS payload, and every lookup agrees.
    let (signed, payload) = signed_schema1(&schema1_body(repo, "signed", &[&layer]));
    let payload_digest = digest(&payload);
    assert_ne!(payload_digest, digest(&signed));
    let resp = ctx
        .put_manifest(repo, "signed", Some(SCHEMA1_SIGNED), &signed)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{label}: {:?}",
        resp.text().await
    );
    assert_eq!(
        resp.headers()["docker-content-digest"],
        payload_digest.as_str()
    );
    assert_eq!(
        resp.headers()["location"],
        format!("/v2/{repo}/manifests/{payload_digest}").as_str()
    );
    let (status, ct, dcd, bytes) = ctx.get_manifest(repo, "signed", SCHEMA1_SIGNED).await;
    assert_eq!(
        (status, ct.as_str(), dcd.as_str()),
        (StatusCode::OK, SCHEMA1_SIGNED, payload_digest.as_str())
    );
    assert_eq!(
        bytes, signed,
        "{label}: the signed bytes are served, not the payload"
    );
    let (status, _, dcd, bytes) = ctx
        .get_manifest(repo, &payload_digest, SCHEMA1_SIGNED)
        .await;
    assert_eq!(
        (status, dcd.as_str()),
        (StatusCode::OK, payload_digest.as_str())
    );
    assert_eq!(bytes, signed);
    let (status, ..) = ctx
        .get_manifest(repo, &digest(&signed), SCHEMA1_SIGNED)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{label}: no row under the whole-bytes digest"
    );
    assert_eq!(
        stored_rows(run, repo, &payload_digest).await,
        (SCHEMA1_SIGNED.to_string(), vec![layer.clone()])
    );
    // Pushed by digest: the payload digest is the manifest's digest; the digest of
    // the whole signed bytes is a mismatch.
    let (signed2, payload2) = signed_schema1(&schema1_body(repo, "by-digest", &[&layer]));
    let resp = ctx
        .put_manifest(repo, &digest(&signed2), Some(SCHEMA1_SIGNED), &signed2)
        .await;
    let (status, code, ..) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
    let resp = ctx
        .put_manifest(repo, &digest(&payload2), Some(SCHEMA1_SIGNED), &signed2)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "{label}");

    // The manifest must name the URL's repository (Quay's NAME_INVALID texts).
    let other_ns = serde_json::to_vec(&schema1_body("dave/s1", "x", &[&layer])).expect("json");
    let resp = ctx.put_manifest(repo, "x", Some(SCHEMA1), &other_ns).await;
    assert_eq!(
        error_of(resp).await,
        (
            StatusCode::BAD_REQUEST,
            "NAME_INVALID".into(),
            "namespace name does not match manifest".into(),
            "namespace name `carol` does not match `dave` in manifest".into()
        ),
        "{label}"
    );
    let other_repo =
        serde_json::to_vec(&schema1_body("carol/other", "x", &[&layer])).expect("json");
    let resp = ctx
        .put_manifest(repo, "x", Some(SCHEMA1), &other_repo)
        .await;
    assert_eq!(
        error_of(resp).await,
        (
            StatusCode::BAD_REQUEST,
            "NAME_INVALID".into(),
            "repository name does not match manifest".into(),
            "repository name `s1` does not match `other` in manifest".into()
        ),
        "{label}"
    );
    let no_ns = serde_json::to_vec(&schema1_body("s1", "x", &[&layer])).expect("json");
    let resp = ctx.put_manifest(repo, "x", Some(SCHEMA1), &no_ns).await;
    let (status, code, ..) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "NAME_INVALID"),
        "{label}"
    );
    // No layers; an unknown layer.
    let empty = serde_json::to_vec(&schema1_body(repo, "x", &[])).expect("json");
    let resp = ctx.put_manifest(repo, "x", Some(SCHEMA1), &empty).await;
    let (status, code, _, detail) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str(), detail.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            "manifest does not reference any layers"
        )
    );
    let unknown = digest(b"never uploaded");
    let body = serde_json::to_vec(&schema1_body(repo, "x", &[&unknown])).expect("json");
    let resp = ctx.put_manifest(repo, "x", Some(SCHEMA1), &body).await;
    let (status, code, ..) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
    );
    // A bad JWS protected header.
    let mut bad = schema1_body(repo, "x", &[&layer]);
    bad["signatures"] = json!([{"protected": "%%%", "signature": "AA", "header": {}}]);
    let resp = ctx
        .put_manifest(
            repo,
            "x",
            Some(SCHEMA1_SIGNED),
            &serde_json::to_vec(&bad).expect("json"),
        )
        .await;
    let (status, code, ..) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );

    // An Accept header without the stored type still gets the stored bytes
    // (quayside never converts; docs/REGISTRY.md).
    let (status, ct, _, bytes) = ctx.get_manifest(repo, "latest", OCI_MANIFEST).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, SCHEMA1), "{label}");
    assert_eq!(bytes, unsigned);
}

fn docker_image(config: &str, config_size: usize, layer: &str, layer_size: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": DOCKER_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": layer_size}]
    }))
    .expect("json")
}

async fn manifest_list(ctx: &Ctx) {
    let repo = "carol/lists";
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let layer = format!("layer for {arch}");
        let cd = ctx.push_blob(repo, config.as_bytes()).await;
        let ld = ctx.push_blob(repo, layer.as_bytes()).await;
        let m = docker_image(&cd, config.len(), &ld, layer.len());
        let md = digest(&m);
        let resp = ctx.put_manifest(repo, &md, Some(DOCKER_V2), &m).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "child by digest");
        children.push((arch, md, m));
    }
    let entries: Vec<Value> = children
        .iter()
        .map(|(arch, md, m)| {
            json!({"mediaType": DOCKER_V2, "digest": md, "size": m.len(),
                                   "platform": {"architecture": arch, "os": "linux"}})
        })
        .collect();
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": entries}),
    )
    .expect("json");
    let ld = digest(&list);
    let resp = ctx
        .put_manifest(repo, "multi", Some(DOCKER_LIST), &list)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{:?}",
        resp.text().await
    );
    assert_eq!(resp.headers()["docker-content-digest"], ld.as_str());
    for reference in ["multi", ld.as_str()] {
        let (status, ct, dcd, bytes) = ctx.get_manifest(repo, reference, DOCKER_LIST).await;
        assert_eq!(
            (status, ct.as_str(), dcd.as_str()),
            (StatusCode::OK, DOCKER_LIST, ld.as_str())
        );
        assert_eq!(bytes, list);
    }
    for (_, md, m) in &children {
        let (status, ct, _, bytes) = ctx.get_manifest(repo, md, DOCKER_V2).await;
        assert_eq!((status, ct.as_str()), (StatusCode::OK, DOCKER_V2));
        assert_eq!(&bytes, m);
    }
    assert_eq!(
        ctx.tags(repo).await,
        json!(["multi"]),
        "children stay untagged"
    );
    // A list naming a child that was never pushed; a list entry without platform.
    let bogus = digest(b"no such manifest");
    let bad = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        {"mediaType": DOCKER_V2, "digest": bogus, "size": 10, "platform": {"architecture": "amd64", "os": "linux"}}]}))
    .expect("json");
    let (status, code, ..) =
        error_of(ctx.put_manifest(repo, "bad", Some(DOCKER_LIST), &bad).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
    let no_platform = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        {"mediaType": DOCKER_V2, "digest": children[0].1, "size": children[0].2.len()}]}),
    )
    .expect("json");
    let (status, code, ..) = error_of(
        ctx.put_manifest(repo, "bad", Some(DOCKER_LIST), &no_platform)
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
    // A Docker manifest asked for as OCI: served as stored.
    let (status, ct, _, bytes) = ctx
        .get_manifest(repo, "multi", "application/vnd.oci.image.index.v1+json")
        .await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, DOCKER_LIST));
    assert_eq!(bytes, list);
}

/// Quay's allow-list on a Quay configuration (the PostgreSQL run); on the embedded default
/// (`IGNORE_UNKNOWN_MEDIATYPES: true`) every case is accepted, as OCI 1.1 accepts any
/// config and layer media type.
async fn artifact_policy(ctx: &Ctx, run: &Running) {
    let quay_rule = run.pg.is_some();
    let repo = "carol/policy";
    let empty_config = ctx.push_blob(repo, b"{}").await;
    let image_config = ctx
        .push_blob(
            repo,
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .await;
    let payload = ctx.push_blob(repo, b"artifact payload").await;
    let manifest =
        |config_type: &str, config: &str, layer_type: &str, artifact_type: Option<&str>| {
            let mut m = json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": config_type, "digest": config, "size": 2},
                "layers": [{"mediaType": layer_type, "digest": payload, "size": 16}]
            });
            if let Some(at) = artifact_type {
                m["artifactType"] = json!(at);
            }
            serde_json::to_vec(&m).expect("json")
        };
    let cases: &[(&str, &str, &str, Option<&str>, StatusCode)] = &[
        // Quay's defaults: images, cosign/SBOM layers under the image config, Helm.
        (
            "application/vnd.oci.image.config.v1+json",
            &image_config,
            "application/vnd.oci.image.layer.v1.tar",
            None,
            StatusCode::CREATED,
        ),
        (
            "application/vnd.oci.image.config.v1+json",
            &image_config,
            "application/vnd.dev.cosign.simplesigning.v1+json",
            None,
            StatusCode::CREATED,
        ),
        (
            "application/vnd.cncf.helm.config.v1+json",
            &empty_config,
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
            None,
            StatusCode::CREATED,
        ),
        // OCI 1.1 artifacts: artifactType + the empty config, any layer type.
        (
            "application/vnd.oci.empty.v1+json",
            &empty_config,
            "text/plain",
            Some("application/vnd.example.thing"),
            StatusCode::CREATED,
        ),
        // Refused: an unregistered config type, an unregistered layer type, the
        // empty config without artifactType.
        (
            "application/vnd.example.config+json",
            &empty_config,
            "application/vnd.oci.image.layer.v1.tar",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/vnd.oci.image.config.v1+json",
            &image_config,
            "text/plain",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/vnd.oci.empty.v1+json",
            &empty_config,
            "text/plain",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/vnd.example.config+json",
            &empty_config,
            "text/plain",
            Some("application/vnd.example.thing"),
            StatusCode::BAD_REQUEST,
        ),
        // The OCI conformance suite's artifact: an arbitrary config type.
        (
            "application/vnd.nhl.peanut.butter.bagel",
            &empty_config,
            "application/vnd.oci.image.layer.v1.tar",
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (i, (ct, cfg, lt, at, want)) in cases.iter().enumerate() {
        let want = if quay_rule {
            *want
        } else {
            StatusCode::CREATED
        };
        let want = &want;
        let body = manifest(ct, cfg, lt, *at);
        let resp = ctx
            .put_manifest(repo, &format!("case{i}"), Some(OCI_MANIFEST), &body)
            .await;
        if *want == StatusCode::CREATED {
            assert_eq!(
                resp.status(),
                *want,
                "{} case {i}: {:?}",
                run.label,
                resp.text().await
            );
        } else {
            let (status, code, _, detail) = error_of(resp).await;
            assert_eq!(
                (status, code.as_str()),
                (*want, "MANIFEST_INVALID"),
                "case {i}"
            );
            assert!(
                detail.starts_with("failed to parse manifest: "),
                "case {i}: {detail}"
            );
        }
    }
}

/// distribution-spec v1.1 behaviours the conformance suite checks (issue 24).
async fn spec_behaviours(ctx: &Ctx) {
    let repo = "carol/spec";
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let cd = ctx.push_blob(repo, config).await;
    let ld = ctx.push_blob(repo, b"spec layer").await;
    let image = |n: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": 10}],
            "annotations": {"n": n}
        }))
        .expect("json")
    };
    let referrers = |d: &str| {
        ctx.req(Method::GET, &format!("/v2/{repo}/referrers/{d}"))
            .send()
    };

    // 1. Referrers of a digest nothing refers to: 200 with an empty OCI index, for a
    //    missing manifest and for a blob alike.
    for d in [digest(b"never pushed"), ld.clone()] {
        let resp = referrers(&d).await.expect("referrers");
        assert_eq!(resp.status(), StatusCode::OK, "{d}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/vnd.oci.image.index.v1+json"
        );
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["mediaType"], "application/vnd.oci.image.index.v1+json");
        assert_eq!(body["schemaVersion"], 2);
        assert_eq!(body["manifests"], json!([]), "{d}");
    }
    // A referrer pushed before its subject is listed under the subject's digest.
    let absent_subject = image("subject not pushed yet");
    let sd = digest(&absent_subject);
    let mut referrer: Value = serde_json::from_slice(&image("referrer")).expect("json");
    referrer["subject"] =
        json!({"mediaType": OCI_MANIFEST, "digest": sd, "size": absent_subject.len()});
    referrer["artifactType"] = json!("application/vnd.example.sig");
    let referrer = serde_json::to_vec(&referrer).expect("json");
    let rd = digest(&referrer);
    let resp = ctx
        .put_manifest(repo, &rd, Some(OCI_MANIFEST), &referrer)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{:?}",
        resp.text().await
    );
    let body: Value = referrers(&sd)
        .await
        .expect("referrers")
        .json()
        .await
        .expect("json");
    assert_eq!(body["manifests"][0]["digest"], rd.as_str());

    // 3. A reference that cannot be a tag: 404 MANIFEST_UNKNOWN on GET and HEAD, still
    //    400 TAG_INVALID on PUT and DELETE, and 401 before either for an anonymous pull of
    //    this private repository.
    let bad = ".INVALID_MANIFEST_NAME";
    let (status, code, ..) = error_of(
        ctx.req(Method::GET, &format!("/v2/{repo}/manifests/{bad}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
    );
    let resp = ctx
        .req(Method::HEAD, &format!("/v2/{repo}/manifests/{bad}"))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (status, code, ..) = error_of(
        ctx.put_manifest(repo, bad, Some(OCI_MANIFEST), &image("x"))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "TAG_INVALID")
    );
    let (status, code, ..) = error_of(ctx.delete_manifest(repo, bad).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "TAG_INVALID")
    );
    let resp = ctx
        .http
        .get(format!("{}/v2/{repo}/manifests/{bad}", ctx.base))
        .send()
        .await
        .expect("anonymous get");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // 4. A manifest pushed by digest with no tag: DELETE finds what GET finds, and after
    //    it GET answers 404.
    let untagged = image("untagged");
    let ud = digest(&untagged);
    let resp = ctx
        .put_manifest(repo, &ud, Some(OCI_MANIFEST), &untagged)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        ctx.get_manifest(repo, &ud, OCI_MANIFEST).await.0,
        StatusCode::OK
    );
    let resp = ctx.delete_manifest(repo, &ud).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        ctx.get_manifest(repo, &ud, OCI_MANIFEST).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, code, ..) = error_of(ctx.delete_manifest(repo, &ud).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
    );
    // The referrer (a hidden, non-expiring tag) goes the same way, and leaves the list.
    let resp = ctx.delete_manifest(repo, &rd).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let body: Value = referrers(&sd)
        .await
        .expect("referrers")
        .json()
        .await
        .expect("json");
    assert_eq!(body["manifests"], json!([]));

    // A child of an alive index is refused (405 UNSUPPORTED) and stays pullable; once
    // the index is gone, the child deletes like any other.
    let child = image("child");
    let chd = digest(&child);
    let resp = ctx
        .put_manifest(repo, &chd, Some(OCI_MANIFEST), &child)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": chd, "size": child.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    }))
    .expect("json");
    let resp = ctx
        .put_manifest(
            repo,
            "idx",
            Some("application/vnd.oci.image.index.v1+json"),
            &index,
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{:?}",
        resp.text().await
    );
    let (status, code, _, detail) = error_of(ctx.delete_manifest(repo, &chd).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED")
    );
    assert!(detail.contains("delete the index first"), "{detail}");
    assert_eq!(
        ctx.get_manifest(repo, &chd, OCI_MANIFEST).await.0,
        StatusCode::OK
    );
    let resp = ctx.delete_manifest(repo, "idx").await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = ctx.delete_manifest(repo, &chd).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        ctx.get_manifest(repo, &chd, OCI_MANIFEST).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn safety(ctx: &Ctx, run: &Running) {
    let label = run.label;
    // Three clients push the same blob at once (two into one repository, one into
    // another): all succeed, the bytes read back intact, one imagestorage row.
    let data: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let d = digest(&data);
    let (a, b, c) = tokio::join!(
        ctx.chunked_upload("carol/race-a", &data),
        ctx.chunked_upload("carol/race-a", &data),
        ctx.chunked_upload("carol/race-b", &data),
    );
    assert_eq!(
        (a, b, c),
        (
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::CREATED
        ),
        "{label}"
    );
    for repo in ["carol/race-a", "carol/race-b"] {
        let resp = ctx
            .req(Method::GET, &format!("/v2/{repo}/blobs/{d}"))
            .send()
            .await
            .expect("get blob");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.bytes().await.expect("body").as_ref(),
            data.as_slice(),
            "{label}"
        );
    }
    let db = db(run).await;
    assert_eq!(
        db.storage_ids_for_checksum(&d).await.expect("query").len(),
        1,
        "{label}: one imagestorage row per digest"
    );
    db.close().await;

    // A client that goes away in the middle of a PATCH: nothing becomes visible,
    // the upload stays at its last good offset and can be resumed.
    let repo = "carol/safety";
    let loc = ctx.start_upload(repo).await;
    let interrupted = |first: Vec<u8>| {
        let stream = futures::stream::iter(vec![
            Ok::<_, std::io::Error>(first),
            Err(std::io::Error::other("client went away")),
        ]);
        reqwest::Body::wrap_stream(stream)
    };
    let sent = ctx
        .req(Method::PATCH, &loc)
        .body(interrupted(data[..150_000].to_vec()))
        .send()
        .await;
    assert!(
        sent.is_err() || !sent.as_ref().is_ok_and(|r| r.status().is_success()),
        "{label}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = ctx
        .req(Method::HEAD, &format!("/v2/{repo}/blobs/{d}"))
        .send()
        .await
        .expect("head");
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "{label}: nothing visible"
    );
    let resp = ctx.req(Method::GET, &loc).send().await.expect("status");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        resp.headers()["range"],
        "0-0",
        "{label}: no bytes accounted"
    );
    let resp = ctx
        .req(Method::PATCH, &loc)
        .body(data.clone())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "{label}: resumed");
    let resp = ctx
        .req(Method::PUT, &format!("{loc}?digest={d}"))
        .send()
        .await
        .expect("put");
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{label}: resumed upload verifies"
    );
    let resp = ctx
        .req(Method::GET, &format!("/v2/{repo}/blobs/{d}"))
        .send()
        .await
        .expect("get blob");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), data.as_slice());

    // Interrupted after a good chunk, then cancelled.
    let other: Vec<u8> = data.iter().map(|b| b ^ 0x5a).collect();
    let loc = ctx.start_upload(repo).await;
    let resp = ctx
        .req(Method::PATCH, &loc)
        .body(other[..1000].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let _ = ctx
        .req(Method::PATCH, &loc)
        .body(interrupted(other[1000..100_000].to_vec()))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = ctx.req(Method::GET, &loc).send().await.expect("status");
    assert_eq!(
        resp.headers()["range"],
        "0-999",
        "{label}: last good offset kept"
    );
    let resp = ctx.req(Method::DELETE, &loc).send().await.expect("cancel");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, code, ..) =
        error_of(ctx.req(Method::GET, &loc).send().await.expect("status")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN")
    );
    let resp = ctx
        .req(
            Method::HEAD,
            &format!("/v2/{repo}/blobs/{}", digest(&other)),
        )
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn catalog_paging(ctx: &Ctx) {
    let resp = ctx
        .req(Method::GET, "/v2/_catalog?n=100")
        .send()
        .await
        .expect("catalog");
    assert!(resp.headers().get("link").is_none());
    let all: Vec<String> =
        serde_json::from_value(resp.json::<Value>().await.expect("json")["repositories"].clone())
            .expect("names");
    assert!(all.len() >= 5, "{all:?}");
    let mut seen = Vec::new();
    let mut next = Some("/v2/_catalog?n=1".to_string());
    while let Some(path) = next.take() {
        let resp = ctx
            .req(Method::GET, &path)
            .send()
            .await
            .expect("catalog page");
        assert_eq!(resp.status(), StatusCode::OK);
        next = resp.headers().get("link").map(|l| {
            let l = l.to_str().expect("link");
            assert!(l.ends_with(">; rel=\"next\""), "{l}");
            l.trim_start_matches('<')
                .split('>')
                .next()
                .expect("url")
                .to_string()
        });
        let page: Vec<String> = serde_json::from_value(
            resp.json::<Value>().await.expect("json")["repositories"].clone(),
        )
        .expect("names");
        assert_eq!(page.len(), 1, "{path}");
        seen.extend(page);
        assert!(seen.len() <= all.len(), "pagination must end");
    }
    assert_eq!(
        seen, all,
        "n=1 pages, followed to the end, list every repository once"
    );
}

/// A `quay.expires-after` config label ends the pushed tag; an immutable tag answers
/// `TAG_IMMUTABLE` (409) to an overwrite and to deletes by tag and by digest.
async fn labels_and_immutable_tags(ctx: &Ctx, run: &Running) {
    let repo = "carol/locked";
    let mut images = Vec::new();
    for (i, labels) in [json!({"quay.expires-after": "4h"}), json!({})]
        .into_iter()
        .enumerate()
    {
        let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
            "config": {"Labels": labels}, "rootfs": {"type": "layers", "diff_ids": []}}))
        .expect("json");
        let layer = format!("locked layer {i}");
        let cd = ctx.push_blob(repo, &config).await;
        let ld = ctx.push_blob(repo, layer.as_bytes()).await;
        images.push(docker_image(&cd, config.len(), &ld, layer.len()));
    }
    let resp = ctx
        .put_manifest(repo, "v1", Some(DOCKER_V2), &images[0])
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let db = db(run).await;
    let r = db
        .registry_repository(USER, "locked")
        .await
        .expect("query")
        .expect("repo");
    let tag = db
        .alive_tag(i64::from(r.id), "v1", chrono::Utc::now().timestamp_millis())
        .await
        .expect("query")
        .expect("alive v1");
    assert_eq!(
        tag.lifetime_end_ms,
        Some(tag.lifetime_start_ms + 4 * 3_600_000),
        "the label ends the tag"
    );
    let labels = db.manifest_labels(tag.manifest_id).await.expect("labels");
    assert_eq!(
        labels
            .iter()
            .map(|l| (l.key.as_str(), l.value.as_str(), l.source_type.as_str()))
            .collect::<Vec<_>>(),
        vec![("quay.expires-after", "4h", "manifest")]
    );
    db.set_tag_immutable(tag.id, true, chrono::Utc::now().timestamp_millis())
        .await
        .expect("lock")
        .expect("alive");
    db.close().await;

    let (status, code, _, detail) = error_of(
        ctx.put_manifest(repo, "v1", Some(DOCKER_V2), &images[1])
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str(), detail.as_str()),
        (
            StatusCode::CONFLICT,
            "TAG_IMMUTABLE",
            "tag 'v1' is immutable"
        )
    );
    for reference in ["v1".to_string(), digest(&images[0])] {
        let resp = ctx
            .req(Method::DELETE, &format!("/v2/{repo}/manifests/{reference}"))
            .send()
            .await
            .expect("delete");
        let (status, code, ..) = error_of(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::CONFLICT, "TAG_IMMUTABLE"),
            "{reference}"
        );
    }
    // Re-pushing what the tag already names is not an overwrite.
    let resp = ctx
        .put_manifest(repo, "v1", Some(DOCKER_V2), &images[0])
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let (status, _, dcd, _) = ctx.get_manifest(repo, "v1", DOCKER_V2).await;
    assert_eq!((status, dcd), (StatusCode::OK, digest(&images[0])));
}

async fn suite(run: Running) {
    fixtures::create_user(&run.db_uri, USER, PASSWORD, "carol@example.com").await;
    let repos = [
        "s1", "lists", "policy", "safety", "race-a", "race-b", "locked", "spec",
    ];
    let scope: Vec<String> = repos
        .iter()
        .map(|r| format!("repository:{USER}/{r}:pull,push"))
        .collect();
    // One token per repository (push-to-create), then one carrying all grants.
    for s in &scope {
        fixtures::token(&run, USER, PASSWORD, s).await;
    }
    let resp = Client::new()
        .get(format!("http://127.0.0.1:{}/v2/auth", run.port))
        .query(&[("service", run.host().as_str())])
        .query(
            &scope
                .iter()
                .map(|s| ("scope", s.as_str()))
                .collect::<Vec<_>>(),
        )
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("/v2/auth");
    assert_eq!(resp.status(), StatusCode::OK);
    let token = resp.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let ctx = Ctx {
        base: format!("http://127.0.0.1:{}", run.port),
        token,
        http: Client::new(),
    };
    schema1(&ctx, &run).await;
    manifest_list(&ctx).await;
    artifact_policy(&ctx, &run).await;
    spec_behaviours(&ctx).await;
    safety(&ctx, &run).await;
    catalog_paging(&ctx).await;
    labels_and_immutable_tags(&ctx, &run).await;
    run.stop().await;
}

#[tokio::test]
async fn registry_manifests_on_sqlite() {
    suite(backends::sqlite().await).await;
}

#[tokio::test]
async fn registry_manifests_on_postgres() {
    suite(backends::postgres().await).await;
}
