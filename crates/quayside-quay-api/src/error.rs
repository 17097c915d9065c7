//! The one error type of the `/api/v1` surface, rendered once.
//!
//! Quay's API answers failures in four shapes (`quay-api.md` §2.1), and clients key off
//! them, so each variant names the shape it renders:
//!
//! * problem JSON (`endpoints/exception.py`): `detail`, `error_message`, `error_type`,
//!   `title`, `type` (an absolute URL of `GET /api/v1/error/<type>`), `status`, plus any
//!   payload keys;
//! * `{"message": ...}` (Flask-RESTful `abort`, read-only mode, data-model errors);
//! * `{"error": ...}` (`util/http.py:abort`: anonymous access refused, SSO tokens);
//! * a handler-specific body.
//!
//! The absolute `type` URL needs `SERVER_HOSTNAME` and the scheme, which a bare error does
//! not know; [`crate::router`] adds them on the way out ([`absolutize`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quayside_auth::AuthError;
use quayside_domain::DomainError;
use quayside_meta::MetaError;
use serde_json::{json, Map, Value};

use crate::json as flask;

/// Quay's `ApiErrorType`, with its HTTP status and the description served by
/// `GET /api/v1/error/<type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    ExternalServiceTimeout,
    InvalidRequest,
    InvalidResponse,
    InvalidToken,
    ExpiredToken,
    InsufficientScope,
    FreshLoginRequired,
    ExceedsLicense,
    NotFound,
    DownstreamIssue,
    TagImmutable,
}

impl ErrorType {
    pub const ALL: [ErrorType; 11] = [
        ErrorType::ExternalServiceTimeout,
        ErrorType::InvalidRequest,
        ErrorType::InvalidResponse,
        ErrorType::InvalidToken,
        ErrorType::ExpiredToken,
        ErrorType::InsufficientScope,
        ErrorType::FreshLoginRequired,
        ErrorType::ExceedsLicense,
        ErrorType::NotFound,
        ErrorType::DownstreamIssue,
        ErrorType::TagImmutable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::ExternalServiceTimeout => "external_service_timeout",
            ErrorType::InvalidRequest => "invalid_request",
            ErrorType::InvalidResponse => "invalid_response",
            ErrorType::InvalidToken => "invalid_token",
            ErrorType::ExpiredToken => "expired_token",
            ErrorType::InsufficientScope => "insufficient_scope",
            ErrorType::FreshLoginRequired => "fresh_login_required",
            ErrorType::ExceedsLicense => "exceeds_license",
            ErrorType::NotFound => "not_found",
            ErrorType::DownstreamIssue => "downstream_issue",
            ErrorType::TagImmutable => "tag_immutable",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorType> {
        ErrorType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::ExternalServiceTimeout | ErrorType::DownstreamIssue => {
                StatusCode::from_u16(520).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ErrorType::InvalidRequest | ErrorType::InvalidResponse => StatusCode::BAD_REQUEST,
            ErrorType::InvalidToken | ErrorType::ExpiredToken | ErrorType::FreshLoginRequired => {
                StatusCode::UNAUTHORIZED
            }
            ErrorType::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorType::ExceedsLicense => StatusCode::PAYMENT_REQUIRED,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
            ErrorType::TagImmutable => StatusCode::CONFLICT,
        }
    }

    /// What `GET /api/v1/error/<type>` says about the type.
    pub fn description(self) -> &'static str {
        match self {
            ErrorType::ExternalServiceTimeout => {
                "An external service timed out. Retrying the request may resolve the issue."
            }
            ErrorType::InvalidRequest => {
                "The request was invalid. It may have contained invalid values or was improperly formatted."
            }
            ErrorType::InvalidResponse => "The response was invalid.",
            ErrorType::InvalidToken => "The access token provided was invalid.",
            ErrorType::ExpiredToken => "The access token provided has expired.",
            ErrorType::InsufficientScope => {
                "The access token did not have sufficient scope to access the requested resource."
            }
            ErrorType::FreshLoginRequired => "The action requires a fresh login to succeed.",
            ErrorType::ExceedsLicense => {
                "The action was refused because the current license does not allow it."
            }
            ErrorType::NotFound => "The resource was not found.",
            ErrorType::DownstreamIssue => "An error occurred in a downstream service.",
            ErrorType::TagImmutable => "The tag is immutable and cannot be changed.",
        }
    }
}

/// The read-only answer of every API write (`check_readonly`).
pub const READ_ONLY_MESSAGE: &str =
    "System is currently read-only. Pulls will succeed but all write operations are currently suspended.";

/// Every way an `/api/v1` request can fail.
#[derive(Debug)]
pub enum QuayApiError {
    /// Problem JSON of `kind` with `detail` and extra payload keys.
    Problem {
        kind: ErrorType,
        detail: String,
        payload: Map<String, Value>,
    },
    /// `{"message": ...}` with the given status.
    Message(StatusCode, String),
    /// `{"error": ...}` with the given status.
    Error(StatusCode, String),
    /// `503 {"message": READ_ONLY_MESSAGE, "is_readonly": true}`.
    ReadOnly,
    /// A handler-specific body.
    Body(StatusCode, Value),
    /// `500 {"message": "Internal Server Error"}`; the detail is logged, never sent.
    Internal(String),
}

impl QuayApiError {
    /// `400 invalid_request` with `detail`.
    pub fn invalid_request(detail: impl Into<String>) -> QuayApiError {
        QuayApiError::problem(ErrorType::InvalidRequest, detail)
    }

