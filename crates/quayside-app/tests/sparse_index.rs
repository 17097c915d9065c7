//! `FEATURE_SPARSE_INDEX` and `SPARSE_INDEX_REQUIRED_ARCHS` through the whole application,
//! on SQLite and PostgreSQL: `/v2/` advertises them, `/api/v1/registry/capabilities`
//! reports them to anyone, and a pushed index may leave out children of architectures
//! that are not required; with the feature off the same push is refused.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{app, registry_token, send};
use quayside_testkit::{backends, Backend};
use serde_json::{json, Value};

const SPARSE: &str = "FEATURE_SPARSE_INDEX: true\nSPARSE_INDEX_REQUIRED_ARCHS: [amd64]\n";

fn sha256(data: &[u8]) -> String {
    quayside_oci::Digest::sha256_of(data).to_string()
}

fn put(path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::put(path)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .body(Body::from(body))
        .expect("req")
}

/// Pushes a one-layer amd64 image by digest and answers the index that names it and an
/// arm64 child that was never pushed.
async fn push_amd64_child(app: &common::App, token: &str) -> Vec<u8> {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = b"sparse layer bytes".to_vec();
    for blob in [config.to_vec(), layer.clone()] {
        let r = send(
            app,
            Request::post(format!(
                "/v2/owner/app/blobs/uploads/?digest={}",
                sha256(&blob)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/octet-stream")
            .body(Body::from(blob))
            .expect("req"),
        )
        .await;
        assert_eq!(r.status, 201, "blob: {r:?}");
    }
    let child = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(&layer), "size": layer.len()}],
    }))
    .expect("json");
    let r = send(
        app,
        put(
            &format!("/v2/owner/app/manifests/{}", sha256(&child)),
            token,
            "application/vnd.oci.image.manifest.v1+json",
            child.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "child: {r:?}");
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": sha256(&child), "size": child.len(),
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": sha256(b"an arm64 manifest nobody pushed"), "size": 31,
             "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    }))
    .expect("json")
}

async fn scenario(backend: Backend, sparse: bool) {
    let app = app(backend, if sparse { SPARSE } else { "" }).await;
    app.state
        .quay_api
        .auth
        .create_user("owner", "password", "owner@example.com")
        .await
        .expect("owner");

    let ping = send(&app, Request::get("/v2/").body(Body::empty()).expect("req")).await;
    let header = |name: &str| {
        ping.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("x-sparse-manifest-support").as_deref(),
        Some(if sparse { "true" } else { "false" })
    );
    assert_eq!(
        header("x-required-architectures").as_deref(),
        sparse.then_some("amd64"),
        "{backend}"
    );

    let caps = send(
        &app,
        Request::get("/api/v1/registry/capabilities")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(caps.status, 200, "anonymous callers may read it: {caps:?}");
    let expected: Value = if sparse {
        json!({"supported": true, "required_architectures": ["amd64"],
               "optional_architectures_allowed": true})
    } else {
        json!({"supported": false, "required_architectures": [],
               "optional_architectures_allowed": false})
    };
    assert_eq!(caps.json["sparse_manifests"], expected);
    assert_eq!(
        caps.json["mirror_architectures"],
        json!(["amd64", "arm64", "ppc64le", "s390x"])
    );

    let token = registry_token(
        &app,
        Some(("owner", "password")),
        "repository:owner/app:pull,push",
    )
    .await
    .expect("token");
    let index = push_amd64_child(&app, &token).await;
    let r = send(
        &app,
        put(
            "/v2/owner/app/manifests/latest",
            &token,
            "application/vnd.oci.image.index.v1+json",
            index.clone(),
        ),
    )
    .await;
    if sparse {
        assert_eq!(r.status, 201, "{backend}: {r:?}");
        let got = send(
            &app,
            Request::get("/v2/owner/app/manifests/latest")
                .header("Authorization", format!("Bearer {token}"))
                .header("Accept", "application/vnd.oci.image.index.v1+json")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(got.text.as_bytes(), index.as_slice(), "byte-identical");
    } else {
        assert_eq!(r.status, 400, "{backend}: {r:?}");
        assert_eq!(r.json["errors"][0]["code"], "MANIFEST_INVALID", "{r:?}");
    }
    app.tdb.cleanup().await;
}

#[tokio::test]
async fn sparse_indexes_follow_the_flag_and_the_required_list() {
    for backend in backends() {
        scenario(backend, true).await;
        scenario(backend, false).await;
    }
}

#[test]
fn a_required_list_that_is_not_a_list_is_refused_at_start() {
    let err = quayside_config::Config::from_yaml_str("SPARSE_INDEX_REQUIRED_ARCHS: amd64\n")
        .expect_err("a string is not a list");
    assert!(
        err.to_string().contains("SPARSE_INDEX_REQUIRED_ARCHS"),
        "{err}"
    );
}
