//! Usage logs (Quay `endpoints/api/logs.py`): `logentry3` rows of a user, an organization
//! or a repository, newest first, 20 per page, within `[starttime, endtime + 1 day)`
//! (`MM/DD/YYYY`, UTC; by default the last day), plus per-day counts by kind
//! (`aggregatelogs`, with `FEATURE_AGGREGATED_LOG_COUNT_RETRIEVAL`).
//!
//! The page token is quayside's own (base64 of the last id seen); Quay's is an encrypted
//! blob. Clients treat both as opaque.

use base64::Engine;
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use quayside_auth::{Role, UserRole};
use quayside_meta::identity::AccountRow;
use quayside_meta::logs::{LogEntryRow, LogFilter};
use serde_json::{json, Map, Value};

use crate::ctx::{ok, Ctx};
use crate::routes::{get, h, ApiResult, Operation, QueryParam};
use crate::views::{account_avatar, format_date};
use crate::{QuayApiError, QuayApiSettings};

/// `LOGS_PER_PAGE`.
const PER_PAGE: i64 = 20;
/// Kinds hidden from a user's own logs (`SERVICE_LEVEL_LOG_KINDS`).
const SERVICE_LEVEL_KINDS: [&str; 6] = [
    "service_key_create",
    "service_key_approve",
    "service_key_delete",
    "service_key_modify",
    "service_key_extend",
    "service_key_rotate",
];
const BAD_REQUEST: &str =
    "The browser (or proxy) sent a request that this server could not understand.";

const TIME_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "starttime",
        kind: "string",
        description: "Earliest time for logs. Format: \"%m/%d/%Y\" in UTC.",
    },
    QueryParam {
        name: "endtime",
        kind: "string",
        description: "Latest time for logs. Format: \"%m/%d/%Y\" in UTC.",
    },
    QueryParam {
        name: "next_page",
        kind: "string",
        description: "The page token for the next page",
    },
];
const PERFORMER_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "starttime",
        kind: "string",
        description: "Earliest time for logs. Format: \"%m/%d/%Y\" in UTC.",
    },
    QueryParam {
        name: "endtime",
        kind: "string",
        description: "Latest time for logs. Format: \"%m/%d/%Y\" in UTC.",
    },
    QueryParam {
        name: "performer",
        kind: "string",
        description: "Username for which to filter logs.",
    },
    QueryParam {
        name: "next_page",
        kind: "string",
        description: "The page token for the next page",
    },
];

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let mut ops = vec![
        get(
            "/api/v1/repository/{repository:repo}/logs",
            "listRepoLogs",
            h!(repo_logs),
        )
        .tag("logs")
        .scope("repo:admin")
        .summary("List the logs for the specified repository.")
        .query(TIME_PARAMS),
        get("/api/v1/user/logs", "listUserLogs", h!(user_logs))
            .tag("logs")
            .scope("user:admin")
            .summary("List the logs for the current user.")
            .query(PERFORMER_PARAMS),
        get(
            "/api/v1/organization/{orgname}/logs",
            "listOrgLogs",
            h!(org_logs),
        )
        .tag("logs")
        .scope("org:admin")
        .summary("List the logs for the specified organization.")
        .query(PERFORMER_PARAMS),
    ];
    if settings.config.feature("AGGREGATED_LOG_COUNT_RETRIEVAL") {
        ops.extend([
            get(
                "/api/v1/repository/{repository:repo}/aggregatelogs",
                "getAggregateRepoLogs",
                h!(repo_aggregate),
            )
            .tag("logs")
            .scope("repo:admin")
            .summary("Returns the aggregated logs for the specified repository.")
            .query(&TIME_PARAMS[..2]),
            get(
                "/api/v1/user/aggregatelogs",
                "getAggregateUserLogs",
                h!(user_aggregate),
            )
            .tag("logs")
            .scope("user:admin")
            .summary("Returns the aggregated logs for the current user.")
            .query(&PERFORMER_PARAMS[..3]),
            get(
                "/api/v1/organization/{orgname}/aggregatelogs",
                "getAggregateOrgLogs",
                h!(org_aggregate),
            )
            .tag("logs")
            .scope("org:admin")
            .summary("Gets the aggregated logs for the specified organization.")
            .query(&PERFORMER_PARAMS[..3]),
        ]);
    }
    ops
}

