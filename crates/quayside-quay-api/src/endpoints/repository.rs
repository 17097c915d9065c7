//! Repositories (Quay `endpoints/api/repository.py`, `repository_models_pre_oci.py`,
//! `quay-api.md` §2.8): create, list, get, update the description, delete (marked for
//! deletion, purged by the `repositorygc` worker), visibility, and — behind their feature
//! flags — state (`FEATURE_REPO_MIRROR`) and trust (`FEATURE_SIGNING`).
//!
//! Differences from Quay, on purpose or not yet done:
//! * `next_page` tokens of `GET /api/v1/repository` are opaque base64url JSON
//!   (`{"start_id": n}`), not Quay's encrypted tokens; an unreadable token means the
//!   first page, as in Quay. Quay's tokens are not accepted and vice versa.
//! * Application (`appr`) repositories are shown with empty `channels` and `releases`.
//! * `changetrust` does not delete TUF metadata (quayside has no TUF server).
//! * Setting permissions on a repository that does not exist answers 404 where Quay
//!   fails with a 500.
//! * `FEATURE_BILLING` private-repository limits (402) are not checked.

use axum::http::StatusCode;
use base64::Engine;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use quayside_auth::Role;
use quayside_domain::{DomainError, RepositorySpec};
use quayside_meta::repos::{RepoDetails, RepoListRow, VisibleRepoFilter};
use quayside_meta::{RepositoryKind, RepositoryState, Visibility};
use serde_json::{json, Map, Value};

use crate::ctx::{no_content, ok, one_of, py_repr, with_status, Body, Ctx};
use crate::routes::{delete, get, h, post, put, ApiResult, Operation, QueryParam};
use crate::views::format_date;
use crate::{QuayApiError, QuayApiSettings};

/// Repositories per page of `GET /api/v1/repository` (`REPOS_PER_PAGE`).
pub(crate) const REPOS_PER_PAGE: i64 = 100;
/// Most tags shown by `GET /api/v1/repository/<repo>`.
const MAX_TAGS: i64 = 500;
/// `MAX_DAYS_IN_3_MONTHS`.
const MAX_DAYS_IN_3_MONTHS: i64 = 92;
const REPOSITORY_GC_QUEUE: &str = "repositorygc";
const LIST_REQUIRED: &str = "namespace, starred or public are required for this API call";
/// Werkzeug's `BadRequest` description (Flask-RESTful `abort(400)`).
const BAD_REQUEST_TEXT: &str =
    "The browser (or proxy) sent a request that this server could not understand.";

fn state_name(state: RepositoryState) -> Value {
    Value::from(state.name())
}

const LIST_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "namespace",
        kind: "string",
        description: "Filters the repositories returned to this namespace",
    },
    QueryParam {
        name: "starred",
        kind: "boolean",
        description: "Filters the repositories returned to those starred by the user",
    },
    QueryParam {
        name: "public",
        kind: "boolean",
        description: "Adds any repositories visible to the user by virtue of being public",
    },
    QueryParam {
        name: "last_modified",
        kind: "boolean",
        description: "Whether to include when the repository was last modified.",
    },
    QueryParam {
        name: "popularity",
        kind: "boolean",
        description: "Whether to include the repository's popularity metric.",
    },
    QueryParam {
        name: "repo_kind",
        kind: "string",
        description: "The kind of repositories to return",
    },
    QueryParam {
        name: "next_page",
        kind: "string",
        description: "The page token for the next page",
    },
];

