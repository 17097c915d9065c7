//! Repository tags (Quay `endpoints/api/tag.py`): the tag history list with Quay's
//! `page`/`limit` pagination and filters, create/move a tag, change its expiration,
//! delete, restore within the namespace's time-machine window, and (with
//! `PERMANENTLY_DELETE_TAGS`) push a tag out of that window.
//!
//! Tag writes keep Quay's lifetime model (`quayside-meta::tags`): a move ends the alive row
//! and starts a new one, a delete ends it, a restore starts a new row with
//! `reversion = true`. A restore finds the old manifest only while garbage collection would
//! still keep it: some tag row of it is alive or ended within the namespace's
//! `removed_tag_expiration_s` (Quay's GC deletes older rows and then unreferenced
//! manifests, after which the restore answers 404).
//!
//! Immutable tags (`tag.immutable`): `PUT .../tag/<tag>` with `{"immutable": true}` sets
//! the flag on the alive tag (write access), `false` clears it (repository admin). An
//! immutable tag cannot be moved, deleted, restored over or pushed out of the time machine
//! (`409 tag_immutable`, "Cannot <operation> immutable tag '<tag>'"); `/v2` pushes and
//! deletes answer `TAG_IMMUTABLE`. The tag view shows the flag with
//! `FEATURE_IMMUTABLE_TAGS`; enforcement follows the column, whatever the feature says, so
//! a flag set by Quay is honoured.
//!
//! Not done: re-signing a schema 1 manifest for another tag name (Quay rewrites it;
//! quayside refuses with "Could not move tag").

use axum::http::StatusCode;
use quayside_auth::Role;
use quayside_meta::registry::RegistryRepo;
use quayside_meta::tags::{Retarget, TagHistoryQuery, TagNameFilter, TagRow, TimeMachineRemoval};
use quayside_meta::MetaError;
use quayside_oci::labels;
use serde_json::{json, Map, Value};

use crate::ctx::{ok, with_status, Body, Ctx};
use crate::error::ErrorType;
use crate::routes::{delete, get, h, post, put, ApiResult, Operation, QueryParam};
use crate::views::format_date;
use crate::{QuayApiError, QuayApiSettings};

/// Werkzeug's `BadRequest` description (Flask-RESTful `abort(400)` without a message).
pub(crate) const BAD_REQUEST: &str =
    "The browser (or proxy) sent a request that this server could not understand.";
/// Werkzeug's `NotImplemented` description (`disallow_for_app_repositories`).
const NOT_IMPLEMENTED: &str = "The server does not support the action requested by the browser.";
const FILTER_SYNTAX: &str = "Unsupported syntax for filter_tag_name. Expected <operation>:<tag_name> where <operation>can be 'like' or 'eq'.";
/// `TEMP_TAG_EXPIRATION_SEC` of Quay's `lookup_manifest(require_available=True)`.
const LOOKUP_TEMP_TAG_SEC: i64 = 300;
/// The label whose value sets the expiration of a manifest's tags.
pub(crate) const LABEL_EXPIRY_KEY: &str = labels::EXPIRES_AFTER;

const LIST_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "onlyActiveTags",
        kind: "boolean",
        description: "Filter to only active tags.",
    },
    QueryParam {
        name: "page",
        kind: "integer",
        description: "Page index for the results. Default 1.",
    },
    QueryParam {
        name: "limit",
        kind: "integer",
        description: "Limit to the number of results to return per page. Max 100.",
    },
    QueryParam {
        name: "filter_tag_name",
        kind: "string",
        description: "Syntax: <op>:<name> Filters the tag names based on the operation.<op> can be 'like' or 'eq'.",
    },
    QueryParam {
        name: "specificTag",
        kind: "string",
        description: "Filters the tags to the specific tag.",
    },
];

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let mut ops = vec![
        get(
            "/api/v1/repository/{repository:repo}/tag/",
            "listRepoTags",
            h!(list_tags),
        )
        .tag("tag")
        .summary("Resource for listing full repository tag history, alive *and dead*.")
        .scope("repo:read")
        .query(LIST_PARAMS),
        put(
            "/api/v1/repository/{repository:repo}/tag/{tag}",
            "changeTag",
            h!(change_tag),
        )
        .tag("tag")
        .summary("Change which image a tag points to or create a new tag.")
        .scope("repo:write"),
        delete(
            "/api/v1/repository/{repository:repo}/tag/{tag}",
            "deleteFullTag",
            h!(delete_tag),
        )
        .tag("tag")
        .summary("Delete the specified repository tag.")
        .scope("repo:write"),
        post(
            "/api/v1/repository/{repository:repo}/tag/{tag}/restore",
            "restoreTag",
            h!(restore_tag),
        )
        .tag("tag")
        .summary("Restores a repository tag back to a previous image in the repository.")
        .scope("repo:write"),
    ];
    if settings.config.permanently_delete_tags {
        ops.push(
            post(
                "/api/v1/repository/{repository:repo}/tag/{tag}/expire",
                "removeTagFromTimemachine",
                h!(expire_tag),
            )
            .tag("tag")
            .summary("Updates any expired tags with the matching name and manifest with an expiry outside the time machine window")
            .scope("repo:write"),
        );
    }
    ops
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The signed-in user's name for audit metadata.
pub(crate) fn username(ctx: &Ctx) -> String {
    ctx.caller
        .user()
        .map(|(_, name)| name.to_owned())
        .unwrap_or_default()
}

