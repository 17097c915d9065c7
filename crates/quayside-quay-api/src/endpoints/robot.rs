//! Robot accounts of users and organizations (Quay `endpoints/api/robot.py`,
//! `quay-api.md` §2.7): list, get, create, delete, permissions and token regeneration.
//!
//! As in Quay:
//! * user robots need the caller's own account with `user:admin`; organization robots
//!   need organization admin (listing: membership, tokens only for admins), with
//!   full-access superusers and global read-only superusers (reads) let through;
//! * a robot that does not exist is a data-model error: `400 {"message"}`;
//! * with `ROBOTS_DISALLOW: true` creation is refused ("Robot accounts have been
//!   disabled. …"); listing, reading, regenerating and deleting still work;
//! * the create body is optional and read "silently" (a body that is not JSON counts as
//!   none), then validated (`description` ≤ 255 characters, `unstructured_metadata` an
//!   object); for organizations the body is validated before the permission check.
//!
//! Not served: the robot identity-federation operations (`…/federation`).

use axum::http::{header, StatusCode};
use quayside_auth::{RobotListing, RobotWithToken, UserRole};
use quayside_meta::identity::AccountRow;
use quayside_meta::robots::RobotRow;
use serde_json::{json, Map, Value};

use crate::ctx::{no_content, ok, py_repr, with_status, Ctx};
use crate::routes::{delete, get, h, post, put, ApiResult, Operation, QueryParam};
use crate::views::opt_date;
use crate::{QuayApiError, QuayApiSettings};

const ROBOT_NOT_FOUND: &str = "Could not find robot with specified username";
/// Quay's refusal when `ROBOTS_DISALLOW` is set.
pub(crate) const ROBOTS_DISABLED: &str =
    "Robot accounts have been disabled. Please contact your administrator.";
/// Flask's `abort(403)` text.
const FORBIDDEN_TEXT: &str = "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.";
/// Quay's `ROBOT_MAX_SIZE`.
const ROBOT_MAX_SIZE: usize = 1024 * 1024;

const LIST_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "permissions",
        kind: "boolean",
        description:
            "Whether to include repositories and teams in which the robots have permission.",
    },
    QueryParam {
        name: "token",
        kind: "boolean",
        description: "If false, the robot's token is not returned.",
    },
    QueryParam {
        name: "limit",
        kind: "integer",
        description: "If specified, the number of robots to return.",
    },
];

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        get("/api/v1/user/robots", "getUserRobots", h!(list_user_robots))
            .tag("robot")
            .summary("List the available robots for the user.")
            .scope("user:admin")
            .query(LIST_PARAMS),
        get(
            "/api/v1/user/robots/{robot_shortname}",
            "getUserRobot",
            h!(get_user_robot),
        )
        .tag("robot")
        .summary("Returns the user's robot with the specified name.")
        .scope("user:admin"),
        put(
            "/api/v1/user/robots/{robot_shortname}",
            "createUserRobot",
            h!(create_user_robot),
        )
        .tag("robot")
        .summary("Create a new user robot with the specified name.")
        .scope("user:admin"),
        delete(
            "/api/v1/user/robots/{robot_shortname}",
            "deleteUserRobot",
            h!(delete_user_robot),
        )
        .tag("robot")
        .summary("Delete an existing robot.")
        .scope("user:admin"),
        get(
            "/api/v1/user/robots/{robot_shortname}/permissions",
            "getUserRobotPermissions",
            h!(user_robot_permissions),
        )
        .tag("robot")
        .summary("Returns the list of repository permissions for the user's robot.")
        .scope("user:admin"),
        post(
            "/api/v1/user/robots/{robot_shortname}/regenerate",
            "regenerateUserRobotToken",
            h!(regenerate_user_robot),
        )
        .tag("robot")
        .summary("Regenerates the token for a user's robot.")
        .scope("user:admin")
        .no_body(),
        get(
            "/api/v1/organization/{orgname}/robots",
            "getOrgRobots",
            h!(list_org_robots),
        )
        .tag("robot")
        .summary("List the organization's robots.")
        .scope("org:admin")
        .query(LIST_PARAMS),
        get(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            "getOrgRobot",
            h!(get_org_robot),
        )
        .tag("robot")
        .summary("Returns the organization's robot with the specified name.")
        .scope("org:admin"),
        put(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            "createOrgRobot",
            h!(create_org_robot),
        )
        .tag("robot")
        .summary("Create a new robot in the organization.")
        .scope("org:admin"),
        delete(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            "deleteOrgRobot",
            h!(delete_org_robot),
        )
        .tag("robot")
        .summary("Delete an existing organization robot.")
        .scope("org:admin"),
        get(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}/permissions",
            "getOrgRobotPermissions",
            h!(org_robot_permissions),
        )
        .tag("robot")
        .summary("Returns the list of repository permissions for the org's robot.")
        .scope("user:admin"),
        post(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}/regenerate",
            "regenerateOrgRobotToken",
            h!(regenerate_org_robot),
        )
        .tag("robot")
        .summary("Regenerates the token for an organization robot.")
        .scope("org:admin")
        .no_body(),
    ]
}

