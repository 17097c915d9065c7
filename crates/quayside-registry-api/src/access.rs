//! Who is calling and what they may do to a repository.
//!
//! `/v2` requests carry a registry JWT (`Authorization: Bearer`) minted by
//! `/v2/auth`, or nothing (anonymous). Basic credentials are refused here, as
//! Quay refuses them: clients must fetch a token first.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use quayside_auth::{Action, AuthError, Grant};
use quayside_domain::RepoRef;
use quayside_oci::{ErrorCode, RepoName};

use crate::{V2Error, V2State};

/// The caller of one request.
#[derive(Debug)]
pub enum Caller {
    Anonymous,
    Token(Grant),
}

impl Caller {
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Caller::Token(_))
    }

    /// The verified registry token, if any.
    pub fn grant(&self) -> Option<&quayside_auth::Grant> {
        match self {
            Caller::Token(g) => Some(g),
            Caller::Anonymous => None,
        }
    }
}

/// What an endpoint needs on its repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Pull,
    Push,
}

impl Need {
    fn scope_actions(self) -> &'static str {
        match self {
            Need::Pull => "pull",
            Need::Push => "pull,push",
        }
    }
    fn action(self) -> Action {
        match self {
            Need::Pull => Action::Pull,
            Need::Push => Action::Push,
        }
    }
}

/// Identifies the caller from the `Authorization` header, as Quay's
/// `process_registry_jwt_auth` does: no header (or a blank one) is anonymous; anything but a
/// well-formed `Bearer <jwt>` is `401 {"error": "Invalid bearer token format"}`, and a token
/// that fails verification is `401 {"error": "<why>"}`, both with the route's challenge and
/// no `errors` envelope.
pub async fn caller(state: &V2State, req: &Parts) -> Result<Caller, V2Error> {
    let Some(value) = req.headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let Ok(value) = value.to_str() else {
        return Err(bearer_rejected("Invalid bearer token format".into()));
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(Caller::Anonymous);
    }
    let Some(token) = value.strip_prefix("Bearer ").filter(|t| is_jwt_shaped(t)) else {
        return Err(bearer_rejected("Invalid bearer token format".into()));
    };
    if let Some(grant) = state.verified_tokens.get(token) {
        tracing::Span::current().record("user", grant.subject.as_str());
        return Ok(Caller::Token(grant));
    }
    match state.auth.verify_registry_token(token).await {
        Ok(grant) => {
            state.verified_tokens.put(token, &grant);
            tracing::Span::current().record("user", grant.subject.as_str());
            Ok(Caller::Token(grant))
        }
        Err(AuthError::Invalid(reason)) => {
            tracing::debug!(error = %reason, "registry token rejected");
            Err(bearer_rejected(reason))
        }
        // The database behind the service keys failing is not the token's fault.
        Err(e) => Err(V2Error::from(e)),
    }
}

/// `abort(401, message=<why>, headers=get_auth_headers(repository, scopes))`.
fn bearer_rejected(reason: String) -> V2Error {
    V2Error::Plain {
        status: StatusCode::UNAUTHORIZED,
        message: reason,
        challenge: true,
    }
}

/// Quay's `@anon_protect`: with `FEATURE_ANONYMOUS_ACCESS` off, the route needs an
/// authenticated context that is not anonymous, else
/// `401 {"error": "Anonymous access is not allowed"}` without a challenge. Every `/v2` route
/// but the ping and blob GET/HEAD (`@anon_allowed`) has it; on repository routes it runs
/// after the permission check, so only an anonymous token that passed that check (one
/// minted while anonymous access was on) meets it there.
pub fn anon_protect(state: &V2State, caller: &Caller) -> Result<(), V2Error> {
    if state.settings.anonymous_access {
        return Ok(());
    }
    let message = match caller {
        Caller::Token(grant) if !anonymous_context(grant) => return Ok(()),
        // `abort` names the authenticated context when there is one.
        Caller::Token(_) => "Anonymous access is not allowed (authorized: anonymous)",
        Caller::Anonymous => "Anonymous access is not allowed",
    };
    Err(V2Error::Plain {
        status: StatusCode::UNAUTHORIZED,
        message: message.into(),
        challenge: false,
    })
}

