//! quayside-auth: Quay-compatible authentication and authorization.
//!
//! * credentials in a Quay database keep working: bcrypt user passwords, robot tokens and
//!   app-specific tokens encrypted with `DATABASE_SECRET_KEY` ([`secret`]), OAuth access
//!   tokens (20-character lookup name + bcrypt hash of the rest);
//! * the instance service key is created at start like Quay's `boot.py` (RSA 2048, kid =
//!   RFC 7638 thumbprint, approved `servicekey` row, `quay.kid` / `quay.pem` files), so
//!   registry JWTs minted by Quay verify here and the reverse;
//! * `/v2/auth` scope evaluation, repository roles and push-to-create follow Quay's
//!   `endpoints/v2/v2auth.py` and `auth/permissions.py`.
//!
//! [`Auth`] is cheap to clone and safe to share between requests.

mod accounts;
mod api_perms;
mod cache;
mod credentials;
mod error;
mod jwt;
pub mod keygen;
mod keys;
mod perms;
mod random;
mod robots;
pub mod secret;
mod service_keys;
pub mod user_password;
mod users;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quayside_meta::Db;

pub use accounts::{NewUserOptions, OAuthApplicationSpec};
pub use api_perms::{has_scope, repo_cap, team_cap, user_cap, TeamRole, UserRole};
pub use error::AuthError;
pub use jwt::TOKEN_LIFETIME_S;
pub use keys::{jwk_thumbprint, ServiceKeyApprovalType, INSTANCE_KEY_METADATA};
pub use robots::{python_json_dumps, RobotListing, RobotWithToken, ROBOT_TOKEN_LEN};
pub use secret::FieldEncrypter;
pub use service_keys::{valid_service_name, CreatedServiceKey, NewPresharedKey};
pub use user_password::UserPasswordCipher;

/// Quay's default bcrypt cost (`bcrypt.gensalt()`).
pub const DEFAULT_BCRYPT_COST: u32 = 12;

/// What quayside-auth needs from the configuration (Quay key names in the field docs).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `SERVER_HOSTNAME` (may include a port).
    pub server_hostname: String,
    /// `PREFERRED_URL_SCHEME`.
    pub preferred_url_scheme: String,
    /// `INSTANCE_SERVICE_KEY_SERVICE` (`quay`): JWT issuer and `servicekey.service`.
    pub service_name: String,
    /// `SUPER_USERS`.
    pub super_users: Vec<String>,
    /// `FEATURE_SUPER_USERS` (true).
    pub super_users_enabled: bool,
    /// `GLOBAL_READONLY_SUPER_USERS`: read every repository, write nothing.
    pub global_readonly_super_users: Vec<String>,
    /// `FEATURE_SUPERUSERS_FULL_ACCESS`.
    pub superusers_full_access: bool,
    /// `FEATURE_ANONYMOUS_ACCESS`.
    pub anonymous_access: bool,
    /// `FEATURE_APP_SPECIFIC_TOKENS`.
    pub app_specific_tokens: bool,
    /// `FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH`: Basic logins of users must use the
    /// encrypted password, not the password itself.
    pub require_encrypted_basic_auth: bool,
    /// `ROBOTS_DISALLOW`: robot logins are refused, except robots in `ROBOTS_WHITELIST`.
    pub robots_disallow: bool,
    /// `ROBOTS_WHITELIST` (full robot names, `ns+short`).
    pub robots_whitelist: Vec<String>,
    /// `CREATE_PRIVATE_REPO_ON_PUSH`.
    pub create_private_repo_on_push: bool,
    /// `CREATE_NAMESPACE_ON_PUSH`.
    pub create_namespace_on_push: bool,
    /// `DATABASE_SECRET_KEY`; without it robot and app-token logins are unavailable.
    pub database_secret_key: Option<String>,
    /// `SECRET_KEY`: the AES key of encrypted CLI passwords ([`user_password`]). Without
    /// it a random key is used for this process only, as Quay does with no `SECRET_KEY`.
    pub secret_key: Option<String>,
    /// `REGISTRY_JWT_AUTH_MAX_FRESH_S` (3660).
    pub jwt_max_fresh_s: u64,
    /// `INSTANCE_SERVICE_KEY_EXPIRATION` in minutes (120).
    pub instance_key_expiration_min: u64,
    /// `INSTANCE_SERVICE_KEY_KID_LOCATION`.
    pub kid_path: PathBuf,
    /// `INSTANCE_SERVICE_KEY_LOCATION`.
    pub pem_path: PathBuf,
    /// `LIBRARY_NAMESPACE` (`library`).
    pub library_namespace: String,
    /// `REGISTRY_STATE: readonly`.
    pub read_only: bool,
    /// `FEATURE_EXTENDED_REPOSITORY_NAMES` (true).
    pub extended_repository_names: bool,
    /// `FEATURE_PUBLIC_CATALOG` (false): `/v2/_catalog` also lists public repositories.
    pub public_catalog: bool,
    /// `DEFAULT_TAG_EXPIRATION` in seconds (2w = 1209600): new namespaces'
    /// `removed_tag_expiration_s`.
    pub default_tag_expiration_s: i64,
    /// `APP_SPECIFIC_TOKEN_EXPIRATION` (None: app tokens never expire).
    pub app_token_expiration: Option<Duration>,
    /// bcrypt cost for new password and OAuth token hashes. Quay uses 12; tests may lower it.
    pub bcrypt_cost: u32,
    /// How long a verified Basic credential is remembered (no bcrypt on repeat logins).
    pub credential_cache_ttl: Duration,
    /// Most remembered credentials at once.
    pub credential_cache_capacity: usize,
}

