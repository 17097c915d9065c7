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
}
