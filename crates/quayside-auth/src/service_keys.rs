//! Service keys managed by superusers (Quay's superuser panel over
//! `data/model/service_keys.py`): pre-shared keys for other services (a JWT proxy, a
//! scanner, another registry) that quayside generates, approves, renames, extends and
//! deletes. Every change drops the key from this instance's verification cache, so a
//! deleted or shortened key stops verifying here at once (other instances re-read keys
//! within [`crate::keys`]' cache lifetime).

use chrono::NaiveDateTime;
use quayside_meta::identity::NewServiceKey;
use quayside_meta::servicekeys::{ApproveOutcome, ServiceKeyDetails};
use rsa::pkcs1::{DecodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::EncodePublicKey;
use rsa::RsaPrivateKey;

use crate::keys::{
    generate_key_material, KeyMaterial, ServiceKeyApprovalType, EXPIRED_SERVICE_KEY_TTL_S,
    UNAPPROVED_SERVICE_KEY_TTL_S,
};
use crate::{utc_now, Auth, AuthError};

/// A key to generate: [`Auth::create_service_key`].
#[derive(Debug, Clone)]
pub struct NewPresharedKey<'a> {
    pub service: &'a str,
    pub name: &'a str,
    /// `servicekey.metadata`, JSON text.
    pub metadata: String,
    pub expiration: Option<NaiveDateTime>,
    /// The superuser who created (and so approved) it.
    pub approver_id: i64,
    pub notes: &'a str,
}

/// A generated key: the private half is returned once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedServiceKey {
    pub kid: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_pem: String,
    /// PKCS#1 ("TraditionalOpenSSL") PEM.
    pub private_pem: String,
}

/// Quay's service name rule (`_SERVICE_NAME_REGEX`, `^[a-z0-9_]+$`).
pub fn valid_service_name(service: &str) -> bool {
    !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Auth {
    /// Keys that expired before this instant are stale: Quay no longer lists them and
    /// garbage-collects them (`EXPIRED_SERVICE_KEY_TTL_SEC`).
    pub fn service_key_stale_before(&self) -> NaiveDateTime {
        utc_now() - chrono::Duration::seconds(EXPIRED_SERVICE_KEY_TTL_S)
    }

    /// Generates an RSA 2048 key for `service`, stores its public JWK approved by the
    /// superuser (Quay's `generate_service_key` then `approve_service_key(SUPERUSER)`), and
    /// returns both halves as PEM.
    pub async fn create_service_key(
        &self,
        k: NewPresharedKey<'_>,
    ) -> Result<CreatedServiceKey, AuthError> {
        if !valid_service_name(k.service) {
            return Err(AuthError::BadRequest(format!(
                "Invalid service name: {} (lowercase letters, digits and _ only)",
                k.service
            )));
        }
        let KeyMaterial { kid, jwk, pem } = tokio::task::spawn_blocking(generate_key_material)
            .await
            .map_err(|e| AuthError::Key(format!("key generation task failed: {e}")))??;
        let public_pem = RsaPrivateKey::from_pkcs1_pem(&pem)
            .map_err(|e| AuthError::Key(format!("generated key unreadable: {e}")))?
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| AuthError::Key(format!("public key PEM encoding failed: {e}")))?;
        let now = utc_now();
        self.inner
            .db
            .insert_approved_service_key(&NewServiceKey {
                name: k.name.to_owned(),
                kid: kid.clone(),
                service: k.service.to_owned(),
                jwk,
                metadata: k.metadata,
                created_date: now,
                expiration_date: k.expiration,
                approval_type: ServiceKeyApprovalType::Superuser.stored().to_owned(),
                approval_notes: k.notes.to_owned(),
                approver_id: Some(k.approver_id),
                gc_expired_before: now - chrono::Duration::seconds(EXPIRED_SERVICE_KEY_TTL_S),
                gc_unapproved_before: now - chrono::Duration::seconds(UNAPPROVED_SERVICE_KEY_TTL_S),
            })
            .await?;
        Ok(CreatedServiceKey {
            kid,
            public_pem,
            private_pem: pem,
        })
    }

    /// Every key a superuser may see (not stale), in creation order.
    pub async fn list_service_keys(&self) -> Result<Vec<ServiceKeyDetails>, AuthError> {
        Ok(self
            .inner
            .db
            .list_service_keys(self.service_key_stale_before())
            .await?)
    }

    /// One key, approved or not, expired or not (but not stale).
    pub async fn service_key_details(
        &self,
        kid: &str,
    ) -> Result<Option<ServiceKeyDetails>, AuthError> {
        Ok(self
            .inner
            .db
            .service_key_details(kid, self.service_key_stale_before())
            .await?)
    }

    /// Approves an unapproved key as `approver_id` (superuser approval).
    pub async fn approve_service_key(
        &self,
        kid: &str,
        approver_id: i64,
        notes: &str,
    ) -> Result<ApproveOutcome, AuthError> {
        let outcome = self
            .inner
            .db
            .approve_service_key(
                kid,
                Some(approver_id),
                ServiceKeyApprovalType::Superuser.stored(),
                notes,
                utc_now(),
            )
            .await?;
        self.inner.verifier.forget(kid);
        Ok(outcome)
    }

    /// Moves a key's expiration (`None`: never expires). False when the kid is unknown.
    pub async fn set_service_key_expiration(
        &self,
        kid: &str,
        expiration: Option<NaiveDateTime>,
    ) -> Result<bool, AuthError> {
        let changed = self
            .inner
            .db
            .set_service_key_expiration(kid, expiration)
            .await?;
        self.inner.verifier.forget(kid);
        Ok(changed > 0)
    }

    /// Renames a key and/or replaces its metadata (JSON text). False when unknown.
    pub async fn update_service_key(
        &self,
        kid: &str,
        name: Option<&str>,
        metadata: Option<&str>,
    ) -> Result<bool, AuthError> {
        Ok(self
            .inner
            .db
            .update_service_key(kid, name, metadata)
            .await?)
    }

    /// Deletes a key (and garbage-collects its service's stale keys). The deleted key, or
    /// `None` when the kid is unknown. As in Quay any key may go, this instance's own too
    /// (its tokens then stop verifying until the next boot makes a new key).
    pub async fn delete_service_key(
        &self,
        kid: &str,
    ) -> Result<Option<ServiceKeyDetails>, AuthError> {
        let now = utc_now();
        let deleted = self
            .inner
            .db
            .delete_service_key(
                kid,
                now - chrono::Duration::seconds(EXPIRED_SERVICE_KEY_TTL_S),
                now - chrono::Duration::seconds(UNAPPROVED_SERVICE_KEY_TTL_S),
            )
            .await?;
        self.inner.verifier.forget(kid);
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_follow_quays_rule() {
        assert!(valid_service_name("quay"));
        assert!(valid_service_name("clair_v4"));
        assert!(!valid_service_name(""));
        assert!(!valid_service_name("Quay"));
        assert!(!valid_service_name("jwt-proxy"));
        assert!(!valid_service_name("a b"));
    }
}
