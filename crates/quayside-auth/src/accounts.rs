//! Creating accounts, repositories and credentials the way Quay stores them
//! (`data/model/user.py`, `organization.py`, `repository.py`, `permission.py`,
//! `appspecifictoken.py`, `oauth.py`).

use std::collections::BTreeMap;

use quayside_meta::identity::{
    AccountRow, NewAccount, NewAppToken, NewOAuthApplication, NewOAuthToken,
};
use quayside_meta::permissions::NewRepository;
use quayside_meta::{RepositoryKind, Visibility};

use crate::random::random_string;
use crate::{utc_now, Auth, AuthError, Identity, Role};

/// Quay's `INVALID_PASSWORD_MESSAGE`.
pub const INVALID_PASSWORD_MESSAGE: &str =
    "Invalid password, password must be at least 8 characters and contain no whitespace.";
const USERNAME_REGEX_TEXT: &str = "^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";
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

/// Quay `validate_username` (namespaces, robot short names).
pub(crate) fn validate_username(name: &str) -> Result<(), String> {
    use quayside_oci::name::{validate_namespace, NameError};
    match validate_namespace(name) {
        Ok(()) => Ok(()),
        Err(NameError::NamespaceLength(_)) => {
            Err("Namespace must be between 2 and 255 characters in length".into())
        }
        Err(_) => Err(format!(
            "Namespace must match expression {USERNAME_REGEX_TEXT}"
        )),
    }
}

/// Quay `validate_password`: at least 8 characters, no whitespace.
pub(crate) fn validate_password(password: &str) -> bool {
    !password.chars().any(char::is_whitespace) && password.chars().count() > 7
}

/// Quay `validate_email`: `[^@]+@[^@]+\.[^@]+` anywhere at the start.
pub(crate) fn validate_email(email: &str) -> bool {
    let Some((local, rest)) = email.split_once('@') else {
        return false;
    };
    if local.is_empty() {
        return false;
    }
    // The domain part up to the next '@' must contain a '.' with something on both sides.
    let domain = rest.split('@').next().unwrap_or_default();
    match domain.find('.') {
        Some(i) => i > 0 && i + 1 < domain.len(),
        None => false,
    }
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
/// What a new repository is made with (Quay's `create_repository` arguments).
#[derive(Debug, Clone, Copy)]
pub struct RepositorySpec<'a> {
    pub public: bool,
    pub kind: RepositoryKind,
    pub description: Option<&'a str>,
}

#[derive(Debug, Clone, Copy)]
pub struct OAuthApplicationSpec<'a> {
    pub name: &'a str,
    pub client_id: &'a str,
    pub description: &'a str,
    pub application_uri: &'a str,
    pub redirect_uri: &'a str,
}

impl Auth {
    fn new_account(&self, username: &str, email: &str) -> NewAccount {
        NewAccount {
            uuid: uuid::Uuid::new_v4().to_string(),
            username: username.to_owned(),
            email: email.to_owned(),
            password_hash: None,
            verified: false,
            organization: false,
            robot: false,
            removed_tag_expiration_s: self.inner.settings.default_tag_expiration_s,
            now: utc_now(),
        }
    }

