//! Snapshots of the `/api/v1` error answers, one per distinct shape Quay uses
//! (`quay-api.md` §2.1), each driven by a real request: problem JSON (401 anonymous, 401
//! with `session_required`, 403, 404, 400 validation failures), `{"message"}` (Flask's
//! 404/405, malformed or non-JSON bodies, read-only mode) and `{"error"}` (anonymous access
//! disabled, SSO bearer tokens). A change to any of these wire shapes shows up as a
//! reviewed snapshot diff (`tests/snapshots/`).
//!
//! A snapshot is the status line, the response headers (sorted, without `content-length`)
//! and the raw body, so key order and escaping are covered too. `SERVER_HOSTNAME` is
//! redacted to `[SERVER_HOSTNAME]`. Every case runs on SQLite and PostgreSQL, which must
//! answer byte for byte the same.

mod common;

use common::*;
use serde_json::json;

/// The status line, headers and raw body of `r`, host-independent.
fn render(r: &Resp) -> String {
    let mut out = format!(
        "{} {}\n",
        r.status.as_u16(),
        r.status.canonical_reason().unwrap_or("")
    );
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(name, _)| *name != "content-length")
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    headers.sort();
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.push_str(&r.text);
    out.replace(SERVER_HOSTNAME, "[SERVER_HOSTNAME]")
}

/// One answer per case name, in order.
type Answers = Vec<(&'static str, String)>;

/// Checks both backends gave the same answers, then snapshots each case.
fn snapshot_all(per_backend: Vec<Answers>) {
    let [sqlite, postgres]: [Answers; 2] = per_backend.try_into().expect("two backends");
    assert_eq!(sqlite.len(), postgres.len());
    for ((name, a), (other, b)) in sqlite.iter().zip(&postgres) {
        assert_eq!(name, other);
        assert_eq!(a, b, "{name}: SQLite and PostgreSQL answer differently");
    }
    for (name, rendered) in sqlite {
        insta::assert_snapshot!(name, rendered);
    }
}

/// Records `r` as case `name`, after the checks every Quay API error body passes: JSON,
/// `application/json`, Flask's trailing newline, and never a 500.
fn record(out: &mut Answers, name: &'static str, r: &Resp) {
    assert!(r.status.as_u16() >= 400, "{name}: not an error: {r:?}");
    assert_ne!(r.status, 500, "{name}: {r:?}");
    assert!(
        r.json.is_object(),
        "{name}: body is not a JSON object: {r:?}"
    );
    assert!(r.text.ends_with('\n'), "{name}: no trailing newline: {r:?}");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{name}"
    );
    out.push((name, render(r)));
}

/// `POST /api/v1/repository` with a raw body and content type.
async fn post_raw(env: &Env, token: &str, content_type: &str, body: &'static str) -> Resp {
    let req = axum::http::Request::post("/api/v1/repository")
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .body(axum::body::Body::from(body))
        .expect("request");
    env.send(req).await
}

/// Quay's default configuration: the problem-JSON, `{"message"}` and SSO `{"error"}` shapes.
#[tokio::test]
async fn api_error_shapes() {
    let mut per_backend = Vec::new();
    for backend in backends() {
        let env = env(backend).await;
        let (owner, owner_token) = env.user_with_token("devtable").await;
        let (_, outsider_token) = env.user_with_token("outsider").await;
        env.org("acme", owner).await;
        env.repo("acme", "private", false, Some(owner)).await;
        let mut out = Answers::new();

        // Problem JSON.
        let r = env.get("/api/v1/repository/acme/private", None).await;
        record(&mut out, "problem_401_anonymous_on_private_repository", &r);
        let r = env.get("/api/v1/user/", None).await;
        record(&mut out, "problem_401_session_required", &r);
        let r = env
            .get("/api/v1/repository/acme/private", Some(&outsider_token))
            .await;
        record(&mut out, "problem_403_signed_in_without_permission", &r);
        let r = env
            .get("/api/v1/repository/acme/missing", Some(&owner_token))
            .await;
        record(&mut out, "problem_404_missing_repository", &r);
        let r = env
            .get("/api/v1/organization/missing", Some(&owner_token))
            .await;
        record(&mut out, "problem_404_missing_organization", &r);
        let r = env.get("/api/v1/error/bogus", None).await;
        record(&mut out, "problem_404_unknown_error_type", &r);
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&owner_token),
                Some(json!({"namespace": "acme", "visibility": "private", "description": ""})),
            )
            .await;
        record(&mut out, "problem_400_missing_required_property", &r);
        let r = env
            .call("POST", "/api/v1/repository", Some(&owner_token), None)
            .await;
        record(&mut out, "problem_400_missing_json_body", &r);
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&owner_token),
                Some(json!(["not", "an", "object"])),
            )
            .await;
        record(&mut out, "problem_400_body_not_an_object", &r);

        // {"message": ...}
        let r = post_raw(&env, &owner_token, "application/json", "{\"repository\": ").await;
        record(&mut out, "message_400_malformed_json", &r);
        let r = post_raw(&env, &owner_token, "text/plain", "repository=x").await;
        record(&mut out, "message_415_body_not_json", &r);
        let r = env.get("/api/v1/nothing/here", None).await;
        record(&mut out, "message_404_unknown_path", &r);
        let r = env.call("DELETE", "/api/v1/discovery", None, None).await;
        record(&mut out, "message_405_method_not_allowed", &r);

        // {"error": ...}: a Bearer JWT is an SSO token, and no OIDC issuer is configured.
        // {"alg":"none"}.{"iss":"https://idp.example"}.sig
        let jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.c2ln";
        let r = env.get("/api/v1/discovery", Some(jwt)).await;
        record(&mut out, "error_401_sso_issuer_not_configured", &r);

        per_backend.push(out);
        env.cleanup().await;
    }
    snapshot_all(per_backend);
}

/// `REGISTRY_STATE: readonly`: every write answers `503 {"message", "is_readonly"}`.
#[tokio::test]
async fn api_error_read_only_mode() {
    let mut per_backend = Vec::new();
    for backend in backends() {
        let env = env_with(backend, "REGISTRY_STATE: readonly\n").await;
        let (_, token) = env.user_with_token("devtable").await;
        let mut out = Answers::new();
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&token),
                Some(json!({"repository": "app", "visibility": "private", "description": ""})),
            )
            .await;
        record(&mut out, "message_503_read_only", &r);
        per_backend.push(out);
        env.cleanup().await;
    }
    snapshot_all(per_backend);
}

/// `FEATURE_ANONYMOUS_ACCESS: false`: an anonymous call to an endpoint that is not
/// `@anon_allowed` answers `401 {"error": "Anonymous access is not allowed"}`.
#[tokio::test]
async fn api_error_anonymous_access_disabled() {
    let mut per_backend = Vec::new();
    for backend in backends() {
        let env = env_with(backend, "FEATURE_ANONYMOUS_ACCESS: false\n").await;
        let owner = env.user("devtable").await;
        env.repo("devtable", "public", true, Some(owner)).await;
        let mut out = Answers::new();
        let r = env.get("/api/v1/repository/devtable/public", None).await;
        record(&mut out, "error_401_anonymous_access_disabled", &r);
        per_backend.push(out);
        env.cleanup().await;
    }
    snapshot_all(per_backend);
}
