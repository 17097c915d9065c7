//! The one way a tag row ends, shared by every write that ends one: a `/v2` push that moves
//! a tag, a delete by tag or by digest on `/v2`, and the API's delete, move and restore.
//!
//! Quay's rule (`set_tag_end_ms`): the alive row's `lifetime_end_ms` is set only if it still
//! is what was read (so a concurrent writer's change is never overwritten), and the row's
//! expiry-notification records (`tagnotificationsuccess`) go with it, so a tag that lives
//! again is notified again. `(repository, name, lifetime_end_ms)` is unique: when another row
//! of the name already ends at this instant, the row ends a millisecond after the name's
//! latest end instead.
//!
//! Both macros run inside a transaction `$tx` of the enclosing `with_pool!` block, which
//! must hold the repository lock.

/// The alive, visible row of tag `$name` in transaction `$tx` (newest start first) as
/// `Option<(id, lifetime_end_ms)>`. An immutable row makes the enclosing function return
/// [`crate::MetaError::TagImmutable`] (the transaction is dropped, so nothing is written).
macro_rules! alive_mutable_row {
    ($tx:ident, $repo:expr, $name:expr, $now:expr) => {{
        let row: Option<(i32, Option<i64>, bool)> = sqlx::query_as(
            "SELECT id, lifetime_end_ms, immutable FROM tag WHERE repository_id = $1 \
             AND name = $2 AND hidden = $3 \
             AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $4) \
             ORDER BY lifetime_start_ms DESC LIMIT 1",
        )
        .bind($repo)
        .bind($name)
        .bind(false)
        .bind($now)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            Some((_, _, true)) => {
                return Err($crate::MetaError::TagImmutable {
                    tag: $name.to_owned(),
                })
            }
            Some((id, end, false)) => Some((id, end)),
            None => None,
        }
    }};
}
pub(crate) use alive_mutable_row;

/// Ends alive row `$tag_id` of tag `$name` (its end was `$old_end`) at `$now`, or a
/// millisecond after the name's latest end when another row already ends at `$now`, and
/// clears its expiry notifications. `Some(end)` when the row was still as read, `None` when
/// another writer had changed it (nothing written then).
macro_rules! end_alive_row {
    ($tx:ident, $repo:expr, $name:expr, $tag_id:expr, $old_end:expr, $now:expr) => {{
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tag WHERE repository_id = $1 AND name = $2 \
             AND lifetime_end_ms = $3 AND id <> $4",
        )
        .bind($repo)
        .bind($name)
        .bind($now)
        .bind($tag_id)
        .fetch_one(&mut *$tx)
        .await?;
        let end: i64 = if taken > 0 {
            let latest: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(lifetime_end_ms) FROM tag WHERE repository_id = $1 AND name = $2",
            )
            .bind($repo)
            .bind($name)
            .fetch_one(&mut *$tx)
            .await?;
            latest.unwrap_or($now).max($now) + 1
        } else {
            $now
        };
        let old_end: Option<i64> = $old_end;
        let sql = if old_end.is_some() {
            "UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2 AND lifetime_end_ms = $3"
        } else {
            "UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2 AND lifetime_end_ms IS NULL"
        };
        let mut q = sqlx::query(sql).bind(end).bind($tag_id);
        if let Some(old) = old_end {
            q = q.bind(old);
        }
        if q.execute(&mut *$tx).await?.rows_affected() == 1 {
            sqlx::query("DELETE FROM tagnotificationsuccess WHERE tag_id = $1")
                .bind($tag_id)
                .execute(&mut *$tx)
                .await?;
            Some(end)
        } else {
            None
        }
    }};
}
pub(crate) use end_alive_row;
