//! Quay's namespace quotas and the size totals they are checked against.
//!
//! A namespace has at most one `userorganizationquota` row (`limit_bytes`) with any number of
//! `quotalimits` thresholds (`Warning` or `Reject`, a percentage of the limit). Sizes live in
//! `quotanamespacesize` and `quotarepositorysize`: the sum of `imagestorage.image_size` over
//! the distinct blobs that manifests of the namespace (repository) reference through
//! `manifestblob`. A blob shared by two repositories of one namespace counts once for the
//! namespace and once for each repository.
//!
//! Totals are kept incrementally, in the transaction that writes or deletes a manifest
//! ([`account_manifest`]): a blob adds its size when no other manifest of the namespace
//! already references it and subtracts it when the last one goes. A total is kept only once
//! its row says `backfill_complete`; the first manifest of an empty namespace (repository)
//! starts the row itself, anything else waits for the backfill worker
//! ([`Db::quota_backfill_namespace`]).

use crate::db::begin_write;
use crate::identity::id32;
use crate::with_pool;
use crate::{Db, MetaError};

/// A `quotatype` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    Warning,
    Reject,
}

impl QuotaKind {
    /// Quay's name (`quotatype.name`).
    pub fn name(self) -> &'static str {
        match self {
            QuotaKind::Warning => "Warning",
            QuotaKind::Reject => "Reject",
        }
    }

    /// Parses a type as Quay does: case-insensitive `warning` / `reject`.
    pub fn parse(s: &str) -> Option<QuotaKind> {
        if s.eq_ignore_ascii_case("warning") {
            Some(QuotaKind::Warning)
        } else if s.eq_ignore_ascii_case("reject") {
            Some(QuotaKind::Reject)
        } else {
            None
        }
    }
}

/// One `quotalimits` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLimit {
    pub id: i64,
    pub kind: QuotaKind,
    pub percent_of_limit: i64,
}

/// A namespace's `userorganizationquota` row with its thresholds (ordered by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceQuota {
    pub id: i64,
    pub namespace_id: i64,
    pub limit_bytes: i64,
    pub limits: Vec<QuotaLimit>,
}

/// What a push is measured against: a namespace's own quota, or the system default
/// (`DEFAULT_SYSTEM_REJECT_QUOTA_BYTES`) for a namespace without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaPolicy {
    Namespace(NamespaceQuota),
    SystemDefault { limit_bytes: i64 },
}

/// The threshold a size crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaVerdict {
    pub kind: QuotaKind,
    pub threshold_percent: i64,
    /// The threshold in bytes.
    pub threshold_bytes: i64,
}

impl QuotaPolicy {
    /// The threshold `size` is over, as Quay's `check_limits` decides it: among the
    /// thresholds whose bytes (`limit × percent / 100`, truncated) `size` exceeds, the
    /// largest one. The system default rejects once `size` reaches it.
    pub fn verdict(&self, size: i64) -> Option<QuotaVerdict> {
        match self {
            QuotaPolicy::SystemDefault { limit_bytes } => {
                (*limit_bytes > 0 && size >= *limit_bytes).then_some(QuotaVerdict {
                    kind: QuotaKind::Reject,
                    threshold_percent: 100,
                    threshold_bytes: *limit_bytes,
                })
            }
            QuotaPolicy::Namespace(q) => {
                let mut best: Option<QuotaVerdict> = None;
                for l in &q.limits {
                    let allowed = threshold_bytes(q.limit_bytes, l.percent_of_limit);
                    let floor = best.map_or(0, |b| b.threshold_bytes);
                    if size > allowed && allowed > floor {
                        best = Some(QuotaVerdict {
                            kind: l.kind,
                            threshold_percent: l.percent_of_limit,
                            threshold_bytes: allowed,
                        });
                    }
                }
                best
            }
        }
    }

    /// Whether `size` is over a `Reject` threshold.
    pub fn rejects(&self, size: i64) -> bool {
        matches!(self.verdict(size), Some(v) if v.kind == QuotaKind::Reject)
    }

    /// The configured limit in bytes.
    pub fn limit_bytes(&self) -> i64 {
        match self {
            QuotaPolicy::Namespace(q) => q.limit_bytes,
            QuotaPolicy::SystemDefault { limit_bytes } => *limit_bytes,
        }
    }
}

