//! The `quayrelease` row Quay's boot records for each (service, version, region).

use crate::{with_pool, Db, MetaError};

impl Db {
    /// Records that `version` of `service` runs in `region` (Quay's boot does this when
    /// `QUAY_REGION` is set): the service and region lookup rows are created when missing,
    /// and a `quayrelease` row unless that (service, version, region) is already recorded.
    /// Returns whether a row was added.
    pub async fn record_release(
        &self,
        service: &str,
        region: &str,
        version: &str,
    ) -> Result<bool, MetaError> {
        let now = chrono::Utc::now().naive_utc();
        let added = with_pool!(self, pool => {
            let mut tx = crate::db::begin_write!(pool);
            for (table, name) in [("quayservice", service), ("quayregion", region)] {
                sqlx::query(&format!(
                    "INSERT INTO {table} (name) SELECT $1 WHERE NOT EXISTS \
                     (SELECT 1 FROM {table} WHERE name = $1)"
                ))
                .bind(name)
                .execute(&mut *tx)
                .await?;
            }
            let service_id: i32 = sqlx::query_scalar("SELECT id FROM quayservice WHERE name = $1")
                .bind(service)
                .fetch_one(&mut *tx)
                .await?;
            let region_id: i32 = sqlx::query_scalar("SELECT id FROM quayregion WHERE name = $1")
                .bind(region)
                .fetch_one(&mut *tx)
                .await?;
            let known: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM quayrelease WHERE service_id = $1 AND region_id = $2 \
                 AND version = $3",
            )
            .bind(service_id)
            .bind(region_id)
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
            if known == 0 {
                sqlx::query(
                    "INSERT INTO quayrelease (service_id, version, region_id, reverted, created) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(service_id)
                .bind(version)
                .bind(region_id)
                .bind(false)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            known == 0
        });
        Ok(added)
    }
}
