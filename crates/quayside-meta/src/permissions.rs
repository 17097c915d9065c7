//! Queries behind quayside-auth's permission model: repositories with their visibility,
//! kind and state, direct and team repository permissions, team roles in organizations,
//! default permissions (`permissionprototype`) and the catalog's visible repositories.

use crate::db::begin_write;
use chrono::NaiveDate;

use crate::identity::id32;
use crate::{with_pool, Db, MetaError, RepositoryKind, RepositoryState, Visibility};

/// A repository with its namespace and lookup names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRow {
    pub id: i64,
    pub namespace_id: i64,
    pub namespace: String,
    pub name: String,
    pub visibility: Visibility,
    pub kind: RepositoryKind,
    pub state: RepositoryState,
}

#[derive(sqlx::FromRow)]
struct RepoDb {
    id: i32,
    namespace_id: i32,
    namespace: String,
    name: String,
    visibility: Visibility,
    kind: RepositoryKind,
    state: RepositoryState,
}

/// Values for Quay's `create_repository`.
#[derive(Debug, Clone)]
pub struct NewRepository {
    pub namespace_id: i64,
    pub name: String,
    pub visibility: Visibility,
    pub kind: RepositoryKind,
    /// `repository.description` (Quay: NULL unless given at creation).
    pub description: Option<String>,
    pub badge_token: String,
    /// Gets an explicit `admin` permission (Quay: a non-organization creator).
    pub admin_user_id: Option<i64>,
    /// `repositoryactioncount.date` (Quay: yesterday).
    pub action_count_date: NaiveDate,
}

/// One `permissionprototype` row (ids only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrototypeRow {
    pub activating_user_id: Option<i64>,
    pub delegate_user_id: Option<i64>,
    pub delegate_team_id: Option<i64>,
    pub role: String,
}

/// (activating_user_id, delegate_user_id, delegate_team_id, role name)
type PrototypeDb = (Option<i32>, Option<i32>, Option<i32>, String);