fn threshold_bytes(limit: i64, percent: i64) -> i64 {
    let v = i128::from(limit) * i128::from(percent) / 100;
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What a manifest write does with the size totals.
#[derive(Debug, Clone, Copy, Default)]
pub enum QuotaAccounting<'a> {
    /// Quota management off and `QUOTA_INVALIDATE_TOTALS: false`: nothing.
    #[default]
    Off,
    /// Quota management off: the totals of the namespace and repository are marked for a
    /// new backfill, since they no longer follow the data.
    Invalidate,
    /// Quota management on: totals follow the write.
    Track,
    /// Quota management and verification on: totals follow the write, and the write is
    /// refused ([`MetaError::QuotaExceeded`], nothing written) when the namespace's new
    /// total is over a `Reject` threshold of the policy.
    Enforce(&'a QuotaPolicy),
}

/// A `quotanamespacesize` / `quotarepositorysize` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRow {
    pub size_bytes: i64,
    pub backfill_start_ms: Option<i64>,
    pub backfill_complete: bool,
}

impl SizeRow {
    /// Quay's `backfill_status`: `waiting` (no row, or not started), `running`, `complete`.
    pub fn backfill_status(row: Option<&SizeRow>) -> &'static str {
        match row {
            None => "waiting",
            Some(r) => match (r.backfill_start_ms.is_some(), r.backfill_complete) {
                (true, true) => "complete",
                (true, false) => "running",
                (false, false) => "waiting",
                // Complete without a start: a row Quay's backfill never reports on.
                (false, true) => "",
            },
        }
    }
}

/// Bytes of the distinct blobs of manifest `$1` that no other manifest of namespace `$2`
/// references.
pub(crate) const NAMESPACE_DELTA: &str = "SELECT CAST(COALESCE(SUM(s.image_size), 0) AS BIGINT) \
     FROM imagestorage s WHERE s.id IN (SELECT blob_id FROM manifestblob WHERE manifest_id = $1) \
     AND NOT EXISTS (SELECT 1 FROM manifestblob o JOIN repository r ON r.id = o.repository_id \
     WHERE o.blob_id = s.id AND o.manifest_id <> $1 AND r.namespace_user_id = $2)";

/// Bytes of the distinct blobs of manifest `$1` that no other manifest of repository `$2`
/// references.
pub(crate) const REPOSITORY_DELTA: &str = "SELECT CAST(COALESCE(SUM(s.image_size), 0) AS BIGINT) \
     FROM imagestorage s WHERE s.id IN (SELECT blob_id FROM manifestblob WHERE manifest_id = $1) \
     AND NOT EXISTS (SELECT 1 FROM manifestblob o \
     WHERE o.blob_id = s.id AND o.manifest_id <> $1 AND o.repository_id = $2)";

const NAMESPACE_TOTAL: &str = "SELECT CAST(COALESCE(SUM(s.image_size), 0) AS BIGINT) \
     FROM imagestorage s WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb \
     JOIN repository r ON r.id = mb.repository_id WHERE r.namespace_user_id = $1)";