/// A repository operation's guard, in the order of Quay's decorators: the permission
/// (`require_repo_read` allows public repositories; `allow_for_superuser` lets superusers in
/// with `FEATURE_SUPERUSERS_FULL_ACCESS`), then `disallow_for_app_repositories` (501), then
/// for writes `disallow_for_non_normal_repositories` (503). Returns the repository, if it
/// exists (the operation answers 404 at the point Quay looks it up).
pub(crate) async fn guard_repo(
    ctx: &Ctx,
    role: Role,
    allow_superuser: bool,
    check_state: bool,
) -> Result<Option<RegistryRepo>, QuayApiError> {
    let (ns, name) = ctx.repo_param();
    let granted = ctx.repo_role(ns, name).await?;
    let allowed = granted.is_some_and(|r| r >= role)
        || (allow_superuser
            && ctx.state.settings.config.feature("SUPERUSERS_FULL_ACCESS")
            && ctx.is_superuser());
    if !allowed {
        return Err(ctx.caller.unauthorized());
    }
    let repo = ctx.auth().db().registry_repository(ns, name).await?;
    if let Some(r) = &repo {
        if r.kind == quayside_meta::RepositoryKind::Application {
            return Err(QuayApiError::Message(
                StatusCode::NOT_IMPLEMENTED,
                NOT_IMPLEMENTED.into(),
            ));
        }
        if check_state && !r.state.is_writable() {
            return Err(QuayApiError::Message(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "Repository is in read only or mirror mode: {}",
                    r.state.code()
                ),
            ));
        }
    }
    Ok(repo)
}

/// Whether a manifest media type is a list/index.
pub(crate) fn is_manifest_list(media_type: &str) -> bool {
    media_type == quayside_oci::media_types::DOCKER_MANIFEST_LIST
        || media_type == quayside_oci::media_types::OCI_INDEX
}

fn date_of_secs(secs: i64) -> Value {
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => Value::from(format_date(t.naive_utc())),
        None => Value::Null,
    }
}

/// Quay's `_tag_dict`.
fn tag_view(t: &TagRow, immutable_feature: bool) -> Value {
    let start_ts = t.lifetime_start_ms.div_euclid(1000);
    let end_ts = t
        .lifetime_end_ms
        .filter(|e| *e != 0)
        .map(|e| e.div_euclid(1000));
    let mut o = Map::new();
    o.insert("name".into(), Value::from(t.name.clone()));
    o.insert("reversion".into(), Value::from(t.reversion));
    if start_ts > 0 {
        o.insert("start_ts".into(), Value::from(start_ts));
    }
    if let Some(e) = end_ts.filter(|e| *e > 0) {
        o.insert("end_ts".into(), Value::from(e));
    }
    o.insert(
        "manifest_digest".into(),
        Value::from(t.manifest_digest.clone()),
    );
    o.insert(
        "is_manifest_list".into(),
        Value::from(is_manifest_list(&t.media_type)),
    );
    o.insert(
        "size".into(),
        t.layers_size.map_or(Value::Null, Value::from),
    );
    if immutable_feature {
        o.insert("immutable".into(), Value::from(t.immutable));
    }
    if start_ts > 0 {
        o.insert("last_modified".into(), date_of_secs(start_ts));
    }
    if let Some(e) = end_ts {
        o.insert("expiration".into(), date_of_secs(e));
    }
    Value::Object(o)
}

