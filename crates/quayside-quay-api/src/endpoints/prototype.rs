//! Default permissions of organizations (Quay `endpoints/api/prototype.py`,
//! `quay-api.md` §2.21): list, create, change the role of and delete `permissionprototype`
//! rules. The rules are applied when a repository is created in the organization
//! (quayside-auth `create_repository`).
//!
//! As in Quay: org admin (full-access superusers too; listing also any superuser when
//! `FEATURE_SUPERUSERS_FULL_ACCESS`), the body is validated before the permission check,
//! an unknown delegate team is a data-model error whose message is the repr of Quay's
//! exception arguments, and there is no operation reading a single rule.

use std::collections::HashSet;

use quayside_meta::identity::AccountRow;
use quayside_meta::orgs::{NewPrototype, OrgRow, PrototypeDetail};
use serde_json::{json, Map, Value};

use super::organization::{
    caller_name, full_access_superuser, global_readonly_superuser, is_admin_of, organization,
    py_str, user_or_robot,
};
use crate::ctx::{no_content, ok, one_of, py_repr, Body, Ctx};
use crate::routes::{delete, get, h, post, put, ApiResult, Operation};
use crate::views::{account_avatar, team_avatar};
use crate::{QuayApiError, QuayApiSettings};

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        get(
            "/api/v1/organization/{orgname}/prototypes",
            "getOrganizationPrototypePermissions",
            h!(list_prototypes),
        )
        .tag("prototype")
        .summary("List the existing prototypes for this organization.")
        .scope("org:admin"),
        post(
            "/api/v1/organization/{orgname}/prototypes",
            "createOrganizationPrototypePermission",
            h!(create_prototype),
        )
        .tag("prototype")
        .summary("Create a new permission prototype.")
        .scope("org:admin"),
        put(
            "/api/v1/organization/{orgname}/prototypes/{prototypeid}",
            "updateOrganizationPrototypePermission",
            h!(update_prototype),
        )
        .tag("prototype")
        .summary("Update the role of an existing permission prototype.")
        .scope("org:admin"),
        delete(
            "/api/v1/organization/{orgname}/prototypes/{prototypeid}",
            "deleteOrganizationPrototypePermission",
            h!(delete_prototype),
        )
        .tag("prototype")
        .summary("Delete an existing permission prototype.")
        .scope("org:admin"),
    ]
}

const REPO_ROLES: &[&str] = &["read", "write", "admin"];

/// Non-robot members of the organization's teams (`get_organization_member_set`).
async fn member_names(ctx: &Ctx, org: &OrgRow) -> Result<HashSet<String>, QuayApiError> {
    Ok(ctx
        .auth()
        .db()
        .org_memberships(org.account.id)
        .await?
        .into_iter()
        .filter(|m| !m.member.robot)
        .map(|m| m.member.username)
        .collect())
}

fn user_view(user: &AccountRow, members: &HashSet<String>) -> Value {
    json!({
        "name": user.username,
        "is_robot": user.robot,
        "kind": "user",
        "is_org_member": user.robot || members.contains(&user.username),
        "avatar": account_avatar(user),
    })
}

/// Quay's `prototype_view`.
fn prototype_view(p: &PrototypeDetail, members: &HashSet<String>) -> Value {
    let delegate = match (&p.delegate_user, &p.delegate_team) {
        (Some(u), _) => user_view(u, members),
        (None, Some((_, team))) => json!({
            "name": team,
            "kind": "team",
            "avatar": team_avatar(team),
        }),
        (None, None) => Value::Null,
    };
    json!({
        "activating_user": p.activating_user.as_ref().map_or(Value::Null, |u| user_view(u, members)),
        "delegate": delegate,
        "role": p.role,
        "id": p.uuid,
    })
}

/// Quay's `log_prototype_action`.
async fn log_prototype(
    ctx: &Ctx,
    kind: &str,
    org: &OrgRow,
    p: &PrototypeDetail,
    original_role: Option<&str>,
) -> Result<(), QuayApiError> {
    let mut meta = Map::new();
    meta.insert("prototypeid".into(), Value::from(p.uuid.as_str()));
    meta.insert("username".into(), Value::from(caller_name(ctx)));
    meta.insert(
        "activating_username".into(),
        p.activating_user
            .as_ref()
            .map_or(Value::Null, |u| Value::from(u.username.as_str())),
    );
    meta.insert("role".into(), Value::from(p.role.as_str()));
    if let Some(r) = original_role {
        meta.insert("original_role".into(), Value::from(r));
    }
    if let Some(u) = &p.delegate_user {
        meta.insert("delegate_user".into(), Value::from(u.username.as_str()));
    } else if let Some((_, t)) = &p.delegate_team {
        meta.insert("delegate_team".into(), Value::from(t.as_str()));
    }
    ctx.log(kind, org.account.id, None, Value::Object(meta))
        .await
}

/// Org admin or full-access superuser.
async fn require_admin(ctx: &Ctx, orgname: &str) -> Result<(), QuayApiError> {
    if is_admin_of(ctx, orgname).await? || full_access_superuser(ctx) {
        Ok(())
    } else {
        Err(ctx.caller.unauthorized())
    }
}

async fn existing_org(ctx: &Ctx, orgname: &str) -> Result<OrgRow, QuayApiError> {
    organization(ctx, orgname)
        .await?
        .ok_or_else(QuayApiError::not_found)
}

