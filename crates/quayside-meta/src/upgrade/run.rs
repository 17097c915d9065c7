//! Running a [`Plan`]: each revision in its own transaction, `alembic_version` moved in the
//! same transaction, so a failure leaves the database at the last revision that finished.

use sqlx::Connection as _;

use super::backfill::Secrets;
use super::model::Model;
use super::ops::Op;
use super::{sql, Plan, CHAIN};
use crate::db::Backend;
use crate::schema::Dialect;
use crate::{Db, MetaError, Pool};

/// What [`Db::upgrade`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeReport {
    /// Revisions run, oldest first.
    pub applied: Vec<&'static str>,
    /// The revision the database is at now.
    pub at: String,
    /// True when the database was empty and created whole at the target.
    pub created: bool,
}

/// `CREATE [UNIQUE] INDEX …` as a concurrent, repeatable build.
fn concurrently(ddl: &str) -> String {
    ddl.replacen("INDEX ", "INDEX CONCURRENTLY IF NOT EXISTS ", 1)
}

fn dialect(db: &Db) -> Dialect {
    match db.backend() {
        Backend::Postgres => Dialect::Postgres,
        Backend::Sqlite => Dialect::Sqlite,
    }
}

fn model_error(e: super::model::ModelError) -> MetaError {
    MetaError::SchemaConflict(format!("migration chain inconsistent: {e}"))
}

impl Db {
    /// Runs `plan`: creates an empty database whole at its target, or runs its steps one
    /// revision per transaction. quayside's own tables are ensured afterwards.
    ///
    /// Revisions with a code step ([`Op::Backfill`]) need `secrets` (from the config's
    /// `DATABASE_SECRET_KEY` and `SECRET_KEY`); without them such a plan is refused before
    /// anything runs.
    pub async fn upgrade(
        &self,
        plan: &Plan,
        secrets: Option<&dyn Secrets>,
    ) -> Result<UpgradeReport, MetaError> {
        let d = dialect(self);
        let Some(from) = plan.from.clone() else {
            let model = Model::at(CHAIN, plan.target).map_err(model_error)?;
            let mut stmts = sql::create_all(&model, d);
            stmts.push(format!(
                "INSERT INTO \"alembic_version\" (\"version_num\") VALUES ('{}')",
                plan.target
            ));
            self.run_in_tx(&stmts, None).await?;
            // quayside's own tables and their version row.
            self.ensure_quayside_tables().await?;
            return Ok(UpgradeReport {
                applied: Vec::new(),
                at: plan.target.to_string(),
                created: true,
            });
        };
        if secrets.is_none() {
            if let Some(m) = plan
                .steps
                .iter()
                .find(|m| m.ops.iter().any(|op| matches!(op, Op::Backfill(_))))
            {
                return Err(MetaError::InvalidConfig(format!(
                    "revision {} ({}) encrypts stored credentials and needs DATABASE_SECRET_KEY \
                     and SECRET_KEY from the configuration (nothing was changed)",
                    m.revision, m.title
                )));
            }
        }
        let mut model = Model::at(CHAIN, &from).map_err(model_error)?;
        let mut at = from;
        let mut applied = Vec::new();
        for m in &plan.steps {
            // A revision that only adds indexes to existing tables builds them CONCURRENTLY
            // on PostgreSQL when the old version still serves, outside the transaction
            // (IF NOT EXISTS, an invalid leftover of an interrupted build dropped first), so
            // running it again after an interruption finishes it.
            let concurrent = plan.concurrent_indexes
                && d == Dialect::Postgres
                && m.ops.iter().any(|op| matches!(op, Op::CreateIndex(..)))
                && m.ops.iter().all(|op| match op {
                    Op::CreateIndex(t, _) => model.table(t).is_some(),
                    Op::InsertLookup(..) | Op::Skip(_) => true,
                    _ => false,
                });
            let mut stmts = Vec::new();
            let mut background = Vec::new();
            for op in m.ops {
                let before = model.clone();
                model.apply_op(m.revision, op).map_err(model_error)?;
                let sql = sql::op_statements(op, &before, &model, d);
                match op {
                    Op::CreateIndex(_, ix) if concurrent => {
                        background.extend(sql.into_iter().map(|s| (ix.name, concurrently(&s))))
                    }
                    _ => stmts.extend(sql),
                }
            }
            for (name, ddl) in &background {
                self.build_concurrently(name, ddl).await?;
            }
            stmts.push(format!(
                "UPDATE \"alembic_version\" SET \"version_num\" = '{}' WHERE \"version_num\" = '{}'",
                m.revision, at
            ));
            tracing::info!(revision = m.revision, title = m.title, "running migration");
            for op in m.ops {
                if let (Op::Backfill(step), Some(secrets)) = (op, secrets) {
                    let rows = self.backfill(*step, secrets).await?;
                    tracing::info!(revision = m.revision, ?step, rows, "backfilled");
                }
            }
            self.run_in_tx(&stmts, Some(m.revision)).await?;
            applied.push(m.revision);
            at = m.revision.to_string();
        }
        self.ensure_quayside_tables().await?;
        Ok(UpgradeReport {
            applied,
            at,
            created: false,
        })
    }

