//! Global banner messages (Quay's `messages` table, `data/model/message.py`).

use crate::{with_pool, Db, MetaError};

/// One message as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMessage {
    pub uuid: String,
    pub content: String,
    pub severity: String,
    pub media_type: String,
}

impl Db {
    /// Every message, oldest first.
    pub async fn global_messages(&self) -> Result<Vec<GlobalMessage>, MetaError> {
        const SQL: &str = "SELECT m.uuid, m.content, m.severity, t.name FROM messages m \
             JOIN mediatype t ON t.id = m.media_type_id ORDER BY m.id";
        let rows: Vec<(String, String, String, String)> =
            with_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(uuid, content, severity, media_type)| GlobalMessage {
                uuid,
                content,
                severity,
                media_type,
            })
            .collect())
    }

    /// Adds a message; `None` when `media_type` is not a known media type.
    pub async fn create_global_message(
        &self,
        severity: &str,
        media_type: &str,
        content: &str,
    ) -> Result<Option<GlobalMessage>, MetaError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        const SQL: &str = "INSERT INTO messages (content, uuid, media_type_id, severity) \
             SELECT $1, $2, t.id, $3 FROM mediatype t WHERE t.name = $4";
        let inserted = with_pool!(self, pool => {
            sqlx::query(SQL).bind(content).bind(&uuid).bind(severity).bind(media_type)
                .execute(pool).await.map(|r| r.rows_affected())
        })?;
        Ok((inserted > 0).then(|| GlobalMessage {
            uuid,
            content: content.to_string(),
            severity: severity.to_string(),
            media_type: media_type.to_string(),
        }))
    }

    /// Deletes the message `uuid` (nothing when there is none).
    pub async fn delete_global_message(&self, uuid: &str) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM messages WHERE uuid = $1").bind(uuid).execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }
}
