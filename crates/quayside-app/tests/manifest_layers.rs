//! The `/api/v1` manifest view reads a pushed image's config blob through the assembled
//! application's registry-backed blob reader: an image pushed over `/v2` shows Quay's
//! per-layer history (including the empty layer) — on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use quayside_app::bootstrap::{Resolved, Source};
use quayside_auth::Identity;
use quayside_test_db::{backends, Backend, TestDb};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const HOST: &str = "registry.example";
const EMPTY_LAYER: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

struct App {
    router: axum::Router,
    state: quayside_app::AppState,
    tdb: TestDb,
    _dir: tempfile::TempDir,
}

async fn app(backend: Backend) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).expect("storage dir");
    let yaml = format!(
        "SERVER_HOSTNAME: {HOST}\nPREFERRED_URL_SCHEME: http\n\
         DATABASE_SECRET_KEY: layers-database-secret\nSECRET_KEY: layers-secret\n\
         DISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - storage_path: {}\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [default]\n",
        storage.display()
    );
    let config = quayside_config::Config::from_yaml_str(&yaml).expect("config");
    let resolved = Resolved {
        config,
        source: Source::ConfigDir(dir.path().to_path_buf()),
        work_dir: dir.path().to_path_buf(),
    };
    let tdb = TestDb::new(backend).await;
    let mut auth = quayside_app::assemble::auth_settings(&resolved);
    auth.bcrypt_cost = 4;
    auth.kid_path = dir.path().join("quay.kid");
    auth.pem_path = dir.path().join("quay.pem");
    let state = quayside_app::assemble::assemble_with(&resolved, tdb.db().clone(), auth)
        .await
        .expect("assemble");
    App {
        router: quayside_app::router(state.clone()),
        state,
        tdb,
        _dir: dir,
    }
}

async fn send(app: &App, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn sha(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn pushed_schema2_image_shows_config_history(backend: Backend) {
    let app = app(backend).await;
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
    auth.create_repository("owner", "app", false, Some(&identity))
        .await
        .expect("repository");

    let basic = base64::engine::general_purpose::STANDARD.encode("owner:password");
    let (status, body) = send(
        &app,
        Request::get(format!(
            "/v2/auth?service={HOST}&scope=repository:owner/app:pull,push"
        ))
        .header("Authorization", format!("Basic {basic}"))
        .body(Body::empty())
        .expect("req"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();

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
        let (status, body) = send(
            &app,
            Request::post(format!("/v2/owner/app/blobs/uploads/?digest={}", sha(blob)))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/octet-stream")
                .body(Body::from(blob.clone()))
                .expect("req"),
        )
        .await;
        assert_eq!(status, 201, "blob upload: {body}");
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
    let (status, body) = send(
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
    assert_eq!(status, 201, "manifest put: {body}");

    let oauth = auth
        .create_oauth_token(owner, "repo:read")
        .await
        .expect("oauth token");
    let (status, body) = send(
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
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        view["layers"],
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
