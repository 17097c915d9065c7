//! Queries behind the registry model (`quayside-domain`): repositories as the registry sees
//! them, blob uploads, blobs, manifests and tags, on Quay's own tables.
//!
//! Rules kept here so Quay reads what we write:
//! * tag lifetimes are milliseconds since the epoch; a tag is alive while `lifetime_end_ms`
//!   is NULL or in the future; moving or deleting a tag ends the alive row, never deletes it;
//! * `DateTime` columns hold naive UTC;
//! * ids of Quay's `serial` columns are 32-bit, so they are bound and read as `i32`.
//!
//! Statements that must not interleave with a concurrent push run in one transaction that
//! starts with `BEGIN IMMEDIATE` on SQLite (one writer at a time) and takes a transaction-scoped
//! advisory lock on PostgreSQL (per repository for tags, per digest for blobs).

use crate::db::{begin_write, TxLock};
use chrono::NaiveDateTime;

use crate::quota::{account_manifest, invalidate_sizes, QuotaAccounting};
use crate::tag_lifetime::end_alive_row;
use crate::{with_pool, Backend, Db, MetaError, RepositoryKind, RepositoryState, Visibility};

const REPO_STATE_MARKED_FOR_DELETION: RepositoryState = RepositoryState::MarkedForDeletion;

/// A repository row with the names the registry needs (columns of [`REPO_COLUMNS`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryRepo {
    #[sqlx(rename = "repo_id")]
    pub id: i32,
    #[sqlx(rename = "repo_namespace_id")]
    pub namespace_id: i32,
    #[sqlx(rename = "repo_namespace")]
    pub namespace: String,
    #[sqlx(rename = "repo_name")]
    pub name: String,
    #[sqlx(rename = "repo_visibility")]
    pub visibility: Visibility,
    #[sqlx(rename = "repo_state")]
    pub state: RepositoryState,
    #[sqlx(rename = "repo_kind")]
    pub kind: RepositoryKind,
}

/// An `imagestorage` row visible somewhere, with the names of the locations holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub storage_id: i32,
    pub uuid: String,
    pub content_checksum: String,
    pub image_size: Option<i64>,
    pub cas_path: bool,
    pub locations: Vec<String>,
}

/// A `blobupload` row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BlobUploadRow {
    pub id: i32,
    pub repository_id: i32,
    pub uuid: String,
    pub byte_count: i64,
    pub chunk_count: i32,
    pub location_id: i32,
    pub location: String,
    /// `storage_metadata`: what the storage driver keeps about the upload's objects.
    pub storage_metadata: Option<String>,
}

/// A `manifest` row with its media type name (columns of [`MANIFEST_COLUMNS`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ManifestRow {
    #[sqlx(rename = "manifest_id")]
    pub id: i32,
    #[sqlx(rename = "manifest_digest")]
    pub digest: String,
    #[sqlx(rename = "manifest_media_type")]
    pub media_type: String,
    #[sqlx(rename = "manifest_bytes")]
    pub bytes: String,
    #[sqlx(rename = "manifest_artifact_type")]
    pub artifact_type: Option<String>,
}

/// What a tag name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagManifest {
    Alive(ManifestRow),
    /// No alive row, but the name has history (deleted or expired).
    Expired,
    Missing,
}

/// What a delete by digest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestDelete {
    /// Every alive tag of the manifest (visible and hidden) ended.
    Ended,
    /// The repository has no alive tag pointing at the manifest; nothing changed.
    NoTags,
    /// An alive index of the repository names the manifest; nothing changed.
    ReferencedByIndex,
}

/// Everything needed to write a manifest and its links.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub repository_id: i32,
    pub digest: &'a str,
    pub media_type: &'a str,
    pub bytes: &'a str,
    pub config_media_type: Option<&'a str>,
    pub layers_compressed_size: Option<i64>,
    pub subject: Option<&'a str>,
    pub artifact_type: Option<&'a str>,
    /// `imagestorage` ids for `manifestblob` rows.
    pub blob_ids: &'a [i32],
    /// `manifest` ids for `manifestchild` rows.
    pub child_ids: &'a [i32],
    /// Labels read from the manifest (source `manifest`), written only when this call
    /// creates the manifest row, as Quay does.
    pub labels: &'a [ManifestLabel<'a>],
    /// What the write does with the quota size totals.
    pub quota: QuotaAccounting<'a>,
}

/// A label a pushed manifest carries.
#[derive(Debug, Clone)]
pub struct ManifestLabel<'a> {
    pub uuid: &'a str,
    pub key: &'a str,
    pub value: &'a str,
    /// `text/plain` or `application/json`.
    pub media_type: &'a str,
}

/// What keeps a written manifest alive.
#[derive(Debug, Clone)]
pub enum TagTarget<'a> {
    /// Point this (visible) tag at the manifest: the alive row, if it names another
    /// manifest, ends now and a new row starts, ending `end_after_ms` after its start when
    /// given (a `quay.expires-after` label). An immutable alive row naming another
    /// manifest refuses with [`MetaError::TagImmutable`].
    Tag {
        name: &'a str,
        end_after_ms: Option<i64>,
    },
    /// A hidden `$temp-…` tag, unless some tag already keeps the manifest alive at least as
    /// long. `end_ms: None` = never expires (manifests with a subject).
    Temporary { name: String, end_ms: Option<i64> },
}