/// Keeps the namespace and repository totals in step with one manifest's `manifestblob`
/// rows, inside the open write transaction `$tx`. `$add`: the rows were just written (call
/// after inserting them); otherwise they are about to be deleted (call before). Evaluates
/// to the namespace id. The size row is locked before the delta is read, so on PostgreSQL
/// a concurrent write to the same namespace waits and then sees this one's rows.
macro_rules! account_manifest {
    ($tx:ident, $repo:expr, $manifest:expr, $add:expr, $now_ms:expr) => {{
        let repo: i32 = $repo;
        let manifest: i32 = $manifest;
        let add: bool = $add;
        let ns: i32 =
            sqlx::query_scalar("SELECT namespace_user_id FROM repository WHERE id = $1")
                .bind(repo)
                .fetch_one(&mut *$tx)
                .await?;
        for (table, key, key_id, delta_sql, others_sql) in [
            (
                "quotanamespacesize",
                "namespace_user_id",
                ns,
                $crate::quota::NAMESPACE_DELTA,
                "SELECT COUNT(*) FROM (SELECT 1 FROM manifest m JOIN repository r \
                 ON r.id = m.repository_id WHERE r.namespace_user_id = $1 AND m.id <> $2 \
                 LIMIT 1) x",
            ),
            (
                "quotarepositorysize",
                "repository_id",
                repo,
                $crate::quota::REPOSITORY_DELTA,
                "SELECT COUNT(*) FROM (SELECT 1 FROM manifest m \
                 WHERE m.repository_id = $1 AND m.id <> $2 LIMIT 1) x",
            ),
        ] {
            let tracked: Option<bool> = sqlx::query_scalar(&format!(
                "UPDATE {table} SET size_bytes = size_bytes WHERE {key} = $1 \
                 RETURNING backfill_complete"
            ))
            .bind(key_id)
            .fetch_optional(&mut *$tx)
            .await?;
            match tracked {
                Some(true) => {
                    let delta: i64 = sqlx::query_scalar(delta_sql)
                        .bind(manifest)
                        .bind(key_id)
                        .fetch_one(&mut *$tx)
                        .await?;
                    if delta != 0 {
                        let sql = if add {
                            format!("UPDATE {table} SET size_bytes = size_bytes + $1 WHERE {key} = $2")
                        } else {
                            format!(
                                "UPDATE {table} SET size_bytes = CASE WHEN size_bytes > $1 \
                                 THEN size_bytes - $1 ELSE 0 END WHERE {key} = $2"
                            )
                        };
                        sqlx::query(&sql).bind(delta).bind(key_id).execute(&mut *$tx).await?;
                    }
                }
                None if add => {
                    let others: i64 = sqlx::query_scalar(others_sql)
                        .bind(key_id)
                        .bind(manifest)
                        .fetch_one(&mut *$tx)
                        .await?;
                    if others == 0 {
                        let delta: i64 = sqlx::query_scalar(delta_sql)
                            .bind(manifest)
                            .bind(key_id)
                            .fetch_one(&mut *$tx)
                            .await?;
                        sqlx::query(&format!(
                            "INSERT INTO {table} ({key}, size_bytes, backfill_start_ms, \
                             backfill_complete) VALUES ($1, $2, $3, $4) ON CONFLICT ({key}) \
                             DO UPDATE SET size_bytes = {table}.size_bytes + excluded.size_bytes"
                        ))
                        .bind(key_id)
                        .bind(delta)
                        .bind($now_ms)
                        .bind(true)
                        .execute(&mut *$tx)
                        .await?;
                    }
                }
                _ => {}
            }
        }
        ns
    }};
}
pub(crate) use account_manifest;

