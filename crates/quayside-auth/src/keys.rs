//! Instance service keys (Quay `boot.py` `setup_jwt_proxy`, `data/model/service_keys.py`,
//! `util/security/instancekeys.py`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use jsonwebtoken::{DecodingKey, EncodingKey};
use quayside_meta::identity::{NewServiceKey, ServiceKeyRow};
use quayside_meta::Db;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};

use crate::{utc_now, AuthError, AuthSettings};

/// `servicekey.metadata` Quay writes for the instance key (`json.dumps` form).
pub const INSTANCE_KEY_METADATA: &str = r#"{"created_by": "CLI tool"}"#;
/// Quay `EXPIRED_SERVICE_KEY_TTL_SEC` default.
pub(crate) const EXPIRED_SERVICE_KEY_TTL_S: i64 = 604_800;
/// Quay `UNAPPROVED_SERVICE_KEY_TTL_SEC` default.
pub(crate) const UNAPPROVED_SERVICE_KEY_TTL_S: i64 = 86_400;
const READ_ONLY_NO_KEY: &str = "No valid service key found for read-only registry.";

/// Quay's `ServiceKeyApprovalType`, stored in `servicekeyapproval.approval_type` as the
/// Python enum's `str()` (e.g. `ServiceKeyApprovalType.AUTOMATIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKeyApprovalType {
    Superuser,
    KeyRotation,
    Automatic,
}

impl ServiceKeyApprovalType {
    pub fn stored(self) -> &'static str {
        match self {
            ServiceKeyApprovalType::Superuser => "ServiceKeyApprovalType.SUPERUSER",
            ServiceKeyApprovalType::KeyRotation => "ServiceKeyApprovalType.KEY_ROTATION",
            ServiceKeyApprovalType::Automatic => "ServiceKeyApprovalType.AUTOMATIC",
        }
    }
}

/// RFC 7638 thumbprint of an RSA public key given as base64url `e` and `n`.
pub fn jwk_thumbprint(e_b64: &str, n_b64: &str) -> String {
    let canonical = format!(r#"{{"e":"{e_b64}","kty":"RSA","n":"{n_b64}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Quay's `get_audience()`: `<scheme>://<SERVER_HOSTNAME>`, adding `:443`/`:80` when the
/// hostname carries no port.
pub(crate) fn audience(settings: &AuthSettings) -> String {
    let host = &settings.server_hostname;
    if host.contains(':') {
        format!("{}://{host}", settings.preferred_url_scheme)
    } else {
        let port = if settings.preferred_url_scheme == "https" {
            "443"
        } else {
            "80"
        };
        format!("{}://{host}:{port}", settings.preferred_url_scheme)
    }
}

/// The signing half of the instance key.
pub(crate) struct LocalKey {
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
}

pub(crate) fn public_jwk(key: &RsaPrivateKey) -> (String, String, String) {
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    let kid = jwk_thumbprint(&e, &n);
    (n, e, kid)
}

/// A fresh RSA 2048 key pair as Quay stores it: the public JWK (JSON text, with `kid`),
/// the kid (RFC 7638 thumbprint) and the PKCS#1 PEM private key.
pub(crate) struct KeyMaterial {
    pub(crate) kid: String,
    pub(crate) jwk: String,
    pub(crate) pem: String,
}

/// Generates [`KeyMaterial`] (CPU-bound: call from a blocking context).
pub(crate) fn generate_key_material() -> Result<KeyMaterial, AuthError> {
    let mut rng = rsa::rand_core::OsRng;
    let key = RsaPrivateKey::new(&mut rng, 2048)
        .map_err(|e| AuthError::Key(format!("RSA key generation failed: {e}")))?;
    let (n, e, kid) = public_jwk(&key);
    let jwk = serde_json::json!({"n": n, "e": e, "kty": "RSA", "kid": kid}).to_string();
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| AuthError::Key(format!("PEM encoding failed: {e}")))?;
    Ok(KeyMaterial {
        kid,
        jwk,
        pem: pem.to_string(),
    })
}

/// Normal boot: new RSA 2048 key, approved `servicekey` row, kid/PEM files (0600).
pub(crate) async fn create_instance_key(
    db: &Db,
    settings: &AuthSettings,
) -> Result<LocalKey, AuthError> {
    let KeyMaterial { kid, jwk, pem } =
        tokio::task::spawn_blocking(generate_key_material)
            .await
            .map_err(|e| AuthError::Key(format!("key generation task failed: {e}")))??;
    let now = utc_now();
    let expiration = now
        + chrono::Duration::minutes(
            i64::try_from(settings.instance_key_expiration_min).unwrap_or(i64::MAX / 120),
        );
    db.insert_approved_service_key(&NewServiceKey {
        name: audience(settings),
        kid: kid.clone(),
        service: settings.service_name.clone(),
        jwk,
        metadata: INSTANCE_KEY_METADATA.to_owned(),
        created_date: now,
        expiration_date: Some(expiration),
        approval_type: ServiceKeyApprovalType::Automatic.stored().to_owned(),
        approval_notes: String::new(),
        approver_id: None,
        gc_expired_before: now - chrono::Duration::seconds(EXPIRED_SERVICE_KEY_TTL_S),
        gc_unapproved_before: now - chrono::Duration::seconds(UNAPPROVED_SERVICE_KEY_TTL_S),
    })
    .await?;
    write_secret_file(&settings.kid_path, kid.as_bytes())?;
    write_secret_file(&settings.pem_path, pem.as_bytes())?;
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| AuthError::Key(format!("instance key unusable for signing: {e}")))?;
    tracing::info!(kid = %kid, service = %settings.service_name, "created instance service key");
    Ok(LocalKey { kid, encoding })
}

