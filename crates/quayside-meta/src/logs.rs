//! Audit logs in Quay's `logentry3` table (`data/logs_model/table_logs_model.py`): one
//! row per audited action, `kind_id` from the seeded `logentrykind` table, the namespace
//! in `account_id`, JSON metadata as text.

use crate::db::begin_write;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use sqlx::Row;

use crate::identity::id32;
use crate::{with_pool, Db, MetaError};

/// A row to write.
#[derive(Debug, Clone)]
pub struct NewLogEntry<'a> {
    /// `logentrykind.name`, e.g. `create_repo`.
    pub kind: &'a str,
    /// Namespace (`user.id` of the user or organization) the action happened in.
    pub account_id: i64,
    pub performer_id: Option<i64>,
    pub repository_id: Option<i64>,
    pub ip: Option<&'a str>,
    /// JSON object text.
    pub metadata_json: &'a str,
    pub datetime: NaiveDateTime,
}

/// A stored row, joined with its kind's name.
#[derive(Debug, Clone)]
pub struct LogEntryRow {
    pub id: i64,
    pub kind: String,
    pub account_id: i64,
    pub performer_id: Option<i64>,
    pub repository_id: Option<i64>,
    pub datetime: NaiveDateTime,
    pub ip: Option<String>,
    pub metadata_json: String,
}

/// Which rows to read.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub account_id: Option<i64>,
    pub performer_id: Option<i64>,
    pub repository_id: Option<i64>,
    /// Inclusive.
    pub start: Option<NaiveDateTime>,
    /// Exclusive.
    pub end: Option<NaiveDateTime>,
    /// Only rows with `id < before_id` (pagination, newest first).
    pub before_id: Option<i64>,
}

/// `logentrykind` name → id, loaded once per process (the table is seeded and static).
#[derive(Debug, Default, Clone)]
pub struct LogKinds(Arc<RwLock<HashMap<String, i64>>>);

