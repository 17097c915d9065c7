//! The superuser panel's service keys (Quay `endpoints/api/superuser.py`
//! `SuperUserServiceKeyManagement`, `SuperUserServiceKey`, `SuperUserServiceKeyApproval`,
//! over `data/model/service_keys.py`). Only with `FEATURE_SUPER_USERS`; reads also accept
//! global read-only superusers; OAuth tokens need `super:user`.
//!
//! As in Quay:
//! * `POST /superuser/keys` generates an RSA 2048 key for `service`, stores its public JWK
//!   with `created_by`/`creator`/`ip` added to the metadata, approves it as the caller
//!   (`ServiceKeyApprovalType.SUPERUSER`) and answers the private key once (PKCS#1 PEM)
//!   with the public key (SubjectPublicKeyInfo PEM); it is never stored;
//! * keys are listed in creation order; keys that expired more than a week ago are stale
//!   and neither listed nor found;
//! * dates in key objects are HTTP dates (Flask's JSON for `datetime`), expirations in
//!   requests are Unix timestamps; audit rows (`service_key_create`, `…_approve`,
//!   `…_extend`, `…_modify`, `…_delete`) go under `SERVICE_LOG_ACCOUNT_ID`, else the lowest
//!   user id, with datetimes as Unix seconds;
//! * approving an approved key answers `201` and changes nothing.
//!
//! Differences: a service name outside Quay's `^[a-z0-9_]+$` answers `400` (Quay fails with
//! a server error); in `PUT` the friendly name is checked before anything changes (Quay
//! may extend the key and then refuse the name).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{Datelike, NaiveDateTime};
use quayside_auth::NewPresharedKey;
use quayside_meta::servicekeys::{ApproveOutcome, ServiceKeyDetails};
use serde_json::{json, Map, Value};

use crate::ctx::{no_content, ok, py_repr, Body, Ctx};
use crate::endpoints::superuser::su_user_view;
use crate::routes::{delete, get, h, post, put, ApiResult, Operation};
use crate::{QuayApiError, QuayApiSettings};

/// Quay's handlers here carry no docstrings, so discovery describes them with "".
pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    if !settings.config.feature("SUPER_USERS") {
        return Vec::new();
    }
    vec![
        get(
            "/api/v1/superuser/keys",
            "listServiceKeys",
            h!(list_service_keys),
        )
        .tag("superuser")
        .scope("super:user"),
        post(
            "/api/v1/superuser/keys",
            "createServiceKey",
            h!(create_service_key),
        )
        .tag("superuser")
        .scope("super:user")
        .fresh_login(),
        get(
            "/api/v1/superuser/keys/{kid}",
            "getServiceKey",
            h!(get_service_key),
        )
        .tag("superuser")
        .scope("super:user"),
        put(
            "/api/v1/superuser/keys/{kid}",
            "updateServiceKey",
            h!(update_service_key),
        )
        .tag("superuser")
        .scope("super:user")
        .fresh_login(),
        delete(
            "/api/v1/superuser/keys/{kid}",
            "deleteServiceKey",
            h!(delete_service_key),
        )
        .tag("superuser")
        .scope("super:user")
        .fresh_login(),
        post(
            "/api/v1/superuser/approvedkeys/{kid}",
            "approveServiceKey",
            h!(approve_service_key),
        )
        .tag("superuser")
        .scope("super:user")
        .fresh_login(),
    ]
}

/// Flask's JSON form of a `datetime`: an HTTP date (`Mon, 07 Dec 2026 16:35:02 GMT`).
fn http_date(t: NaiveDateTime) -> Value {
    Value::from(t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

fn opt_http_date(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, http_date)
}

/// A `datetime` in audit metadata (Quay's `_json_serialize`: Unix seconds).
fn log_time(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::from(t.and_utc().timestamp()))
}

/// Stored JSON text as a value (text that does not parse is shown as the string it is).
fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
}

/// Quay's `ServiceKey.to_dict`.
async fn key_view(ctx: &Ctx, k: &ServiceKeyDetails) -> Result<Value, QuayApiError> {
    let approval = match &k.approval {
        None => Value::Null,
        Some(a) => {
            let approver = match a.approver_id {
                Some(id) => match ctx.auth().db().user_details_by_id(id).await? {
                    Some(u) => su_user_view(ctx, &u),
                    None => Value::Null,
                },
                None => Value::Null,
            };
            json!({
                "approver": approver,
                "approval_type": a.approval_type,
                "approved_date": http_date(a.approved_date),
                "notes": a.notes,
            })
        }
    };
    Ok(json!({
        "name": k.name,
        "kid": k.kid,
        "service": k.service,
        "jwk": stored_json(&k.jwk),
        "metadata": stored_json(&k.metadata),
        "created_date": http_date(k.created_date),
        "expiration_date": opt_http_date(k.expiration_date),
        "rotation_duration": k.rotation_duration,
        "approval": approval,
    }))
}

/// Quay's `VALID_SERVICE_KEY_NAME_REGEX` (`^[\s a-zA-Z0-9\-_:/]*$`).
fn valid_key_name(name: &str) -> bool {
    name.chars().all(|c| {
        c.is_whitespace() || c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '/')
    })
}

