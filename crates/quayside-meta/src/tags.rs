//! Queries behind the tag, manifest and label operations of `/api/v1` (Quay's
//! `data/model/oci/tag.py` and `label.py` as the API uses them).
//!
//! Tag lifetimes follow Quay's time machine exactly: a tag name's history is a series of
//! `tag` rows; moving a tag ends the alive row (`lifetime_end_ms = now`) and starts a new one;
//! deleting ends the alive row; restoring starts a new row with `reversion = true`. Rows are
//! never deleted here (garbage collection does that after the namespace's
//! `removed_tag_expiration_s` window). `(repository, name, lifetime_end_ms)` is unique, so
//! ending a row nudges its end by a millisecond when another row of the name already ends
//! at the same instant.
//!
//! Writes that touch a repository's tags run in one transaction that takes the same
//! per-repository lock as `/v2` pushes (`registry.rs`), so they serialise with them.

use crate::db::{begin_write, TxLock};
use crate::identity::id32;
use crate::tag_lifetime::{alive_mutable_row, end_alive_row};
// The push path's repository lock: API tag writes and registry pushes to one repository take
// the same key, so they never interleave.
use crate::{with_pool, Db, MetaError};

/// The label whose value gives a manifest's tags an expiration.
const EXPIRES_AFTER: &str = "quay.expires-after";

/// A `tag` row with what the API shows of its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub repository_id: i64,
    pub manifest_id: i64,
    pub manifest_digest: String,
    /// `mediatype.name` of the manifest.
    pub media_type: String,
    /// `manifest.layers_compressed_size`.
    pub layers_size: Option<i64>,
    pub lifetime_start_ms: i64,
    pub lifetime_end_ms: Option<i64>,
    pub reversion: bool,
    pub hidden: bool,
    pub immutable: bool,
}

type TagTuple = (
    i32,
    String,
    i32,
    i32,
    String,
    String,
    Option<i64>,
    i64,
    Option<i64>,
    bool,
    bool,
    bool,
);

const TAG_COLS: &str = "t.id, t.name, t.repository_id, t.manifest_id, m.digest, mt.name, \
    m.layers_compressed_size, t.lifetime_start_ms, t.lifetime_end_ms, t.reversion, t.hidden, \
    t.immutable FROM tag t JOIN manifest m ON m.id = t.manifest_id \
    JOIN mediatype mt ON mt.id = m.media_type_id";

fn tag_row(t: TagTuple) -> TagRow {
    TagRow {
        id: i64::from(t.0),
        name: t.1,
        repository_id: i64::from(t.2),
        manifest_id: i64::from(t.3),
        manifest_digest: t.4,
        media_type: t.5,
        layers_size: t.6,
        lifetime_start_ms: t.7,
        lifetime_end_ms: t.8,
        reversion: t.9,
        hidden: t.10,
        immutable: t.11,
    }
}

/// `filter_tag_name` of the tag list: `like:<text>` (case-insensitive substring) or
/// `eq:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagNameFilter {
    Contains(String),
    Equals(String),
}

/// One page of a repository's tag history (`list_repository_tag_history`).
#[derive(Debug, Clone)]
pub struct TagHistoryQuery<'a> {
    pub repository_id: i64,
    /// 1-based.
    pub page: i64,
    pub page_size: i64,
    pub specific_tag: Option<&'a str>,
    pub name_filter: Option<TagNameFilter>,
    /// Only alive tags (else every visible row, dead ones included).
    pub active_only: bool,
    pub now_ms: i64,
}

/// A manifest row as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiManifestRow {
    pub id: i64,
    pub repository_id: i64,
    pub digest: String,
    pub media_type: String,
    pub bytes: String,
    pub config_media_type: Option<String>,
    pub layers_compressed_size: Option<i64>,
}

type ManifestTuple = (
    i32,
    i32,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
);

