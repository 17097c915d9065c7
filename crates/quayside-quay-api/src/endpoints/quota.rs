//! Namespace quotas (Quay `endpoints/api/namespacequota.py` and the superuser quota
//! resources of `endpoints/api/superuser.py`, `quay-api.md` §2.14): an organization's or
//! user's quota (`limit_bytes`) and its `Warning` / `Reject` thresholds. Shown only with
//! `FEATURE_SUPER_USERS`, `FEATURE_QUOTA_MANAGEMENT` and `FEATURE_EDIT_QUOTA`.
//!
//! As in Quay:
//! * members (and superusers) read an organization's quota; every write needs a superuser
//!   (`SuperUserPermission` with the `super:user` scope); org admins cannot set quotas;
//! * one quota per namespace ("Organization quota for '<org>' already exists"); limits must
//!   be positive ("Invalid quota size limit value: '<n>'"), thresholds 1–100 ("Quota limit
//!   threshold must be between 1 and 100"), types `Warning` / `Reject` in any case
//!   ("Quota type must be one of [Warning, Reject]"); a threshold with the same type and
//!   percentage cannot be added twice ("Quota limit already exists");
//! * a namespace without a quota lists the system default (`DEFAULT_SYSTEM_REJECT_QUOTA_BYTES`,
//!   `id: null`, `default_config: true`) when one is configured;
//! * `PUT …/limit/<id>` answers the whole quota view; `GET /user/quota/<id>/limit/<id>`
//!   answers the quota view too (a Quay quirk kept);
//! * the superuser resources accept `limit_bytes` or a human `limit` ("10 GiB", "500 MB":
//!   binary units with `i`, decimal without; "Invalid limit format" otherwise).
//!
//! Audit rows: `org_create_quota`, `org_change_quota`, `org_delete_quota`,
//! `org_create_quota_limit`, `org_change_quota_limit`, `org_delete_quota_limit` (their
//! `logentrykind`s exist in Quay; the handlers quayside follows do not write them, quayside
//! does, so quota changes show in the namespace's logs).

use quayside_meta::identity::AccountRow;
use quayside_meta::quota::{NamespaceQuota, QuotaKind, QuotaLimit, SizeRow};
use serde_json::{json, Value};

use crate::ctx::{created, no_content, ok, Body, Ctx};
use crate::endpoints::user::require_user_admin;
use crate::routes::{delete, get, h, post, put, ApiResult, Operation};
use crate::{QuayApiError, QuayApiSettings};

