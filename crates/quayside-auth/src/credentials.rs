//! Basic credentials (Quay `auth/credentials.py`, `data/model/user.py`,
//! `data/model/appspecifictoken.py`, `data/model/oauth.py`, `auth/oauth.py`).

use std::time::Duration;

use chrono::NaiveDateTime;
use subtle::ConstantTimeEq;

use crate::cache::CredentialCache;
use crate::jwt::looks_like_jwt;
use crate::{utc_now, Auth, AuthError, Identity};

pub(crate) const INVALID_USER_PASSWORD: &str = "Invalid Username or Password";
pub(crate) const USER_DISABLED: &str =
    "This user has been disabled. Please contact your administrator.";
const INVALID_APP_TOKEN: &str = "Invalid token";
/// `ROBOTS_DISALLOW` refusal of a robot login (Quay's wording).
pub(crate) const ROBOTS_DISABLED: &str =
    "Robot account have been disabled. Please contact your administrator.";
/// `FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH` refusal of a plain password.
pub(crate) const UNENCRYPTED_REFUSED: &str = "Client login with unencrypted passwords is disabled. Please generate an encrypted password in the user admin panel for use here.";
const OAUTH_INVALID: &str = "OAuth access token could not be validated";
const OAUTH_EXPIRED: &str = "OAuth access token has expired";
const OAUTH_DISABLED: &str = "Granter of the oauth access token is disabled";
const INVALID_CREDENTIALS: &str = "Specified credentials are invalid";
/// `LAST_ACCESSED_UPDATE_THRESHOLD_S`.
const LAST_ACCESSED_THRESHOLD_S: i64 = 60;
/// Quay's `APP_SPECIFIC_TOKEN_USERNAME` etc.
pub const APP_TOKEN_USERNAME: &str = "$app";
pub const OAUTH_TOKEN_USERNAME: &str = "$oauthtoken";
pub const ACCESS_TOKEN_USERNAME: &str = "$token";
const APP_TOKEN_PREFIX_LEN: usize = 60;
const OAUTH_PREFIX_LEN: usize = 20;

fn invalid(msg: impl Into<String>) -> AuthError {
    AuthError::Invalid(msg.into())
}

fn robot_password_message(username: &str) -> String {
    format!("Could not find robot with username: {username} and supplied password.")
}