/// Quay's `truthy_bool`: everything but a few falsy spellings is true.
fn truthy(v: Option<&str>) -> bool {
    match v {
        None => false,
        Some(s) => !matches!(s, "false" | "False" | "0" | "FALSE" | "" | "null"),
    }
}

async fn list_tags(ctx: Ctx) -> ApiResult {
    let repo = guard_repo(&ctx, Role::Read, true, false).await?;
    let specific = ctx.query_str("specificTag").filter(|s| !s.is_empty());
    let filter = ctx.query_str("filter_tag_name").filter(|s| !s.is_empty());
    let limit = ctx.query_int("limit")?.unwrap_or(50).clamp(1, 100);
    let page = ctx.query_int("page")?.unwrap_or(1).max(1);
    let active_only = truthy(ctx.query_str("onlyActiveTags"));
    let repo = repo.ok_or_else(QuayApiError::not_found)?;
    let name_filter = match filter {
        None => None,
        Some(f) => match f.split_once(':') {
            None => return Err(QuayApiError::bad_request(FILTER_SYNTAX)),
            Some(("like", v)) => Some(TagNameFilter::Contains(v.to_owned())),
            Some(("eq", v)) => Some(TagNameFilter::Equals(v.to_owned())),
            Some(_) => None,
        },
    };
    let (rows, more) = ctx
        .auth()
        .db()
        .tag_history(&TagHistoryQuery {
            repository_id: i64::from(repo.id),
            page,
            page_size: limit,
            specific_tag: specific,
            name_filter,
            active_only,
            now_ms: now_ms(),
        })
        .await?;
    let immutable = ctx.state.settings.config.feature("IMMUTABLE_TAGS");
    let tags: Vec<Value> = rows.iter().map(|t| tag_view(t, immutable)).collect();
    Ok(ok(json!({
        "tags": tags,
        "page": page,
        "has_additional": more,
    })))
}

/// `"<v>" is not of type 'a', 'b'` (jsonschema's message for a multi-type property).
fn not_of_types(v: &Value, types: &str) -> QuayApiError {
    QuayApiError::invalid_request(format!("{} is not of type {types}", crate::ctx::py_repr(v)))
}

/// `ChangeTag` schema: `manifest_digest` string|null, `expiration` number|null.
fn validate_change_tag(body: &Body) -> Result<(), QuayApiError> {
    if let Some(v) = body.get("manifest_digest") {
        if !(v.is_string() || v.is_null()) {
            return Err(not_of_types(v, "'string', 'null'"));
        }
    }
    if let Some(v) = body.get("expiration") {
        if !(v.is_number() || v.is_null()) {
            return Err(not_of_types(v, "'number', 'null'"));
        }
    }
    if let Some(v) = body.get("immutable") {
        if !v.is_boolean() {
            return Err(not_of_types(v, "'boolean'"));
        }
    }
    Ok(())
}

/// Sets or clears `tag.immutable` of the alive tag (Quay's `change_tag_immutability`):
/// setting needs write access (already checked), clearing needs repository admin.
async fn change_immutability(
    ctx: &Ctx,
    repo: &RegistryRepo,
    tag: &str,
    immutable: bool,
) -> Result<(), QuayApiError> {
    let (ns, repo_name) = ctx.repo_param();
    if !immutable {
        let admin = ctx.repo_role(ns, repo_name).await? == Some(Role::Admin)
            || (ctx.state.settings.config.feature("SUPERUSERS_FULL_ACCESS") && ctx.is_superuser());
        if !admin {
            return Err(ctx.caller.unauthorized());
        }
    }
    let db = ctx.auth().db();
    let repo_id = i64::from(repo.id);
    let now = now_ms();
    let current = db
        .alive_tag(repo_id, tag, now)
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    let previous = db
        .set_tag_immutable(current.id, immutable, now)
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    if previous != immutable {
        ctx.log(
            "change_tag_immutability",
            i64::from(repo.namespace_id),
            Some(repo_id),
            json!({
                "username": username(ctx),
                "repo": repo_name,
                "tag": tag,
                "namespace": ns,
                "immutable": immutable,
                "old_immutable": previous,
            }),
        )
        .await?;
    }
    Ok(())
}