/// `Robot.to_dict`: name, dates, description, and optionally token / metadata.
fn robot_view(robot: &RobotRow, token: Option<&str>, metadata: Option<Value>) -> Value {
    let mut v = json!({
        "name": robot.username,
        "created": opt_date(robot.creation_date),
        "last_accessed": opt_date(robot.last_accessed),
        "description": robot.description,
    });
    if let Some(t) = token {
        v["token"] = Value::from(t);
    }
    if let Some(m) = metadata {
        v["unstructured_metadata"] = m;
    }
    v
}

/// Stored `unstructured_json` as a JSON value (`{}` when missing or unreadable).
fn stored_metadata(robot: &RobotRow) -> Value {
    robot
        .unstructured_json
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| json!({}))
}

fn listing_view(r: &RobotListing, include_token: bool, permissions: bool, last: bool) -> Value {
    let mut v = json!({
        "name": r.robot.username,
        "created": opt_date(r.robot.creation_date),
        "last_accessed": if last { opt_date(r.robot.last_accessed) } else { Value::Null },
        "description": r.robot.description,
    });
    if permissions {
        v["teams"] = Value::Array(
            r.teams
                .iter()
                .map(|t| json!({"name": t, "avatar": crate::views::team_avatar(t)}))
                .collect(),
        );
        v["repositories"] = json!(r.repositories);
    }
    if include_token {
        v["token"] = r.token.as_deref().map_or(Value::Null, Value::from);
    }
    v
}

/// `require_user_admin`: the signed-in user whose scopes give `user:admin` on itself.
async fn require_user_admin(ctx: &Ctx) -> Result<AccountRow, QuayApiError> {
    let (_, username) = ctx.caller.require_user()?;
    if ctx.user_role(username) != Some(UserRole::Admin) {
        return Err(ctx.caller.unauthorized());
    }
    ctx.namespace(username)
        .await?
        .ok_or_else(|| ctx.caller.unauthorized())
}

fn robot_name(ns: &str, short: &str) -> String {
    format!("{ns}+{short}")
}

fn robot_missing() -> QuayApiError {
    QuayApiError::bad_request(ROBOT_NOT_FOUND)
}

fn robots_disallowed(ctx: &Ctx) -> bool {
    ctx.state
        .settings
        .config
        .get("ROBOTS_DISALLOW")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn is_full_access_superuser(ctx: &Ctx) -> bool {
    ctx.auth().is_full_access_superuser(ctx.identity())
}

fn is_readonly_superuser(ctx: &Ctx) -> bool {
    ctx.auth().is_global_readonly_superuser(ctx.identity())
}

/// `validate_json_request("CreateRobot", optional=True)` with `max_json_size`: the body
/// read silently (not JSON → none), then checked against the schema.
fn create_body(ctx: &Ctx) -> Result<Map<String, Value>, QuayApiError> {
    let declared_json = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false);
    if declared_json && ctx.body.len() > ROBOT_MAX_SIZE {
        return Err(QuayApiError::invalid_request("Request body too large"));
    }
    if !declared_json || ctx.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let data = match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) | Err(_) => return Ok(Map::new()),
        Ok(other) => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'object'",
                py_repr(&other)
            )))
        }
    };
    match data.get("description") {
        None => {}
        Some(Value::String(s)) if s.chars().count() > 255 => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is too long",
                py_repr(&Value::from(s.as_str()))
            )))
        }
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'string'",
                py_repr(other)
            )))
        }
    }
    match data.get("unstructured_metadata") {
        None | Some(Value::Object(_)) => {}
        Some(other) => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'object'",
                py_repr(other)
            )))
        }
    }
    Ok(data)
}

