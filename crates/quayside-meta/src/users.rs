//! Queries behind Quay's user-account API (`endpoints/api/user.py`, `superuser.py`,
//! `appspecifictokens.py`; `data/model/user.py`, `appspecifictoken.py`): the full `user`
//! row as the views show it, profile changes, prompts, federated logins, the superuser
//! listings and app-specific token management.
//!
//! Values are written exactly as Quay's model functions write them; hashing, encryption
//! and the rules live in quayside-auth and the API crate.

use crate::db::begin_write;
use chrono::NaiveDateTime;

use crate::identity::{id32, id32_cursor};
use crate::{with_pool, Db, MetaError};

/// A `user` row with every column the user views read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetails {
    pub id: i64,
    pub uuid: Option<String>,
    pub username: String,
    pub email: String,
    pub verified: bool,
    pub stripe_id: Option<String>,
    pub organization: bool,
    pub robot: bool,
    pub enabled: bool,
    pub has_password: bool,
    pub invoice_email: bool,
    pub invoice_email_address: Option<String>,
    pub removed_tag_expiration_s: i64,
    pub company: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub location: Option<String>,
}

#[derive(sqlx::FromRow)]
struct UserDetailsDb {
    id: i32,
    uuid: Option<String>,
    username: String,
    email: String,
    verified: bool,
    stripe_id: Option<String>,
    organization: bool,
    robot: bool,
    enabled: bool,
    password_hash: Option<String>,
    invoice_email: bool,
    invoice_email_address: Option<String>,
    removed_tag_expiration_s: i64,
    company: Option<String>,
    family_name: Option<String>,
    given_name: Option<String>,
    location: Option<String>,
}

impl From<UserDetailsDb> for UserDetails {
    fn from(r: UserDetailsDb) -> Self {
        UserDetails {
            id: r.id.into(),
            uuid: r.uuid,
            username: r.username,
            email: r.email,
            verified: r.verified,
            stripe_id: r.stripe_id,
            organization: r.organization,
            robot: r.robot,
            enabled: r.enabled,
            has_password: r.password_hash.is_some_and(|h| !h.is_empty()),
            invoice_email: r.invoice_email,
            invoice_email_address: r.invoice_email_address,
            removed_tag_expiration_s: r.removed_tag_expiration_s,
            company: r.company,
            family_name: r.family_name,
            given_name: r.given_name,
            location: r.location,
        }
    }
}

const DETAIL_COLS: &str = "u.id, u.uuid, u.username, u.email, u.verified, u.stripe_id, \
     u.organization, u.robot, u.enabled, u.password_hash, u.invoice_email, \
     u.invoice_email_address, u.removed_tag_expiration_s, u.company, u.family_name, \
     u.given_name, u.location";

/// A federated login of a user (`federatedlogin` joined to `loginservice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedLoginRow {
    pub service: String,
    pub service_ident: String,
    pub metadata_json: String,
}

/// Profile fields of `PUT /api/v1/user/` (`update_user_metadata`): `Some(v)` sets the
/// column to `v` (which may be NULL), `None` leaves it alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserMetadataChange {
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub location: Option<Option<String>>,
}

/// An `appspecificauthtoken` row as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTokenDetails {
    pub id: i64,
    pub uuid: String,
    pub user_id: i64,
    pub title: String,
    pub created: NaiveDateTime,
    pub expiration: Option<NaiveDateTime>,
    pub last_accessed: Option<NaiveDateTime>,
    pub token_name: String,
    /// Encrypted secret part (`v0$$…`).
    pub token_secret: String,
}

#[derive(sqlx::FromRow)]
struct AppTokenDb {
    id: i32,
    uuid: String,
    user_id: i32,
    title: String,
    created: NaiveDateTime,
    expiration: Option<NaiveDateTime>,
    last_accessed: Option<NaiveDateTime>,
    token_name: String,
    token_secret: String,
}

impl From<AppTokenDb> for AppTokenDetails {
    fn from(r: AppTokenDb) -> Self {
        AppTokenDetails {
            id: r.id.into(),
            uuid: r.uuid,
            user_id: r.user_id.into(),
            title: r.title,
            created: r.created,
            expiration: r.expiration,
            last_accessed: r.last_accessed,
            token_name: r.token_name,
            token_secret: r.token_secret,
        }
    }
}

const APP_TOKEN_COLS: &str =
    "id, uuid, user_id, title, created, expiration, last_accessed, token_name, token_secret";

/// A `teammemberinvite` row as signup needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamInviteRow {
    pub user_id: Option<i64>,
    pub email: Option<String>,
}

