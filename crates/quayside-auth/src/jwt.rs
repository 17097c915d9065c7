//! Registry bearer JWTs (Quay `util/security/registry_jwt.py`, `auth/auth_context_type.py`,
//! `util/security/jwtutil.py`).

use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{json, Map, Value};

use crate::{Action, Auth, AuthError, Grant, Identity};

/// Lifetime of tokens issued by `/v2/auth` (`TOKEN_VALIDITY_LIFETIME_S`).
pub const TOKEN_LIFETIME_S: i64 = 3600;
/// `sub` of anonymous tokens.
pub(crate) const ANONYMOUS_SUB: &str = "(anonymous)";
/// Allowed clock skew (`JWT_CLOCK_SKEW_SECONDS`).
const CLOCK_SKEW_S: u64 = 30;
pub(crate) const CLAIM_TUF_ROOTS: &str = "com.apostille.roots";
pub(crate) const CLAIM_TUF_ROOT: &str = "com.apostille.root";
pub(crate) const DISABLED_TUF_ROOT: &str = "$disabled";

/// `ValidatedAuthContext.to_signed_dict()` plus the apostille claims
/// (`build_context_and_subject`).
pub(crate) fn context_and_subject(
    identity: &Identity,
    tuf_roots: Map<String, Value>,
) -> (Value, String) {
    let mut ctx = Map::new();
    let subject = match identity {
        Identity::Anonymous => ANONYMOUS_SUB.to_owned(),
        Identity::User { username, uuid, .. } => {
            ctx.insert("version".into(), json!(2));
            ctx.insert("entity_kind".into(), json!("user"));
            let reference = if uuid.is_empty() {
                Value::Null
            } else {
                json!(uuid)
            };
            ctx.insert("entity_reference".into(), reference);
            ctx.insert("kind".into(), json!("user"));
            ctx.insert("user".into(), json!(username));
            username.clone()
        }
        Identity::Robot { username, .. } => {
            ctx.insert("version".into(), json!(2));
            ctx.insert("entity_kind".into(), json!("robot"));
            ctx.insert("entity_reference".into(), json!(username));
            ctx.insert("kind".into(), json!("user"));
            ctx.insert("user".into(), json!(username));
            username.clone()
        }
        Identity::OAuthToken {
            username,
            token_uuid,
            ..
        } => {
            ctx.insert("version".into(), json!(2));
            ctx.insert("entity_kind".into(), json!("oauthtoken"));
            ctx.insert("entity_reference".into(), json!(token_uuid));
            ctx.insert("kind".into(), json!("oauth"));
            ctx.insert("oauth".into(), json!(token_uuid));
            ctx.insert("user".into(), json!(username));
            username.clone()
        }
        Identity::AppToken {
            username,
            token_uuid,
            ..
        } => {
            ctx.insert("version".into(), json!(2));
            ctx.insert("entity_kind".into(), json!("appspecifictoken"));
            ctx.insert("entity_reference".into(), json!(token_uuid));
            ctx.insert("kind".into(), json!("user"));
            ctx.insert("user".into(), json!(username));
            username.clone()
        }
    };
    let single_root = if tuf_roots.len() == 1 {
        tuf_roots
            .values()
            .next()
            .cloned()
            .unwrap_or_else(|| json!(DISABLED_TUF_ROOT))
    } else {
        json!(DISABLED_TUF_ROOT)
    };
    ctx.insert(CLAIM_TUF_ROOTS.into(), Value::Object(tuf_roots));
    ctx.insert(CLAIM_TUF_ROOT.into(), single_root);
    (Value::Object(ctx), subject)
}

impl Auth {
    /// Signs a registry JWT with the instance key (Quay `_generate_jwt_object`).
    pub(crate) fn sign_bearer(
        &self,
        audience: Option<&str>,
        subject: &str,
        context: Value,
        access: Value,
        lifetime_s: i64,
    ) -> Result<String, AuthError> {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.inner.settings.service_name,
            "aud": audience,
            "nbf": now,
            "iat": now,
            "exp": now + lifetime_s,
            "sub": subject,
            "access": access,
            "context": context,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.inner.signer.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.inner.signer.encoding)
            .map_err(|e| AuthError::Key(format!("signing failed: {e}")))
    }

    /// Verifies a registry JWT like Quay's `decode_bearer_token`. Accepts the raw token or
    /// the whole `Authorization` header value (`Bearer <jwt>`).
    pub async fn verify_registry_token(&self, bearer: &str) -> Result<Grant, AuthError> {
        let token = match bearer.strip_prefix("Bearer ") {
            Some(t) => t,
            None if bearer.starts_with("Basic ") || bearer.contains(' ') => {
                return Err(invalid_format())
            }
            None => bearer,
        };
        if !token_format_ok(token) {
            return Err(invalid_format());
        }
        let payload = self.decode_bearer(token).await?;
        let subject = match payload.get("sub") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(AuthError::Invalid("Missing sub field in JWT".into())),
        };
        let mut access = Vec::new();
        if let Some(Value::Array(entries)) = payload.get("access") {
            for entry in entries {
                let Some(name) = entry.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let actions = entry
                    .get("actions")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .filter_map(Action::parse)
                            .collect()
                    })
                    .unwrap_or_default();
                access.push((name.to_owned(), actions));
            }
        }
        Ok(Grant {
            subject,
            access,
            context: payload.get("context").cloned().unwrap_or(Value::Null),
            expires_at: payload.get("exp").and_then(Value::as_i64).unwrap_or(0),
            library_namespace: self.inner.settings.library_namespace.clone(),
        })
    }

    /// Signature and claim checks; returns the payload.
    pub(crate) async fn decode_bearer(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        let s = &self.inner.settings;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(format!("Invalid token: {e}")))?;
        let Some(kid) = header.kid else {
            return Err(AuthError::Invalid("Missing kid header".into()));
        };
        let Some(key) = self
            .inner
            .verifier
            .get(&self.inner.db, &s.service_name, &kid)
            .await?
        else {
            return Err(AuthError::Invalid("Unknown service key".into()));
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[s.server_hostname.as_str()]);
        validation.set_issuer(&[s.service_name.as_str()]);
        validation.leeway = CLOCK_SKEW_S;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| AuthError::Invalid(format!("Invalid token: {e}")))?;
        let payload = data.claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = CLOCK_SKEW_S as i64;
        let iat = match payload.get("iat") {
            Some(v) => number_as_i64(v).ok_or_else(|| {
                AuthError::Invalid("Issued At claim (iat) must be an integer.".into())
            })?,
            None => {
                return Err(AuthError::Invalid(
                    "Token is missing the \"iat\" claim".into(),
                ))
            }
        };
        if iat > now + leeway {
            return Err(AuthError::Invalid(
                "Issued At claim (iat) cannot be in the future.".into(),
            ));
        }
        let exp = payload.get("exp").and_then(number_as_i64).unwrap_or(0);
        let max = i64::try_from(s.jwt_max_fresh_s).unwrap_or(i64::MAX);
        if exp > iat.saturating_add(max) {
            return Err(AuthError::Invalid(format!(
                "Token was signed for more than {max} seconds"
            )));
        }
        Ok(payload)
    }
}

fn invalid_format() -> AuthError {
    AuthError::Invalid("Invalid bearer token format".into())
}

fn number_as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Quay's `TOKEN_REGEX` body: `([a-zA-Z0-9+\-_/]+\.)+[a-zA-Z0-9+\-_/]+`.
pub(crate) fn token_format_ok(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_' | b'/'))
        })
}

/// Quay's `is_jwt`: three dot-separated base64url parts.
pub(crate) fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
        })
}