fn check_key_name(name: &str) -> Result<(), QuayApiError> {
    if valid_key_name(name) {
        Ok(())
    } else {
        Err(QuayApiError::invalid_request(format!(
            "Invalid service key friendly name: {name}"
        )))
    }
}

/// The `expiration` property (`anyOf: number, null`), when present.
fn expiration_field(body: &Body) -> Result<Option<Option<f64>>, QuayApiError> {
    match body.get("expiration") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Number(n)) => Ok(Some(n.as_f64())),
        Some(v) => Err(QuayApiError::invalid_request(format!(
            "{} is not valid under any of the given schemas",
            py_repr(v)
        ))),
    }
}

/// Quay's `datetime.utcfromtimestamp(float(expiration))`, refused unless in the future
/// (`past` is the message for an expiration that is not).
fn parse_expiration(ts: f64, past: &str) -> Result<NaiveDateTime, QuayApiError> {
    let micros = (ts * 1e6).round();
    let at = if micros.is_finite() && micros.abs() < 9.0e18 {
        #[allow(clippy::cast_possible_truncation)]
        chrono::DateTime::from_timestamp_micros(micros as i64).map(|d| d.naive_utc())
    } else {
        None
    };
    let at = match at {
        Some(at) if (1..=9999).contains(&at.year()) => at,
        _ => {
            return Err(QuayApiError::invalid_request(
                "Invalid expiration date: year is out of range",
            ))
        }
    };
    if at <= chrono::Utc::now().naive_utc() {
        return Err(QuayApiError::invalid_request(past));
    }
    Ok(at)
}

/// A string property that may be absent (type-checked as the schema does).
fn opt_string<'a>(body: &'a Body, key: &str) -> Result<Option<&'a str>, QuayApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(QuayApiError::invalid_request(format!(
            "{} is not of type 'string'",
            py_repr(v)
        ))),
    }
}

fn opt_metadata(body: &Body) -> Result<Option<&Map<String, Value>>, QuayApiError> {
    match body.get("metadata") {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(v) => Err(QuayApiError::invalid_request(format!(
            "{} is not of type 'object'",
            py_repr(v)
        ))),
    }
}

/// The account service audit rows are written under: `SERVICE_LOG_ACCOUNT_ID`, else the
/// lowest user id (Quay's `log_action` without a namespace).
async fn service_log_account(ctx: &Ctx) -> Result<i64, QuayApiError> {
    if let Some(id) = ctx
        .state
        .settings
        .config
        .get("SERVICE_LOG_ACCOUNT_ID")
        .and_then(Value::as_i64)
    {
        return Ok(id);
    }
    ctx.auth()
        .db()
        .minimum_user_id()
        .await?
        .ok_or_else(|| QuayApiError::Internal("no user to log service key actions under".into()))
}

async fn log_key_action(ctx: &Ctx, kind: &str, metadata: Value) -> Result<(), QuayApiError> {
    let account = service_log_account(ctx).await?;
    ctx.log(kind, account, None, metadata).await
}

async fn list_service_keys(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(true)?;
    let keys = ctx.auth().list_service_keys().await?;
    let mut views = Vec::with_capacity(keys.len());
    for k in &keys {
        views.push(key_view(&ctx, k).await?);
    }
    Ok(ok(json!({ "keys": views })))
}

async fn create_service_key(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let service = body.req_str("service")?;
    if !body.has("expiration") {
        return Err(QuayApiError::invalid_request(
            "'expiration' is a required property",
        ));
    }
    let expiration = expiration_field(&body)?.flatten();
    let name = opt_string(&body, "name")?.unwrap_or("");
    let notes = opt_string(&body, "notes")?.unwrap_or("");
    let metadata = opt_metadata(&body)?.cloned().unwrap_or_default();
    ctx.require_superuser(false)?;
    let (user_id, username) = ctx.caller.require_user()?;
    check_key_name(name)?;
    if !quayside_auth::valid_service_name(service) {
        return Err(QuayApiError::invalid_request(format!(
            "Invalid service name: {service} (lowercase letters, digits and _ only)"
        )));
    }
    let expiration = match expiration {
        Some(ts) => Some(parse_expiration(
            ts,
            "Expiration date cannot be in the past",
        )?),
        None => None,
    };
    let mut metadata = metadata;
    metadata.insert("created_by".into(), "Quay Superuser Panel".into());
    metadata.insert("creator".into(), username.into());
    metadata.insert(
        "ip".into(),
        ctx.ip.as_deref().map_or(Value::Null, Value::from),
    );
    let metadata_text = quayside_oci::pyjson::dumps(
        &Value::Object(metadata),
        quayside_oci::pyjson::Style::Python,
    );
    let created = ctx
        .auth()
        .create_service_key(NewPresharedKey {
            service,
            name,
            metadata: metadata_text,
            expiration,
            approver_id: user_id,
            notes,
        })
        .await?;
    let log_metadata = json!({
        "kid": created.kid,
        "preshared": true,
        "service": service,
        "name": name,
        "expiration_date": log_time(expiration),
        "auto_approved": true,
    });
    log_key_action(&ctx, "service_key_create", log_metadata.clone()).await?;
    log_key_action(&ctx, "service_key_approve", log_metadata).await?;
    Ok(ok(json!({
        "kid": created.kid,
        "name": name,
        "service": service,
        "public_key": created.public_pem,
        "private_key": created.private_pem,
    })))
}

