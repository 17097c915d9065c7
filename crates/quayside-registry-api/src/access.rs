//! Who is calling and what they may do to a repository.
//!
//! `/v2` requests carry a registry JWT (`Authorization: Bearer`) minted by
//! `/v2/auth`, or nothing (anonymous). Basic credentials are refused here, as
//! Quay refuses them: clients must fetch a token first.

use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use quayside_auth::{Action, Grant};
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

/// Identifies the caller from the `Authorization` header.
pub async fn caller(state: &V2State, req: &Parts) -> Result<Caller, V2Error> {
    let Some(value) = req.headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let invalid = || V2Error::Plain {
        status: StatusCode::UNAUTHORIZED,
        message: "Invalid bearer token format".into(),
        challenge: Some(state.auth.challenge(None)),
    };
    let value = value.to_str().map_err(|_| invalid())?;
    let token = value
        .strip_prefix("Bearer ")
        .filter(|t| is_jwt_shaped(t))
        .ok_or_else(invalid)?;
    match state.auth.verify_registry_token(token).await {
        Ok(grant) => {
            tracing::Span::current().record("user", grant.subject.as_str());
            Ok(Caller::Token(grant))
        }
        Err(e) => {
            tracing::debug!(error = %e, "registry token rejected");
            Err(V2Error::Unauthorized {
                challenge: state.auth.challenge(None),
                message: Some("Invalid bearer token".into()),
            })
        }
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
    let caller = caller(state, req).await?;
    let full = name.full();
    let granted = match &caller {
        Caller::Token(grant) => grant.allows(&full, need.action()),
        Caller::Anonymous => false,
    };
    let repo = state
        .registry
        .lookup_repo(&name.namespace, &name.repository)
        .await?;
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
