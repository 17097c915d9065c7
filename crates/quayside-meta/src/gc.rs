//! Garbage-collection SQL (quayside-workers holds the rules): Quay's `data/model/gc.py`
//! and `data/model/storage.py::garbage_collect_storage` on Quay's tables, plus the
//! repository/namespace purges behind the `repositorygc` / `namespacegc` queues, the stale
//! `blobupload` cleanup and quayside's own cross-instance worker leases.
//!
//! Concurrency with pushes (both backends):
//! * manifest deletion runs in one transaction that takes the same per-repository lock as
//!   `registry::put_manifest` (`BEGIN IMMEDIATE` on SQLite, the repository's advisory lock on
//!   PostgreSQL) and re-checks inside it that no tag, manifest list or referrer uses the
//!   manifest, so a push that re-tags the manifest either happens first (the manifest stays)
//!   or after (it writes a new manifest row);
//! * blob deletion takes the per-digest lock of `registry::commit_blob_upload` and re-checks
//!   inside it that no `manifestblob` / `uploadedblob` row links the blob.

use crate::db::{begin_write, take_lock, TxLock};
use chrono::NaiveDateTime;

use crate::deletion::NAMESPACED_QUEUES;
use crate::identity::id32;
use crate::queue::{canonical_queue_name, like_escape};
use crate::quota::account_manifest;
use crate::{with_pool, Db, MetaError};

// The push path's locks: GC takes the same keys, so they can never drift apart.

/// A repository holding garbage: its namespace's time-machine window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcRepo {
    pub id: i64,
    pub namespace_id: i64,
    pub namespace: String,
    pub name: String,
    /// `user.removed_tag_expiration_s` of the namespace.
    pub window_s: i64,
}

/// One tag row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcTag {
    pub id: i64,
    pub name: String,
    pub manifest_id: Option<i64>,
    pub lifetime_end_ms: Option<i64>,
    pub immutable: bool,
}

/// One manifest row (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcManifest {
    pub id: i64,
    pub digest: String,
    pub subject: Option<String>,
}

/// One `uploadedblob` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcUploaded {
    pub id: i64,
    pub blob_id: i64,
    pub expires_at: NaiveDateTime,
}

/// Everything GC looks at in one repository.
#[derive(Debug, Clone, Default)]
pub struct RepoSnapshot {
    pub tags: Vec<GcTag>,
    pub manifests: Vec<GcManifest>,
    /// (manifest, child manifest)
    pub children: Vec<(i64, i64)>,
    /// (manifest, blob)
    pub manifest_blobs: Vec<(i64, i64)>,
    /// (manifest, label)
    pub manifest_labels: Vec<(i64, i64)>,
    pub uploaded: Vec<GcUploaded>,
}

/// A blob (`imagestorage`) and every row anywhere that refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRefs {
    pub id: i64,
    pub uuid: String,
    pub checksum: Option<String>,
    pub size: Option<i64>,
    pub cas_path: bool,
    /// Location names holding it (`imagestorageplacement`).
    pub locations: Vec<String>,
    /// `manifestblob.manifest_id`s linking it, in any repository.
    pub manifests: Vec<i64>,
    /// `uploadedblob.id`s linking it, in any repository.
    pub uploaded: Vec<i64>,
    /// Other `imagestorage` ids with the same `content_checksum`.
    pub same_checksum: Vec<i64>,
}

/// Rows one manifest deletion removed, by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestDeleted {
    pub manifestlabel: u64,
    pub manifestchild: u64,
    pub manifestblob: u64,
    pub manifestsecuritystatus: u64,
    pub blob_ids: Vec<i64>,
    pub child_ids: Vec<i64>,
    pub label_ids: Vec<i64>,
}

/// What [`Db::gc_delete_blob`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobDeleted {
    /// The rows are gone: `placements` placement rows and the `imagestorage` row.
    Deleted { placements: u64, signatures: u64 },
    /// Something links the blob again (or it is gone): nothing was deleted.
    InUse,
    /// The object-removal guard failed (another row shares the checksum, or an upload of
    /// exactly this size is in progress and may be about to reuse the object): nothing was
    /// deleted; the caller must put the object back.
    Guarded,
}

/// A stale `blobupload` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleUpload {
    pub id: i64,
    pub uuid: String,
    pub location: String,
    /// `storage_metadata`: the objects the upload wrote, beyond `uploads/<uuid>`.
    pub storage_metadata: Option<String>,
}

