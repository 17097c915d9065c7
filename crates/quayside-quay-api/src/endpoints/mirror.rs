//! Repository mirroring configuration (Quay `endpoints/api/mirror.py`, `quay-api.md` §2.16),
//! shown with `FEATURE_REPO_MIRROR`; every operation needs repository admin.
//!
//! * `GET …/mirror` — the view: dates as `%Y-%m-%dT%H:%M:%SZ`, the registry username
//!   decrypted (`"(invalid. please re-enter)"` when it cannot be), statuses and the mirror
//!   type by name, the root rule as `{"rule_kind": "tag_glob_csv", "rule_value": [...]}`.
//! * `POST …/mirror` — creates the rule and the config and puts the repository into
//!   `MIRROR` state; the robot must belong to the repository's namespace and is granted
//!   `write` when it has less; the external reference passes Quay's SSRF rules
//!   (`SSRF_ALLOWED_HOSTS`); credentials are stored encrypted. `201 ""`; a second config
//!   is `409 {"detail": "Mirror configuration already exits for repository <ns>/<repo>"}`
//!   (Quay's spelling).
//! * `PUT …/mirror` — any subset of the same keys with Quay's `{"detail": …}` refusals. All
//!   checks run before anything is written and the change is one update, so a refused
//!   request changes nothing (Quay applies the keys one by one).
//! * `POST …/mirror/sync-now` / `…/sync-cancel` — `204`; `404` when there is nothing to
//!   start (a sync is running) or to cancel.
//!
//! Each change writes one `repo_mirror_config_changed` audit row per key (`changed`, `to`).

use chrono::NaiveDateTime;
use quayside_auth::Role;
use quayside_meta::mirror::{MirrorConfig, NewMirror};
use quayside_meta::repos::RepoDetails;
use quayside_meta::MirrorStatus;
use serde_json::{json, Map, Value};

use crate::ctx::{no_content, py_repr, with_status, Body, Ctx};
use crate::endpoints::repository::{repo_or_404, require_repo};
use crate::routes::{get, h, post, put, ApiResult, Operation};
use crate::{QuayApiError, QuayApiSettings};

const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
/// Quay's smallest `skopeo_timeout_interval`, and its default.
const MIN_TIMEOUT_S: i64 = 300;

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    if !settings.config.feature("REPO_MIRROR") {
        return Vec::new();
    }
    const MIRROR: &str = "/api/v1/repository/{repository:repo}/mirror";
    vec![
        get(MIRROR, "getRepoMirrorConfig", h!(get_mirror))
            .tag("mirror")
            .summary("Return the Mirror configuration for a given Repository.")
            .scope("repo:admin"),
        post(MIRROR, "createRepoMirrorConfig", h!(create_mirror))
            .tag("mirror")
            .summary("Create a RepoMirrorConfig for a given Repository.")
            .scope("repo:admin"),
        put(MIRROR, "changeRepoMirrorConfig", h!(change_mirror))
            .tag("mirror")
            .summary("Allow users to modifying the repository's mirroring configuration.")
            .scope("repo:admin"),
        post(
            "/api/v1/repository/{repository:repo}/mirror/sync-now",
            "syncNow",
            h!(sync_now),
        )
        .tag("mirror")
        .summary("Update the sync_status for a given Repository's mirroring configuration.")
        .scope("repo:admin"),
        post(
            "/api/v1/repository/{repository:repo}/mirror/sync-cancel",
            "syncCancel",
            h!(sync_cancel),
        )
        .tag("mirror")
        .summary("Update the sync_status for a given Repository's mirroring configuration.")
        .scope("repo:admin"),
    ]
}

/// `{"detail": …}` with `400`.
fn detail(message: impl Into<String>) -> QuayApiError {
    QuayApiError::Body(
        axum::http::StatusCode::BAD_REQUEST,
        json!({"detail": message.into()}),
    )
}

