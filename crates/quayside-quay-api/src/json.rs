//! JSON bodies exactly as Quay's Flask 2.3 writes them (`DefaultJSONProvider`): keys
//! sorted, compact separators, `ensure_ascii` escaping, a trailing newline, and
//! `Content-Type: application/json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Python truthiness (`bool(value)`) of a JSON value, as Quay's handlers test request fields
/// and stored JSON.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A response with `value` rendered as Flask renders it.
pub(crate) fn response(status: StatusCode, value: &Value) -> Response {
    let mut body = quayside_oci::pyjson::dumps(value, quayside_oci::pyjson::Style::FlaskCompact);
    body.push('\n');
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