type TagTuple = (i32, String, Option<i32>, Option<i64>, bool);
type BlobTuple = (i32, String, Option<String>, Option<i64>, bool);

impl Db {
    /// Distinct `removed_tag_expiration_s` values (Quay's GC policies, at most 100).
    pub async fn gc_policies(&self) -> Result<Vec<i64>, MetaError> {
        let v: Vec<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT removed_tag_expiration_s FROM \"user\" ORDER BY 1 LIMIT 100",
            )
            .fetch_all(pool)
            .await
        })?;
        Ok(v)
    }

    /// Repositories with garbage at `now_ms`: not marked for deletion, namespace enabled, and
    /// holding a tag whose `lifetime_end_ms <= now_ms - window*1000` (immutable tags count only
    /// with `immutable_can_expire`) or an `uploadedblob` row expired at `now`. In id order.
    pub async fn gc_repositories(
        &self,
        now_ms: i64,
        now: NaiveDateTime,
        immutable_can_expire: bool,
    ) -> Result<Vec<GcRepo>, MetaError> {
        const SQL: &str = "SELECT r.id, u.id, u.username, r.name, u.removed_tag_expiration_s \
             FROM repository r JOIN \"user\" u ON u.id = r.namespace_user_id \
             WHERE r.state <> $6 AND u.enabled = $1 AND ( \
               EXISTS (SELECT 1 FROM tag t WHERE t.repository_id = r.id \
                       AND t.lifetime_end_ms IS NOT NULL \
                       AND t.lifetime_end_ms <= $2 - (u.removed_tag_expiration_s * 1000) \
                       AND (t.immutable = $3 OR $4)) \
               OR EXISTS (SELECT 1 FROM uploadedblob b WHERE b.repository_id = r.id \
                       AND b.expires_at <= $5)) \
             ORDER BY r.id";
        let rows: Vec<(i32, i32, String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(true)
                .bind(now_ms)
                .bind(false)
                .bind(immutable_can_expire)
                .bind(now)
                .bind(crate::RepositoryState::MarkedForDeletion)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, nid, ns, name, w)| GcRepo {
                id: i64::from(id),
                namespace_id: i64::from(nid),
                namespace: ns,
                name,
                window_s: w,
            })
            .collect())
    }

    /// The repository's tags, manifests, manifest links and upload links.
    pub async fn gc_repo_snapshot(&self, repository_id: i64) -> Result<RepoSnapshot, MetaError> {
        let rid = id32(repository_id)?;
        let snap = with_pool!(self, pool => {
            let tags: Vec<TagTuple> = sqlx::query_as(
                "SELECT id, name, manifest_id, lifetime_end_ms, immutable FROM tag \
                 WHERE repository_id = $1 ORDER BY id",
            )
            .bind(rid)
            .fetch_all(pool)
            .await?;
            let manifests: Vec<(i32, String, Option<String>)> = sqlx::query_as(
                "SELECT id, digest, subject FROM manifest WHERE repository_id = $1 ORDER BY id",
            )
            .bind(rid)
            .fetch_all(pool)
            .await?;
            let children: Vec<(i32, i32)> = sqlx::query_as(
                "SELECT manifest_id, child_manifest_id FROM manifestchild WHERE repository_id = $1",
            )
            .bind(rid)
            .fetch_all(pool)
            .await?;
            let blobs: Vec<(i32, i32)> = sqlx::query_as(
                "SELECT manifest_id, blob_id FROM manifestblob WHERE repository_id = $1",
            )
            .bind(rid)
            .fetch_all(pool)
            .await?;
            let labels: Vec<(i32, i32)> = sqlx::query_as(
                "SELECT manifest_id, label_id FROM manifestlabel WHERE repository_id = $1",
            )
            .bind(rid)
            .fetch_all(pool)
            .await?;
            let uploaded: Vec<(i64, i32, NaiveDateTime)> = sqlx::query_as(
                "SELECT id, blob_id, expires_at FROM uploadedblob WHERE repository_id = $1 ORDER BY id",
            )
            .bind(rid)
            .fetch_all(pool)
            .await?;
            RepoSnapshot {
                tags: tags
                    .into_iter()
                    .map(|(id, name, m, end, imm)| GcTag {
                        id: i64::from(id),
                        name,
                        manifest_id: m.map(i64::from),
                        lifetime_end_ms: end,
                        immutable: imm,
                    })
                    .collect(),
                manifests: manifests
                    .into_iter()
                    .map(|(id, digest, subject)| GcManifest {
                        id: i64::from(id),
                        digest,
                        subject,
                    })
                    .collect(),
                children: children
                    .into_iter()
                    .map(|(a, b)| (i64::from(a), i64::from(b)))
                    .collect(),
                manifest_blobs: blobs
                    .into_iter()
                    .map(|(a, b)| (i64::from(a), i64::from(b)))
                    .collect(),
                manifest_labels: labels
                    .into_iter()
                    .map(|(a, b)| (i64::from(a), i64::from(b)))
                    .collect(),
                uploaded: uploaded
                    .into_iter()
                    .map(|(id, b, e)| GcUploaded {
                        id,
                        blob_id: i64::from(b),
                        expires_at: e,
                    })
                    .collect(),
            }
        });
        Ok(snap)
    }

    /// The blob `blob_id` with everything that refers to it (`None` if it is gone).
    pub async fn gc_blob_refs(&self, blob_id: i64) -> Result<Option<BlobRefs>, MetaError> {
        let bid = id32(blob_id)?;
        let out = with_pool!(self, pool => {
            let row: Option<BlobTuple> = sqlx::query_as(
                "SELECT id, uuid, content_checksum, image_size, cas_path FROM imagestorage WHERE id = $1",
            )
            .bind(bid)
            .fetch_optional(pool)
            .await?;
            match row {
                None => None,
                Some((id, uuid, checksum, size, cas_path)) => {
                    let locations: Vec<String> = sqlx::query_scalar(
                        "SELECT l.name FROM imagestorageplacement p \
                         JOIN imagestoragelocation l ON l.id = p.location_id \
                         WHERE p.storage_id = $1 ORDER BY l.name",
                    )
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
                    let manifests: Vec<i32> = sqlx::query_scalar(
                        "SELECT manifest_id FROM manifestblob WHERE blob_id = $1 ORDER BY manifest_id",
                    )
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
                    let uploaded: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM uploadedblob WHERE blob_id = $1 ORDER BY id",
                    )
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
                    let same: Vec<i32> = match &checksum {
                        Some(c) => {
                            sqlx::query_scalar(
                                "SELECT id FROM imagestorage WHERE content_checksum = $1 AND id <> $2 ORDER BY id",
                            )
                            .bind(c)
                            .bind(id)
                            .fetch_all(pool)
                            .await?
                        }
                        None => Vec::new(),
                    };
                    Some(BlobRefs {
                        id: i64::from(id),
                        uuid,
                        checksum,
                        size,
                        cas_path,
                        locations,
                        manifests: manifests.into_iter().map(i64::from).collect(),
                        uploaded,
                        same_checksum: same.into_iter().map(i64::from).collect(),
                    })
                }
            }
        });
        Ok(out)
    }

    /// Deletes tag row `tag_id` if its `lifetime_end_ms` is still `end_ms` (Quay's
    /// `_purge_oci_tag` reload check), with its `tagnotificationsuccess` rows. Returns
    /// (tag rows, tagnotificationsuccess rows) deleted.
    pub async fn gc_delete_tag(
        &self,
        tag_id: i64,
        end_ms: Option<i64>,
    ) -> Result<(u64, u64), MetaError> {
        let tid = id32(tag_id)?;
        let out = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let current: Option<(i32, Option<i64>)> =
                sqlx::query_as("SELECT repository_id, lifetime_end_ms FROM tag WHERE id = $1")
                    .bind(tid)
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                Some((repo, end)) if end == end_ms => {
                    take_lock!(tx, pool, TxLock::Repository(repo));
                    let notes = sqlx::query("DELETE FROM tagnotificationsuccess WHERE tag_id = $1")
                        .bind(tid)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    sqlx::query("UPDATE tag SET linked_tag_id = NULL WHERE linked_tag_id = $1")
                        .bind(tid)
                        .execute(&mut *tx)
                        .await?;
                    let n = sqlx::query("DELETE FROM tag WHERE id = $1 \
                         AND (lifetime_end_ms = $2 OR ($2 IS NULL AND lifetime_end_ms IS NULL))")
                        .bind(tid)
                        .bind(end_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    (n, notes)
                }
                _ => {
                    tx.rollback().await?;
                    (0, 0)
                }
            }
        });
        Ok(out)
    }

    /// Quay's `_garbage_collect_manifest`: in one transaction holding the repository's push
    /// lock, re-checks that no tag row, no `manifestchild` row and no manifest of the
    /// repository (by `subject`) uses the manifest, then deletes its labels links, child
    /// links, blob links, security status and the manifest row. `None` when it is in use or
    /// gone (nothing deleted).
    ///
    /// A client pulling the manifest by digest meanwhile cannot see half of it: a manifest
    /// is served only while an alive tag reaches it, and GC never deletes one that any tag
    /// row (alive or expired) points at; its rows go in one transaction, and its blobs are
    /// only deleted later, once no `manifestblob` row links them.
    pub async fn gc_delete_manifest(
        &self,
        repository_id: i64,
        manifest_id: i64,
    ) -> Result<Option<ManifestDeleted>, MetaError> {
        let rid = id32(repository_id)?;
        let mid = id32(manifest_id)?;
        let out = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::Repository(rid));
            let used: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM manifest m WHERE m.id = $1 AND m.repository_id = $2) \
                 - (CASE WHEN EXISTS (SELECT 1 FROM tag WHERE manifest_id = $1) \
                      OR EXISTS (SELECT 1 FROM manifestchild WHERE child_manifest_id = $1) \
                      OR EXISTS (SELECT 1 FROM manifest s JOIN manifest m ON m.id = $1 \
                                 WHERE s.repository_id = $2 AND s.subject = m.digest AND s.id <> $1) \
                    THEN 1 ELSE 0 END)",
            )
            .bind(mid)
            .bind(rid)
            .fetch_one(&mut *tx)
            .await?;
            if used != 1 {
                tx.rollback().await?;
                None
            } else {
                let blob_ids: Vec<i32> =
                    sqlx::query_scalar("SELECT blob_id FROM manifestblob WHERE manifest_id = $1 ORDER BY blob_id")
                        .bind(mid)
                        .fetch_all(&mut *tx)
                        .await?;
                let child_ids: Vec<i32> = sqlx::query_scalar(
                    "SELECT child_manifest_id FROM manifestchild WHERE manifest_id = $1 ORDER BY child_manifest_id",
                )
                .bind(mid)
                .fetch_all(&mut *tx)
                .await?;
                let label_ids: Vec<i32> =
                    sqlx::query_scalar("SELECT label_id FROM manifestlabel WHERE manifest_id = $1 ORDER BY label_id")
                        .bind(mid)
                        .fetch_all(&mut *tx)
                        .await?;
                // The totals lose what only this manifest kept (a no-op for namespaces
                // whose totals are not tracked).
                account_manifest!(tx, rid, mid, false, 0i64);
                let mut counts = [0u64; 4];
                for (i, stmt) in [
                    "DELETE FROM manifestlabel WHERE manifest_id = $1 AND repository_id = $2",
                    "DELETE FROM manifestchild WHERE manifest_id = $1 AND repository_id = $2",
                    "DELETE FROM manifestblob WHERE manifest_id = $1 AND repository_id = $2",
                    "DELETE FROM manifestsecuritystatus WHERE manifest_id = $1 AND repository_id = $2",
                ]
                .into_iter()
                .enumerate()
                {
                    counts[i] = sqlx::query(stmt)
                        .bind(mid)
                        .bind(rid)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                sqlx::query("DELETE FROM manifest WHERE id = $1")
                    .bind(mid)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Some(ManifestDeleted {
                    manifestlabel: counts[0],
                    manifestchild: counts[1],
                    manifestblob: counts[2],
                    manifestsecuritystatus: counts[3],
                    blob_ids: blob_ids.into_iter().map(i64::from).collect(),
                    child_ids: child_ids.into_iter().map(i64::from).collect(),
                    label_ids: label_ids.into_iter().map(i64::from).collect(),
                })
            }
        });
        Ok(out)
    }

    /// Quay's `_garbage_collect_label`: deletes the label unless a `manifestlabel` row still
    /// uses it. Returns whether it was deleted.
    pub async fn gc_delete_label(&self, label_id: i64) -> Result<bool, MetaError> {
        let n = with_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM label WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM manifestlabel WHERE label_id = $1)",
            )
            .bind(id32(label_id)?)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Deletes `uploadedblob` row `id` if it has expired at `now` (or unconditionally with
    /// `now = None`, for purges). Returns whether a row was deleted.
    pub async fn gc_delete_uploaded_blob(
        &self,
        id: i64,
        now: Option<NaiveDateTime>,
    ) -> Result<bool, MetaError> {
        let n = with_pool!(self, pool => {
            match now {
                Some(now) => sqlx::query("DELETE FROM uploadedblob WHERE id = $1 AND expires_at <= $2")
                    .bind(id)
                    .bind(now)
                    .execute(pool)
                    .await,
                None => sqlx::query("DELETE FROM uploadedblob WHERE id = $1")
                    .bind(id)
                    .execute(pool)
                    .await,
            }
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Quay's `garbage_collect_storage` for one blob, in one transaction holding the blob's
    /// digest lock (the lock `commit_blob_upload` takes): re-checks that no `manifestblob`
    /// and no `uploadedblob` row links it and that it has a placement, then deletes its
    /// signatures, placements and row.
    ///
    /// With `object_guard`, the caller has moved the shared content-addressed object aside
    /// and will delete it: the transaction then also requires that no other `imagestorage`
    /// row has the checksum and that no `blobupload` of exactly the blob's size is in
    /// progress (such an upload may have found the object present and dropped its own copy,
    /// and will link this content when it commits); otherwise nothing is deleted
    /// ([`BlobDeleted::Guarded`]) and the caller puts the object back.
    pub async fn gc_delete_blob(
        &self,
        blob_id: i64,
        object_guard: bool,
    ) -> Result<BlobDeleted, MetaError> {
        let bid = id32(blob_id)?;
        let out = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let row: Option<(Option<String>, Option<i64>)> =
                sqlx::query_as("SELECT content_checksum, image_size FROM imagestorage WHERE id = $1")
                    .bind(bid)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((checksum, size)) = row else {
                tx.rollback().await?;
                return Ok(BlobDeleted::InUse);
            };
            if let Some(c) = checksum.as_deref() {
                take_lock!(tx, pool, TxLock::blob(c));
            }
            let in_use: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM manifestblob WHERE blob_id = $1) \
                   OR EXISTS (SELECT 1 FROM uploadedblob WHERE blob_id = $1) \
                   OR NOT EXISTS (SELECT 1 FROM imagestorageplacement WHERE storage_id = $1)",
            )
            .bind(bid)
            .fetch_one(&mut *tx)
            .await?;
            if in_use {
                tx.rollback().await?;
                return Ok(BlobDeleted::InUse);
            }
            if object_guard {
                let shared: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM imagestorage WHERE content_checksum = $1 AND id <> $2) \
                       OR EXISTS (SELECT 1 FROM blobupload WHERE byte_count = $3)",
                )
                .bind(checksum.as_deref())
                .bind(bid)
                .bind(size.unwrap_or(-1))
                .fetch_one(&mut *tx)
                .await?;
                if shared {
                    tx.rollback().await?;
                    return Ok(BlobDeleted::Guarded);
                }
            }
            let signatures = sqlx::query("DELETE FROM imagestoragesignature WHERE storage_id = $1")
                .bind(bid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let placements = sqlx::query("DELETE FROM imagestorageplacement WHERE storage_id = $1")
                .bind(bid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM imagestorage WHERE id = $1")
                .bind(bid)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            BlobDeleted::Deleted { placements, signatures }
        });
        Ok(out)
    }

    /// `blobupload` rows created before `before` (Quay's `get_stale_blob_upload`), oldest
    /// first, at most `limit`.
    pub async fn stale_blob_uploads(
        &self,
        before: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<StaleUpload>, MetaError> {
        let rows: Vec<(i32, String, String, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT b.id, b.uuid, l.name, b.storage_metadata FROM blobupload b \
                 JOIN imagestoragelocation l ON l.id = b.location_id \
                 WHERE b.created <= $1 ORDER BY b.id LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, uuid, location, storage_metadata)| StaleUpload {
                id: i64::from(id),
                uuid,
                location,
                storage_metadata,
            })
            .collect())
    }

    /// `uuid`s of every `blobupload` row (to tell live upload objects from stale ones).
    pub async fn blob_upload_uuids(&self) -> Result<Vec<String>, MetaError> {
        let v: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT uuid FROM blobupload").fetch_all(pool).await
        })?;
        Ok(v)
    }

    /// Deletes `blobupload` row `id`. Returns whether it existed.
    pub async fn gc_delete_blob_upload(&self, id: i64) -> Result<bool, MetaError> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM blobupload WHERE id = $1")
                .bind(id32(id)?)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The repository a `deletedrepository` marker names (`None` if the marker is gone).
    pub async fn deleted_repository_marker(
        &self,
        marker_id: i64,
    ) -> Result<Option<i64>, MetaError> {
        let v: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT repository_id FROM deletedrepository WHERE id = $1")
                .bind(id32(marker_id)?)
                .fetch_optional(pool)
                .await
        })?;
        Ok(v.map(i64::from))
    }

    /// The namespace a `deletednamespace` marker names, with its `marked` time.
    pub async fn deleted_namespace_marker(
        &self,
        marker_id: i64,
    ) -> Result<Option<(i64, NaiveDateTime)>, MetaError> {
        let v: Option<(i32, NaiveDateTime)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT namespace_id, marked FROM deletednamespace WHERE id = $1")
                .bind(id32(marker_id)?)
                .fetch_optional(pool)
                .await
        })?;
        Ok(v.map(|(n, m)| (i64::from(n), m)))
    }

    /// Sets a repository's state to MARKED_FOR_DELETION (Quay's `purge_repository` first
    /// step) and returns the ids of all its tags (to purge, alive or not).
    pub async fn gc_begin_repository_purge(&self, repository_id: i64) -> Result<bool, MetaError> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE repository SET state = 3 WHERE id = $1")
                .bind(id32(repository_id)?)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// `blobupload` rows of a repository: (id, uuid, location name).
    pub async fn repository_blob_uploads(
        &self,
        repository_id: i64,
    ) -> Result<Vec<StaleUpload>, MetaError> {
        let rows: Vec<(i32, String, String, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT b.id, b.uuid, l.name, b.storage_metadata FROM blobupload b \
                 JOIN imagestoragelocation l ON l.id = b.location_id \
                 WHERE b.repository_id = $1 ORDER BY b.id",
            )
            .bind(id32(repository_id)?)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, uuid, location, storage_metadata)| StaleUpload {
                id: i64::from(id),
                uuid,
                location,
                storage_metadata,
            })
            .collect())
    }

    /// The end of Quay's `purge_repository` once tags, manifests and upload links are gone:
    /// deletes the repository's permissions, builds, triggers, action counts, stars, access
    /// tokens, notifications, uploads, mirror config, authorized emails and deletion marker,
    /// then the repository with every remaining row that refers to it. One transaction.
    /// Returns false (nothing deleted) if tags, manifests or upload links remain.
    pub async fn gc_finish_repository_purge(&self, repository_id: i64) -> Result<bool, MetaError> {
        let rid = id32(repository_id)?;
        let done = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let left: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM tag WHERE repository_id = $1) \
                 + (SELECT COUNT(*) FROM manifest WHERE repository_id = $1) \
                 + (SELECT COUNT(*) FROM uploadedblob WHERE repository_id = $1)",
            )
            .bind(rid)
            .fetch_one(&mut *tx)
            .await?;
            if left != 0 {
                tx.rollback().await?;
                false
            } else {
                for stmt in REPOSITORY_PURGE {
                    sqlx::query(stmt).bind(rid).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                true
            }
        });
        Ok(done)
    }

    /// The repository ids of a namespace.
    pub async fn namespace_repository_ids(&self, namespace_id: i64) -> Result<Vec<i64>, MetaError> {
        let v: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM repository WHERE namespace_user_id = $1 ORDER BY id")
                .bind(id32(namespace_id)?)
                .fetch_all(pool)
                .await
        })?;
        Ok(v.into_iter().map(i64::from).collect())
    }

    /// The end of Quay's `delete_user` once its repositories are purged: drops queued items
    /// under the namespace, its linked data (teams, OAuth applications, memberships, robots
    /// with their rows, build triggers, federated logins) and every row referring to the
    /// namespace, then the namespace row itself. One transaction. Returns false (nothing
    /// deleted) if repositories remain or the namespace is gone.
    pub async fn gc_finish_namespace_purge(&self, namespace_id: i64) -> Result<bool, MetaError> {
        let nid = id32(namespace_id)?;
        let done = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let found: Option<String> = sqlx::query_scalar("SELECT username FROM \"user\" WHERE id = $1")
                .bind(nid)
                .fetch_optional(&mut *tx)
                .await?;
            let repos: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM repository WHERE namespace_user_id = $1")
                .bind(nid)
                .fetch_one(&mut *tx)
                .await?;
            match found {
                Some(username) if repos == 0 => {
                    for q in NAMESPACED_QUEUES {
                        let pattern =
                            format!("{}%", like_escape(&canonical_queue_name(q, &[&username])));
                        sqlx::query("DELETE FROM queueitem WHERE queue_name LIKE $1 ESCAPE '\\'")
                            .bind(pattern)
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Robots of the namespace, then the namespace: every referring row.
                    let robot_pattern = format!("{}+%", like_escape(&username));
                    let robots: Vec<i32> = sqlx::query_scalar(
                        "SELECT id FROM \"user\" WHERE robot = $1 AND username LIKE $2 ESCAPE '\\'",
                    )
                    .bind(true)
                    .bind(&robot_pattern)
                    .fetch_all(&mut *tx)
                    .await?;
                    for id in robots.iter().copied().chain(std::iter::once(nid)) {
                        for stmt in ACCOUNT_PURGE {
                            sqlx::query(stmt).bind(id).execute(&mut *tx).await?;
                        }
                    }
                    tx.commit().await?;
                    true
                }
                _ => {
                    tx.rollback().await?;
                    false
                }
            }
        });
        Ok(done)
    }

    /// Tries to take (or renew) the lease `name` for `holder` until `expires_at_ms`; succeeds
    /// when the lease is free, expired at `now_ms`, or already `holder`'s.
    pub async fn worker_lock_acquire(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<bool, MetaError> {
        const SQL: &str = "INSERT INTO quayside_worker_lock (name, holder, expires_at_ms) \
             VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
             SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
             WHERE quayside_worker_lock.expires_at_ms <= $4 OR quayside_worker_lock.holder = excluded.holder";
        let n = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(name)
                .bind(holder)
                .bind(expires_at_ms)
                .bind(now_ms)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Releases the lease `name` if `holder` holds it.
    pub async fn worker_lock_release(&self, name: &str, holder: &str) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM quayside_worker_lock WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Row count of one of Quay's tables (GC reports and tests). `table` must be a table of
    /// the schema; anything else is refused.
    pub async fn count_rows(&self, table: &str) -> Result<i64, MetaError> {
        if crate::schema::table(table).is_none() && !table.starts_with("quayside_") {
            return Err(MetaError::InvalidConfig(format!("unknown table {table}")));
        }
        if !table
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
        {
            return Err(MetaError::InvalidConfig(format!("bad table name {table}")));
        }
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(&sql).fetch_one(pool).await)?;
        Ok(n)
    }
}