/// Whether the quota operations exist (Quay's `show_if` gates).
pub(crate) fn quota_api_enabled(settings: &QuayApiSettings) -> bool {
    let c = &settings.config;
    c.feature("SUPER_USERS") && c.feature("QUOTA_MANAGEMENT") && c.feature("EDIT_QUOTA")
}

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    if !quota_api_enabled(settings) {
        return Vec::new();
    }
    const ORG: &str = "/api/v1/organization/{orgname}/quota";
    const ORG_ONE: &str = "/api/v1/organization/{orgname}/quota/{quota_id}";
    const ORG_LIMITS: &str = "/api/v1/organization/{orgname}/quota/{quota_id}/limit";
    const ORG_LIMIT: &str = "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}";
    let mut ops = vec![
        get(ORG, "listOrganizationQuota", h!(list_org_quota)).tag("namespacequota"),
        post(ORG, "createOrganizationQuota", h!(create_org_quota))
            .tag("namespacequota")
            .summary("Create a new organization quota.")
            .scope("super:user"),
        get(ORG_ONE, "getOrganizationQuota", h!(get_org_quota)).tag("namespacequota"),
        put(ORG_ONE, "changeOrganizationQuota", h!(change_org_quota))
            .tag("namespacequota")
            .scope("super:user"),
        delete(ORG_ONE, "deleteOrganizationQuota", h!(delete_org_quota))
            .tag("namespacequota")
            .scope("super:user"),
        get(
            ORG_LIMITS,
            "listOrganizationQuotaLimit",
            h!(list_org_limits),
        )
        .tag("namespacequota"),
        post(
            ORG_LIMITS,
            "createOrganizationQuotaLimit",
            h!(create_org_limit),
        )
        .tag("namespacequota")
        .scope("super:user"),
        get(ORG_LIMIT, "getOrganizationQuotaLimit", h!(get_org_limit)).tag("namespacequota"),
        put(
            ORG_LIMIT,
            "changeOrganizationQuotaLimit",
            h!(change_org_limit),
        )
        .tag("namespacequota")
        .scope("super:user"),
        delete(
            ORG_LIMIT,
            "deleteOrganizationQuotaLimit",
            h!(delete_org_limit),
        )
        .tag("namespacequota")
        .scope("super:user"),
        get("/api/v1/user/quota", "listUserQuota", h!(list_user_quota))
            .tag("namespacequota")
            .scope("user:admin"),
        get(
            "/api/v1/user/quota/{quota_id}",
            "getUserQuota",
            h!(get_user_quota),
        )
        .tag("namespacequota")
        .scope("user:admin"),
        get(
            "/api/v1/user/quota/{quota_id}/limit",
            "listUserQuotaLimit",
            h!(list_user_limits),
        )
        .tag("namespacequota")
        .scope("user:admin"),
        get(
            "/api/v1/user/quota/{quota_id}/limit/{limit_id}",
            "getUserQuotaLimit",
            h!(get_user_limit),
        )
        .tag("namespacequota")
        .scope("user:admin"),
    ];
    for (list, one, kind) in [
        (
            "/api/v1/superuser/users/{namespace}/quota",
            "/api/v1/superuser/users/{namespace}/quota/{quota_id}",
            "User",
        ),
        (
            "/api/v1/superuser/organization/{namespace}/quota",
            "/api/v1/superuser/organization/{namespace}/quota/{quota_id}",
            "Organization",
        ),
    ] {
        let user = kind == "User";
        ops.push(
            get(
                list,
                if user {
                    "listUserQuotaSuperUser"
                } else {
                    "listOrganizationQuotaSuperUser"
                },
                h!(su_list_quota),
            )
            .tag("superuser")
            .scope("super:user")
            .fresh_login(),
        );
        ops.push(
            post(
                list,
                if user {
                    "createUserQuotaSuperUser"
                } else {
                    "createOrganizationQuotaSuperUser"
                },
                h!(su_create_quota),
            )
            .tag("superuser")
            .scope("super:user")
            .fresh_login(),
        );
        ops.push(
            put(
                one,
                if user {
                    "changeUserQuotaSuperUser"
                } else {
                    "changeOrganizationQuotaSuperUser"
                },
                h!(su_change_quota),
            )
            .tag("superuser")
            .scope("super:user")
            .fresh_login(),
        );
        ops.push(
            delete(
                one,
                if user {
                    "deleteUserQuotaSuperUser"
                } else {
                    "deleteOrganizationQuotaSuperUser"
                },
                h!(su_delete_quota),
            )
            .tag("superuser")
            .scope("super:user"),
        );
    }
    ops
}

// ---------------------------------------------------------------------------------------
// Views.

fn default_reject_bytes(ctx: &Ctx) -> i64 {
    i64::try_from(ctx.state.settings.config.default_system_reject_quota_bytes).unwrap_or(i64::MAX)
}

/// A byte count as Quay's UI shows it: one decimal and the largest binary unit that keeps
/// the value at least 1 (`10.0 GiB`).
pub(crate) fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn limit_view(l: &QuotaLimit) -> Value {
    json!({"id": l.id, "type": l.kind.name(), "limit_percent": l.percent_of_limit})
}

/// Quay's `quota_view`.
pub(crate) fn quota_view(ctx: &Ctx, q: &NamespaceQuota) -> Value {
    json!({
        "id": q.id,
        "limit_bytes": q.limit_bytes,
        "limit": human_bytes(q.limit_bytes),
        "default_config": false,
        "limits": q.limits.iter().map(limit_view).collect::<Vec<_>>(),
        "default_config_exists": default_reject_bytes(ctx) != 0,
    })
}

/// The system default as a quota view (an unsaved quota: no id, no thresholds).
fn default_quota_view(bytes: i64) -> Value {
    json!({
        "id": Value::Null,
        "limit_bytes": bytes,
        "limit": human_bytes(bytes),
        "default_config": true,
        "limits": [],
        "default_config_exists": true,
    })
}

/// The `quotas` list of an organization or user view: the namespace's own quota.
pub(crate) async fn own_quotas(ctx: &Ctx, namespace_id: i64) -> Result<Value, QuayApiError> {
    let own = ctx.auth().db().namespace_quota(namespace_id).await?;
    Ok(Value::Array(
        own.iter().map(|q| quota_view(ctx, q)).collect(),
    ))
}

