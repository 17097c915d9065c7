//! The embedded default's first-user flow, as its start-up hint describes it:
//! `POST /api/v1/user/initialize`, then the returned credentials at `/v2/auth` and a push.

use reqwest::{Client, StatusCode};
use serde_json::Value;
use sha2::Digest as _;

use crate::harness::{free_port, Server};

async fn initialize(http: &Client, base: &str, body: &str) -> (StatusCode, String) {
    let resp = http
        .post(format!("{base}/api/v1/user/initialize"))
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST /api/v1/user/initialize");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

/// A registry token for `scope` from `/v2/auth` with Basic credentials.
async fn registry_token(
    http: &Client,
    base: &str,
    service: &str,
    user: &str,
    password: &str,
    scope: &str,
) -> String {
    let resp = http
        .get(format!("{base}/v2/auth"))
        .query(&[("service", service), ("scope", scope)])
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("/v2/auth");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "/v2/auth as {user}: {body}");
    body["token"].as_str().expect("token").to_string()
}

async fn push_blob(http: &Client, base: &str, token: &str, repo: &str, data: &[u8]) {
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)));
    let resp = http
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={digest}"))
        .bearer_auth(token)
        .body(data.to_vec())
        .send()
        .await
        .expect("monolithic upload");
    let status = resp.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "push to {repo}: {}",
        resp.text().await.unwrap_or_default()
    );
    let resp = http
        .get(format!("{base}/v2/{repo}/blobs/{digest}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("blob GET");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), data);
}

#[tokio::test]
async fn embedded_default_first_user_can_push() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let server = Server::start(
        &["--listen", &format!("127.0.0.1:{port}")],
        cwd.path(),
        port,
    )
    .await;
    let base = server.base.clone();
    let service = format!("localhost:{port}");
    let http = Client::new();

    let (status, body) = initialize(
        &http,
        &base,
        r#"{ "username": "quayadmin", "password":"quaypass123", "email": "quayadmin@example.com", "access_token": true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["username"], "quayadmin");
    assert_eq!(v["email"], "quayadmin@example.com");
    let encrypted = v["encrypted_password"]
        .as_str()
        .expect("encrypted_password");
    let access_token = v["access_token"].as_str().expect("access_token");
    assert_eq!(access_token.len(), 40);

    let (status, body) = initialize(
        &http,
        &base,
        r#"{ "username": "quayuser2", "password":"quaypass123", "email": "quayuser2@example.com"}"#,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "{\"message\":\"Cannot initialize user in a non-empty database\"}\n"
        )
    );

    // The encrypted password is a CLI password: log in and push into the user's namespace.
    let scope = "repository:quayadmin/hello:pull,push";
    let token = registry_token(&http, &base, &service, "quayadmin", encrypted, scope).await;
    push_blob(&http, &base, &token, "quayadmin/hello", b"first blob").await;

    // The OAuth token works as `$oauthtoken`, with repo:create for a new repository.
    let scope = "repository:quayadmin/second:pull,push";
    let token = registry_token(&http, &base, &service, "$oauthtoken", access_token, scope).await;
    push_blob(&http, &base, &token, "quayadmin/second", b"second blob").await;

    // The plain password still works too, and a wrong one does not.
    registry_token(&http, &base, &service, "quayadmin", "quaypass123", scope).await;
    let resp = http
        .get(format!("{base}/v2/auth"))
        .query(&[("service", service.as_str()), ("scope", scope)])
        .basic_auth("quayadmin", Some("not-the-password"))
        .send()
        .await
        .expect("/v2/auth");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let log = server.log_text();
    assert!(
        !log.contains(encrypted) && !log.contains(access_token) && !log.contains("quaypass123"),
        "credentials never reach the log:\n{log}"
    );
}
