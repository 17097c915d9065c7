//! Queries behind quayside-auth: account rows (`user`: users, organizations, robots),
//! credentials (`robotaccounttoken`, `appspecificauthtoken`, `oauthaccesstoken`,
//! `oauthapplication`) and instance service keys (`servicekey`, `servicekeyapproval`).
//!
//! Values are stored exactly as Quay stores them; encryption and hashing happen in
//! quayside-auth, this layer only moves strings. Integer columns are `integer` (INT4) on
//! PostgreSQL, so rows are read as `i32` and handed out as `i64`.

use crate::db::begin_write;
use chrono::NaiveDateTime;

use crate::{with_pool, Db, MetaError};

/// One row of Quay's `user` table (a user, an organization or a robot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: i64,
    pub uuid: Option<String>,
    pub username: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub organization: bool,
    pub robot: bool,
    pub enabled: bool,
    pub invalid_login_attempts: i64,
    pub last_invalid_login: NaiveDateTime,
}

#[derive(sqlx::FromRow)]
struct AccountDb {
    id: i32,
    uuid: Option<String>,
    username: String,
    email: String,
    password_hash: Option<String>,
    organization: bool,
    robot: bool,
    enabled: bool,
    invalid_login_attempts: i32,
    last_invalid_login: NaiveDateTime,
}

impl From<AccountDb> for AccountRow {
    fn from(r: AccountDb) -> Self {
        AccountRow {
            id: r.id.into(),
            uuid: r.uuid,
            username: r.username,
            email: r.email,
            password_hash: r.password_hash,
            organization: r.organization,
            robot: r.robot,
            enabled: r.enabled,
            invalid_login_attempts: r.invalid_login_attempts.into(),
            last_invalid_login: r.last_invalid_login,
        }
    }
}

const ACCOUNT_COLS: &str = "id, uuid, username, email, password_hash, organization, robot, \
     enabled, invalid_login_attempts, last_invalid_login";

/// Values for a new `user` row. Columns not listed get Quay's model defaults
/// (`stripe_id` NULL, `invoice_email` false, `invalid_login_attempts` 0, `enabled` true).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub uuid: String,
    pub username: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub verified: bool,
    pub organization: bool,
    pub robot: bool,
    pub removed_tag_expiration_s: i64,
    /// `creation_date` and `last_invalid_login` (Quay: `datetime.utcnow()`).
    pub now: NaiveDateTime,
}

/// A robot account's extra rows.
#[derive(Debug, Clone)]
pub struct NewRobot {
    pub account: NewAccount,
    /// `robotaccounttoken.token`, already encrypted (`v0$$…`).
    pub encrypted_token: String,
    pub description: String,
}

/// `appspecificauthtoken` row as needed for login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTokenRow {
    pub id: i64,
    pub uuid: String,
    pub user_id: i64,
    pub title: String,
    /// Encrypted secret part (`v0$$…`).
    pub token_secret: String,
}

/// Values for a new `appspecificauthtoken` row.
#[derive(Debug, Clone)]
pub struct NewAppToken {
    pub user_id: i64,
    pub uuid: String,
    pub title: String,
    pub token_name: String,
    pub encrypted_secret: String,
    pub created: NaiveDateTime,
    pub expiration: Option<NaiveDateTime>,
}

/// `oauthaccesstoken` row as needed for login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTokenRow {
    pub id: i64,
    pub uuid: String,
    pub application_id: i64,
    pub authorized_user_id: i64,
    pub scope: String,
    /// bcrypt hash of the secret part.
    pub token_code: String,
    pub expires_at: NaiveDateTime,
}

/// Values for a new `oauthaccesstoken` row.
#[derive(Debug, Clone)]
pub struct NewOAuthToken {
    pub uuid: String,
    pub application_id: i64,
    pub authorized_user_id: i64,
    pub scope: String,
    pub token_name: String,
    pub token_code_hash: String,
    /// `token_type`: `Bearer` from the authorize flow, `token` from Quay's
    /// `create_user_access_token`.
    pub token_type: String,
    pub expires_at: NaiveDateTime,
    /// `data` column: JSON `{"username": ...}` from the authorize flow, empty from Quay's
    /// `create_user_access_token`.
    pub data: String,
    pub created: NaiveDateTime,
}