async fn target_key(ctx: &Ctx) -> Result<ServiceKeyDetails, QuayApiError> {
    ctx.auth()
        .service_key_details(ctx.param("kid"))
        .await?
        .ok_or_else(QuayApiError::not_found)
}

async fn get_service_key(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(true)?;
    let key = target_key(&ctx).await?;
    Ok(ok(key_view(&ctx, &key).await?))
}

async fn update_service_key(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let name = opt_string(&body, "name")?;
    let metadata = opt_metadata(&body)?;
    let expiration = expiration_field(&body)?;
    ctx.require_superuser(false)?;
    let key = target_key(&ctx).await?;
    if let Some(name) = name {
        check_key_name(name)?;
    }
    let expiration = match expiration {
        Some(Some(ts)) => Some(Some(parse_expiration(
            ts,
            "Cannot have an expiration date in the past",
        )?)),
        other => other.map(|_| None),
    };
    let auth = ctx.auth();
    let mut log_metadata = json!({
        "kid": key.kid,
        "service": key.service,
        "name": name.unwrap_or(&key.name),
        "expiration_date": log_time(key.expiration_date),
    });
    if let Some(new_expiration) = expiration {
        log_metadata["old_expiration_date"] = log_time(key.expiration_date);
        log_metadata["expiration_date"] = log_time(new_expiration);
        log_key_action(&ctx, "service_key_extend", log_metadata.clone()).await?;
        if !auth
            .set_service_key_expiration(&key.kid, new_expiration)
            .await?
        {
            return Err(QuayApiError::not_found());
        }
    }
    if body.has("name") || body.has("metadata") {
        let merged = metadata.map(|m| {
            let mut current = match stored_json(&key.metadata) {
                Value::Object(o) => o,
                _ => Map::new(),
            };
            current.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            quayside_oci::pyjson::dumps(
                &Value::Object(current),
                quayside_oci::pyjson::Style::Python,
            )
        });
        if !auth
            .update_service_key(&key.kid, name, merged.as_deref())
            .await?
        {
            return Err(QuayApiError::not_found());
        }
        log_key_action(&ctx, "service_key_modify", log_metadata).await?;
    }
    let updated = target_key(&ctx).await?;
    Ok(ok(key_view(&ctx, &updated).await?))
}

async fn delete_service_key(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(false)?;
    let kid = ctx.param("kid").to_owned();
    let Some(key) = ctx.auth().delete_service_key(&kid).await? else {
        return Err(QuayApiError::not_found());
    };
    log_key_action(
        &ctx,
        "service_key_delete",
        json!({
            "kid": kid,
            "service": key.service,
            "name": key.name,
            "created_date": log_time(Some(key.created_date)),
            "expiration_date": log_time(key.expiration_date),
        }),
    )
    .await?;
    Ok(no_content())
}

async fn approve_service_key(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let notes = opt_string(&body, "notes")?.unwrap_or("");
    ctx.require_superuser(false)?;
    let (user_id, _) = ctx.caller.require_user()?;
    match ctx
        .auth()
        .approve_service_key(ctx.param("kid"), user_id, notes)
        .await?
    {
        ApproveOutcome::NotFound => return Err(QuayApiError::not_found()),
        ApproveOutcome::AlreadyApproved => {}
        ApproveOutcome::Approved(key) => {
            log_key_action(
                &ctx,
                "service_key_approve",
                json!({
                    "kid": key.kid,
                    "service": key.service,
                    "name": key.name,
                    "expiration_date": log_time(key.expiration_date),
                }),
            )
            .await?;
        }
    }
    Ok((StatusCode::CREATED, "").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_follow_quays_pattern() {
        assert!(valid_key_name(""));
        assert!(valid_key_name("My key: build/01_a-b"));
        assert!(!valid_key_name("key;drop"));
        assert!(!valid_key_name("clé"));
    }

    #[test]
    fn expirations_are_unix_timestamps_in_the_future() {
        let future = (chrono::Utc::now().timestamp() + 3600) as f64 + 0.5;
        let at = parse_expiration(future, "past").expect("future");
        assert_eq!(at.and_utc().timestamp_micros() % 1_000_000, 500_000);
        let past = parse_expiration(1.0, "past").expect_err("past");
        assert_eq!(
            past.to_string(),
            QuayApiError::invalid_request("past").to_string()
        );
        assert!(parse_expiration(1e300, "past").is_err());
        assert!(parse_expiration(f64::NAN, "past").is_err());
    }

    #[test]
    fn datetimes_render_as_flask_does() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(16, 35, 2))
            .expect("date");
        assert_eq!(http_date(t), "Mon, 07 Dec 2026 16:35:02 GMT");
        assert_eq!(log_time(Some(t)), 1_796_661_302);
    }
}