/// Quay's `purge_repository` after the contents: `_chunk_delete_all` of the reference
/// tables, the marker, then `delete_instance(recursive)` of the repository (every remaining
/// referring row). Bound parameter `$1` = repository id.
const REPOSITORY_PURGE: &[&str] = &[
    "DELETE FROM repositorypermission WHERE repository_id = $1",
    "DELETE FROM repositorybuild WHERE repository_id = $1",
    "UPDATE repositorybuild SET trigger_id = NULL WHERE trigger_id IN (SELECT id FROM repositorybuildtrigger WHERE repository_id = $1)",
    "DELETE FROM repositorybuildtrigger WHERE repository_id = $1",
    "DELETE FROM repositoryactioncount WHERE repository_id = $1",
    "DELETE FROM star WHERE repository_id = $1",
    "UPDATE repositorybuildtrigger SET write_token_id = NULL WHERE write_token_id IN (SELECT id FROM accesstoken WHERE repository_id = $1)",
    "DELETE FROM repositorybuild WHERE access_token_id IN (SELECT id FROM accesstoken WHERE repository_id = $1)",
    "DELETE FROM accesstoken WHERE repository_id = $1",
    "DELETE FROM tagnotificationsuccess WHERE notification_id IN (SELECT id FROM repositorynotification WHERE repository_id = $1)",
    "DELETE FROM repositorynotification WHERE repository_id = $1",
    "DELETE FROM blobupload WHERE repository_id = $1",
    "DELETE FROM repomirrorconfig WHERE repository_id = $1",
    "DELETE FROM repomirrorrule WHERE repository_id = $1",
    "DELETE FROM repositoryauthorizedemail WHERE repository_id = $1",
    "DELETE FROM deletedrepository WHERE repository_id = $1",
    "DELETE FROM repositorysearchscore WHERE repository_id = $1",
    "DELETE FROM manifestsecuritystatus WHERE repository_id = $1",
    "DELETE FROM quotarepositorysize WHERE repository_id = $1",
    "DELETE FROM repositoryautoprunepolicy WHERE repository_id = $1",
    "DELETE FROM tagpullstatistics WHERE repository_id = $1",
    "DELETE FROM manifestpullstatistics WHERE repository_id = $1",
    "DELETE FROM orgmirrorrepository WHERE repository_id = $1",
    "DELETE FROM repositoryimmutabilitypolicy WHERE repository_id = $1",
    "DELETE FROM apprtag WHERE repository_id = $1",
    "DELETE FROM repository WHERE id = $1",
];

