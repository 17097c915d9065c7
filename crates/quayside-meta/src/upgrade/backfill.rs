//! The code steps of Quay's chain ([`Backfill`]). Each one only touches rows it has not done
//! yet, so a run cut short is finished by the next.

use super::ops::Backfill;
use crate::{with_pool, Db, MetaError};

/// What the credential backfills need from the configuration: Quay's field encryption with
/// `DATABASE_SECRET_KEY` (and the old `SECRET_KEY`), and its bcrypt credentials.
pub trait Secrets: Send + Sync {
    /// Encrypts a value as Quay's encrypted fields store it.
    fn encrypt(&self, plain: &str) -> String;
    /// Whether `stored` decrypts with `DATABASE_SECRET_KEY`.
    fn decrypts(&self, stored: &str) -> bool;
    /// `stored` decrypted with the old `SECRET_KEY` and encrypted again with
    /// `DATABASE_SECRET_KEY`; `None` when it does not decrypt with `SECRET_KEY` either.
    fn reencrypt_legacy(&self, stored: &str) -> Option<String>;
    /// A bcrypt credential of `plain` (`None` if hashing failed).
    fn hash(&self, plain: &str) -> Option<String>;
}

fn split(s: &str, n: usize) -> (String, String) {
    let head: String = s.chars().take(n).collect();
    let tail: String = s.chars().skip(n).collect();
    (head, tail)
}

fn hash_failed() -> MetaError {
    MetaError::InvalidConfig("could not hash a credential with bcrypt".into())
}

fn random_code() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{}", &b[..8])
}

impl Db {
    pub(crate) async fn backfill(
        &self,
        step: Backfill,
        secrets: &dyn Secrets,
    ) -> Result<u64, MetaError> {
        match step {
            Backfill::EncryptCredentials => self.encrypt_credentials(secrets).await,
            Backfill::ReencryptMirrorCredentials => self.reencrypt_mirror(secrets).await,
        }
    }

    async fn encrypt_credentials(&self, secrets: &dyn Secrets) -> Result<u64, MetaError> {
        let mut n = 0u64;
        // Access tokens: 32-character name, the rest encrypted.
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), code FROM accesstoken \
             WHERE (token_name IS NULL OR token_name = '') AND code IS NOT NULL")
            .fetch_all(pool).await)?;
        for (id, code) in rows {
            let (name, rest) = split(code.as_deref().unwrap_or_default(), 32);
            let enc = secrets.encrypt(&rest);
            with_pool!(self, pool => sqlx::query(
                "UPDATE accesstoken SET token_name = $1, token_code = $2 WHERE id = $3")
                .bind(&name).bind(&enc).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        // Robots: their token was the robot user's email.
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(u.id AS BIGINT), u.email FROM \"user\" u WHERE u.robot = $1 AND NOT EXISTS \
             (SELECT 1 FROM robotaccounttoken r WHERE r.robot_account_id = u.id)")
            .bind(true).fetch_all(pool).await)?;
        for (id, email) in rows {
            let enc = secrets.encrypt(email.as_deref().unwrap_or_default());
            with_pool!(self, pool => sqlx::query(
                "INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES ($1, $2, $3)")
                .bind(id as i32).bind(&enc).bind(false).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        // Build triggers.
        let rows: Vec<(i64, Option<String>, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), auth_token, private_key FROM repositorybuildtrigger \
             WHERE fully_migrated = $1")
            .bind(false).fetch_all(pool).await)?;
        for (id, auth, key) in rows {
            let auth = auth.map(|v| secrets.encrypt(&v));
            let key = key.map(|v| secrets.encrypt(&v));
            with_pool!(self, pool => sqlx::query(
                "UPDATE repositorybuildtrigger SET secure_auth_token = $1, secure_private_key = $2, \
                 fully_migrated = $3 WHERE id = $4")
                .bind(&auth).bind(&key).bind(true).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        // App-specific tokens: 60-character name, the rest encrypted.
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), token_code FROM appspecificauthtoken \
             WHERE (token_name IS NULL OR token_name = '' OR token_secret IS NULL) \
             AND token_code IS NOT NULL")
            .fetch_all(pool).await)?;
        for (id, code) in rows {
            let (name, rest) = split(code.as_deref().unwrap_or_default(), 60);
            let enc = secrets.encrypt(&rest);
            with_pool!(self, pool => sqlx::query(
                "UPDATE appspecificauthtoken SET token_name = $1, token_secret = $2 WHERE id = $3")
                .bind(&name).bind(&enc).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        // OAuth access tokens: 20-character name, bcrypt of the rest.
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), access_token FROM oauthaccesstoken \
             WHERE (token_name IS NULL OR token_name = '') AND access_token IS NOT NULL")
            .fetch_all(pool).await)?;
        for (id, token) in rows {
            let (name, rest) = split(token.as_deref().unwrap_or_default(), 20);
            let hash = secrets.hash(&rest).ok_or_else(hash_failed)?;
            with_pool!(self, pool => sqlx::query(
                "UPDATE oauthaccesstoken SET token_name = $1, token_code = $2 WHERE id = $3")
                .bind(&name).bind(&hash).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        // OAuth authorization codes: 20-character name, bcrypt of the rest.
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), code FROM oauthauthorizationcode \
             WHERE code_name IS NULL OR code_name = ''")
            .fetch_all(pool).await)?;
        for (id, code) in rows {
            let code = code.filter(|c| !c.is_empty()).unwrap_or_else(random_code);
            let (name, rest) = split(&code, 20);
            let hash = secrets.hash(&rest).ok_or_else(hash_failed)?;
            with_pool!(self, pool => sqlx::query(
                "UPDATE oauthauthorizationcode SET code_name = $1, code_credential = $2 WHERE id = $3")
                .bind(&name).bind(&hash).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        // OAuth applications.
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), client_secret FROM oauthapplication WHERE fully_migrated = $1")
            .bind(false).fetch_all(pool).await)?;
        for (id, secret) in rows {
            let secret = secret
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let enc = secrets.encrypt(&secret);
            with_pool!(self, pool => sqlx::query(
                "UPDATE oauthapplication SET secure_client_secret = $1, fully_migrated = $2 WHERE id = $3")
                .bind(&enc).bind(true).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        Ok(n)
    }

    async fn reencrypt_mirror(&self, secrets: &dyn Secrets) -> Result<u64, MetaError> {
        let rows: Vec<(i64, Option<String>, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(id AS BIGINT), external_registry_username, external_registry_password \
             FROM repomirrorconfig")
            .fetch_all(pool).await)?;
        let mut n = 0;
        for (id, user, password) in rows {
            let fix = |v: &Option<String>| -> Option<String> {
                let v = v.as_deref()?;
                if secrets.decrypts(v) {
                    None
                } else {
                    secrets.reencrypt_legacy(v)
                }
            };
            let (u, p) = (fix(&user), fix(&password));
            if u.is_none() && p.is_none() {
                continue;
            }
            with_pool!(self, pool => sqlx::query(
                "UPDATE repomirrorconfig SET external_registry_username = $1, \
                 external_registry_password = $2 WHERE id = $3")
                .bind(u.or(user)).bind(p.or(password)).bind(id).execute(pool).await.map(|_| ()))?;
            n += 1;
        }
        Ok(n)
    }
}
