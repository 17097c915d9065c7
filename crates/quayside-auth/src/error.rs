use quayside_domain::DomainError;
use quayside_meta::MetaError;

/// Everything that can go wrong in quayside-auth. The comment on each variant says how
/// the `/v2` surface answers it.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Bad or unusable credentials/token: `401 UNAUTHORIZED` with this message (+ challenge).
    #[error("{0}")]
    Invalid(String),
    /// `FEATURE_ANONYMOUS_ACCESS` is off and no valid credentials were given:
    /// `401 {"error": "Anonymous access is not allowed"}`.
    #[error("Anonymous access is not allowed")]
    AnonymousNotAllowed,
    /// Login throttling (Quay's exponential backoff): `429` with `Retry-After`.
    #[error("Too many login attempts.")]
    TooManyAttempts { retry_after_s: u64 },
    /// `405 DENIED` (disabled namespace).
    #[error("{0}")]
    Denied(String),
    /// `405 UNSUPPORTED` (repository kind is not `image`).
    #[error("{0}")]
    Unsupported(String),
    /// `400 NAME_INVALID`.
    #[error("{0}")]
    NameInvalid(String),
    /// `400 INVALID_REQUEST` ("Unable to decode repository and actions: …").
    #[error("{0}")]
    BadScope(String),
    /// Invalid input to an account-creation call (Quay's API answers 400 with it).
    #[error("{0}")]
    BadRequest(String),
    /// A needed setting is missing (e.g. `DATABASE_SECRET_KEY`).
    #[error("{0}")]
    Unavailable(String),
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Instance service key problem (boot, files, signing).
    #[error("{0}")]
    Key(String),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DomainError> for AuthError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NameInvalid(m) => AuthError::NameInvalid(m),
            e @ (DomainError::Invalid(_)
            | DomainError::NamespaceUnknown(_)
            | DomainError::RepositoryExists(_)) => AuthError::BadRequest(e.to_string()),
            DomainError::Meta(m) => AuthError::Meta(m),
            other => AuthError::Internal(other.to_string()),
        }
    }
}
