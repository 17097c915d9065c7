//! Repository mirroring rows: `repomirrorconfig` and its `repomirrorrule`, as Quay keeps them
//! (`quay-runtime.md` §8).
//!
//! A mirrored repository is in state `MIRROR` and has one config row naming the external
//! repository, the robot that pushes into it, the sync schedule and a root rule (a list of
//! tag globs). Every change rolls `sync_transaction_id`, and writes that must not race a
//! worker apply only while it is still the one read (Quay's optimistic lock): a worker claims
//! a config by setting `SYNCING` and a 12-hour expiry, and releases it with the next start.
//! The API's cancel does not wait for the lock; the worker notices it between tags.

use chrono::{Duration, NaiveDateTime};
use serde_json::Value;

use crate::db::begin_write;
use crate::identity::id32;
use crate::vocab::{MirrorStatus, RepositoryState};
use crate::{with_pool, Db, MetaError};

/// Quay's `MAX_SYNC_RETRIES`.
pub const MAX_SYNC_RETRIES: i64 = 3;
/// Quay's `MAX_SYNC_DURATION`: how long a claim holds before another worker may take it.
pub const MAX_SYNC_DURATION_S: i64 = 12 * 60 * 60;
/// `repomirrorconfig.mirror_type` PULL, the only type Quay defines.
pub const MIRROR_TYPE_PULL: i32 = 1;
/// `repomirrorrule.rule_type` TAG_GLOB_CSV, the only type Quay defines.
pub const RULE_TAG_GLOB_CSV: i32 = 1;

/// One mirror configuration with its repository, robot and rule.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorConfig {
    pub id: i64,
    pub repository_id: i64,
    pub namespace_id: i64,
    pub namespace: String,
    pub repository: String,
    pub is_enabled: bool,
    pub mirror_type: i32,
    pub robot_id: i64,
    /// `None` when the robot row is gone.
    pub robot_username: Option<String>,
    pub external_reference: String,
    /// Encrypted (`v0$$…`) as stored.
    pub external_registry_username: Option<String>,
    /// Encrypted as stored.
    pub external_registry_password: Option<String>,
    /// `{"verify_tls", "unsigned_images", "proxy": {…}}` (an object; `{}` when unset).
    pub external_registry_config: Value,
    pub sync_interval: i64,
    pub sync_start_date: Option<NaiveDateTime>,
    pub sync_expiration_date: Option<NaiveDateTime>,
    pub sync_retries_remaining: i64,
    pub sync_status: MirrorStatus,
    pub sync_transaction_id: Option<String>,
    pub rule_id: i64,
    /// The root rule's tag globs.
    pub rule_value: Vec<String>,
    pub skopeo_timeout: i64,
    pub architecture_filter: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i32,
    repository_id: i32,
    namespace_id: i32,
    namespace: String,
    repository: String,
    is_enabled: bool,
    mirror_type: i32,
    robot_id: i32,
    robot_username: Option<String>,
    external_reference: String,
    external_registry_username: Option<String>,
    external_registry_password: Option<String>,
    external_registry_config: String,
    sync_interval: i32,
    sync_start_date: Option<NaiveDateTime>,
    sync_expiration_date: Option<NaiveDateTime>,
    sync_retries_remaining: i32,
    sync_status: MirrorStatus,
    sync_transaction_id: Option<String>,
    rule_id: i32,
    rule_value: String,
    skopeo_timeout: i64,
    architecture_filter: Option<String>,
}

/// A JSON list of strings as Quay stores it; anything else reads as empty.
fn string_list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .unwrap_or_default()
}

impl From<Row> for MirrorConfig {
    fn from(r: Row) -> MirrorConfig {
        let config = serde_json::from_str::<Value>(&r.external_registry_config)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Default::default()));
        MirrorConfig {
            id: r.id.into(),
            repository_id: r.repository_id.into(),
            namespace_id: r.namespace_id.into(),
            namespace: r.namespace,
            repository: r.repository,
            is_enabled: r.is_enabled,
            mirror_type: r.mirror_type,
            robot_id: r.robot_id.into(),
            robot_username: r.robot_username,
            external_reference: r.external_reference,
            external_registry_username: r.external_registry_username,
            external_registry_password: r.external_registry_password,
            external_registry_config: config,
            sync_interval: r.sync_interval.into(),
            sync_start_date: r.sync_start_date,
            sync_expiration_date: r.sync_expiration_date,
            sync_retries_remaining: r.sync_retries_remaining.into(),
            sync_status: r.sync_status,
            sync_transaction_id: r.sync_transaction_id,
            rule_id: r.rule_id.into(),
            rule_value: string_list(Some(&r.rule_value)),
            skopeo_timeout: r.skopeo_timeout,
            architecture_filter: string_list(r.architecture_filter.as_deref()),
        }
    }
}

