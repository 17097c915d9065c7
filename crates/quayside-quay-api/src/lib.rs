//! quayside-quay-api: Quay's REST API surface (`/api/v1`), answering as Quay answers.
//!
//! Every operation is declared once in a route table ([`routes`]): path, method, Quay's
//! nickname (the OpenAPI `operationId`), OAuth scope and allowances. One dispatcher
//! matches the request, resolves the caller (an OAuth access token as
//! `Authorization: Bearer`, as in Quay; Basic credentials are ignored on the API), applies
//! the cross-cutting rules (read-only mode, anonymous access) and calls the handler with a
//! [`ctx::Ctx`]. `/api/v1/discovery` is generated from the same table.
//!
//! Handlers live in [`endpoints`], one module per area of Quay's API. Every failure is one
//! [`QuayApiError`], rendered once in the shape Quay uses for it. Bodies are written the
//! way Quay's Flask writes them (sorted keys, compact, ASCII-escaped, trailing newline).

mod audit;
pub(crate) mod ctx;
mod discovery;
mod endpoints;
mod error;
mod json;
mod routes;
pub(crate) mod views;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use quayside_auth::{Auth, AuthError, Identity};
use quayside_config::{Config, LiveSettings};
use quayside_meta::logs::LogKinds;
use serde_json::json;

use crate::ctx::{Caller, Ctx};
use crate::routes::{Match, Table};

pub use endpoints::user_initialize::{
    AUTOMATION_APP_NAME, AUTOMATION_SCOPE, AUTOMATION_TOKEN_LIFETIME_S,
};
pub use error::{ErrorType, QuayApiError, READ_ONLY_MESSAGE};

/// What the `/api/v1` surface needs from the configuration (Quay key names in the docs).
#[derive(Debug, Clone)]
pub struct QuayApiSettings {
    /// `AUTHENTICATION_TYPE` (`Database`, `LDAP`, `JWT`, `Keystone`, `OIDC`, `AppToken`).
    pub authentication_type: String,
    /// `FEATURE_USER_INITIALIZE` (false): mounts `POST /api/v1/user/initialize`.
    pub user_initialize: bool,
    /// `FEATURE_MAILING` (true): a valid e-mail is required for new users.
    pub mailing: bool,
    /// The whole configuration, for the keys and `FEATURE_*` flags endpoints consult.
    pub config: Arc<Config>,
    /// `REGISTRY_STATE`, switchable at run time (SIGHUP).
    pub live: Arc<LiveSettings>,
}

impl Default for QuayApiSettings {
    /// Quay's defaults.
    fn default() -> Self {
        let config = Config::default();
        QuayApiSettings {
            authentication_type: "Database".into(),
            user_initialize: false,
            mailing: true,
            live: Arc::new(LiveSettings::from_config(&config)),
            config: Arc::new(config),
        }
    }
}

impl QuayApiSettings {
    /// `<PREFERRED_URL_SCHEME>://<SERVER_HOSTNAME>`.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            self.config.preferred_url_scheme, self.config.server_hostname
        )
    }

    /// `AUTHENTICATION_TYPE` is `Database`.
    pub fn database_auth(&self) -> bool {
        self.authentication_type == "Database"
    }
}

/// What [`BlobReader::read_blob`] returns (the shape of `futures::future::BoxFuture`).
pub type BlobFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Vec<u8>>, String>> + Send + 'a>>;

/// Read-only access to the content of small blobs, for views that need more than the
/// metadata database holds (a manifest's config blob). The application implements it over
/// the registry model; the API never writes blobs.
pub trait BlobReader {
    /// The whole content of blob `digest` if it is visible in repository `repository_id`
    /// and at most `max_bytes` long; `Ok(None)` when it is not visible or larger. `Err`
    /// carries a description of a storage or database failure.
    fn read_blob<'a>(
        &'a self,
        repository_id: i64,
        digest: &'a str,
        max_bytes: u64,
    ) -> BlobFuture<'a>;
}

/// Shared, cheaply cloned state of the `/api/v1` handlers.
///
/// `SECRET_KEY` (the key of `encrypted_password`) is held by [`Auth`]
/// (`AuthSettings::secret_key`), so encrypting here and accepting the result at Basic
/// logins cannot use different keys.
#[derive(Clone)]
pub struct QuayApiState {
    pub auth: Auth,
    pub settings: Arc<QuayApiSettings>,
    table: Arc<Table>,
    log_kinds: LogKinds,
    /// Serialises first-user initialisation within this process.
    init_lock: Arc<tokio::sync::Mutex<()>>,
    /// Blob content for views that need it (absent: those views show what the database
    /// alone gives).
    pub(crate) blob_reader: Option<Arc<dyn BlobReader + Send + Sync>>,
}

impl QuayApiState {
    pub fn new(auth: Auth, settings: QuayApiSettings) -> QuayApiState {
        let extended = settings.config.feature("EXTENDED_REPOSITORY_NAMES");
        let table = Table::new(endpoints::operations(&settings), extended);
        QuayApiState {
            auth,
            settings: Arc::new(settings),
            table: Arc::new(table),
            log_kinds: LogKinds::default(),
            init_lock: Arc::new(tokio::sync::Mutex::new(())),
            blob_reader: None,
        }
    }