impl Db {
    async fn log_kind_id(&self, kinds: &LogKinds, name: &str) -> Result<i64, MetaError> {
        if let Some(id) = kinds.0.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(*id);
        }
        const SQL: &str = "SELECT id, name FROM logentrykind";
        let rows: Vec<(i32, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).fetch_all(pool).await
        })?;
        let mut map = kinds.0.write().unwrap_or_else(|p| p.into_inner());
        for (id, n) in rows {
            map.insert(n, i64::from(id));
        }
        map.get(name)
            .copied()
            .ok_or_else(|| MetaError::SchemaConflict(format!("logentrykind has no row {name:?}")))
    }

    /// Writes one `logentry3` row.
    pub async fn insert_log_entry(
        &self,
        kinds: &LogKinds,
        e: &NewLogEntry<'_>,
    ) -> Result<(), MetaError> {
        let kind_id = self.log_kind_id(kinds, e.kind).await?;
        const SQL: &str = "INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7)";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id32(kind_id)?)
                .bind(id32(e.account_id)?)
                .bind(e.performer_id.map(id32).transpose()?)
                .bind(e.repository_id.map(id32).transpose()?)
                .bind(e.datetime)
                .bind(e.ip)
                .bind(e.metadata_json)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Writes several `logentry3` rows in one transaction (the registry's background
    /// audit writer batches pulls this way).
    pub async fn insert_log_entries(
        &self,
        kinds: &LogKinds,
        entries: &[NewLogEntry<'_>],
    ) -> Result<(), MetaError> {
        let mut kind_ids = Vec::with_capacity(entries.len());
        for e in entries {
            kind_ids.push(self.log_kind_id(kinds, e.kind).await?);
        }
        const SQL: &str = "INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let mut ids = Vec::with_capacity(entries.len());
        for (e, kind_id) in entries.iter().zip(&kind_ids) {
            ids.push((
                id32(*kind_id)?,
                id32(e.account_id)?,
                e.performer_id.map(id32).transpose()?,
                e.repository_id.map(id32).transpose()?,
            ));
        }
        with_pool!(self, pool => {
            async {
                let mut tx = begin_write!(pool);
                for (e, (kind_id, account_id, performer_id, repository_id)) in entries.iter().zip(&ids) {
                    sqlx::query(SQL)
                        .bind(kind_id)
                        .bind(account_id)
                        .bind(performer_id)
                        .bind(repository_id)
                        .bind(e.datetime)
                        .bind(e.ip)
                        .bind(e.metadata_json)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Newest first, at most `limit` rows.
    pub async fn log_entries(
        &self,
        f: &LogFilter,
        limit: i64,
    ) -> Result<Vec<LogEntryRow>, MetaError> {
        let (sql, binds) = log_query(
            "SELECT l.id, k.name, l.account_id, l.performer_id, l.repository_id, l.datetime, l.ip, l.metadata_json \
             FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id",
            f,
        )?;
        let sql = format!("{sql} ORDER BY l.id DESC LIMIT {limit}");
        let rows = with_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = match b {
                    Bind::Int(i) => q.bind(*i),
                    Bind::Big(i) => q.bind(*i),
                    Bind::Time(t) => q.bind(*t),
                };
            }
            q.fetch_all(pool).await.and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(LogEntryRow {
                            id: r.try_get::<i64, _>(0)?,
                            kind: r.try_get(1)?,
                            account_id: i64::from(r.try_get::<i32, _>(2)?),
                            performer_id: r.try_get::<Option<i32>, _>(3)?.map(i64::from),
                            repository_id: r.try_get::<Option<i32>, _>(4)?.map(i64::from),
                            datetime: r.try_get(5)?,
                            ip: r.try_get(6)?,
                            metadata_json: r.try_get(7)?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })?;
        Ok(rows)
    }

    /// Counts per (kind, day) — Quay's `get_aggregated_log_counts`. Days are
    /// `YYYY-MM-DD` (UTC).
    pub async fn log_counts_by_kind_and_day(
        &self,
        f: &LogFilter,
    ) -> Result<Vec<(String, String, i64)>, MetaError> {
        let day = match self.backend() {
            crate::Backend::Postgres => "to_char(l.datetime, 'YYYY-MM-DD')",
            crate::Backend::Sqlite => "strftime('%Y-%m-%d', l.datetime)",
        };
        let (sql, binds) = log_query(
            &format!(
                "SELECT k.name, {day} AS day, COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id"
            ),
            f,
        )?;
        let sql = format!("{sql} GROUP BY k.name, day ORDER BY day, k.name");
        let rows: Vec<(String, String, i64)> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = match b {
                    Bind::Int(i) => q.bind(*i),
                    Bind::Big(i) => q.bind(*i),
                    Bind::Time(t) => q.bind(*t),
                };
            }
            q.fetch_all(pool).await
        })?;
        Ok(rows)
    }
}

enum Bind {
    Int(i32),
    Big(i64),
    Time(NaiveDateTime),
}

fn log_query(select: &str, f: &LogFilter) -> Result<(String, Vec<Bind>), MetaError> {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let mut push = |clause: &str, b: Bind| {
        binds.push(b);
        clauses.push(format!("{clause} ${}", binds.len()));
    };
    if let Some(a) = f.account_id {
        push("l.account_id =", Bind::Int(id32(a)?));
    }
    if let Some(p) = f.performer_id {
        push("l.performer_id =", Bind::Int(id32(p)?));
    }
    if let Some(r) = f.repository_id {
        push("l.repository_id =", Bind::Int(id32(r)?));
    }
    if let Some(s) = f.start {
        push("l.datetime >=", Bind::Time(s));
    }
    if let Some(e) = f.end {
        push("l.datetime <", Bind::Time(e));
    }
    if let Some(b) = f.before_id {
        push("l.id <", Bind::Big(b));
    }
    let mut sql = select.to_owned();
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    Ok((sql, binds))
}

/// The OAuth application behind a token, for audit metadata.
#[derive(Debug, Clone)]
pub struct OAuthTokenApp {
    pub token_id: i64,
    pub client_id: String,
    pub name: String,
}

impl Db {
    /// Token id and application of the OAuth access token with `uuid`.
    pub async fn oauth_token_application(
        &self,
        uuid: &str,
    ) -> Result<Option<OAuthTokenApp>, MetaError> {
        const SQL: &str = "SELECT t.id, a.client_id, a.name FROM oauthaccesstoken t \
                           JOIN oauthapplication a ON a.id = t.application_id WHERE t.uuid = $1";
        let row: Option<(i32, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(uuid).fetch_optional(pool).await
        })?;
        Ok(row.map(|(id, client_id, name)| OAuthTokenApp {
            token_id: i64::from(id),
            client_id,
            name,
        }))
    }
}