/// Values for a new `oauthapplication` row.
#[derive(Debug, Clone)]
pub struct NewOAuthApplication {
    pub organization_id: i64,
    pub name: String,
    pub client_id: String,
    pub encrypted_client_secret: String,
    pub redirect_uri: String,
    pub application_uri: String,
    pub description: String,
}

/// `servicekey` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKeyRow {
    pub kid: String,
    pub name: String,
    pub service: String,
    /// Public JWK as JSON text.
    pub jwk: String,
    pub created_date: NaiveDateTime,
    pub expiration_date: Option<NaiveDateTime>,
    pub approval_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ServiceKeyDb {
    kid: String,
    name: String,
    service: String,
    jwk: String,
    created_date: NaiveDateTime,
    expiration_date: Option<NaiveDateTime>,
    approval_id: Option<i32>,
}

/// A new, already-approved service key (Quay's `generate_key` + `approve_service_key`).
#[derive(Debug, Clone)]
pub struct NewServiceKey {
    pub name: String,
    pub kid: String,
    pub service: String,
    pub jwk: String,
    pub metadata: String,
    pub created_date: NaiveDateTime,
    pub expiration_date: Option<NaiveDateTime>,
    pub approval_type: String,
    pub approval_notes: String,
    /// The user who approved it (`None` for automatic approvals).
    pub approver_id: Option<i64>,
    /// Keys of `service` that expired before this instant are garbage-collected first
    /// (Quay: now − `EXPIRED_SERVICE_KEY_TTL_SEC`).
    pub gc_expired_before: NaiveDateTime,
    /// Unapproved keys of `service` created before this instant are garbage-collected first
    /// (Quay: now − `UNAPPROVED_SERVICE_KEY_TTL_SEC`).
    pub gc_unapproved_before: NaiveDateTime,
}

fn opt_i64(v: Option<i32>) -> Option<i64> {
    v.map(i64::from)
}

/// An `i64` id as the `integer` Quay declares. An id beyond i32 cannot name a row of those
/// columns: it is an error ([`MetaError::IdOutOfRange`]), never a stand-in value that could
/// match or write something else.
pub(crate) fn id32(id: i64) -> Result<i32, MetaError> {
    i32::try_from(id).map_err(|_| MetaError::IdOutOfRange(id))
}

/// A paging cursor ("ids from `start` on") as an `integer`: below the range every id
/// follows it, above it none does, so it clamps instead of failing.
pub(crate) fn id32_cursor(start: i64) -> i32 {
    i32::try_from(start).unwrap_or(if start < 0 { i32::MIN } else { i32::MAX })
}