/// Read-only boot: the kid file must name an existing, unexpired key and the PEM must load.
pub(crate) async fn load_read_only_key(
    db: &Db,
    settings: &AuthSettings,
) -> Result<LocalKey, AuthError> {
    let fail = || AuthError::Key(READ_ONLY_NO_KEY.to_owned());
    let kid = std::fs::read_to_string(&settings.kid_path).map_err(|e| {
        tracing::error!(path = %settings.kid_path.display(), error = %e, "cannot read instance key id");
        fail()
    })?;
    let kid = kid.trim().to_owned();
    let row = db.service_key(&kid).await?.ok_or_else(fail)?;
    if !is_alive(&row, utc_now()) {
        return Err(fail());
    }
    let pem = std::fs::read_to_string(&settings.pem_path).map_err(|e| {
        tracing::error!(path = %settings.pem_path.display(), error = %e, "cannot read instance key");
        fail()
    })?;
    // Validate it is an RSA private key (PKCS#1 as Quay writes it, or PKCS#8).
    let parsed = RsaPrivateKey::from_pkcs1_pem(&pem)
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(&pem))
        .map_err(|e| AuthError::Key(format!("instance key PEM is not an RSA private key: {e}")))?;
    let (_, _, thumb) = public_jwk(&parsed);
    if thumb != kid {
        tracing::warn!(kid = %kid, "instance key PEM does not match the kid's thumbprint");
    }
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| AuthError::Key(format!("instance key unusable for signing: {e}")))?;
    Ok(LocalKey { kid, encoding })
}

pub(crate) fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| AuthError::Key(format!("cannot write {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| AuthError::Key(format!("cannot chmod {}: {e}", path.display())))?;
    }
    f.write_all(contents)
        .map_err(|e| AuthError::Key(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}

impl crate::Auth {
    /// Quay's servicekeyworker refresh: moves this instance's key expiration to now +
    /// `INSTANCE_SERVICE_KEY_EXPIRATION` so it is neither rejected nor garbage-collected
    /// while the instance runs. Returns the new expiration. Read-only registries write
    /// nothing, so this refuses there.
    pub async fn refresh_instance_key(&self) -> Result<NaiveDateTime, AuthError> {
        let settings = &self.inner.settings;
        if settings.read_only {
            return Err(AuthError::Unavailable(
                "the registry is read-only: the instance service key is not refreshed".into(),
            ));
        }
        let kid = &self.inner.signer.kid;
        let minutes = i64::try_from(settings.instance_key_expiration_min).unwrap_or(i64::MAX);
        let expiration = utc_now()
            .checked_add_signed(
                chrono::Duration::try_minutes(minutes).unwrap_or(chrono::Duration::MAX),
            )
            .unwrap_or(NaiveDateTime::MAX);
        // Microseconds, as the column stores them (and Python's datetime has).
        let expiration = chrono::Timelike::with_nanosecond(
            &expiration,
            chrono::Timelike::nanosecond(&expiration) / 1000 * 1000,
        )
        .unwrap_or(expiration);
        let changed = self
            .inner
            .db
            .set_service_key_expiration(kid, Some(expiration))
            .await?;
        if changed == 0 {
            return Err(AuthError::Key(format!(
                "instance service key {kid} is no longer in the servicekey table"
            )));
        }
        tracing::debug!(kid = %kid, expiration = %expiration, "refreshed instance service key");
        Ok(expiration)
    }
}

/// Unexpired and not past Quay's stale-expired window.
fn is_alive(row: &ServiceKeyRow, now: NaiveDateTime) -> bool {
    row.expiration_date.is_none_or(|exp| exp > now)
}

/// Verification keys by kid, loaded from `servicekey` on demand. A key is re-read after
/// [`POSITIVE_TTL`], so a key deleted or shortened through another instance stops
/// verifying here within that time; changes made through this instance call
/// [`KeyCache::forget`].
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<String, CachedKey>>,
    misses: Mutex<HashMap<String, Instant>>,
}

struct CachedKey {
    key: DecodingKey,
    expiration: Option<NaiveDateTime>,
    loaded: Instant,
}

impl CachedKey {
    fn usable(&self, now: NaiveDateTime) -> bool {
        self.expiration.is_none_or(|e| e > now) && self.loaded.elapsed() < POSITIVE_TTL
    }
}

const NEGATIVE_TTL: Duration = Duration::from_secs(5);
const POSITIVE_TTL: Duration = Duration::from_secs(60);
const MAX_NEGATIVE: usize = 1024;

impl KeyCache {
    /// The public key for `kid` if it is an approved, unexpired key of `service`.
    pub(crate) async fn get(
        &self,
        db: &Db,
        service: &str,
        kid: &str,
    ) -> Result<Option<DecodingKey>, AuthError> {
        let now = utc_now();
        {
            let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(cached) = keys.get(kid) {
                if cached.usable(now) {
                    return Ok(Some(cached.key.clone()));
                }
            }
        }
        {
            let misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
            if misses
                .get(kid)
                .is_some_and(|at| at.elapsed() < NEGATIVE_TTL)
            {
                return Ok(None);
            }
        }
        let row = db.service_key(kid).await?;
        let usable =
            row.filter(|r| r.service == service && r.approval_id.is_some() && is_alive(r, now));
        let decoded =
            usable.and_then(|r| decoding_key_from_jwk(&r.jwk).map(|k| (k, r.expiration_date)));
        match decoded {
            Some((key, exp)) => {
                let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
                keys.retain(|_, c| c.usable(now));
                keys.insert(
                    kid.to_owned(),
                    CachedKey {
                        key: key.clone(),
                        expiration: exp,
                        loaded: Instant::now(),
                    },
                );
                Ok(Some(key))
            }
            None => {
                let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
                if misses.len() >= MAX_NEGATIVE {
                    misses.clear();
                }
                misses.insert(kid.to_owned(), Instant::now());
                Ok(None)
            }
        }
    }
}

impl KeyCache {
    /// Drops what is known about `kid` (it was just approved, changed or deleted).
    pub(crate) fn forget(&self, kid: &str) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(kid);
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(kid);
    }
}

