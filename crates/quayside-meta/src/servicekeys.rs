//! Service key upkeep (`servicekey`): what Quay's servicekeyworker does to this
//! instance's key between boots.

use chrono::NaiveDateTime;

use crate::db::begin_write;
use crate::{with_pool, Db, MetaError};

impl Db {
    /// Quay's `set_key_expiration`: moves the key's `expiration_date` (None: never
    /// expires). Returns how many rows changed (0 when the kid is unknown).
    pub async fn set_service_key_expiration(
        &self,
        kid: &str,
        expiration: Option<NaiveDateTime>,
    ) -> Result<u64, MetaError> {
        const SQL: &str = "UPDATE servicekey SET expiration_date = $1 WHERE kid = $2";
        let done = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(expiration)
                .bind(kid)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
}

/// A `servicekey` row with its approval, as the superuser panel shows it (Quay's
/// `list_all_keys` / `get_service_key(approved_only=False, alive_only=False)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKeyDetails {
    pub name: String,
    pub kid: String,
    pub service: String,
    /// Public JWK, JSON text.
    pub jwk: String,
    /// JSON text.
    pub metadata: String,
    pub created_date: NaiveDateTime,
    pub expiration_date: Option<NaiveDateTime>,
    pub rotation_duration: Option<i64>,
    pub approval: Option<ServiceKeyApproval>,
}

/// `servicekeyapproval` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKeyApproval {
    pub approver_id: Option<i64>,
    pub approval_type: String,
    pub approved_date: NaiveDateTime,
    pub notes: String,
}

/// What [`Db::approve_service_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveOutcome {
    Approved(Box<ServiceKeyDetails>),
    AlreadyApproved,
    NotFound,
}

#[derive(sqlx::FromRow)]
struct DetailsDb {
    name: String,
    kid: String,
    service: String,
    jwk: String,
    metadata: String,
    created_date: NaiveDateTime,
    expiration_date: Option<NaiveDateTime>,
    rotation_duration: Option<i32>,
    approver_id: Option<i32>,
    approval_type: Option<String>,
    approved_date: Option<NaiveDateTime>,
    notes: Option<String>,
}

impl From<DetailsDb> for ServiceKeyDetails {
    fn from(r: DetailsDb) -> Self {
        let approval = match (r.approval_type, r.approved_date) {
            (Some(approval_type), Some(approved_date)) => Some(ServiceKeyApproval {
                approver_id: r.approver_id.map(i64::from),
                approval_type,
                approved_date,
                notes: r.notes.unwrap_or_default(),
            }),
            _ => None,
        };
        ServiceKeyDetails {
            name: r.name,
            kid: r.kid,
            service: r.service,
            jwk: r.jwk,
            metadata: r.metadata,
            created_date: r.created_date,
            expiration_date: r.expiration_date,
            rotation_duration: r.rotation_duration.map(i64::from),
            approval,
        }
    }
}

/// Every key with its approval; a key that expired before `$1` is stale and left out, as
/// Quay's key queries leave it out.
const DETAILS_SQL: &str = "SELECT k.name, k.kid, k.service, k.jwk, k.metadata, k.created_date, \
     k.expiration_date, k.rotation_duration, a.approver_id, a.approval_type, a.approved_date, \
     a.notes FROM servicekey k LEFT JOIN servicekeyapproval a ON a.id = k.approval_id \
     WHERE (k.expiration_date IS NULL OR k.expiration_date > $1)";

/// The `lookup_path` prefix of the superuser notifications about key `kid` (Quay's
/// `/service_key_approval/<kid>/<user id>`), removed once the key is approved or deleted.
fn approval_notification_prefix(kid: &str) -> String {
    format!("/service_key_approval/{kid}")
}

/// Quay's `_gc_expired(service)`: keys of `$1` that expired before `$2`, and unapproved
/// ones created before `$3`.
pub(crate) const GC_STALE_KEYS_SQL: &str = "DELETE FROM servicekey WHERE service = $1 AND \
     (expiration_date <= $2 OR (approval_id IS NULL AND created_date <= $3))";

/// A `stale_before` that keeps every key (the Unix epoch: within both backends' range).
fn any_age() -> NaiveDateTime {
    chrono::DateTime::UNIX_EPOCH.naive_utc()
}

const DELETE_NOTIFICATIONS_SQL: &str =
    "DELETE FROM notification WHERE substr(lookup_path, 1, length($1)) = $1";