impl Default for AuthSettings {
    /// Quay's defaults (`config.py`), with the key files in the working directory.
    fn default() -> Self {
        AuthSettings {
            server_hostname: "localhost:5000".into(),
            preferred_url_scheme: "http".into(),
            service_name: "quay".into(),
            super_users: Vec::new(),
            super_users_enabled: true,
            global_readonly_super_users: Vec::new(),
            superusers_full_access: false,
            anonymous_access: true,
            app_specific_tokens: true,
            require_encrypted_basic_auth: false,
            robots_disallow: false,
            robots_whitelist: Vec::new(),
            create_private_repo_on_push: true,
            create_namespace_on_push: false,
            database_secret_key: None,
            secret_key: None,
            jwt_max_fresh_s: 3660,
            instance_key_expiration_min: 120,
            kid_path: PathBuf::from("quay.kid"),
            pem_path: PathBuf::from("quay.pem"),
            library_namespace: "library".into(),
            read_only: false,
            extended_repository_names: true,
            public_catalog: false,
            default_tag_expiration_s: 1_209_600,
            app_token_expiration: None,
            bcrypt_cost: DEFAULT_BCRYPT_COST,
            credential_cache_ttl: Duration::from_secs(60),
            credential_cache_capacity: 10_000,
        }
    }
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    User {
        id: i64,
        username: String,
        uuid: String,
    },
    /// `username` is `<namespace>+<shortname>`.
    Robot {
        id: i64,
        username: String,
        owner_id: i64,
    },
    /// `$oauthtoken` login; `scopes` cap the user's roles.
    OAuthToken {
        user_id: i64,
        username: String,
        token_uuid: String,
        scopes: Vec<String>,
    },
    /// `$app` login.
    AppToken {
        user_id: i64,
        username: String,
        token_uuid: String,
    },
}

impl Identity {
    /// The authenticated user's (or robot's) name; None for anonymous.
    pub fn username(&self) -> Option<&str> {
        match self {
            Identity::Anonymous => None,
            Identity::User { username, .. }
            | Identity::Robot { username, .. }
            | Identity::OAuthToken { username, .. }
            | Identity::AppToken { username, .. } => Some(username),
        }
    }

