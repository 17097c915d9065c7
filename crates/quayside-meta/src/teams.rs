//! Teams of organizations as Quay stores them (`data/model/team.py`): `team` rows with their
//! `teamrole`, `teammember` rows, pending `teammemberinvite` rows (with the
//! `org_team_invite` notification Quay creates for an invited user) and the repository
//! permissions granted to a team.

use crate::db::begin_write;
use chrono::NaiveDateTime;

use crate::identity::{id32, AccountRow};
use crate::{with_pool, Db, MetaError};

/// One `team` row with its role name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub organization_id: i64,
    /// `member`, `creator` or `admin`.
    pub role: String,
    pub description: String,
}

#[derive(sqlx::FromRow)]
struct TeamDb {
    id: i32,
    name: String,
    organization_id: i32,
    role: String,
    description: String,
}

impl From<TeamDb> for TeamRow {
    fn from(t: TeamDb) -> Self {
        TeamRow {
            id: t.id.into(),
            name: t.name,
            organization_id: t.organization_id.into(),
            role: t.role,
            description: t.description,
        }
    }
}

/// A team with the counts Quay's `get_teams_within_org` adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary {
    pub team: TeamRow,
    /// Repository permissions granted to the team.
    pub repo_count: i64,
    /// `teammember` rows (users and robots).
    pub member_count: i64,
}

/// A pending `teammemberinvite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamInviteRow {
    pub id: i64,
    /// The invited account (user invites).
    pub user: Option<AccountRow>,
    /// The invited e-mail address (e-mail invites).
    pub email: Option<String>,
    pub inviter_id: i64,
    pub invite_token: String,
}

/// Values of a new invite.
#[derive(Debug, Clone)]
pub struct NewTeamInvite {
    pub team_id: i64,
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub inviter_id: i64,
    /// `urn:teaminvite:<uuid>` (Quay's column default).
    pub invite_token: String,
    /// The `notification` row Quay creates for an invited user (`org_team_invite`).
    pub notification: Option<NewNotification>,
}

/// A `notification` row.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub uuid: String,
    /// `notificationkind.name`.
    pub kind: String,
    pub target_id: i64,
    pub metadata_json: String,
    pub created: NaiveDateTime,
}

/// A repository permission of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRepoPermission {
    pub repository: String,
    pub visibility: crate::Visibility,
    pub role: String,
}

/// `user` columns of a joined account, aliased `u`.
pub(crate) const MEMBER_COLS: &str = "u.id AS id, u.uuid AS uuid, u.username AS username, \
     u.email AS email, u.password_hash AS password_hash, u.organization AS organization, \
     u.robot AS robot, u.enabled AS enabled, u.invalid_login_attempts AS invalid_login_attempts, \
     u.last_invalid_login AS last_invalid_login";

#[derive(sqlx::FromRow)]
pub(crate) struct MemberDb {
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

impl From<MemberDb> for AccountRow {
    fn from(r: MemberDb) -> Self {
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

/// (id, user_id, email, inviter_id, invite_token)
type InviteDb = (i32, Option<i32>, Option<String>, i32, String);

const TEAM_COLS: &str = "t.id AS id, t.name AS name, t.organization_id AS organization_id, \
     tr.name AS role, t.description AS description";

impl Db {
    /// Team `name` of organization `organization_id`.
    pub async fn team_by_name(
        &self,
        organization_id: i64,
        name: &str,
    ) -> Result<Option<TeamRow>, MetaError> {
        let sql = format!(
            "SELECT {TEAM_COLS} FROM team t JOIN teamrole tr ON tr.id = t.role_id \
             WHERE t.organization_id = $1 AND t.name = $2"
        );
        let row: Option<TeamDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(organization_id)?).bind(name).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Every team of an organization with its repository and member counts, by team id.
    pub async fn teams_of_org(&self, organization_id: i64) -> Result<Vec<TeamSummary>, MetaError> {
        let sql = format!(
            "SELECT {TEAM_COLS}, \
             (SELECT COUNT(*) FROM repositorypermission p WHERE p.team_id = t.id) AS repo_count, \
             (SELECT COUNT(*) FROM teammember m WHERE m.team_id = t.id) AS member_count \
             FROM team t JOIN teamrole tr ON tr.id = t.role_id \
             WHERE t.organization_id = $1 ORDER BY t.id"
        );
        let rows: Vec<(i32, String, i32, String, String, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(organization_id)?).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, org, role, description, repo_count, member_count)| TeamSummary {
                    team: TeamRow {
                        id: id.into(),
                        name,
                        organization_id: org.into(),
                        role,
                        description,
                    },
                    repo_count,
                    member_count,
                },
            )
            .collect())
    }

