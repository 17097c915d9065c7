//! Repository permissions of users (robots included) and teams (Quay
//! `endpoints/api/permission.py`, `permission_models_pre_oci.py`,
//! `data/model/permission.py`, `quay-api.md` §2.9). Every operation needs repository
//! admin (`repo:admin`); superusers are not let through.
//!
//! As in Quay: reading a permission that does not exist is a data-model error
//! (`400 {"message"}`), while refusals when changing or deleting are request errors
//! (`400 invalid_request`); the namespace's own user "must always be admin"; a robot can
//! only be granted in its own namespace; Quay has no "last admin" rule for repositories.
//! A single team permission reads as `{"role"}` only.

use quayside_auth::Role;
use quayside_meta::repos::{RepoDetails, UserPermissionRow};
use serde_json::{json, Map, Value};

use crate::ctx::{no_content, ok, Ctx};
use crate::endpoints::repository::require_repo;
use crate::routes::{delete, get, h, put, ApiResult, Operation};
use crate::views::{avatar, team_avatar};
use crate::{QuayApiError, QuayApiSettings};

const OWNER_ADMIN: &str = "Namespace owner must always be admin.";
const USER_NO_PERMISSION: &str = "User does not have permission for repo.";
const TEAM_NO_PERMISSION: &str = "Team does not have permission for repo.";
const ROLES: [&str; 3] = ["read", "write", "admin"];

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    const USER: &str = "/api/v1/repository/{repository:repo}/permissions/user/{username}";
    const TEAM: &str = "/api/v1/repository/{repository:repo}/permissions/team/{teamname}";
    vec![
        get(
            "/api/v1/repository/{repository:repo}/permissions/team/",
            "listRepoTeamPermissions",
            h!(list_team_permissions),
        )
        .tag("permission")
        .summary("List all team permission.")
        .scope("repo:admin"),
        get(
            "/api/v1/repository/{repository:repo}/permissions/user/",
            "listRepoUserPermissions",
            h!(list_user_permissions),
        )
        .tag("permission")
        .summary("List all user permissions.")
        .scope("repo:admin"),
        get(
            "/api/v1/repository/{repository:repo}/permissions/user/{username}/transitive",
            "getUserTransitivePermission",
            h!(user_transitive_permission),
        )
        .tag("permission")
        .summary("Get the fetch the permission for the specified user.")
        .scope("repo:admin"),
        get(USER, "getUserPermissions", h!(get_user_permission))
            .tag("permission")
            .summary("Get the permission for the specified user.")
            .scope("repo:admin"),
        put(USER, "changeUserPermissions", h!(change_user_permission))
            .tag("permission")
            .summary("Update the perimssions for an existing repository.")
            .scope("repo:admin"),
        delete(USER, "deleteUserPermissions", h!(delete_user_permission))
            .tag("permission")
            .summary("Delete the permission for the user.")
            .scope("repo:admin"),
        get(TEAM, "getTeamPermissions", h!(get_team_permission))
            .tag("permission")
            .summary("Fetch the permission for the specified team.")
            .scope("repo:admin"),
        put(TEAM, "changeTeamPermissions", h!(change_team_permission))
            .tag("permission")
            .summary("Update the existing team permission.")
            .scope("repo:admin"),
        delete(TEAM, "deleteTeamPermissions", h!(delete_team_permission))
            .tag("permission")
            .summary("Delete the permission for the specified team.")
            .scope("repo:admin"),
    ]
}

async fn admin_repo(ctx: &Ctx) -> Result<Option<RepoDetails>, QuayApiError> {
    require_repo(ctx, Role::Admin, false).await?;
    let (ns, name) = ctx.repo_param();
    Ok(ctx.auth().db().repository_details(ns, name).await?)
}

/// The organization a repository's namespace is, if it is one.
async fn org_id_of(ctx: &Ctx, namespace: &str) -> Result<Option<i64>, QuayApiError> {
    Ok(ctx
        .namespace(namespace)
        .await?
        .filter(|n| n.organization)
        .map(|n| n.id))
}