async fn list_prototypes(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let any_superuser = ctx.is_superuser() || global_readonly_superuser(&ctx);
    let superuser_ok = ctx.state.settings.config.feature("SUPERUSERS_FULL_ACCESS") && any_superuser;
    if !(is_admin_of(&ctx, &orgname).await? || superuser_ok) {
        return Err(ctx.caller.unauthorized());
    }
    let org = existing_org(&ctx, &orgname).await?;
    let protos = ctx.auth().db().org_prototypes(org.account.id).await?;
    let members = member_names(&ctx, &org).await?;
    let list: Vec<Value> = protos.iter().map(|p| prototype_view(p, &members)).collect();
    Ok(ok(json!({ "prototypes": list })))
}

/// A required object property (jsonschema messages).
fn req_object<'a>(body: &'a Body, key: &str) -> Result<&'a Map<String, Value>, QuayApiError> {
    match body.get(key) {
        None => Err(QuayApiError::invalid_request(format!(
            "'{key}' is a required property"
        ))),
        Some(v) => v.as_object().ok_or_else(|| {
            QuayApiError::invalid_request(format!("{} is not of type 'object'", py_repr(v)))
        }),
    }
}

/// A required string inside a nested object.
fn nested_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, QuayApiError> {
    match obj.get(key) {
        None => Err(QuayApiError::invalid_request(format!(
            "'{key}' is a required property"
        ))),
        Some(v) => v.as_str().ok_or_else(|| {
            QuayApiError::invalid_request(format!("{} is not of type 'string'", py_repr(v)))
        }),
    }
}

async fn create_prototype(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    if !body.has("role") {
        return Err(QuayApiError::invalid_request(
            "'role' is a required property",
        ));
    }
    let delegate = req_object(&body, "delegate")?;
    let role = body.req_enum("role", REPO_ROLES)?.to_owned();
    let activating_name = match body.opt_object("activating_user")? {
        Some(a) => Some(nested_str(a, "name")?.to_owned()),
        None => None,
    };
    let delegate_name = nested_str(delegate, "name")?.to_owned();
    let delegate_kind = nested_str(delegate, "kind")?.to_owned();
    one_of(&delegate_kind, &["user", "team"])?;

    let orgname = ctx.param("orgname").to_owned();
    require_admin(&ctx, &orgname).await?;
    let org = existing_org(&ctx, &orgname).await?;
    let db = ctx.auth().db();

    let activating_name = activating_name.filter(|n| !n.is_empty());
    let activating_user = match &activating_name {
        Some(n) => user_or_robot(&ctx, n).await?,
        None => None,
    };
    let delegate_user = if delegate_kind == "user" && !delegate_name.is_empty() {
        user_or_robot(&ctx, &delegate_name).await?
    } else {
        None
    };
    let delegate_team = if delegate_kind == "team" && !delegate_name.is_empty() {
        match db.team_by_name(org.account.id, &delegate_name).await? {
            Some(t) => Some(t),
            // Quay raises InvalidTeamException with three arguments; its message is
            // their tuple.
            None => {
                return Err(QuayApiError::bad_request(format!(
                    "('Team does not exist: %s/%s', {}, {})",
                    py_str(&orgname),
                    py_str(&delegate_name)
                )))
            }
        }
    } else {
        None
    };
    if activating_name.is_some() && activating_user.is_none() {
        return Err(QuayApiError::invalid_request("Unknown activating user"));
    }
    if delegate_user.is_none() && delegate_team.is_none() {
        return Err(QuayApiError::invalid_request(
            "Missing delegate user or team",
        ));
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    db.insert_prototype(&NewPrototype {
        org_id: org.account.id,
        uuid: uuid.clone(),
        role,
        activating_user_id: activating_user.as_ref().map(|u| u.id),
        delegate_user_id: delegate_user.as_ref().map(|u| u.id),
        delegate_team_id: delegate_team.as_ref().map(|t| t.id),
    })
    .await?;
    let Some(proto) = db.org_prototype(org.account.id, &uuid).await? else {
        return Err(QuayApiError::Internal("created prototype vanished".into()));
    };
    log_prototype(&ctx, "create_prototype_permission", &org, &proto, None).await?;
    let members = member_names(&ctx, &org).await?;
    Ok(ok(prototype_view(&proto, &members)))
}

async fn update_prototype(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let role = body.req_enum("role", REPO_ROLES)?.to_owned();
    let orgname = ctx.param("orgname").to_owned();
    let id = ctx.param("prototypeid").to_owned();
    require_admin(&ctx, &orgname).await?;
    let org = existing_org(&ctx, &orgname).await?;
    let db = ctx.auth().db();
    let Some(existing) = db.org_prototype(org.account.id, &id).await? else {
        return Err(QuayApiError::not_found());
    };
    db.set_prototype_role(existing.id, &role).await?;
    let Some(proto) = db.org_prototype(org.account.id, &id).await? else {
        return Err(QuayApiError::not_found());
    };
    log_prototype(
        &ctx,
        "modify_prototype_permission",
        &org,
        &proto,
        Some(&existing.role),
    )
    .await?;
    let members = member_names(&ctx, &org).await?;
    Ok(ok(prototype_view(&proto, &members)))
}

async fn delete_prototype(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let id = ctx.param("prototypeid").to_owned();
    require_admin(&ctx, &orgname).await?;
    let org = existing_org(&ctx, &orgname).await?;
    let db = ctx.auth().db();
    let Some(proto) = db.org_prototype(org.account.id, &id).await? else {
        return Err(QuayApiError::not_found());
    };
    db.delete_prototype(proto.id).await?;
    log_prototype(&ctx, "delete_prototype_permission", &org, &proto, None).await?;
    Ok(no_content())
}
