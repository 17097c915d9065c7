//! Queries behind the repository and repository-permission API (Quay
//! `data/model/repository.py`, `_basequery.py`, `permission.py`, `oci/tag.py`,
//! `log.py`): repository details, live tags, action counts, the visible-repository
//! listing, stars, and user/team permission rows.

use crate::db::begin_write;
use chrono::{NaiveDate, NaiveDateTime};

use crate::identity::{id32, id32_cursor};
use crate::{with_pool, Db, MetaError, RepositoryKind, RepositoryState, Visibility};

fn marked_state() -> RepositoryState {
    RepositoryState::MarkedForDeletion
}

/// A live repository (not marked for deletion) with what Quay's repository view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoDetails {
    pub id: i64,
    pub namespace_id: i64,
    pub namespace: String,
    pub name: String,
    pub description: Option<String>,
    pub badge_token: String,
    pub trust_enabled: bool,
    pub visibility: Visibility,
    pub kind: RepositoryKind,
    pub state: RepositoryState,
    pub namespace_is_org: bool,
    pub namespace_tag_expiration_s: i64,
    /// The namespace has no `stripe_id` (Quay's `is_free_account`).
    pub namespace_free: bool,
}

type DetailsDb = (
    i32,
    i32,
    String,
    String,
    Option<String>,
    String,
    bool,
    Visibility,
    RepositoryKind,
    RepositoryState,
    bool,
    i64,
    Option<String>,
);

/// A live tag as the repository view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSummary {
    pub name: String,
    pub manifest_digest: String,
    /// `manifest.layers_compressed_size`.
    pub size: Option<i64>,
    pub lifetime_start_ms: i64,
    pub lifetime_end_ms: Option<i64>,
}

/// (name, digest, layers size, start ms, end ms)
type TagDb = (String, String, Option<i64>, i64, Option<i64>);

/// A repository in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoListRow {
    pub id: i64,
    pub namespace: String,
    pub name: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub kind: RepositoryKind,
    pub state: RepositoryState,
}

type ListDb = (
    i32,
    String,
    String,
    Option<String>,
    Visibility,
    RepositoryKind,
    RepositoryState,
);

fn list_row(r: ListDb) -> RepoListRow {
    RepoListRow {
        id: r.0.into(),
        namespace: r.1,
        name: r.2,
        description: r.3,
        visibility: r.4,
        kind: r.5,
        state: r.6,
    }
}

/// Which repositories [`Db::visible_repositories`] returns (Quay's
/// `get_visible_repositories` + `filter_to_repos_for_user`).
#[derive(Debug, Clone, Default)]
pub struct VisibleRepoFilter {
    /// The caller's account; None for anonymous callers.
    pub account_id: Option<i64>,
    /// Every live repository (superusers).
    pub all: bool,
    pub include_public: bool,
    pub namespace: Option<String>,
    pub kind: RepositoryKind,
    /// Only ids `>= start_id` (pagination).
    pub start_id: Option<i64>,
    pub limit: i64,
}

/// A direct user (or robot) permission on a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPermissionRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub email: String,
    pub robot: bool,
    pub role: String,
}

/// A team permission on a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamPermissionRow {
    pub id: i64,
    pub team_name: String,
    pub role: String,
}

const LIST_COLS: &str = "r.id, u.username, r.name, r.description, v.name, k.name, r.state";
const LIST_FROM: &str = r#"FROM repository r
    JOIN "user" u ON u.id = r.namespace_user_id
    JOIN visibility v ON v.id = r.visibility_id
    JOIN repositorykind k ON k.id = r.kind_id"#;

