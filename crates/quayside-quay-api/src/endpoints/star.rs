//! Starred repositories of the signed-in user (Quay `endpoints/api/user.py`:
//! `StarredRepositoryList`, `StarredRepository`).
//!
//! As in Quay: every operation needs the caller's own account (`require_user_admin`);
//! starring takes `{"namespace", "repository"}`, answers `201` with them and is idempotent;
//! unstarring answers `204`; the list is `{"repositories": [{namespace, name, description,
//! is_public}]}` in repository order, 100 a page, with a `next_page` token. For a repository
//! that does not exist Quay's handlers return nothing (`200 null`); so do these.
//!
//! Differences from Quay, on purpose: the list leaves out starred repositories the user can
//! no longer read (Quay lists them with their description), and starring needs read access
//! to the repository (Quay stars any repository by name, telling apart existing private
//! ones); `next_page` tokens are this crate's opaque tokens (`repository.rs`).

use axum::http::StatusCode;
use quayside_auth::Role;
use quayside_meta::RepositoryKind;
use serde_json::{json, Value};

use crate::ctx::{no_content, ok, with_status, Ctx};
use crate::endpoints::repository::{decode_page_token, encode_page_token, REPOS_PER_PAGE};
use crate::endpoints::user::{require_user_admin, required_str};
use crate::routes::{delete, get, h, post, ApiResult, Operation, QueryParam};
use crate::QuayApiSettings;

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        get("/api/v1/user/starred", "listStarredRepos", h!(list_stars))
            .tag("user")
            .summary("List all starred repositories.")
            .query(&[QueryParam {
                name: "next_page",
                kind: "string",
                description: "The page token for the next page",
            }]),
        post("/api/v1/user/starred", "createStar", h!(create_star))
            .tag("user")
            .summary("Star a repository.")
            .scope("repo:read"),
        delete(
            "/api/v1/user/starred/{repository:repo}",
            "deleteStar",
            h!(delete_star),
        )
        .tag("user")
        .summary("Removes a star from a repository."),
    ]
}

async fn readable(
    ctx: &Ctx,
    namespace: &str,
    name: &str,
    public: bool,
) -> Result<bool, crate::QuayApiError> {
    Ok(public || ctx.repo_role(namespace, name).await? >= Some(Role::Read))
}

async fn list_stars(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let db = ctx.auth().db();
    let start = ctx.query_str("next_page").and_then(decode_page_token);
    let mut repos = db
        .starred_repositories(user_id, RepositoryKind::Image)
        .await?;
    repos.sort_by_key(|r| r.id);
    let mut page = Vec::new();
    let mut next = None;
    for r in repos
        .into_iter()
        .filter(|r| start.is_none_or(|s| r.id >= s))
    {
        if !readable(&ctx, &r.namespace, &r.name, r.visibility.is_public()).await? {
            continue;
        }
        if page.len() as i64 == REPOS_PER_PAGE {
            next = Some(encode_page_token(r.id));
            break;
        }
        page.push(json!({
            "namespace": r.namespace,
            "name": r.name,
            "description": r.description,
            "is_public": r.visibility.is_public(),
        }));
    }
    let mut body = json!({ "repositories": page });
    if let Some(token) = next {
        body["next_page"] = Value::from(token);
    }
    Ok(ok(body))
}

async fn create_star(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let body = ctx.json()?;
    let namespace = required_str(&body, "namespace")?.to_owned();
    let repository = required_str(&body, "repository")?.to_owned();
    let db = ctx.auth().db();
    let Some(repo) = db.repository_details(&namespace, &repository).await? else {
        return Ok(ok(Value::Null));
    };
    if !readable(&ctx, &namespace, &repository, repo.visibility.is_public()).await? {
        return Ok(ok(Value::Null));
    }
    db.star_repository(user_id, repo.id, chrono::Utc::now().naive_utc())
        .await?;
    Ok(with_status(
        StatusCode::CREATED,
        json!({ "namespace": namespace, "repository": repository }),
    ))
}

async fn delete_star(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let (namespace, name) = ctx.repo_param();
    let db = ctx.auth().db();
    let Some(repo) = db.repository_details(namespace, name).await? else {
        return Ok(ok(Value::Null));
    };
    db.unstar_repository(user_id, repo.id).await?;
    Ok(no_content())
}
