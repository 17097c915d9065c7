//! Queries on Quay's account rows (`user`: users, organizations and robots).

use crate::{with_pool, Db, MetaError};

impl Db {
    /// Number of real users: not organizations, not robots. The auth health
    /// check and the first-user hint use it; `user/initialize` needs it zero.
    pub async fn count_users(&self) -> Result<i64, MetaError> {
        const SQL: &str = r#"SELECT COUNT(*) FROM "user" WHERE organization = $1 AND robot = $1"#;
        let n: i64 =
            with_pool!(self, pool => sqlx::query_scalar(SQL).bind(false).fetch_one(pool).await)?;
        Ok(n)
    }

    /// Number of rows in the `user` table: users, organizations and robots alike (Quay's
    /// `has_users()`, which `user/initialize` needs to be zero).
    pub async fn count_accounts(&self) -> Result<i64, MetaError> {
        const SQL: &str = r#"SELECT COUNT(*) FROM "user""#;
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?;
        Ok(n)
    }
}

/// Row counts Quay exports as `quay_*_rows` gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowCounts {
    pub repositories: i64,
    pub users: i64,
    pub orgs: i64,
    pub robots: i64,
}

impl Db {
    /// Counts repositories, users, organizations and robots (Quay's
    /// globalpromstats worker).
    pub async fn row_counts(&self) -> Result<RowCounts, MetaError> {
        const SQL: &str = r#"SELECT
            (SELECT COUNT(*) FROM repository),
            (SELECT COUNT(*) FROM "user" WHERE organization = $1 AND robot = $1),
            (SELECT COUNT(*) FROM "user" WHERE organization = $2),
            (SELECT COUNT(*) FROM "user" WHERE robot = $2)"#;
        let (repositories, users, orgs, robots): (i64, i64, i64, i64) = with_pool!(self, pool => sqlx::query_as(SQL).bind(false).bind(true).fetch_one(pool).await)?;
        Ok(RowCounts {
            repositories,
            users,
            orgs,
            robots,
        })
    }
}
