//! What every `/api/v1` handler receives: the state, the caller, path and query
//! parameters, headers and the body — with the helpers handlers share (Quay's
//! permission decorators, JSON-body validation, audit logging).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use quayside_auth::{Identity, Role, TeamRole, UserRole};
use quayside_meta::identity::AccountRow;
use serde_json::{Map, Value};

use crate::error::QuayApiError;
use crate::routes::Params;
use crate::{json, QuayApiState};

/// Who calls. Only `Authorization: Bearer <OAuth token>` authenticates on `/api/v1`
/// (Quay's `process_oauth`); Basic credentials are ignored, as in Quay.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            identity: Identity::Anonymous,
        }
    }

    /// The signed-in user: `(id, username)`.
    pub fn user(&self) -> Option<(i64, &str)> {
        match &self.identity {
            Identity::Anonymous | Identity::Robot { .. } => None,
            other => Some((other.account_id()?, other.username()?)),
        }
    }

    /// Quay's `Unauthorized`: 401 `invalid_token` for anonymous callers, else 403
    /// `insufficient_scope`.
    pub fn unauthorized(&self) -> QuayApiError {
        if self.user().is_none() {
            QuayApiError::requires_auth()
        } else {
            QuayApiError::forbidden()
        }
    }

    /// `require_user`-style guard: the signed-in user or 401.
    pub fn require_user(&self) -> Result<(i64, &str), QuayApiError> {
        self.user().ok_or_else(QuayApiError::requires_auth)
    }

    /// The OAuth token's id when the call was made with one (audit metadata).
    pub fn oauth_token_uuid(&self) -> Option<&str> {
        match &self.identity {
            Identity::OAuthToken { token_uuid, .. } => Some(token_uuid),
            _ => None,
        }
    }
}

/// One request to an `/api/v1` operation.
pub struct Ctx {
    pub state: QuayApiState,
    pub caller: Caller,
    pub params: Params,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The client address (`X-Forwarded-For` first hop, else the peer).
    pub ip: Option<String>,
}

const NOT_JSON: &str = "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.";

impl Ctx {
    /// A path parameter (always present for a matched route).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    /// The `{repository:repo}` parameter split into `(namespace, name)`.
    pub fn repo_param(&self) -> (&str, &str) {
        let full = self.param("repository");
        full.split_once('/').unwrap_or((full, ""))
    }

    pub fn query_str(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// Flask-RESTful's `inputs.boolean`-like reading: `true/1/yes/on` (any case).
    pub fn query_bool(&self, name: &str, default: bool) -> Result<bool, QuayApiError> {
        match self.query_str(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "y" | "t" => Ok(true),
                "false" | "0" | "no" | "off" | "n" | "f" | "" => Ok(false),
                _ => Err(QuayApiError::Message(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid literal for boolean(): {v}"),
                )),
            },
        }
    }

    pub fn query_int(&self, name: &str) -> Result<Option<i64>, QuayApiError> {
        match self.query_str(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                QuayApiError::Message(
                    StatusCode::BAD_REQUEST,
                    format!("invalid literal for int() with base 10: '{v}'"),
                )
            }),
        }
    }

    /// The JSON body as Quay's `validate_json_request` sees it: declared JSON (else
    /// `415`), parsable (else `400 {"message"}`), present (else `400 invalid_request`
    /// "Missing JSON body") and an object.
    pub fn json(&self) -> Result<Body, QuayApiError> {
        match self.json_opt()? {
            Some(b) => Ok(b),
            None => Err(QuayApiError::invalid_request("Missing JSON body")),
        }
    }

    /// Like [`Ctx::json`] for operations whose body is optional: `None` when absent.
    pub fn json_opt(&self) -> Result<Option<Body>, QuayApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !declares_json(&self.headers) {
            return Err(QuayApiError::Message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                NOT_JSON.into(),
            ));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(Some(Body(map))),
            Ok(Value::Null) => Ok(None),
            Ok(other) => Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'object'",
                py_repr(&other)
            ))),
            Err(e) => Err(QuayApiError::bad_request(format!(
                "Failed to decode JSON object: {e}"
            ))),
        }
    }

    pub fn auth(&self) -> &quayside_auth::Auth {
        &self.state.auth
    }

    pub fn identity(&self) -> &Identity {
        &self.caller.identity
    }

    /// A namespace (user or organization, not a robot) by name.
    pub async fn namespace(&self, name: &str) -> Result<Option<AccountRow>, QuayApiError> {
        Ok(self
            .state
            .auth
            .db()
            .account_by_username(name)
            .await?
            .filter(|a| !a.robot))
    }

    /// The caller's organization-wide role in a namespace.
    pub async fn namespace_role(&self, ns: &AccountRow) -> Result<Option<TeamRole>, QuayApiError> {
        Ok(self
            .state
            .auth
            .namespace_role(&self.caller.identity, ns)
            .await?)
    }

    /// Effective repository role (public read included).
    pub async fn repo_role(
        &self,
        namespace: &str,
        repo: &str,
    ) -> Result<Option<Role>, QuayApiError> {
        Ok(self
            .state
            .auth
            .repo_role(&self.caller.identity, namespace, repo)
            .await?)
    }

    /// The caller's role on user account `username` (only its own).
    pub fn user_role(&self, username: &str) -> Option<UserRole> {
        self.state.auth.user_role(&self.caller.identity, username)
    }

    /// `SuperUserPermission`.
    pub fn is_superuser(&self) -> bool {
        self.state.auth.is_superuser(&self.caller.identity)
    }

    /// Quay's superuser API guard: `FEATURE_SUPER_USERS` (else 404), then superuser
    /// (or, when `read_ok`, global read-only superuser), else `Unauthorized`.
    pub fn require_superuser(&self, read_ok: bool) -> Result<(), QuayApiError> {
        if !self.state.settings.config.feature("SUPER_USERS") {
            return Err(QuayApiError::not_found());
        }
        let auth = &self.state.auth;
        if auth.is_superuser(&self.caller.identity)
            || (read_ok && auth.is_global_readonly_superuser(&self.caller.identity))
        {
            Ok(())
        } else {
            Err(self.caller.unauthorized())
        }
    }

    /// Writes an audit-log row (`logentry3`) for an action in namespace `namespace_id`.
    /// OAuth-token calls add `oauth_token_id`/`oauth_token_application*` like Quay's
    /// `log_action`. Failing to log fails the request (Quay raises too).
    pub async fn log(
        &self,
        kind: &str,
        namespace_id: i64,
        repository_id: Option<i64>,
        metadata: Value,
    ) -> Result<(), QuayApiError> {
        crate::audit::log_action(
            &self.state,
            &self.caller,
            self.ip.as_deref(),
            kind,
            namespace_id,
            repository_id,
            metadata,
        )
        .await
    }
}