const GET_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "includeStats",
        kind: "boolean",
        description: "Whether to include action statistics",
    },
    QueryParam {
        name: "includeTags",
        kind: "boolean",
        description: "Whether to include repository tags",
    },
];

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let mut ops = vec![
        post("/api/v1/repository", "createRepo", h!(create_repo))
            .tag("repository")
            .summary("Create a new repository.")
            .scope("repo:create"),
        get("/api/v1/repository", "listRepos", h!(list_repos))
            .tag("repository")
            .summary("Fetch the list of repositories visible to the current user under a variety of situations.")
            .scope("repo:read")
            .query(LIST_PARAMS),
        get(
            "/api/v1/repository/{repository:repo}",
            "getRepo",
            h!(get_repo),
        )
        .tag("repository")
        .summary("Fetch the specified repository.")
        .scope("repo:read")
        .query(GET_PARAMS),
        put(
            "/api/v1/repository/{repository:repo}",
            "updateRepo",
            h!(update_repo),
        )
        .tag("repository")
        .summary("Update the description in the specified repository.")
        .scope("repo:write"),
        delete(
            "/api/v1/repository/{repository:repo}",
            "deleteRepository",
            h!(delete_repo),
        )
        .tag("repository")
        .summary("Delete a repository.")
        .scope("repo:admin"),
        post(
            "/api/v1/repository/{repository:repo}/changevisibility",
            "changeRepoVisibility",
            h!(change_visibility),
        )
        .tag("repository")
        .summary("Change the visibility of a repository.")
        .scope("repo:admin"),
    ];
    if settings.config.feature("SIGNING") {
        ops.push(
            post(
                "/api/v1/repository/{repository:repo}/changetrust",
                "changeRepoTrust",
                h!(change_trust),
            )
            .tag("repository")
            .summary("Change the visibility of a repository.")
            .scope("repo:admin"),
        );
    }
    if settings.config.feature("REPO_MIRROR") {
        ops.push(
            put(
                "/api/v1/repository/{repository:repo}/changestate",
                "changeRepoState",
                h!(change_state),
            )
            .tag("repository")
            .summary("Change the state of a repository.")
            .scope("repo:admin"),
        );
    }
    ops
}

/// Quay's `truthy_bool` query parsing: anything but `false/False/FALSE/0/null/""` is true.
pub(crate) fn truthy_query(ctx: &Ctx, name: &str, default: bool) -> bool {
    match ctx.query_str(name) {
        None => default,
        Some(v) => !matches!(v, "false" | "False" | "FALSE" | "0" | "" | "null"),
    }
}

/// Quay's `require_repo_*` decorators: the caller's effective role on the repository
/// (public read included) must reach `role`; `allow_superuser` lets full-access
/// superusers through.
pub(crate) async fn require_repo(
    ctx: &Ctx,
    role: Role,
    allow_superuser: bool,
) -> Result<(), QuayApiError> {
    let (ns, name) = ctx.repo_param();
    let granted = ctx.repo_role(ns, name).await?;
    if granted >= Some(role)
        || (allow_superuser && ctx.auth().is_full_access_superuser(ctx.identity()))
    {
        Ok(())
    } else {
        Err(ctx.caller.unauthorized())
    }
}

/// The live repository of the path, or `404`.
pub(crate) async fn repo_or_404(ctx: &Ctx) -> Result<RepoDetails, QuayApiError> {
    let (ns, name) = ctx.repo_param();
    ctx.auth()
        .db()
        .repository_details(ns, name)
        .await?
        .ok_or_else(QuayApiError::not_found)
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Quay's `format_date(datetime.fromtimestamp(seconds))` on a UTC host.
fn date_from_seconds(seconds: i64) -> Value {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map_or(Value::Null, |d| Value::from(format_date(d.naive_utc())))
}

// ---- create ------------------------------------------------------------------------------

fn req_string<'a>(body: &'a Body, key: &str) -> Result<&'a str, QuayApiError> {
    body.req_str(key)
}

