//! `GET /v2/auth`: Quay's token endpoint.

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use quayside_auth::{AuthError, Identity};
use quayside_oci::{ErrorCode, RegistryError};
use serde_json::json;

use crate::{V2Error, V2State};

/// Basic credentials from the header, if it carries any.
fn basic_credentials(req: &Parts) -> Result<Option<(String, String)>, V2Error> {
    let Some(value) = req.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some(encoded) = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ")) else {
        // Quay only parses Basic here; anything else counts as no credentials.
        return Ok(None);
    };
    let bad = || V2Error::Unauthorized {
        challenge: String::new(),
        message: Some("Specified credentials are invalid".into()),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (user, pass) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((user.to_string(), pass.to_string())))
}

pub async fn issue(state: &V2State, req: &Parts) -> Result<Response, V2Error> {
    let query = req.uri.query().unwrap_or("");
    let mut service = None;
    let mut scopes = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "service" => service = Some(v.into_owned()),
            "scope" if !v.is_empty() => scopes.push(v.into_owned()),
            _ => {}
        }
    }
    let challenge = state.auth.challenge(None);
    let credentials = basic_credentials(req).map_err(|e| match e {
        V2Error::Unauthorized { message, .. } => V2Error::Unauthorized {
            challenge: challenge.clone(),
            message,
        },
        other => other,
    })?;
    let identity = match &credentials {
        Some((user, pass)) => match state.auth.verify_basic(user, pass).await {
            Ok(identity) => {
                state
                    .metrics
                    .auth_attempt(quayside_metrics::AuthKind::Basic, true);
                tracing::Span::current().record("user", user.as_str());
                Some(identity)
            }
            Err(AuthError::Invalid(message)) => {
                state
                    .metrics
                    .auth_attempt(quayside_metrics::AuthKind::Basic, false);
                // With anonymous access off, Quay answers even bad passwords
                // with the anonymous-access error.
                if !state.settings.anonymous_access {
                    return Err(anonymous_disallowed());
                }
                return Err(V2Error::Unauthorized {
                    challenge,
                    message: Some(message),
                });
            }
            Err(e) => return Err(auth_error(e, &challenge)),
        },
        None => None,
    };
    if identity.is_none() {
        if !state.settings.anonymous_access {
            return Err(anonymous_disallowed());
        }
        if scopes.is_empty() {
            return Err(V2Error::Unauthorized {
                challenge,
                message: None,
            });
        }
    }
    let identity = identity.unwrap_or(Identity::Anonymous);
    let token = state
        .auth
        .issue_registry_token(&identity, service.as_deref(), &scopes)
        .await
        .map_err(|e| auth_error(e, &challenge))?;
    let mut resp = (StatusCode::OK, axum::Json(json!({ "token": token }))).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    Ok(resp)
}

/// `@anon_protect` on `/v2/auth`: its `abort` sends no challenge.
fn anonymous_disallowed() -> V2Error {
    V2Error::Plain {
        status: StatusCode::UNAUTHORIZED,
        message: "Anonymous access is not allowed".into(),
        challenge: false,
    }
}

fn auth_error(e: AuthError, challenge: &str) -> V2Error {
    match e {
        AuthError::Invalid(message) => V2Error::Unauthorized {
            challenge: challenge.to_string(),
            message: Some(message),
        },
        AuthError::AnonymousNotAllowed => anonymous_disallowed(),
        AuthError::TooManyAttempts { retry_after_s } => V2Error::Throttled { retry_after_s },
        AuthError::BadScope(message) => {
            V2Error::Registry(RegistryError::new(ErrorCode::InvalidRequest).with_message(message))
        }
        AuthError::NameInvalid(message) => {
            V2Error::Registry(RegistryError::new(ErrorCode::NameInvalid).with_message(message))
        }
        AuthError::Denied(message) => V2Error::Registry(
            RegistryError::new(ErrorCode::Denied)
                .with_message(message)
                .with_status(405),
        ),
        AuthError::Unsupported(message) => {
            V2Error::Registry(RegistryError::new(ErrorCode::Unsupported).with_message(message))
        }
        other => V2Error::from(other),
    }
}