/// Python's `datetime.isoformat() + "Z"` of a naive UTC time.
fn date_string(d: Option<NaiveDateTime>) -> Value {
    match d {
        None => Value::Null,
        Some(d) if d.and_utc().timestamp_subsec_micros() == 0 => {
            Value::from(d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        Some(d) => Value::from(d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
    }
}

fn parse_date(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, DATE_FORMAT).ok()
}

fn view(ctx: &Ctx, m: &MirrorConfig) -> Value {
    let username = m
        .external_registry_username
        .as_deref()
        .map(|u| match ctx.auth().decrypt_field(u) {
            Ok(plain) => Value::from(plain),
            Err(e) => {
                tracing::warn!(repository = %format!("{}/{}", m.namespace, m.repository),
                    error = %e, "mirror username cannot be decrypted");
                Value::from("(invalid. please re-enter)")
            }
        })
        .unwrap_or(Value::Null);
    json!({
        "is_enabled": m.is_enabled,
        "mirror_type": "PULL",
        "external_reference": m.external_reference,
        "external_registry_username": username,
        "external_registry_config": m.external_registry_config,
        "sync_interval": m.sync_interval,
        "sync_start_date": date_string(m.sync_start_date),
        "sync_expiration_date": date_string(m.sync_expiration_date),
        "sync_retries_remaining": m.sync_retries_remaining,
        "sync_status": m.sync_status.name(),
        "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": m.rule_value},
        "robot_username": m.robot_username,
        "skopeo_timeout_interval": m.skopeo_timeout,
        "architecture_filter": m.architecture_filter,
    })
}

async fn repo_and_mirror(ctx: &Ctx) -> Result<(RepoDetails, MirrorConfig), QuayApiError> {
    require_repo(ctx, Role::Admin, true).await?;
    let repo = repo_or_404(ctx).await?;
    let mirror = ctx
        .auth()
        .db()
        .mirror_config(repo.id)
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    Ok((repo, mirror))
}

async fn get_mirror(ctx: Ctx) -> ApiResult {
    let (_, mirror) = repo_and_mirror(&ctx).await?;
    Ok(crate::ctx::ok(view(&ctx, &mirror)))
}

/// The checked keys of a create or change body.
#[derive(Default)]
struct Changes {
    is_enabled: Option<bool>,
    external_reference: Option<String>,
    /// `Some(None)`: clear.
    username: Option<Option<String>>,
    password: Option<Option<String>>,
    registry_config: Option<Map<String, Value>>,
    sync_interval: Option<i64>,
    sync_start_date: Option<NaiveDateTime>,
    robot_username: Option<String>,
    rule_value: Option<Vec<String>>,
    skopeo_timeout: Option<i64>,
}

fn opt_nullable_str(body: &Body, key: &str) -> Result<Option<Option<String>>, QuayApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(v) => Err(QuayApiError::invalid_request(format!(
            "{} is not of type 'string', 'null'",
            py_repr(v)
        ))),
    }
}

/// jsonschema's `minimum`: "<n> is less than the minimum of <min>".
fn minimum(v: Option<i64>, min: i64) -> Result<Option<i64>, QuayApiError> {
    match v {
        Some(n) if n < min => Err(QuayApiError::invalid_request(format!(
            "{n} is less than the minimum of {min}"
        ))),
        other => Ok(other),
    }
}