    /// `user.id` of the acting account (the robot itself for robots).
    pub fn account_id(&self) -> Option<i64> {
        match self {
            Identity::Anonymous => None,
            Identity::User { id, .. } | Identity::Robot { id, .. } => Some(*id),
            Identity::OAuthToken { user_id, .. } | Identity::AppToken { user_id, .. } => {
                Some(*user_id)
            }
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Identity::Anonymous)
    }

    pub fn is_robot(&self) -> bool {
        matches!(self, Identity::Robot { .. })
    }
}

/// Repository role, ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    /// Quay's `role.name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// From Quay's `role.name`.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An action in a registry scope / JWT `access` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Pull,
    Push,
    /// `*`
    All,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::All => "*",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "*" => Some(Action::All),
            _ => None,
        }
    }

    /// The repository role Quay requires for the action.
    pub fn required_role(self) -> Role {
        match self {
            Action::Pull => Role::Read,
            Action::Push => Role::Write,
            Action::All => Role::Admin,
        }
    }
}

/// What a verified registry JWT grants.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// `sub`: username, robot `ns+name`, or `(anonymous)`.
    pub subject: String,
    /// `access` entries: name as in the token (may carry the hostname prefix) and actions.
    pub access: Vec<(String, Vec<Action>)>,
    /// The `context` claim, verbatim.
    pub context: serde_json::Value,
    /// `exp` (Unix seconds).
    pub expires_at: i64,
    library_namespace: String,
}

impl Grant {
    /// Role the token grants on `repo` (`ns/name`, or a library short name), like Quay's
    /// `identity_from_bearer_token`: `*` → admin, else `push` → write, else `pull` → read.
    pub fn role(&self, repo: &str) -> Option<Role> {
        let want = perms::normalize_repo(repo, &self.library_namespace);
        self.access
            .iter()
            .filter(|(name, _)| perms::normalize_repo(name, &self.library_namespace) == want)
            .filter_map(|(_, actions)| {
                if actions.contains(&Action::All) {
                    Some(Role::Admin)
                } else if actions.contains(&Action::Push) {
                    Some(Role::Write)
                } else if actions.contains(&Action::Pull) {
                    Some(Role::Read)
                } else {
                    None
                }
            })
            .max()
    }

    /// Whether the token allows `action` on `repo` (`*` ⊇ push ⊇ pull).
    pub fn allows(&self, repo: &str, action: Action) -> bool {
        self.role(repo).is_some_and(|r| r >= action.required_role())
    }

    /// Whether the token was issued to an anonymous caller.
    pub fn is_anonymous(&self) -> bool {
        self.subject == jwt::ANONYMOUS_SUB
    }
}