impl Db {
    /// Repository `namespace/name` (any state, any kind).
    pub async fn repository_by_name(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RepoRow>, MetaError> {
        const SQL: &str = r#"SELECT r.id AS id, r.namespace_user_id AS namespace_id,
                u.username AS namespace, r.name AS name, v.name AS visibility,
                k.name AS kind, r.state AS state
            FROM repository r
            JOIN "user" u ON u.id = r.namespace_user_id
            JOIN visibility v ON v.id = r.visibility_id
            JOIN repositorykind k ON k.id = r.kind_id
            WHERE u.username = $1 AND r.name = $2"#;
        let row: Option<RepoDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(namespace).bind(name).fetch_optional(pool).await
        })?;
        Ok(row.map(|r| RepoRow {
            id: r.id.into(),
            namespace_id: r.namespace_id.into(),
            namespace: r.namespace,
            name: r.name,
            visibility: r.visibility,
            kind: r.kind,
            state: r.state,
        }))
    }

    /// Role names (`admin`/`write`/`read`) the account holds on a repository, directly
    /// or through any team it is a member of.
    pub async fn account_repo_roles(
        &self,
        account_id: i64,
        repository_id: i64,
    ) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT ro.name FROM repositorypermission p \
                JOIN role ro ON ro.id = p.role_id \
                WHERE p.repository_id = $1 AND p.user_id = $2 \
            UNION ALL \
            SELECT ro.name FROM repositorypermission p \
                JOIN role ro ON ro.id = p.role_id \
                JOIN teammember tm ON tm.team_id = p.team_id \
                WHERE p.repository_id = $1 AND tm.user_id = $2";
        let roles: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(repository_id)?)
                .bind(id32(account_id)?)
                .fetch_all(pool)
                .await
        })?;
        Ok(roles)
    }

    /// Team role names (`admin`/`creator`/`member`) the account holds in an organization.
    pub async fn account_team_roles(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT tr.name FROM teammember tm \
            JOIN team t ON t.id = tm.team_id \
            JOIN teamrole tr ON tr.id = t.role_id \
            WHERE tm.user_id = $1 AND t.organization_id = $2";
        let roles: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(account_id)?)
                .bind(id32(organization_id)?)
                .fetch_all(pool)
                .await
        })?;
        Ok(roles)
    }

    /// Names of the teams of organization `organization_id` that `account_id` is on.
    pub async fn account_team_names(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT t.name FROM teammember tm \
            JOIN team t ON t.id = tm.team_id \
            WHERE tm.user_id = $1 AND t.organization_id = $2";
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(account_id)?)
                .bind(id32(organization_id)?)
                .fetch_all(pool)
                .await
        })?;
        Ok(names)
    }

    /// Quay's `create_repository`: the repository, its `repositoryactioncount` and
    /// `repositorysearchscore` rows and the creator's `admin` permission, in one
    /// transaction. `Ok(None)` when `namespace/name` already exists.
    pub async fn insert_repository(&self, r: &NewRepository) -> Result<Option<i64>, MetaError> {
        const EXISTS: &str =
            "SELECT COUNT(*) FROM repository WHERE namespace_user_id = $1 AND name = $2";
        const INSERT: &str = "INSERT INTO repository (namespace_user_id, name, visibility_id, \
             description, badge_token, kind_id, trust_enabled, state) \
             VALUES ($1, $2, (SELECT id FROM visibility WHERE name = $3), $7, $4, \
             (SELECT id FROM repositorykind WHERE name = $5), $6, $8) RETURNING id";
        let id: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let existing: i64 = sqlx::query_scalar(EXISTS)
                .bind(id32(r.namespace_id)?)
                .bind(&r.name)
                .fetch_one(&mut *tx)
                .await?;
            if existing > 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            let inserted: Result<i32, sqlx::Error> = sqlx::query_scalar(INSERT)
                .bind(id32(r.namespace_id)?)
                .bind(&r.name)
                .bind(r.visibility)
                .bind(&r.badge_token)
                .bind(r.kind)
                .bind(false)
                .bind(&r.description)
                .bind(RepositoryState::Normal)
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
            sqlx::query(
                "INSERT INTO repositoryactioncount (repository_id, count, date) VALUES ($1, 0, $2)",
            )
            .bind(id)
            .bind(r.action_count_date)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO repositorysearchscore (repository_id, score, last_updated) \
                 VALUES ($1, 0, NULL)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if let Some(user_id) = r.admin_user_id {
                sqlx::query(
                    "INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) \
                     VALUES (NULL, $1, $2, (SELECT id FROM role WHERE name = $3))",
                )
                .bind(id32(user_id)?)
                .bind(id)
                .bind("admin")
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Some(id)
        });
        Ok(id.map(i64::from))
    }

    /// Default-permission prototypes of an organization that apply when `creator_id`
    /// creates a repository (activating user = creator, or none).
    pub async fn permission_prototypes(
        &self,
        organization_id: i64,
        creator_id: i64,
    ) -> Result<Vec<PrototypeRow>, MetaError> {
        const SQL: &str = "SELECT p.activating_user_id, p.delegate_user_id, p.delegate_team_id, \
            ro.name FROM permissionprototype p JOIN role ro ON ro.id = p.role_id \
            WHERE p.org_id = $1 AND (p.activating_user_id = $2 OR p.activating_user_id IS NULL) \
            ORDER BY p.id";
        let rows: Vec<PrototypeDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(id32(organization_id)?)
                .bind(id32(creator_id)?)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(a, u, t, role)| PrototypeRow {
                activating_user_id: a.map(i64::from),
                delegate_user_id: u.map(i64::from),
                delegate_team_id: t.map(i64::from),
                role,
            })
            .collect())
    }

    /// Sets the role of a user (or robot) on a repository, replacing any previous one.
    pub async fn set_user_repo_role(
        &self,
        repository_id: i64,
        account_id: i64,
        role: &str,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            sqlx::query("DELETE FROM repositorypermission WHERE repository_id = $1 AND user_id = $2")
                .bind(id32(repository_id)?)
                .bind(id32(account_id)?)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) \
                 VALUES (NULL, $1, $2, (SELECT id FROM role WHERE name = $3))",
            )
            .bind(id32(account_id)?)
            .bind(id32(repository_id)?)
            .bind(role)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds a team permission on a repository unless the team already has one.
    pub async fn add_team_repo_role_if_missing(
        &self,
        repository_id: i64,
        team_id: i64,
        role: &str,
    ) -> Result<(), MetaError> {
        const SQL: &str = "INSERT INTO repositorypermission (team_id, repository_id, role_id) \
             SELECT $1, $2, (SELECT id FROM role WHERE name = $3) \
             WHERE NOT EXISTS (SELECT 1 FROM repositorypermission WHERE team_id = $1 AND repository_id = $2)";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id32(team_id)?)
                .bind(id32(repository_id)?)
                .bind(role)
                .execute(pool)
                .await.map(|_| ())
        })?;
        Ok(())
    }

    /// Adds a user permission on a repository unless the user already has one.
    pub async fn add_user_repo_role_if_missing(
        &self,
        repository_id: i64,
        account_id: i64,
        role: &str,
    ) -> Result<(), MetaError> {
        const SQL: &str = "INSERT INTO repositorypermission (user_id, repository_id, role_id) \
             SELECT $1, $2, (SELECT id FROM role WHERE name = $3) \
             WHERE NOT EXISTS (SELECT 1 FROM repositorypermission WHERE user_id = $1 AND repository_id = $2)";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id32(account_id)?)
                .bind(id32(repository_id)?)
                .bind(role)
                .execute(pool)
                .await.map(|_| ())
        })?;
        Ok(())
    }

    /// Ids of the image repositories (not marked for deletion) visible to an account, as
    /// Quay's `filter_to_repos_for_user` computes them: direct permissions, team
    /// permissions, organizations where the account is on an `admin` team, plus every
    /// public repository when `include_public`. Ascending ids.
    pub async fn visible_repository_ids(
        &self,
        account_id: Option<i64>,
        include_public: bool,
    ) -> Result<Vec<i64>, MetaError> {
        const SQL: &str = "SELECT r.id FROM repository r \
            JOIN repositorykind k ON k.id = r.kind_id \
            JOIN visibility v ON v.id = r.visibility_id \
            WHERE k.name = $3 AND r.state <> $4 AND ( \
              ($2 AND v.name = $5) \
              OR r.id IN (SELECT p.repository_id FROM repositorypermission p WHERE p.user_id = $1) \
              OR r.id IN (SELECT p.repository_id FROM repositorypermission p \
                          JOIN teammember tm ON tm.team_id = p.team_id WHERE tm.user_id = $1) \
              OR r.namespace_user_id IN (SELECT t.organization_id FROM team t \
                          JOIN teamrole tr ON tr.id = t.role_id \
                          JOIN teammember tm ON tm.team_id = t.id \
                          WHERE tr.name = $6 AND tm.user_id = $1)) \
            ORDER BY r.id";
        let ids: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(account_id.map(id32).transpose()?)
                .bind(include_public)
                .bind(RepositoryKind::Image)
                .bind(RepositoryState::MarkedForDeletion)
                .bind(Visibility::Public)
                .bind("admin")
                .fetch_all(pool)
                .await
        })?;
        Ok(ids.into_iter().map(i64::from).collect())
    }
}

impl Db {
    /// `repomirrorconfig.internal_robot_id` of a repository (the only account that may push
    /// to a repository in `MIRROR` state).
    pub async fn mirror_robot_id(&self, repository_id: i64) -> Result<Option<i64>, MetaError> {
        const SQL: &str = "SELECT internal_robot_id FROM repomirrorconfig WHERE repository_id = $1";
        let id: Option<Option<i32>> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(repository_id)?).fetch_optional(pool).await
        })?;
        Ok(id.flatten().map(i64::from))
    }
}