/// Constant-time string equality.
fn secret_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Auth {
    /// Validates Basic credentials the way Quay's `validate_credentials` does. A user's
    /// password may also be given as its encrypted form ([`Auth::encrypt_user_password`]).
    ///
    /// Successes are remembered for `credential_cache_ttl`, so a repeat login with the
    /// same username and password costs no bcrypt; failures are never remembered.
    pub async fn verify_basic(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Identity, AuthError> {
        let key = CredentialCache::key(username, password);
        if let Some(identity) = self.inner.credentials.get(&key) {
            return Ok(identity);
        }
        let (identity, max_life) = self.verify_uncached(username, password).await?;
        self.inner.credentials.put(key, identity.clone(), max_life);
        Ok(identity)
    }

    async fn verify_uncached(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Identity, Option<Duration>), AuthError> {
        if username == ACCESS_TOKEN_USERNAME {
            // Repository access tokens (`accesstoken`) are not supported yet.
            return Err(invalid("Invalid access token"));
        }
        if self.inner.settings.app_specific_tokens && username == APP_TOKEN_USERNAME {
            return self.verify_app_token(password).await.map(|i| (i, None));
        }
        if username == OAUTH_TOKEN_USERNAME {
            return self.verify_oauth_token(password).await;
        }
        if username.contains('+') {
            return self
                .verify_robot(username, password)
                .await
                .map(|i| (i, None));
        }
        // Quay's `verify_and_link_user(..., basic_auth=True)`: an encrypted password
        // (`encrypt_user_password` under SECRET_KEY) stands for the password inside it.
        let decrypted = self.inner.user_passwords.decrypt(password);
        if decrypted.is_none() && self.inner.settings.require_encrypted_basic_auth {
            return Err(invalid(UNENCRYPTED_REFUSED));
        }
        let password = decrypted.as_deref().unwrap_or(password);
        self.verify_user_password(username, password)
            .await
            .map(|i| (i, None))
    }

    fn last_accessed_window(&self) -> (NaiveDateTime, NaiveDateTime) {
        let now = utc_now();
        (
            now,
            now - chrono::Duration::seconds(LAST_ACCESSED_THRESHOLD_S),
        )
    }

    /// Quay `verify_user` + `verify_and_link_user` (Database authentication).
    async fn verify_user_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Identity, AuthError> {
        let db = &self.inner.db;
        if !username.is_ascii() {
            return Err(invalid(INVALID_USER_PASSWORD));
        }
        let Some(account) = db.account_for_login(username).await? else {
            return Err(invalid(INVALID_USER_PASSWORD));
        };
        let now = utc_now();
        if account.invalid_login_attempts > 0 {
            let retry_at = account.last_invalid_login + backoff(account.invalid_login_attempts);
            if retry_at > now {
                let wait = (retry_at - now).num_milliseconds().max(0) as u64;
                return Err(AuthError::TooManyAttempts {
                    retry_after_s: wait.div_ceil(1000),
                });
            }
        }
        let matches = match account.password_hash.as_deref() {
            Some(hash) if !hash.is_empty() => self.bcrypt_verify(password, hash).await?,
            _ => false,
        };
        let writable = !self.inner.settings.read_only;
        if !matches {
            if writable {
                db.record_invalid_login(account.id, now).await?;
            }
            return Err(invalid(INVALID_USER_PASSWORD));
        }
        if account.invalid_login_attempts > 0 && writable {
            db.clear_invalid_logins(account.id).await?;
            let (now, stale) = self.last_accessed_window();
            db.touch_account_last_accessed(account.id, now, stale)
                .await?;
        }
        if !account.enabled {
            return Err(invalid(USER_DISABLED));
        }
        if account.robot || account.organization {
            return Err(invalid(INVALID_USER_PASSWORD));
        }
        Ok(Identity::User {
            id: account.id,
            username: account.username,
            uuid: account.uuid.unwrap_or_default(),
        })
    }

    /// Quay `verify_robot`.
    async fn verify_robot(
        &self,
        robot_username: &str,
        password: &str,
    ) -> Result<Identity, AuthError> {
        let db = &self.inner.db;
        let s = &self.inner.settings;
        if s.robots_disallow && !s.robots_whitelist.iter().any(|r| r == robot_username) {
            return Err(invalid(ROBOTS_DISABLED));
        }
        if !password.is_ascii() {
            return Err(invalid(robot_password_message(robot_username)));
        }
        let owner_name = robot_username.split('+').next().unwrap_or_default();
        let not_found = || invalid("Could not find robot with specified username");
        if !robot_username.is_ascii() {
            return Err(not_found());
        }
        let robot = match db.account_by_username(robot_username).await? {
            Some(r) if r.robot => r,
            _ => return Err(not_found()),
        };
        let Some(owner) = db.account_by_username(owner_name).await? else {
            return Err(invalid(format!(
                "Robot {robot_username} owner does not exist"
            )));
        };
        if !owner.enabled {
            return Err(invalid(format!(
                "Robot {robot_username} owner {} is disabled",
                owner.username
            )));
        }
        if looks_like_jwt(password) {
            let payload = self.decode_bearer(password).await?;
            if payload.get("sub").and_then(|v| v.as_str()) != Some(robot_username) {
                return Err(invalid("Token does not match robot"));
            }
        } else {
            let Some(stored) = db.robot_token(robot.id).await? else {
                return Err(invalid(robot_password_message(robot_username)));
            };
            let token = match self.encrypter()?.decrypt(&stored) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(robot = %robot_username, error = %e,
                        "robot token cannot be decrypted; is DATABASE_SECRET_KEY the one Quay uses?");
                    return Err(invalid(robot_password_message(robot_username)));
                }
            };
            if !secret_eq(&token, password) {
                return Err(invalid(robot_password_message(robot_username)));
            }
        }
        if !robot.enabled {
            return Err(invalid(INVALID_CREDENTIALS));
        }
        if !self.inner.settings.read_only {
            let (now, stale) = self.last_accessed_window();
            db.touch_account_last_accessed(robot.id, now, stale).await?;
        }
        Ok(Identity::Robot {
            id: robot.id,
            username: robot.username,
            owner_id: owner.id,
        })
    }

    /// Quay `access_valid_token` + the disabled-user check in `validate_credentials`.
    async fn verify_app_token(&self, token: &str) -> Result<Identity, AuthError> {
        let db = &self.inner.db;
        let code: String = token.chars().filter(char::is_ascii).collect();
        if code.len() < APP_TOKEN_PREFIX_LEN {
            return Err(invalid(INVALID_APP_TOKEN));
        }
        let (prefix, suffix) = code.split_at(APP_TOKEN_PREFIX_LEN);
        let Some(row) = db.app_token_by_name(prefix, utc_now()).await? else {
            return Err(invalid(INVALID_APP_TOKEN));
        };
        let secret = match self.encrypter()?.decrypt(&row.token_secret) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(token_uuid = %row.uuid, error = %e,
                    "app token secret cannot be decrypted; is DATABASE_SECRET_KEY the one Quay uses?");
                return Err(invalid(INVALID_APP_TOKEN));
            }
        };
        if !secret_eq(&secret, suffix) {
            return Err(invalid(INVALID_APP_TOKEN));
        }
        if !self.inner.settings.read_only {
            let (now, stale) = self.last_accessed_window();
            db.touch_app_token(row.id, now, stale).await?;
        }
        let Some(user) = db.account_by_id(row.user_id).await? else {
            return Err(invalid(INVALID_APP_TOKEN));
        };
        if !user.enabled {
            return Err(invalid(USER_DISABLED));
        }
        Ok(Identity::AppToken {
            user_id: user.id,
            username: user.username,
            token_uuid: row.uuid,
        })
    }

    /// Quay `validate_app_oauth_token` (`$oauthtoken` + OAuth access token).
    async fn verify_oauth_token(
        &self,
        token: &str,
    ) -> Result<(Identity, Option<Duration>), AuthError> {
        let db = &self.inner.db;
        if looks_like_jwt(token) {
            return Err(invalid("Quay-signed robot JWTs require the robot username"));
        }
        let split = token.char_indices().nth(OAUTH_PREFIX_LEN).map(|(i, _)| i);
        let Some(split) = split else {
            return Err(invalid(OAUTH_INVALID));
        };
        let (name, code) = token.split_at(split);
        let Some(row) = db.oauth_token_by_name(name).await? else {
            return Err(invalid(OAUTH_INVALID));
        };
        if !self.bcrypt_verify(code, &row.token_code).await? {
            return Err(invalid(OAUTH_INVALID));
        }
        let now = utc_now();
        if row.expires_at <= now {
            return Err(invalid(OAUTH_EXPIRED));
        }
        let Some(user) = db.account_by_id(row.authorized_user_id).await? else {
            return Err(invalid(OAUTH_INVALID));
        };
        if !user.enabled {
            return Err(invalid(OAUTH_DISABLED));
        }
        let remaining = (row.expires_at - now).to_std().ok();
        Ok((
            Identity::OAuthToken {
                user_id: user.id,
                username: user.username,
                token_uuid: row.uuid,
                scopes: parse_scopes(&row.scope),
            },
            remaining,
        ))
    }
}

/// Splits an OAuth scope string on whitespace or commas (Quay `scopes_from_scope_string`).
pub(crate) fn parse_scopes(scope: &str) -> Vec<String> {
    scope
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Quay `exponential_backoff(attempts, 1s, base)`: `0.5 × (2^attempts − 1)` seconds.
fn backoff(attempts: i64) -> chrono::Duration {
    let exp = attempts.clamp(0, 40) as u32;
    let ms = 500i64.saturating_mul((1i64 << exp) - 1);
    chrono::Duration::milliseconds(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_strings() {
        assert_eq!(
            parse_scopes("repo:read, repo:write user:admin"),
            vec!["repo:read", "repo:write", "user:admin"]
        );
        assert!(parse_scopes("").is_empty());
    }

    #[test]
    fn backoff_grows() {
        assert_eq!(backoff(1), chrono::Duration::milliseconds(500));
        assert_eq!(backoff(3), chrono::Duration::milliseconds(3500));
        assert!(backoff(1000) > chrono::Duration::days(365));
    }

    #[test]
    fn constant_time_eq() {
        assert!(secret_eq("ABC", "ABC"));
        assert!(!secret_eq("ABC", "ABD"));
        assert!(!secret_eq("ABC", "ABCD"));
    }
}
