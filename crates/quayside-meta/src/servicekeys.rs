//! Service key upkeep (`servicekey`): what Quay's servicekeyworker does to this
//! instance's key between boots.

use chrono::NaiveDateTime;

use crate::{with_pool, Db, MetaError};

impl Db {
    /// Quay's `set_key_expiration`: moves the key's `expiration_date` (None: never
    /// expires). Returns how many rows changed (0 when the kid is unknown).
    pub async fn set_service_key_expiration(
        &self,
        kid: &str,
        expiration: Option<NaiveDateTime>,
    ) -> Result<u64, MetaError> {
        const SQL: &str = "UPDATE servicekey SET expiration_date = $1 WHERE kid = $2";
        let done = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(expiration)
                .bind(kid)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
}