/// Creates the robot under `parent` and answers `201` with it, logging `create_robot`.
async fn create_robot(
    ctx: &Ctx,
    parent: &AccountRow,
    short: &str,
    data: &Map<String, Value>,
) -> ApiResult {
    if robots_disallowed(ctx) {
        return Err(QuayApiError::invalid_request(ROBOTS_DISABLED));
    }
    let description = data.get("description").and_then(Value::as_str);
    let metadata = data.get("unstructured_metadata");
    let created = match ctx
        .auth()
        .create_robot_account(parent, short, description.unwrap_or(""), metadata)
        .await
    {
        Ok(c) => c,
        Err(quayside_auth::AuthError::BadRequest(m)) => {
            return Err(QuayApiError::invalid_request(m))
        }
        Err(e) => return Err(e.into()),
    };
    ctx.log(
        "create_robot",
        parent.id,
        None,
        json!({
            "robot": short,
            "description": description,
            "unstructured_metadata": metadata,
        }),
    )
    .await?;
    let mut view = robot_view(
        &created.robot,
        Some(&created.token),
        Some(metadata.cloned().unwrap_or(Value::Null)),
    );
    view["description"] = Value::from(description.unwrap_or(""));
    Ok(with_status(StatusCode::CREATED, view))
}

async fn get_robot(ctx: &Ctx, parent: &AccountRow, short: &str, token: bool) -> ApiResult {
    let found = ctx
        .auth()
        .robot_with_token(&robot_name(&parent.username, short))
        .await?;
    let Some(RobotWithToken { robot, token: t }) = found else {
        return Err(robot_missing());
    };
    let meta = stored_metadata(&robot);
    Ok(ok(robot_view(
        &robot,
        token.then_some(t.as_str()),
        Some(meta),
    )))
}

async fn delete_robot(ctx: &Ctx, parent: &AccountRow, short: &str) -> ApiResult {
    let name = robot_name(&parent.username, short);
    let db = ctx.auth().db();
    let Some(robot) = db.robot_by_username(&name).await? else {
        return Err(robot_missing());
    };
    if db.robot_has_mirror(robot.id).await? {
        return Err(QuayApiError::invalid_request(
            "Robot is being used by a mirror",
        ));
    }
    ctx.auth().delete_robot_account(robot.id).await?;
    ctx.log("delete_robot", parent.id, None, json!({ "robot": short }))
        .await?;
    Ok(no_content())
}

async fn regenerate(ctx: &Ctx, parent: &AccountRow, short: &str) -> ApiResult {
    let name = robot_name(&parent.username, short);
    let Some(RobotWithToken { robot, token }) = ctx.auth().regenerate_robot_token(&name).await?
    else {
        return Err(robot_missing());
    };
    ctx.log(
        "regenerate_robot_token",
        parent.id,
        None,
        json!({ "robot": short }),
    )
    .await?;
    Ok(ok(robot_view(&robot, Some(&token), None)))
}

async fn permissions(ctx: &Ctx, parent: &AccountRow, short: &str) -> ApiResult {
    let name = robot_name(&parent.username, short);
    let db = ctx.auth().db();
    if db.robot_by_username(&name).await?.is_none() {
        return Err(robot_missing());
    }
    let perms: Vec<Value> = db
        .robot_permissions(&name)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "repository": {"name": p.repository_name, "is_public": p.visibility.is_public()},
                "role": p.role,
            })
        })
        .collect();
    Ok(ok(json!({ "permissions": perms })))
}

async fn list(
    ctx: &Ctx,
    namespace: &str,
    include_token: bool,
    include_permissions: bool,
) -> ApiResult {
    let limit = ctx.query_int("limit")?;
    let robots = ctx
        .auth()
        .list_robots(namespace, include_token, include_permissions, limit)
        .await?;
    let last = ctx.state.settings.config.feature("USER_LAST_ACCESSED");
    let out: Vec<Value> = robots
        .iter()
        .map(|r| listing_view(r, include_token, include_permissions, last))
        .collect();
    Ok(ok(json!({ "robots": out })))
}

// ---- user robots ----------------------------------------------------------------------

async fn list_user_robots(ctx: Ctx) -> ApiResult {
    let user = require_user_admin(&ctx).await?;
    let permissions = ctx.query_bool("permissions", false)?;
    let token = ctx.query_bool("token", true)?;
    list(&ctx, &user.username, token, permissions).await
}

async fn get_user_robot(ctx: Ctx) -> ApiResult {
    let user = require_user_admin(&ctx).await?;
    get_robot(&ctx, &user, ctx.param("robot_shortname"), true).await
}