/// Whether the token's `context` is anonymous for Quay (`SignedAuthContext.is_anonymous`):
/// its `entity_kind` is absent or `anonymous`, as in the tokens `/v2/auth` mints for
/// anonymous callers.
fn anonymous_context(grant: &Grant) -> bool {
    grant
        .context
        .get("entity_kind")
        .and_then(serde_json::Value::as_str)
        .is_none_or(|kind| kind == "anonymous")
}

/// Registry JWTs this `/v2` instance verified recently, so a puller's stream of requests
/// with one token pays the RSA signature check and claim parsing once, not per request.
///
/// An entry lives until the token's `exp` or [`VERIFIED_TTL`] after the check, whichever
/// comes first — the same bound as the service-key cache behind the check. At most
/// [`VERIFIED_MAX`] entries.
#[derive(Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<Box<str>, (Grant, Instant)>>,
}

const VERIFIED_TTL: Duration = Duration::from_secs(60);
const VERIFIED_MAX: usize = 4096;

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").finish_non_exhaustive()
    }
}

impl VerifiedTokens {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, (Grant, Instant)>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, token: &str) -> Option<Grant> {
        let mut map = self.map();
        let (grant, until) = map.get(token)?;
        if *until > Instant::now() {
            return Some(grant.clone());
        }
        map.remove(token);
        None
    }

    fn put(&self, token: &str, grant: &Grant) {
        let now = Instant::now();
        let unix_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(left) = u64::try_from(grant.expires_at)
            .ok()
            .and_then(|exp| exp.checked_sub(unix_now))
        else {
            return;
        };
        let until = now + VERIFIED_TTL.min(Duration::from_secs(left));
        let mut map = self.map();
        if map.len() >= VERIFIED_MAX {
            map.retain(|_, (_, u)| *u > now);
            if map.len() >= VERIFIED_MAX {
                map.clear();
            }
        }
        map.insert(Box::from(token), (grant.clone(), until));
    }
}

fn is_jwt_shaped(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_' | b'/'))
        })
}

/// Checks the caller may do `need` on `name`, and returns the repository.
///
/// Pull is allowed by a token granting pull (or more) on the repository, or
/// on a public repository to anyone (anonymous callers only with
/// `FEATURE_ANONYMOUS_ACCESS`). Push needs a token granting push. A caller
/// without the right gets 401 with a challenge naming the repository scope.
pub async fn authorize(
    state: &V2State,
    req: &Parts,
    name: &RepoName,
    need: Need,
) -> Result<RepoRef, V2Error> {
    authorize_caller(state, req, name, need)
        .await
        .map(|(repo, _)| repo)
}

/// [`authorize`], also returning who was allowed (for audit logs). Every route that
/// authorizes this way is `@anon_protect` in Quay, checked after the permission.
pub async fn authorize_caller(
    state: &V2State,
    req: &Parts,
    name: &RepoName,
    need: Need,
) -> Result<(RepoRef, Caller), V2Error> {
    let caller = caller(state, req).await?;
    let repo = state
        .registry
        .lookup_repo(&name.namespace, &name.repository)
        .await?;
    let repo = permit(state, &caller, name, need, repo)?;
    anon_protect(state, &caller)?;
    Ok((repo, caller))
}

/// The decision of [`authorize`] for a caller already identified and a repository already
/// looked up (`None`: it does not exist), for handlers that fetch the repository together
/// with what they serve. Nothing fetched may be returned unless this allows it.
pub fn permit(
    state: &V2State,
    caller: &Caller,
    name: &RepoName,
    need: Need,
    repo: Option<RepoRef>,
) -> Result<RepoRef, V2Error> {
    let full = name.full();
    let granted = match caller {
        Caller::Token(grant) => grant.allows(&full, need.action()),
        Caller::Anonymous => false,
    };
    let public_read = need == Need::Pull
        && repo.as_ref().is_some_and(|r| r.public)
        && (caller.is_authenticated() || state.settings.anonymous_access);
    if !(granted || public_read) {
        return Err(V2Error::Unauthorized {
            challenge: state.auth.challenge(Some((&full, need.scope_actions()))),
            message: None,
        });
    }
    repo.ok_or_else(|| V2Error::code(ErrorCode::NameUnknown))
}