/// Whether organization and user views carry `quotas` and `quota_report`.
pub(crate) fn quota_in_views(ctx: &Ctx) -> bool {
    let c = &ctx.state.settings.config;
    c.feature("QUOTA_MANAGEMENT") && c.feature("EDIT_QUOTA")
}

/// The limit a report names: the namespace's quota, else the system default, else null.
async fn configured_quota(ctx: &Ctx, namespace_id: i64) -> Result<Value, QuayApiError> {
    Ok(match ctx.auth().db().namespace_quota(namespace_id).await? {
        Some(q) => Value::from(q.limit_bytes),
        None => match default_reject_bytes(ctx) {
            0 => Value::Null,
            d => Value::from(d),
        },
    })
}

/// Quay's `get_quota_for_view`: the `quota_report` of an organization or user view.
pub(crate) async fn quota_report(ctx: &Ctx, namespace_id: i64) -> Result<Value, QuayApiError> {
    let db = ctx.auth().db();
    let configured = configured_quota(ctx, namespace_id).await?;
    let size = db.namespace_size(namespace_id).await?;
    let status = SizeRow::backfill_status(size.as_ref());
    Ok(json!({
        "quota_bytes": size.map_or(0, |s| s.size_bytes),
        "configured_quota": configured,
        "running_backfill": status,
        "backfill_status": status,
    }))
}

/// Quay's `get_repo_quota_for_view`: the `quota_report` of a repository view.
pub(crate) async fn repo_quota_report(
    ctx: &Ctx,
    namespace_id: i64,
    repository_id: i64,
) -> Result<Value, QuayApiError> {
    let db = ctx.auth().db();
    let configured = configured_quota(ctx, namespace_id).await?;
    let size = db.repository_size(repository_id).await?;
    Ok(json!({
        "quota_bytes": size.map_or(0, |s| s.size_bytes),
        "configured_quota": configured,
    }))
}

// ---------------------------------------------------------------------------------------
// Inputs.

/// A limit from `limit_bytes` (integer) or, where `human` is allowed, `limit` ("10 GiB").
/// `None`: neither given.
fn limit_input(body: &Body, human: bool) -> Result<Option<i64>, QuayApiError> {
    if human {
        if let Some(v) = body.get("limit") {
            let Some(s) = v.as_str() else {
                return Err(QuayApiError::invalid_request(format!(
                    "{} is not of type 'string'",
                    crate::ctx::py_repr(v)
                )));
            };
            return parse_human_limit(s)
                .map(Some)
                .ok_or_else(|| QuayApiError::invalid_request("Invalid limit format"));
        }
    }
    body.opt_i64("limit_bytes")
}

/// Parses Quay's human limit pattern: digits, an optional space, an optional unit
/// (`B`, `KiB`…`YiB`, `Ki`…`Yi`, `KB`…`YB`, `K`…`Y`). Units with `i` are powers of 1024,
/// the others powers of 1000. `None` for anything else or a value past `i64`.
pub(crate) fn parse_human_limit(s: &str) -> Option<i64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits_end == 0 {
        return None;
    }
    let n: i128 = s[..digits_end].parse().ok()?;
    let rest = &s[digits_end..];
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    if unit.starts_with(' ') {
        return None;
    }
    const PREFIXES: &str = "KMGTPEZY";
    let mult: i128 = if unit.is_empty() || unit == "B" {
        1
    } else {
        let mut chars = unit.chars();
        let p = chars.next()?;
        let power = u32::try_from(PREFIXES.find(p)? + 1).ok()?;
        let tail: String = chars.collect();
        let base: i128 = match tail.as_str() {
            "iB" | "i" => 1024,
            "B" | "" => 1000,
            _ => return None,
        };
        base.checked_pow(power)?
    };
    i64::try_from(n.checked_mul(mult)?).ok()
}

/// A threshold percentage, checked as Quay checks it.
fn check_percent(p: i64) -> Result<i64, QuayApiError> {
    if (1..=100).contains(&p) {
        Ok(p)
    } else {
        Err(QuayApiError::invalid_request(
            "Quota limit threshold must be between 1 and 100",
        ))
    }
}

fn parse_kind(s: &str) -> Result<QuotaKind, QuayApiError> {
    QuotaKind::parse(s)
        .ok_or_else(|| QuayApiError::invalid_request("Quota type must be one of [Warning, Reject]"))
}