macro_rules! select_config {
    ($where:literal) => {
        concat!(
            "SELECT c.id, c.repository_id, r.namespace_user_id AS namespace_id, \
             ns.username AS namespace, r.name AS repository, c.is_enabled, c.mirror_type, \
             c.internal_robot_id AS robot_id, robot.username AS robot_username, \
             c.external_reference, c.external_registry_username, c.external_registry_password, \
             c.external_registry_config, c.sync_interval, c.sync_start_date, \
             c.sync_expiration_date, c.sync_retries_remaining, c.sync_status, \
             c.sync_transaction_id, c.root_rule_id AS rule_id, rule.rule_value, \
             CAST(c.skopeo_timeout AS BIGINT) AS skopeo_timeout, c.architecture_filter \
             FROM repomirrorconfig c \
             JOIN repository r ON r.id = c.repository_id \
             JOIN \"user\" ns ON ns.id = r.namespace_user_id \
             JOIN repomirrorrule rule ON rule.id = c.root_rule_id \
             LEFT JOIN \"user\" robot ON robot.id = c.internal_robot_id ",
            $where
        )
    };
}

/// A new mirror configuration (Quay's `enable_mirroring_for_repository`).
#[derive(Debug, Clone)]
pub struct NewMirror {
    pub repository_id: i64,
    pub robot_id: i64,
    pub is_enabled: bool,
    pub external_reference: String,
    /// Already encrypted.
    pub external_registry_username: Option<String>,
    /// Already encrypted.
    pub external_registry_password: Option<String>,
    pub external_registry_config: Value,
    pub sync_interval: i64,
    pub sync_start_date: NaiveDateTime,
    pub skopeo_timeout: i64,
    pub architecture_filter: Vec<String>,
    pub rule_value: Vec<String>,
    pub now: NaiveDateTime,
}

fn new_txn() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn to_json(v: &impl serde::Serialize) -> String {
    // Lists of strings and JSON values always serialize.
    serde_json::to_string(v).unwrap_or_default()
}

/// An `integer` column's value: one beyond `i32` is refused as an id beyond it is.
fn int32(v: i64) -> Result<i32, MetaError> {
    i32::try_from(v).map_err(|_| MetaError::IdOutOfRange(v))
}

