//! The `/v2` surface: OCI Distribution v1.1 as Quay serves it.
//!
//! A request goes: [`dispatch`] parses method + path into a typed
//! [`quayside_oci::Endpoint`] → the read-only / push-disabled gates →
//! [`access::authorize`] checks the caller's grant for the repository → one
//! handler per endpoint kind calls the registry model (`quayside-domain`).
//! Every failure is a [`V2Error`], mapped to HTTP in one place.
//!
//! Deliberate differences from Quay are listed in `docs/REGISTRY.md`.

pub mod access;
mod audit;
mod blobs;
mod error;
mod manifests;
mod tags;
mod token;
mod uploads;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use quayside_auth::Auth;
use quayside_config::LiveSettings;
use quayside_domain::Registry;
use quayside_oci::name::NameError;
use quayside_oci::{ArtifactPolicy, Endpoint, NameRules, ParseError};

pub use audit::AuditLog;
pub use error::{Route, V2Error};

/// What the `/v2` surface needs from the configuration.
#[derive(Clone, Debug)]
pub struct V2Settings {
    /// `SERVER_HOSTNAME`.
    pub server_hostname: String,
    /// `PREFERRED_URL_SCHEME`.
    pub scheme: String,
    /// `REGISTRY_STATE` and `DISABLE_PUSHES`, switchable by a config reload.
    pub live: Arc<LiveSettings>,
    /// `FEATURE_ANONYMOUS_ACCESS`.
    pub anonymous_access: bool,
    /// `FEATURE_REFERRERS_API`.
    pub referrers_api: bool,
    /// `FEATURE_ADVERTISE_V2`.
    pub advertise_v2: bool,
    /// `FEATURE_SPARSE_INDEX` (reported in `X-Sparse-Manifest-Support`).
    pub sparse_index: bool,
    /// `SPARSE_INDEX_REQUIRED_ARCHS` (reported in `X-Required-Architectures` with
    /// `sparse_index`).
    pub sparse_required_archs: Vec<String>,
    /// `FEATURE_PUBLIC_CATALOG`.
    pub public_catalog: bool,
    /// Repository name rules (`FEATURE_EXTENDED_REPOSITORY_NAMES`, library namespace).
    pub name_rules: NameRules,
    /// `FEATURE_GENERAL_OCI_SUPPORT`: without it OCI manifests and indexes are refused
    /// (`415 MANIFEST_INVALID`) outside `OCI_NAMESPACE_WHITELIST`.
    pub general_oci_support: bool,
    /// `OCI_NAMESPACE_WHITELIST`.
    pub oci_namespace_whitelist: Vec<String>,
    /// Config/layer media types accepted in OCI image manifests (`ALLOWED_OCI_ARTIFACT_TYPES`,
    /// `FEATURE_GENERAL_OCI_SUPPORT`, `FEATURE_HELM_OCI_SUPPORT`, `IGNORE_UNKNOWN_MEDIATYPES`).
    pub artifact_policy: ArtifactPolicy,
}

impl V2Settings {
    /// `<scheme>://<SERVER_HOSTNAME>` for absolute `Location` headers.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.server_hostname)
    }
}

/// Shared state of the `/v2` handlers.
#[derive(Clone)]
pub struct V2State {
    pub settings: Arc<V2Settings>,
    pub registry: Registry,
    pub auth: Auth,
    pub metrics: quayside_metrics::Metrics,
    /// `pull_repo` / `push_repo` / `delete_tag` audit rows (written in the background).
    pub audit: AuditLog,
    /// Registry tokens verified recently by this instance.
    pub verified_tokens: Arc<access::VerifiedTokens>,
}

/// Routes `/v2` and everything below it.
pub fn router(state: V2State) -> axum::Router {
    axum::Router::new()
        .route("/v2", axum::routing::any(dispatch))
        .route("/v2/", axum::routing::any(dispatch))
        .route("/v2/{*rest}", axum::routing::any(dispatch))
        .with_state(state)
}