/// `MM/DD/YYYY` at midnight UTC; anything else counts as absent (as in Quay).
fn parse_day(s: Option<&str>) -> Option<NaiveDateTime> {
    let s = s?.trim();
    NaiveDate::parse_from_str(s, "%m/%d/%Y")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Quay's `_validate_logs_arguments`: defaults to the last day; the end day is inclusive.
fn time_range(ctx: &Ctx) -> Result<(NaiveDateTime, NaiveDateTime), QuayApiError> {
    let now = Utc::now().naive_utc();
    let start = parse_day(ctx.query_str("starttime")).unwrap_or(now - Duration::days(1));
    let end = parse_day(ctx.query_str("endtime")).unwrap_or(now) + Duration::days(1);
    if end < start {
        return Err(QuayApiError::bad_request(BAD_REQUEST));
    }
    Ok((start, end))
}

/// What a caller asked for and may see.
struct Scope {
    account_id: Option<i64>,
    repository_id: Option<i64>,
    performer_id: Option<i64>,
    ignore_service_kinds: bool,
}

async fn performer(ctx: &Ctx) -> Result<Option<i64>, QuayApiError> {
    let Some(name) = ctx.query_str("performer").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    Ok(ctx
        .auth()
        .db()
        .account_by_username(name)
        .await?
        .map(|a| a.id))
}

/// `require_repo_admin(allow_for_superuser, allow_for_global_readonly_superuser)`.
async fn repo_scope(ctx: &Ctx) -> Result<Scope, QuayApiError> {
    let (ns, name) = ctx.repo_param();
    let auth = ctx.auth();
    let allowed = auth.is_superuser(ctx.identity())
        || auth.is_global_readonly_superuser(ctx.identity())
        || ctx.repo_role(ns, name).await? == Some(Role::Admin);
    if !allowed {
        return Err(ctx.caller.unauthorized());
    }
    let repo = auth
        .db()
        .repository_by_name(ns, name)
        .await?
        .filter(|r| r.state != quayside_meta::RepositoryState::MarkedForDeletion)
        .ok_or_else(QuayApiError::not_found)?;
    Ok(Scope {
        account_id: None,
        repository_id: Some(repo.id),
        performer_id: None,
        ignore_service_kinds: false,
    })
}

/// `require_user_admin`.
async fn user_scope(ctx: &Ctx) -> Result<Scope, QuayApiError> {
    let (id, name) = ctx.caller.require_user()?;
    if ctx.user_role(name) != Some(UserRole::Admin) {
        return Err(ctx.caller.unauthorized());
    }
    Ok(Scope {
        account_id: Some(id),
        repository_id: None,
        performer_id: performer(ctx).await?,
        ignore_service_kinds: true,
    })
}

/// `AdministerOrganizationPermission` or (read-only) superuser.
async fn org_scope(ctx: &Ctx) -> Result<Scope, QuayApiError> {
    let name = ctx.param("orgname");
    let auth = ctx.auth();
    let ns: Option<AccountRow> = ctx.namespace(name).await?;
    let superuser =
        auth.is_superuser(ctx.identity()) || auth.is_global_readonly_superuser(ctx.identity());
    let admin = match &ns {
        Some(ns) => auth.can_admin_namespace(ctx.identity(), ns).await?,
        None => false,
    };
    if !(admin || superuser) {
        return Err(ctx.caller.unauthorized());
    }
    let ns = ns.ok_or_else(QuayApiError::not_found)?;
    Ok(Scope {
        account_id: Some(ns.id),
        repository_id: None,
        performer_id: performer(ctx).await?,
        ignore_service_kinds: false,
    })
}

fn decode_page(token: Option<&str>) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token?)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("before_id")?.as_i64()
}

fn encode_page(before_id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({ "before_id": before_id }).to_string())
}