/// Reads and checks every key Quay's schema knows, before anything is written.
fn read_changes(ctx: &Ctx, body: &Body) -> Result<Changes, QuayApiError> {
    if body.has("architecture_filter")
        && body
            .get("architecture_filter")
            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()))
    {
        return Err(detail(
            "Architecture filtering is not supported by this registry (FEATURE_SPARSE_INDEX).",
        ));
    }
    let mut c = Changes {
        is_enabled: body.opt_bool("is_enabled")?,
        sync_interval: minimum(body.opt_i64("sync_interval")?, 0)?,
        skopeo_timeout: minimum(body.opt_i64("skopeo_timeout_interval")?, MIN_TIMEOUT_S)?,
        robot_username: body.opt_str("robot_username")?.map(str::to_owned),
        username: opt_nullable_str(body, "external_registry_username")?,
        password: opt_nullable_str(body, "external_registry_password")?,
        ..Changes::default()
    };
    if let Some(reference) = body.opt_str("external_reference")? {
        if reference.is_empty() {
            return Err(detail("Empty string is an invalid repository location."));
        }
        let allowed = ssrf_allowed_hosts(ctx);
        quayside_upstream::ssrf::validate_registry_reference(reference, &allowed)
            .map_err(QuayApiError::invalid_request)?;
        c.external_reference = Some(reference.to_owned());
    }
    if let Some(date) = body.opt_str("sync_start_date")? {
        c.sync_start_date = Some(
            parse_date(date)
                .ok_or_else(|| detail("Incorrect DateTime format for sync_start_date."))?,
        );
    }
    if let Some(config) = body.opt_object("external_registry_config")? {
        for key in ["verify_tls", "unsigned_images"] {
            if let Some(v) = config.get(key).filter(|v| !v.is_boolean()) {
                return Err(QuayApiError::invalid_request(format!(
                    "{} is not of type 'boolean'",
                    py_repr(v)
                )));
            }
        }
        if let Some(proxy) = config.get("proxy").filter(|p| !p.is_null()) {
            let Some(proxy) = proxy.as_object() else {
                return Err(QuayApiError::invalid_request(format!(
                    "{} is not of type 'object'",
                    py_repr(proxy)
                )));
            };
            if let Some(v) = proxy.values().find(|v| !v.is_string() && !v.is_null()) {
                return Err(QuayApiError::invalid_request(format!(
                    "{} is not of type 'string', 'null'",
                    py_repr(v)
                )));
            }
        }
        c.registry_config = Some(config.clone());
    }
    if let Some(rule) = body.opt_object("root_rule")? {
        let kind = rule.get("rule_kind");
        if kind.is_none() || rule.get("rule_value").is_none() {
            let missing = if kind.is_none() {
                "rule_kind"
            } else {
                "rule_value"
            };
            return Err(QuayApiError::invalid_request(format!(
                "'{missing}' is a required property"
            )));
        }
        if kind.and_then(Value::as_str) != Some("tag_glob_csv") {
            return Err(QuayApiError::invalid_request(
                "validation failed: rule_kind must be \"tag_glob_csv\"",
            ));
        }
        let values = rule
            .get("rule_value")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty() && a.iter().all(Value::is_string))
            .ok_or_else(|| {
                QuayApiError::invalid_request(
                    "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule",
                )
            })?;
        c.rule_value = Some(
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        );
    }
    Ok(c)
}