async fn create_repo(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    for key in ["repository", "visibility", "description"] {
        if !body.has(key) {
            return Err(QuayApiError::invalid_request(format!(
                "'{key}' is a required property"
            )));
        }
    }
    let repository = req_string(&body, "repository")?.to_owned();
    let visibility = body
        .req_enum("visibility", &["public", "private"])?
        .to_owned();
    let description = req_string(&body, "description")?.to_owned();
    let namespace_req = body.opt_str("namespace")?.map(str::to_owned);
    if body.has("namespace") && namespace_req.is_none() {
        return Err(QuayApiError::invalid_request(
            "None is not of type 'string'",
        ));
    }
    let kind = match body.get("repo_kind") {
        None | Some(Value::Null) => RepositoryKind::Image,
        Some(Value::String(s)) => match RepositoryKind::from_name(s) {
            Some(k) => k,
            None => {
                return Err(QuayApiError::invalid_request(format!(
                    "'{s}' is not one of ['image', 'application', None]"
                )))
            }
        },
        Some(other) => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'string', 'null'",
                py_repr(other)
            )))
        }
    };
    // Quay tests `"namespace" not in "req"` (a string), so anonymous callers always
    // get this answer.
    let Some((_, username)) = ctx.caller.user() else {
        return Err(QuayApiError::invalid_request(
            "Must provide a namespace or must be logged in.",
        ));
    };
    let namespace = namespace_req.unwrap_or_else(|| username.to_owned());
    let Some(ns) = ctx.namespace(&namespace).await? else {
        return Err(ctx.caller.unauthorized());
    };
    if !ctx.auth().can_create_repo_in(ctx.identity(), &ns).await? {
        return Err(ctx.caller.unauthorized());
    }
    let db = ctx.auth().db();
    if db
        .repository_details(&namespace, &repository)
        .await?
        .is_some()
    {
        return Err(QuayApiError::invalid_request("Repository already exists"));
    }
    let repo_id = match ctx
        .auth()
        .namespaces()
        .create_repository(
            &namespace,
            &repository,
            &RepositorySpec {
                public: visibility == "public",
                kind,
                description: Some(&description),
            },
            ctx.identity().account_id(),
        )
        .await
    {
        Ok(id) => id,
        Err(DomainError::RepositoryExists(_) | DomainError::NamespaceUnknown(_)) => {
            return Err(QuayApiError::invalid_request("Repository already exists"))
        }
        Err(DomainError::NameInvalid(_)) => {
            return Err(QuayApiError::invalid_request("Invalid repository name"))
        }
        Err(e) => return Err(e.into()),
    };
    ctx.log(
        "create_repo",
        ns.id,
        Some(repo_id),
        json!({"repo": repository, "namespace": namespace}),
    )
    .await?;
    Ok(with_status(
        StatusCode::CREATED,
        json!({"namespace": namespace, "name": repository, "kind": kind}),
    ))
}

// ---- list --------------------------------------------------------------------------------

pub(crate) fn encode_page_token(start_id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({ "start_id": start_id }).to_string())
}

pub(crate) fn decode_page_token(token: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("start_id")?.as_i64()
}

