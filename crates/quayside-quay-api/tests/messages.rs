//! Global messages (`/api/v1/messages`, `/api/v1/message/<uuid>`) on both backends: anyone
//! reads them, a superuser creates and deletes them, bad bodies and other callers are
//! refused, and the delete route is absent without FEATURE_SUPER_USERS.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn superusers_post_and_delete_everyone_reads() {
    for backend in backends() {
        let env = env(backend).await;
        let (_, super_tok) = env.user_with_token("super").await;
        let (_, alice_tok) = env.user_with_token("alice").await;
        let r = env.get("/api/v1/messages", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"messages": []}));

        let msg = json!({"message": {"content": "Maintenance at **noon**", "media_type": "text/markdown", "severity": "warning"}});
        let r = env
            .call(
                "POST",
                "/api/v1/messages",
                Some(&super_tok),
                Some(msg.clone()),
            )
            .await;
        assert_eq!(r.status, 201, "[{backend}] {r:?}");
        let r = env.get("/api/v1/messages", Some(&alice_tok)).await;
        let list = r.json["messages"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 1, "{r:?}");
        assert_eq!(list[0]["content"], "Maintenance at **noon**");
        assert_eq!(list[0]["media_type"], "text/markdown");
        assert_eq!(list[0]["severity"], "warning");
        let uuid = list[0]["uuid"].as_str().unwrap_or_default().to_string();
        assert_eq!(uuid.len(), 36, "{uuid}");

        // Not a superuser; anonymous; bad enums; no message at all.
        let r = env
            .call(
                "POST",
                "/api/v1/messages",
                Some(&alice_tok),
                Some(msg.clone()),
            )
            .await;
        assert_eq!(r.status, 403, "{r:?}");
        let r = env.call("POST", "/api/v1/messages", None, Some(msg)).await;
        assert_eq!(r.status, 401, "{r:?}");
        let bad =
            json!({"message": {"content": "x", "media_type": "text/html", "severity": "info"}});
        let r = env
            .call("POST", "/api/v1/messages", Some(&super_tok), Some(bad))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'text/html' is not one of ['text/plain', 'text/markdown']",
        );
        let bad =
            json!({"message": {"content": "x", "media_type": "text/plain", "severity": "fatal"}});
        let r = env
            .call("POST", "/api/v1/messages", Some(&super_tok), Some(bad))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'fatal' is not one of ['info', 'warning', 'error']",
        );
        let r = env
            .call(
                "POST",
                "/api/v1/messages",
                Some(&super_tok),
                Some(json!({})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'message' is a required property",
        );

        // Delete: only a superuser; idempotent.
        let path = format!("/api/v1/message/{uuid}");
        let r = env.call("DELETE", &path, Some(&alice_tok), None).await;
        assert_eq!(r.status, 403, "{r:?}");
        let r = env.call("DELETE", &path, Some(&super_tok), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env.call("DELETE", &path, Some(&super_tok), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env.get("/api/v1/messages", None).await;
        assert_eq!(r.json, json!({"messages": []}));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn without_super_users_only_reading_is_left() {
    let env = env_with(
        quayside_meta::Backend::Sqlite,
        "FEATURE_SUPER_USERS: false\n",
    )
    .await;
    let (_, tok) = env.user_with_token("super").await;
    let r = env.get("/api/v1/messages", None).await;
    assert_eq!(r.status, 200);
    let msg = json!({"message": {"content": "x", "media_type": "text/plain", "severity": "info"}});
    let r = env
        .call("POST", "/api/v1/messages", Some(&tok), Some(msg))
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = env
        .call("DELETE", "/api/v1/message/0000", Some(&tok), None)
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    env.cleanup().await;
}