/// `UserPermission.to_dict`.
fn user_permission_view(p: &UserPermissionRow, org_member: Option<bool>) -> Value {
    let kind = if p.robot { "robot" } else { "user" };
    let mut v = json!({
        "role": p.role,
        "name": p.username,
        "is_robot": p.robot,
        "avatar": avatar(&p.username, Some(p.email.as_str()), kind),
    });
    if let Some(m) = org_member {
        v["is_org_member"] = Value::from(m);
    }
    v
}

/// `is_org_member` for each permission (robots always count), or `None` outside
/// organizations.
async fn org_membership(
    ctx: &Ctx,
    namespace: &str,
    perms: &[UserPermissionRow],
) -> Result<Vec<Option<bool>>, QuayApiError> {
    let Some(org_id) = org_id_of(ctx, namespace).await? else {
        return Ok(vec![None; perms.len()]);
    };
    let ids: Vec<i64> = perms.iter().map(|p| p.user_id).collect();
    let members = ctx
        .auth()
        .db()
        .organization_member_ids(org_id, &ids)
        .await?;
    Ok(perms
        .iter()
        .map(|p| Some(p.robot || members.contains(&p.user_id)))
        .collect())
}

fn role_body(ctx: &Ctx) -> Result<String, QuayApiError> {
    Ok(ctx.json()?.req_enum("role", &ROLES)?.to_owned())
}

async fn list_user_permissions(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let mut out = Map::new();
    if let Some(repo) = repo {
        let perms = ctx.auth().db().repository_user_permissions(repo.id).await?;
        let membership = org_membership(&ctx, &repo.namespace, &perms).await?;
        for (p, m) in perms.iter().zip(membership) {
            out.insert(p.username.clone(), user_permission_view(p, m));
        }
    }
    Ok(ok(json!({ "permissions": out })))
}

async fn user_transitive_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let username = ctx.param("username");
    let db = ctx.auth().db();
    let user = db
        .account_by_username(username)
        .await?
        .filter(|a| !a.organization);
    let (Some(user), Some(repo)) = (user, repo) else {
        return Err(QuayApiError::not_found());
    };
    let roles = db.account_repo_roles(user.id, repo.id).await?;
    if roles.is_empty() {
        return Err(QuayApiError::not_found());
    }
    let list: Vec<Value> = roles.into_iter().map(|r| json!({ "role": r })).collect();
    Ok(ok(json!({ "permissions": list })))
}

async fn get_user_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let username = ctx.param("username");
    let perm = match &repo {
        Some(r) => {
            ctx.auth()
                .db()
                .repository_user_permission(r.id, username)
                .await?
        }
        None => None,
    };
    let (Some(repo), Some(perm)) = (repo, perm) else {
        return Err(QuayApiError::bad_request(USER_NO_PERMISSION));
    };
    let membership = org_membership(&ctx, &repo.namespace, std::slice::from_ref(&perm)).await?;
    Ok(ok(user_permission_view(
        &perm,
        membership.into_iter().next().flatten(),
    )))
}

async fn change_user_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let role = role_body(&ctx)?;
    let (namespace, _) = ctx.repo_param();
    let username = ctx.param("username").to_owned();
    if username == namespace {
        return Err(QuayApiError::invalid_request(OWNER_ADMIN));
    }
    let db = ctx.auth().db();
    let Some(account) = db.account_by_username(&username).await? else {
        return Err(QuayApiError::invalid_request(format!(
            "Invalid username: {username}"
        )));
    };
    if account.robot {
        match account.username.split_once('+') {
            Some((robot_ns, _)) if robot_ns == namespace => {}
            Some(_) => {
                return Err(QuayApiError::invalid_request(format!(
                    "Cannot add robot {username} under namespace {namespace}"
                )))
            }
            None => {
                return Err(QuayApiError::invalid_request(format!(
                    "Invalid robot: {username}"
                )))
            }
        }
    }
    let Some(repo) = repo else {
        return Err(QuayApiError::not_found());
    };
    db.upsert_user_repo_role(repo.id, account.id, &role).await?;
    let perm = db
        .repository_user_permission(repo.id, &username)
        .await?
        .ok_or_else(|| QuayApiError::Internal("permission vanished".into()))?;
    let membership = org_membership(&ctx, &repo.namespace, std::slice::from_ref(&perm)).await?;
    let view = user_permission_view(&perm, membership.into_iter().next().flatten());
    ctx.log(
        "change_repo_permission",
        repo.namespace_id,
        Some(repo.id),
        json!({
            "username": username,
            "repo": repo.name,
            "namespace": repo.namespace,
            "role": role,
        }),
    )
    .await?;
    Ok(ok(view))
}