/// Authentication and authorization service.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: AuthSettings,
    encrypter: Option<FieldEncrypter>,
    user_passwords: UserPasswordCipher,
    signer: keys::LocalKey,
    verifier: keys::KeyCache,
    credentials: cache::CredentialCache,
    bcrypt_runs: AtomicU64,
    namespaces: quayside_domain::Namespaces,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("service", &self.inner.settings.service_name)
            .field("kid", &self.inner.signer.kid)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Boot step: creates (or in read-only mode loads) the instance service key.
    pub async fn start(db: Db, settings: AuthSettings) -> Result<Auth, AuthError> {
        let encrypter = match settings.database_secret_key.as_deref() {
            Some(k) => {
                Some(FieldEncrypter::new(k).map_err(|e| AuthError::Unavailable(e.to_string()))?)
            }
            None => None,
        };
        let user_passwords = match settings.secret_key.as_deref() {
            Some(k) => {
                UserPasswordCipher::new(k).map_err(|e| AuthError::Unavailable(e.to_string()))?
            }
            None => {
                tracing::warn!(
                    "SECRET_KEY is not configured: encrypted passwords use a key that changes at every start"
                );
                UserPasswordCipher::random()
            }
        };
        let signer = if settings.read_only {
            keys::load_read_only_key(&db, &settings).await?
        } else {
            keys::create_instance_key(&db, &settings).await?
        };
        let credentials = cache::CredentialCache::new(
            settings.credential_cache_ttl,
            settings.credential_cache_capacity,
        );
        let namespaces = quayside_domain::Namespaces::new(
            db.clone(),
            quayside_domain::NamespaceSettings {
                default_tag_expiration_s: settings.default_tag_expiration_s,
                extended_repository_names: settings.extended_repository_names,
            },
        );
        Ok(Auth {
            inner: Arc::new(Inner {
                db,
                settings,
                namespaces,
                encrypter,
                user_passwords,
                signer,
                verifier: keys::KeyCache::default(),
                credentials,
                bcrypt_runs: AtomicU64::new(0),
            }),
        })
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    /// The namespace, organization and repository rules (`quayside_domain::namespace`),
    /// over this instance's database and settings: what `/v2/auth` creates on push and
    /// what the API creates go through the same handle.
    pub fn namespaces(&self) -> &quayside_domain::Namespaces {
        &self.inner.namespaces
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Quay's `encrypt_user_password`: `password` encrypted under `SECRET_KEY`, usable
    /// in place of the password for Basic logins ([`Auth::verify_basic`]).
    pub fn encrypt_user_password(&self, password: &str) -> String {
        self.inner.user_passwords.encrypt(password)
    }

    /// Key id of this instance's service key (the JWT header `kid`).
    pub fn instance_kid(&self) -> &str {
        &self.inner.signer.kid
    }

    /// How many bcrypt verifications this instance has run (observability and tests).
    pub fn bcrypt_runs(&self) -> u64 {
        self.inner.bcrypt_runs.load(Ordering::Relaxed)
    }

    /// `WWW-Authenticate` value; `scope` is `(ns/repo, "pull" | "pull,push")`.
    pub fn challenge(&self, scope: Option<(&str, &str)>) -> String {
        let s = &self.inner.settings;
        let mut out = format!(
            "Bearer realm=\"{}://{}/v2/auth\",service=\"{}\"",
            s.preferred_url_scheme, s.server_hostname, s.server_hostname
        );
        if let Some((repo, actions)) = scope {
            out.push_str(&format!(",scope=\"repository:{repo}:{actions}\""));
        }
        out
    }

    /// Encrypts a value for one of Quay's encrypted columns (mirror and proxy-cache
    /// credentials) under `DATABASE_SECRET_KEY`.
    pub fn encrypt_field(&self, value: &str) -> Result<String, AuthError> {
        Ok(self.encrypter()?.encrypt(value))
    }

    /// Decrypts a value of one of Quay's encrypted columns.
    pub fn decrypt_field(&self, stored: &str) -> Result<String, AuthError> {
        self.encrypter()?
            .decrypt(stored)
            .map_err(|e| AuthError::Internal(format!("a stored secret cannot be decrypted: {e}")))
    }

    fn encrypter(&self) -> Result<&FieldEncrypter, AuthError> {
        self.inner
            .encrypter
            .as_ref()
            .ok_or_else(|| AuthError::Unavailable("DATABASE_SECRET_KEY is not configured".into()))
    }

    async fn bcrypt_verify(&self, secret: &str, hash: &str) -> Result<bool, AuthError> {
        self.inner.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        let (secret, hash) = (secret.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || bcrypt::verify(secret, &hash).unwrap_or(false))
            .await
            .map_err(|e| AuthError::Internal(format!("bcrypt task failed: {e}")))
    }

    async fn bcrypt_hash(&self, secret: &str) -> Result<String, AuthError> {
        let secret = secret.to_owned();
        let cost = self.inner.settings.bcrypt_cost;
        tokio::task::spawn_blocking(move || bcrypt::hash(secret, cost))
            .await
            .map_err(|e| AuthError::Internal(format!("bcrypt task failed: {e}")))?
            .map_err(|e| AuthError::Internal(format!("bcrypt: {e}")))
    }
}

/// Current time as Quay stores it (naive UTC).
fn utc_now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
