//! Global banner messages (Quay `endpoints/api/globalmessages.py`): everyone may read them;
//! superusers (`FEATURE_SUPER_USERS`, OAuth `super:user`, fresh login) create and delete.
//!
//! As in Quay: `GET /api/v1/messages` answers `{"messages": [{uuid, content, severity,
//! media_type}]}`; `POST` takes `{"message": {content, media_type, severity}}` (media type
//! `text/plain` or `text/markdown`, severity `info`, `warning` or `error`) and answers an
//! empty `201`; `DELETE /api/v1/message/<uuid>` answers `204`, whether or not the message
//! existed. Difference: a body without `message` is `400 invalid_request` (Quay fails with a
//! 500).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::ctx::{no_content, ok, one_of, Ctx};
use crate::endpoints::user::required_str;
use crate::routes::{delete, get, h, post, ApiResult, Operation};
use crate::{QuayApiError, QuayApiSettings};

const MEDIA_TYPES: &[&str] = &["text/plain", "text/markdown"];
const SEVERITIES: &[&str] = &["info", "warning", "error"];

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let mut ops = vec![
        get("/api/v1/messages", "getGlobalMessages", h!(list_messages))
            .tag("globalmessages")
            .summary("Return a super users messages."),
        post(
            "/api/v1/messages",
            "createGlobalMessage",
            h!(create_message),
        )
        .tag("globalmessages")
        .summary("Create a message.")
        .scope("super:user")
        .fresh_login(),
    ];
    if settings.config.feature("SUPER_USERS") {
        ops.push(
            delete(
                "/api/v1/message/{uuid}",
                "deleteGlobalMessage",
                h!(delete_message),
            )
            .tag("globalmessages")
            .summary("Delete a message.")
            .scope("super:user")
            .fresh_login(),
        );
    }
    ops
}

async fn list_messages(ctx: Ctx) -> ApiResult {
    let messages: Vec<Value> = ctx
        .auth()
        .db()
        .global_messages()
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "uuid": m.uuid,
                "content": m.content,
                "severity": m.severity,
                "media_type": m.media_type,
            })
        })
        .collect();
    Ok(ok(json!({ "messages": messages })))
}

async fn create_message(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let Some(message) = body.0.get("message") else {
        return Err(QuayApiError::invalid_request(
            "'message' is a required property",
        ));
    };
    let Some(message) = message.as_object() else {
        return Err(QuayApiError::invalid_request(format!(
            "{} is not of type 'object'",
            crate::ctx::py_repr(message)
        )));
    };
    let message = crate::ctx::Body(message.clone());
    let content = required_str(&message, "content")?.to_owned();
    let media_type = required_str(&message, "media_type")?.to_owned();
    let severity = required_str(&message, "severity")?.to_owned();
    one_of(&media_type, MEDIA_TYPES)?;
    one_of(&severity, SEVERITIES)?;
    ctx.require_superuser(false)?;
    let created = ctx
        .auth()
        .db()
        .create_global_message(&severity, &media_type, &content)
        .await?;
    if created.is_none() {
        return Err(QuayApiError::bad_request("Bad Request"));
    }
    Ok((StatusCode::CREATED, "").into_response())
}

async fn delete_message(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(false)?;
    ctx.auth()
        .db()
        .delete_global_message(ctx.param("uuid"))
        .await?;
    Ok(no_content())
}