/// The `quay.expires-after` value that applies to a manifest's tags, in seconds: the
/// manifest's own label, else (for a list) the value all its children share.
pub(crate) async fn expiry_label_seconds(
    ctx: &Ctx,
    manifest_id: i64,
    media_type: &str,
) -> Result<Option<i64>, QuayApiError> {
    let value = ctx
        .auth()
        .db()
        .expiry_label_value(manifest_id, is_manifest_list(media_type))
        .await?;
    Ok(value.and_then(|v| labels::duration_seconds(&v)))
}

/// A refused write to an immutable tag: `409 tag_immutable`.
pub(crate) fn immutable_error(e: MetaError, operation: &str) -> QuayApiError {
    match e {
        MetaError::TagImmutable { tag } => QuayApiError::problem(
            ErrorType::TagImmutable,
            format!("Cannot {operation} immutable tag '{tag}'"),
        ),
        other => other.into(),
    }
}

/// Quay's `retarget_tag` through the registry model: a `quay.expires-after` label gives the
/// new row an end; a schema 1 manifest only fits its own tag name.
async fn retarget(
    ctx: &Ctx,
    repo: &RegistryRepo,
    tag: &str,
    manifest: &quayside_meta::tags::ApiManifestRow,
    is_reversion: bool,
) -> Result<Option<TagRow>, QuayApiError> {
    let schema1 = manifest.media_type == quayside_oci::media_types::DOCKER_SCHEMA1
        || manifest.media_type == quayside_oci::media_types::DOCKER_SCHEMA1_SIGNED;
    if schema1 {
        let named = serde_json::from_str::<Value>(&manifest.bytes)
            .ok()
            .and_then(|v| v.get("tag").and_then(Value::as_str).map(str::to_owned));
        if named.as_deref() != Some(tag) {
            return Ok(None);
        }
    }
    let end_after_ms = expiry_label_seconds(ctx, manifest.id, &manifest.media_type)
        .await?
        .filter(|s| *s != 0)
        .map(|s| s.saturating_mul(1000));
    let now = now_ms();
    let temp = format!("$temp-{}", uuid::Uuid::new_v4().hyphenated());
    ctx.auth()
        .db()
        .retarget_tag(&Retarget {
            repository_id: i64::from(repo.id),
            name: tag,
            manifest_id: manifest.id,
            is_reversion,
            now_ms: now,
            end_after_ms,
            temp_tag: Some((temp, now + LOOKUP_TEMP_TAG_SEC * 1000)),
        })
        .await
        .map_err(|e| immutable_error(e, if is_reversion { "restore" } else { "move" }))
}

/// `LABELED_EXPIRATION_MINIMUM` / `LABELED_EXPIRATION_MAXIMUM` (`1h` / `104w`) in seconds.
fn expiration_bounds(settings: &QuayApiSettings) -> (i64, i64) {
    let read = |key: &str, default: i64| {
        settings
            .config
            .get(key)
            .and_then(Value::as_str)
            .and_then(labels::duration_seconds)
            .unwrap_or(default)
    };
    (
        read("LABELED_EXPIRATION_MINIMUM", 3600),
        read("LABELED_EXPIRATION_MAXIMUM", 104 * 7 * 86_400),
    )
}