impl Db {
    /// All keys that are not stale (expired before `stale_before`), in id order.
    pub async fn list_service_keys(
        &self,
        stale_before: NaiveDateTime,
    ) -> Result<Vec<ServiceKeyDetails>, MetaError> {
        let sql = format!("{DETAILS_SQL} ORDER BY k.id");
        let rows: Vec<DetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(stale_before).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One key (approved or not, expired or not, but not stale).
    pub async fn service_key_details(
        &self,
        kid: &str,
        stale_before: NaiveDateTime,
    ) -> Result<Option<ServiceKeyDetails>, MetaError> {
        let sql = format!("{DETAILS_SQL} AND k.kid = $2");
        let row: Option<DetailsDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(stale_before).bind(kid).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Quay's `approve_service_key`: a new approval row for an unapproved key, and the
    /// superusers' "key submitted" notifications about it removed, in one transaction.
    pub async fn approve_service_key(
        &self,
        kid: &str,
        approver_id: Option<i64>,
        approval_type: &str,
        notes: &str,
        now: NaiveDateTime,
    ) -> Result<ApproveOutcome, MetaError> {
        let approver = approver_id.and_then(|id| i32::try_from(id).ok());
        enum Step {
            Missing,
            Already,
            Done,
        }
        let step = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let current: Option<Option<i32>> =
                sqlx::query_scalar("SELECT approval_id FROM servicekey WHERE kid = $1")
                    .bind(kid)
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                None => Step::Missing,
                Some(Some(_)) => Step::Already,
                Some(None) => {
                    let approval_id: i32 = sqlx::query_scalar(
                        "INSERT INTO servicekeyapproval (approver_id, approval_type, \
                         approved_date, notes) VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(approver)
                    .bind(approval_type)
                    .bind(now)
                    .bind(notes)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Conditional, so a concurrent approval of the same key wins once.
                    let set = sqlx::query(
                        "UPDATE servicekey SET approval_id = $1 \
                         WHERE kid = $2 AND approval_id IS NULL",
                    )
                    .bind(approval_id)
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if set == 0 {
                        tx.rollback().await?;
                        return Ok(ApproveOutcome::AlreadyApproved);
                    }

                    sqlx::query(DELETE_NOTIFICATIONS_SQL)
                        .bind(approval_notification_prefix(kid))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Step::Done
                }
            }
        });
        Ok(match step {
            Step::Missing => ApproveOutcome::NotFound,
            Step::Already => ApproveOutcome::AlreadyApproved,
            Step::Done => self
                .service_key_details(kid, any_age())
                .await?
                .map_or(ApproveOutcome::NotFound, |d| {
                    ApproveOutcome::Approved(Box::new(d))
                }),
        })
    }

    /// Quay's `update_service_key`: a new friendly name and/or metadata (JSON text, the
    /// caller merges). Returns whether the key exists.
    pub async fn update_service_key(
        &self,
        kid: &str,
        name: Option<&str>,
        metadata: Option<&str>,
    ) -> Result<bool, MetaError> {
        let done = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE servicekey SET name = COALESCE($1, name), \
                 metadata = COALESCE($2, metadata) WHERE kid = $3",
            )
            .bind(name)
            .bind(metadata)
            .bind(kid)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Quay's `delete_service_key`: removes the key and the notifications about it, then
    /// garbage-collects the service's stale keys (expired before `gc_expired_before`,
    /// unapproved and created before `gc_unapproved_before`). Returns the deleted key.
    pub async fn delete_service_key(
        &self,
        kid: &str,
        gc_expired_before: NaiveDateTime,
        gc_unapproved_before: NaiveDateTime,
    ) -> Result<Option<ServiceKeyDetails>, MetaError> {
        let Some(key) = self.service_key_details(kid, any_age()).await? else {
            return Ok(None);
        };
        let deleted = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let n = sqlx::query("DELETE FROM servicekey WHERE kid = $1")
                .bind(kid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(DELETE_NOTIFICATIONS_SQL)
                .bind(approval_notification_prefix(kid))
                .execute(&mut *tx)
                .await?;
            sqlx::query(GC_STALE_KEYS_SQL)
            .bind(&key.service)
            .bind(gc_expired_before)
            .bind(gc_unapproved_before)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            n
        });
        Ok((deleted > 0).then_some(key))
    }

    /// The account service audit rows are written under when no namespace is involved
    /// (Quay: `SERVICE_LOG_ACCOUNT_ID`, else the lowest user id).
    pub async fn minimum_user_id(&self) -> Result<Option<i64>, MetaError> {
        let id: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(r#"SELECT MIN(id) FROM "user""#).fetch_one(pool).await
        })?;
        Ok(id.map(i64::from))
    }
}
