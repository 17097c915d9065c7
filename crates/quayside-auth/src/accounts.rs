//! Creating user accounts and credentials the way Quay stores them (`data/model/user.py`,
//! `permission.py`, `appspecifictoken.py`, `oauth.py`). The namespace, organization and
//! repository rules are `quayside_domain::namespace`'s; users reach them through
//! [`Auth::namespaces`].

use quayside_domain::namespace::is_valid_email;
use quayside_meta::identity::{NewAppToken, NewOAuthApplication, NewOAuthToken};

use crate::random::random_string;
use crate::{utc_now, Auth, AuthError, Role};

/// Quay's `INVALID_PASSWORD_MESSAGE`.
pub const INVALID_PASSWORD_MESSAGE: &str =
    "Invalid password, password must be at least 8 characters and contain no whitespace.";
/// OAuth tokens minted by the authorize flow live 10 years (`token_expires_in`).
const OAUTH_TOKEN_LIFETIME_S: i64 = 315_576_000;
/// Name of the OAuth application quayside mints its own tokens under.
pub const INTERNAL_OAUTH_APP_NAME: &str = "quayside-internal";
const KNOWN_SCOPES: &[&str] = &[
    "repo:read",
    "repo:write",
    "repo:admin",
    "repo:create",
    "user:read",
    "user:admin",
    "org:admin",
    "super:user",
];

/// Quay `validate_password`: at least 8 characters, no whitespace.
pub(crate) fn validate_password(password: &str) -> bool {
    !password.chars().any(char::is_whitespace) && password.chars().count() > 7
}

/// Quay `create_user` flags beyond username, password and e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewUserOptions {
    /// `auto_verify`: the account's e-mail counts as verified.
    pub auto_verify: bool,
    /// `email_required` (`FEATURE_MAILING` at the API): a valid e-mail must be given.
    pub email_required: bool,
}

impl Default for NewUserOptions {
    /// Quay's defaults: unverified, e-mail required.
    fn default() -> Self {
        NewUserOptions {
            auto_verify: false,
            email_required: true,
        }
    }
}

/// Fields of a new OAuth application (Quay `create_application` arguments).
#[derive(Debug, Clone, Copy)]
pub struct OAuthApplicationSpec<'a> {
    pub name: &'a str,
    pub client_id: &'a str,
    pub description: &'a str,
    pub application_uri: &'a str,
    pub redirect_uri: &'a str,
}

