//! Audit logging: Quay's `log_action` writing `logentry3` rows.
//!
//! Metadata is the handler's JSON object; calls made with an OAuth token also carry
//! `oauth_token_id`, `oauth_token_application_id` and `oauth_token_application` as in
//! Quay (`data/logs_model/shared.py`). Kinds are Quay's `logentrykind` names.

use serde_json::Value;

use crate::ctx::Caller;
use crate::{QuayApiError, QuayApiState};

pub(crate) async fn log_action(
    state: &QuayApiState,
    caller: &Caller,
    ip: Option<&str>,
    kind: &str,
    namespace_id: i64,
    repository_id: Option<i64>,
    mut metadata: Value,
) -> Result<(), QuayApiError> {
    let db = state.auth.db();
    if let (Some(token_uuid), Some(obj)) = (caller.oauth_token_uuid(), metadata.as_object_mut()) {
        if let Some(app) = db.oauth_token_application(token_uuid).await? {
            obj.insert("oauth_token_id".into(), Value::from(app.token_id));
            obj.insert(
                "oauth_token_application_id".into(),
                Value::from(app.client_id),
            );
            obj.insert("oauth_token_application".into(), Value::from(app.name));
        }
    }
    let metadata_json = serde_json::to_string(&metadata)
        .map_err(|e| QuayApiError::Internal(format!("log metadata: {e}")))?;
    db.insert_log_entry(
        &state.log_kinds,
        &quayside_meta::logs::NewLogEntry {
            kind,
            account_id: namespace_id,
            performer_id: caller.identity.account_id(),
            repository_id,
            ip,
            metadata_json: &metadata_json,
            datetime: chrono::Utc::now().naive_utc(),
        },
    )
    .await?;
    Ok(())
}
