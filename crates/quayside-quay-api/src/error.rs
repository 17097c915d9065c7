//! The one error type of the `/api/v1` surface, rendered once.
//!
//! Quay's API has four error shapes (`quay-api.md` §2.1). The endpoints served so far
//! answer the `{"message": ...}` shape (Flask `jsonify` in `endpoints/web.py`), so that is
//! the only one rendered here; the problem-JSON and `{"error"}` shapes join when the first
//! endpoint needing them does.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quayside_auth::AuthError;
use quayside_meta::MetaError;
use serde_json::json;

use crate::json;

/// Every way an `/api/v1` request can fail.
#[derive(Debug)]
pub enum QuayApiError {
    /// `400 {"message": ...}`.
    BadRequest(String),
    /// `415 {"message": ...}`: the body is not declared as JSON.
    UnsupportedMediaType(String),
    /// `500 {"message": "Internal Server Error"}`; the detail is logged, never sent.
    Internal(String),
}

impl QuayApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            QuayApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            QuayApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            QuayApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for QuayApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuayApiError::BadRequest(m) | QuayApiError::UnsupportedMediaType(m) => f.write_str(m),
            QuayApiError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for QuayApiError {}

impl From<MetaError> for QuayApiError {
    fn from(e: MetaError) -> Self {
        QuayApiError::Internal(e.to_string())
    }
}

impl From<AuthError> for QuayApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadRequest(m) => QuayApiError::BadRequest(m),
            other => QuayApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for QuayApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match self {
            QuayApiError::BadRequest(m) | QuayApiError::UnsupportedMediaType(m) => m,
            QuayApiError::Internal(detail) => {
                tracing::error!(error = %detail, "/api/v1 request failed");
                "Internal Server Error".to_owned()
            }
        };
        json::response(status, &json!({ "message": message }))
    }
}