/// Marks the totals of a namespace and a repository for a new backfill (Quay's
/// `QUOTA_INVALIDATE_TOTALS` with quota management off).
macro_rules! invalidate_sizes {
    ($tx:ident, $repo:expr) => {{
        let repo: i32 = $repo;
        sqlx::query(
            "UPDATE quotanamespacesize SET backfill_start_ms = NULL, backfill_complete = $2 \
             WHERE namespace_user_id = (SELECT namespace_user_id FROM repository WHERE id = $1)",
        )
        .bind(repo)
        .bind(false)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "UPDATE quotarepositorysize SET backfill_start_ms = NULL, backfill_complete = $2 \
             WHERE repository_id = $1",
        )
        .bind(repo)
        .bind(false)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use invalidate_sizes;

type LimitRow = (i32, String, i32);

fn limit_from_row((id, kind, pct): LimitRow) -> Result<QuotaLimit, MetaError> {
    let kind = QuotaKind::parse(&kind)
        .ok_or_else(|| MetaError::SchemaConflict(format!("unknown quotatype '{kind}'")))?;
    Ok(QuotaLimit {
        id: i64::from(id),
        kind,
        percent_of_limit: i64::from(pct),
    })
}

impl Db {
    /// The namespace's quota with its thresholds, if it has one.
    pub async fn namespace_quota(
        &self,
        namespace_id: i64,
    ) -> Result<Option<NamespaceQuota>, MetaError> {
        let ns = id32(namespace_id)?;
        let row: Option<(i32, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, limit_bytes FROM userorganizationquota WHERE namespace_id = $1 \
                 ORDER BY id LIMIT 1",
            )
            .bind(ns)
            .fetch_optional(pool)
            .await?
        });
        let Some((id, limit_bytes)) = row else {
            return Ok(None);
        };
        let limits: Vec<LimitRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT l.id, t.name, l.percent_of_limit FROM quotalimits l \
                 JOIN quotatype t ON t.id = l.quota_type_id WHERE l.quota_id = $1 ORDER BY l.id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(Some(NamespaceQuota {
            id: i64::from(id),
            namespace_id,
            limit_bytes,
            limits: limits
                .into_iter()
                .map(limit_from_row)
                .collect::<Result<_, _>>()?,
        }))
    }

    /// Creates the namespace's quota. `false` (nothing written) if it already has one.
    pub async fn create_namespace_quota(
        &self,
        namespace_id: i64,
        limit_bytes: i64,
    ) -> Result<bool, MetaError> {
        let ns = id32(namespace_id)?;
        let n = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES ($1, $2) \
                 ON CONFLICT (namespace_id) DO NOTHING",
            )
            .bind(ns)
            .bind(limit_bytes)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Sets a quota's limit.
    pub async fn update_namespace_quota(
        &self,
        quota_id: i64,
        limit_bytes: i64,
    ) -> Result<bool, MetaError> {
        let id = id32(quota_id)?;
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE userorganizationquota SET limit_bytes = $1 WHERE id = $2")
                .bind(limit_bytes)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes a quota and its thresholds, in one transaction.
    pub async fn delete_namespace_quota(&self, quota_id: i64) -> Result<bool, MetaError> {
        let id = id32(quota_id)?;
        let n = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            sqlx::query("DELETE FROM quotalimits WHERE quota_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM userorganizationquota WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n == 1)
    }

    /// Adds a threshold to a quota; its id.
    pub async fn create_quota_limit(
        &self,
        quota_id: i64,
        kind: QuotaKind,
        percent_of_limit: i64,
    ) -> Result<i64, MetaError> {
        let id = id32(quota_id)?;
        let pct = i32::try_from(percent_of_limit)
            .map_err(|_| MetaError::IdOutOfRange(percent_of_limit))?;
        let new: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) \
                 VALUES ($1, (SELECT id FROM quotatype WHERE name = $2), $3) RETURNING id",
            )
            .bind(id)
            .bind(kind.name())
            .bind(pct)
            .fetch_one(pool)
            .await?
        });
        Ok(i64::from(new))
    }

    /// Changes a threshold's type and/or percentage.
    pub async fn update_quota_limit(
        &self,
        limit_id: i64,
        kind: Option<QuotaKind>,
        percent_of_limit: Option<i64>,
    ) -> Result<(), MetaError> {
        let id = id32(limit_id)?;
        if let Some(kind) = kind {
            with_pool!(self, pool => {
                sqlx::query(
                    "UPDATE quotalimits SET quota_type_id = \
                     (SELECT id FROM quotatype WHERE name = $1) WHERE id = $2",
                )
                .bind(kind.name())
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
            });
        }
        if let Some(p) = percent_of_limit {
            let pct = i32::try_from(p).map_err(|_| MetaError::IdOutOfRange(p))?;
            with_pool!(self, pool => {
                sqlx::query("UPDATE quotalimits SET percent_of_limit = $1 WHERE id = $2")
                    .bind(pct)
                    .bind(id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(())
    }

    /// Deletes a threshold.
    pub async fn delete_quota_limit(&self, limit_id: i64) -> Result<bool, MetaError> {
        let id = id32(limit_id)?;
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM quotalimits WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The namespace's size row.
    pub async fn namespace_size(&self, namespace_id: i64) -> Result<Option<SizeRow>, MetaError> {
        self.size_row(
            "SELECT size_bytes, backfill_start_ms, backfill_complete FROM quotanamespacesize \
             WHERE namespace_user_id = $1",
            namespace_id,
        )
        .await
    }

    /// The repository's size row.
    pub async fn repository_size(&self, repository_id: i64) -> Result<Option<SizeRow>, MetaError> {
        self.size_row(
            "SELECT size_bytes, backfill_start_ms, backfill_complete FROM quotarepositorysize \
             WHERE repository_id = $1",
            repository_id,
        )
        .await
    }

    async fn size_row(&self, sql: &'static str, id: i64) -> Result<Option<SizeRow>, MetaError> {
        let id = id32(id)?;
        let row: Option<(Option<i64>, Option<i64>, bool)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(|(size, start, complete)| SizeRow {
            size_bytes: size.unwrap_or(0),
            backfill_start_ms: start,
            backfill_complete: complete,
        }))
    }

    /// Bytes received so far by the repository's uploads in progress (Quay's
    /// `get_size_during_upload`).
    pub async fn upload_bytes_in_progress(&self, repository_id: i64) -> Result<i64, MetaError> {
        let id = id32(repository_id)?;
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(byte_count), 0) AS BIGINT) FROM blobupload \
                 WHERE repository_id = $1",
            )
            .bind(id)
            .fetch_one(pool)
            .await?
        });
        Ok(n)
    }

    /// Up to `limit` namespaces whose totals the backfill has not started: enabled users
    /// and organizations (never robots) without a size row or with one marked for a new
    /// backfill.
    pub async fn quota_backfill_candidates(&self, limit: i64) -> Result<Vec<i64>, MetaError> {
        let ids: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(
                r#"SELECT u.id FROM "user" u LEFT JOIN quotanamespacesize q
                   ON q.namespace_user_id = u.id
                   WHERE u.robot = $1 AND u.enabled = $2
                   AND (q.id IS NULL OR q.backfill_start_ms IS NULL)
                   ORDER BY u.id LIMIT $3"#,
            )
            .bind(false)
            .bind(true)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(i64::from).collect())
    }

    /// Computes a namespace's total and the totals of each of its repositories from the
    /// data, and marks them complete. One transaction. Returns the namespace total.
    pub async fn quota_backfill_namespace(
        &self,
        namespace_id: i64,
        now_ms: i64,
    ) -> Result<i64, MetaError> {
        let ns = id32(namespace_id)?;
        let total = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            // Taking the row first makes a concurrent manifest write wait for this total.
            sqlx::query(
                "INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, \
                 backfill_start_ms, backfill_complete) VALUES ($1, 0, $2, $3) \
                 ON CONFLICT (namespace_user_id) DO UPDATE SET \
                 backfill_start_ms = excluded.backfill_start_ms, backfill_complete = excluded.backfill_complete",
            )
            .bind(ns)
            .bind(now_ms)
            .bind(false)
            .execute(&mut *tx)
            .await?;
            let total: i64 = sqlx::query_scalar(NAMESPACE_TOTAL)
                .bind(ns)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE quotanamespacesize SET size_bytes = $1, backfill_complete = $2 \
                 WHERE namespace_user_id = $3",
            )
            .bind(total)
            .bind(true)
            .bind(ns)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO quotarepositorysize (repository_id, size_bytes, backfill_start_ms, \
                 backfill_complete) SELECT r.id, (SELECT CAST(COALESCE(SUM(s.image_size), 0) AS BIGINT) \
                 FROM imagestorage s WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb \
                 WHERE mb.repository_id = r.id)), $2, $3 FROM repository r \
                 WHERE r.namespace_user_id = $1 \
                 ON CONFLICT (repository_id) DO UPDATE SET size_bytes = excluded.size_bytes, \
                 backfill_start_ms = excluded.backfill_start_ms, backfill_complete = excluded.backfill_complete",
            )
            .bind(ns)
            .bind(now_ms)
            .bind(true)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            total
        });
        Ok(total)
    }

    /// The sum of every stored blob's size (the superuser's registry size).
    pub async fn registry_blob_bytes(&self) -> Result<i64, MetaError> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(image_size), 0) AS BIGINT) FROM imagestorage")
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: i64, limits: &[(QuotaKind, i64)]) -> QuotaPolicy {
        QuotaPolicy::Namespace(NamespaceQuota {
            id: 1,
            namespace_id: 1,
            limit_bytes: limit,
            limits: limits
                .iter()
                .enumerate()
                .map(|(i, (kind, pct))| QuotaLimit {
                    id: i as i64,
                    kind: *kind,
                    percent_of_limit: *pct,
                })
                .collect(),
        })
    }

    #[test]
    fn the_largest_crossed_threshold_decides() {
        let q = quota(1000, &[(QuotaKind::Warning, 50), (QuotaKind::Reject, 100)]);
        assert_eq!(
            q.verdict(500),
            None,
            "a threshold must be exceeded, not met"
        );
        assert_eq!(q.verdict(501).map(|v| v.kind), Some(QuotaKind::Warning));
        assert!(!q.rejects(1000));
        assert!(q.rejects(1001));
        assert_eq!(q.verdict(1001).map(|v| v.threshold_percent), Some(100));
        // A larger warning threshold above a reject one wins once both are crossed.
        let odd = quota(1000, &[(QuotaKind::Reject, 50), (QuotaKind::Warning, 80)]);
        assert!(odd.rejects(600));
        assert!(!odd.rejects(900));
    }

    #[test]
    fn the_system_default_rejects_at_its_value() {
        let d = QuotaPolicy::SystemDefault { limit_bytes: 100 };
        assert!(!d.rejects(99));
        assert!(d.rejects(100));
        assert!(!QuotaPolicy::SystemDefault { limit_bytes: 0 }.rejects(i64::MAX));
    }

    #[test]
    fn backfill_status_follows_the_row() {
        assert_eq!(SizeRow::backfill_status(None), "waiting");
        let mut r = SizeRow {
            size_bytes: 0,
            backfill_start_ms: None,
            backfill_complete: false,
        };
        assert_eq!(SizeRow::backfill_status(Some(&r)), "waiting");
        r.backfill_start_ms = Some(1);
        assert_eq!(SizeRow::backfill_status(Some(&r)), "running");
        r.backfill_complete = true;
        assert_eq!(SizeRow::backfill_status(Some(&r)), "complete");
    }
}
