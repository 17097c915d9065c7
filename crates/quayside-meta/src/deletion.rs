//! Marking repositories and namespaces for background deletion, as Quay's
//! `data/model/repository.py::mark_repository_for_deletion` and
//! `data/model/user.py::mark_namespace_for_deletion` do: the object is renamed out of the
//! way and hidden at once, a marker row (`deletedrepository` / `deletednamespace`) records
//! the original name, and a `queueitem` asks the `repositorygc` / `namespacegc` worker to
//! purge it later (quayside-workers).

use crate::db::begin_write;
use uuid::Uuid;

use crate::identity::id32;
use crate::queue::{canonical_queue_name, like_escape, INSERT_QUEUE_ITEM};
use crate::RepositoryState;
use crate::{with_pool, Db, MetaError};

/// Quay's default `REPOSITORY_GC_QUEUE_NAME`.
pub const REPOSITORY_GC_QUEUE: &str = "repositorygc";
/// Quay's default `NAMESPACE_GC_QUEUE_NAME`.
pub const NAMESPACE_GC_QUEUE: &str = "namespacegc";
/// The queues Quay creates with `has_namespace=True` (their items are named
/// `<queue>/<namespace>/...`): `DOCKERFILE_BUILD_QUEUE_NAME`, `NOTIFICATION_QUEUE_NAME`
/// and `REPOSITORY_GC_QUEUE_NAME` at their defaults. Marking a namespace for deletion
/// drops that namespace's pending items from them.
pub const NAMESPACED_QUEUES: &[&str] = &["dockerfilebuild", "notification", "repositorygc"];

