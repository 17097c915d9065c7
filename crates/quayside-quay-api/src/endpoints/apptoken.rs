//! App-specific tokens of the signed-in user (Quay `endpoints/api/appspecifictokens.py`,
//! `data/model/appspecifictoken.py`, `quay-api.md` §2.20), mounted only with
//! `FEATURE_APP_SPECIFIC_TOKENS`.
//!
//! As in Quay: every operation needs the caller's own account with `user:admin`, and
//! every user (superusers included) sees only its own tokens. A token is 120 characters
//! `[A-Z0-9]`: the first 60 are its `token_name`, the rest is stored encrypted under
//! `DATABASE_SECRET_KEY`; the list never shows the code, creating and reading one does.
//! `?expiring=true` lists the tokens expiring within a tenth of
//! `APP_SPECIFIC_TOKEN_EXPIRATION` (default window `4w`). Reading skips expired tokens;
//! revoking deletes the row (expired or not) and forgets remembered credentials, so the
//! token stops working at once. Audit rows: `create_app_specific_token` /
//! `revoke_app_specific_token` with `app_specific_token_title` and `app_specific_token`.

use quayside_meta::users::AppTokenDetails;
use serde_json::{json, Value};

use crate::ctx::{no_content, ok, Ctx};
use crate::endpoints::user::{require_user_admin, required_str, truthy_query};
use crate::routes::{delete, get, h, post, ApiResult, Operation, QueryParam};
use crate::views::opt_date;
use crate::{QuayApiError, QuayApiSettings};

/// Quay's `_DEFAULT_TOKEN_EXPIRATION_WINDOW`.
const DEFAULT_EXPIRATION_WINDOW_S: u64 = 4 * 7 * 24 * 3600;

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    if !settings.config.feature("APP_SPECIFIC_TOKENS") {
        return Vec::new();
    }
    vec![
        get(
            "/api/v1/user/apptoken",
            "listAppTokens",
            h!(list_app_tokens),
        )
        .tag("appspecifictokens")
        .summary("Lists the app specific tokens for the user.")
        .scope("user:admin")
        .query(&[QueryParam {
            name: "expiring",
            kind: "boolean",
            description: "If true, only returns those tokens expiring soon",
        }]),
        post(
            "/api/v1/user/apptoken",
            "createAppToken",
            h!(create_app_token),
        )
        .tag("appspecifictokens")
        .summary("Create a new app specific token for user.")
        .scope("user:admin")
        .fresh_login(),
        get(
            "/api/v1/user/apptoken/{token_uuid}",
            "getAppToken",
            h!(get_app_token),
        )
        .tag("appspecifictokens")
        .summary("Returns a specific app token for the user.")
        .scope("user:admin")
        .fresh_login(),
        delete(
            "/api/v1/user/apptoken/{token_uuid}",
            "revokeAppToken",
            h!(revoke_app_token),
        )
        .tag("appspecifictokens")
        .summary("Revokes a specific app token for the user.")
        .scope("user:admin")
        .fresh_login(),
    ]
}

/// Quay's `token_view`.
fn token_view(t: &AppTokenDetails, code: Option<String>) -> Value {
    let mut v = json!({
        "uuid": t.uuid,
        "title": t.title,
        "last_accessed": opt_date(t.last_accessed),
        "created": opt_date(Some(t.created)),
        "expiration": opt_date(t.expiration),
    });
    if let Some(code) = code {
        v["token_code"] = Value::from(code);
    }
    v
}

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

async fn list_app_tokens(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let expiring = ctx.query_str("expiring").map(truthy_query);
    let db = ctx.auth().db();
    let tokens = if expiring == Some(true) {
        let window_s = ctx
            .state
            .settings
            .config
            .get("APP_SPECIFIC_TOKEN_EXPIRATION")
            .and_then(Value::as_str)
            .and_then(quayside_config::parse_duration_seconds)
            .unwrap_or(DEFAULT_EXPIRATION_WINDOW_S);
        // Quay: ceil(window × 0.1), at least one second.
        let soon_s = window_s.div_ceil(10).max(1);
        let soon_s = i64::try_from(soon_s).unwrap_or(i64::MAX / 2);
        let now = now();
        let soon = now
            .checked_add_signed(chrono::Duration::seconds(soon_s))
            .unwrap_or(chrono::NaiveDateTime::MAX);
        db.expiring_app_tokens(user_id, now, soon).await?
    } else {
        db.list_app_tokens(user_id).await?
    };
    let views: Vec<Value> = tokens.iter().map(|t| token_view(t, None)).collect();
    Ok(ok(json!({
        "tokens": views,
        "only_expiring": expiring,
    })))
}

async fn create_app_token(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let body = ctx.json()?;
    let title = required_str(&body, "title")?;
    let (token, code) = ctx.auth().create_app_token_details(user_id, title).await?;
    ctx.log(
        "create_app_specific_token",
        user_id,
        None,
        json!({ "app_specific_token_title": token.title, "app_specific_token": token.uuid }),
    )
    .await?;
    Ok(ok(json!({ "token": token_view(&token, Some(code)) })))
}

async fn get_app_token(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let auth = ctx.auth();
    let token = auth
        .db()
        .app_token_by_uuid(user_id, ctx.param("token_uuid"), now())
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    let code = auth.app_token_code(&token)?;
    Ok(ok(json!({ "token": token_view(&token, Some(code)) })))
}

async fn revoke_app_token(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let token = ctx
        .auth()
        .revoke_app_token(user_id, ctx.param("token_uuid"))
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    ctx.log(
        "revoke_app_specific_token",
        user_id,
        None,
        json!({ "app_specific_token_title": token.title, "app_specific_token": token.uuid }),
    )
    .await?;
    Ok(no_content())
}