async fn create_user_robot(ctx: Ctx) -> ApiResult {
    let user = require_user_admin(&ctx).await?;
    let data = create_body(&ctx)?;
    create_robot(&ctx, &user, ctx.param("robot_shortname"), &data).await
}

async fn delete_user_robot(ctx: Ctx) -> ApiResult {
    let user = require_user_admin(&ctx).await?;
    delete_robot(&ctx, &user, ctx.param("robot_shortname")).await
}

async fn user_robot_permissions(ctx: Ctx) -> ApiResult {
    let user = require_user_admin(&ctx).await?;
    permissions(&ctx, &user, ctx.param("robot_shortname")).await
}

async fn regenerate_user_robot(ctx: Ctx) -> ApiResult {
    let user = require_user_admin(&ctx).await?;
    regenerate(&ctx, &user, ctx.param("robot_shortname")).await
}

// ---- organization robots ----------------------------------------------------------------

/// `AdministerOrganizationPermission(orgname)` (or a full-access superuser).
async fn is_org_admin(ctx: &Ctx, orgname: &str) -> Result<bool, QuayApiError> {
    if is_full_access_superuser(ctx) {
        return Ok(true);
    }
    match ctx.namespace(orgname).await? {
        Some(ns) => Ok(ctx.auth().can_admin_namespace(ctx.identity(), &ns).await?),
        None => Ok(false),
    }
}

/// Quay's `get_organization`: the organization, else `400 {"message"}`.
async fn organization(ctx: &Ctx, orgname: &str) -> Result<AccountRow, QuayApiError> {
    match ctx.namespace(orgname).await? {
        Some(ns) if ns.organization => Ok(ns),
        _ => Err(QuayApiError::bad_request(format!(
            "Organization does not exist: {orgname}"
        ))),
    }
}

async fn list_org_robots(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let member = match ctx.namespace(&orgname).await? {
        Some(ns) => ctx.auth().is_namespace_member(ctx.identity(), &ns).await?,
        None => false,
    };
    let readonly = is_readonly_superuser(&ctx);
    let full = is_full_access_superuser(&ctx);
    if !(member || readonly || full) {
        return Err(ctx.caller.unauthorized());
    }
    let admin = is_org_admin(&ctx, &orgname).await?;
    let token = (admin || full) && ctx.query_bool("token", true)?;
    let permissions = (admin || full || readonly) && ctx.query_bool("permissions", false)?;
    list(&ctx, &orgname, token, permissions).await
}

async fn get_org_robot(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let admin = is_org_admin(&ctx, &orgname).await?;
    if !(admin || is_readonly_superuser(&ctx)) {
        return Err(ctx.caller.unauthorized());
    }
    let org = organization(&ctx, &orgname).await?;
    get_robot(&ctx, &org, ctx.param("robot_shortname"), admin).await
}

async fn create_org_robot(ctx: Ctx) -> ApiResult {
    let data = create_body(&ctx)?;
    let orgname = ctx.param("orgname").to_owned();
    if !is_org_admin(&ctx, &orgname).await? {
        return Err(ctx.caller.unauthorized());
    }
    let org = organization(&ctx, &orgname).await?;
    create_robot(&ctx, &org, ctx.param("robot_shortname"), &data).await
}

async fn delete_org_robot(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    if !is_org_admin(&ctx, &orgname).await? {
        return Err(ctx.caller.unauthorized());
    }
    let org = organization(&ctx, &orgname).await?;
    delete_robot(&ctx, &org, ctx.param("robot_shortname")).await
}

async fn org_robot_permissions(ctx: Ctx) -> ApiResult {
    // `require_user_admin` first, then organization admin or `abort(403)`.
    let _user = require_user_admin(&ctx).await?;
    let orgname = ctx.param("orgname").to_owned();
    let admin = is_org_admin(&ctx, &orgname).await?;
    if !(admin || is_readonly_superuser(&ctx)) {
        return Err(QuayApiError::Message(
            StatusCode::FORBIDDEN,
            FORBIDDEN_TEXT.into(),
        ));
    }
    let org = organization(&ctx, &orgname).await?;
    permissions(&ctx, &org, ctx.param("robot_shortname")).await
}

async fn regenerate_org_robot(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    if !is_org_admin(&ctx, &orgname).await? {
        return Err(ctx.caller.unauthorized());
    }
    let org = organization(&ctx, &orgname).await?;
    regenerate(&ctx, &org, ctx.param("robot_shortname")).await
}