    /// This state with `reader` giving views blob content (a manifest's config blob).
    pub fn with_blob_reader(mut self, reader: Arc<dyn BlobReader + Send + Sync>) -> Self {
        self.blob_reader = Some(reader);
        self
    }
}

impl QuayApiState {
    /// Whether an operation is routed for `method` and `path` (used to check that
    /// everything `/api/v1/discovery` documents is served).
    pub fn is_routed(&self, method: &Method, path: &str) -> bool {
        matches!(self.table.find(method, path), Match::Found(..))
    }
}

impl std::fmt::Debug for QuayApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuayApiState")
            .field("settings", &self.settings)
            .field("blob_reader", &self.blob_reader.is_some())
            .finish_non_exhaustive()
    }
}

/// Routes of the `/api/v1` surface.
pub fn router(state: QuayApiState) -> axum::Router {
    axum::Router::new()
        .route("/api/v1", axum::routing::any(dispatch))
        .route("/api/v1/", axum::routing::any(dispatch))
        .route("/api/v1/{*rest}", axum::routing::any(dispatch))
        .with_state(state)
}

const NOT_FOUND_MESSAGE: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
const METHOD_NOT_ALLOWED_MESSAGE: &str = "The method is not allowed for the requested URL.";

/// Largest accepted request body (Quay caps robot metadata bodies at 1 MiB; manifests
/// and labels are smaller still).
const MAX_BODY: usize = 8 << 20;

async fn dispatch(State(state): State<QuayApiState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return QuayApiError::Message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The data value transmitted exceeds the capacity limit.".into(),
            )
            .into_response()
        }
    };
    let base_url = state.settings.base_url();
    let resp = match state.table.find(&method, uri.path()) {
        Match::NotFound => {
            QuayApiError::Message(StatusCode::NOT_FOUND, NOT_FOUND_MESSAGE.into()).into_response()
        }
        Match::MethodNotAllowed => QuayApiError::Message(
            StatusCode::METHOD_NOT_ALLOWED,
            METHOD_NOT_ALLOWED_MESSAGE.into(),
        )
        .into_response(),
        Match::RedirectSlash => {
            let mut location = format!("{}/", uri.path());
            if let Some(q) = uri.query() {
                location.push('?');
                location.push_str(q);
            }
            (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response()
        }
        Match::Found(op, params) => {
            let op = op.clone();
            let ip = client_ip(&headers, peer);
            match prepare(&state, &op, &method, &headers).await {
                Err(e) => e.into_response(),
                Ok(caller) => {
                    let query = parse_query(uri.query());
                    let ctx = Ctx {
                        state: state.clone(),
                        caller,
                        params,
                        query,
                        headers,
                        body,
                        ip,
                    };
                    match (op.handler)(ctx).await {
                        Ok(r) => r,
                        Err(e) => e.into_response(),
                    }
                }
            }
        }
    };
    error::absolutize(resp, &base_url)
}

/// Caller resolution and the rules every operation shares.
async fn prepare(
    state: &QuayApiState,
    op: &routes::Operation,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Caller, QuayApiError> {
    let caller = resolve_caller(state, headers).await?;
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if write && state.settings.live.read_only() {
        return Err(QuayApiError::ReadOnly);
    }
    if caller.identity.is_anonymous()
        && !op.anon_allowed
        && !state.settings.config.feature("ANONYMOUS_ACCESS")
    {
        return Err(QuayApiError::Error(
            StatusCode::UNAUTHORIZED,
            "Anonymous access is not allowed".into(),
        ));
    }
    Ok(caller)
}

/// Quay's `process_oauth`: a Bearer OAuth access token authenticates; an invalid one
/// leaves the caller anonymous (the operation's own checks then answer 401); a Bearer
/// JWT is an SSO token, and no OIDC issuer is configured here.
async fn resolve_caller(state: &QuayApiState, headers: &HeaderMap) -> Result<Caller, QuayApiError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(Caller::anonymous());
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Ok(Caller::anonymous());
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Caller::anonymous());
    }
    let token = token.trim();
    if token.split('.').count() == 3 {
        let issuer = jwt_issuer(token).unwrap_or_default();
        return Err(QuayApiError::Error(
            StatusCode::UNAUTHORIZED,
            format!("Issuer {issuer} not configured"),
        ));
    }
    match state.auth.verify_api_bearer(token).await {
        Ok(identity @ Identity::OAuthToken { .. }) => Ok(Caller { identity }),
        Ok(_) => Ok(Caller::anonymous()),
        Err(AuthError::Meta(e)) => Err(e.into()),
        Err(e) => {
            tracing::debug!(error = %e, "API bearer token refused");
            Ok(Caller::anonymous())
        }
    }
}

/// The unverified `iss` of a JWT (only to name it in the refusal).
fn jwt_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| peer.map(|p| p.ip().to_string()))
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        out.entry(decode(k)).or_insert_with(|| decode(v));
    }
    out
}

/// `GET /api/v1/error/<error_type>` body (also used by discovery).
pub(crate) fn error_type_view(kind: ErrorType) -> serde_json::Value {
    json!({
        "type": kind.as_str(),
        "title": kind.as_str(),
        "description": kind.description(),
    })
}