fn ssrf_allowed_hosts(ctx: &Ctx) -> Vec<String> {
    ctx.state
        .settings
        .config
        .get("SSRF_ALLOWED_HOSTS")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Quay's `_setup_robot_for_mirroring`: the robot must exist in the repository's namespace;
/// it gets `write` on the repository when it has less.
async fn mirror_robot(ctx: &Ctx, repo: &RepoDetails, username: &str) -> Result<i64, QuayApiError> {
    let db = ctx.auth().db();
    let robot = db.robot_by_username(username).await?.ok_or_else(|| {
        QuayApiError::invalid_request(format!("Could not find robot with username: {username}"))
    })?;
    if username.split_once('+').map(|(ns, _)| ns) != Some(repo.namespace.as_str()) {
        return Err(QuayApiError::invalid_request("Invalid robot"));
    }
    let roles = db.account_repo_roles(robot.id, repo.id).await?;
    if !roles.iter().any(|r| r == "write" || r == "admin") {
        ctx.auth()
            .set_repo_permission(repo.id, robot.id, Role::Write)
            .await?;
    }
    Ok(robot.id)
}

fn encrypt(ctx: &Ctx, v: Option<&str>) -> Result<Option<String>, QuayApiError> {
    match v.filter(|s| !s.is_empty()) {
        Some(s) => Ok(Some(ctx.auth().encrypt_field(s)?)),
        None => Ok(None),
    }
}

async fn log_change(
    ctx: &Ctx,
    repo: &RepoDetails,
    changed: &str,
    to: Value,
) -> Result<(), QuayApiError> {
    ctx.log(
        "repo_mirror_config_changed",
        repo.namespace_id,
        Some(repo.id),
        json!({"repo": repo.name, "namespace": repo.namespace, "changed": changed, "to": to}),
    )
    .await
}

async fn create_mirror(ctx: Ctx) -> ApiResult {
    require_repo(&ctx, Role::Admin, true).await?;
    let repo = repo_or_404(&ctx).await?;
    if ctx.auth().db().mirror_config(repo.id).await?.is_some() {
        return Err(QuayApiError::Body(
            axum::http::StatusCode::CONFLICT,
            json!({"detail": format!(
                "Mirror configuration already exits for repository {}/{}",
                repo.namespace, repo.name
            )}),
        ));
    }
    let body = ctx.json()?;
    for key in [
        "external_reference",
        "sync_interval",
        "sync_start_date",
        "root_rule",
        "robot_username",
    ] {
        if !body.has(key) {
            return Err(QuayApiError::invalid_request(format!(
                "'{key}' is a required property"
            )));
        }
    }
    let c = read_changes(&ctx, &body)?;
    let (Some(reference), Some(interval), Some(start), Some(rules), Some(robot_name)) = (
        c.external_reference.clone(),
        c.sync_interval,
        c.sync_start_date,
        c.rule_value.clone(),
        c.robot_username.clone(),
    ) else {
        return Err(QuayApiError::invalid_request(
            "external_reference, sync_interval, sync_start_date, root_rule and robot_username must not be null",
        ));
    };
    let robot_id = mirror_robot(&ctx, &repo, &robot_name).await?;
    let new = NewMirror {
        repository_id: repo.id,
        robot_id,
        is_enabled: c.is_enabled.unwrap_or(true),
        external_reference: reference.clone(),
        external_registry_username: encrypt(&ctx, c.username.clone().flatten().as_deref())?,
        external_registry_password: encrypt(&ctx, c.password.clone().flatten().as_deref())?,
        external_registry_config: Value::Object(c.registry_config.clone().unwrap_or_default()),
        sync_interval: interval,
        sync_start_date: start,
        skopeo_timeout: c.skopeo_timeout.unwrap_or(MIN_TIMEOUT_S),
        architecture_filter: Vec::new(),
        rule_value: rules,
        now: chrono::Utc::now().naive_utc(),
    };
    if !ctx.auth().db().create_mirror_config(&new).await? {
        return Err(QuayApiError::Body(
            axum::http::StatusCode::CONFLICT,
            json!({"detail": "RepoMirrorConfig already exists for this repository."}),
        ));
    }
    log_change(&ctx, &repo, "external_reference", Value::from(reference)).await?;
    Ok(with_status(
        axum::http::StatusCode::CREATED,
        Value::from(""),
    ))
}

/// Merges `patch` into `base` as Quay's `change_external_registry_config` does: the known
/// keys (`verify_tls`, `unsigned_images`, the three `proxy` entries) replace their values.
fn merge_registry_config(
    base: &Value,
    patch: &Map<String, Value>,
) -> (Value, Vec<(String, Value)>) {
    let mut out = base.as_object().cloned().unwrap_or_default();
    let mut changed = Vec::new();
    for key in ["verify_tls", "unsigned_images"] {
        if let Some(v) = patch.get(key) {
            out.insert(key.to_owned(), v.clone());
            changed.push((key.to_owned(), v.clone()));
        }
    }
    if let Some(proxy) = patch.get("proxy").and_then(Value::as_object) {
        let mut p = out
            .get("proxy")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for key in ["http_proxy", "https_proxy", "no_proxy"] {
            if let Some(v) = proxy.get(key) {
                p.insert(key.to_owned(), v.clone());
                changed.push((key.to_owned(), v.clone()));
            }
        }
        out.insert("proxy".to_owned(), Value::Object(p));
    }
    (Value::Object(out), changed)
}

async fn change_mirror(ctx: Ctx) -> ApiResult {
    let (repo, old) = repo_and_mirror(&ctx).await?;
    let body = ctx.json()?;
    let c = read_changes(&ctx, &body)?;
    if c.password.is_some() && c.username.is_none() {
        return Err(detail(
            "Unable to set a new password without also specifying a username.",
        ));
    }
    if matches!(c.username, Some(None)) && matches!(c.password, Some(Some(_))) {
        return Err(detail(
            "Unable to delete username while setting a password.",
        ));
    }
    let mut new = old.clone();
    let mut log: Vec<(String, Value)> = Vec::new();
    if let Some(enabled) = c.is_enabled {
        new.is_enabled = enabled;
        log.push(("is_enabled".into(), Value::from(enabled)));
    }
    if let Some(reference) = &c.external_reference {
        new.external_reference = reference.clone();
        log.push(("external_reference".into(), Value::from(reference.clone())));
    }
    if let Some(robot) = &c.robot_username {
        new.robot_id = mirror_robot(&ctx, &repo, robot).await?;
        log.push(("robot_username".into(), Value::from(robot.clone())));
    }
    if let Some(start) = c.sync_start_date {
        new.sync_start_date = Some(start);
        log.push((
            "sync_start_date".into(),
            Value::from(start.format("%Y-%m-%d %H:%M:%S").to_string()),
        ));
    }
    if let Some(interval) = c.sync_interval {
        new.sync_interval = interval;
        log.push(("sync_interval".into(), Value::from(interval)));
    }
    if let Some(timeout) = c.skopeo_timeout {
        new.skopeo_timeout = timeout;
        log.push(("skopeo_timeout_interval".into(), Value::from(timeout)));
    }
    if let Some(username) = &c.username {
        new.external_registry_username = encrypt(&ctx, username.as_deref())?;
        log.push((
            "external_registry_username".into(),
            username.clone().map_or(Value::Null, Value::from),
        ));
        if let Some(password) = &c.password {
            new.external_registry_password = encrypt(&ctx, password.as_deref())?;
            log.push((
                "external_registry_password".into(),
                password
                    .as_ref()
                    .map_or(Value::Null, |_| Value::from("********")),
            ));
        } else if username.is_none() {
            new.external_registry_password = None;
        }
    }
    if let Some(patch) = &c.registry_config {
        let (merged, changed) = merge_registry_config(&old.external_registry_config, patch);
        new.external_registry_config = merged;
        log.extend(changed);
    }
    if let Some(rules) = &c.rule_value {
        new.rule_value = rules.clone();
        log.push(("mirror_rule".into(), json!(rules)));
    }
    if new != old && !ctx.auth().db().update_mirror_config(&old, &new).await? {
        return Err(QuayApiError::Body(
            axum::http::StatusCode::CONFLICT,
            json!({"detail": "The mirror configuration changed while it was being updated. Please try again."}),
        ));
    }
    for (changed, to) in log {
        log_change(&ctx, &repo, &changed, to).await?;
    }
    Ok(with_status(
        axum::http::StatusCode::CREATED,
        Value::from(""),
    ))
}

async fn sync_now(ctx: Ctx) -> ApiResult {
    let (repo, mirror) = repo_and_mirror(&ctx).await?;
    if !ctx.auth().db().mirror_sync_now(&mirror).await? {
        return Err(QuayApiError::not_found());
    }
    log_change(
        &ctx,
        &repo,
        "sync_status",
        Value::from(MirrorStatus::SyncNow.name()),
    )
    .await?;
    Ok(no_content())
}

async fn sync_cancel(ctx: Ctx) -> ApiResult {
    let (repo, mirror) = repo_and_mirror(&ctx).await?;
    if !ctx.auth().db().mirror_sync_cancel(&mirror).await? {
        return Err(QuayApiError::not_found());
    }
    log_change(&ctx, &repo, "sync_status", Value::from("SYNC_CANCEL")).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_python_isoformat_with_z() {
        let d = parse_date("2026-12-08T01:02:03Z");
        assert_eq!(date_string(d), json!("2026-12-08T01:02:03Z"));
        let with_micros = d.map(|d| d + chrono::Duration::microseconds(5));
        assert_eq!(
            date_string(with_micros),
            json!("2026-12-08T01:02:03.000005Z")
        );
        assert_eq!(parse_date("2026-12-08 01:02:03"), None);
    }

    #[test]
    fn registry_config_patches_merge_key_by_key() {
        let base = json!({"verify_tls": true, "proxy": {"http_proxy": "a", "no_proxy": "x"}});
        let patch = json!({"verify_tls": false, "proxy": {"http_proxy": null}});
        let (merged, changed) = merge_registry_config(&base, patch.as_object().expect("an object"));
        assert_eq!(
            merged,
            json!({"verify_tls": false, "proxy": {"http_proxy": null, "no_proxy": "x"}})
        );
        assert_eq!(changed.len(), 2);
    }
}
