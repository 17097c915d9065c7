//! /v2 protocol edge cases, each asserting status and error code, on both
//! database backends.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::backends::{self, Running};
use crate::fixtures;

const USER: &str = "bob";
const PASSWORD: &str = "bobs-long-password";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

async fn error_code(resp: reqwest::Response) -> (StatusCode, String) {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (
        status,
        body["errors"][0]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_string(),
    )
}

/// The file named `name` anywhere under `dir`.
fn find_file(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().and_then(|n| n.to_str()) == Some(name) {
            return Some(path);
        }
    }
    None
}

struct Ctx {
    base: String,
    token: String,
    http: Client,
}

impl Ctx {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }
    async fn send(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.req(method.clone(), path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
    async fn anon_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
    async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let d = digest(data);
        let resp = self
            .req(
                reqwest::Method::POST,
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
            .send(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let loc = resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert!(
            loc.starts_with("http://localhost:"),
            "absolute Location: {loc}"
        );
        loc.split("/v2/")
            .nth(1)
            .map(|p| format!("/v2/{p}"))
            .expect("path")
    }
}

async fn suite(run: Running) {
    let bob = fixtures::create_user(&run.db_uri, USER, PASSWORD, "bob@example.com").await;
    fixtures::create_repo(&run.db_uri, USER, "public", true, bob).await;
    let repo = format!("{USER}/edge");
    let token = fixtures::token(
        &run,
        USER,
        PASSWORD,
        &format!("repository:{repo}:pull,push"),
    )
    .await;
    let ctx = Ctx {
        base: format!("http://127.0.0.1:{}", run.port),
        token,
        http: Client::new(),
    };
    let label = run.label;

    // /v2/ without and with a token.
    let resp = ctx.http.get(ctx.url("/v2/")).send().await.expect("ping");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{label}");
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .expect("challenge")
        .to_string();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"http://localhost:{}/v2/auth\",service=\"localhost:{}\"",
            run.port, run.port
        )
    );
    assert_eq!(
        resp.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    let resp = ctx.send(reqwest::Method::GET, "/v2/").await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Missing auth on a repository: 401 with the repository scope.
    let resp = ctx.anon_get(&format!("/v2/{repo}/tags/list")).await;
    let ch = resp.headers()["www-authenticate"]
        .to_str()
        .expect("challenge")
        .to_string();
    assert!(
        ch.ends_with(&format!(",scope=\"repository:{repo}:pull\"")),
        "{ch}"
    );
    assert_eq!(
        error_code(resp).await,
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED".into())
    );
    // Basic credentials straight to a repository route are refused (Quay).
    let resp = ctx
        .http
        .get(ctx.url(&format!("/v2/{repo}/tags/list")))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("tags");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"error": "Invalid bearer token format"})
    );

    // /v2/auth: wrong password, bad scope, login without scope.
    let auth_url = ctx.url("/v2/auth");
    let service = format!("localhost:{}", run.port);
    let resp = ctx
        .http
        .get(&auth_url)
        .query(&[
            ("service", service.as_str()),
            ("scope", &format!("repository:{repo}:pull")),
        ])
        .basic_auth(USER, Some("wrong-password"))
        .send()
        .await
        .expect("auth");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED".into())
    );
    let resp = ctx
        .http
        .get(&auth_url)
        .query(&[
            ("service", service.as_str()),
            ("scope", "registry:catalog:*"),
        ])
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("auth");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "INVALID_REQUEST".into())
    );
    let resp = ctx
        .http
        .get(&auth_url)
        .query(&[("service", service.as_str())])
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("auth");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "docker login: credentials and no scope"
    );
    assert_eq!(
        resp.headers()["cache-control"],
        "no-cache, no-store, must-revalidate"
    );

    // Bad digest in a path and in a query.
    let resp = ctx
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/blobs/sha256:xyz"),
        )
        .send()
        .await
        .expect("get");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID".into())
    );
    let loc = ctx.start_upload(&repo).await;
    let resp = ctx
        .req(reqwest::Method::PUT, &format!("{loc}?digest=md5:abc"))
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID".into())
    );

    // Digest mismatch on commit: BLOB_UPLOAD_INVALID, nothing visible.
    let loc = ctx.start_upload(&repo).await;
    let wrong = digest(b"something else");
    let resp = ctx
        .req(reqwest::Method::PUT, &format!("{loc}?digest={wrong}"))
        .body("hello")
        .send()
        .await
        .expect("put");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID".into())
    );
    let resp = ctx
        .send(reqwest::Method::HEAD, &format!("/v2/{repo}/blobs/{wrong}"))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = ctx
        .req(
            reqwest::Method::HEAD,
            &format!("/v2/{repo}/blobs/{}", digest(b"hello")),
        )
        .send()
        .await
        .expect("head");
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "a failed commit leaves nothing visible"
    );

    // Chunked upload with an out-of-order chunk, then in order.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let loc = ctx.start_upload(&repo).await;
    let resp = ctx
        .req(reqwest::Method::PATCH, &loc)
        .header("content-range", "100-199")
        .body(data[100..200].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(
        resp.status(),
        StatusCode::RANGE_NOT_SATISFIABLE,
        "{label}: out-of-order chunk"
    );
    assert_eq!(resp.headers()["range"], "0-0");
    let resp = ctx
        .req(reqwest::Method::PATCH, &loc)
        .header("content-range", "0-99999")
        .body(data[..100_000].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.headers()["range"], "0-99999");
    let status = ctx.send(reqwest::Method::GET, &loc).await;
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(status.headers()["range"], "0-99999");
    let resp = ctx
        .req(reqwest::Method::PATCH, &loc)
        .body(data[100_000..].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let d = digest(&data);
    let resp = ctx
        .send(reqwest::Method::PUT, &format!("{loc}?digest={d}"))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["docker-content-digest"], d.as_str());
    // Ranged read.
    let resp = ctx
        .req(reqwest::Method::GET, &format!("/v2/{repo}/blobs/{d}"))
        .header("range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.bytes().await.expect("body").as_ref(), &data[10..20]);
    // Blob DELETE is unsupported, as in Quay.
    let resp = ctx
        .send(reqwest::Method::DELETE, &format!("/v2/{repo}/blobs/{d}"))
        .await;
    assert_eq!(
        error_code(resp).await,
        (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED".into())
    );
    // Cancel an upload; its id is then unknown.
    let loc = ctx.start_upload(&repo).await;
    let resp = ctx.send(reqwest::Method::DELETE, &loc).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = ctx.send(reqwest::Method::GET, &loc).await;
    assert_eq!(
        error_code(resp).await,
        (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN".into())
    );

    // Manifests: unknown blob, wrong media type, digest mismatch, then a good one.
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = ctx.push_blob(&repo, config).await;
    let manifest_with = |layer: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": data.len()}]
        }))
        .expect("json")
    };
    let unknown = digest(b"never uploaded");
    let resp = ctx
        .req(reqwest::Method::PUT, &format!("/v2/{repo}/manifests/v1"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest_with(&unknown))
        .send()
        .await
        .expect("put manifest");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN".into()),
        "{label}"
    );
    let good = manifest_with(&d);
    let resp = ctx
        .req(reqwest::Method::PUT, &format!("/v2/{repo}/manifests/v1"))
        .header("content-type", "application/x-not-a-manifest")
        .body(good.clone())
        .send()
        .await
        .expect("put manifest");
    let (status, code) = error_code(resp).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code, "MANIFEST_INVALID");
    let resp = ctx
        .req(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/{}", digest(b"other")),
        )
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(good.clone())
        .send()
        .await
        .expect("put manifest");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID".into())
    );
    let md = digest(&good);
    for i in 0..3 {
        let resp = ctx
            .req(reqwest::Method::PUT, &format!("/v2/{repo}/manifests/t{i}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(good.clone())
            .send()
            .await
            .expect("put manifest");
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()["docker-content-digest"], md.as_str());
        assert_eq!(
            resp.headers()["location"],
            format!("/v2/{repo}/manifests/{md}").as_str()
        );
    }
    let resp = ctx
        .send(reqwest::Method::GET, &format!("/v2/{repo}/manifests/t1"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        good.as_slice(),
        "byte-identical"
    );
    let resp = ctx
        .send(reqwest::Method::GET, &format!("/v2/{repo}/manifests/nope"))
        .await;
    assert_eq!(
        error_code(resp).await,
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN".into())
    );

    // Tags pagination: a huge n is clamped, n=2 pages with Link.
    let resp = ctx
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/tags/list?n=99999999999"),
        )
        .send()
        .await
        .expect("tags");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"name": repo, "tags": ["t0", "t1", "t2"]})
    );
    let resp = ctx
        .send(reqwest::Method::GET, &format!("/v2/{repo}/tags/list?n=2"))
        .await;
    assert_eq!(
        resp.headers()["link"],
        format!("</v2/{repo}/tags/list?n=2&last=t1>; rel=\"next\"").as_str()
    );
    assert_eq!(
        resp.json::<Value>().await.expect("json")["tags"],
        json!(["t0", "t1"])
    );
    let resp = ctx
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/tags/list?n=2&last=t1"),
        )
        .send()
        .await
        .expect("tags");
    assert!(resp.headers().get("link").is_none());
    assert_eq!(
        resp.json::<Value>().await.expect("json")["tags"],
        json!(["t2"])
    );
    let resp = ctx
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/tags/list?n=many"),
        )
        .send()
        .await
        .expect("tags");
    assert_eq!(error_code(resp).await.0, StatusCode::BAD_REQUEST);

    // Delete by tag, then by digest (removes every remaining tag), then 404.
    let resp = ctx
        .send(reqwest::Method::DELETE, &format!("/v2/{repo}/manifests/t0"))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = ctx
        .req(
            reqwest::Method::DELETE,
            &format!("/v2/{repo}/manifests/{md}"),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = ctx
        .send(reqwest::Method::GET, &format!("/v2/{repo}/tags/list"))
        .await;
    assert_eq!(resp.json::<Value>().await.expect("json")["tags"], json!([]));
    let resp = ctx
        .req(
            reqwest::Method::DELETE,
            &format!("/v2/{repo}/manifests/{md}"),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN".into())
    );

    // Catalog: the caller sees its repository; anonymous sees nothing.
    let resp = ctx.send(reqwest::Method::GET, "/v2/_catalog").await;
    let repos = resp.json::<Value>().await.expect("json")["repositories"].clone();
    assert!(
        repos
            .as_array()
            .expect("list")
            .iter()
            .any(|r| r == repo.as_str()),
        "{repos}"
    );
    let resp = ctx.anon_get("/v2/_catalog").await;
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"repositories": []})
    );

    // Anonymous pull of a public repository: no token at all, or an anonymous
    // token; anonymous push is refused.
    let public_repo = format!("{USER}/public");
    let token = fixtures::token(
        &run,
        USER,
        PASSWORD,
        &format!("repository:{public_repo}:pull,push"),
    )
    .await;
    let owner = Ctx {
        base: ctx.base.clone(),
        token,
        http: ctx.http.clone(),
    };
    let config_digest_public = owner.push_blob(&public_repo, config).await;
    assert_eq!(config_digest_public, config_digest);
    let public_manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": []
    }))
    .expect("json");
    let resp = owner
        .req(
            reqwest::Method::PUT,
            &format!("/v2/{public_repo}/manifests/latest"),
        )
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(public_manifest.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = ctx
        .anon_get(&format!("/v2/{public_repo}/manifests/latest"))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{label}: anonymous pull of a public repository"
    );
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        public_manifest.as_slice()
    );
    let resp = ctx
        .http
        .get(&auth_url)
        .query(&[
            ("service", service.as_str()),
            ("scope", &format!("repository:{public_repo}:pull,push")),
        ])
        .send()
        .await
        .expect("anonymous token");
    assert_eq!(resp.status(), StatusCode::OK);
    let anon_token = resp.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let resp = ctx
        .http
        .get(ctx.url(&format!("/v2/{public_repo}/blobs/{config_digest}")))
        .bearer_auth(&anon_token)
        .send()
        .await
        .expect("anon blob");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = ctx
        .http
        .post(ctx.url(&format!("/v2/{public_repo}/blobs/uploads/")))
        .bearer_auth(&anon_token)
        .send()
        .await
        .expect("anon push");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED".into())
    );
    let resp = ctx.anon_get(&format!("/v2/{repo}/manifests/t1")).await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "a private repository is not anonymous"
    );

    // A stored blob damaged behind quayside's back (its file cut short, or gone) answers
    // 500 UNKNOWN before any byte, never a 200 whose body stops early; the intact part of a
    // ranged read is still served.
    let damaged: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let damaged_digest = ctx.push_blob(&repo, &damaged).await;
    let hex = damaged_digest.trim_start_matches("sha256:");
    let file = find_file(run.dir.path(), hex).expect("the blob's file under the data dir");
    std::fs::write(&file, &damaged[..1000]).expect("cut the blob short");
    let path = format!("/v2/{repo}/blobs/{damaged_digest}");
    let resp = ctx
        .req(reqwest::Method::GET, &path)
        .header("range", "bytes=2000-2999")
        .send()
        .await
        .expect("ranged get");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN".into()),
        "{label}: a range past the end of the damaged file"
    );
    let resp = ctx
        .req(reqwest::Method::GET, &path)
        .header("range", "bytes=0-999")
        .send()
        .await
        .expect("ranged get");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{label}");
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        &damaged[..1000],
        "{label}"
    );
    std::fs::remove_file(&file).expect("remove the blob's file");
    let resp = ctx.send(reqwest::Method::GET, &path).await;
    assert_eq!(
        error_code(resp).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN".into()),
        "{label}: a blob whose file is gone"
    );

    // An interrupted chunked upload resumes after a server restart.
    let loc = ctx.start_upload(&repo).await;
    let resp = ctx
        .req(reqwest::Method::PATCH, &loc)
        .body(data[..150_000].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let run = run.restart().await;
    let ctx = Ctx {
        base: format!("http://127.0.0.1:{}", run.port),
        ..ctx
    };
    let resp = ctx.send(reqwest::Method::GET, &loc).await;
    assert_eq!(
        resp.status(),
        StatusCode::NO_CONTENT,
        "{label}: upload state survives a restart"
    );
    assert_eq!(resp.headers()["range"], "0-149999");
    let resp = ctx
        .req(reqwest::Method::PATCH, &loc)
        .body(data[150_000..].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = ctx
        .send(reqwest::Method::PUT, &format!("{loc}?digest={d}"))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{label}: resumed upload verifies"
    );

    run.stop().await;
}

#[tokio::test]
async fn protocol_edge_cases_on_sqlite() {
    suite(backends::sqlite().await).await;
}

#[tokio::test]
async fn protocol_edge_cases_on_postgres() {
    suite(backends::postgres().await).await;
}
