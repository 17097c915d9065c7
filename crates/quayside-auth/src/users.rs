//! Credential changes behind Quay's user-account API (`data/model/user.py`,
//! `data/model/appspecifictoken.py`, `endpoints/api/superuser.py`): password changes,
//! accounts created by a superuser, enabling/disabling accounts, and app-specific token
//! lookup and revocation. Every change that can make a remembered credential stale
//! forgets all of them ([`Auth::invalidate_credentials`]).

use quayside_meta::users::AppTokenDetails;

use crate::accounts::{validate_password, INVALID_PASSWORD_MESSAGE};
use crate::random::random_string;
use crate::{Auth, AuthError, NewUserOptions};
use quayside_domain::namespace::namespace_name_issue;

/// Length of the temporary password of a user created by a superuser.
pub const INSTALL_USER_PASSWORD_LEN: usize = 32;
/// Length of the lookup part of an app-specific token (`TOKEN_NAME_PREFIX_LENGTH`).
const APP_TOKEN_NAME_LEN: usize = 60;

impl Auth {
    /// Quay's `change_password`: validated (`INVALID_PASSWORD_MESSAGE` as
    /// [`AuthError::BadRequest`]), bcrypt-hashed, failed-login counter reset, `uuid`
    /// rotated (all sessions end), `password_required` notifications removed. Remembered
    /// credentials are forgotten, so the old password stops working at once.
    pub async fn change_user_password(
        &self,
        user_id: i64,
        password: &str,
    ) -> Result<(), AuthError> {
        if !validate_password(password) {
            return Err(AuthError::BadRequest(INVALID_PASSWORD_MESSAGE.into()));
        }
        let hash = self.bcrypt_hash(password).await?;
        self.inner
            .db
            .set_user_password(user_id, &hash, &uuid::Uuid::new_v4().to_string())
            .await?;
        self.invalidate_credentials();
        Ok(())
    }

    /// Quay's `create_install_user` (superuser panel): a user with a random 32-character
    /// `[A-Z0-9]` password, created through Quay's `create_user` rules with
    /// `auto_verify = !mailing` and `email_required = mailing`. Returns the user id and
    /// the password.
    pub async fn create_install_user(
        &self,
        username: &str,
        email: Option<&str>,
        mailing: bool,
    ) -> Result<(i64, String), AuthError> {
        let password = random_string(INSTALL_USER_PASSWORD_LEN);
        let id = self
            .create_user_with(
                username,
                &password,
                email,
                NewUserOptions {
                    auto_verify: !mailing,
                    email_required: mailing,
                },
            )
            .await?;
        Ok((id, password))
    }

    /// Quay's `change_username` (users and organizations): the new name must pass
    /// Quay's namespace rule ("Invalid username <name>: <rule>" as
    /// [`AuthError::BadRequest`]); the account's robots follow the rename. Remembered
    /// credentials carry the old name and are forgotten.
    pub async fn rename_account(&self, account_id: i64, new_name: &str) -> Result<(), AuthError> {
        if let Err(issue) = namespace_name_issue(new_name) {
            return Err(AuthError::BadRequest(format!(
                "Invalid username {new_name}: {issue}"
            )));
        }
        self.inner.db.rename_namespace(account_id, new_name).await?;
        self.invalidate_credentials();
        Ok(())
    }

    /// Quay's `update_enabled`; a disabled account's remembered credentials are forgotten.
    pub async fn set_user_enabled(&self, user_id: i64, enabled: bool) -> Result<(), AuthError> {
        self.inner.db.set_user_enabled(user_id, enabled).await?;
        self.invalidate_credentials();
        Ok(())
    }

    /// Quay's `appspecifictoken.create_token` returning the stored row with the full code.
    pub async fn create_app_token_details(
        &self,
        user_id: i64,
        title: &str,
    ) -> Result<(AppTokenDetails, String), AuthError> {
        let code = self.create_app_token(user_id, title).await?;
        let name = code.get(..APP_TOKEN_NAME_LEN).unwrap_or_default();
        match self.inner.db.app_token_by_token_name(name).await? {
            Some(row) => Ok((row, code)),
            None => Err(AuthError::Internal(
                "the new app-specific token was not stored".into(),
            )),
        }
    }

    /// Quay's `get_full_token_string`: `token_name` followed by the decrypted secret.
    pub fn app_token_code(&self, token: &AppTokenDetails) -> Result<String, AuthError> {
        let secret = self
            .encrypter()?
            .decrypt(&token.token_secret)
            .map_err(|e| AuthError::Internal(format!("app token secret: {e}")))?;
        Ok(format!("{}{secret}", token.token_name))
    }

    /// Quay's `revoke_token_by_uuid(uuid, owner)`: deletes the user's token and returns
    /// it (`None` when the user has no token with that uuid). Remembered credentials are
    /// forgotten, so the token stops working at once.
    pub async fn revoke_app_token(
        &self,
        user_id: i64,
        token_uuid: &str,
    ) -> Result<Option<AppTokenDetails>, AuthError> {
        let revoked = self.inner.db.delete_app_token(user_id, token_uuid).await?;
        if revoked.is_some() {
            self.invalidate_credentials();
        }
        Ok(revoked)
    }
}