impl Db {
    /// Account (user, organization or robot) by exact username.
    pub async fn account_by_username(
        &self,
        username: &str,
    ) -> Result<Option<AccountRow>, MetaError> {
        let sql = format!(r#"SELECT {ACCOUNT_COLS} FROM "user" WHERE username = $1"#);
        let row: Option<AccountDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Account by id.
    pub async fn account_by_id(&self, id: i64) -> Result<Option<AccountRow>, MetaError> {
        let sql = format!(r#"SELECT {ACCOUNT_COLS} FROM "user" WHERE id = $1"#);
        let row: Option<AccountDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(id)?).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Quay's `verify_user` lookup: the account whose username is `username_or_email`,
    /// or a non-organization account with that e-mail (a username match wins).
    pub async fn account_for_login(
        &self,
        username_or_email: &str,
    ) -> Result<Option<AccountRow>, MetaError> {
        let sql = format!(
            r#"SELECT {ACCOUNT_COLS} FROM "user"
               WHERE username = $1 OR (email = $1 AND organization = $2)
               ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END, id LIMIT 1"#
        );
        let row: Option<AccountDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username_or_email).bind(false).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Whether a non-organization account already uses `email`.
    pub async fn email_used_by_user(&self, email: &str) -> Result<bool, MetaError> {
        const SQL: &str = r#"SELECT COUNT(*) FROM "user" WHERE email = $1 AND organization = $2"#;
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(email).bind(false).fetch_one(pool).await
        })?;
        Ok(n > 0)
    }

    /// Failed password: `invalid_login_attempts + 1`, `last_invalid_login = now`.
    pub async fn record_invalid_login(&self, id: i64, now: NaiveDateTime) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET invalid_login_attempts = invalid_login_attempts + 1,
                              last_invalid_login = $2 WHERE id = $1"#;
        with_pool!(self, pool => sqlx::query(SQL).bind(id32(id)?).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Successful password after failures: `invalid_login_attempts = 0`.
    pub async fn clear_invalid_logins(&self, id: i64) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET invalid_login_attempts = 0 WHERE id = $1"#;
        with_pool!(self, pool => sqlx::query(SQL).bind(id32(id)?).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Quay's `update_last_accessed` for an account: only written when the stored value
    /// is NULL or older than `stale_before` (`LAST_ACCESSED_UPDATE_THRESHOLD_S`).
    pub async fn touch_account_last_accessed(
        &self,
        id: i64,
        now: NaiveDateTime,
        stale_before: NaiveDateTime,
    ) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET last_accessed = $2
                             WHERE id = $1 AND (last_accessed IS NULL OR last_accessed < $3)"#;
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(id)?).bind(now).bind(stale_before).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Inserts a `user` row; returns its id.
    pub async fn insert_account(&self, a: &NewAccount) -> Result<i64, MetaError> {
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let id: i32 = sqlx::query_scalar(INSERT_ACCOUNT_SQL)
                .bind(&a.uuid)
                .bind(&a.username)
                .bind(&a.password_hash)
                .bind(&a.email)
                .bind(a.verified)
                .bind(a.organization)
                .bind(a.robot)
                .bind(false)
                .bind(a.now)
                .bind(a.removed_tag_expiration_s)
                .bind(true)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            id
        });
        Ok(id.into())
    }

