//! The one error type of the `/v2` surface, mapped once onto HTTP.
//!
//! - [`V2Error::Registry`]: the OCI envelope `{"errors":[{code,message,detail}]}`.
//! - [`V2Error::Unauthorized`]: 401 `UNAUTHORIZED` plus Quay's bearer challenge
//!   (with the repository scope when one applies).
//! - [`V2Error::Plain`]: the places Quay `abort()`s with `{"error": "..."}` outside the
//!   envelope (a bearer token that is malformed or fails verification, Basic credentials on a
//!   registry route, anonymous access disabled, missing namespace), with the CORS headers of
//!   `util/http.py` and, for bearer failures, the route's challenge.
//! - [`V2Error::RangeMismatch`]: 416 with the upload's headers and no body.
//! - [`V2Error::NotFound`]: a path that is no `/v2` route (plain 404).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quayside_auth::AuthError;
use quayside_domain::DomainError;
use quayside_oci::{ErrorCode, RegistryError};
use serde_json::json;

/// Every way a `/v2` request can fail.
#[derive(Debug)]
pub enum V2Error {
    Registry(RegistryError),
    Unauthorized {
        challenge: String,
        message: Option<String>,
    },
    Plain {
        status: StatusCode,
        message: String,
        /// Whether Quay's `get_auth_headers` come too: the route's bearer challenge
        /// ([`Route::challenge`]) and `Docker-Distribution-API-Version`. True for the
        /// failures of `process_registry_jwt_auth`; `anon_protect` and the other aborts send
        /// only the CORS headers.
        challenge: bool,
    },
    RangeMismatch {
        location: String,
        uuid: String,
        offset: u64,
    },
    NotFound,
    /// Login throttling: 429 with `Retry-After` and Quay's text body.
    Throttled {
        retry_after_s: u64,
    },
    Internal(String),
}

impl V2Error {
    pub fn code(code: ErrorCode) -> V2Error {
        V2Error::Registry(RegistryError::new(code))
    }

    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> V2Error {
        V2Error::Registry(RegistryError::new(code).with_message(message))
    }
}

impl V2Error {
    /// `503 UNAVAILABLE`: the database cannot serve now ([`quayside_meta::MetaError::is_unavailable`]);
    /// the client may retry. The cause is logged, never sent.
    fn database_unavailable(e: &quayside_meta::MetaError) -> V2Error {
        tracing::warn!(error = %e, "database unavailable");
        V2Error::Registry(
            RegistryError::new(ErrorCode::Unavailable)
                .with_detail_message("the database is unavailable; try again shortly"),
        )
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            V2Error::Registry(e) => e.status,
            V2Error::Unauthorized { .. } => 401,
            V2Error::Plain { status, .. } => status.as_u16(),
            V2Error::RangeMismatch { .. } => 416,
            V2Error::NotFound => 404,
            V2Error::Throttled { .. } => 429,
            V2Error::Internal(_) => 500,
        }
    }
}

impl From<RegistryError> for V2Error {
    fn from(e: RegistryError) -> Self {
        V2Error::Registry(e)
    }
}

impl From<DomainError> for V2Error {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
        match e {
            D::BlobUnknown => V2Error::code(ErrorCode::BlobUnknown),
            D::UploadUnknown => V2Error::code(ErrorCode::BlobUploadUnknown),
            D::DigestMismatch { expected, actual } => V2Error::Registry(
                RegistryError::new(ErrorCode::BlobUploadInvalid)
                    .with_detail(json!({"reason": "digest mismatch", "expected": expected.to_string(), "actual": actual.to_string()})),
            ),
            D::QuotaExceeded => V2Error::Registry(RegistryError::quota_exceeded()),
            D::SizeTooLarge { limit } => V2Error::Registry(
                RegistryError::new(ErrorCode::SizeInvalid)
                    .with_message(format!("blob exceeds the maximum layer size of {limit} bytes"))
                    .with_status(413),
            ),
            D::ManifestBlobUnknown(d) => V2Error::Registry(
                RegistryError::new(ErrorCode::ManifestBlobUnknown)
                    .with_message(format!("manifest blob unknown: {d}"))
                    .with_detail(json!({"digest": d.to_string()})),
            ),
            D::ManifestInvalid(msg) => V2Error::Registry(
                RegistryError::new(ErrorCode::ManifestInvalid).with_detail_message(msg),
            ),
            D::ManifestUnknown => V2Error::code(ErrorCode::ManifestUnknown),
            D::Body(reason) => V2Error::Registry(
                RegistryError::new(ErrorCode::BlobUploadInvalid).with_detail(json!({ "reason": reason })),
            ),
            D::Meta(e) if e.is_unavailable() => V2Error::database_unavailable(&e),
            D::Storage(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "storage unavailable");
                V2Error::Registry(
                    RegistryError::new(ErrorCode::Unavailable)
                        .with_detail_message("the storage is unavailable; try again shortly"),
                )
            }
            D::Unsupported(_) => V2Error::NotFound,
            e @ D::ManifestReferenced(_) => V2Error::Registry(
                RegistryError::new(ErrorCode::Unsupported).with_detail_message(e.to_string()),
            ),
            D::Meta(quayside_meta::MetaError::TagImmutable { tag }) => V2Error::Registry(
                RegistryError::new(ErrorCode::TagImmutable)
                    .with_detail_message(format!("tag '{tag}' is immutable")),
            ),
            D::NameInvalid(m) => {
                V2Error::Registry(RegistryError::new(ErrorCode::NameInvalid).with_message(m))
            }
            D::TagExpired(tag) => V2Error::Registry(RegistryError::new(ErrorCode::TagExpired).with_message(format!(
                "Tag {tag} was deleted or has expired. To pull, revive via time machine"
            ))),
            other => {
                tracing::error!(error = %other, "registry operation failed");
                V2Error::Internal(other.to_string())
            }
        }
    }
}