impl Db {
    /// The mirror configuration of a repository.
    pub async fn mirror_config(
        &self,
        repository_id: i64,
    ) -> Result<Option<MirrorConfig>, MetaError> {
        const SQL: &str = select_config!("WHERE c.repository_id = $1");
        let row: Option<Row> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(repository_id)?).fetch_optional(pool).await
        })?;
        Ok(row.map(MirrorConfig::from))
    }

    /// A mirror configuration by its id.
    pub async fn mirror_config_by_id(&self, id: i64) -> Result<Option<MirrorConfig>, MetaError> {
        const SQL: &str = select_config!("WHERE c.id = $1");
        let row: Option<Row> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id32(id)?).fetch_optional(pool).await
        })?;
        Ok(row.map(MirrorConfig::from))
    }

    /// Creates the rule and the configuration and puts the repository into `MIRROR` state,
    /// in one transaction. `false` (and nothing written) when the repository already has one.
    pub async fn create_mirror_config(&self, m: &NewMirror) -> Result<bool, MetaError> {
        let repo = id32(m.repository_id)?;
        let robot = id32(m.robot_id)?;
        let interval = int32(m.sync_interval)?;
        let rules = to_json(&m.rule_value);
        let config = to_json(&m.external_registry_config);
        let arch = if m.architecture_filter.is_empty() {
            None
        } else {
            Some(to_json(&m.architecture_filter))
        };
        let created = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT id FROM repomirrorconfig WHERE repository_id = $1")
                    .bind(repo)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_some() {
                tx.rollback().await?;
                false
            } else {
                let rule_id: i32 = sqlx::query_scalar(
                    "INSERT INTO repomirrorrule (uuid, repository_id, creation_date, rule_type, \
                     rule_value) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(repo)
                .bind(m.now)
                .bind(RULE_TAG_GLOB_CSV)
                .bind(&rules)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO repomirrorconfig (repository_id, creation_date, is_enabled, \
                     mirror_type, internal_robot_id, external_reference, \
                     external_registry_username, external_registry_password, \
                     external_registry_config, sync_interval, sync_start_date, \
                     sync_expiration_date, sync_retries_remaining, sync_status, \
                     sync_transaction_id, root_rule_id, skopeo_timeout, architecture_filter) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, \
                     $15, $16, $17)",
                )
                .bind(repo)
                .bind(m.now)
                .bind(m.is_enabled)
                .bind(MIRROR_TYPE_PULL)
                .bind(robot)
                .bind(&m.external_reference)
                .bind(&m.external_registry_username)
                .bind(&m.external_registry_password)
                .bind(&config)
                .bind(interval)
                .bind(m.sync_start_date)
                .bind(MAX_SYNC_RETRIES as i32)
                .bind(MirrorStatus::NeverRun)
                .bind(new_txn())
                .bind(rule_id)
                .bind(m.skopeo_timeout)
                .bind(&arch)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE repository SET state = $1 WHERE id = $2")
                    .bind(RepositoryState::Mirror)
                    .bind(repo)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                true
            }
        });
        Ok(created)
    }

    /// Writes every mutable column of `new` (and its rule's globs) if the row still has
    /// `old`'s transaction id, rolling it (Quay's `update_with_transaction`). `false` when a
    /// worker or another request changed the row in between.
    pub async fn update_mirror_config(
        &self,
        old: &MirrorConfig,
        new: &MirrorConfig,
    ) -> Result<bool, MetaError> {
        let id = id32(old.id)?;
        let robot = id32(new.robot_id)?;
        let interval = int32(new.sync_interval)?;
        let retries = int32(new.sync_retries_remaining)?;
        let config = to_json(&new.external_registry_config);
        let arch = if new.architecture_filter.is_empty() {
            None
        } else {
            Some(to_json(&new.architecture_filter))
        };
        let rules = (new.rule_value != old.rule_value).then(|| to_json(&new.rule_value));
        let old_txn = old.sync_transaction_id.clone().unwrap_or_default();
        let updated = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let n = sqlx::query(
                "UPDATE repomirrorconfig SET is_enabled = $1, internal_robot_id = $2, \
                 external_reference = $3, external_registry_username = $4, \
                 external_registry_password = $5, external_registry_config = $6, \
                 sync_interval = $7, sync_start_date = $8, sync_expiration_date = $9, \
                 sync_retries_remaining = $10, sync_status = $11, sync_transaction_id = $12, \
                 skopeo_timeout = $13, architecture_filter = $14 \
                 WHERE id = $15 AND COALESCE(sync_transaction_id, '') = $16",
            )
            .bind(new.is_enabled)
            .bind(robot)
            .bind(&new.external_reference)
            .bind(&new.external_registry_username)
            .bind(&new.external_registry_password)
            .bind(&config)
            .bind(interval)
            .bind(new.sync_start_date)
            .bind(new.sync_expiration_date)
            .bind(retries)
            .bind(new.sync_status)
            .bind(new_txn())
            .bind(new.skopeo_timeout)
            .bind(&arch)
            .bind(id)
            .bind(&old_txn)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                if let Some(rules) = &rules {
                    sqlx::query("UPDATE repomirrorrule SET rule_value = $1 WHERE id = $2")
                        .bind(rules)
                        .bind(id32(old.rule_id)?)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                true
            } else {
                tx.rollback().await?;
                false
            }
        });
        Ok(updated)
    }

    /// Quay's `update_sync_status_to_sync_now`: `SYNC_NOW` with at least one retry, unless a
    /// sync is running. `false` when it was not changed.
    pub async fn mirror_sync_now(&self, m: &MirrorConfig) -> Result<bool, MetaError> {
        if m.sync_status == MirrorStatus::Syncing {
            return Ok(false);
        }
        let mut new = m.clone();
        new.sync_status = MirrorStatus::SyncNow;
        new.sync_expiration_date = None;
        new.sync_retries_remaining = m.sync_retries_remaining.max(1);
        self.update_mirror_config(m, &new).await
    }

    /// Quay's `update_sync_status_to_cancel`: a running or requested sync becomes `CANCEL`
    /// (whoever holds the claim), with no retries left. `false` for any other status.
    pub async fn mirror_sync_cancel(&self, m: &MirrorConfig) -> Result<bool, MetaError> {
        if !matches!(m.sync_status, MirrorStatus::Syncing | MirrorStatus::SyncNow) {
            return Ok(false);
        }
        const SQL: &str = "UPDATE repomirrorconfig SET sync_transaction_id = $1, \
             sync_status = $2, sync_expiration_date = NULL, sync_retries_remaining = 0 \
             WHERE id = $3";
        let n = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(new_txn())
                .bind(MirrorStatus::Cancel)
                .bind(id32(m.id)?)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Quay's `get_eligible_mirrors`, for repositories in `MIRROR` state: a `SYNC_NOW` without
    /// a claim; or enabled with retries left and a start in the past that is not running, has
    /// failed, or holds an expired claim. Oldest start first.
    pub async fn eligible_mirrors(
        &self,
        now: NaiveDateTime,
    ) -> Result<Vec<MirrorConfig>, MetaError> {
        const SQL: &str = select_config!(
            "WHERE r.state = $1 AND ( \
               (c.sync_status = $2 AND c.sync_expiration_date IS NULL) \
               OR (c.is_enabled = $3 AND c.sync_start_date <= $4 \
                   AND c.sync_retries_remaining > 0 AND ( \
                     (c.sync_status <> $5 AND c.sync_expiration_date IS NULL) \
                     OR (c.sync_status = $5 AND c.sync_expiration_date <= $4) \
                     OR c.sync_status = $6))) \
             ORDER BY c.sync_start_date, c.id"
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(RepositoryState::Mirror)
                .bind(MirrorStatus::SyncNow)
                .bind(true)
                .bind(now)
                .bind(MirrorStatus::Syncing)
                .bind(MirrorStatus::Fail)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(MirrorConfig::from).collect())
    }

    /// Quay's `claim_mirror`: marks `m` `SYNCING` until now + [`MAX_SYNC_DURATION_S`] if no
    /// one changed it since it was read. A cancelled config is never claimed. A claim whose
    /// expiry passed is taken over (Quay resets its expiry and retries instead, and then
    /// never claims it again; quayside resumes the sync).
    pub async fn claim_mirror(
        &self,
        m: &MirrorConfig,
        now: NaiveDateTime,
    ) -> Result<Option<MirrorConfig>, MetaError> {
        if m.sync_status == MirrorStatus::Cancel {
            return Ok(None);
        }
        let mut new = m.clone();
        new.sync_status = MirrorStatus::Syncing;
        new.sync_expiration_date = Some(now + Duration::seconds(MAX_SYNC_DURATION_S));
        if m.sync_expiration_date.is_some_and(|e| e < now) {
            new.sync_retries_remaining = MAX_SYNC_RETRIES;
        }
        if !self.update_mirror_config(m, &new).await? {
            return Ok(None);
        }
        self.mirror_config_by_id(m.id).await
    }

    /// Quay's `release_mirror` of a claimed config with the sync's outcome: success (and a
    /// failure with no retries left) schedules the next start on the interval grid of the
    /// last start, with retries reset; a failure with retries left keeps the start (the next
    /// cycle retries); a cancel clears the start and the retries. `None` when the claim was
    /// lost (a cancel from the API rolls the transaction id).
    pub async fn release_mirror(
        &self,
        m: &MirrorConfig,
        status: MirrorStatus,
        now: NaiveDateTime,
    ) -> Result<Option<MirrorConfig>, MetaError> {
        let mut retries = m.sync_retries_remaining;
        if status == MirrorStatus::Fail {
            retries = (retries - 1).max(0);
        }
        let mut start = m.sync_start_date;
        if status == MirrorStatus::Success || retries < 1 {
            let interval = m.sync_interval.max(1);
            let since = (now - m.sync_start_date.unwrap_or(now))
                .num_seconds()
                .max(0);
            start = Some(now + Duration::seconds(interval - since % interval));
            retries = MAX_SYNC_RETRIES;
        }
        if status == MirrorStatus::Cancel {
            start = None;
            retries = 0;
        }
        let mut new = m.clone();
        new.sync_status = status;
        new.sync_start_date = start;
        new.sync_expiration_date = None;
        new.sync_retries_remaining = retries;
        if !self.update_mirror_config(m, &new).await? {
            return Ok(None);
        }
        self.mirror_config_by_id(m.id).await
    }

    /// The current sync status of a config (what a running sync checks between tags).
    pub async fn mirror_status(&self, id: i64) -> Result<Option<MirrorStatus>, MetaError> {
        const SQL: &str = "SELECT sync_status FROM repomirrorconfig WHERE id = $1";
        with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(id)?).fetch_optional(pool).await
        })
        .map_err(MetaError::from)
    }
}