    /// Quay's `create_organization`: the organization row, its `owners` team (role `admin`)
    /// and the owner as that team's member, in one transaction. Returns the org id.
    pub async fn insert_organization(
        &self,
        org: &NewAccount,
        owner_id: i64,
    ) -> Result<i64, MetaError> {
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let id: i32 = sqlx::query_scalar(INSERT_ACCOUNT_SQL)
                .bind(&org.uuid)
                .bind(&org.username)
                .bind(&org.password_hash)
                .bind(&org.email)
                .bind(org.verified)
                .bind(true)
                .bind(false)
                .bind(false)
                .bind(org.now)
                .bind(org.removed_tag_expiration_s)
                .bind(true)
                .fetch_one(&mut *tx)
                .await?;
            let team_id: i32 = sqlx::query_scalar(
                "INSERT INTO team (name, organization_id, role_id, description) \
                 VALUES ($1, $2, (SELECT id FROM teamrole WHERE name = $3), $4) RETURNING id",
            )
            .bind("owners")
            .bind(id)
            .bind("admin")
            .bind("")
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO teammember (user_id, team_id) VALUES ($1, $2)")
                .bind(id32(owner_id)?)
                .bind(team_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            id
        });
        Ok(id.into())
    }

    /// Quay's `create_robot`: robot `user` row, `robotaccounttoken` (fully migrated),
    /// `federatedlogin` (`quayrobot`, `robot:<id>`) and `robotaccountmetadata`.
    pub async fn insert_robot(&self, r: &NewRobot) -> Result<i64, MetaError> {
        let a = &r.account;
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let id: i32 = sqlx::query_scalar(INSERT_ACCOUNT_SQL)
                .bind(&a.uuid)
                .bind(&a.username)
                .bind(Option::<String>::None)
                .bind(&a.email)
                .bind(false)
                .bind(false)
                .bind(true)
                .bind(false)
                .bind(a.now)
                .bind(a.removed_tag_expiration_s)
                .bind(true)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(&r.encrypted_token)
            .bind(true)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO federatedlogin (user_id, service_id, service_ident, metadata_json) \
                 VALUES ($1, (SELECT id FROM loginservice WHERE name = $2), $3, $4)",
            )
            .bind(id)
            .bind("quayrobot")
            .bind(format!("robot:{id}"))
            .bind("{}")
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(&r.description)
            .bind("{}")
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        Ok(id.into())
    }

    /// Encrypted `robotaccounttoken.token` of a robot, if it has one.
    pub async fn robot_token(&self, robot_id: i64) -> Result<Option<String>, MetaError> {
        const SQL: &str = "SELECT token FROM robotaccounttoken WHERE robot_account_id = $1";
        let token: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(robot_id)?).fetch_optional(pool).await
        })?;
        Ok(token)
    }

    /// Unexpired app-specific token by its 60-character `token_name`.
    pub async fn app_token_by_name(
        &self,
        token_name: &str,
        now: NaiveDateTime,
    ) -> Result<Option<AppTokenRow>, MetaError> {
        const SQL: &str =
            "SELECT id, uuid, user_id, title, token_secret FROM appspecificauthtoken \
                           WHERE token_name = $1 AND (expiration IS NULL OR expiration > $2)";
        let row: Option<(i32, String, i32, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(token_name).bind(now).fetch_optional(pool).await
        })?;
        Ok(
            row.map(|(id, uuid, user_id, title, token_secret)| AppTokenRow {
                id: id.into(),
                uuid,
                user_id: user_id.into(),
                title,
                token_secret,
            }),
        )
    }

    /// `appspecificauthtoken.last_accessed`, throttled like Quay's `update_last_accessed`.
    pub async fn touch_app_token(
        &self,
        id: i64,
        now: NaiveDateTime,
        stale_before: NaiveDateTime,
    ) -> Result<(), MetaError> {
        const SQL: &str = "UPDATE appspecificauthtoken SET last_accessed = $2 \
                           WHERE id = $1 AND (last_accessed IS NULL OR last_accessed < $3)";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(id)?).bind(now).bind(stale_before).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Inserts an app-specific token; returns its id.
    pub async fn insert_app_token(&self, t: &NewAppToken) -> Result<i64, MetaError> {
        const SQL: &str = "INSERT INTO appspecificauthtoken \
             (user_id, uuid, title, token_name, token_secret, created, expiration) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        let id: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(t.user_id)?)
                .bind(&t.uuid)
                .bind(&t.title)
                .bind(&t.token_name)
                .bind(&t.encrypted_secret)
                .bind(t.created)
                .bind(t.expiration)
                .fetch_one(pool)
                .await
        })?;
        Ok(id.into())
    }

    /// OAuth access token by its 20-character `token_name`.
    pub async fn oauth_token_by_name(
        &self,
        token_name: &str,
    ) -> Result<Option<OAuthTokenRow>, MetaError> {
        const SQL: &str =
            "SELECT id, uuid, application_id, authorized_user_id, scope, token_code, \
                           expires_at FROM oauthaccesstoken WHERE token_name = $1";
        let row: Option<(i32, String, i32, i32, String, String, NaiveDateTime)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(token_name).fetch_optional(pool).await
        })?;
        Ok(row.map(
            |(id, uuid, application_id, authorized_user_id, scope, token_code, expires_at)| {
                OAuthTokenRow {
                    id: id.into(),
                    uuid,
                    application_id: application_id.into(),
                    authorized_user_id: authorized_user_id.into(),
                    scope,
                    token_code,
                    expires_at,
                }
            },
        ))
    }

    /// Id of the organization's OAuth application called `name`, created if missing.
    pub async fn ensure_oauth_application(
        &self,
        app: &NewOAuthApplication,
    ) -> Result<i64, MetaError> {
        const FIND: &str =
            "SELECT id FROM oauthapplication WHERE organization_id = $1 AND name = $2 ORDER BY id LIMIT 1";
        const INSERT: &str = "INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, \
             organization_id, name, description, gravatar_email, secure_client_secret, fully_migrated) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8) RETURNING id";
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let found: Option<i32> = sqlx::query_scalar(FIND)
                .bind(id32(app.organization_id)?)
                .bind(&app.name)
                .fetch_optional(&mut *tx)
                .await?;
            let id = match found {
                Some(id) => id,
                None => {
                    sqlx::query_scalar(INSERT)
                        .bind(&app.client_id)
                        .bind(&app.redirect_uri)
                        .bind(&app.application_uri)
                        .bind(id32(app.organization_id)?)
                        .bind(&app.name)
                        .bind(&app.description)
                        .bind(&app.encrypted_client_secret)
                        .bind(false)
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            tx.commit().await?;
            id
        });
        Ok(id.into())
    }

    /// Inserts an OAuth access token; returns its id.
    pub async fn insert_oauth_token(&self, t: &NewOAuthToken) -> Result<i64, MetaError> {
        const SQL: &str =
            "INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, \
             scope, token_name, token_code, token_type, expires_at, data, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
        let id: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(&t.uuid)
                .bind(id32(t.application_id)?)
                .bind(id32(t.authorized_user_id)?)
                .bind(&t.scope)
                .bind(&t.token_name)
                .bind(&t.token_code_hash)
                .bind(&t.token_type)
                .bind(t.expires_at)
                .bind(&t.data)
                .bind(t.created)
                .fetch_one(pool)
                .await
        })?;
        Ok(id.into())
    }

    /// Service key by kid (any state; callers decide what is trusted).
    pub async fn service_key(&self, kid: &str) -> Result<Option<ServiceKeyRow>, MetaError> {
        const SQL: &str =
            "SELECT kid, name, service, jwk, created_date, expiration_date, approval_id \
                           FROM servicekey WHERE kid = $1";
        let row: Option<ServiceKeyDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(kid).fetch_optional(pool).await
        })?;
        Ok(row.map(|r| ServiceKeyRow {
            kid: r.kid,
            name: r.name,
            service: r.service,
            jwk: r.jwk,
            created_date: r.created_date,
            expiration_date: r.expiration_date,
            approval_id: opt_i64(r.approval_id),
        }))
    }

    /// Quay's `generate_key` + `approve_service_key` in one transaction: garbage-collects
    /// stale keys of the service, inserts the approval and the key referencing it.
    pub async fn insert_approved_service_key(&self, k: &NewServiceKey) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            sqlx::query(crate::servicekeys::GC_STALE_KEYS_SQL)
            .bind(&k.service)
            .bind(k.gc_expired_before)
            .bind(k.gc_unapproved_before)
            .execute(&mut *tx)
            .await?;
            let approval_id: i32 = sqlx::query_scalar(
                "INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(k.approver_id.and_then(|id| i32::try_from(id).ok()))
            .bind(&k.approval_type)
            .bind(k.created_date)
            .bind(&k.approval_notes)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, \
                 expiration_date, rotation_duration, approval_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
            )
            .bind(&k.name)
            .bind(&k.kid)
            .bind(&k.service)
            .bind(&k.jwk)
            .bind(&k.metadata)
            .bind(k.created_date)
            .bind(k.expiration_date)
            .bind(approval_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// `approval_type` of a service key's approval (None when unapproved or unknown).
    pub async fn service_key_approval_type(&self, kid: &str) -> Result<Option<String>, MetaError> {
        const SQL: &str = "SELECT a.approval_type FROM servicekey k \
                           JOIN servicekeyapproval a ON a.id = k.approval_id WHERE k.kid = $1";
        let t: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(kid).fetch_optional(pool).await
        })?;
        Ok(t)
    }
}

const INSERT_ACCOUNT_SQL: &str = r#"INSERT INTO "user" (uuid, username, password_hash, email,
     verified, stripe_id, organization, robot, invoice_email, invalid_login_attempts,
     last_invalid_login, removed_tag_expiration_s, enabled, creation_date)
     VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, 0, $9, $10, $11, $9) RETURNING id"#;