impl From<AuthError> for V2Error {
    fn from(e: AuthError) -> Self {
        if let AuthError::Meta(m) = &e {
            if m.is_unavailable() {
                return V2Error::database_unavailable(m);
            }
        }
        tracing::error!(error = %e, "authorization failed unexpectedly");
        V2Error::Internal(e.to_string())
    }
}

fn registry_response(err: &RegistryError, extra: Option<(&str, String)>) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some((name, value)) = extra {
        if let (Ok(n), Ok(v)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
    (status, headers, err.to_json_string()).into_response()
}

/// What Quay's `abort()` answers take from the route the request went to.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// `Access-Control-Allow-Methods`: the route's methods and `OPTIONS` (Flask adds `HEAD`
    /// to `GET` routes and `OPTIONS` to all); `None` when the path is no route.
    pub methods: Option<String>,
    /// The route's bearer challenge: Quay's `get_auth_headers(repository, scopes)` with the
    /// repository and scopes of its `process_registry_jwt_auth` (none on `/v2/` and `_catalog`).
    pub challenge: String,
}

/// `util/http.py:_abort`: every abort carries permissive CORS headers.
fn cors(h: &mut HeaderMap, route: &Route) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Some(v) = route
        .methods
        .as_deref()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("21600"),
    );
    // A list value in Quay's header dict: one header line per entry.
    h.append(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization"),
    );
    h.append(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
}

impl V2Error {
    /// The one mapping onto HTTP, for a request that went to `route`.
    pub fn render(self, route: &Route) -> Response {
        match self {
            V2Error::Registry(e) => registry_response(&e, None),
            V2Error::Unauthorized { challenge, message } => {
                let mut e = RegistryError::new(ErrorCode::Unauthorized);
                if let Some(m) = message {
                    e = e.with_message(m);
                }
                let mut resp = registry_response(&e, Some(("www-authenticate", challenge)));
                resp.headers_mut().insert(
                    "docker-distribution-api-version",
                    HeaderValue::from_static("registry/2.0"),
                );
                resp
            }
            V2Error::Plain {
                status,
                message,
                challenge,
            } => {
                let mut resp = (status, axum::Json(json!({ "error": message }))).into_response();
                let h = resp.headers_mut();
                cors(h, route);
                if challenge {
                    if let Ok(c) = HeaderValue::from_str(&route.challenge) {
                        h.insert(header::WWW_AUTHENTICATE, c);
                    }
                    h.insert(
                        "docker-distribution-api-version",
                        HeaderValue::from_static("registry/2.0"),
                    );
                }
                resp
            }
            V2Error::RangeMismatch {
                location,
                uuid,
                offset,
            } => {
                let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                let h = resp.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    h.insert(header::LOCATION, v);
                }
                if let Ok(v) = HeaderValue::from_str(&crate::upload_range(offset)) {
                    h.insert(header::RANGE, v);
                }
                if let Ok(v) = HeaderValue::from_str(&uuid) {
                    h.insert("docker-upload-uuid", v);
                }
                h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                resp
            }
            V2Error::NotFound => (StatusCode::NOT_FOUND, "404 page not found\n").into_response(),
            V2Error::Throttled { retry_after_s } => {
                let mut resp = (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many login attempts. \nPlease reset your Quay password and try again.",
                )
                    .into_response();
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
                resp
            }
            V2Error::Internal(_) => {
                let e = RegistryError::new(ErrorCode::Unknown)
                    .with_message("internal server error")
                    .with_status(500);
                registry_response(&e, None)
            }
        }
    }
}
