//! Quay's work queues (`queueitem`, `util/queue.py`'s `WorkQueue`), for every producer and
//! consumer: the repository and namespace GC queues today, and the build, notification,
//! mirroring, proxy-cache and security queues as they arrive.
//!
//! An item lives in one table for all queues; `queue_name` is the canonical name
//! `<queue>/<part>/.../` (parts such as the namespace let a queue be filtered or purged per
//! namespace). A consumer claims an item (a lease: `available = false` until
//! `processing_expires`, one retry spent, a fresh `state_id` so that two claimers cannot both
//! win), then completes it (deleted) or gives it back for later (`incomplete`). An item whose
//! lease expired is claimable again; one with no retries left is never handed out.

use chrono::NaiveDateTime;
use uuid::Uuid;

use crate::identity::id32;
use crate::{with_pool, Db, MetaError};

/// Quay's `WorkQueue._canonical_name`: `<queue>/<part>/.../` (always a trailing slash).
pub fn canonical_queue_name(queue: &str, parts: &[&str]) -> String {
    let mut s = String::from(queue);
    for p in parts {
        s.push('/');
        s.push_str(p);
    }
    s.push('/');
    s
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Inserts an item (`$1` queue name, `$2` body, `$3` available after, `$4` available,
/// `$5` retries, `$6` state id) and returns its id; for producers that write their item in
/// the same transaction as the rows it is about.
pub(crate) const INSERT_QUEUE_ITEM: &str = "INSERT INTO queueitem \
     (queue_name, body, available_after, available, processing_expires, retries_remaining, state_id) \
     VALUES ($1, $2, $3, $4, NULL, $5, $6) RETURNING id";

/// A claimed queue item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub id: i64,
    pub body: String,
    pub retries_remaining: i64,
}

impl Db {
    /// Quay's `WorkQueue.put`: a new item in `queue` under `parts` with `body`, available
    /// from `available_after`, with `retries` attempts. Returns its id.
    pub async fn queue_put(
        &self,
        queue: &str,
        parts: &[&str],
        body: &str,
        available_after: NaiveDateTime,
        retries: i32,
    ) -> Result<i64, MetaError> {
        let name = canonical_queue_name(queue, parts);
        let id: i32 = with_pool!(self, pool => {
            sqlx::query_scalar(INSERT_QUEUE_ITEM)
                .bind(&name)
                .bind(body)
                .bind(available_after)
                .bind(true)
                .bind(retries)
                .bind(Uuid::new_v4().to_string())
                .fetch_one(pool)
                .await
        })?;
        Ok(i64::from(id))
    }

    /// Claims one available item of `queue` (`queue_name LIKE '<queue>/%'`), Quay's
    /// `WorkQueue.get`: available after now, available or its processing expired, retries
    /// left; the claim sets `available = false`, `processing_expires = now + processing_s`,
    /// decrements `retries_remaining` and changes `state_id`, only if `state_id` is unchanged.
    pub async fn queue_claim(
        &self,
        queue: &str,
        now: NaiveDateTime,
        processing_s: i64,
    ) -> Result<Option<QueueItem>, MetaError> {
        let pattern = format!("{}%", like_escape(&canonical_queue_name(queue, &[])));
        let expires = now + chrono::Duration::seconds(processing_s);
        let out = with_pool!(self, pool => {
            let found: Option<(i32, String, i32, String)> = sqlx::query_as(
                "SELECT id, body, retries_remaining, state_id FROM queueitem \
                 WHERE queue_name LIKE $1 ESCAPE '\\' AND available_after <= $2 \
                 AND (available = $3 OR processing_expires <= $2) AND retries_remaining > 0 \
                 ORDER BY id LIMIT 1",
            )
            .bind(&pattern)
            .bind(now)
            .bind(true)
            .fetch_optional(pool)
            .await?;
            match found {
                None => None,
                Some((id, body, retries, state)) => {
                    let n = sqlx::query(
                        "UPDATE queueitem SET available = $1, processing_expires = $2, \
                         retries_remaining = retries_remaining - 1, state_id = $3 \
                         WHERE id = $4 AND state_id = $5",
                    )
                    .bind(false)
                    .bind(expires)
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(id)
                    .bind(&state)
                    .execute(pool)
                    .await?
                    .rows_affected();
                    (n == 1).then(|| QueueItem {
                        id: i64::from(id),
                        body,
                        retries_remaining: i64::from(retries) - 1,
                    })
                }
            }
        });
        Ok(out)
    }

    /// Quay's `WorkQueue.complete`: deletes the item.
    pub async fn queue_complete(&self, id: i64) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM queueitem WHERE id = $1")
                .bind(id32(id)?)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `WorkQueue.incomplete`: available again after `retry_at`.
    pub async fn queue_incomplete(
        &self,
        id: i64,
        retry_at: NaiveDateTime,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE queueitem SET available_after = $1, available = $2, state_id = $3 WHERE id = $4",
            )
            .bind(retry_at)
            .bind(true)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(id32(id)?)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_have_quays_shape() {
        assert_eq!(
            canonical_queue_name("repositorygc", &["ns", "12"]),
            "repositorygc/ns/12/"
        );
        assert_eq!(
            canonical_queue_name("namespacegc", &["7"]),
            "namespacegc/7/"
        );
        assert_eq!(like_escape("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