/// The blob upload being committed.
#[derive(Debug, Clone)]
pub struct CommitBlob<'a> {
    pub upload_id: i32,
    /// The `byte_count` the upload row must still hold: the commit fails (`None`) when
    /// another request moved the upload on meanwhile.
    pub recorded_size: i64,
    pub repository_id: i32,
    pub digest: &'a str,
    pub size: i64,
    pub location_id: i32,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// Used when a new `imagestorage` row is created.
    pub new_uuid: &'a str,
}

/// Which repositories the catalog may list (the caller decides visibility).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogScope {
    All,
    Only(Vec<i32>),
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow {
    pub id: i32,
    pub namespace: String,
    pub name: String,
}

const ALIVE: &str = "(t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $NOW)";

fn alive(now_param: &str) -> String {
    ALIVE.replace("$NOW", now_param)
}

/// The columns of [`ManifestRow`] (`m` = manifest, `mt` = its media type), without `FROM`.
const MANIFEST_SELECT: &str = "m.id AS manifest_id, m.digest AS manifest_digest, \
     mt.name AS manifest_media_type, m.manifest_bytes AS manifest_bytes, \
     m.artifact_type AS manifest_artifact_type";

/// The tables [`MANIFEST_SELECT`] reads.
const MANIFEST_FROM: &str = "FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id";

/// Columns of [`RegistryRepo`] (`r` = repository) and the joins they need.
const REPO_COLUMNS: &str = "r.id AS repo_id, r.namespace_user_id AS repo_namespace_id, \
     u.username AS repo_namespace, r.name AS repo_name, v.name AS repo_visibility, \
     r.state AS repo_state, k.name AS repo_kind";
const REPO_JOINS: &str = r#"JOIN "user" u ON u.id = r.namespace_user_id
            JOIN visibility v ON v.id = r.visibility_id
            JOIN repositorykind k ON k.id = r.kind_id"#;

/// A repository row and the columns of a left-joined manifest ([`MANIFEST_SELECT`]), all
/// NULL when the join found none.
#[derive(sqlx::FromRow)]
struct RepoWithManifest {
    #[sqlx(flatten)]
    repo: RegistryRepo,
    manifest_id: Option<i32>,
    manifest_digest: Option<String>,
    manifest_media_type: Option<String>,
    manifest_bytes: Option<String>,
    manifest_artifact_type: Option<String>,
}

impl RepoWithManifest {
    fn split(self) -> (RegistryRepo, Option<ManifestRow>) {
        let manifest = match (
            self.manifest_id,
            self.manifest_digest,
            self.manifest_media_type,
            self.manifest_bytes,
        ) {
            (Some(id), Some(digest), Some(media_type), Some(bytes)) => Some(ManifestRow {
                id,
                digest,
                media_type,
                bytes,
                artifact_type: self.manifest_artifact_type,
            }),
            _ => None,
        };
        (self.repo, manifest)
    }
}

/// A repository row and the columns of a left-joined blob: `imagestorage` id, uuid,
/// checksum, size, `cas_path`, then how many locations hold it and the first of their names.
#[derive(sqlx::FromRow)]
struct RepoWithBlob {
    #[sqlx(flatten)]
    repo: RegistryRepo,
    storage_id: Option<i32>,
    storage_uuid: Option<String>,
    content_checksum: Option<String>,
    image_size: Option<i64>,
    cas_path: Option<bool>,
    placements: i64,
    first_location: Option<String>,
}

/// SQL for the `imagestorage` id of the blob with checksum `digest` as repository `repo` sees
/// it at `now` (each a placeholder or column): linked by a `manifestblob` row of the
/// repository or by an `uploadedblob` row that has not expired, and placed somewhere. The one
/// definition of blob visibility for pulls.
fn visible_blob_id(digest: &str, repo: &str, now: &str) -> String {
    format!(
        "SELECT vs.id FROM imagestorage vs WHERE vs.content_checksum = {digest} AND ( \
           EXISTS (SELECT 1 FROM uploadedblob ub WHERE ub.blob_id = vs.id \
                   AND ub.repository_id = {repo} AND ub.expires_at > {now}) \
           OR EXISTS (SELECT 1 FROM manifestblob mb WHERE mb.blob_id = vs.id \
                   AND mb.repository_id = {repo})) \
         AND EXISTS (SELECT 1 FROM imagestorageplacement vp WHERE vp.storage_id = vs.id) \
         ORDER BY vs.id LIMIT 1"
    )
}