/// `ids` as a literal SQL list (integers only, so nothing can be injected).
fn id_list(ids: &[i64]) -> Result<String, MetaError> {
    let ids = ids
        .iter()
        .map(|i| id32(*i).map(|i| i.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids.join(","))
}

impl Db {
    /// The live repository `namespace/name` with its namespace's settings.
    pub async fn repository_details(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RepoDetails>, MetaError> {
        const SQL: &str = r#"SELECT r.id, r.namespace_user_id, u.username, r.name, r.description,
                r.badge_token, r.trust_enabled, v.name, k.name, r.state,
                u.organization, u.removed_tag_expiration_s, u.stripe_id
            FROM repository r
            JOIN "user" u ON u.id = r.namespace_user_id
            JOIN visibility v ON v.id = r.visibility_id
            JOIN repositorykind k ON k.id = r.kind_id
            WHERE u.username = $1 AND r.name = $2 AND r.state <> $3"#;
        let row: Option<DetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(namespace).bind(name).bind(marked_state()).fetch_optional(pool).await
        })?;
        Ok(row.map(|r| RepoDetails {
            id: r.0.into(),
            namespace_id: r.1.into(),
            namespace: r.2,
            name: r.3,
            description: r.4,
            badge_token: r.5,
            trust_enabled: r.6,
            visibility: r.7,
            kind: r.8,
            state: r.9,
            namespace_is_org: r.10,
            namespace_tag_expiration_s: r.11,
            namespace_free: r.12.is_none(),
        }))
    }

    /// Whether the user starred the repository.
    pub async fn is_repository_starred(
        &self,
        user_id: i64,
        repository_id: i64,
    ) -> Result<bool, MetaError> {
        const SQL: &str = "SELECT COUNT(*) FROM star WHERE user_id = $1 AND repository_id = $2";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(user_id)?).bind(id32(repository_id)?).fetch_one(pool).await
        })?;
        Ok(n > 0)
    }

    /// Quay's `list_repository_tag_history(page=1, size=limit, active_tags_only=True)`:
    /// visible tags alive at `now_ms`, newest first (then by name).
    pub async fn active_tags(
        &self,
        repository_id: i64,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<TagSummary>, MetaError> {
        let sql = format!(
            "SELECT t.name, m.digest, m.layers_compressed_size, t.lifetime_start_ms, t.lifetime_end_ms \
             FROM tag t JOIN manifest m ON m.id = t.manifest_id \
             WHERE t.repository_id = $1 AND t.hidden = $2 \
             AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $3) \
             ORDER BY t.lifetime_start_ms DESC, t.name LIMIT {}",
            limit.max(0)
        );
        let rows: Vec<TagDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(repository_id)?).bind(false).bind(now_ms).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(name, manifest_digest, size, start, end)| TagSummary {
                name,
                manifest_digest,
                size,
                lifetime_start_ms: start,
                lifetime_end_ms: end,
            })
            .collect())
    }

    /// `repositoryactioncount` rows of a repository dated on or after `since`.
    pub async fn repository_action_counts(
        &self,
        repository_id: i64,
        since: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>, MetaError> {
        const SQL: &str = "SELECT date, count FROM repositoryactioncount \
             WHERE repository_id = $1 AND date >= $2 ORDER BY date";
        let rows: Vec<(NaiveDate, i32)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(repository_id)?).bind(since).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(|(d, c)| (d, i64::from(c))).collect())
    }

    pub async fn set_repository_description(
        &self,
        repository_id: i64,
        description: &str,
    ) -> Result<(), MetaError> {
        const SQL: &str = "UPDATE repository SET description = $2 WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(repository_id)?).bind(description).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    pub async fn set_repository_visibility(
        &self,
        repository_id: i64,
        visibility: Visibility,
    ) -> Result<(), MetaError> {
        const SQL: &str =
            "UPDATE repository SET visibility_id = (SELECT id FROM visibility WHERE name = $2) WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(repository_id)?).bind(visibility).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `RepositoryState` value (0 NORMAL, 1 READ_ONLY, 2 MIRROR, …).
    pub async fn set_repository_state(
        &self,
        repository_id: i64,
        state: RepositoryState,
    ) -> Result<(), MetaError> {
        const SQL: &str = "UPDATE repository SET state = $2 WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(repository_id)?).bind(state).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    pub async fn set_repository_trust(
        &self,
        repository_id: i64,
        trust_enabled: bool,
    ) -> Result<(), MetaError> {
        const SQL: &str = "UPDATE repository SET trust_enabled = $2 WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(repository_id)?).bind(trust_enabled).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `get_visible_repositories`: live repositories of `kind`, optionally in one
    /// namespace, from `start_id` on, ascending ids, at most `limit`; those the account
    /// has a direct or team permission on, all of the organizations it administers, and
    /// public ones when `include_public` (everything when `all`).
    pub async fn visible_repositories(
        &self,
        f: &VisibleRepoFilter,
    ) -> Result<Vec<RepoListRow>, MetaError> {
        if !f.include_public && f.account_id.is_none() && !f.all {
            return Ok(Vec::new());
        }
        let mut clauses = Vec::new();
        if f.all {
            clauses.push("1 = 1".to_owned());
        } else {
            if f.include_public {
                clauses.push("v.name = 'public'".to_owned());
            }
            if let Some(id) = f.account_id {
                let id = id32(id)?;
                clauses.push(format!(
                    "r.id IN (SELECT p.repository_id FROM repositorypermission p WHERE p.user_id = {id})"
                ));
                clauses.push(format!(
                    "r.id IN (SELECT p.repository_id FROM repositorypermission p \
                     JOIN teammember tm ON tm.team_id = p.team_id WHERE tm.user_id = {id})"
                ));
                clauses.push(format!(
                    "r.namespace_user_id IN (SELECT t.organization_id FROM team t \
                     JOIN teamrole tr ON tr.id = t.role_id JOIN teammember tm ON tm.team_id = t.id \
                     WHERE tr.name = 'admin' AND tm.user_id = {id})"
                ));
            }
        }
        let start = f.start_id.map_or(i32::MIN, id32_cursor);
        let sql = format!(
            "SELECT {LIST_COLS} {LIST_FROM} WHERE r.state <> $1 AND k.name = $2 AND r.id >= $3 \
             AND ($4 = '' OR u.username = $4) AND ({}) ORDER BY r.id LIMIT {}",
            clauses.join(" OR "),
            f.limit.max(0)
        );
        let namespace = f.namespace.clone().unwrap_or_default();
        let rows: Vec<ListDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(marked_state())
                .bind(f.kind)
                .bind(start)
                .bind(&namespace)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(list_row).collect())
    }

    /// Quay's `get_user_starred_repositories`: live repositories of `kind` the user
    /// starred.
    pub async fn starred_repositories(
        &self,
        user_id: i64,
        kind: RepositoryKind,
    ) -> Result<Vec<RepoListRow>, MetaError> {
        let sql = format!(
            "SELECT {LIST_COLS} {LIST_FROM} JOIN star s ON s.repository_id = r.id \
             WHERE s.user_id = $1 AND k.name = $2 AND r.state <> $3 ORDER BY s.id"
        );
        let rows: Vec<ListDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(user_id)?).bind(kind).bind(marked_state()).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(list_row).collect())
    }

    /// Per repository id: the newest `lifetime_start_ms` of its alive, visible tags.
    pub async fn latest_tag_starts(
        &self,
        repository_ids: &[i64],
        now_ms: i64,
    ) -> Result<Vec<(i64, i64)>, MetaError> {
        if repository_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT repository_id, MAX(lifetime_start_ms) FROM tag \
             WHERE repository_id IN ({}) AND hidden = $1 \
             AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $2) GROUP BY repository_id",
            id_list(repository_ids)?
        );
        let rows: Vec<(i32, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(false).bind(now_ms).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, ms)| ms.map(|ms| (i64::from(id), ms)))
            .collect())
    }

    /// Quay's `get_repositories_action_sums`: per repository id, the sum of
    /// `repositoryactioncount.count` dated on or after `since`.
    pub async fn repository_action_sums(
        &self,
        repository_ids: &[i64],
        since: NaiveDate,
    ) -> Result<Vec<(i64, i64)>, MetaError> {
        if repository_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT repository_id, SUM(count) FROM repositoryactioncount \
             WHERE repository_id IN ({}) AND date >= $1 GROUP BY repository_id",
            id_list(repository_ids)?
        );
        let rows: Vec<(i32, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(since).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (i64::from(id), n.unwrap_or(0)))
            .collect())
    }

    /// Direct user (and robot) permissions on a repository, oldest first.
    pub async fn repository_user_permissions(
        &self,
        repository_id: i64,
    ) -> Result<Vec<UserPermissionRow>, MetaError> {
        self.user_permissions_where(repository_id, None).await
    }

    /// The direct permission of `username` on a repository.
    pub async fn repository_user_permission(
        &self,
        repository_id: i64,
        username: &str,
    ) -> Result<Option<UserPermissionRow>, MetaError> {
        Ok(self
            .user_permissions_where(repository_id, Some(username))
            .await?
            .into_iter()
            .next())
    }

    async fn user_permissions_where(
        &self,
        repository_id: i64,
        username: Option<&str>,
    ) -> Result<Vec<UserPermissionRow>, MetaError> {
        const SQL: &str = r#"SELECT p.id, u.id, u.username, u.email, u.robot, ro.name
            FROM repositorypermission p
            JOIN "user" u ON u.id = p.user_id
            JOIN role ro ON ro.id = p.role_id
            WHERE p.repository_id = $1 AND ($2 = '' OR u.username = $2) ORDER BY p.id"#;
        let rows: Vec<(i32, i32, String, String, bool, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(id32(repository_id)?)
                .bind(username.unwrap_or_default())
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .filter(|r| username.is_none_or(|u| !u.is_empty() && r.2 == u))
            .map(
                |(id, user_id, username, email, robot, role)| UserPermissionRow {
                    id: id.into(),
                    user_id: user_id.into(),
                    username,
                    email,
                    robot,
                    role,
                },
            )
            .collect())
    }

    /// Team permissions on a repository, oldest first.
    pub async fn repository_team_permissions(
        &self,
        repository_id: i64,
    ) -> Result<Vec<TeamPermissionRow>, MetaError> {
        const SQL: &str = "SELECT p.id, t.name, ro.name FROM repositorypermission p \
            JOIN team t ON t.id = p.team_id JOIN role ro ON ro.id = p.role_id \
            WHERE p.repository_id = $1 ORDER BY p.id";
        let rows: Vec<(i32, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(repository_id)?).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, team_name, role)| TeamPermissionRow {
                id: id.into(),
                team_name,
                role,
            })
            .collect())
    }

    /// Removes one `repositorypermission` row.
    pub async fn delete_repository_permission(&self, permission_id: i64) -> Result<(), MetaError> {
        const SQL: &str = "DELETE FROM repositorypermission WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(permission_id)?).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Id of team `name` of organization `org_id`.
    pub async fn team_id_by_name(&self, org_id: i64, name: &str) -> Result<Option<i64>, MetaError> {
        const SQL: &str = "SELECT id FROM team WHERE organization_id = $1 AND name = $2";
        let id: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(org_id)?).bind(name).fetch_optional(pool).await
        })?;
        Ok(id.map(i64::from))
    }

    /// Quay's `__set_entity_repo_permission` for a team: updates the team's permission
    /// row on the repository, or creates one.
    pub async fn set_team_repo_role(
        &self,
        repository_id: i64,
        team_id: i64,
        role: &str,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let updated = sqlx::query(
                "UPDATE repositorypermission SET role_id = (SELECT id FROM role WHERE name = $3) \
                 WHERE team_id = $1 AND repository_id = $2",
            )
            .bind(id32(team_id)?)
            .bind(id32(repository_id)?)
            .bind(role)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                sqlx::query(
                    "INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) \
                     VALUES ($1, NULL, $2, (SELECT id FROM role WHERE name = $3))",
                )
                .bind(id32(team_id)?)
                .bind(id32(repository_id)?)
                .bind(role)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Quay's `__set_entity_repo_permission` for a user: updates the user's permission
    /// row on the repository (keeping its id), or creates one.
    pub async fn upsert_user_repo_role(
        &self,
        repository_id: i64,
        account_id: i64,
        role: &str,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let updated = sqlx::query(
                "UPDATE repositorypermission SET role_id = (SELECT id FROM role WHERE name = $3) \
                 WHERE user_id = $1 AND repository_id = $2",
            )
            .bind(id32(account_id)?)
            .bind(id32(repository_id)?)
            .bind(role)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                sqlx::query(
                    "INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) \
                     VALUES (NULL, $1, $2, (SELECT id FROM role WHERE name = $3))",
                )
                .bind(id32(account_id)?)
                .bind(id32(repository_id)?)
                .bind(role)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Of `account_ids`, those on any team of organization `org_id` (Quay's
    /// `get_organization_member_set` with a filter).
    pub async fn organization_member_ids(
        &self,
        org_id: i64,
        account_ids: &[i64],
    ) -> Result<Vec<i64>, MetaError> {
        if account_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT tm.user_id FROM teammember tm JOIN team t ON t.id = tm.team_id \
             WHERE t.organization_id = $1 AND tm.user_id IN ({})",
            id_list(account_ids)?
        );
        let ids: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(&sql).bind(id32(org_id)?).fetch_all(pool).await
        })?;
        Ok(ids.into_iter().map(i64::from).collect())
    }

    /// Stars a repository (quayside tests and the star API).
    pub async fn star_repository(
        &self,
        user_id: i64,
        repository_id: i64,
        now: NaiveDateTime,
    ) -> Result<(), MetaError> {
        const SQL: &str = "INSERT INTO star (user_id, repository_id, created) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM star WHERE user_id = $1 AND repository_id = $2)";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(id32(repository_id)?).bind(now).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }
}

impl Db {
    /// Removes the user's star from a repository (nothing when there is none).
    pub async fn unstar_repository(
        &self,
        user_id: i64,
        repository_id: i64,
    ) -> Result<(), MetaError> {
        const SQL: &str = "DELETE FROM star WHERE user_id = $1 AND repository_id = $2";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(user_id)?).bind(id32(repository_id)?).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }
}