async fn delete_user_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let (namespace, _) = ctx.repo_param();
    let username = ctx.param("username").to_owned();
    if username == namespace {
        return Err(QuayApiError::invalid_request(OWNER_ADMIN));
    }
    let db = ctx.auth().db();
    let perm = match &repo {
        Some(r) => db.repository_user_permission(r.id, &username).await?,
        None => None,
    };
    let (Some(repo), Some(perm)) = (repo, perm) else {
        return Err(QuayApiError::invalid_request(USER_NO_PERMISSION));
    };
    db.delete_repository_permission(perm.id).await?;
    ctx.log(
        "delete_repo_permission",
        repo.namespace_id,
        Some(repo.id),
        json!({"username": username, "repo": repo.name, "namespace": repo.namespace}),
    )
    .await?;
    Ok(no_content())
}

async fn list_team_permissions(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let mut out = Map::new();
    if let Some(repo) = repo {
        for p in ctx.auth().db().repository_team_permissions(repo.id).await? {
            out.insert(
                p.team_name.clone(),
                json!({"role": p.role, "name": p.team_name, "avatar": team_avatar(&p.team_name)}),
            );
        }
    }
    Ok(ok(json!({ "permissions": out })))
}

async fn team_permission(
    ctx: &Ctx,
    repo: &Option<RepoDetails>,
    team: &str,
) -> Result<Option<quayside_meta::repos::TeamPermissionRow>, QuayApiError> {
    let Some(repo) = repo else {
        return Ok(None);
    };
    Ok(ctx
        .auth()
        .db()
        .repository_team_permissions(repo.id)
        .await?
        .into_iter()
        .find(|p| p.team_name == team))
}

async fn get_team_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let team = ctx.param("teamname");
    match team_permission(&ctx, &repo, team).await? {
        Some(p) => Ok(ok(json!({ "role": p.role }))),
        None => Err(QuayApiError::bad_request(TEAM_NO_PERMISSION)),
    }
}

async fn change_team_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let role = role_body(&ctx)?;
    let (namespace, _) = ctx.repo_param();
    let team = ctx.param("teamname").to_owned();
    let db = ctx.auth().db();
    let team_id = match ctx.namespace(namespace).await? {
        Some(ns) => db.team_id_by_name(ns.id, &team).await?,
        None => None,
    };
    let Some(team_id) = team_id else {
        return Err(QuayApiError::invalid_request(format!(
            "No team {team} in organization {namespace}"
        )));
    };
    let Some(repo) = repo else {
        return Err(QuayApiError::not_found());
    };
    db.set_team_repo_role(repo.id, team_id, &role).await?;
    ctx.log(
        "change_repo_permission",
        repo.namespace_id,
        Some(repo.id),
        json!({"team": team, "repo": repo.name, "role": role}),
    )
    .await?;
    Ok(ok(
        json!({"role": role, "name": team, "avatar": team_avatar(&team)}),
    ))
}

async fn delete_team_permission(ctx: Ctx) -> ApiResult {
    let repo = admin_repo(&ctx).await?;
    let team = ctx.param("teamname").to_owned();
    let Some(perm) = team_permission(&ctx, &repo, &team).await? else {
        return Err(QuayApiError::invalid_request(TEAM_NO_PERMISSION));
    };
    let Some(repo) = repo else {
        return Err(QuayApiError::invalid_request(TEAM_NO_PERMISSION));
    };
    ctx.auth()
        .db()
        .delete_repository_permission(perm.id)
        .await?;
    ctx.log(
        "delete_repo_permission",
        repo.namespace_id,
        Some(repo.id),
        json!({"team": team, "repo": repo.name}),
    )
    .await?;
    Ok(no_content())
}
