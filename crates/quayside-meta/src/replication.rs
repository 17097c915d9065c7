//! Geo-replication rows (Quay's `FEATURE_STORAGE_REPLICATION`): which locations a blob must
//! be in (`userregion` of its namespace ∪ `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`), where it
//! is (`imagestorageplacement`), the `imagestoragereplication` queue items that ask for the
//! difference, and the placement a finished copy adds.

use chrono::NaiveDateTime;

use crate::identity::id32;
use crate::queue::{canonical_queue_name, like_escape, INSERT_QUEUE_ITEM};
use crate::{with_pool, Db, MetaError};

/// Quay's `REPLICATION_QUEUE_NAME`.
pub const REPLICATION_QUEUE: &str = "imagestoragereplication";

/// Attempts a replication item gets (Quay's `WorkQueue.put` default).
pub const REPLICATION_RETRIES: i32 = 5;

/// An `imagestorage` row to replicate, with the names of the locations holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSource {
    pub storage_id: i64,
    pub uuid: String,
    pub content_checksum: Option<String>,
    pub image_size: Option<i64>,
    pub cas_path: bool,
    pub placements: Vec<String>,
}

/// A blob some manifest links, in the namespace of that manifest's repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedBlob {
    pub namespace_id: i64,
    pub uuid: String,
    pub placements: Vec<String>,
}

/// The body of a replication item as Quay writes it (`json.dumps` of
/// `{"namespace_user_id": …, "storage_id": <imagestorage uuid>}`, Python's separators).
pub fn replication_body(namespace_id: i64, storage_uuid: &str) -> String {
    let uuid = serde_json::Value::from(storage_uuid).to_string();
    format!("{{\"namespace_user_id\": {namespace_id}, \"storage_id\": {uuid}}}")
}

