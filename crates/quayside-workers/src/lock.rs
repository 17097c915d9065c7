//! Cross-instance lease lock in quayside's own `quayside_worker_lock` table (Quay uses a
//! Redis `GlobalLock`; see the crate documentation for why quayside keeps it in the
//! database). A lease expires by itself, so a crashed instance blocks others for at most
//! the lease length.

use std::time::Duration;

use quayside_meta::{Db, MetaError};

/// One named lease held by one instance.
#[derive(Debug, Clone)]
pub struct LeaseLock {
    db: Db,
    name: String,
    holder: String,
    lease: Duration,
}

impl LeaseLock {
    pub fn new(db: Db, name: &str, holder: &str, lease: Duration) -> LeaseLock {
        LeaseLock {
            db,
            name: name.to_string(),
            holder: holder.to_string(),
            lease,
        }
    }

    /// Takes (or renews) the lease; false when another holder has an unexpired one.
    pub async fn acquire(&self) -> Result<bool, MetaError> {
        let now = chrono::Utc::now().timestamp_millis();
        let ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 2);
        self.db
            .worker_lock_acquire(&self.name, &self.holder, now, now.saturating_add(ms))
            .await
    }

    /// Gives the lease up (only if still ours).
    pub async fn release(&self) -> Result<(), MetaError> {
        self.db.worker_lock_release(&self.name, &self.holder).await
    }
}