/// RSA public key from a stored JWK (`{"kty":"RSA","n":…,"e":…}`).
pub(crate) fn decoding_key_from_jwk(jwk: &str) -> Option<DecodingKey> {
    let v: serde_json::Value = serde_json::from_str(jwk).ok()?;
    if v.get("kty")?.as_str()? != "RSA" {
        return None;
    }
    let n = v.get("n")?.as_str()?;
    let e = v.get("e")?.as_str()?;
    DecodingKey::from_rsa_components(n, e).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            jwk_thumbprint("AQAB", n),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[tokio::test]
    async fn refresh_moves_the_instance_key_expiration() {
        for backend in quayside_testkit::backends() {
            let tdb = quayside_testkit::TestDb::new(backend).await;
            let dir = tempfile::tempdir().expect("tempdir");
            let settings = AuthSettings {
                kid_path: dir.path().join("quay.kid"),
                pem_path: dir.path().join("quay.pem"),
                instance_key_expiration_min: 120,
                ..AuthSettings::default()
            };
            let auth = crate::Auth::start(tdb.db().clone(), settings.clone())
                .await
                .expect("start");
            let kid = auth.instance_kid().to_owned();
            let soon = utc_now() + chrono::Duration::minutes(1);
            tdb.db()
                .set_service_key_expiration(&kid, Some(soon))
                .await
                .expect("shorten");
            let before = utc_now();
            let new_exp = auth.refresh_instance_key().await.expect("refresh");
            let row = tdb
                .db()
                .service_key(&kid)
                .await
                .expect("row")
                .expect("exists");
            assert_eq!(row.expiration_date, Some(new_exp), "{backend}");
            let ahead = new_exp - before;
            assert!(
                ahead >= chrono::Duration::minutes(119) && ahead <= chrono::Duration::minutes(121),
                "{backend}: expiration moved to now + 120 min, got {ahead}"
            );

            // Read-only instances write nothing.
            let ro = crate::Auth::start(
                tdb.db().clone(),
                AuthSettings {
                    read_only: true,
                    ..settings
                },
            )
            .await
            .expect("read-only start");
            assert!(ro.refresh_instance_key().await.is_err());
            let row = tdb
                .db()
                .service_key(&kid)
                .await
                .expect("row")
                .expect("exists");
            assert_eq!(row.expiration_date, Some(new_exp));
            tdb.cleanup().await;
        }
    }

    #[test]
    fn audience_adds_default_port() {
        let mut s = AuthSettings {
            server_hostname: "quay.example.com".into(),
            preferred_url_scheme: "https".into(),
            ..AuthSettings::default()
        };
        assert_eq!(audience(&s), "https://quay.example.com:443");
        s.preferred_url_scheme = "http".into();
        assert_eq!(audience(&s), "http://quay.example.com:80");
        s.server_hostname = "localhost:5000".into();
        assert_eq!(audience(&s), "http://localhost:5000");
    }
}