/// The one entry point: parse, gate, authorize, handle.
pub async fn dispatch(State(state): State<V2State>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    match handle(&state, req, &method, &path).await {
        Ok(resp) => resp,
        Err(e) => e.render(&route(&state, &method, &path)),
    }
}

/// What an error answer on `path` takes from its route (worked out only for errors).
fn route(state: &V2State, method: &Method, path: &str) -> Route {
    let rules = &state.settings.name_rules;
    // No route accepts this method, so any route of this shape names its methods.
    let methods = match Endpoint::parse_with("--", path, rules) {
        Err(ParseError::MethodNotAllowed { allowed }) => {
            let mut all: Vec<&str> = allowed.iter().copied().chain(["OPTIONS"]).collect();
            all.sort_unstable();
            Some(all.join(", "))
        }
        _ => None,
    };
    let endpoint = Endpoint::parse_with(method.as_str(), path, rules).ok();
    let scope = endpoint.as_ref().and_then(|e| {
        let actions = jwt_scopes(e)?;
        Some((e.name()?.full(), actions))
    });
    let challenge = state.auth.challenge(
        scope
            .as_ref()
            .map(|(repo, actions)| (repo.as_str(), *actions)),
    );
    Route { methods, challenge }
}

/// The `scopes` of the route's `process_registry_jwt_auth` in Quay (they name the challenge
/// of a rejected bearer token); `None` on `/v2/`, `/v2/auth` and `_catalog`.
fn jwt_scopes(endpoint: &Endpoint) -> Option<&'static str> {
    match endpoint {
        Endpoint::Base | Endpoint::Auth | Endpoint::Catalog => None,
        // The upload status GET is `scopes=["pull"]` though it needs write permission.
        Endpoint::TagsList { .. }
        | Endpoint::GetManifest { .. }
        | Endpoint::GetImpossibleManifest { .. }
        | Endpoint::GetBlob { .. }
        | Endpoint::GetUpload { .. }
        | Endpoint::Referrers { .. } => Some("pull"),
        Endpoint::PutManifest { .. }
        | Endpoint::DeleteManifest { .. }
        | Endpoint::DeleteBlob { .. }
        | Endpoint::StartUpload { .. }
        | Endpoint::PatchUpload { .. }
        | Endpoint::PutUpload { .. }
        | Endpoint::DeleteUpload { .. } => Some("pull,push"),
    }
}

