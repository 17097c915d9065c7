//! Organizations as Quay stores them (`data/model/organization.py`, `user.py`,
//! `permission.py`): the organization row with its settings and contact e-mail
//! (`organizationcontactemail`), membership through teams, direct repository permissions
//! of members and outside collaborators, and default permissions (`permissionprototype`).

use crate::db::begin_write;
use crate::identity::{id32, AccountRow, NewAccount};
use crate::teams::{MemberDb, MEMBER_COLS};
use crate::{with_pool, Db, MetaError};

/// An organization's row with the settings its API view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    pub account: AccountRow,
    pub invoice_email: bool,
    pub invoice_email_address: Option<String>,
    pub removed_tag_expiration_s: i64,
    pub stripe_id: Option<String>,
    /// `organizationcontactemail.contact_email`.
    pub contact_email: Option<String>,
}

/// One `teammember` row of an organization's team, with the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMembership {
    pub team_id: i64,
    pub team_name: String,
    pub member: AccountRow,
}

/// A direct (user or robot) permission on a repository of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUserPermission {
    pub member: AccountRow,
    pub repository: String,
}

/// One `permissionprototype` with its accounts, team and role resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrototypeDetail {
    pub id: i64,
    pub uuid: String,
    pub role: String,
    pub activating_user: Option<AccountRow>,
    pub delegate_user: Option<AccountRow>,
    /// `(team id, team name)`.
    pub delegate_team: Option<(i64, String)>,
}

/// Values of a new `permissionprototype`.
#[derive(Debug, Clone)]
pub struct NewPrototype {
    pub org_id: i64,
    pub uuid: String,
    pub role: String,
    pub activating_user_id: Option<i64>,
    pub delegate_user_id: Option<i64>,
    pub delegate_team_id: Option<i64>,
}

type OrgDb = (
    i32,
    bool,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
);

type PrototypeDb = (i32, String, String, Option<i32>, Option<i32>, Option<i32>);

