//! `FEATURE_EXTENDED_REPOSITORY_NAMES` reaches the one repository-creation rule: with it off,
//! neither a push through `/v2/auth` nor the API creates a repository whose name has a
//! slash; with it on (Quay's default), both do — on SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{app, registry_token, send};
use quayside_testkit::{backends, Backend};
use serde_json::json;

async fn exists(app: &common::App, name: &str) -> bool {
    app.state
        .quay_api
        .auth
        .db()
        .repository_details("owner", name)
        .await
        .expect("details")
        .is_some()
}

async fn create_by_api(app: &common::App, token: &str, name: &str) -> (u16, serde_json::Value) {
    let body = json!({"repository": name, "visibility": "private", "description": ""});
    let req = Request::post("/api/v1/repository")
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("req");
    let r = send(app, req).await;
    (r.status.as_u16(), r.json)
}

async fn extended_names_follow_the_flag(backend: Backend, enabled: bool) {
    let yaml = if enabled {
        String::new()
    } else {
        "FEATURE_EXTENDED_REPOSITORY_NAMES: false\n".to_owned()
    };
    let app = app(backend, &yaml).await;
    let auth = &app.state.quay_api.auth;
    let owner = auth
        .create_user("owner", "password", "owner@example.com")
        .await
        .expect("owner");
    let token = auth
        .create_oauth_token(owner, "repo:create repo:admin")
        .await
        .expect("oauth token");

    registry_token(
        &app,
        Some(("owner", "password")),
        "repository:owner/team/app:pull,push",
    )
    .await;
    assert_eq!(
        exists(&app, "team/app").await,
        enabled,
        "push-created owner/team/app with extended names {enabled} on {backend}"
    );

    let (status, body) = create_by_api(&app, &token, "group/tool").await;
    if enabled {
        assert_eq!(status, 201, "{body}");
    } else {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error_message"], "Invalid repository name", "{body}");
    }
    assert_eq!(exists(&app, "group/tool").await, enabled, "{backend}");
    // A plain name is created either way.
    assert_eq!(
        create_by_api(&app, &token, "plain").await.0,
        201,
        "{backend}"
    );
    app.tdb.cleanup().await;
}

#[tokio::test]
async fn extended_names_on_both_backends() {
    for backend in backends() {
        extended_names_follow_the_flag(backend, true).await;
        extended_names_follow_the_flag(backend, false).await;
    }
}