async fn list_repos(ctx: Ctx) -> ApiResult {
    let namespace = ctx
        .query_str("namespace")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let starred = truthy_query(&ctx, "starred", false);
    let public = truthy_query(&ctx, "public", false);
    let last_modified = truthy_query(&ctx, "last_modified", false);
    let popularity = truthy_query(&ctx, "popularity", false);
    let kind = ctx.query_str("repo_kind").unwrap_or("image").to_owned();
    if namespace.is_none() && !starred && !public {
        return Err(QuayApiError::invalid_request(LIST_REQUIRED));
    }
    let user = ctx.caller.user().map(|(id, name)| (id, name.to_owned()));
    if starred && user.is_none() {
        return Err(QuayApiError::bad_request(BAD_REQUEST_TEXT));
    }
    let db = ctx.auth().db();
    let Some(kind) = RepositoryKind::from_name(&kind) else {
        let msg = if starred {
            "Unknown kind of repository"
        } else {
            "Unknown repository kind"
        };
        return Err(QuayApiError::bad_request(msg));
    };
    let mut next_page = None;
    let repos: Vec<RepoListRow> = match (&user, starred) {
        (Some((uid, _)), true) => {
            let mut visible = Vec::new();
            for r in db.starred_repositories(*uid, kind).await? {
                let readable = r.visibility.is_public()
                    || ctx.repo_role(&r.namespace, &r.name).await? >= Some(Role::Read);
                if readable {
                    visible.push(r);
                }
            }
            visible
        }
        _ => {
            let auth = ctx.auth();
            let all = auth.is_full_access_superuser(ctx.identity())
                || auth.is_global_readonly_superuser(ctx.identity());
            let start_id = ctx.query_str("next_page").and_then(decode_page_token);
            let mut rows = db
                .visible_repositories(&VisibleRepoFilter {
                    account_id: user.as_ref().map(|(id, _)| *id),
                    all,
                    include_public: public,
                    namespace: namespace.clone(),
                    kind,
                    start_id,
                    limit: REPOS_PER_PAGE + 1,
                })
                .await?;
            if rows.len() as i64 > REPOS_PER_PAGE {
                if let Some(extra) = rows.get(REPOS_PER_PAGE as usize) {
                    next_page = Some(encode_page_token(extra.id));
                }
                rows.truncate(REPOS_PER_PAGE as usize);
            }
            rows
        }
    };
    let ids: Vec<i64> = repos.iter().map(|r| r.id).collect();
    let last_map: std::collections::HashMap<i64, i64> = if last_modified {
        db.latest_tag_starts(&ids, now_ms())
            .await?
            .into_iter()
            .map(|(id, ms)| (id, ms.div_euclid(1000)))
            .collect()
    } else {
        Default::default()
    };
    let pop_map: std::collections::HashMap<i64, i64> = if popularity {
        let since = (Utc::now() - Duration::weeks(1)).date_naive();
        db.repository_action_sums(&ids, since)
            .await?
            .into_iter()
            .collect()
    } else {
        Default::default()
    };
    let star_set: std::collections::HashSet<i64> = match &user {
        Some((uid, _)) => db
            .starred_repositories(*uid, kind)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
        None => Default::default(),
    };
    let out: Vec<Value> = repos
        .iter()
        .map(|r| {
            let mut v = json!({
                "namespace": r.namespace,
                "name": r.name,
                "description": r.description,
                "is_public": r.visibility.is_public(),
                "kind": kind,
                "state": state_name(r.state),
                "quota": Value::Null,
            });
            if last_modified {
                v["last_modified"] = last_map.get(&r.id).map_or(Value::Null, |s| json!(s));
            }
            if popularity {
                v["popularity"] = json!(pop_map.get(&r.id).copied().unwrap_or(0) as f64);
            }
            if user.is_some() {
                v["is_starred"] = Value::from(star_set.contains(&r.id));
            }
            v
        })
        .collect();
    let mut result = json!({ "repositories": out });
    if let Some(token) = next_page {
        result["next_page"] = Value::from(token);
    }
    Ok(ok(result))
}

// ---- get / update / delete ----------------------------------------------------------------