impl Db {
    /// The organization named `name` (not a user or robot).
    pub async fn org_by_name(&self, name: &str) -> Result<Option<OrgRow>, MetaError> {
        const SQL: &str = r#"SELECT u.id, u.invoice_email, u.invoice_email_address,
                u.removed_tag_expiration_s, u.stripe_id, c.contact_email
            FROM "user" u LEFT JOIN organizationcontactemail c ON c.organization_id = u.id
            WHERE u.username = $1 AND u.organization = $2"#;
        let row: Option<OrgDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(name).bind(true).fetch_optional(pool).await
        })?;
        let Some((id, invoice_email, invoice_email_address, tag_exp, stripe_id, contact)) = row
        else {
            return Ok(None);
        };
        let Some(account) = self.account_by_id(id.into()).await? else {
            return Ok(None);
        };
        Ok(Some(OrgRow {
            account,
            invoice_email,
            invoice_email_address,
            removed_tag_expiration_s: tag_exp,
            stripe_id,
            contact_email: contact,
        }))
    }

    /// Quay's `create_organization`: the organization row (`org.email` is its internal
    /// address), its `organizationcontactemail` row when a contact is given, the `owners`
    /// team (role `admin`) and the creator as its member — in one transaction. `Ok(None)`
    /// when the name is taken.
    pub async fn insert_organization_with_contact(
        &self,
        org: &NewAccount,
        contact_email: Option<&str>,
        owner_id: i64,
    ) -> Result<Option<i64>, MetaError> {
        const ACCOUNT: &str = r#"INSERT INTO "user" (uuid, username, password_hash, email,
             verified, stripe_id, organization, robot, invoice_email, invalid_login_attempts,
             last_invalid_login, removed_tag_expiration_s, enabled, creation_date)
             VALUES ($1, $2, NULL, $3, $4, NULL, $5, $6, $7, 0, $8, $9, $10, $8) RETURNING id"#;
        let id: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let inserted: Result<i32, sqlx::Error> = sqlx::query_scalar(ACCOUNT)
                .bind(&org.uuid)
                .bind(&org.username)
                .bind(&org.email)
                .bind(org.verified)
                .bind(true)
                .bind(false)
                .bind(false)
                .bind(org.now)
                .bind(org.removed_tag_expiration_s)
                .bind(true)
                .fetch_one(&mut *tx)
                .await;
            let id = match inserted {
                Ok(id) => id,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tx.rollback().await?;
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(contact) = contact_email {
                sqlx::query(
                    "INSERT INTO organizationcontactemail (organization_id, contact_email) \
                     VALUES ($1, $2)",
                )
                .bind(id)
                .bind(contact)
                .execute(&mut *tx)
                .await?;
            }
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
            Some(id)
        });
        Ok(id.map(i64::from))
    }

    /// Sets (`Some`) or removes (`None`) an organization's contact e-mail
    /// (`set_contact_email` / `delete_contact_email`).
    pub async fn set_org_contact_email(
        &self,
        organization_id: i64,
        contact: Option<&str>,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let updated = match contact {
                Some(c) => sqlx::query(
                    "UPDATE organizationcontactemail SET contact_email = $2 WHERE organization_id = $1",
                )
                .bind(id32(organization_id)?)
                .bind(c)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                None => {
                    sqlx::query("DELETE FROM organizationcontactemail WHERE organization_id = $1")
                        .bind(id32(organization_id)?)
                        .execute(&mut *tx)
                        .await?;
                    1
                }
            };
            if let (Some(c), 0) = (contact, updated) {
                sqlx::query(
                    "INSERT INTO organizationcontactemail (organization_id, contact_email) VALUES ($1, $2)",
                )
                .bind(id32(organization_id)?)
                .bind(c)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every `teammember` row of the organization's teams (Quay's
    /// `list_organization_members_by_teams`), in the order the members were added.
    pub async fn org_memberships(
        &self,
        organization_id: i64,
    ) -> Result<Vec<OrgMembership>, MetaError> {
        let sql = format!(
            "SELECT t.id AS team_id, t.name AS team_name, {MEMBER_COLS} FROM teammember tm \
             JOIN team t ON t.id = tm.team_id JOIN \"user\" u ON u.id = tm.user_id \
             WHERE t.organization_id = $1 ORDER BY tm.id"
        );
        let rows = with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(id32(organization_id)?).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                use sqlx::{FromRow, Row};
                let team_id: i32 = r.try_get("team_id")?;
                let team_name: String = r.try_get("team_name")?;
                let member = MemberDb::from_row(r)?;
                out.push(OrgMembership {
                    team_id: team_id.into(),
                    team_name,
                    member: member.into(),
                });
            }
            out
        });
        Ok(rows)
    }

    /// Teams (id, name) of the organization that `account_id` is on, by team id.
    pub async fn account_org_teams(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<(i64, String)>, MetaError> {
        const SQL: &str =
            "SELECT t.id, t.name FROM team t JOIN teammember tm ON tm.team_id = t.id \
             WHERE tm.user_id = $1 AND t.organization_id = $2 ORDER BY t.id";
        let rows: Vec<(i32, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(id32(account_id)?)
                .bind(id32(organization_id)?)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(|(i, n)| (i64::from(i), n)).collect())
    }

    /// Direct permissions on the namespace's repositories (Quay's
    /// `list_organization_member_permissions`): of `only` when given (robots included),
    /// else of every non-robot account. By permission id.
    pub async fn org_user_permissions(
        &self,
        namespace_id: i64,
        only: Option<i64>,
    ) -> Result<Vec<OrgUserPermission>, MetaError> {
        let filter = if only.is_some() {
            "p.user_id = $2"
        } else {
            "u.robot = $2"
        };
        let sql = format!(
            "SELECT r.name AS repository, {MEMBER_COLS} FROM repositorypermission p \
             JOIN repository r ON r.id = p.repository_id JOIN \"user\" u ON u.id = p.user_id \
             WHERE r.namespace_user_id = $1 AND {filter} ORDER BY p.id"
        );
        let rows = with_pool!(self, pool => {
            let q = sqlx::query(&sql).bind(id32(namespace_id)?);
            let q = match only {
                Some(id) => q.bind(id32(id)?),
                None => q.bind(false),
            };
            let rows = q.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                use sqlx::{FromRow, Row};
                let repository: String = r.try_get("repository")?;
                let member = MemberDb::from_row(r)?;
                out.push(OrgUserPermission {
                    member: member.into(),
                    repository,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Distinct non-robot users on the organization's `admin` teams (Quay's
    /// `get_admin_users`).
    pub async fn org_admin_user_ids(&self, organization_id: i64) -> Result<Vec<i64>, MetaError> {
        const SQL: &str = r#"SELECT DISTINCT u.id FROM "user" u
            JOIN teammember tm ON tm.user_id = u.id JOIN team t ON t.id = tm.team_id
            JOIN teamrole tr ON tr.id = t.role_id
            WHERE t.organization_id = $1 AND tr.name = $2 AND u.robot = $3"#;
        let ids: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(organization_id)?)
                .bind("admin")
                .bind(false)
                .fetch_all(pool)
                .await
        })?;
        let mut ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Quay's `remove_organization_member` (after its only-admin check): the account's
    /// direct permissions on the organization's repositories and its memberships in the
    /// organization's teams, in one transaction.
    pub async fn remove_org_member(
        &self,
        organization_id: i64,
        account_id: i64,
    ) -> Result<(), MetaError> {
        const PERMS: &str =
            "DELETE FROM repositorypermission WHERE user_id = $2 AND repository_id IN \
             (SELECT id FROM repository WHERE namespace_user_id = $1)";
        const TEAMS: &str = "DELETE FROM teammember WHERE user_id = $2 AND team_id IN \
             (SELECT id FROM team WHERE organization_id = $1)";
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            for sql in [PERMS, TEAMS] {
                sqlx::query(sql)
                    .bind(id32(organization_id)?)
                    .bind(id32(account_id)?)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Default permissions of an organization, by id.
    pub async fn org_prototypes(&self, org_id: i64) -> Result<Vec<PrototypeDetail>, MetaError> {
        const SQL: &str = "SELECT p.id, p.uuid, ro.name, p.activating_user_id, \
             p.delegate_user_id, p.delegate_team_id FROM permissionprototype p \
             JOIN role ro ON ro.id = p.role_id WHERE p.org_id = $1 ORDER BY p.id";
        let rows: Vec<PrototypeDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(org_id)?).fetch_all(pool).await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.prototype_detail(row).await?);
        }
        Ok(out)
    }

    /// The organization's default permission with `uuid`.
    pub async fn org_prototype(
        &self,
        org_id: i64,
        uuid: &str,
    ) -> Result<Option<PrototypeDetail>, MetaError> {
        const SQL: &str = "SELECT p.id, p.uuid, ro.name, p.activating_user_id, \
             p.delegate_user_id, p.delegate_team_id FROM permissionprototype p \
             JOIN role ro ON ro.id = p.role_id WHERE p.org_id = $1 AND p.uuid = $2 \
             ORDER BY p.id LIMIT 1";
        let row: Option<PrototypeDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(org_id)?).bind(uuid).fetch_optional(pool).await
        })?;
        match row {
            Some(r) => Ok(Some(self.prototype_detail(r).await?)),
            None => Ok(None),
        }
    }

    async fn prototype_detail(&self, row: PrototypeDb) -> Result<PrototypeDetail, MetaError> {
        let (id, uuid, role, activating, delegate_user, delegate_team) = row;
        let activating_user = match activating {
            Some(a) => self.account_by_id(a.into()).await?,
            None => None,
        };
        let delegate_user = match delegate_user {
            Some(u) => self.account_by_id(u.into()).await?,
            None => None,
        };
        let delegate_team = match delegate_team {
            Some(t) => {
                const SQL: &str = "SELECT name FROM team WHERE id = $1";
                let name: Option<String> = with_pool!(self, pool => {
                    sqlx::query_scalar(SQL).bind(t).fetch_optional(pool).await
                })?;
                name.map(|n| (i64::from(t), n))
            }
            None => None,
        };
        Ok(PrototypeDetail {
            id: id.into(),
            uuid,
            role,
            activating_user,
            delegate_user,
            delegate_team,
        })
    }

    /// Quay's `add_prototype_permission`. Returns the row id.
    pub async fn insert_prototype(&self, p: &NewPrototype) -> Result<i64, MetaError> {
        const SQL: &str = "INSERT INTO permissionprototype (org_id, uuid, activating_user_id, \
             delegate_user_id, delegate_team_id, role_id) \
             VALUES ($1, $2, $3, $4, $5, (SELECT id FROM role WHERE name = $6)) RETURNING id";
        let id: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(p.org_id)?)
                .bind(&p.uuid)
                .bind(p.activating_user_id.map(id32).transpose()?)
                .bind(p.delegate_user_id.map(id32).transpose()?)
                .bind(p.delegate_team_id.map(id32).transpose()?)
                .bind(&p.role)
                .fetch_one(pool)
                .await
        })?;
        Ok(id.into())
    }

    /// Quay's `update_prototype_permission`.
    pub async fn set_prototype_role(&self, id: i64, role: &str) -> Result<(), MetaError> {
        const SQL: &str =
            "UPDATE permissionprototype SET role_id = (SELECT id FROM role WHERE name = $2) WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(id)?).bind(role).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `delete_prototype_permission`.
    pub async fn delete_prototype(&self, id: i64) -> Result<(), MetaError> {
        const SQL: &str = "DELETE FROM permissionprototype WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(id)?).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }
}
