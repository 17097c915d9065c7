//! Read-only mode and DISABLE_PUSHES, switched by a config reload (SIGHUP)
//! without losing in-flight reads, and read-only boot with an existing key.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::config_check::valid_config;
use crate::fixtures;
use crate::harness::{free_port, Server};

const USER: &str = "carol";
const PASSWORD: &str = "carols-password";

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn req(&self, m: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
    async fn send(&self, m: Method, path: &str) -> reqwest::Response {
        self.req(m.clone(), path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{m} {path}: {e}"))
    }
}

async fn readonly_error(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = resp.json().await.expect("json");
    body["errors"][0].clone()
}

fn write_config(dir: &std::path::Path, port: u16, extra: &str) {
    let yaml = valid_config(dir).replace(
        "SERVER_HOSTNAME: localhost:8080",
        &format!("SERVER_HOSTNAME: localhost:{port}"),
    );
    std::fs::write(dir.join("config.yaml"), format!("{yaml}{extra}")).expect("write config");
}

/// Polls until a write is refused (or accepted), so the test does not race the reload.
async fn wait_for_upload_status(api: &Api, repo: &str, want: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = api
            .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .await;
        if resp.status() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "reload did not take effect: still {}",
            resp.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn read_only_mode_refuses_every_write_and_keeps_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    write_config(dir.path(), port, "");
    let args = [
        "--config-dir",
        dir.path().to_str().expect("utf8"),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ];
    let mut server = Server::start(&args, dir.path(), port).await;
    let db_uri = format!("sqlite:///{}", dir.path().join("quay.db").display());
    fixtures::create_user(&db_uri, USER, PASSWORD, "carol@example.com").await;
    let repo = format!("{USER}/data");
    let run_token = |p: u16| async move {
        let resp = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{p}/v2/auth"))
            .query(&[
                ("service", format!("localhost:{p}")),
                ("scope", format!("repository:{USER}/data:pull,push")),
            ])
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .expect("auth");
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        token: run_token(port).await,
        http: reqwest::Client::new(),
    };

    // Content to read later: a 40 MiB blob and a manifest.
    let big: Vec<u8> = (0..40u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let big_digest = digest(&big);
    let resp = api
        .req(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={big_digest}"),
        )
        .body(big.clone())
        .send()
        .await
        .expect("push");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = digest(config);
    let resp = api
        .req(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={config_digest}"),
        )
        .body(config.to_vec())
        .send()
        .await
        .expect("push");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": big_digest, "size": big.len()}]
    }))
    .expect("json");
    let resp = api
        .req(Method::PUT, &format!("/v2/{repo}/manifests/v1"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::CREATED);
    // An upload with bytes in it, to finish while pushes are disabled.
    let resp = api
        .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .await;
    let pending = resp.headers()["location"]
        .to_str()
        .expect("location")
        .split("/v2/")
        .nth(1)
        .map(|p| format!("/v2/{p}"))
        .expect("path");
    let resp = api
        .req(Method::PATCH, &pending)
        .body(b"pending".to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    // A slow reader is mid-download when the configuration switches to read-only.
    let resp = reqwest::Client::new()
        .get(format!("{}/v2/{repo}/blobs/{big_digest}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.bytes_stream();
    let mut hasher = sha2::Sha256::new();
    let first = body.next().await.expect("first chunk").expect("chunk");
    hasher.update(&first);

    write_config(dir.path(), port, "REGISTRY_STATE: readonly\n");
    server.signal("HUP");
    wait_for_upload_status(&api, &repo, StatusCode::METHOD_NOT_ALLOWED).await;

    while let Some(chunk) = body.next().await {
        hasher.update(chunk.expect("chunk"));
    }
    assert_eq!(
        format!("sha256:{}", hex::encode(hasher.finalize())),
        big_digest,
        "in-flight read survives the reload"
    );

    // Every write on /v2 is refused the way Quay refuses it; reads work.
    let err = readonly_error(
        api.send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .await,
    )
    .await;
    assert_eq!(err["code"], "DENIED");
    assert_eq!(
        err["message"],
        "System is currently read-only. Pulls will succeed but all write operations are currently suspended."
    );
    assert_eq!(err["is_readonly"], true);
    for (m, path) in [
        (Method::PATCH, pending.clone()),
        (
            Method::PUT,
            format!("{pending}?digest={}", digest(b"pending")),
        ),
        (Method::DELETE, pending.clone()),
        (Method::PUT, format!("/v2/{repo}/manifests/v2")),
        (Method::DELETE, format!("/v2/{repo}/manifests/v1")),
    ] {
        let err = readonly_error(api.send(m.clone(), &path).await).await;
        assert_eq!(
            (err["code"].as_str(), err["is_readonly"].as_bool()),
            (Some("DENIED"), Some(true)),
            "{m} {path}"
        );
    }
    let resp = api
        .send(Method::GET, &format!("/v2/{repo}/manifests/v1"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        manifest.as_slice()
    );
    let resp = api
        .send(Method::GET, &format!("/v2/{repo}/tags/list"))
        .await;
    assert_eq!(
        resp.json::<Value>().await.expect("json")["tags"],
        json!(["v1"])
    );
    let (status, health) = server.get_json("/health/endtoend").await;
    assert_eq!(
        (status, &health["data"]["services"]["storage"]),
        (200, &json!(true))
    );

    // A restart in read-only mode boots on the existing instance key.
    let status = server.signal_and_wait("TERM");
    assert!(status.success());
    let mut server = Server::start(&args, dir.path(), port).await;
    let resp = api
        .send(Method::GET, &format!("/v2/{repo}/manifests/v1"))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "tokens from before the restart still verify"
    );
    let err = readonly_error(
        api.send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .await,
    )
    .await;
    assert_eq!(err["code"], "DENIED");

    // DISABLE_PUSHES: writes refused with Quay's code, the final PUT of an
    // upload already in progress still completes (as in Quay).
    write_config(dir.path(), port, "DISABLE_PUSHES: true\n");
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        let resp = api
            .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .await;
        let body: Value = resp.json().await.expect("json");
        if body["errors"][0]["code"] == "METHOD NOT ALLOWED" || Instant::now() > deadline {
            break body["errors"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(err["code"], "METHOD NOT ALLOWED");
    assert_eq!(
        err["message"],
        "Pushes to the registry are currently disabled. Please contact the administrator for more information."
    );
    let resp = api
        .send(
            Method::PUT,
            &format!("{pending}?digest={}", digest(b"pending")),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "the final PUT of an upload is not blocked"
    );
    let resp = api
        .req(Method::PUT, &format!("/v2/{repo}/manifests/v2"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Back to normal: pushes work again, no restart.
    write_config(dir.path(), port, "");
    server.signal("HUP");
    wait_for_upload_status(&api, &repo, StatusCode::ACCEPTED).await;

    // A broken config on reload is refused and the running settings stay.
    std::fs::write(dir.path().join("config.yaml"), "REGISTRY_STATE: [broken\n").expect("write");
    server.signal("HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resp = api
        .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "a bad reload keeps the last good settings"
    );
    assert!(
        server.log_text().contains("configuration reload failed"),
        "{}",
        server.log_text()
    );
    let status = server.signal_and_wait("TERM");
    assert!(status.success());
}
