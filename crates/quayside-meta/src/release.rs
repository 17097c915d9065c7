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
            let res = sqlx::query(
                "INSERT INTO quayrelease (service_id, version, region_id, reverted, created) \
                 SELECT s.id, $1, r.id, $2, $3 FROM quayservice s, quayregion r \
                 WHERE s.name = $4 AND r.name = $5 AND NOT EXISTS (SELECT 1 FROM quayrelease q \
                 WHERE q.service_id = s.id AND q.region_id = r.id AND q.version = $1)",
            )
            .bind(version)
            .bind(false)
            .bind(now)
            .bind(service)
            .bind(region)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            res.rows_affected() > 0
        });
        Ok(added)
    }
}