async fn get_repo(ctx: Ctx) -> ApiResult {
    let include_stats = truthy_query(&ctx, "includeStats", false);
    let include_tags = truthy_query(&ctx, "includeTags", true);
    require_repo(&ctx, Role::Read, true).await?;
    let repo = repo_or_404(&ctx).await?;
    let db = ctx.auth().db();
    let is_starred = match ctx.caller.user() {
        Some((uid, _)) => db.is_repository_starred(uid, repo.id).await?,
        None => false,
    };
    let is_public = repo.visibility.is_public();
    let role = ctx.repo_role(&repo.namespace, &repo.name).await?;
    let full_access = ctx.auth().is_full_access_superuser(ctx.identity());
    let can_write = (role >= Some(Role::Write) || full_access) && repo.state.is_writable();
    let can_admin = role == Some(Role::Admin) || full_access;
    let mut data = if repo.kind == RepositoryKind::Application {
        json!({
            "namespace": repo.namespace,
            "name": repo.name,
            "kind": repo.kind,
            "description": repo.description,
            "is_public": is_public,
            "is_organization": repo.namespace_is_org,
            "is_starred": is_starred,
            "channels": [],
            "releases": [],
            "state": state_name(repo.state),
            "is_free_account": repo.namespace_free,
        })
    } else {
        let signing = ctx.state.settings.config.feature("SIGNING");
        let mut d = json!({
            "namespace": repo.namespace,
            "name": repo.name,
            "kind": repo.kind,
            "description": repo.description,
            "is_public": is_public,
            "is_organization": repo.namespace_is_org,
            "is_starred": is_starred,
            "status_token": if is_public { "" } else { repo.badge_token.as_str() },
            "trust_enabled": signing && repo.trust_enabled,
            "tag_expiration_s": repo.namespace_tag_expiration_s,
            "is_free_account": repo.namespace_free,
            "state": state_name(repo.state),
        });
        if include_tags {
            let mut tags = Map::new();
            for t in db.active_tags(repo.id, now_ms(), MAX_TAGS).await? {
                let mut tag = json!({"name": t.name, "size": t.size});
                let start = t.lifetime_start_ms.div_euclid(1000);
                if start > 0 {
                    tag["last_modified"] = date_from_seconds(start);
                }
                if let Some(end) = t.lifetime_end_ms.map(|e| e.div_euclid(1000)) {
                    if end != 0 {
                        tag["expiration"] = date_from_seconds(end);
                    }
                }
                tag["manifest_digest"] = Value::from(t.manifest_digest);
                tags.insert(t.name.clone(), tag);
            }
            d["tags"] = Value::Object(tags);
        }
        d
    };
    data["can_write"] = Value::from(can_write);
    data["can_admin"] = Value::from(can_admin);
    if include_stats && repo.kind != RepositoryKind::Application {
        data["stats"] = Value::Array(stats(&ctx, repo.id).await?);
    }
    if crate::endpoints::quota::quota_in_views(&ctx) {
        data["quota_report"] =
            crate::endpoints::quota::repo_quota_report(&ctx, repo.namespace_id, repo.id).await?;
    }
    Ok(ok(data))
}

/// Daily action counts of the last three months, missing days filled with zeros.
async fn stats(ctx: &Ctx, repo_id: i64) -> Result<Vec<Value>, QuayApiError> {
    let now = Utc::now().naive_utc();
    let since = (now - Duration::days(MAX_DAYS_IN_3_MONTHS)).date();
    let counts = ctx
        .auth()
        .db()
        .repository_action_counts(repo_id, since)
        .await?;
    let key = |d: NaiveDate| format!("{}/{}", d.month(), d.day());
    let found: std::collections::HashSet<String> = counts.iter().map(|(d, _)| key(*d)).collect();
    let mut out: Vec<Value> = counts
        .iter()
        .map(|(d, c)| json!({"date": d.format("%Y-%m-%d").to_string(), "count": c}))
        .collect();
    for day in 1..MAX_DAYS_IN_3_MONTHS {
        let d = (now - Duration::days(day)).date();
        if !found.contains(&key(d)) {
            out.push(json!({"date": d.format("%Y-%m-%d").to_string(), "count": 0}));
        }
    }
    Ok(out)
}

async fn update_repo(ctx: Ctx) -> ApiResult {
    require_repo(&ctx, Role::Write, true).await?;
    let body = ctx.json()?;
    let description = body.req_str("description")?.to_owned();
    let repo = repo_or_404(&ctx).await?;
    ctx.auth()
        .db()
        .set_repository_description(repo.id, &description)
        .await?;
    ctx.log(
        "set_repo_description",
        repo.namespace_id,
        Some(repo.id),
        json!({"repo": repo.name, "namespace": repo.namespace, "description": description}),
    )
    .await?;
    Ok(ok(json!({"success": true})))
}