async fn entry_view(ctx: &Ctx, e: &LogEntryRow) -> Result<Value, QuayApiError> {
    let metadata: Value =
        serde_json::from_str(&e.metadata_json).unwrap_or_else(|_| Value::Object(Map::new()));
    let mut view = json!({
        "kind": e.kind,
        "metadata": metadata,
        "ip": e.ip,
        "datetime": format_date(e.datetime),
    });
    if let Some(pid) = e.performer_id {
        if let Some(p) = ctx.auth().db().account_by_id(pid).await? {
            view["performer"] = json!({
                "kind": "user",
                "name": p.username,
                "is_robot": p.robot,
                "avatar": account_avatar(&p),
            });
        }
    }
    Ok(view)
}

async fn list(ctx: Ctx, scope: Scope) -> ApiResult {
    let (start, end) = time_range(&ctx)?;
    let filter = LogFilter {
        account_id: scope.account_id,
        performer_id: scope.performer_id,
        repository_id: scope.repository_id,
        start: Some(start),
        end: Some(end),
        before_id: decode_page(ctx.query_str("next_page")),
    };
    let db = ctx.auth().db();
    let mut rows = Vec::new();
    let mut cursor = filter.clone();
    // Read one more than a page to know whether a next page exists, skipping the kinds
    // this view hides.
    while rows.len() as i64 <= PER_PAGE {
        let batch = db.log_entries(&cursor, PER_PAGE + 1).await?;
        let Some(last) = batch.last() else { break };
        cursor.before_id = Some(last.id);
        let full = batch.len() as i64 > PER_PAGE;
        rows.extend(batch.into_iter().filter(|r| {
            !(scope.ignore_service_kinds && SERVICE_LEVEL_KINDS.contains(&r.kind.as_str()))
        }));
        if !full {
            break;
        }
    }
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let mut logs = Vec::with_capacity(rows.len());
    for r in &rows {
        logs.push(entry_view(&ctx, r).await?);
    }
    let mut body = json!({
        "start_time": format_date(start),
        "end_time": format_date(end),
        "logs": logs,
    });
    if more {
        if let Some(last) = rows.last() {
            body["next_page"] = Value::from(encode_page(last.id));
        }
    }
    Ok(ok(body))
}

async fn aggregate(ctx: Ctx, scope: Scope) -> ApiResult {
    let (start, end) = time_range(&ctx)?;
    let filter = LogFilter {
        account_id: scope.account_id,
        performer_id: scope.performer_id,
        repository_id: scope.repository_id,
        start: Some(start),
        end: Some(end),
        before_id: None,
    };
    let counts = ctx.auth().db().log_counts_by_kind_and_day(&filter).await?;
    let aggregated: Vec<Value> = counts
        .into_iter()
        .filter(|(kind, _, _)| {
            !(scope.ignore_service_kinds && SERVICE_LEVEL_KINDS.contains(&kind.as_str()))
        })
        .filter_map(|(kind, day, count)| {
            let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()?;
            Some(json!({
                "kind": kind,
                "count": count,
                "datetime": format_date(date.and_hms_opt(0, 0, 0)?),
            }))
        })
        .collect();
    Ok(ok(json!({ "aggregated": aggregated })))
}

async fn repo_logs(ctx: Ctx) -> ApiResult {
    let scope = repo_scope(&ctx).await?;
    list(ctx, scope).await
}

async fn user_logs(ctx: Ctx) -> ApiResult {
    let scope = user_scope(&ctx).await?;
    list(ctx, scope).await
}

async fn org_logs(ctx: Ctx) -> ApiResult {
    let scope = org_scope(&ctx).await?;
    list(ctx, scope).await
}

async fn repo_aggregate(ctx: Ctx) -> ApiResult {
    let scope = repo_scope(&ctx).await?;
    aggregate(ctx, scope).await
}

async fn user_aggregate(ctx: Ctx) -> ApiResult {
    let scope = user_scope(&ctx).await?;
    aggregate(ctx, scope).await
}

async fn org_aggregate(ctx: Ctx) -> ApiResult {
    let scope = org_scope(&ctx).await?;
    aggregate(ctx, scope).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_page_tokens() {
        let d = parse_day(Some("11/14/2023")).expect("day");
        assert_eq!(format_date(d), "Tue, 14 Nov 2023 00:00:00 -0000");
        assert!(parse_day(Some("2023-11-14")).is_none());
        assert!(parse_day(None).is_none());
        assert_eq!(decode_page(Some(&encode_page(42))), Some(42));
        assert_eq!(decode_page(Some("garbage!")), None);
    }
}