    /// `404 not_found` ("Not Found").
    pub fn not_found() -> QuayApiError {
        QuayApiError::problem(ErrorType::NotFound, "Not Found")
    }

    /// `401 invalid_token` "Requires authentication" (Quay's `Unauthorized` for an
    /// anonymous caller).
    pub fn requires_auth() -> QuayApiError {
        QuayApiError::problem(ErrorType::InvalidToken, "Requires authentication")
    }

    /// `403 insufficient_scope` "Unauthorized" (Quay's `Unauthorized` for a signed-in
    /// caller).
    pub fn forbidden() -> QuayApiError {
        QuayApiError::problem(ErrorType::InsufficientScope, "Unauthorized")
    }

    /// `400 {"message": ...}` (Flask-RESTful `abort(400)` / a data-model error).
    pub fn bad_request(message: impl Into<String>) -> QuayApiError {
        QuayApiError::Message(StatusCode::BAD_REQUEST, message.into())
    }

    pub fn problem(kind: ErrorType, detail: impl Into<String>) -> QuayApiError {
        QuayApiError::Problem {
            kind,
            detail: detail.into(),
            payload: Map::new(),
        }
    }

    /// Adds a payload key to a problem (e.g. `session_required: false`).
    pub fn with(mut self, key: &str, value: Value) -> QuayApiError {
        if let QuayApiError::Problem { payload, .. } = &mut self {
            payload.insert(key.to_owned(), value);
        }
        self
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            QuayApiError::Problem { kind, .. } => kind.status(),
            QuayApiError::Message(s, _) | QuayApiError::Error(s, _) | QuayApiError::Body(s, _) => {
                *s
            }
            QuayApiError::ReadOnly => StatusCode::SERVICE_UNAVAILABLE,
            QuayApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for QuayApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuayApiError::Problem { kind, detail, .. } => write!(f, "{}: {detail}", kind.as_str()),
            QuayApiError::Message(_, m) | QuayApiError::Error(_, m) => f.write_str(m),
            QuayApiError::ReadOnly => f.write_str(READ_ONLY_MESSAGE),
            QuayApiError::Body(_, v) => write!(f, "{v}"),
            QuayApiError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for QuayApiError {}

/// The `503` message when the database cannot serve (Quay's `{"message"}` shape).
pub const DATABASE_UNAVAILABLE_MESSAGE: &str =
    "The database is currently unavailable. Please try again shortly.";

impl From<MetaError> for QuayApiError {
    fn from(e: MetaError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return QuayApiError::Message(
                StatusCode::SERVICE_UNAVAILABLE,
                DATABASE_UNAVAILABLE_MESSAGE.into(),
            );
        }
        QuayApiError::Internal(e.to_string())
    }
}

impl From<DomainError> for QuayApiError {
    fn from(e: DomainError) -> Self {
        match e {
            e @ (DomainError::Invalid(_)
            | DomainError::NameInvalid(_)
            | DomainError::NamespaceUnknown(_)
            | DomainError::RepositoryExists(_)) => QuayApiError::bad_request(e.to_string()),
            DomainError::Meta(m) => m.into(),
            other => QuayApiError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for QuayApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadRequest(m) => QuayApiError::bad_request(m),
            AuthError::Meta(m) => m.into(),
            other => QuayApiError::Internal(other.to_string()),
        }
    }
}

/// Marks a problem response whose `type` is still relative; [`absolutize`] finishes it.
#[derive(Clone)]
pub(crate) struct PendingProblem(pub(crate) Value);

/// Path of the error-type description (`api.error`).
pub(crate) fn error_path(kind: &str) -> String {
    format!("/api/v1/error/{kind}")
}

impl IntoResponse for QuayApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            QuayApiError::Problem {
                kind,
                detail,
                mut payload,
            } => {
                payload.insert("detail".into(), Value::from(detail.clone()));
                payload.insert("error_message".into(), Value::from(detail));
                payload.insert("error_type".into(), Value::from(kind.as_str()));
                payload.insert("title".into(), Value::from(kind.as_str()));
                payload.insert("type".into(), Value::from(error_path(kind.as_str())));
                payload.insert("status".into(), Value::from(status.as_u16()));
                let body = Value::Object(payload);
                let mut resp = flask::response(status, &body);
                resp.extensions_mut().insert(PendingProblem(body));
                resp
            }
            QuayApiError::Message(_, m) => flask::response(status, &json!({ "message": m })),
            QuayApiError::Error(_, m) => flask::response(status, &json!({ "error": m })),
            QuayApiError::ReadOnly => flask::response(
                status,
                &json!({ "message": READ_ONLY_MESSAGE, "is_readonly": true }),
            ),
            QuayApiError::Body(_, v) => flask::response(status, &v),
            QuayApiError::Internal(detail) => {
                tracing::error!(error = %detail, "/api/v1 request failed");
                flask::response(status, &json!({ "message": "Internal Server Error" }))
            }
        }
    }
}

/// Rewrites a problem body's relative `type` into `<scheme>://<SERVER_HOSTNAME>/...` (what
/// Flask's `url_for(..., _external=True)` gives Quay).
pub(crate) fn absolutize(resp: Response, base_url: &str) -> Response {
    let Some(PendingProblem(mut body)) = resp.extensions().get::<PendingProblem>().cloned() else {
        return resp;
    };
    if let Some(Value::String(t)) = body.get_mut("type") {
        *t = format!("{base_url}{t}");
    }
    let mut out = flask::response(resp.status(), &body);
    for (name, value) in resp.headers() {
        if name != axum::http::header::CONTENT_LENGTH && name != axum::http::header::CONTENT_TYPE {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