/// A JSON object body with jsonschema-style accessors whose failures read like the
/// messages Quay's `jsonschema` validation produces (`400 invalid_request`).
#[derive(Debug, Clone)]
pub struct Body(pub Map<String, Value>);

impl Body {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A required string: "'<key>' is a required property" / "<v> is not of type 'string'".
    pub fn req_str(&self, key: &str) -> Result<&str, QuayApiError> {
        match self.0.get(key) {
            None => Err(QuayApiError::invalid_request(format!(
                "'{key}' is a required property"
            ))),
            Some(v) => v.as_str().ok_or_else(|| not_of_type(v, "string")),
        }
    }

    /// An optional string (`null` counts as absent).
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, QuayApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| not_of_type(v, "string")),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, QuayApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| not_of_type(v, "boolean")),
        }
    }

    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, QuayApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| not_of_type(v, "integer")),
        }
    }

    pub fn opt_object(&self, key: &str) -> Result<Option<&Map<String, Value>>, QuayApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_object()
                .map(Some)
                .ok_or_else(|| not_of_type(v, "object")),
        }
    }

    /// A required string that must be one of `allowed`.
    pub fn req_enum(&self, key: &str, allowed: &[&str]) -> Result<&str, QuayApiError> {
        let v = self.req_str(key)?;
        one_of(v, allowed)?;
        Ok(v)
    }
}

/// "'x' is not one of ['a', 'b']".
pub fn one_of(v: &str, allowed: &[&str]) -> Result<(), QuayApiError> {
    if allowed.contains(&v) {
        return Ok(());
    }
    let list: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    Err(QuayApiError::invalid_request(format!(
        "'{v}' is not one of [{}]",
        list.join(", ")
    )))
}

fn not_of_type(v: &Value, ty: &str) -> QuayApiError {
    QuayApiError::invalid_request(format!("{} is not of type '{ty}'", py_repr(v)))
}

/// Python's `repr` of a JSON value, as jsonschema messages print it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{s}'"),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `200` with a JSON body.
pub fn ok(value: Value) -> Response {
    json::response(StatusCode::OK, &value)
}

/// A JSON body with `status`.
pub fn with_status(status: StatusCode, value: Value) -> Response {
    json::response(status, &value)
}

/// `201 "Created"` (Quay's reply to many creates).
pub fn created() -> Response {
    json::response(StatusCode::CREATED, &Value::from("Created"))
}

/// `204` with an empty body.
pub fn no_content() -> Response {
    use axum::response::IntoResponse;
    StatusCode::NO_CONTENT.into_response()
}

/// Whether a request declares a JSON body as Flask's `request.is_json` reads it:
/// `application/json` or `application/*+json`, parameters ignored.
pub(crate) fn declares_json(headers: &axum::http::HeaderMap) -> bool {
    let mimetype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    mimetype == "application/json"
        || (mimetype.starts_with("application/") && mimetype.ends_with("+json"))
}