impl Auth {
    /// Quay `create_user`: validated, bcrypt-hashed (`$2b$`, cost from settings), unverified.
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        email: &str,
    ) -> Result<i64, AuthError> {
        self.create_user_with(username, password, Some(email), NewUserOptions::default())
            .await
    }

    /// Quay `create_user(username, password, email, auto_verify=…, email_required=…)`.
    /// Checks run in Quay's order with Quay's messages (as [`AuthError::BadRequest`]):
    /// password, then e-mail (only when required; a missing one reads `None` as in
    /// Python), then username, then uniqueness. When the e-mail is not required and
    /// missing or empty, a random UUID is stored instead (Quay keeps `email` unique so).
    pub async fn create_user_with(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        options: NewUserOptions,
    ) -> Result<i64, AuthError> {
        if !validate_password(password) {
            return Err(AuthError::BadRequest(INVALID_PASSWORD_MESSAGE.into()));
        }
        let email = if options.email_required {
            match email {
                Some(e) if is_valid_email(e) => e.to_owned(),
                other => {
                    return Err(AuthError::BadRequest(format!(
                        "Invalid email address: {}",
                        other.unwrap_or("None")
                    )))
                }
            }
        } else {
            match email {
                Some(e) if !e.is_empty() => e.to_owned(),
                _ => uuid::Uuid::new_v4().to_string(),
            }
        };
        let email = email.as_str();
        let namespaces = self.namespaces();
        namespaces.check_new_name(username).await?;
        if self.inner.db.email_used_by_user(email).await? {
            return Err(AuthError::BadRequest(format!(
                "Email has already been used: {email}"
            )));
        }
        let mut account = namespaces.new_account(username, email);
        account.password_hash = Some(self.bcrypt_hash(password).await?);
        account.verified = options.auto_verify;
        Ok(self.inner.db.insert_account(&account).await?)
    }

    /// Sets a user's (or robot's) role on a repository.
    pub async fn set_repo_permission(
        &self,
        repo_id: i64,
        user_id: i64,
        role: Role,
    ) -> Result<(), AuthError> {
        Ok(self
            .inner
            .db
            .set_user_repo_role(repo_id, user_id, role.as_str())
            .await?)
    }

    /// An OAuth access token for `user_id` with `scopes` (space or comma separated), stored
    /// as Quay stores authorize-flow tokens: 20-character `token_name`, bcrypt of the other
    /// 20, `Bearer`, 10-year expiry, `data` `{"username": …}`. The token belongs to the
    /// application [`INTERNAL_OAUTH_APP_NAME`] registered under the user's own namespace
    /// (created on first use).
    pub async fn create_oauth_token(
        &self,
        user_id: i64,
        scopes: &str,
    ) -> Result<String, AuthError> {
        let requested = crate::credentials::parse_scopes(scopes);
        if requested.is_empty()
            || requested
                .iter()
                .any(|s| !KNOWN_SCOPES.contains(&s.as_str()))
        {
            return Err(AuthError::BadRequest(format!("Invalid scope: {scopes}")));
        }
        let db = &self.inner.db;
        let Some(user) = db.account_by_id(user_id).await? else {
            return Err(AuthError::BadRequest(format!("Unknown user id {user_id}")));
        };
        let secret = random_string(40);
        let encrypted_client_secret = match &self.inner.encrypter {
            Some(enc) => enc.encrypt(&secret),
            None => String::new(),
        };
        let app_id = db
            .ensure_oauth_application(&NewOAuthApplication {
                organization_id: user.id,
                name: INTERNAL_OAUTH_APP_NAME.to_owned(),
                client_id: random_string(20),
                encrypted_client_secret,
                redirect_uri: String::new(),
                application_uri: String::new(),
                description: "Tokens minted by quayside".to_owned(),
            })
            .await?;
        let token = random_string(40);
        let (name, code) = token.split_at(20);
        let now = utc_now();
        db.insert_oauth_token(&NewOAuthToken {
            uuid: uuid::Uuid::new_v4().to_string(),
            application_id: app_id,
            authorized_user_id: user.id,
            scope: scopes.to_owned(),
            token_name: name.to_owned(),
            token_code_hash: self.bcrypt_hash(code).await?,
            token_type: "Bearer".to_owned(),
            expires_at: now + chrono::Duration::seconds(OAUTH_TOKEN_LIFETIME_S),
            data: format!(
                "{{\"username\": {}}}",
                serde_json::Value::from(user.username.as_str())
            ),
            created: now,
        })
        .await?;
        Ok(token)
    }

    /// Quay `oauth.create_application(org, name, application_uri, redirect_uri,
    /// client_id=…, description=…)`: the client secret is 40 random characters stored
    /// encrypted under `DATABASE_SECRET_KEY` (empty when that key is not configured).
    /// An application of the same organization and name that already exists is reused.
    pub async fn create_oauth_application(
        &self,
        organization_id: i64,
        app: &OAuthApplicationSpec<'_>,
    ) -> Result<i64, AuthError> {
        let secret = random_string(40);
        let encrypted_client_secret = match &self.inner.encrypter {
            Some(enc) => enc.encrypt(&secret),
            None => String::new(),
        };
        Ok(self
            .inner
            .db
            .ensure_oauth_application(&NewOAuthApplication {
                organization_id,
                name: app.name.to_owned(),
                client_id: app.client_id.to_owned(),
                encrypted_client_secret,
                redirect_uri: app.redirect_uri.to_owned(),
                application_uri: app.application_uri.to_owned(),
                description: app.description.to_owned(),
            })
            .await?)
    }

    /// Quay `oauth.create_user_access_token(user, client_id, scope, expires_in)`: a
    /// 40-character token (20-character `token_name` + bcrypt of the other 20), token type
    /// `token`, empty `data`, expiring `expires_in_s` seconds from now. `scope` is stored
    /// as given (Quay does not validate it here either).
    pub async fn create_user_access_token(
        &self,
        user_id: i64,
        application_id: i64,
        scope: &str,
        expires_in_s: i64,
    ) -> Result<String, AuthError> {
        let token = random_string(40);
        let (name, code) = token.split_at(20);
        let now = utc_now();
        self.inner
            .db
            .insert_oauth_token(&NewOAuthToken {
                uuid: uuid::Uuid::new_v4().to_string(),
                application_id,
                authorized_user_id: user_id,
                scope: scope.to_owned(),
                token_name: name.to_owned(),
                token_code_hash: self.bcrypt_hash(code).await?,
                token_type: "token".to_owned(),
                expires_at: now + chrono::Duration::seconds(expires_in_s),
                data: String::new(),
                created: now,
            })
            .await?;
        Ok(token)
    }

    /// Quay `appspecifictoken.create_token`: 120 characters, the last 60 stored encrypted;
    /// expiry from `APP_SPECIFIC_TOKEN_EXPIRATION`.
    pub async fn create_app_token(&self, user_id: i64, title: &str) -> Result<String, AuthError> {
        let encrypter = self.encrypter()?;
        let token = random_string(120);
        let (name, secret) = token.split_at(60);
        let now = utc_now();
        let expiration = match self.inner.settings.app_token_expiration {
            Some(d) => Some(
                now + chrono::Duration::from_std(d).map_err(|e| {
                    AuthError::Internal(format!("APP_SPECIFIC_TOKEN_EXPIRATION: {e}"))
                })?,
            ),
            None => None,
        };
        self.inner
            .db
            .insert_app_token(&NewAppToken {
                user_id,
                uuid: uuid::Uuid::new_v4().to_string(),
                title: title.to_owned(),
                token_name: name.to_owned(),
                encrypted_secret: encrypter.encrypt(secret),
                created: now,
                expiration,
            })
            .await?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quayside_domain::namespace::namespace_name_issue;

    #[test]
    fn quay_validation_rules() {
        assert!(validate_password("abcdefgh"));
        assert!(!validate_password("abcdefg"));
        assert!(!validate_password("abcd efgh"));
        assert!(is_valid_email("a@b.co"));
        assert!(!is_valid_email("a@bco"));
        assert!(!is_valid_email("@b.co"));
        assert!(!is_valid_email("a@.co"));
        assert!(namespace_name_issue("ab").is_ok());
        assert_eq!(
            namespace_name_issue("a").expect_err("too short"),
            "Namespace must be between 2 and 255 characters in length"
        );
        assert_eq!(
            namespace_name_issue("Ab").expect_err("uppercase"),
            format!(
                "Namespace must match expression {}",
                quayside_domain::namespace::NAMESPACE_REGEX_TEXT
            )
        );
    }
}