const MANIFEST_COLS: &str = "m.id, m.repository_id, m.digest, mt.name, m.manifest_bytes, \
    m.config_media_type, m.layers_compressed_size FROM manifest m \
    JOIN mediatype mt ON mt.id = m.media_type_id";

fn manifest_row(t: ManifestTuple) -> ApiManifestRow {
    ApiManifestRow {
        id: i64::from(t.0),
        repository_id: i64::from(t.1),
        digest: t.2,
        media_type: t.3,
        bytes: t.4,
        config_media_type: t.5,
        layers_compressed_size: t.6,
    }
}

/// A label on a manifest (`label` joined with its media and source types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    pub id: i64,
    pub uuid: String,
    pub key: String,
    pub value: String,
    pub media_type: String,
    pub source_type: String,
    /// `labelsourcetype.mutable` (only `api` labels may be deleted).
    pub mutable: bool,
}

type LabelTuple = (i32, String, String, String, String, String, bool);

const LABEL_COLS: &str = "l.id, l.uuid, l.key, l.value, mt.name, st.name, st.mutable \
    FROM label l JOIN manifestlabel ml ON ml.label_id = l.id \
    JOIN mediatype mt ON mt.id = l.media_type_id \
    JOIN labelsourcetype st ON st.id = l.source_type_id";

fn label_row(t: LabelTuple) -> LabelRow {
    LabelRow {
        id: i64::from(t.0),
        uuid: t.1,
        key: t.2,
        value: t.3,
        media_type: t.4,
        source_type: t.5,
        mutable: t.6,
    }
}

/// A label to create (`create_manifest_label`).
#[derive(Debug, Clone)]
pub struct NewLabel<'a> {
    pub repository_id: i64,
    pub manifest_id: i64,
    pub uuid: &'a str,
    pub key: &'a str,
    pub value: &'a str,
    pub media_type: &'a str,
    /// `manifest`, `api` or `internal`.
    pub source_type: &'a str,
}

/// Why a label could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOutcome {
    Created(LabelRow),
    /// The media type has no `mediatype` row.
    UnknownMediaType,
    /// The manifest is gone.
    NoManifest,
}

/// A retarget request (`retarget_tag`).
#[derive(Debug, Clone)]
pub struct Retarget<'a> {
    pub repository_id: i64,
    pub name: &'a str,
    pub manifest_id: i64,
    /// A restore: the new row gets `reversion = true`.
    pub is_reversion: bool,
    pub now_ms: i64,
    /// The new row ends this long after `now_ms` (a `quay.expires-after` label on the
    /// manifest); `None` = never.
    pub end_after_ms: Option<i64>,
    /// Quay's `require_available` lookup: a hidden temporary tag `(name, end_ms)` keeps the
    /// manifest alive unless some tag already does at least that long.
    pub temp_tag: Option<(String, i64)>,
}

/// What `remove_tag_from_time_machine` pushes out of the time-machine window.
#[derive(Debug, Clone, Copy)]
pub struct TimeMachineRemoval<'a> {
    pub repository_id: i64,
    pub name: &'a str,
    pub manifest_id: i64,
    /// Also end the hidden temporary tags of the manifest's children.
    pub include_submanifests: bool,
    /// The alive tag `name` (else its rows on `manifest_id` that ended within the window).
    pub is_alive: bool,
    pub now_ms: i64,
    /// The namespace's `removed_tag_expiration_s` in milliseconds.
    pub window_ms: i64,
}

#[derive(Clone)]
enum Bind {
    I32(i32),
    I64(i64),
    Str(String),
    Bool(bool),
}