    /// Quay's uniqueness message for a taken namespace name.
    async fn ensure_name_free(&self, username: &str) -> Result<(), AuthError> {
        if let Some(existing) = self.inner.db.account_by_username(username).await? {
            let msg = if existing.organization {
                format!(
                    "Username has already been taken by an organization and cannot be reused: {username}"
                )
            } else {
                format!("Username has already been taken by user cannot be reused: {username}")
            };
            return Err(AuthError::BadRequest(msg));
        }
        Ok(())
    }

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
                Some(e) if validate_email(e) => e.to_owned(),
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
        if let Err(issue) = validate_username(username) {
            return Err(AuthError::BadRequest(format!(
                "Invalid namespace {username}: {issue}"
            )));
        }
        self.ensure_name_free(username).await?;
        if self.inner.db.email_used_by_user(email).await? {
            return Err(AuthError::BadRequest(format!(
                "Email has already been used: {email}"
            )));
        }
        let mut account = self.new_account(username, email);
        account.password_hash = Some(self.bcrypt_hash(password).await?);
        account.verified = options.auto_verify;
        Ok(self.inner.db.insert_account(&account).await?)
    }

    /// An organization made on push (`CREATE_NAMESPACE_ON_PUSH`): org row, `owners` team
    /// (role admin) holding the owner. Its e-mail is derived from the owner's
    /// (`<local>+<org>@<domain>`), or a random UUID when the owner is a robot.
    async fn insert_org(&self, name: &str, owner: &AccountRow) -> Result<i64, AuthError> {
        if let Err(issue) = validate_username(name) {
            return Err(AuthError::BadRequest(format!(
                "Invalid namespace {name}: {issue}"
            )));
        }
        self.ensure_name_free(name).await?;
        let email = match owner.email.split_once('@') {
            Some((local, domain)) if !owner.robot => format!("{local}+{name}@{domain}"),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        let mut org = self.new_account(name, &email);
        org.organization = true;
        Ok(self.inner.db.insert_organization(&org, owner.id).await?)
    }

    /// `CREATE_NAMESPACE_ON_PUSH`: creates the organization, owned by the pusher.
    pub(crate) async fn create_namespace_for_push(
        &self,
        namespace: &str,
        owner_id: i64,
    ) -> Result<Option<AccountRow>, AuthError> {
        let Some(owner) = self.inner.db.account_by_id(owner_id).await? else {
            return Ok(None);
        };
        match self.insert_org(namespace, &owner).await {
            Ok(_) => Ok(self.inner.db.account_by_username(namespace).await?),
            Err(AuthError::BadRequest(msg)) => {
                tracing::debug!(namespace, reason = %msg, "namespace not created on push");
                Ok(self.inner.db.account_by_username(namespace).await?)
            }
            Err(e) => Err(e),
        }
    }

    /// Quay `create_repository` of an `image` repository with no description; see
    /// [`Auth::create_repository_with`].
    pub async fn create_repository(
        &self,
        namespace: &str,
        name: &str,
        public: bool,
        creator: Option<&Identity>,
    ) -> Result<i64, AuthError> {
        let spec = RepositorySpec {
            public,
            kind: RepositoryKind::Image,
            description: None,
        };
        self.create_repository_with(namespace, name, &spec, creator)
            .await
    }

    /// Quay `create_repository`: the repository with its kind and description, its counters
    /// and the creator's `admin` permission (unless the creator is an organization) in one
    /// transaction; then the namespace's default permissions when the creator is not the
    /// namespace itself.
    pub async fn create_repository_with(
        &self,
        namespace: &str,
        name: &str,
        spec: &RepositorySpec<'_>,
        creator: Option<&Identity>,
    ) -> Result<i64, AuthError> {
        if let Err(e) = quayside_oci::name::validate_repository(
            name,
            self.inner.settings.extended_repository_names,
        ) {
            return Err(AuthError::NameInvalid(e.to_string()));
        }
        let Some(ns) = self.inner.db.account_by_username(namespace).await? else {
            return Err(AuthError::BadRequest(format!(
                "Unknown namespace {namespace}"
            )));
        };
        match self.create_repo_row(&ns, name, spec, creator).await? {
            Some(id) => Ok(id),
            None => Err(AuthError::BadRequest(format!(
                "Repository already exists: {namespace}/{name}"
            ))),
        }
    }

    pub(crate) async fn create_repo_row(
        &self,
        ns: &AccountRow,
        name: &str,
        spec: &RepositorySpec<'_>,
        creator: Option<&Identity>,
    ) -> Result<Option<i64>, AuthError> {
        let db = &self.inner.db;
        let creator_account = match creator.and_then(Identity::account_id) {
            Some(id) => db.account_by_id(id).await?,
            None => None,
        };
        let admin_user_id = creator_account
            .as_ref()
            .filter(|c| !c.organization)
            .map(|c| c.id);
        let yesterday = (utc_now() - chrono::Duration::days(1)).date();
        let Some(repo_id) = db
            .insert_repository(&NewRepository {
                namespace_id: ns.id,
                name: name.to_owned(),
                visibility: Visibility::public_if(spec.public),
                kind: spec.kind,
                description: spec.description.map(str::to_owned),
                badge_token: uuid::Uuid::new_v4().to_string(),
                admin_user_id,
                action_count_date: yesterday,
            })
            .await?
        else {
            return Ok(None);
        };
        if let Some(c) = creator_account.filter(|c| !c.organization && c.username != ns.username) {
            self.apply_default_permissions(repo_id, ns.id, c.id).await?;
        }
        Ok(Some(repo_id))
    }

    /// Quay `apply_default_permissions`: per delegate, a prototype bound to the creating
    /// user wins over a general one; the creator itself is skipped (it already is admin).
    async fn apply_default_permissions(
        &self,
        repo_id: i64,
        org_id: i64,
        creator_id: i64,
    ) -> Result<(), AuthError> {
        let db = &self.inner.db;
        let protos = db.permission_prototypes(org_id, creator_id).await?;
        let mut teams: BTreeMap<i64, String> = BTreeMap::new();
        let mut users: BTreeMap<i64, String> = BTreeMap::new();
        for p in protos {
            let (map, key) = match (p.delegate_team_id, p.delegate_user_id) {
                (Some(t), None) => (&mut teams, t),
                (None, Some(u)) => (&mut users, u),
                _ => continue,
            };
            if map.contains_key(&key) && p.activating_user_id.is_none() {
                continue;
            }
            map.insert(key, p.role);
        }
        for (team_id, role) in teams {
            db.add_team_repo_role_if_missing(repo_id, team_id, &role)
                .await?;
        }
        for (user_id, role) in users {
            if user_id != creator_id {
                db.add_user_repo_role_if_missing(repo_id, user_id, &role)
                    .await?;
            }
        }
        Ok(())
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

    #[test]
    fn quay_validation_rules() {
        assert!(validate_password("abcdefgh"));
        assert!(!validate_password("abcdefg"));
        assert!(!validate_password("abcd efgh"));
        assert!(validate_email("a@b.co"));
        assert!(!validate_email("a@bco"));
        assert!(!validate_email("@b.co"));
        assert!(!validate_email("a@.co"));
        assert!(validate_username("ab").is_ok());
        assert_eq!(
            validate_username("a").expect_err("too short"),
            "Namespace must be between 2 and 255 characters in length"
        );
        assert_eq!(
            validate_username("Ab").expect_err("uppercase"),
            format!("Namespace must match expression {USERNAME_REGEX_TEXT}")
        );
    }
}
