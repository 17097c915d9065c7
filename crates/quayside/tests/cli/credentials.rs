//! Issue #4's end-to-end proof: skopeo pushes and pulls with a robot account and with
//! an OAuth access token (and an app-specific token), all three created through Quay's
//! REST API on the running binary — on SQLite and on PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::backends::{self, Running};
use crate::fixtures;

const SCOPES: &str = "repo:admin repo:create repo:read repo:write user:admin user:read";

fn artifact_layout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/images/artifact")
}

fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("skopeo is installed (Debian package skopeo)")
}

fn push(run: &Running, creds: &str, repo: &str) -> std::process::Output {
    let src = format!("oci:{}:base", artifact_layout().display());
    let dest = format!("docker://{}/{repo}:v1", run.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        &src,
        &dest,
    ])
}

fn pull(run: &Running, creds: &str, repo: &str) -> (std::process::Output, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("tempdir");
    let src = format!("docker://{}/{repo}:v1", run.host());
    let dest = format!("dir:{}", out.path().display());
    (
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds,
            &src,
            &dest,
        ]),
        out,
    )
}

fn assert_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn api(
    run: &Running,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("http://127.0.0.1:{}{path}", run.port))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("api request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn suite(run: Running) {
    let alice =
        fixtures::create_user(&run.db_uri, "alice", "a-long-password", "alice@example.com").await;
    let f = fixtures::Fixture::open(&run.db_uri).await;
    let token = f
        .auth
        .create_oauth_token(alice, SCOPES)
        .await
        .expect("oauth token");
    f.close().await;

    // A private repository and a robot with write on it, through the API.
    let (s, b) = api(
        &run,
        reqwest::Method::POST,
        "/api/v1/repository",
        &token,
        Some(json!({"repository": "robotpush", "visibility": "private", "description": ""})),
    )
    .await;
    assert_eq!(s, 201, "create repository: {b}");
    let (s, robot) = api(
        &run,
        reqwest::Method::PUT,
        "/api/v1/user/robots/ci",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 201, "create robot: {robot}");
    assert_eq!(robot["name"], "alice+ci");
    let robot_token = robot["token"].as_str().expect("robot token").to_owned();
    let (s, b) = api(
        &run,
        reqwest::Method::PUT,
        "/api/v1/repository/alice/robotpush/permissions/user/alice+ci",
        &token,
        Some(json!({"role": "write"})),
    )
    .await;
    assert_eq!(s, 200, "grant robot: {b}");

    // The robot pushes and pulls.
    let robot_creds = format!("alice+ci:{robot_token}");
    assert_ok(&push(&run, &robot_creds, "alice/robotpush"), "robot push");
    let (out, dir) = pull(&run, &robot_creds, "alice/robotpush");
    assert_ok(&out, "robot pull");
    assert!(dir.path().join("manifest.json").is_file());

    // A regenerated robot token replaces the old one at once.
    let (s, regenerated) = api(
        &run,
        reqwest::Method::POST,
        "/api/v1/user/robots/ci/regenerate",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "regenerate: {regenerated}");
    let (out, _) = pull(&run, &robot_creds, "alice/robotpush");
    assert!(
        !out.status.success(),
        "the old robot token must stop working"
    );
    let new_creds = format!("alice+ci:{}", regenerated["token"].as_str().expect("token"));
    assert_ok(
        &pull(&run, &new_creds, "alice/robotpush").0,
        "pull with the new robot token",
    );

    // The OAuth token pushes a new repository (push-to-create with repo:create) and pulls.
    let oauth_creds = format!("$oauthtoken:{token}");
    assert_ok(&push(&run, &oauth_creds, "alice/oauthpush"), "oauth push");
    assert_ok(&pull(&run, &oauth_creds, "alice/oauthpush").0, "oauth pull");

    // An app-specific token from the API works as `$app`.
    let (s, created) = api(
        &run,
        reqwest::Method::POST,
        "/api/v1/user/apptoken",
        &token,
        Some(json!({"title": "ci"})),
    )
    .await;
    assert_eq!(s, 200, "create app token: {created}");
    let code = created["token"]["token_code"].as_str().expect("token_code");
    assert_ok(
        &pull(&run, &format!("$app:{code}"), "alice/oauthpush").0,
        "app token pull",
    );

    // A read-only token cannot push.
    let f = fixtures::Fixture::open(&run.db_uri).await;
    let read_only = f
        .auth
        .create_oauth_token(alice, "repo:read")
        .await
        .expect("token");
    f.close().await;
    let out = push(&run, &format!("$oauthtoken:{read_only}"), "alice/oauthpush");
    assert!(!out.status.success(), "a repo:read token must not push");
    assert_ok(
        &pull(&run, &format!("$oauthtoken:{read_only}"), "alice/oauthpush").0,
        "repo:read pull",
    );

    run.stop().await;
}

#[tokio::test]
async fn skopeo_with_robot_oauth_and_app_tokens_on_sqlite() {
    suite(backends::sqlite().await).await;
}

#[tokio::test]
async fn skopeo_with_robot_oauth_and_app_tokens_on_postgres() {
    suite(backends::postgres().await).await;
}