async fn change_tag(ctx: Ctx) -> ApiResult {
    let repo = guard_repo(&ctx, Role::Write, true, true).await?;
    let body = ctx.json()?;
    validate_change_tag(&body)?;
    let tag = ctx.param("tag");
    if quayside_oci::Tag::parse(tag).is_err() {
        return Err(QuayApiError::bad_request(
            quayside_oci::name::TAG_ERROR_MESSAGE,
        ));
    }
    let repo = repo.ok_or_else(QuayApiError::not_found)?;
    let (ns, repo_name) = ctx.repo_param();
    let db = ctx.auth().db();
    let repo_id = i64::from(repo.id);
    let namespace_id = i64::from(repo.namespace_id);

    // Clearing immutability comes first and setting it last, so that one request can
    // unlock-and-move or move-and-lock a tag.
    let immutable = body.get("immutable").and_then(Value::as_bool);
    if immutable == Some(false) {
        change_immutability(&ctx, &repo, tag, false).await?;
    }

    if let Some(expiration) = body.get("expiration") {
        let current = db
            .alive_tag(repo_id, tag, now_ms())
            .await?
            .ok_or_else(QuayApiError::not_found)?;
        let expiration_secs: Option<i64> = match expiration {
            Value::Null => None,
            v => {
                let f = v
                    .as_f64()
                    .ok_or_else(|| QuayApiError::bad_request(BAD_REQUEST))?;
                // Python's utcfromtimestamp range: years 1..9999.
                if !f.is_finite() || !(-62_135_596_800.0..253_402_300_800.0).contains(&f) {
                    return Err(QuayApiError::bad_request(BAD_REQUEST));
                }
                // `expiration_date <= datetime.now()` compares at microsecond precision.
                if f * 1000.0 <= now_ms() as f64 {
                    return Err(QuayApiError::bad_request(BAD_REQUEST));
                }
                Some(f.floor() as i64)
            }
        };
        let new_end = match expiration_secs {
            None => None,
            Some(at) => {
                let (min, max) = expiration_bounds(&ctx.state.settings);
                let start_ts = current.lifetime_start_ms.div_euclid(1000);
                let offset = (at - start_ts).max(min).min(max);
                Some(current.lifetime_start_ms + offset * 1000)
            }
        };
        let (changed, old_end) = if new_end == current.lifetime_end_ms {
            (true, None)
        } else {
            let done = db
                .set_tag_end(current.id, current.lifetime_end_ms, new_end)
                .await?;
            (done, current.lifetime_end_ms)
        };
        if !changed {
            return Err(QuayApiError::invalid_request(
                "Could not update tag expiration; Tag has probably changed",
            ));
        }
        if !(old_end.is_none() && expiration_secs.is_none()) {
            ctx.log(
                "change_tag_expiration",
                namespace_id,
                Some(repo_id),
                json!({
                    "username": username(&ctx),
                    "repo": repo_name,
                    "tag": tag,
                    "namespace": ns,
                    "expiration_date": expiration_secs,
                    "old_expiration_date": old_end,
                }),
            )
            .await?;
        }
    }

    if let Some(digest) = body.get("manifest_digest") {
        let now = now_ms();
        let existing = db.alive_tag(repo_id, tag, now).await?;
        let digest = digest.as_str();
        let manifest = match digest {
            Some(d) => db.api_manifest(repo_id, d, false, now).await?,
            None => None,
        }
        .ok_or_else(QuayApiError::not_found)?;
        if retarget(&ctx, &repo, tag, &manifest, false)
            .await?
            .is_none()
        {
            return Err(QuayApiError::invalid_request("Could not move tag"));
        }
        let kind = if existing.is_some() {
            "move_tag"
        } else {
            "create_tag"
        };
        ctx.log(
            kind,
            namespace_id,
            Some(repo_id),
            json!({
                "username": username(&ctx),
                "repo": repo_name,
                "tag": tag,
                "namespace": ns,
                "manifest_digest": digest,
                "original_manifest_digest": existing.map(|t| t.manifest_digest),
            }),
        )
        .await?;
    }
    if immutable == Some(true) {
        change_immutability(&ctx, &repo, tag, true).await?;
    }
    Ok(with_status(StatusCode::CREATED, Value::from("Updated")))
}

async fn delete_tag(ctx: Ctx) -> ApiResult {
    let repo = guard_repo(&ctx, Role::Write, true, true)
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    let tag = ctx.param("tag");
    let repo_id = i64::from(repo.id);
    ctx.auth()
        .db()
        .delete_alive_tag(repo_id, tag, now_ms())
        .await
        .map_err(|e| immutable_error(e, "delete"))?
        .ok_or_else(QuayApiError::not_found)?;
    let (ns, repo_name) = ctx.repo_param();
    ctx.log(
        "delete_tag",
        i64::from(repo.namespace_id),
        Some(repo_id),
        json!({
            "username": username(&ctx),
            "repo": repo_name,
            "namespace": ns,
            "tag": tag,
        }),
    )
    .await?;
    Ok(crate::ctx::no_content())
}

/// The namespace's time-machine window (`removed_tag_expiration_s`) in milliseconds.
async fn window_ms(ctx: &Ctx, repo: &RegistryRepo) -> Result<i64, QuayApiError> {
    let secs = ctx
        .auth()
        .db()
        .namespace_tag_expiration_s(i64::from(repo.namespace_id))
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    Ok(secs.saturating_mul(1000))
}