    /// `CREATE INDEX CONCURRENTLY IF NOT EXISTS`, after dropping an invalid index of that
    /// name (what an interrupted concurrent build leaves).
    async fn build_concurrently(&self, name: &str, ddl: &str) -> Result<(), MetaError> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(());
        };
        let invalid: Option<bool> = sqlx::query_scalar(
            "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = $1",
        )
        .bind(name)
        .fetch_optional(pool)
        .await?;
        if invalid == Some(true) {
            let drop = format!(
                "DROP INDEX CONCURRENTLY IF EXISTS \"{}\"",
                name.replace('"', "\"\"")
            );
            sqlx::query(&drop).execute(pool).await?;
        }
        tracing::info!(index = name, "building index concurrently");
        sqlx::query(ddl).persistent(false).execute(pool).await?;
        Ok(())
    }

    /// Runs `stmts` in one transaction. On SQLite, foreign keys are off for the duration (a
    /// table rebuild drops a referenced table) and checked before commit.
    async fn run_in_tx(&self, stmts: &[String], revision: Option<&str>) -> Result<(), MetaError> {
        let fail = |stmt: &str, e: sqlx::Error| {
            tracing::error!(statement = %stmt, error = %e, ?revision, "migration statement failed");
            match revision {
                Some(r) => MetaError::SchemaConflict(format!(
                    "revision {r} failed and was rolled back (the database stays at the previous \
                     revision): {e}; statement: {stmt}"
                )),
                None => MetaError::Query(e),
            }
        };
        match self.pool() {
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7427657369646501)")
                    .execute(&mut *tx)
                    .await?;
                for s in stmts {
                    if let Err(e) = sqlx::query(s).persistent(false).execute(&mut *tx).await {
                        return Err(fail(s, e));
                    }
                }
                tx.commit().await?;
            }
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut *conn)
                    .await?;
                let result: Result<(), MetaError> = async {
                    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                    for s in stmts {
                        if let Err(e) = sqlx::query(s).persistent(false).execute(&mut *tx).await {
                            return Err(fail(s, e));
                        }
                    }
                    let broken: Vec<(String,)> = sqlx::query_as(
                        "SELECT \"table\" FROM pragma_foreign_key_check",
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                    if let Some((t,)) = broken.first() {
                        return Err(MetaError::SchemaConflict(format!(
                            "migration left rows in {t} whose foreign keys point nowhere; rolled back"
                        )));
                    }
                    tx.commit().await?;
                    Ok(())
                }
                .await;
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
                result?;
            }
        }
        Ok(())
    }
}