    /// Quay's `create_team`: a `team` row with role `role` (`member`/`creator`/`admin`).
    pub async fn insert_team(
        &self,
        organization_id: i64,
        name: &str,
        role: &str,
        description: &str,
    ) -> Result<i64, MetaError> {
        const SQL: &str = "INSERT INTO team (name, organization_id, role_id, description) \
             VALUES ($1, $2, (SELECT id FROM teamrole WHERE name = $3), $4) RETURNING id";
        let id: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(name)
                .bind(id32(organization_id)?)
                .bind(role)
                .bind(description)
                .fetch_one(pool)
                .await
        })?;
        Ok(id.into())
    }

    pub async fn set_team_description(
        &self,
        team_id: i64,
        description: &str,
    ) -> Result<(), MetaError> {
        const SQL: &str = "UPDATE team SET description = $2 WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(team_id)?).bind(description).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    pub async fn set_team_role(&self, team_id: i64, role: &str) -> Result<(), MetaError> {
        const SQL: &str =
            "UPDATE team SET role_id = (SELECT id FROM teamrole WHERE name = $2) WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(team_id)?).bind(role).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `team.delete_instance(recursive=True, delete_nullable=True)`: the team and
    /// every row pointing at it (members, invites, repository permissions, default
    /// permissions delegated to it, sync config), in one transaction.
    pub async fn delete_team(&self, team_id: i64) -> Result<(), MetaError> {
        const DEPENDENTS: [&str; 5] = [
            "DELETE FROM teammember WHERE team_id = $1",
            "DELETE FROM teammemberinvite WHERE team_id = $1",
            "DELETE FROM repositorypermission WHERE team_id = $1",
            "DELETE FROM permissionprototype WHERE delegate_team_id = $1",
            "DELETE FROM teamsync WHERE team_id = $1",
        ];
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            for sql in DEPENDENTS {
                sqlx::query(sql).bind(id32(team_id)?).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM team WHERE id = $1")
                .bind(id32(team_id)?)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Names of the `admin` teams of organization `organization_id` that `account_id` is
    /// on (Quay's `__get_user_admin_teams`), by team id.
    pub async fn account_admin_team_names(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT t.name FROM team t \
            JOIN teammember tm ON tm.team_id = t.id \
            JOIN teamrole tr ON tr.id = t.role_id \
            WHERE tm.user_id = $1 AND t.organization_id = $2 AND tr.name = $3 ORDER BY t.id";
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(account_id)?)
                .bind(id32(organization_id)?)
                .bind("admin")
                .fetch_all(pool)
                .await
        })?;
        Ok(names)
    }

    /// Members (users and robots) of a team, in the order they were added.
    pub async fn team_members(&self, team_id: i64) -> Result<Vec<AccountRow>, MetaError> {
        let sql = format!(
            "SELECT {MEMBER_COLS} FROM teammember tm JOIN \"user\" u ON u.id = tm.user_id \
             WHERE tm.team_id = $1 ORDER BY tm.id"
        );
        let rows: Vec<MemberDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(team_id)?).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Whether `account_id` is on team `team_id`.
    pub async fn is_team_member(&self, team_id: i64, account_id: i64) -> Result<bool, MetaError> {
        const SQL: &str = "SELECT COUNT(*) FROM teammember WHERE team_id = $1 AND user_id = $2";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(team_id)?).bind(id32(account_id)?).fetch_one(pool).await
        })?;
        Ok(n > 0)
    }

    /// Whether `account_id` is on any team of organization `organization_id`.
    pub async fn is_org_team_member(
        &self,
        organization_id: i64,
        account_id: i64,
    ) -> Result<bool, MetaError> {
        const SQL: &str = "SELECT COUNT(*) FROM teammember tm JOIN team t ON t.id = tm.team_id \
             WHERE t.organization_id = $1 AND tm.user_id = $2";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(organization_id)?)
                .bind(id32(account_id)?)
                .fetch_one(pool)
                .await
        })?;
        Ok(n > 0)
    }

    /// Quay's `add_user_to_team` (a `teammember` row). `Ok(false)` when already a member.
    pub async fn add_team_member(&self, team_id: i64, account_id: i64) -> Result<bool, MetaError> {
        const SQL: &str = "INSERT INTO teammember (user_id, team_id) SELECT $1, $2 \
             WHERE NOT EXISTS (SELECT 1 FROM teammember WHERE user_id = $1 AND team_id = $2)";
        let n = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id32(account_id)?)
                .bind(id32(team_id)?)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    /// Removes `account_id` from a team; `Ok(false)` when it was not a member.
    pub async fn remove_team_member(
        &self,
        team_id: i64,
        account_id: i64,
    ) -> Result<bool, MetaError> {
        const SQL: &str = "DELETE FROM teammember WHERE team_id = $1 AND user_id = $2";
        let n = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id32(team_id)?)
                .bind(id32(account_id)?)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    /// Pending invites of a team, oldest first.
    pub async fn team_invites(&self, team_id: i64) -> Result<Vec<TeamInviteRow>, MetaError> {
        const SQL: &str = "SELECT id, user_id, email, inviter_id, invite_token \
             FROM teammemberinvite WHERE team_id = $1 ORDER BY id";
        let rows: Vec<InviteDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(team_id)?).fetch_all(pool).await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, user_id, email, inviter_id, invite_token) in rows {
            let user = match user_id {
                Some(u) => self.account_by_id(u.into()).await?,
                None => None,
            };
            out.push(TeamInviteRow {
                id: id.into(),
                user,
                email,
                inviter_id: inviter_id.into(),
                invite_token,
            });
        }
        Ok(out)
    }

    /// Quay's `TeamMemberInvite.create` plus, for an invited user, its `notification`
    /// row — in one transaction. Returns the invite id.
    pub async fn insert_team_invite(&self, invite: &NewTeamInvite) -> Result<i64, MetaError> {
        const INVITE: &str = "INSERT INTO teammemberinvite (user_id, email, team_id, inviter_id, \
             invite_token) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        const NOTIFICATION: &str = "INSERT INTO notification (uuid, kind_id, target_id, \
             metadata_json, created, dismissed, lookup_path) \
             VALUES ($1, (SELECT id FROM notificationkind WHERE name = $2), $3, $4, $5, $6, NULL)";
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let id: i32 = sqlx::query_scalar(INVITE)
                .bind(invite.user_id.map(id32).transpose()?)
                .bind(invite.email.as_deref())
                .bind(id32(invite.team_id)?)
                .bind(id32(invite.inviter_id)?)
                .bind(&invite.invite_token)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(n) = &invite.notification {
                sqlx::query(NOTIFICATION)
                    .bind(&n.uuid)
                    .bind(&n.kind)
                    .bind(id32(n.target_id)?)
                    .bind(&n.metadata_json)
                    .bind(n.created)
                    .bind(false)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id.into())
    }

    /// Quay's `delete_team_user_invite`: removes one invite of `account_id` to the team;
    /// `Ok(false)` when there is none.
    pub async fn delete_team_user_invite(
        &self,
        team_id: i64,
        account_id: i64,
    ) -> Result<bool, MetaError> {
        const FIND: &str =
            "SELECT id FROM teammemberinvite WHERE team_id = $1 AND user_id = $2 ORDER BY id";
        const DELETE: &str = "DELETE FROM teammemberinvite WHERE id = $1";
        let found: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(FIND)
                .bind(id32(team_id)?)
                .bind(id32(account_id)?)
                .fetch_optional(pool)
                .await
        })?;
        let Some(id) = found else {
            return Ok(false);
        };
        with_pool!(self, pool => {
            sqlx::query(DELETE).bind(id).execute(pool).await.map(|_| ())
        })?;
        Ok(true)
    }

    /// Repository permissions of a team (Quay's `list_team_permissions`), by permission id.
    pub async fn team_repo_permissions(
        &self,
        team_id: i64,
    ) -> Result<Vec<TeamRepoPermission>, MetaError> {
        const SQL: &str = "SELECT r.name, v.name, ro.name FROM repositorypermission p \
             JOIN repository r ON r.id = p.repository_id \
             JOIN visibility v ON v.id = r.visibility_id \
             JOIN role ro ON ro.id = p.role_id \
             WHERE p.team_id = $1 ORDER BY p.id";
        let rows: Vec<(String, crate::Visibility, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(team_id)?).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(repository, visibility, role)| TeamRepoPermission {
                repository,
                visibility,
                role,
            })
            .collect())
    }
}