impl Db {
    /// A page of the repository's tag history: visible rows (alive only when
    /// `active_only`), newest start first, then by name. Returns the rows and whether more
    /// follow.
    pub async fn tag_history(
        &self,
        q: &TagHistoryQuery<'_>,
    ) -> Result<(Vec<TagRow>, bool), MetaError> {
        let mut binds = vec![Bind::I32(id32(q.repository_id)?), Bind::Bool(false)];
        let mut sql = format!("SELECT {TAG_COLS} WHERE t.repository_id = $1 AND t.hidden = $2");
        let next = |binds: &mut Vec<Bind>, b: Bind| -> String {
            binds.push(b);
            format!("${}", binds.len())
        };
        match &q.name_filter {
            Some(TagNameFilter::Contains(v)) => {
                let p = next(&mut binds, Bind::Str(format!("%{}%", v.to_lowercase())));
                sql.push_str(&format!(" AND LOWER(t.name) LIKE {p}"));
            }
            Some(TagNameFilter::Equals(v)) => {
                let p = next(&mut binds, Bind::Str(v.clone()));
                sql.push_str(&format!(" AND t.name = {p}"));
            }
            None => {}
        }
        if let Some(name) = q.specific_tag {
            let p = next(&mut binds, Bind::Str(name.to_owned()));
            sql.push_str(&format!(" AND t.name = {p}"));
        }
        if q.active_only {
            let p = next(&mut binds, Bind::I64(q.now_ms));
            sql.push_str(&format!(
                " AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {p})"
            ));
        }
        let size = q.page_size.max(1);
        let offset = size.saturating_mul(q.page.max(1) - 1);
        let limit_p = next(&mut binds, Bind::I64(size + 1));
        let offset_p = next(&mut binds, Bind::I64(offset));
        sql.push_str(&format!(
            " ORDER BY t.lifetime_start_ms DESC, t.name LIMIT {limit_p} OFFSET {offset_p}"
        ));
        let rows: Vec<TagTuple> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for b in &binds {
                query = match b {
                    Bind::I32(v) => query.bind(*v),
                    Bind::I64(v) => query.bind(*v),
                    Bind::Str(v) => query.bind(v.clone()),
                    Bind::Bool(v) => query.bind(*v),
                };
            }
            query.fetch_all(pool).await
        })?;
        let mut rows: Vec<TagRow> = rows.into_iter().map(tag_row).collect();
        let more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        Ok((rows, more))
    }

    /// The alive, visible tag `name` (Quay's `get_tag`).
    pub async fn alive_tag(
        &self,
        repository_id: i64,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<TagRow>, MetaError> {
        let sql = format!(
            "SELECT {TAG_COLS} WHERE t.repository_id = $1 AND t.name = $2 AND t.hidden = $3 \
             AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $4) \
             ORDER BY t.lifetime_start_ms DESC LIMIT 1"
        );
        let row: Option<TagTuple> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id32(repository_id)?)
                .bind(name)
                .bind(false)
                .bind(now_ms)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(tag_row))
    }

    /// The tag row `id`.
    pub async fn tag_by_id(&self, id: i64) -> Result<Option<TagRow>, MetaError> {
        let sql = format!("SELECT {TAG_COLS} WHERE t.id = $1");
        let row: Option<TagTuple> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(id)?).fetch_optional(pool).await
        })?;
        Ok(row.map(tag_row))
    }

    /// The manifest `digest` of a repository when the API may see it (Quay's
    /// `lookup_manifest` without `allow_dead`): pointed at by an alive, visible tag, or a
    /// child of a manifest that is. With `allow_dead`, any manifest row.
    pub async fn api_manifest(
        &self,
        repository_id: i64,
        digest: &str,
        allow_dead: bool,
        now_ms: i64,
    ) -> Result<Option<ApiManifestRow>, MetaError> {
        let sql = if allow_dead {
            format!("SELECT {MANIFEST_COLS} WHERE m.repository_id = $1 AND m.digest = $2")
        } else {
            format!(
                "SELECT {MANIFEST_COLS} WHERE m.repository_id = $1 AND m.digest = $2 AND ( \
                 EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND t.hidden = $4 \
                         AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $3)) \
                 OR EXISTS (SELECT 1 FROM manifestchild c JOIN tag t ON t.manifest_id = c.manifest_id \
                         WHERE c.child_manifest_id = m.id AND t.hidden = $4 \
                         AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $3)))"
            )
        };
        let row: Option<ManifestTuple> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql).bind(id32(repository_id)?).bind(digest);
            if !allow_dead {
                q = q.bind(now_ms).bind(false);
            }
            q.fetch_optional(pool).await
        })?;
        Ok(row.map(manifest_row))
    }

    /// Whether garbage collection would still keep manifest `manifest_id`: some tag row
    /// (hidden ones included) points at it — or at a manifest list naming it — and is alive
    /// or ended less than `window_ms` ago (the namespace's `removed_tag_expiration_s`).
    /// Quay's GC removes tags past the window and then the manifests nothing references;
    /// quayside has no GC worker yet, so the API applies the same rule when a restore asks
    /// for an old manifest.
    pub async fn manifest_in_time_machine(
        &self,
        manifest_id: i64,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, MetaError> {
        const SQL: &str = "SELECT COUNT(*) FROM tag t WHERE (t.manifest_id = $1 \
            OR t.manifest_id IN (SELECT c.manifest_id FROM manifestchild c WHERE c.child_manifest_id = $1)) \
            AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $2)";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(id32(manifest_id)?)
                .bind(now_ms.saturating_sub(window_ms))
                .fetch_one(pool)
                .await
        })?;
        Ok(n > 0)
    }

    /// Points tag `name` at manifest `manifest_id` (Quay's `retarget_tag`): the alive,
    /// visible row of the name (if any) ends now, a new row starts now. Returns the new row,
    /// or `None` when the alive row changed underneath (nothing is written then). An
    /// immutable alive row refuses with [`MetaError::TagImmutable`].
    pub async fn retarget_tag(&self, r: &Retarget<'_>) -> Result<Option<TagRow>, MetaError> {
        let repo = id32(r.repository_id)?;
        let manifest = id32(r.manifest_id)?;
        let now = r.now_ms;
        let new_id: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::Repository(repo));
            if let Some((temp_name, temp_end)) = &r.temp_tag {
                let kept: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tag WHERE manifest_id = $1 \
                     AND (lifetime_end_ms IS NULL OR lifetime_end_ms >= $2)",
                )
                .bind(manifest)
                .bind(*temp_end)
                .fetch_one(&mut *tx)
                .await?;
                if kept == 0 {
                    sqlx::query(
                        "INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, \
                         lifetime_end_ms, hidden, reversion, tag_kind_id, linked_tag_id, immutable) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, \
                         (SELECT id FROM tagkind WHERE name = 'tag'), NULL, $7)",
                    )
                    .bind(temp_name.as_str())
                    .bind(repo)
                    .bind(manifest)
                    .bind(now)
                    .bind(*temp_end)
                    .bind(true)
                    .bind(false)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let existing = alive_mutable_row!(tx, repo, r.name, now);
            let mut ok = true;
            if let Some((tag_id, old_end)) = existing {
                ok = end_alive_row!(tx, repo, r.name, tag_id, old_end, now).is_some();
            }
            if ok {
                let id: i32 = sqlx::query_scalar(
                    "INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, \
                     lifetime_end_ms, hidden, reversion, tag_kind_id, linked_tag_id, immutable) \
                     VALUES ($1, $2, $3, $4, $7, $5, $6, \
                     (SELECT id FROM tagkind WHERE name = 'tag'), NULL, $5) RETURNING id",
                )
                .bind(r.name)
                .bind(repo)
                .bind(manifest)
                .bind(now)
                .bind(false)
                .bind(r.is_reversion)
                .bind(r.end_after_ms.map(|d| now.saturating_add(d)))
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Some(id)
            } else {
                tx.rollback().await?;
                None
            }
        });
        match new_id {
            Some(id) => self.tag_by_id(i64::from(id)).await,
            None => Ok(None),
        }
    }

    /// Ends the alive, visible tag `name` now (Quay's `delete_tag`). Returns the row as it
    /// was before, or `None` when there was no alive tag.
    pub async fn delete_alive_tag(
        &self,
        repository_id: i64,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<TagRow>, MetaError> {
        let repo = id32(repository_id)?;
        let ended: Option<i32> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::Repository(repo));
            match alive_mutable_row!(tx, repo, name, now_ms) {
                None => {
                    tx.rollback().await?;
                    None
                }
                Some((tag_id, old_end)) => {
                    let ended = end_alive_row!(tx, repo, name, tag_id, old_end, now_ms);
                    if ended.is_some() {
                        tx.commit().await?;
                        Some(tag_id)
                    } else {
                        tx.rollback().await?;
                        None
                    }
                }
            }
        });
        match ended {
            Some(id) => self.tag_by_id(i64::from(id)).await,
            None => Ok(None),
        }
    }

    /// Sets the end of tag `tag_id` to `new_end` if it still is `expected_end` (Quay's
    /// `set_tag_end_ms`); clears the tag's expiry-notification records. Returns whether the
    /// row was updated.
    pub async fn set_tag_end(
        &self,
        tag_id: i64,
        expected_end: Option<i64>,
        new_end: Option<i64>,
    ) -> Result<bool, MetaError> {
        let sql = if expected_end.is_some() {
            "UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2 AND lifetime_end_ms = $3"
        } else {
            "UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2 AND lifetime_end_ms IS NULL"
        };
        let n = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            sqlx::query("DELETE FROM tagnotificationsuccess WHERE tag_id = $1")
                .bind(id32(tag_id)?)
                .execute(&mut *tx)
                .await?;
            let mut q = sqlx::query(sql).bind(new_end).bind(id32(tag_id)?);
            if let Some(old) = expected_end {
                q = q.bind(old);
            }
            let n = q.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        })?;
        Ok(n == 1)
    }

    /// Alive, visible tags pointing at manifest `manifest_id`.
    pub async fn alive_tags_for_manifest(
        &self,
        manifest_id: i64,
        now_ms: i64,
    ) -> Result<Vec<TagRow>, MetaError> {
        let sql = format!(
            "SELECT {TAG_COLS} WHERE t.manifest_id = $1 AND t.hidden = $2 \
             AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > $3) ORDER BY t.id"
        );
        let rows: Vec<TagTuple> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id32(manifest_id)?)
                .bind(false)
                .bind(now_ms)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(tag_row).collect())
    }

    /// Quay's `remove_tag_from_timemachine`: with `is_alive`, the alive tag `name` ends
    /// `window_ms` before now; otherwise every row of `name` on manifest `manifest_id` that
    /// ended within the window is pushed out of it (one millisecond apart, for the unique
    /// index). With `include_submanifests`, hidden temporary tags of the manifest's children
    /// end at the same instant. Returns whether anything changed.
    pub async fn remove_tag_from_time_machine(
        &self,
        r: &TimeMachineRemoval<'_>,
    ) -> Result<bool, MetaError> {
        let TimeMachineRemoval {
            repository_id,
            name,
            manifest_id,
            include_submanifests,
            is_alive,
            now_ms,
            window_ms,
        } = *r;
        let repo = id32(repository_id)?;
        let cutoff = now_ms.saturating_sub(window_ms);
        let updated: bool = with_pool!(self, pool => {
            let mut tx = begin_write!(pool, TxLock::Repository(repo));
            let mut updated = false;
            if is_alive {
                if let Some((tag_id, old_end)) = alive_mutable_row!(tx, repo, name, now_ms) {
                    let sql = if old_end.is_some() {
                        "UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2 AND lifetime_end_ms = $3"
                    } else {
                        "UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2 AND lifetime_end_ms IS NULL"
                    };
                    let mut q = sqlx::query(sql).bind(cutoff).bind(tag_id);
                    if let Some(old) = old_end {
                        q = q.bind(old);
                    }
                    updated = q.execute(&mut *tx).await?.rows_affected() == 1;
                }
            } else if window_ms > 0 {
                let ids: Vec<i32> = sqlx::query_scalar(
                    "SELECT id FROM tag WHERE name = $1 AND repository_id = $2 AND manifest_id = $3 \
                     AND lifetime_end_ms <= $4 AND lifetime_end_ms > $5 ORDER BY id",
                )
                .bind(name)
                .bind(repo)
                .bind(id32(manifest_id)?)
                .bind(now_ms)
                .bind(cutoff)
                .fetch_all(&mut *tx)
                .await?;
                for (i, id) in ids.into_iter().enumerate() {
                    sqlx::query("UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2")
                        .bind(cutoff - 1 - i as i64)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    updated = true;
                }
            }
            if updated && include_submanifests {
                sqlx::query(
                    "UPDATE tag SET lifetime_end_ms = $1 WHERE repository_id = $2 \
                     AND manifest_id IN (SELECT child_manifest_id FROM manifestchild \
                                         WHERE repository_id = $2 AND manifest_id = $3) \
                     AND lifetime_end_ms > $1 AND name LIKE '$temp-%' AND hidden = $4",
                )
                .bind(cutoff)
                .bind(repo)
                .bind(id32(manifest_id)?)
                .bind(true)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            updated
        });
        Ok(updated)
    }

    /// Sets `tag.immutable` of tag row `tag_id` if the row is still alive at `now_ms`
    /// (Quay's `set_tag_immutable`). Returns the previous value, or `None` when the row is
    /// no longer alive.
    pub async fn set_tag_immutable(
        &self,
        tag_id: i64,
        immutable: bool,
        now_ms: i64,
    ) -> Result<Option<bool>, MetaError> {
        let previous: Option<bool> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let previous: Option<bool> = sqlx::query_scalar(
                "SELECT immutable FROM tag WHERE id = $1 \
                 AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $2)",
            )
            .bind(id32(tag_id)?)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
            if previous.is_some() {
                sqlx::query("UPDATE tag SET immutable = $1 WHERE id = $2")
                    .bind(immutable)
                    .bind(id32(tag_id)?)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<Option<bool>, sqlx::Error>(previous)
        })?;
        Ok(previous)
    }

    /// A namespace's time-machine window, `user.removed_tag_expiration_s`.
    pub async fn namespace_tag_expiration_s(
        &self,
        namespace_id: i64,
    ) -> Result<Option<i64>, MetaError> {
        const SQL: &str = r#"SELECT removed_tag_expiration_s FROM "user" WHERE id = $1"#;
        let v: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(namespace_id)?).fetch_optional(pool).await
        })?;
        Ok(v)
    }

    /// Ids of the manifests a manifest list names (`manifestchild`).
    pub async fn child_manifest_ids(&self, manifest_id: i64) -> Result<Vec<i64>, MetaError> {
        const SQL: &str =
            "SELECT child_manifest_id FROM manifestchild WHERE manifest_id = $1 ORDER BY id";
        let ids: Vec<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(manifest_id)?).fetch_all(pool).await
        })?;
        Ok(ids.into_iter().map(i64::from).collect())
    }

    /// The `quay.expires-after` value that applies to the tags of manifest `manifest_id`
    /// (Quay's `_get_expiry_label_for_manifest`): the manifest's own label, else, for a
    /// list, the value every child's label shares.
    pub async fn expiry_label_value(
        &self,
        manifest_id: i64,
        is_list: bool,
    ) -> Result<Option<String>, MetaError> {
        let own = self.newest_expiry_label(manifest_id).await?;
        if own.is_some() || !is_list {
            return Ok(own);
        }
        let children = self.child_manifest_ids(manifest_id).await?;
        self.shared_expiry_label(&children).await
    }

    /// The `quay.expires-after` value all of `manifest_ids` carry (the newest label of each);
    /// `None` when one lacks it, they differ, or there are none.
    pub async fn shared_expiry_label(
        &self,
        manifest_ids: &[i64],
    ) -> Result<Option<String>, MetaError> {
        let mut shared: Option<String> = None;
        for (i, id) in manifest_ids.iter().enumerate() {
            match (i, self.newest_expiry_label(*id).await?) {
                (_, None) => return Ok(None),
                (0, Some(v)) => shared = Some(v),
                (_, Some(v)) if shared.as_deref() == Some(v.as_str()) => {}
                (_, Some(_)) => return Ok(None),
            }
        }
        Ok(shared)
    }

    /// The value of the newest `quay.expires-after` label on manifest `manifest_id`.
    async fn newest_expiry_label(&self, manifest_id: i64) -> Result<Option<String>, MetaError> {
        Ok(self
            .manifest_labels(manifest_id)
            .await?
            .into_iter()
            .rev()
            .find(|l| l.key == EXPIRES_AFTER)
            .map(|l| l.value))
    }

    /// Labels on manifest `manifest_id`, oldest first.
    pub async fn manifest_labels(&self, manifest_id: i64) -> Result<Vec<LabelRow>, MetaError> {
        let sql = format!("SELECT {LABEL_COLS} WHERE ml.manifest_id = $1 ORDER BY l.id");
        let rows: Vec<LabelTuple> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id32(manifest_id)?).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(label_row).collect())
    }

    /// The label `uuid` on manifest `manifest_id`.
    pub async fn manifest_label(
        &self,
        manifest_id: i64,
        uuid: &str,
    ) -> Result<Option<LabelRow>, MetaError> {
        let sql = format!("SELECT {LABEL_COLS} WHERE ml.manifest_id = $1 AND l.uuid = $2");
        let row: Option<LabelTuple> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id32(manifest_id)?)
                .bind(uuid)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(label_row))
    }

    /// Creates a `label` and its `manifestlabel` row in one transaction.
    pub async fn create_manifest_label(&self, l: &NewLabel<'_>) -> Result<LabelOutcome, MetaError> {
        let outcome: Option<LabelOutcome> = with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let media: Option<i32> = sqlx::query_scalar("SELECT id FROM mediatype WHERE name = $1")
                .bind(l.media_type)
                .fetch_optional(&mut *tx)
                .await?;
            let source: Option<i32> =
                sqlx::query_scalar("SELECT id FROM labelsourcetype WHERE name = $1")
                    .bind(l.source_type)
                    .fetch_optional(&mut *tx)
                    .await?;
            let manifest: Option<i32> = sqlx::query_scalar(
                "SELECT id FROM manifest WHERE id = $1 AND repository_id = $2",
            )
            .bind(id32(l.manifest_id)?)
            .bind(id32(l.repository_id)?)
            .fetch_optional(&mut *tx)
            .await?;
            match (media, source, manifest) {
                (None, _, _) | (_, None, _) => {
                    tx.rollback().await?;
                    Some(LabelOutcome::UnknownMediaType)
                }
                (_, _, None) => {
                    tx.rollback().await?;
                    Some(LabelOutcome::NoManifest)
                }
                (Some(media), Some(source), Some(manifest)) => {
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
                    .bind(id32(l.repository_id)?)
                    .bind(manifest)
                    .bind(label_id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    None
                }
            }
        });
        if let Some(o) = outcome {
            return Ok(o);
        }
        match self.manifest_label(l.manifest_id, l.uuid).await? {
            Some(row) => Ok(LabelOutcome::Created(row)),
            None => Ok(LabelOutcome::NoManifest),
        }
    }

    /// Deletes label `label_id` and its `manifestlabel` rows.
    pub async fn delete_label(&self, label_id: i64) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            for sql in [
                "DELETE FROM manifestlabel WHERE label_id = $1",
                "DELETE FROM label WHERE id = $1",
            ] {
                sqlx::query(sql).bind(id32(label_id)?).execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }
}