/// Quay's `delete_user` linked data and `delete_instance(recursive=True,
/// delete_nullable=True)`: every row referring to the account. `$1` = account id.
const ACCOUNT_PURGE: &[&str] = &[
    // Teams of an organization, with their members, invites and syncs.
    "DELETE FROM teammember WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
    "DELETE FROM teammemberinvite WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
    "DELETE FROM teamsync WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
    "DELETE FROM repositorypermission WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1)",
    "DELETE FROM permissionprototype WHERE delegate_team_id IN (SELECT id FROM team WHERE organization_id = $1)",
    "DELETE FROM team WHERE organization_id = $1",
    // OAuth applications of an organization.
    "DELETE FROM oauthauthorizationcode WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1)",
    "DELETE FROM oauthaccesstoken WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1)",
    "DELETE FROM oauthassignedtoken WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1)",
    "DELETE FROM oauthapplication WHERE organization_id = $1",
    // Build triggers connected to the account; builds pulling with it.
    "UPDATE repositorybuild SET trigger_id = NULL WHERE trigger_id IN (SELECT id FROM repositorybuildtrigger WHERE connected_user_id = $1)",
    "DELETE FROM repositorybuildtrigger WHERE connected_user_id = $1",
    "UPDATE repositorybuildtrigger SET pull_robot_id = NULL WHERE pull_robot_id = $1",
    "UPDATE repositorybuild SET pull_robot_id = NULL WHERE pull_robot_id = $1",
    "UPDATE servicekeyapproval SET approver_id = NULL WHERE approver_id = $1",
    // Rows referring to the account directly.
    "DELETE FROM teammember WHERE user_id = $1",
    "DELETE FROM teammemberinvite WHERE user_id = $1 OR inviter_id = $1",
    "DELETE FROM federatedlogin WHERE user_id = $1",
    "DELETE FROM repositorypermission WHERE user_id = $1",
    "DELETE FROM permissionprototype WHERE org_id = $1 OR activating_user_id = $1 OR delegate_user_id = $1",
    "DELETE FROM star WHERE user_id = $1",
    "DELETE FROM notification WHERE target_id = $1",
    "DELETE FROM emailconfirmation WHERE user_id = $1",
    "DELETE FROM userregion WHERE user_id = $1",
    "DELETE FROM userprompt WHERE user_id = $1",
    "DELETE FROM robotaccountmetadata WHERE robot_account_id = $1",
    "DELETE FROM robotaccounttoken WHERE robot_account_id = $1",
    "DELETE FROM appspecificauthtoken WHERE user_id = $1",
    "DELETE FROM oauthaccesstoken WHERE authorized_user_id = $1",
    "DELETE FROM oauthassignedtoken WHERE assigned_user_id = $1",
    "DELETE FROM quotalimits WHERE quota_id IN (SELECT id FROM userorganizationquota WHERE namespace_id = $1)",
    "DELETE FROM userorganizationquota WHERE namespace_id = $1",
    "DELETE FROM quotanamespacesize WHERE namespace_user_id = $1",
    "DELETE FROM quotanotificationstate WHERE namespace_id = $1",
    "DELETE FROM proxycacheconfig WHERE organization_id = $1",
    "DELETE FROM redhatsubscriptions WHERE user_id = $1",
    "DELETE FROM organizationrhskus WHERE user_id = $1 OR org_id = $1",
    "DELETE FROM namespaceautoprunepolicy WHERE namespace_id = $1",
    "DELETE FROM autoprunetaskstatus WHERE namespace_id = $1",
    "DELETE FROM repositoryautoprunepolicy WHERE namespace_id = $1",
    "DELETE FROM repomirrorconfig WHERE internal_robot_id = $1",
    "DELETE FROM orgmirrorrepository WHERE org_mirror_config_id IN (SELECT id FROM orgmirrorconfig WHERE organization_id = $1 OR internal_robot_id = $1)",
    "DELETE FROM orgmirrorconfig WHERE organization_id = $1 OR internal_robot_id = $1",
    "DELETE FROM namespaceimmutabilitypolicy WHERE namespace_id = $1",
    "DELETE FROM repositoryimmutabilitypolicy WHERE namespace_id = $1",
    "DELETE FROM organizationcontactemail WHERE organization_id = $1",
    "DELETE FROM namespacenotification WHERE namespace_id = $1",
    "DELETE FROM deletednamespace WHERE namespace_id = $1",
    "DELETE FROM \"user\" WHERE id = $1",
];