async fn restore_tag(ctx: Ctx) -> ApiResult {
    let repo = guard_repo(&ctx, Role::Write, true, true).await?;
    let body = ctx.json()?;
    if let Some(v) = body.get("manifest_digest") {
        if !v.is_string() {
            return Err(not_of_types(v, "'string'"));
        }
    }
    let repo = repo.ok_or_else(QuayApiError::not_found)?;
    let digest = body
        .opt_str("manifest_digest")?
        .ok_or_else(|| QuayApiError::invalid_request("Missing manifest_digest"))?;
    let tag = ctx.param("tag");
    let db = ctx.auth().db();
    let repo_id = i64::from(repo.id);
    let now = now_ms();
    let manifest = match db.api_manifest(repo_id, digest, true, now).await? {
        Some(m)
            if db
                .manifest_in_time_machine(m.id, now, window_ms(&ctx, &repo).await?)
                .await? =>
        {
            m
        }
        _ => return Err(QuayApiError::not_found()),
    };
    if retarget(&ctx, &repo, tag, &manifest, true).await?.is_none() {
        return Err(QuayApiError::invalid_request("Could not restore tag"));
    }
    let (_, repo_name) = ctx.repo_param();
    ctx.log(
        "revert_tag",
        i64::from(repo.namespace_id),
        Some(repo_id),
        json!({
            "username": username(&ctx),
            "repo": repo_name,
            "tag": tag,
            "manifest_digest": digest,
        }),
    )
    .await?;
    Ok(ok(json!({})))
}

async fn expire_tag(ctx: Ctx) -> ApiResult {
    let repo = guard_repo(&ctx, Role::Write, true, false).await?;
    let body = ctx.json()?;
    if let Some(v) = body.get("manifest_digest") {
        if !v.is_string() {
            return Err(not_of_types(v, "'string'"));
        }
    }
    for key in ["include_submanifests", "is_alive"] {
        if let Some(v) = body.get(key) {
            if !v.is_boolean() {
                return Err(not_of_types(v, "'boolean'"));
            }
        }
    }
    let repo = repo.ok_or_else(QuayApiError::not_found)?;
    let alive = body.opt_bool("is_alive")?.unwrap_or(false);
    let digest = body.opt_str("manifest_digest")?;
    if !alive && digest.is_none() {
        return Err(QuayApiError::invalid_request(
            "manifest_digest required when is_alive set to false",
        ));
    }
    let tag = ctx.param("tag");
    let db = ctx.auth().db();
    let repo_id = i64::from(repo.id);
    let now = now_ms();
    let (manifest_id, manifest_digest) = if alive {
        let t = db
            .alive_tag(repo_id, tag, now)
            .await?
            .ok_or_else(QuayApiError::not_found)?;
        (t.manifest_id, t.manifest_digest)
    } else {
        let m = db
            .api_manifest(repo_id, digest.unwrap_or_default(), true, now)
            .await?
            .ok_or_else(QuayApiError::not_found)?;
        (m.id, m.digest)
    };
    let include_submanifests = body.opt_bool("include_submanifests")?.unwrap_or(false);
    let window = window_ms(&ctx, &repo).await?;
    let updated = db
        .remove_tag_from_time_machine(&TimeMachineRemoval {
            repository_id: repo_id,
            name: tag,
            manifest_id,
            include_submanifests,
            is_alive: alive,
            now_ms: now,
            window_ms: window,
        })
        .await
        .map_err(|e| immutable_error(e, "expire"))?;
    if !updated {
        return Err(QuayApiError::not_found());
    }
    let (ns, repo_name) = ctx.repo_param();
    ctx.log(
        "permanently_delete_tag",
        i64::from(repo.namespace_id),
        Some(repo_id),
        json!({
            "username": username(&ctx),
            "repo": repo_name,
            "namespace": ns,
            "tag": tag,
            "manifest_digest": manifest_digest,
        }),
    )
    .await?;
    Ok(ok(Value::from("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_like_quay() {
        assert!(truthy(Some("true")));
        assert!(truthy(Some("yes")));
        assert!(!truthy(Some("false")));
        assert!(!truthy(Some("0")));
        assert!(!truthy(None));
    }
}