fn check_limit_bytes(n: i64) -> Result<i64, QuayApiError> {
    if n > 0 {
        Ok(n)
    } else {
        Err(QuayApiError::invalid_request(format!(
            "Invalid quota size limit value: '{n}'"
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Lookups and guards.

/// Quay's `get_organization`, 404 when `orgname` is not an organization.
async fn org_account(ctx: &Ctx) -> Result<AccountRow, QuayApiError> {
    match ctx.namespace(ctx.param("orgname")).await? {
        Some(a) if a.organization => Ok(a),
        _ => Err(QuayApiError::not_found()),
    }
}

/// The user or organization named by path parameter `param`, 404 when there is none.
async fn namespace_param(ctx: &Ctx, param: &str) -> Result<AccountRow, QuayApiError> {
    ctx.namespace(ctx.param(param))
        .await?
        .ok_or_else(QuayApiError::not_found)
}

/// `OrganizationMemberPermission` (any role in the organization).
async fn is_member(ctx: &Ctx, ns: &AccountRow) -> Result<bool, QuayApiError> {
    Ok(ctx.namespace_role(ns).await?.is_some())
}

fn require_superuser_write(ctx: &Ctx) -> Result<(), QuayApiError> {
    if ctx.is_superuser() {
        Ok(())
    } else {
        Err(ctx.caller.unauthorized())
    }
}

fn quota_id_param(ctx: &Ctx) -> Option<i64> {
    ctx.param("quota_id").parse().ok()
}

/// Quay's `get_quota(namespace, quota_id)`: 404 unless the quota is the namespace's.
async fn namespace_quota_by_id(
    ctx: &Ctx,
    namespace_id: i64,
) -> Result<NamespaceQuota, QuayApiError> {
    let wanted = quota_id_param(ctx);
    match ctx.auth().db().namespace_quota(namespace_id).await? {
        Some(q) if Some(q.id) == wanted => Ok(q),
        _ => Err(QuayApiError::not_found()),
    }
}

fn limit_of<'a>(ctx: &Ctx, q: &'a NamespaceQuota) -> Result<&'a QuotaLimit, QuayApiError> {
    let wanted: Option<i64> = ctx.param("limit_id").parse().ok();
    q.limits
        .iter()
        .find(|l| Some(l.id) == wanted)
        .ok_or_else(QuayApiError::not_found)
}

async fn reload(ctx: &Ctx, namespace_id: i64) -> Result<NamespaceQuota, QuayApiError> {
    ctx.auth()
        .db()
        .namespace_quota(namespace_id)
        .await?
        .ok_or_else(QuayApiError::not_found)
}

// ---------------------------------------------------------------------------------------
// Organization handlers.

async fn list_org_quota(ctx: Ctx) -> ApiResult {
    readable_org(&ctx, true).await?;
    let org = org_account(&ctx).await?;
    let own = ctx.auth().db().namespace_quota(org.id).await?;
    let default = default_reject_bytes(&ctx);
    Ok(ok(Value::Array(match own {
        Some(q) => vec![quota_view(&ctx, &q)],
        None if default != 0 => vec![default_quota_view(default)],
        None => Vec::new(),
    })))
}

async fn create_org_quota(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let Some(limit) = limit_input(&body, true)? else {
        return Err(QuayApiError::invalid_request(
            "'limit_bytes' is a required property",
        ));
    };
    require_superuser_write(&ctx)?;
    let org = org_account(&ctx).await?;
    create_quota(
        &ctx,
        &org,
        limit,
        &format!("Organization quota for '{}' already exists", org.username),
    )
    .await
}

async fn create_quota(ctx: &Ctx, ns: &AccountRow, limit: i64, exists: &str) -> ApiResult {
    let db = ctx.auth().db();
    if db.namespace_quota(ns.id).await?.is_some() {
        return Err(QuayApiError::invalid_request(exists));
    }
    let limit = check_limit_bytes(limit)?;
    if !db.create_namespace_quota(ns.id, limit).await? {
        return Err(QuayApiError::invalid_request(exists));
    }
    ctx.log(
        "org_create_quota",
        ns.id,
        None,
        json!({"namespace": ns.username, "limit_bytes": limit}),
    )
    .await?;
    Ok(created())
}

async fn get_org_quota(ctx: Ctx) -> ApiResult {
    let org = readable_org(&ctx, true).await?;
    let q = namespace_quota_by_id(&ctx, org.id).await?;
    Ok(ok(quota_view(&ctx, &q)))
}

/// The organization, for a caller who is a member (or, with `superuser_ok`, a superuser).
async fn readable_org(ctx: &Ctx, superuser_ok: bool) -> Result<AccountRow, QuayApiError> {
    let ns = ctx.namespace(ctx.param("orgname")).await?;
    let member = match &ns {
        Some(ns) => is_member(ctx, ns).await?,
        None => false,
    };
    if !(member || (superuser_ok && ctx.is_superuser())) {
        return Err(ctx.caller.unauthorized());
    }
    match ns {
        Some(a) => Ok(a),
        None => Err(QuayApiError::not_found()),
    }
}

async fn change_org_quota(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let limit = limit_input(&body, true)?;
    require_superuser_write(&ctx)?;
    let ns = namespace_param(&ctx, "orgname").await?;
    change_quota(&ctx, &ns, limit).await
}

async fn change_quota(ctx: &Ctx, ns: &AccountRow, limit: Option<i64>) -> ApiResult {
    let q = namespace_quota_by_id(ctx, ns.id).await?;
    if let Some(limit) = limit {
        let limit = check_limit_bytes(limit)?;
        ctx.auth().db().update_namespace_quota(q.id, limit).await?;
        ctx.log(
            "org_change_quota",
            ns.id,
            None,
            json!({"namespace": ns.username, "limit_bytes": limit}),
        )
        .await?;
    }
    let q = reload(ctx, ns.id).await?;
    Ok(ok(quota_view(ctx, &q)))
}

async fn delete_org_quota(ctx: Ctx) -> ApiResult {
    require_superuser_write(&ctx)?;
    let ns = namespace_param(&ctx, "orgname").await?;
    delete_quota(&ctx, &ns).await
}

async fn delete_quota(ctx: &Ctx, ns: &AccountRow) -> ApiResult {
    let q = namespace_quota_by_id(ctx, ns.id).await?;
    ctx.auth().db().delete_namespace_quota(q.id).await?;
    ctx.log(
        "org_delete_quota",
        ns.id,
        None,
        json!({"namespace": ns.username}),
    )
    .await?;
    Ok(no_content())
}

async fn list_org_limits(ctx: Ctx) -> ApiResult {
    let org = readable_org(&ctx, false).await?;
    let q = namespace_quota_by_id(&ctx, org.id).await?;
    Ok(ok(Value::Array(q.limits.iter().map(limit_view).collect())))
}

async fn create_org_limit(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let kind = body.req_str("type")?.to_owned();
    let Some(percent) = body.opt_i64("threshold_percent")? else {
        return Err(QuayApiError::invalid_request(
            "'threshold_percent' is a required property",
        ));
    };
    require_superuser_write(&ctx)?;
    let ns = namespace_param(&ctx, "orgname").await?;
    let q = namespace_quota_by_id(&ctx, ns.id).await?;
    let percent = check_percent(percent)?;
    let kind = parse_kind(&kind)?;
    if q.limits
        .iter()
        .any(|l| l.kind == kind && l.percent_of_limit == percent)
    {
        return Err(QuayApiError::invalid_request("Quota limit already exists"));
    }
    ctx.auth()
        .db()
        .create_quota_limit(q.id, kind, percent)
        .await?;
    ctx.log(
        "org_create_quota_limit",
        ns.id,
        None,
        json!({"namespace": ns.username, "type": kind.name(), "threshold_percent": percent}),
    )
    .await?;
    Ok(created())
}

async fn get_org_limit(ctx: Ctx) -> ApiResult {
    let org = readable_org(&ctx, false).await?;
    let q = namespace_quota_by_id(&ctx, org.id).await?;
    Ok(ok(limit_view(limit_of(&ctx, &q)?)))
}

async fn change_org_limit(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let kind = body.opt_str("type")?.map(str::to_owned);
    let percent = body.opt_i64("threshold_percent")?;
    require_superuser_write(&ctx)?;
    let ns = namespace_param(&ctx, "orgname").await?;
    let q = namespace_quota_by_id(&ctx, ns.id).await?;
    let limit = limit_of(&ctx, &q)?.clone();
    let kind = kind.as_deref().map(parse_kind).transpose()?;
    let percent = percent.map(check_percent).transpose()?;
    ctx.auth()
        .db()
        .update_quota_limit(limit.id, kind, percent)
        .await?;
    if kind.is_some() || percent.is_some() {
        ctx.log(
            "org_change_quota_limit",
            ns.id,
            None,
            json!({
                "namespace": ns.username,
                "limit_id": limit.id,
                "type": kind.unwrap_or(limit.kind).name(),
                "threshold_percent": percent.unwrap_or(limit.percent_of_limit),
            }),
        )
        .await?;
    }
    let q = reload(&ctx, ns.id).await?;
    Ok(ok(quota_view(&ctx, &q)))
}

async fn delete_org_limit(ctx: Ctx) -> ApiResult {
    require_superuser_write(&ctx)?;
    let ns = namespace_param(&ctx, "orgname").await?;
    let q = namespace_quota_by_id(&ctx, ns.id).await?;
    let limit = limit_of(&ctx, &q)?;
    ctx.auth().db().delete_quota_limit(limit.id).await?;
    ctx.log(
        "org_delete_quota_limit",
        ns.id,
        None,
        json!({"namespace": ns.username, "limit_id": limit.id}),
    )
    .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------
// The signed-in user's own quota (read-only).

async fn own_quota(ctx: &Ctx) -> Result<NamespaceQuota, QuayApiError> {
    let (id, _) = require_user_admin(ctx)?;
    namespace_quota_by_id(ctx, id).await
}

async fn list_user_quota(ctx: Ctx) -> ApiResult {
    let (id, _) = require_user_admin(&ctx)?;
    Ok(ok(own_quotas(&ctx, id).await?))
}

async fn get_user_quota(ctx: Ctx) -> ApiResult {
    let q = own_quota(&ctx).await?;
    Ok(ok(quota_view(&ctx, &q)))
}

async fn list_user_limits(ctx: Ctx) -> ApiResult {
    let q = own_quota(&ctx).await?;
    Ok(ok(Value::Array(q.limits.iter().map(limit_view).collect())))
}

async fn get_user_limit(ctx: Ctx) -> ApiResult {
    let q = own_quota(&ctx).await?;
    limit_of(&ctx, &q)?;
    Ok(ok(quota_view(&ctx, &q)))
}

// ---------------------------------------------------------------------------------------
// Superuser handlers (users and organizations alike).

async fn su_namespace(ctx: &Ctx) -> Result<AccountRow, QuayApiError> {
    namespace_param(ctx, "namespace").await
}

async fn su_list_quota(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(true)?;
    let ns = su_namespace(&ctx).await?;
    Ok(ok(own_quotas(&ctx, ns.id).await?))
}

async fn su_create_quota(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let limit = limit_input(&body, true)?;
    ctx.require_superuser(false)?;
    let Some(limit) = limit else {
        return Err(QuayApiError::invalid_request(
            "'limit_bytes' is a required property",
        ));
    };
    let ns = su_namespace(&ctx).await?;
    create_quota(
        &ctx,
        &ns,
        limit,
        &format!("Quota for '{}' already exists", ns.username),
    )
    .await
}

async fn su_change_quota(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let limit = limit_input(&body, true)?;
    ctx.require_superuser(false)?;
    let ns = su_namespace(&ctx).await?;
    change_quota(&ctx, &ns, limit).await
}

async fn su_delete_quota(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(false)?;
    let ns = su_namespace(&ctx).await?;
    delete_quota(&ctx, &ns).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_limits_parse_as_quay_reads_them() {
        assert_eq!(parse_human_limit("10 GiB"), Some(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_human_limit("10GiB"), Some(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_human_limit("5 Mi"), Some(5 * 1024 * 1024));
        assert_eq!(parse_human_limit("500 MB"), Some(500_000_000));
        assert_eq!(parse_human_limit("2K"), Some(2000));
        assert_eq!(parse_human_limit("42"), Some(42));
        assert_eq!(parse_human_limit("42 B"), Some(42));
        for bad in [
            "",
            "GiB",
            "10  GiB",
            "10 gib",
            "1.5 GiB",
            "10 XB",
            "-1",
            "99999 YiB",
        ] {
            assert_eq!(parse_human_limit(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn human_bytes_use_one_decimal_and_binary_units() {
        assert_eq!(human_bytes(10 * 1024 * 1024 * 1024), "10.0 GiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(512), "512.0 B");
    }
}