impl Db {
    /// Queues one replication item per `imagestorage` uuid of `storage_ids` (Quay enqueues
    /// every blob of a manifest when the manifest is written), in one transaction; the queue
    /// name is `imagestoragereplication/<uuid>/`.
    pub async fn enqueue_replication(
        &self,
        namespace_id: i64,
        storage_ids: &[i64],
        now: NaiveDateTime,
    ) -> Result<u64, MetaError> {
        if storage_ids.is_empty() {
            return Ok(0);
        }
        let mut ids = Vec::with_capacity(storage_ids.len());
        for id in storage_ids {
            ids.push(id32(*id)?);
        }
        let n = with_pool!(self, pool => {
            let mut tx = crate::db::begin_write!(pool);
            let mut n = 0u64;
            for id in &ids {
                let uuid: Option<String> =
                    sqlx::query_scalar("SELECT uuid FROM imagestorage WHERE id = $1")
                        .bind(*id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(uuid) = uuid else { continue };
                sqlx::query(INSERT_QUEUE_ITEM)
                    .bind(canonical_queue_name(REPLICATION_QUEUE, &[&uuid]))
                    .bind(replication_body(namespace_id, &uuid))
                    .bind(now)
                    .bind(true)
                    .bind(REPLICATION_RETRIES)
                    .bind(uuid::Uuid::new_v4().to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                n += 1;
            }
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// Whether a replication item for `storage_uuid` is still waiting or running (has
    /// retries left), so a backfill does not queue it twice.
    pub async fn replication_pending(&self, storage_uuid: &str) -> Result<bool, MetaError> {
        let name = canonical_queue_name(REPLICATION_QUEUE, &[storage_uuid]);
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE $1 ESCAPE '\\' \
                 AND retries_remaining > 0",
            )
            .bind(format!("{}%", like_escape(&name)))
            .fetch_one(pool)
            .await
        })?;
        Ok(n > 0)
    }

    /// The `imagestorage` row with `uuid` and its placements.
    pub async fn replica_source(&self, uuid: &str) -> Result<Option<ReplicaSource>, MetaError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i32,
            uuid: String,
            content_checksum: Option<String>,
            image_size: Option<i64>,
            cas_path: bool,
        }
        let row: Option<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, uuid, content_checksum, image_size, cas_path FROM imagestorage \
                 WHERE uuid = $1",
            )
            .bind(uuid)
            .fetch_optional(pool)
            .await
        })?;
        let Some(Row {
            id,
            uuid,
            content_checksum,
            image_size,
            cas_path,
        }) = row
        else {
            return Ok(None);
        };
        let placements: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT l.name FROM imagestorageplacement p \
                 JOIN imagestoragelocation l ON l.id = p.location_id \
                 WHERE p.storage_id = $1 ORDER BY l.name",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })?;
        Ok(Some(ReplicaSource {
            storage_id: i64::from(id),
            uuid,
            content_checksum,
            image_size,
            cas_path,
            placements,
        }))
    }

    /// Names of the `userregion` locations of a namespace (extra replication targets).
    pub async fn namespace_regions(&self, namespace_id: i64) -> Result<Vec<String>, MetaError> {
        let ns = id32(namespace_id)?;
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT l.name FROM userregion r JOIN imagestoragelocation l ON l.id = r.location_id \
                 WHERE r.user_id = $1 ORDER BY l.name",
            )
            .bind(ns)
            .fetch_all(pool)
            .await
        })?;
        Ok(names)
    }

    /// Records that the blob `storage_id` is now also in `location` (its row is created if
    /// missing). False when the placement was already there.
    pub async fn add_placement(&self, storage_id: i64, location: &str) -> Result<bool, MetaError> {
        let location_id = self.storage_location_id(location).await?;
        let storage = id32(storage_id)?;
        let n = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, $2) \
                 ON CONFLICT (storage_id, location_id) DO NOTHING",
            )
            .bind(storage)
            .bind(location_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    /// Every blob a manifest links (distinct per namespace), after `(namespace_id, uuid)`
    /// in that order, at most `limit`: what Quay's backfill walks.
    pub async fn linked_blobs_after(
        &self,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<LinkedBlob>, MetaError> {
        let (after_ns, after_uuid) = match after {
            Some((ns, uuid)) => (id32(ns)?, uuid.to_owned()),
            None => (-1, String::new()),
        };
        let rows: Vec<(i32, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT DISTINCT r.namespace_user_id, s.uuid \
                 FROM manifestblob mb JOIN repository r ON r.id = mb.repository_id \
                 JOIN imagestorage s ON s.id = mb.blob_id \
                 WHERE r.namespace_user_id > $1 OR (r.namespace_user_id = $1 AND s.uuid > $2) \
                 ORDER BY r.namespace_user_id, s.uuid LIMIT $3",
            )
            .bind(after_ns)
            .bind(&after_uuid)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for (ns, uuid) in rows {
            let placements = match self.replica_source(&uuid).await? {
                Some(s) => s.placements,
                None => Vec::new(),
            };
            out.push(LinkedBlob {
                namespace_id: i64::from(ns),
                uuid,
                placements,
            });
        }
        Ok(out)
    }
}

/// What [`Db::remove_storage_location`] deleted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemovedLocation {
    /// `blobupload` rows of uploads that were in progress there.
    pub uploads: u64,
    /// Ids of the `imagestorageplacement` rows deleted.
    pub placements: Vec<i64>,
    /// Whether the `imagestoragelocation` row existed and went.
    pub location: bool,
}

impl Db {
    /// Quay's `util/removelocation.py`: deletes the location's in-progress uploads, every
    /// placement in it and the location row, in one transaction. Blobs placed nowhere else
    /// stop being pullable (as in Quay), so this is for a location already replicated away.
    pub async fn remove_storage_location(&self, name: &str) -> Result<RemovedLocation, MetaError> {
        let out = with_pool!(self, pool => {
            let mut tx = crate::db::begin_write!(pool);
            let id: Option<i32> =
                sqlx::query_scalar("SELECT id FROM imagestoragelocation WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(id) = id else {
                return Ok(RemovedLocation::default());
            };
            let uploads = sqlx::query("DELETE FROM blobupload WHERE location_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let placements: Vec<i32> = sqlx::query_scalar(
                "SELECT id FROM imagestorageplacement WHERE location_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM imagestorageplacement WHERE location_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM userregion WHERE location_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM imagestoragelocation WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            RemovedLocation {
                uploads,
                placements: placements.into_iter().map(i64::from).collect(),
                location: true,
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_quays() {
        assert_eq!(
            replication_body(7, "u-1"),
            r#"{"namespace_user_id": 7, "storage_id": "u-1"}"#
        );
    }
}