impl Db {
    /// Quay's `mark_repository_for_deletion`, in one transaction: deletes the repository's
    /// stars, renames it to a fresh uuid4 with state 3 (MARKED_FOR_DELETION), inserts the
    /// `deletedrepository` marker (original name) and a `queueitem` in `queue_name`
    /// (`<queue>/<namespace>/<repo id>/`, body `{"marker_id", "original_name"}`) whose id
    /// is stored in the marker's `queue_id`. Returns the marker id; `None` when there is no
    /// such repository or it is already marked for deletion (Quay's lookup hides those).
    pub async fn mark_repository_for_deletion(
        &self,
        repository_id: i64,
        queue_name: &str,
    ) -> Result<Option<i64>, MetaError> {
        const FIND: &str = "SELECT r.name, u.username FROM repository r \
             JOIN \"user\" u ON u.id = r.namespace_user_id WHERE r.id = $1 AND r.state <> $2";
        let marked = RepositoryState::MarkedForDeletion;
        let new_name = Uuid::new_v4().to_string();
        let now_local = chrono::Local::now().naive_local();
        let now_utc = chrono::Utc::now().naive_utc();
        let id: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let found: Option<(String, String)> = sqlx::query_as(FIND)
                .bind(id32(repository_id)?)
                .bind(marked)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((original_name, namespace)) = found else {
                tx.rollback().await?;
                return Ok(None);
            };
            sqlx::query("DELETE FROM star WHERE repository_id = $1")
                .bind(id32(repository_id)?)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE repository SET name = $1, state = $2 WHERE id = $3")
                .bind(&new_name)
                .bind(marked)
                .bind(id32(repository_id)?)
                .execute(&mut *tx)
                .await?;
            let marker_id: i32 = sqlx::query_scalar(
                "INSERT INTO deletedrepository (repository_id, marked, original_name, queue_id) \
                 VALUES ($1, $2, $3, NULL) RETURNING id",
            )
            .bind(id32(repository_id)?)
            .bind(now_local)
            .bind(&original_name)
            .fetch_one(&mut *tx)
            .await?;
            let body = serde_json::json!({
                "marker_id": marker_id,
                "original_name": original_name,
            })
            .to_string();
            let repo_part = repository_id.to_string();
            let qname = canonical_queue_name(queue_name, &[&namespace, &repo_part]);
            let queue_id: i32 = sqlx::query_scalar(INSERT_QUEUE_ITEM)
                .bind(&qname)
                .bind(&body)
                .bind(now_utc)
                .bind(true)
                .bind(5i32)
                .bind(Uuid::new_v4().to_string())
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("UPDATE deletedrepository SET queue_id = $1 WHERE id = $2")
                .bind(queue_id.to_string())
                .bind(marker_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Some(marker_id)
        });
        Ok(id.map(i64::from))
    }

    /// Quay's `mark_namespace_for_deletion` (with `force=True`: the sole-admin check is the
    /// caller's, see [`Db::solely_admined_organizations`]). Returns `None` when the
    /// namespace does not exist, is already disabled, or already has a marker.
    ///
    /// Steps, as Quay: drop the namespace's items from the namespaced queues
    /// ([`NAMESPACED_QUEUES`]); delete linked data (an organization's teams with their
    /// members, invites and syncs — permission rows pointing at a team get `team_id` NULL —
    /// and its OAuth applications with their codes and tokens; a user's team memberships;
    /// build triggers connected to the namespace (builds keep a NULL trigger); mirror
    /// configs using its robots; its robots with their tokens, metadata, memberships,
    /// permissions, federated logins and notifications; service-key approvals lose their
    /// approver; its federated logins); then insert the `deletednamespace` marker
    /// (original username and email), disable the namespace and replace username and email
    /// with uuid4s; finally a `queueitem` in `queue_name` (`<queue>/<namespace id>/`, body
    /// `{"marker_id", "original_username"}`) whose id is stored in the marker's `queue_id`.
    /// quayside runs all of it in one transaction.
    pub async fn mark_namespace_for_deletion(
        &self,
        namespace_id: i64,
        queue_name: &str,
    ) -> Result<Option<i64>, MetaError> {
        let nid = id32(namespace_id)?;
        let new_username = Uuid::new_v4().to_string();
        let new_email = Uuid::new_v4().to_string();
        let now_local = chrono::Local::now().naive_local();
        let now_utc = chrono::Utc::now().naive_utc();
        let id: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let found: Option<(String, String, bool, bool, bool)> = sqlx::query_as(
                "SELECT username, email, enabled, organization, robot FROM \"user\" WHERE id = $1",
            )
            .bind(nid)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((username, email, enabled, organization, robot)) = found else {
                tx.rollback().await?;
                return Ok(None);
            };
            let already: Option<i32> =
                sqlx::query_scalar("SELECT id FROM deletednamespace WHERE namespace_id = $1")
                    .bind(nid)
                    .fetch_optional(&mut *tx)
                    .await?;
            if !enabled || robot || already.is_some() {
                tx.rollback().await?;
                return Ok(None);
            }

            // Pending work queued under the namespace's name.
            for q in NAMESPACED_QUEUES {
                let pattern = format!("{}%", like_escape(&canonical_queue_name(q, &[&username])));
                sqlx::query("DELETE FROM queueitem WHERE queue_name LIKE $1 ESCAPE '\\'")
                    .bind(pattern)
                    .execute(&mut *tx)
                    .await?;
            }

            if organization {
                // Teams (peewee recursive delete, nullable references set to NULL).
                for stmt in [
                    "DELETE FROM teammember WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
                    "DELETE FROM teammemberinvite WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
                    "DELETE FROM teamsync WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
                    "UPDATE repositorypermission SET team_id = NULL WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
                    "UPDATE permissionprototype SET delegate_team_id = NULL WHERE delegate_team_id IN (SELECT id FROM team WHERE organization_id = $1)",
                    "DELETE FROM team WHERE organization_id = $1",
                ] {
                    sqlx::query(stmt).bind(nid).execute(&mut *tx).await?;
                }
                // OAuth applications with everything hanging off them.
                for stmt in [
                    "DELETE FROM oauthauthorizationcode WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1)",
                    "DELETE FROM oauthaccesstoken WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1)",
                    "DELETE FROM oauthassignedtoken WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1)",
                    "DELETE FROM oauthapplication WHERE organization_id = $1",
                ] {
                    sqlx::query(stmt).bind(nid).execute(&mut *tx).await?;
                }
            } else {
                sqlx::query("DELETE FROM teammember WHERE user_id = $1")
                    .bind(nid)
                    .execute(&mut *tx)
                    .await?;
            }

            // Build triggers connected to the namespace (builds keep a NULL trigger).
            for stmt in [
                "UPDATE repositorybuild SET trigger_id = NULL WHERE trigger_id IN (SELECT id FROM repositorybuildtrigger WHERE connected_user_id = $1)",
                "DELETE FROM repositorybuildtrigger WHERE connected_user_id = $1",
            ] {
                sqlx::query(stmt).bind(nid).execute(&mut *tx).await?;
            }

            // The namespace's robots (`<namespace>+<name>`).
            let robot_pattern = format!("{}+%", like_escape(&username));
            let robot_ids: Vec<i32> = sqlx::query_scalar(
                "SELECT id FROM \"user\" WHERE robot = $1 AND username LIKE $2 ESCAPE '\\'",
            )
            .bind(true)
            .bind(&robot_pattern)
            .fetch_all(&mut *tx)
            .await?;
            for rid in &robot_ids {
                sqlx::query("DELETE FROM repomirrorconfig WHERE internal_robot_id = $1")
                    .bind(rid)
                    .execute(&mut *tx)
                    .await?;
            }
            for rid in &robot_ids {
                // Quay's robot delete: rows of the references that allow robots are deleted,
                // the pull-robot references are set to NULL.
                for stmt in [
                    "UPDATE repositorybuildtrigger SET pull_robot_id = NULL WHERE pull_robot_id = $1",
                    "UPDATE repositorybuild SET pull_robot_id = NULL WHERE pull_robot_id = $1",
                    "DELETE FROM robotaccountmetadata WHERE robot_account_id = $1",
                    "DELETE FROM robotaccounttoken WHERE robot_account_id = $1",
                    "DELETE FROM teammember WHERE user_id = $1",
                    "DELETE FROM federatedlogin WHERE user_id = $1",
                    "DELETE FROM repositorypermission WHERE user_id = $1",
                    "DELETE FROM permissionprototype WHERE activating_user_id = $1",
                    "DELETE FROM permissionprototype WHERE delegate_user_id = $1",
                    "DELETE FROM notification WHERE target_id = $1",
                    "DELETE FROM repomirrorconfig WHERE internal_robot_id = $1",
                    "DELETE FROM orgmirrorconfig WHERE internal_robot_id = $1",
                    "DELETE FROM \"user\" WHERE id = $1",
                ] {
                    sqlx::query(stmt).bind(rid).execute(&mut *tx).await?;
                }
            }

            for stmt in [
                "UPDATE servicekeyapproval SET approver_id = NULL WHERE approver_id = $1",
                "DELETE FROM federatedlogin WHERE user_id = $1",
            ] {
                sqlx::query(stmt).bind(nid).execute(&mut *tx).await?;
            }

            let marker_id: i32 = sqlx::query_scalar(
                "INSERT INTO deletednamespace (namespace_id, marked, original_username, original_email, queue_id) \
                 VALUES ($1, $2, $3, $4, NULL) RETURNING id",
            )
            .bind(nid)
            .bind(now_local)
            .bind(&username)
            .bind(&email)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("UPDATE \"user\" SET enabled = $1, username = $2, email = $3 WHERE id = $4")
                .bind(false)
                .bind(&new_username)
                .bind(&new_email)
                .bind(nid)
                .execute(&mut *tx)
                .await?;
            let body = serde_json::json!({
                "marker_id": marker_id,
                "original_username": username,
            })
            .to_string();
            let ns_part = namespace_id.to_string();
            let qname = canonical_queue_name(queue_name, &[&ns_part]);
            let queue_id: i32 = sqlx::query_scalar(INSERT_QUEUE_ITEM)
                .bind(&qname)
                .bind(&body)
                .bind(now_utc)
                .bind(true)
                .bind(5i32)
                .bind(Uuid::new_v4().to_string())
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("UPDATE deletednamespace SET queue_id = $1 WHERE id = $2")
                .bind(queue_id.to_string())
                .bind(marker_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Some(marker_id)
        });
        Ok(id.map(i64::from))
    }

    /// Quay's `get_solely_admined_organizations`: usernames of the organizations where
    /// `user_id` is in an admin-role team and is the only non-robot member of the
    /// organization's admin-role teams. Sorted by name.
    pub async fn solely_admined_organizations(
        &self,
        user_id: i64,
    ) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT o.username FROM \"user\" o \
             WHERE o.organization = $1 \
               AND EXISTS (SELECT 1 FROM team t JOIN teamrole tr ON tr.id = t.role_id \
                     JOIN teammember tm ON tm.team_id = t.id \
                     WHERE t.organization_id = o.id AND tr.name = 'admin' AND tm.user_id = $2) \
               AND (SELECT COUNT(DISTINCT tm.user_id) FROM teammember tm \
                     JOIN team t ON t.id = tm.team_id JOIN teamrole tr ON tr.id = t.role_id \
                     JOIN \"user\" m ON m.id = tm.user_id \
                     WHERE t.organization_id = o.id AND tr.name = 'admin' AND m.robot = $3) = 1 \
             ORDER BY o.username";
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(true)
                .bind(id32(user_id)?)
                .bind(false)
                .fetch_all(pool)
                .await
        })?;
        Ok(names)
    }
}
