//! `POST /api/v1/user/initialize`: the first user of an empty database (Quay
//! `endpoints/web.py:user_initialize`, `quay-api.md` §2.2).
//!
//! In Quay's order: `AUTHENTICATION_TYPE` must be `Database`, the `user` table must be
//! empty (organizations and robots count), then the JSON body is read and the user is
//! created verified through Quay's `create_user` rules (password, then e-mail when
//! `FEATURE_MAILING`, then username). The answer is `{"email", "encrypted_password",
//! "username"}` (`email` and `username` echo the request) plus, when `access_token` is
//! truthy, `"access_token"`: an OAuth token of a new application `automation` (client id =
//! the username) with [`AUTOMATION_SCOPE`], valid for [`AUTOMATION_TOKEN_LIFETIME_S`].
//!
//! Not done here (no web sessions exist yet): Quay also logs the new user in
//! (`common_login`: session cookie and `X-Next-CSRF-Token` header), and answers
//! `403 {"message": "Could not login. Failed to initialize user"}` if that fails. The
//! response carries neither header. Quay's `FEATURE_USER_METADATA` prompts
//! (`userprompt` rows) are not created either.
//!
//! Where Quay fails with an unhandled exception (a body that is not a JSON object, a
//! missing or non-string `username`/`password`, a non-string `email`), quayside answers
//! `400 {"message": "Failed to initialize user: …"}` instead of a 500.

use axum::http::{HeaderMap, StatusCode};
use quayside_auth::{AuthError, NewUserOptions, OAuthApplicationSpec};
use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::routes::{h, post, ApiResult, Operation};
use crate::{json, QuayApiError, QuayApiSettings};

/// Mounted only with `FEATURE_USER_INITIALIZE` (Quay's `route_show_if`).
pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    if !settings.user_initialize {
        return Vec::new();
    }
    vec![post("/api/v1/user/initialize", "userInitialize", h!(handle))
        .tag("user")
        .summary("Create the first user of an empty Database-authenticated registry; optionally returns an OAuth access token.")
        .anon_allowed()
        .internal()]
}

/// Name of the OAuth application that holds the token.
pub const AUTOMATION_APP_NAME: &str = "automation";
/// Scope of the token.
pub const AUTOMATION_SCOPE: &str =
    "org:admin repo:admin repo:create repo:read repo:write super:user user:admin user:read";
/// Lifetime of the token (Quay's `create_user_access_token` default).
pub const AUTOMATION_TOKEN_LIFETIME_S: i64 = 9000;
const AUTOMATION_APP_DESCRIPTION: &str = "Application token generated via /api/v1/user/initialize";

const NON_DATABASE: &str = "Cannot initialize user in a non-database auth system";
const NON_EMPTY: &str = "Cannot initialize user in a non-empty database";
const NOT_JSON: &str = "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.";

async fn handle(ctx: Ctx) -> ApiResult {
    let (state, headers, body) = (&ctx.state, &ctx.headers, &ctx.body);
    if state.settings.authentication_type != "Database" {
        return Err(QuayApiError::bad_request(NON_DATABASE));
    }
    let _one_at_a_time = state.init_lock.lock().await;
    if state.auth.db().count_accounts().await? > 0 {
        return Err(QuayApiError::bad_request(NON_EMPTY));
    }
    let data = json_body(headers, body)?;
    let username = required_string(&data, "username")?;
    let password = required_string(&data, "password")?;
    let email = match data.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(e.as_str()),
        Some(_) => return Err(failed("'email' must be a string")),
    };

    let options = NewUserOptions {
        auto_verify: true,
        email_required: state.settings.mailing,
    };
    let user_id = match state
        .auth
        .create_user_with(username, password, email, options)
        .await
    {
        Ok(id) => id,
        Err(AuthError::BadRequest(reason)) => return Err(failed(&reason)),
        Err(e) => return Err(e.into()),
    };

    let mut result = Map::new();
    result.insert("username".into(), Value::from(username));
    result.insert("email".into(), email.map_or(Value::Null, Value::from));
    result.insert(
        "encrypted_password".into(),
        Value::from(state.auth.encrypt_user_password(password)),
    );
    if data.get("access_token").is_some_and(json::truthy) {
        let app_id = state
            .auth
            .create_oauth_application(
                user_id,
                &OAuthApplicationSpec {
                    name: AUTOMATION_APP_NAME,
                    client_id: username,
                    description: AUTOMATION_APP_DESCRIPTION,
                    application_uri: "",
                    redirect_uri: "",
                },
            )
            .await?;
        let token = state
            .auth
            .create_user_access_token(
                user_id,
                app_id,
                AUTOMATION_SCOPE,
                AUTOMATION_TOKEN_LIFETIME_S,
            )
            .await?;
        result.insert("access_token".into(), Value::from(token));
    }
    tracing::info!(username, "first user initialized");
    Ok(json::response(StatusCode::OK, &Value::Object(result)))
}

fn failed(reason: &str) -> QuayApiError {
    QuayApiError::bad_request(format!("Failed to initialize user: {reason}"))
}

/// Flask's `request.get_json()`: the body must be declared JSON (`application/json` or
/// `application/*+json`) and parse; quayside also requires an object.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, QuayApiError> {
    if !crate::ctx::declares_json(headers) {
        return Err(QuayApiError::Message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NOT_JSON.into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(failed("the request body must be a JSON object")),
        Err(e) => Err(QuayApiError::bad_request(format!(
            "Failed to decode JSON object: {e}"
        ))),
    }
}

fn required_string<'a>(data: &'a Map<String, Value>, key: &str) -> Result<&'a str, QuayApiError> {
    match data.get(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(failed(&format!("'{key}' must be a string"))),
    }
}