async fn delete_repo(ctx: Ctx) -> ApiResult {
    require_repo(&ctx, Role::Admin, true).await?;
    let (ns, name) = ctx.repo_param();
    let (ns, name) = (ns.to_owned(), name.to_owned());
    let db = ctx.auth().db();
    if let Some(repo) = db.repository_details(&ns, &name).await? {
        db.mark_repository_for_deletion(repo.id, REPOSITORY_GC_QUEUE)
            .await?;
    }
    let Some(namespace) = ctx.namespace(&ns).await? else {
        return Err(QuayApiError::not_found());
    };
    ctx.log(
        "delete_repo",
        namespace.id,
        None,
        json!({"repo": name, "namespace": ns}),
    )
    .await?;
    Ok(no_content())
}

async fn change_visibility(ctx: Ctx) -> ApiResult {
    require_repo(&ctx, Role::Admin, true).await?;
    let body = ctx.json()?;
    let visibility = body.req_enum("visibility", &["public", "private"])?;
    let visibility = Visibility::public_if(visibility == "public");
    let (ns, name) = ctx.repo_param();
    let Some(repo) = ctx.auth().db().repository_details(ns, name).await? else {
        // Quay's handler falls through and returns nothing: `200 null`.
        return Ok(ok(Value::Null));
    };
    ctx.auth()
        .db()
        .set_repository_visibility(repo.id, visibility)
        .await?;
    ctx.log(
        "change_repo_visibility",
        repo.namespace_id,
        Some(repo.id),
        json!({"repo": repo.name, "namespace": repo.namespace, "visibility": visibility}),
    )
    .await?;
    Ok(ok(json!({"success": true})))
}

async fn change_trust(ctx: Ctx) -> ApiResult {
    require_repo(&ctx, Role::Admin, true).await?;
    let body = ctx.json()?;
    let trust = match body.get("trust_enabled") {
        None => {
            return Err(QuayApiError::invalid_request(
                "'trust_enabled' is a required property",
            ))
        }
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'boolean'",
                py_repr(other)
            )))
        }
    };
    let repo = repo_or_404(&ctx).await?;
    ctx.auth().db().set_repository_trust(repo.id, trust).await?;
    ctx.log(
        "change_repo_trust",
        repo.namespace_id,
        Some(repo.id),
        json!({"repo": repo.name, "namespace": repo.namespace, "trust_enabled": trust}),
    )
    .await?;
    Ok(ok(json!({"success": true})))
}

async fn change_state(ctx: Ctx) -> ApiResult {
    require_repo(&ctx, Role::Admin, true).await?;
    let body = ctx.json()?;
    let state_name_req = body.req_str("state")?.to_owned();
    one_of(&state_name_req, &["NORMAL", "READ_ONLY", "MIRROR"])?;
    let repo = repo_or_404(&ctx).await?;
    let Some(state) = RepositoryState::from_name(&state_name_req) else {
        return Err(QuayApiError::Body(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{state_name_req} is not a valid Repository state.")}),
        ));
    };
    ctx.auth().db().set_repository_state(repo.id, state).await?;
    ctx.log(
        "change_repo_state",
        repo.namespace_id,
        Some(repo.id),
        json!({"repo": repo.name, "namespace": repo.namespace, "state_changed": state_name_req}),
    )
    .await?;
    Ok(ok(json!({"success": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        assert_eq!(decode_page_token(&encode_page_token(42)), Some(42));
        assert_eq!(decode_page_token("not a token"), None);
    }

    #[test]
    fn state_names() {
        assert_eq!(state_name(RepositoryState::Normal), "NORMAL");
        assert_eq!(state_name(RepositoryState::OrgMirror), "ORG_MIRROR");
    }
}