impl Db {
    /// The repository `namespace/name`, unless it is marked for deletion.
    pub async fn registry_repository(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RegistryRepo>, MetaError> {
        let sql = format!(
            "SELECT {REPO_COLUMNS} FROM repository r {REPO_JOINS} \
             WHERE u.username = $1 AND r.name = $2 AND r.state <> $3"
        );
        let row: Option<RegistryRepo> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(namespace)
                .bind(name)
                .bind(REPO_STATE_MARKED_FOR_DELETION)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// [`Db::registry_repository`] and, in the same statement, the manifest the alive,
    /// visible tag `tag` of that repository points at (as [`Db::manifest_for_tag`] finds
    /// it; `None` when there is no alive row). One round trip for a pull by tag.
    pub async fn registry_repository_and_tag(
        &self,
        namespace: &str,
        name: &str,
        tag: &str,
        now_ms: i64,
    ) -> Result<Option<(RegistryRepo, Option<ManifestRow>)>, MetaError> {
        let sql = format!(
            "SELECT {REPO_COLUMNS}, {MANIFEST_SELECT} \
             FROM repository r {REPO_JOINS} \
             LEFT JOIN manifest m ON m.id = ( \
               SELECT t.manifest_id FROM tag t WHERE t.repository_id = r.id AND t.name = $4 \
               AND t.hidden = $6 AND t.manifest_id IS NOT NULL AND {} ORDER BY t.lifetime_start_ms DESC LIMIT 1) \
             LEFT JOIN mediatype mt ON mt.id = m.media_type_id \
             WHERE u.username = $1 AND r.name = $2 AND r.state <> $3",
            alive("$5")
        );
        let row: Option<RepoWithManifest> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(namespace)
                .bind(name)
                .bind(REPO_STATE_MARKED_FOR_DELETION)
                .bind(tag)
                .bind(now_ms)
                .bind(false)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(RepoWithManifest::split))
    }

    /// [`Db::registry_repository`] and, in the same statement, the manifest `digest` of that
    /// repository if it is reachable (as [`Db::reachable_manifest`] finds it). One round
    /// trip for a pull by digest.
    pub async fn registry_repository_and_manifest(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
        now_ms: i64,
    ) -> Result<Option<(RegistryRepo, Option<ManifestRow>)>, MetaError> {
        let sql = format!(
            "SELECT {REPO_COLUMNS}, {MANIFEST_SELECT} \
             FROM repository r {REPO_JOINS} \
             LEFT JOIN manifest m ON m.repository_id = r.id AND m.digest = $4 AND ( \
               EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND {alive}) \
               OR EXISTS (SELECT 1 FROM manifestchild c JOIN tag t ON t.manifest_id = c.manifest_id \
                          WHERE c.child_manifest_id = m.id AND {alive})) \
             LEFT JOIN mediatype mt ON mt.id = m.media_type_id \
             WHERE u.username = $1 AND r.name = $2 AND r.state <> $3",
            alive = alive("$5")
        );
        let row: Option<RepoWithManifest> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(namespace)
                .bind(name)
                .bind(REPO_STATE_MARKED_FOR_DELETION)
                .bind(digest)
                .bind(now_ms)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(RepoWithManifest::split))
    }