async fn handle(
    state: &V2State,
    req: Request,
    method: &Method,
    path: &str,
) -> Result<Response, V2Error> {
    let (req, body) = req.into_parts();
    let endpoint = match Endpoint::parse_with(method.as_str(), path, &state.settings.name_rules) {
        Ok(e) => e,
        Err(ParseError::NotV2 | ParseError::NotFound) => return Err(V2Error::NotFound),
        Err(ParseError::Name(NameError::NamespaceRequired)) => {
            return Err(V2Error::Plain {
                status: StatusCode::BAD_REQUEST,
                message: "A namespace must be specified explicitly".into(),
                challenge: false,
            })
        }
        Err(e) => {
            return Err(match e.registry_error() {
                Some(r) => V2Error::Registry(r),
                None => V2Error::NotFound,
            })
        }
    };
    if !state.settings.advertise_v2 {
        return Err(V2Error::NotFound);
    }
    if state.settings.live.read_only() && endpoint.blocked_when_read_only() {
        return Err(V2Error::Registry(quayside_oci::RegistryError::read_only()));
    }
    if state.settings.live.disable_pushes() && endpoint.blocked_when_pushes_disabled() {
        return Err(V2Error::Registry(
            quayside_oci::RegistryError::pushes_disabled(),
        ));
    }
    let metric = match &endpoint {
        Endpoint::GetManifest { reference, .. } => Some(Metric::Pull(match reference {
            quayside_oci::Reference::Tag(_) => quayside_metrics::PullRef::Tag,
            quayside_oci::Reference::Digest(_) => quayside_metrics::PullRef::Manifest,
        })),
        Endpoint::GetImpossibleManifest { .. } => {
            Some(Metric::Pull(quayside_metrics::PullRef::Tag))
        }
        Endpoint::PutManifest { .. } => Some(Metric::Push),
        _ => None,
    };
    let result = match endpoint {
        Endpoint::Base => base(state, &req).await,
        Endpoint::Auth => token::issue(state, &req).await,
        Endpoint::Catalog => tags::catalog(state, &req).await,
        Endpoint::TagsList { name } => tags::list(state, &req, name).await,
        Endpoint::Referrers { name, digest } => tags::referrers(state, &req, name, digest).await,
        Endpoint::GetManifest {
            name,
            reference,
            head,
        } => manifests::get(state, &req, name, reference, head).await,
        Endpoint::GetImpossibleManifest { name, .. } => {
            // Nothing can be stored under such a reference; who may pull still decides
            // between 404 and 401/403, so an invalid name never tells more than a valid one.
            access::authorize(state, &req, &name, access::Need::Pull).await?;
            Err(V2Error::code(quayside_oci::ErrorCode::ManifestUnknown))
        }
        Endpoint::PutManifest { name, reference } => {
            manifests::put(state, &req, body, name, reference).await
        }
        Endpoint::DeleteManifest { name, reference } => {
            manifests::delete(state, &req, name, reference).await
        }
        Endpoint::GetBlob { name, digest, head } => {
            blobs::get(state, &req, name, digest, head).await
        }
        Endpoint::DeleteBlob { name, .. } => {
            // Quay never deletes blobs through the API (GC does), after auth.
            access::authorize(state, &req, &name, access::Need::Push).await?;
            Err(V2Error::code(quayside_oci::ErrorCode::Unsupported))
        }
        Endpoint::StartUpload { name } => uploads::start(state, &req, body, name).await,
        Endpoint::GetUpload { name, upload_id } => {
            uploads::status(state, &req, name, upload_id).await
        }
        Endpoint::PatchUpload { name, upload_id } => {
            uploads::patch(state, &req, body, name, upload_id).await
        }
        Endpoint::PutUpload { name, upload_id } => {
            uploads::put(state, &req, body, name, upload_id).await
        }
        Endpoint::DeleteUpload { name, upload_id } => {
            uploads::cancel(state, &req, name, upload_id).await
        }
    };
    match (metric, &result) {
        (Some(Metric::Pull(r)), Ok(resp)) => state.metrics.registry_pull(r, resp.status().as_u16()),
        (Some(Metric::Pull(r)), Err(e)) => state.metrics.registry_pull(r, e.status()),
        // Successful pushes are counted with their media type by the handler.
        (Some(Metric::Push), Err(e)) => state.metrics.registry_push(e.status(), ""),
        _ => {}
    }
    result
}

/// What a request counts towards in Quay's registry metrics.
enum Metric {
    Pull(quayside_metrics::PullRef),
    Push,
}

/// `GET /v2/`: 200 with a token, else 401 with the challenge; both bodies `true`.
async fn base(state: &V2State, req: &Parts) -> Result<Response, V2Error> {
    let caller = access::caller(state, req).await?;
    let status = if caller.is_authenticated() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    let body = if req.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from("true")
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    h.insert(
        "x-sparse-manifest-support",
        HeaderValue::from_static(if state.settings.sparse_index {
            "true"
        } else {
            "false"
        }),
    );
    if state.settings.sparse_index && !state.settings.sparse_required_archs.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&state.settings.sparse_required_archs.join(",")) {
            h.insert("x-required-architectures", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&state.auth.challenge(None)) {
        h.insert("www-authenticate", v);
    }
    Ok(resp)
}

/// Quay's upload `Range` value for `offset` bytes received: `0-<last byte>`.
pub(crate) fn upload_range(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}
