//! The `/api/v1` manifest view reads a pushed image's config blob through the assembled
//! application's registry-backed blob reader: an image pushed over `/v2` shows Quay's
//! per-layer history (including the empty layer) — on SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{app, registry_token, send};
use quayside_auth::Identity;
use quayside_testkit::http::sha;
use quayside_testkit::{backends, Backend};
use serde_json::json;

const EMPTY_LAYER: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

async fn pushed_schema2_image_shows_config_history(backend: Backend) {
    let app = app(backend, "").await;
    let auth = &app.state.quay_api.auth;
    let owner = auth
        .create_user("owner", "password", "owner@example.com")
        .await
        .expect("owner");
    let identity = Identity::User {
        id: owner,
        username: "owner".into(),
        uuid: String::new(),
    };
    quayside_testkit::accounts::repository(auth, "owner", "app", false, Some(&identity))
        .await
        .expect("repository");

    let token = registry_token(
        &app,
        Some(("owner", "password")),
        "repository:owner/app:pull,push",
    )
    .await
    .expect("owner push token");

    let layer = b"the only real layer".to_vec();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [
            {"created": "2018-04-03T18:37:09Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / ",
             "author": "owner"},
            {"created": "2018-04-03T18:37:10Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
             "empty_layer": true}
        ]
    })
    .to_string()
    .into_bytes();
    for blob in [&layer, &config] {
        let r = send(
            &app,
            Request::post(format!("/v2/owner/app/blobs/uploads/?digest={}", sha(blob)))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/octet-stream")
                .body(Body::from(blob.clone()))
                .expect("req"),
        )
        .await;
        assert_eq!(r.status, 201, "blob upload: {}", r.text);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": sha(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": sha(&layer), "size": layer.len()}],
    })
    .to_string();
    let r = send(
        &app,
        Request::put("/v2/owner/app/manifests/latest")
            .header("Authorization", format!("Bearer {token}"))
            .header(
                "Content-Type",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
            .body(Body::from(manifest.clone()))
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 201, "manifest put: {}", r.text);

    let oauth = auth
        .create_oauth_token(owner, "repo:read")
        .await
        .expect("oauth token");
    let r = send(
        &app,
        Request::get(format!(
            "/api/v1/repository/owner/app/manifest/{}",
            sha(manifest.as_bytes())
        ))
        .header("Authorization", format!("Bearer {oauth}"))
        .body(Body::empty())
        .expect("req"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["layers"],
        json!([
            {"index": 0, "compressed_size": layer.len(), "is_remote": false, "urls": null,
             "command": ["/bin/sh -c #(nop) ADD file:x in / "], "comment": null,
             "author": "owner", "blob_digest": sha(&layer),
             "created_datetime": "Tue, 03 Apr 2018 18:37:09 -0000"},
            {"index": 1, "compressed_size": 32, "is_remote": false, "urls": null,
             "command": ["/bin/sh -c #(nop)  CMD [\"sh\"]"], "comment": null,
             "author": null, "blob_digest": EMPTY_LAYER,
             "created_datetime": "Tue, 03 Apr 2018 18:37:10 -0000"}
        ])
    );
    app.tdb.cleanup().await;
}

#[tokio::test]
async fn pushed_schema2_image_shows_config_history_sqlite() {
    pushed_schema2_image_shows_config_history(backends()[0]).await;
}

#[tokio::test]
async fn pushed_schema2_image_shows_config_history_postgres() {
    pushed_schema2_image_shows_config_history(backends()[1]).await;
}