impl Db {
    /// The full row of the account called `username` (any kind).
    pub async fn user_details_by_username(
        &self,
        username: &str,
    ) -> Result<Option<UserDetails>, MetaError> {
        let sql = format!(r#"SELECT {DETAIL_COLS} FROM "user" u WHERE u.username = $1"#);
        let row: Option<UserDetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// The full row of account `id`.
    pub async fn user_details_by_id(&self, id: i64) -> Result<Option<UserDetails>, MetaError> {
        let sql = format!(r#"SELECT {DETAIL_COLS} FROM "user" u WHERE u.id = $1"#);
        let row: Option<UserDetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(id)?).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Quay's `find_user_by_email`: whether any account (user, organization or robot)
    /// has this e-mail address.
    pub async fn email_in_use(&self, email: &str) -> Result<bool, MetaError> {
        const SQL: &str = r#"SELECT COUNT(*) FROM "user" WHERE email = $1"#;
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(email).fetch_one(pool).await
        })?;
        Ok(n > 0)
    }

    /// Quay's `get_user_organizations`: organizations in which the user is on a team,
    /// ordered by name.
    pub async fn user_organizations(&self, user_id: i64) -> Result<Vec<UserDetails>, MetaError> {
        let sql = format!(
            r#"SELECT {DETAIL_COLS} FROM "user" u WHERE u.organization = $2 AND u.id IN (
                   SELECT t.organization_id FROM team t
                   JOIN teammember tm ON tm.team_id = t.id WHERE tm.user_id = $1)
               ORDER BY u.username"#
        );
        let rows: Vec<UserDetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(user_id)?).bind(true).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Quay's `list_federated_logins`: the user's external logins, robots' `quayrobot`
    /// link excluded.
    pub async fn federated_logins(
        &self,
        user_id: i64,
    ) -> Result<Vec<FederatedLoginRow>, MetaError> {
        const SQL: &str = "SELECT s.name, f.service_ident, f.metadata_json FROM federatedlogin f \
             JOIN loginservice s ON s.id = f.service_id \
             WHERE f.user_id = $1 AND s.name <> $2 ORDER BY f.id";
        let rows: Vec<(String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(user_id)?).bind("quayrobot").fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(service, service_ident, metadata_json)| FederatedLoginRow {
                    service,
                    service_ident,
                    metadata_json,
                },
            )
            .collect())
    }

    /// Quay's `get_user_prompts`: the kinds of the user's pending prompts.
    pub async fn user_prompts(&self, user_id: i64) -> Result<Vec<String>, MetaError> {
        const SQL: &str =
            "SELECT k.name FROM userprompt p JOIN userpromptkind k ON k.id = p.kind_id \
             WHERE p.user_id = $1 ORDER BY p.id";
        let rows: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(user_id)?).fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Quay's `create_user_prompt` for each kind not yet pending.
    pub async fn add_user_prompts(&self, user_id: i64, kinds: &[&str]) -> Result<(), MetaError> {
        const SQL: &str = "INSERT INTO userprompt (user_id, kind_id) \
             SELECT $1, k.id FROM userpromptkind k WHERE k.name = $2 AND NOT EXISTS \
             (SELECT 1 FROM userprompt p WHERE p.user_id = $1 AND p.kind_id = k.id)";
        for kind in kinds {
            with_pool!(self, pool => {
                sqlx::query(SQL).bind(id32(user_id)?).bind(*kind).execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Quay's `remove_user_prompt` for each kind.
    pub async fn remove_user_prompts(&self, user_id: i64, kinds: &[&str]) -> Result<(), MetaError> {
        const SQL: &str = "DELETE FROM userprompt WHERE user_id = $1 AND kind_id IN \
             (SELECT id FROM userpromptkind WHERE name = $2)";
        for kind in kinds {
            with_pool!(self, pool => {
                sqlx::query(SQL).bind(id32(user_id)?).bind(*kind).execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Quay's `change_password`: the new hash, `invalid_login_attempts = 0`, a fresh
    /// `uuid` (`invalidate_all_sessions`), and the user's `password_required`
    /// notifications removed — in one transaction.
    pub async fn set_user_password(
        &self,
        user_id: i64,
        password_hash: &str,
        new_uuid: &str,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            sqlx::query(
                r#"UPDATE "user" SET password_hash = $2, invalid_login_attempts = 0, uuid = $3
                   WHERE id = $1"#,
            )
            .bind(id32(user_id)?)
            .bind(password_hash)
            .bind(new_uuid)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM notification WHERE target_id = $1 AND kind_id IN \
                 (SELECT id FROM notificationkind WHERE name = $2)",
            )
            .bind(id32(user_id)?)
            .bind("password_required")
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Quay's `change_send_invoice_email`.
    pub async fn set_invoice_email(&self, user_id: i64, on: bool) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET invoice_email = $2 WHERE id = $1"#;
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(on).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `change_invoice_email_address` (an empty address is stored as NULL).
    pub async fn set_invoice_email_address(
        &self,
        user_id: i64,
        address: Option<&str>,
    ) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET invoice_email_address = $2 WHERE id = $1"#;
        let address = address.filter(|a| !a.is_empty());
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(address).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `change_user_tag_expiration` (`removed_tag_expiration_s`).
    pub async fn set_tag_expiration(&self, user_id: i64, seconds: i64) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET removed_tag_expiration_s = $2 WHERE id = $1"#;
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(seconds).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `update_email`: the address and the `verified` flag.
    pub async fn set_user_email(
        &self,
        user_id: i64,
        email: &str,
        verified: bool,
    ) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET email = $2, verified = $3 WHERE id = $1"#;
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(email).bind(verified).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `update_enabled`.
    pub async fn set_user_enabled(&self, user_id: i64, enabled: bool) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET enabled = $2 WHERE id = $1"#;
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(enabled).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `update_user_metadata`: the given profile columns, then the `enter_name` and
    /// `enter_company` prompts removed, in one transaction.
    pub async fn set_user_metadata(
        &self,
        user_id: i64,
        change: &UserMetadataChange,
    ) -> Result<(), MetaError> {
        let fields = [
            ("given_name", &change.given_name),
            ("family_name", &change.family_name),
            ("company", &change.company),
            ("location", &change.location),
        ];
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            for (column, value) in fields {
                if let Some(value) = value {
                    let sql = format!(r#"UPDATE "user" SET {column} = $2 WHERE id = $1"#);
                    sqlx::query(&sql)
                        .bind(id32(user_id)?)
                        .bind(value.as_deref())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query(
                "DELETE FROM userprompt WHERE user_id = $1 AND kind_id IN \
                 (SELECT id FROM userpromptkind WHERE name = $2 OR name = $3)",
            )
            .bind(id32(user_id)?)
            .bind("enter_name")
            .bind("enter_company")
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Quay's `change_username`: the account's robots `<old>+x` become `<new>+x`, the
    /// account is renamed and its `confirm_username` prompt removed, in one transaction.
    pub async fn rename_namespace(&self, account_id: i64, new_name: &str) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let old: String = sqlx::query_scalar(r#"SELECT username FROM "user" WHERE id = $1"#)
                .bind(id32(account_id)?)
                .fetch_one(&mut *tx)
                .await?;
            let prefix = format!("{old}+");
            let robots: Vec<(i32, String)> = sqlx::query_as(
                r#"SELECT id, username FROM "user" WHERE robot = $1 AND substr(username, 1, $2) = $3"#,
            )
            .bind(true)
            .bind(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX))
            .bind(&prefix)
            .fetch_all(&mut *tx)
            .await?;
            for (robot_id, robot_name) in robots {
                let short = robot_name.get(prefix.len()..).unwrap_or_default();
                sqlx::query(r#"UPDATE "user" SET username = $2 WHERE id = $1"#)
                    .bind(robot_id)
                    .bind(format!("{new_name}+{short}"))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(r#"UPDATE "user" SET username = $2 WHERE id = $1"#)
                .bind(id32(account_id)?)
                .bind(new_name)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM userprompt WHERE user_id = $1 AND kind_id IN \
                 (SELECT id FROM userpromptkind WHERE name = $2)",
            )
            .bind(id32(account_id)?)
            .bind("confirm_username")
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Quay's `get_active_users(disabled)` (users only, by id): with `include_disabled`
    /// every user not marked for deletion, otherwise only enabled users. `start_id`
    /// starts the page at that id (inclusive); `limit` rows at most.
    pub async fn list_users(
        &self,
        include_disabled: bool,
        start_id: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<UserDetails>, MetaError> {
        let start = start_id.map_or(i32::MIN, id32_cursor);
        let limit = limit.unwrap_or(i64::MAX);
        let rows: Vec<UserDetailsDb> = if include_disabled {
            let sql = format!(
                r#"SELECT {DETAIL_COLS} FROM "user" u
                   WHERE u.organization = $1 AND u.robot = $1
                     AND u.id NOT IN (SELECT namespace_id FROM deletednamespace)
                     AND u.id >= $2
                   ORDER BY u.id LIMIT $3"#
            );
            with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(false).bind(start).bind(limit).fetch_all(pool).await
            })?
        } else {
            let sql = format!(
                r#"SELECT {DETAIL_COLS} FROM "user" u
                   WHERE u.organization = $1 AND u.robot = $1 AND u.enabled = $4
                     AND u.id >= $2
                   ORDER BY u.id LIMIT $3"#
            );
            with_pool!(self, pool => {
                sqlx::query_as(&sql)
                    .bind(false)
                    .bind(start)
                    .bind(limit)
                    .bind(true)
                    .fetch_all(pool)
                    .await
            })?
        };
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Quay's `get_organizations()`: organizations not marked for deletion, by id.
    pub async fn list_organizations(
        &self,
        start_id: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<UserDetails>, MetaError> {
        let sql = format!(
            r#"SELECT {DETAIL_COLS} FROM "user" u
               WHERE u.organization = $1 AND u.robot = $2
                 AND u.id NOT IN (SELECT namespace_id FROM deletednamespace) AND u.id >= $3
               ORDER BY u.id LIMIT $4"#
        );
        let rows: Vec<UserDetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(true)
                .bind(false)
                .bind(start_id.map_or(i32::MIN, id32_cursor))
                .bind(limit.unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Quay's `list_tokens`: every app-specific token of the user (expired ones too), by id.
    pub async fn list_app_tokens(&self, user_id: i64) -> Result<Vec<AppTokenDetails>, MetaError> {
        let sql = format!(
            "SELECT {APP_TOKEN_COLS} FROM appspecificauthtoken WHERE user_id = $1 ORDER BY id"
        );
        let rows: Vec<AppTokenDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(user_id)?).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The token whose 60-character `token_name` is `token_name`.
    pub async fn app_token_by_token_name(
        &self,
        token_name: &str,
    ) -> Result<Option<AppTokenDetails>, MetaError> {
        let sql =
            format!("SELECT {APP_TOKEN_COLS} FROM appspecificauthtoken WHERE token_name = $1");
        let row: Option<AppTokenDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(token_name).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Quay's `get_expiring_tokens`: the user's tokens with `now < expiration <= soon`.
    pub async fn expiring_app_tokens(
        &self,
        user_id: i64,
        now: NaiveDateTime,
        soon: NaiveDateTime,
    ) -> Result<Vec<AppTokenDetails>, MetaError> {
        let sql = format!(
            "SELECT {APP_TOKEN_COLS} FROM appspecificauthtoken \
             WHERE user_id = $1 AND expiration <= $2 AND expiration > $3 ORDER BY id"
        );
        let rows: Vec<AppTokenDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(user_id)?).bind(soon).bind(now).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Quay's `get_token_by_uuid(uuid, owner)`: an unexpired token of the user.
    pub async fn app_token_by_uuid(
        &self,
        user_id: i64,
        uuid: &str,
        now: NaiveDateTime,
    ) -> Result<Option<AppTokenDetails>, MetaError> {
        let sql = format!(
            "SELECT {APP_TOKEN_COLS} FROM appspecificauthtoken WHERE uuid = $1 AND user_id = $2 \
             AND (expiration IS NULL OR expiration > $3)"
        );
        let row: Option<AppTokenDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(uuid).bind(id32(user_id)?).bind(now).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Quay's `revoke_token_by_uuid(uuid, owner)`: deletes the user's token (expired or
    /// not) and returns what it was; `None` when the user has no such token.
    pub async fn delete_app_token(
        &self,
        user_id: i64,
        uuid: &str,
    ) -> Result<Option<AppTokenDetails>, MetaError> {
        let sql = format!(
            "SELECT {APP_TOKEN_COLS} FROM appspecificauthtoken WHERE uuid = $1 AND user_id = $2 \
             ORDER BY id LIMIT 1"
        );
        let row: Option<AppTokenDb> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let row: Option<AppTokenDb> = sqlx::query_as(&sql)
                .bind(uuid)
                .bind(id32(user_id)?)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(r) = &row {
                sqlx::query("DELETE FROM appspecificauthtoken WHERE id = $1")
                    .bind(r.id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            row
        });
        Ok(row.map(Into::into))
    }

    /// Quay's `lookup_team_invites_by_email`: whether any team invite names this e-mail.
    pub async fn team_invite_exists_for_email(&self, email: &str) -> Result<bool, MetaError> {
        const SQL: &str = "SELECT COUNT(*) FROM teammemberinvite WHERE email = $1";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(email).fetch_one(pool).await
        })?;
        Ok(n > 0)
    }

    /// Quay's `lookup_team_invite(code)`: the invite whose `invite_token` is `token`.
    pub async fn team_invite_by_token(
        &self,
        token: &str,
    ) -> Result<Option<TeamInviteRow>, MetaError> {
        const SQL: &str =
            "SELECT user_id, email FROM teammemberinvite WHERE invite_token = $1 ORDER BY id LIMIT 1";
        let row: Option<(Option<i32>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(token).fetch_optional(pool).await
        })?;
        Ok(row.map(|(user_id, email)| TeamInviteRow {
            user_id: user_id.map(i64::from),
            email,
        }))
    }

    /// Marks a user's e-mail as verified (an accepted team invite at signup).
    pub async fn set_user_verified(&self, user_id: i64) -> Result<(), MetaError> {
        const SQL: &str = r#"UPDATE "user" SET verified = $2 WHERE id = $1"#;
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(true).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }
}
