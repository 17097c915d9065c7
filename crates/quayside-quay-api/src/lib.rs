//! quayside-quay-api: Quay's REST API surface (`/api/v1`), answering as Quay answers.
//!
//! Served so far:
//! * `POST /api/v1/user/initialize` (Quay `endpoints/web.py:user_initialize`): creates
//!   the first user of an empty database; mounted only with `FEATURE_USER_INITIALIZE`.
//!
//! Every failure is one [`QuayApiError`], rendered once in Quay's JSON shape. Bodies are
//! written the way Quay's Flask writes them (sorted keys, compact, ASCII-escaped, trailing
//! newline).

mod error;
mod json;
mod user_initialize;

use std::sync::Arc;

use quayside_auth::Auth;

pub use error::QuayApiError;
pub use user_initialize::{AUTOMATION_APP_NAME, AUTOMATION_SCOPE, AUTOMATION_TOKEN_LIFETIME_S};

/// What the `/api/v1` surface needs from the configuration (Quay key names in the docs).
#[derive(Debug, Clone)]
pub struct QuayApiSettings {
    /// `AUTHENTICATION_TYPE` (`Database`, `LDAP`, `JWT`, `Keystone`, `OIDC`, `AppToken`).
    pub authentication_type: String,
    /// `FEATURE_USER_INITIALIZE` (false): mounts `POST /api/v1/user/initialize`.
    pub user_initialize: bool,
    /// `FEATURE_MAILING` (true): a valid e-mail is required for new users.
    pub mailing: bool,
}

impl Default for QuayApiSettings {
    /// Quay's defaults.
    fn default() -> Self {
        QuayApiSettings {
            authentication_type: "Database".into(),
            user_initialize: false,
            mailing: true,
        }
    }
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
    /// Serialises first-user initialisation within this process.
    init_lock: Arc<tokio::sync::Mutex<()>>,
}

impl QuayApiState {
    pub fn new(auth: Auth, settings: QuayApiSettings) -> QuayApiState {
        QuayApiState {
            auth,
            settings: Arc::new(settings),
            init_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl std::fmt::Debug for QuayApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuayApiState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Routes of the `/api/v1` surface. Feature-gated routes are absent when their feature
/// is off, so they answer `404` as in Quay (`route_show_if`).
pub fn router(state: QuayApiState) -> axum::Router {
    let mut router = axum::Router::new();
    if state.settings.user_initialize {
        router = router.route(
            "/api/v1/user/initialize",
            axum::routing::post(user_initialize::handle),
        );
    }
    router.with_state(state)
}