    /// [`Db::registry_repository`] and, in the same statement, the blob `digest` as that
    /// repository sees it (as [`Db::repository_blob`] finds it). One round trip for a blob
    /// pull; a second only for a blob placed in more than one location.
    pub async fn registry_repository_and_blob(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
        now: NaiveDateTime,
    ) -> Result<Option<(RegistryRepo, Option<BlobRow>)>, MetaError> {
        let sql = format!(
            "SELECT {REPO_COLUMNS}, s.id AS storage_id, s.uuid AS storage_uuid, \
               s.content_checksum AS content_checksum, s.image_size AS image_size, \
               s.cas_path AS cas_path, \
               (SELECT COUNT(*) FROM imagestorageplacement p WHERE p.storage_id = s.id) \
                 AS placements, \
               (SELECT MIN(l.name) FROM imagestorageplacement p \
                JOIN imagestoragelocation l ON l.id = p.location_id WHERE p.storage_id = s.id) \
                 AS first_location \
             FROM repository r {REPO_JOINS} \
             LEFT JOIN imagestorage s ON s.id = ({visible}) \
             WHERE u.username = $1 AND r.name = $2 AND r.state <> $3",
            visible = visible_blob_id("$4", "r.id", "$5"),
        );
        let row: Option<RepoWithBlob> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(namespace)
                .bind(name)
                .bind(REPO_STATE_MARKED_FOR_DELETION)
                .bind(digest)
                .bind(now)
                .fetch_optional(pool)
                .await
        })?;
        let Some(t) = row else {
            return Ok(None);
        };
        let repo = t.repo;
        let (Some(storage_id), Some(uuid), Some(content_checksum), Some(cas_path)) =
            (t.storage_id, t.storage_uuid, t.content_checksum, t.cas_path)
        else {
            return Ok(Some((repo, None)));
        };
        let locations = match (t.placements, t.first_location) {
            (1, Some(only)) => vec![only],
            _ => self.blob_locations(storage_id).await?,
        };
        Ok(Some((
            repo,
            Some(BlobRow {
                storage_id,
                uuid,
                content_checksum,
                image_size: t.image_size,
                cas_path,
                locations,
            }),
        )))
    }

    /// Id of the `imagestoragelocation` named `name`, creating the row if missing (Quay's
    /// boot step creates it too).
    pub async fn storage_location_id(&self, name: &str) -> Result<i32, MetaError> {
        const FIND: &str = "SELECT id FROM imagestoragelocation WHERE name = $1";
        let found: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(FIND).bind(name).fetch_optional(pool).await
        })?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.sync_storage_locations(&[name.to_string()]).await?;
        let id: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(FIND).bind(name).fetch_one(pool).await
        })?;
        Ok(id)
    }

    async fn blob_locations(&self, storage_id: i32) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT l.name FROM imagestorageplacement p \
            JOIN imagestoragelocation l ON l.id = p.location_id WHERE p.storage_id = $1 ORDER BY l.name";
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(storage_id).fetch_all(pool).await
        })?;
        Ok(names)
    }

    async fn finish_blob(
        &self,
        row: Option<(i32, String, String, Option<i64>, bool)>,
    ) -> Result<Option<BlobRow>, MetaError> {
        let Some((storage_id, uuid, content_checksum, image_size, cas_path)) = row else {
            return Ok(None);
        };
        let locations = self.blob_locations(storage_id).await?;
        Ok(Some(BlobRow {
            storage_id,
            uuid,
            content_checksum,
            image_size,
            cas_path,
            locations,
        }))
    }

    /// The blob with `digest` as the repository sees it: linked by a `manifestblob` row of the
    /// repository or by an `uploadedblob` row of the repository that has not expired at `now`,
    /// and placed in at least one location.
    pub async fn repository_blob(
        &self,
        repository_id: i32,
        digest: &str,
        now: NaiveDateTime,
    ) -> Result<Option<BlobRow>, MetaError> {
        let sql = format!(
            "SELECT s.id, s.uuid, s.content_checksum, s.image_size, s.cas_path \
             FROM imagestorage s WHERE s.id = ({})",
            visible_blob_id("$1", "$2", "$3")
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(digest)
                .bind(repository_id)
                .bind(now)
                .fetch_optional(pool)
                .await
        })?;
        self.finish_blob(row).await
    }

    /// Any placed blob with `digest`, whatever repository links it (Quay's shared blobs, such
    /// as the special empty layer).
    pub async fn shared_blob(&self, digest: &str) -> Result<Option<BlobRow>, MetaError> {
        const SQL: &str = "SELECT s.id, s.uuid, s.content_checksum, s.image_size, s.cas_path \
            FROM imagestorage s WHERE s.content_checksum = $1 \
            AND EXISTS (SELECT 1 FROM imagestorageplacement p WHERE p.storage_id = s.id) \
            ORDER BY s.id LIMIT 1";
        let row = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(digest).fetch_optional(pool).await
        })?;
        self.finish_blob(row).await
    }

    /// Links an existing blob into a repository until `expires_at` (`uploadedblob`), unless
    /// the repository is marked for deletion. Returns whether a link was written.
    pub async fn link_uploaded_blob(
        &self,
        repository_id: i32,
        storage_id: i32,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> Result<bool, MetaError> {
        const SQL: &str =
            "INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) \
            SELECT $1, $2, $3, $4 WHERE EXISTS \
            (SELECT 1 FROM repository WHERE id = $1 AND state <> $5)";
        let n = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(repository_id)
                .bind(storage_id)
                .bind(now)
                .bind(expires_at)
                .bind(REPO_STATE_MARKED_FOR_DELETION)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Records a new blob upload (`blobupload`), empty so far.
    pub async fn create_blob_upload(
        &self,
        repository_id: i32,
        uuid: &str,
        location_id: i32,
        now: NaiveDateTime,
    ) -> Result<(), MetaError> {
        const SQL: &str = "INSERT INTO blobupload (repository_id, uuid, byte_count, sha_state, \
            location_id, storage_metadata, chunk_count, uncompressed_byte_count, created) \
            VALUES ($1, $2, 0, NULL, $3, '{}', 0, NULL, $4)";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(repository_id)
                .bind(uuid)
                .bind(location_id)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The upload `uuid` of a repository.
    pub async fn blob_upload(
        &self,
        repository_id: i32,
        uuid: &str,
    ) -> Result<Option<BlobUploadRow>, MetaError> {
        const SQL: &str = "SELECT b.id, b.repository_id, b.uuid, b.byte_count, b.chunk_count, \
            b.location_id, l.name AS location, b.storage_metadata FROM blobupload b \
            JOIN imagestoragelocation l ON l.id = b.location_id \
            WHERE b.repository_id = $1 AND b.uuid = $2";
        let row: Option<BlobUploadRow> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(repository_id).bind(uuid).fetch_optional(pool).await
        })?;
        Ok(row)
    }

    /// Records an appended chunk: `byte_count` moves from `from` to `to` (only if it is still
    /// `from`; returns false otherwise), `chunk_count` grows by one, the uncompressed size
    /// becomes unknown, and `storage_metadata` becomes `metadata` when one is given (in the
    /// same write, so the byte count and the objects that hold the bytes never disagree).
    pub async fn advance_blob_upload(
        &self,
        upload_id: i32,
        from: i64,
        to: i64,
        metadata: Option<&str>,
    ) -> Result<bool, MetaError> {
        const SQL: &str = "UPDATE blobupload SET byte_count = $1, chunk_count = chunk_count + 1, \
            uncompressed_byte_count = NULL, storage_metadata = COALESCE($4, storage_metadata) \
            WHERE id = $2 AND byte_count = $3";
        let n = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(to)
                .bind(upload_id)
                .bind(from)
                .bind(metadata)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Deletes an upload row; returns whether it existed.
    pub async fn delete_blob_upload(&self, upload_id: i32) -> Result<bool, MetaError> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM blobupload WHERE id = $1")
                .bind(upload_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Turns a finished upload into a blob in one transaction: reuse the oldest `imagestorage`
    /// row with this checksum (filling a missing size) or create one (`cas_path`, not
    /// uploading), ensure the placement, link it to the repository (`uploadedblob`) and delete
    /// the upload row. Returns `None` (and writes nothing) if the upload row is gone.
    pub async fn commit_blob_upload(&self, c: &CommitBlob<'_>) -> Result<Option<i32>, MetaError> {
        let storage_id: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::blob(c.digest));
            let gone = sqlx::query("DELETE FROM blobupload WHERE id = $1 AND byte_count = $2")
                .bind(c.upload_id)
                .bind(c.recorded_size)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 0;
            if gone {
                tx.rollback().await?;
                None
            } else {
                let existing: Option<(i32, Option<i64>)> = sqlx::query_as(
                    "SELECT id, image_size FROM imagestorage WHERE content_checksum = $1 \
                     ORDER BY id LIMIT 1",
                )
                .bind(c.digest)
                .fetch_optional(&mut *tx)
                .await?;
                let storage_id = match existing {
                    Some((id, size)) => {
                        if size.is_none() {
                            sqlx::query("UPDATE imagestorage SET image_size = $1 WHERE id = $2")
                                .bind(c.size)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        id
                    }
                    None => {
                        sqlx::query_scalar(
                            "INSERT INTO imagestorage (uuid, image_size, uncompressed_size, \
                             uploading, cas_path, content_checksum) \
                             VALUES ($1, $2, NULL, $3, $4, $5) RETURNING id",
                        )
                        .bind(c.new_uuid)
                        .bind(c.size)
                        .bind(false)
                        .bind(true)
                        .bind(c.digest)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                sqlx::query(
                    "INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, $2) \
                     ON CONFLICT (storage_id, location_id) DO NOTHING",
                )
                .bind(storage_id)
                .bind(c.location_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(c.repository_id)
                .bind(storage_id)
                .bind(c.now)
                .bind(c.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Some(storage_id)
            }
        });
        Ok(storage_id)
    }

    /// Returns the `imagestorage` row with `digest`, creating it (`cas_path`, not uploading,
    /// `size` bytes) when there is none, and ensures its placement in `location_id`: Quay's
    /// `get_or_create_shared_blob`, used for globally shared blobs such as the empty layer.
    /// The caller has written the object already.
    pub async fn get_or_create_shared_blob(
        &self,
        digest: &str,
        size: i64,
        location_id: i32,
        new_uuid: &str,
    ) -> Result<i32, MetaError> {
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::blob(digest));
            let existing: Option<i32> = sqlx::query_scalar(
                "SELECT id FROM imagestorage WHERE content_checksum = $1 ORDER BY id LIMIT 1",
            )
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some(id) => id,
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO imagestorage (uuid, image_size, uncompressed_size, \
                         uploading, cas_path, content_checksum) \
                         VALUES ($1, $2, NULL, $3, $4, $5) RETURNING id",
                    )
                    .bind(new_uuid)
                    .bind(size)
                    .bind(false)
                    .bind(true)
                    .bind(digest)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            sqlx::query(
                "INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, $2) \
                 ON CONFLICT (storage_id, location_id) DO NOTHING",
            )
            .bind(id)
            .bind(location_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// Ids of every `imagestorage` row with `digest`, oldest first (inspection and tests).
    pub async fn storage_ids_for_checksum(&self, digest: &str) -> Result<Vec<i32>, MetaError> {
        const SQL: &str = "SELECT id FROM imagestorage WHERE content_checksum = $1 ORDER BY id";
        let ids: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(digest).fetch_all(pool).await
        })?;
        Ok(ids)
    }

    /// The media type name of manifest `digest` in a repository and the checksums of the
    /// blobs its `manifestblob` rows link, sorted (inspection and tests).
    pub async fn manifest_blob_checksums(
        &self,
        repository_id: i32,
        digest: &str,
    ) -> Result<Option<(String, Vec<String>)>, MetaError> {
        let Some(row) = self.manifest_row(repository_id, digest).await? else {
            return Ok(None);
        };
        const SQL: &str = "SELECT s.content_checksum FROM manifestblob mb \
            JOIN imagestorage s ON s.id = mb.blob_id \
            WHERE mb.manifest_id = $1 AND mb.repository_id = $2 ORDER BY s.content_checksum";
        let sums: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(row.id).bind(repository_id).fetch_all(pool).await
        })?;
        Ok(Some((row.media_type, sums)))
    }

    /// The blob row `storage_id` with its locations.
    pub async fn blob_by_id(&self, storage_id: i32) -> Result<Option<BlobRow>, MetaError> {
        const SQL: &str = "SELECT s.id, s.uuid, s.content_checksum, s.image_size, s.cas_path \
            FROM imagestorage s WHERE s.id = $1";
        let row = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(storage_id).fetch_optional(pool).await
        })?;
        self.finish_blob(row).await
    }

    /// The manifest an alive, visible tag points at; `Expired` when the name only has
    /// history.
    pub async fn manifest_for_tag(
        &self,
        repository_id: i32,
        tag: &str,
        now_ms: i64,
    ) -> Result<TagManifest, MetaError> {
        let sql = format!(
            "SELECT {MANIFEST_SELECT} {MANIFEST_FROM} JOIN tag t ON t.manifest_id = m.id \
             WHERE t.repository_id = $1 AND t.name = $2 AND t.hidden = $4 AND {} \
             ORDER BY t.lifetime_start_ms DESC LIMIT 1",
            alive("$3")
        );
        let found: Option<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(repository_id)
                .bind(tag)
                .bind(now_ms)
                .bind(false)
                .fetch_optional(pool)
                .await
        })?;
        if let Some(t) = found {
            return Ok(TagManifest::Alive(t));
        }
        self.tag_without_alive_row(repository_id, tag, now_ms).await
    }

    /// What a tag name with no alive, visible row is: `Expired` when the name has history
    /// (rows that ended), else `Missing`.
    pub async fn tag_without_alive_row(
        &self,
        repository_id: i32,
        tag: &str,
        now_ms: i64,
    ) -> Result<TagManifest, MetaError> {
        const HISTORY: &str = "SELECT COUNT(*) FROM tag WHERE repository_id = $1 AND name = $2 \
            AND lifetime_end_ms IS NOT NULL AND lifetime_end_ms <= $3";
        let past: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(HISTORY)
                .bind(repository_id)
                .bind(tag)
                .bind(now_ms)
                .fetch_one(pool)
                .await
        })?;
        Ok(if past > 0 {
            TagManifest::Expired
        } else {
            TagManifest::Missing
        })
    }

    /// The manifest `digest` of a repository if it is reachable: pointed at by an alive tag
    /// (hidden ones included) or a child of a manifest that is.
    pub async fn reachable_manifest(
        &self,
        repository_id: i32,
        digest: &str,
        now_ms: i64,
    ) -> Result<Option<ManifestRow>, MetaError> {
        let sql = format!(
            "SELECT {MANIFEST_SELECT} {MANIFEST_FROM} WHERE m.repository_id = $1 AND m.digest = $2 AND ( \
               EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND {alive}) \
               OR EXISTS (SELECT 1 FROM manifestchild c JOIN tag t ON t.manifest_id = c.manifest_id \
                          WHERE c.child_manifest_id = m.id AND {alive}))",
            alive = alive("$3")
        );
        let found: Option<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(repository_id)
                .bind(digest)
                .bind(now_ms)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found)
    }

    /// The manifest row `digest` of a repository, alive or not.
    pub async fn manifest_row(
        &self,
        repository_id: i32,
        digest: &str,
    ) -> Result<Option<ManifestRow>, MetaError> {
        let sql = format!(
            "SELECT {MANIFEST_SELECT} {MANIFEST_FROM} WHERE m.repository_id = $1 AND m.digest = $2"
        );
        let found: Option<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(repository_id)
                .bind(digest)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found)
    }

    /// Writes a manifest (or finds the existing row for the same digest), its `manifestblob`
    /// and `manifestchild` rows, and the tag that keeps it alive, in one transaction
    /// serialised per repository. Idempotent. Returns the manifest id.
    pub async fn put_manifest(
        &self,
        m: &NewManifest<'_>,
        target: &TagTarget<'_>,
        now_ms: i64,
    ) -> Result<i32, MetaError> {
        let id: i32 = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::Repository(m.repository_id));
            let media_type_id: Option<i32> =
                sqlx::query_scalar("SELECT id FROM mediatype WHERE name = $1")
                    .bind(m.media_type)
                    .fetch_optional(&mut *tx)
                    .await?;
            let media_type_id = match media_type_id {
                Some(id) => id,
                None => {
                    sqlx::query_scalar("INSERT INTO mediatype (name) VALUES ($1) RETURNING id")
                        .bind(m.media_type)
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            let created = sqlx::query(
                "INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes, \
                 config_media_type, layers_compressed_size, subject, subject_backfilled, \
                 artifact_type, artifact_type_backfilled) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (repository_id, digest) DO NOTHING",
            )
            .bind(m.repository_id)
            .bind(m.digest)
            .bind(media_type_id)
            .bind(m.bytes)
            .bind(m.config_media_type)
            .bind(m.layers_compressed_size)
            .bind(m.subject)
            .bind(true)
            .bind(m.artifact_type)
            .bind(true)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let manifest_id: i32 = sqlx::query_scalar(
                "SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2",
            )
            .bind(m.repository_id)
            .bind(m.digest)
            .fetch_one(&mut *tx)
            .await?;
            if created && !m.labels.is_empty() {
                let source: i32 = sqlx::query_scalar(
                    "SELECT id FROM labelsourcetype WHERE name = 'manifest'",
                )
                .fetch_one(&mut *tx)
                .await?;
                for l in m.labels {
                    let media: i32 =
                        sqlx::query_scalar("SELECT id FROM mediatype WHERE name = $1")
                            .bind(l.media_type)
                            .fetch_one(&mut *tx)
                            .await?;
                    let label_id: i32 = sqlx::query_scalar(
                        "INSERT INTO label (uuid, key, value, media_type_id, source_type_id) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(l.uuid)
                    .bind(l.key)
                    .bind(l.value)
                    .bind(media)
                    .bind(source)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO manifestlabel (repository_id, manifest_id, label_id) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(m.repository_id)
                    .bind(manifest_id)
                    .bind(label_id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for blob_id in m.blob_ids {
                sqlx::query(
                    "INSERT INTO manifestblob (repository_id, manifest_id, blob_id) \
                     VALUES ($1, $2, $3) ON CONFLICT (manifest_id, blob_id) DO NOTHING",
                )
                .bind(m.repository_id)
                .bind(manifest_id)
                .bind(*blob_id)
                .execute(&mut *tx)
                .await?;
            }
            for child_id in m.child_ids {
                sqlx::query(
                    "INSERT INTO manifestchild (repository_id, manifest_id, child_manifest_id) \
                     VALUES ($1, $2, $3) ON CONFLICT (manifest_id, child_manifest_id) DO NOTHING",
                )
                .bind(m.repository_id)
                .bind(manifest_id)
                .bind(*child_id)
                .execute(&mut *tx)
                .await?;
            }
            match m.quota {
                QuotaAccounting::Off => {}
                QuotaAccounting::Invalidate => {
                    if created {
                        invalidate_sizes!(tx, m.repository_id);
                    }
                }
                QuotaAccounting::Track | QuotaAccounting::Enforce(_) => {
                    if created {
                        account_manifest!(tx, m.repository_id, manifest_id, true, now_ms);
                    }
                    if let QuotaAccounting::Enforce(policy) = m.quota {
                        let size: Option<i64> = sqlx::query_scalar(
                            "SELECT size_bytes FROM quotanamespacesize WHERE namespace_user_id = \
                             (SELECT namespace_user_id FROM repository WHERE id = $1)",
                        )
                        .bind(m.repository_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if policy.rejects(size.unwrap_or(0)) {
                            tx.rollback().await?;
                            return Err(MetaError::QuotaExceeded);
                        }
                    }
                }
            }
            match target {
                TagTarget::Tag { name, end_after_ms } => {
                    let current: Option<(i32, Option<i32>, bool, Option<i64>)> = sqlx::query_as(
                        "SELECT t.id, t.manifest_id, t.immutable, t.lifetime_end_ms FROM tag t WHERE t.repository_id = $1 \
                         AND t.name = $2 AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $3) \
                         ORDER BY t.lifetime_start_ms DESC LIMIT 1",
                    )
                    .bind(m.repository_id)
                    .bind(*name)
                    .bind(now_ms)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let start = match current {
                        Some((_, Some(mid), _, _)) if mid == manifest_id => None,
                        Some((_, _, true, _)) => {
                            return Err(MetaError::TagImmutable {
                                tag: (*name).to_owned(),
                            });
                        }
                        Some((tag_id, _, _, old_end)) => {
                            let end =
                                end_alive_row!(tx, m.repository_id, *name, tag_id, old_end, now_ms);
                            Some(end.unwrap_or(now_ms))
                        }
                        None => Some(now_ms),
                    };
                    if let Some(start) = start {
                        sqlx::query(
                            "INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, \
                             lifetime_end_ms, hidden, reversion, tag_kind_id, linked_tag_id, immutable) \
                             VALUES ($1, $2, $3, $4, $6, $5, $5, \
                             (SELECT id FROM tagkind WHERE name = 'tag'), NULL, $5)",
                        )
                        .bind(*name)
                        .bind(m.repository_id)
                        .bind(manifest_id)
                        .bind(start)
                        .bind(false)
                        .bind(end_after_ms.map(|d| start.saturating_add(d)))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                TagTarget::Temporary { name, end_ms } => {
                    let kept: i64 = match end_ms {
                        Some(end) => {
                            sqlx::query_scalar(
                                "SELECT COUNT(*) FROM tag WHERE manifest_id = $1 \
                                 AND (lifetime_end_ms IS NULL OR lifetime_end_ms >= $2)",
                            )
                            .bind(manifest_id)
                            .bind(*end)
                            .fetch_one(&mut *tx)
                            .await?
                        }
                        None => {
                            sqlx::query_scalar(
                                "SELECT COUNT(*) FROM tag WHERE manifest_id = $1 \
                                 AND lifetime_end_ms IS NULL",
                            )
                            .bind(manifest_id)
                            .fetch_one(&mut *tx)
                            .await?
                        }
                    };
                    if kept == 0 {
                        sqlx::query(
                            "INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, \
                             lifetime_end_ms, hidden, reversion, tag_kind_id, linked_tag_id, immutable) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, \
                             (SELECT id FROM tagkind WHERE name = 'tag'), NULL, $7)",
                        )
                        .bind(name.as_str())
                        .bind(m.repository_id)
                        .bind(manifest_id)
                        .bind(now_ms)
                        .bind(*end_ms)
                        .bind(true)
                        .bind(false)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            tx.commit().await?;
            manifest_id
        });
        Ok(id)
    }

    /// Ends every alive tag pointing at manifest `digest`, hidden ones too (the temporary
    /// tag of a push by digest, a referrer's tag), so that a pull by digest no longer finds
    /// it. Nothing changes while an alive index of the repository names the manifest
    /// ([`ManifestDelete::ReferencedByIndex`]: the pull would still find it) or when one of
    /// its tags is immutable ([`MetaError::TagImmutable`]).
    pub async fn delete_tags_for_manifest(
        &self,
        repository_id: i32,
        digest: &str,
        now_ms: i64,
    ) -> Result<ManifestDelete, MetaError> {
        let outcome = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::Repository(repository_id));
            let tags: Vec<(i32, String, bool, Option<i64>)> = sqlx::query_as(
                "SELECT t.id, t.name, t.immutable, t.lifetime_end_ms FROM tag t JOIN manifest m ON m.id = t.manifest_id \
                 WHERE m.repository_id = $1 AND m.digest = $2 \
                 AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $3) ORDER BY t.name",
            )
            .bind(repository_id)
            .bind(digest)
            .bind(now_ms)
            .fetch_all(&mut *tx)
            .await?;
            let parent_sql = format!(
                "SELECT COUNT(*) FROM manifestchild c \
                 JOIN manifest m ON m.id = c.child_manifest_id \
                 JOIN tag t ON t.manifest_id = c.manifest_id \
                 WHERE m.repository_id = $1 AND m.digest = $2 AND {}",
                alive("$3")
            );
            let parents: i64 = sqlx::query_scalar(&parent_sql)
                .bind(repository_id)
                .bind(digest)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
            if parents > 0 {
                return Ok(ManifestDelete::ReferencedByIndex);
            }
            if let Some((_, name, _, _)) = tags.iter().find(|t| t.2) {
                return Err(MetaError::TagImmutable { tag: name.clone() });
            }
            let mut ended = false;
            for (id, name, _, old_end) in tags {
                ended |= end_alive_row!(tx, repository_id, name.as_str(), id, old_end, now_ms).is_some();
            }
            tx.commit().await?;
            if ended {
                ManifestDelete::Ended
            } else {
                ManifestDelete::NoTags
            }
        });
        Ok(outcome)
    }

    /// Names of alive, visible tags after `last` (exclusive), sorted, at most `limit`.
    ///
    /// The page comes back as one row (the names joined with newlines, which tag names
    /// cannot contain): the SQLite driver hands each result row across threads on its own,
    /// which made a 100-name page cost a hundred thread hand-offs.
    pub async fn alive_tag_names(
        &self,
        repository_id: i32,
        now_ms: i64,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>, MetaError> {
        let after = if last.is_some() { "AND name > $5" } else { "" };
        // SQLite's group_concat has no ORDER BY before 3.44: the names are sorted below,
        // by bytes, which is SQLite's BINARY collation. PostgreSQL sorts in its collation,
        // the one `name > $5` pages by.
        let backend = self.backend();
        let join = match backend {
            Backend::Sqlite => "group_concat(name, char(10))",
            Backend::Postgres => "string_agg(name, chr(10) ORDER BY name)",
        };
        let sql = format!(
            "SELECT {join} FROM (SELECT DISTINCT name FROM tag WHERE repository_id = $1 \
             AND hidden = $2 AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $3) {after} \
             ORDER BY name LIMIT $4) AS page"
        );
        let joined: Option<String> = with_pool!(self, pool => {
            let mut q = sqlx::query_scalar(&sql)
                .bind(repository_id)
                .bind(false)
                .bind(now_ms)
                .bind(limit);
            if let Some(last) = last {
                q = q.bind(last);
            }
            q.fetch_one(pool).await
        })?;
        let mut names: Vec<String> = joined
            .map(|j| j.split('\n').map(str::to_string).collect())
            .unwrap_or_default();
        if backend == Backend::Sqlite {
            names.sort_unstable();
        }
        Ok(names)
    }

    /// Reachable manifests of a repository whose `subject` is `subject`, optionally only
    /// those with `artifact_type`, oldest first.
    pub async fn referrer_manifests(
        &self,
        repository_id: i32,
        subject: &str,
        artifact_type: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<ManifestRow>, MetaError> {
        let filter = if artifact_type.is_some() {
            "AND m.artifact_type = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {MANIFEST_SELECT} {MANIFEST_FROM} WHERE m.repository_id = $1 AND m.subject = $2 {filter} \
             AND EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND {}) ORDER BY m.id",
            alive("$3")
        );
        let rows: Vec<ManifestRow> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql).bind(repository_id).bind(subject).bind(now_ms);
            if let Some(at) = artifact_type {
                q = q.bind(at);
            }
            q.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Repositories for `/v2/_catalog`, by id after `after_id`, at most `limit`; never
    /// those marked for deletion.
    pub async fn catalog_repositories(
        &self,
        scope: &CatalogScope,
        after_id: Option<i32>,
        limit: i64,
    ) -> Result<Vec<CatalogRow>, MetaError> {
        let mut sql = String::from(
            r#"SELECT r.id, u.username, r.name FROM repository r
               JOIN "user" u ON u.id = r.namespace_user_id
               WHERE r.state <> $1 AND r.id > $2"#,
        );
        if let CatalogScope::Only(ids) = scope {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
            sql.push_str(&format!(" AND r.id IN ({})", placeholders.join(", ")));
        }
        sql.push_str(" ORDER BY r.id LIMIT $3");
        let rows: Vec<(i32, String, String)> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql)
                .bind(REPO_STATE_MARKED_FOR_DELETION)
                .bind(after_id.unwrap_or(0))
                .bind(limit);
            if let CatalogScope::Only(ids) = scope {
                for id in ids {
                    q = q.bind(*id);
                }
            }
            q.fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, namespace, name)| CatalogRow {
                id,
                namespace,
                name,
            })
            .collect())
    }
}
