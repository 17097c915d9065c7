//! Teams of organizations (Quay `endpoints/api/team.py`, `quay-api.md` §2.6): create or
//! update a team, delete it, list, add, invite and remove its members, list its
//! repository permissions.
//!
//! As in Quay:
//! * team operations need org admin (full-access superusers too); listing members also
//!   works for members of the team and global read-only superusers;
//! * the caller cannot lower or delete its own last admin team, nor remove itself from it;
//! * data-model failures (unknown organization or team on create/delete, invalid team
//!   name, already a member, …) answer `400 {"message"}`; "Unknown user" is problem JSON;
//! * with `FEATURE_MAILING` and `FEATURE_REQUIRE_TEAM_INVITE` (both Quay defaults) a user who
//!   is not yet on any team of the organization is invited: a `teammemberinvite` row plus
//!   the user's `org_team_invite` notification, as Quay writes them. quayside sends no
//!   e-mail; the invite is accepted through Quay's `teaminvite` flow (not served here).
//!   Without either flag members are added directly;
//! * robots must belong to the organization ("Cannot add the specified robot to this
//!   team, as it is not a member of the organization"). Quay checks this only in invite
//!   mode; quayside always does, so a foreign robot never joins a team.
//!
//! Not served: team syncing (`…/syncing`), e-mail invites (`…/invite/<email>`) and
//! `teaminvite` acceptance.

use quayside_auth::TeamRole;
use quayside_meta::identity::AccountRow;
use quayside_meta::teams::{NewNotification, NewTeamInvite, TeamInviteRow, TeamRow};
use serde_json::{json, Value};

use super::organization::{
    caller_name, full_access_superuser, global_readonly_superuser, is_admin_of, user_or_robot,
};
use crate::ctx::{no_content, ok, Ctx};
use crate::routes::{delete, get, h, put, ApiResult, Operation, QueryParam};
use crate::views::{account_avatar, avatar, team_avatar};
use crate::{QuayApiError, QuayApiSettings};

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        put(
            "/api/v1/organization/{orgname}/team/{teamname}",
            "updateOrganizationTeam",
            h!(update_team),
        )
        .tag("team")
        .summary("Update the org-wide permission for the specified team.")
        .scope("org:admin"),
        delete(
            "/api/v1/organization/{orgname}/team/{teamname}",
            "deleteOrganizationTeam",
            h!(delete_team),
        )
        .tag("team")
        .summary("Delete the specified team.")
        .scope("org:admin"),
        get(
            "/api/v1/organization/{orgname}/team/{teamname}/members",
            "getOrganizationTeamMembers",
            h!(list_members),
        )
        .tag("team")
        .summary("Retrieve the list of members for the specified team.")
        .scope("org:admin")
        .query(&[QueryParam {
            name: "includePending",
            kind: "boolean",
            description: "Whether to include pending members",
        }]),
        put(
            "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}",
            "updateOrganizationTeamMember",
            h!(update_member),
        )
        .tag("team")
        .summary("Adds or invites a member to an existing team.")
        .scope("org:admin")
        .no_body(),
        delete(
            "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}",
            "deleteOrganizationTeamMember",
            h!(delete_member),
        )
        .tag("team")
        .summary("Delete a member of a team.")
        .scope("org:admin"),
        get(
            "/api/v1/organization/{orgname}/team/{teamname}/permissions",
            "getOrganizationTeamPermissions",
            h!(team_permissions),
        )
        .tag("team")
        .summary("Returns the list of repository permissions for the org's team."),
    ]
}

const TEAM_ROLES: &[&str] = &["member", "creator", "admin"];

/// Org admin or full-access superuser (the guard of every team change).
async fn require_team_admin(ctx: &Ctx, orgname: &str) -> Result<(), QuayApiError> {
    if is_admin_of(ctx, orgname).await? || full_access_superuser(ctx) {
        Ok(())
    } else {
        Err(ctx.caller.unauthorized())
    }
}

/// Quay's `get_organization_team`: the organization account and its team.
async fn find_team(
    ctx: &Ctx,
    orgname: &str,
    teamname: &str,
) -> Result<Option<(AccountRow, TeamRow)>, QuayApiError> {
    let Some(org) = ctx.namespace(orgname).await?.filter(|n| n.organization) else {
        return Ok(None);
    };
    let team = ctx.auth().db().team_by_name(org.id, teamname).await?;
    Ok(team.map(|t| (org, t)))
}

/// `ViewTeamPermission` (no superuser shortcut): org admin, or on the team (clamped by
/// OAuth scopes).
async fn can_view_team(ctx: &Ctx, org: &AccountRow, team: &str) -> Result<bool, QuayApiError> {
    if ctx.namespace_role(org).await? == Some(TeamRole::Admin) {
        return Ok(true);
    }
    let Some(id) = ctx.identity().account_id() else {
        return Ok(false);
    };
    if quayside_auth::team_cap(ctx.identity()).is_none() {
        return Ok(false);
    }
    Ok(ctx
        .auth()
        .db()
        .account_team_names(id, org.id)
        .await?
        .iter()
        .any(|t| t == team))
}

/// Quay's `team_view`.
async fn team_view(
    ctx: &Ctx,
    org: &AccountRow,
    team: &TeamRow,
    new_team: bool,
) -> Result<Value, QuayApiError> {
    Ok(json!({
        "name": team.name,
        "description": team.description,
        "can_view": can_view_team(ctx, org, &team.name).await?,
        "role": team.role,
        "avatar": team_avatar(&team.name),
        "new_team": new_team,
    }))
}

/// Quay's `member_view`.
fn member_view(member: &AccountRow, invited: bool) -> Value {
    json!({
        "name": member.username,
        "kind": "user",
        "is_robot": member.robot,
        "avatar": account_avatar(member),
        "invited": invited,
    })
}

/// Quay's `invite_view`.
fn invite_view(invite: &TeamInviteRow) -> Value {
    match &invite.user {
        Some(user) => member_view(user, true),
        None => {
            let email = invite.email.clone().unwrap_or_default();
            json!({
                "email": email,
                "kind": "invite",
                "avatar": avatar(&email, Some(email.as_str()), "user"),
                "invited": true,
            })
        }
    }
}

/// The caller's admin teams in the organization (`__get_user_admin_teams`).
async fn caller_admin_teams(ctx: &Ctx, org: &AccountRow) -> Result<Vec<String>, QuayApiError> {
    let Some(id) = ctx.identity().account_id() else {
        return Ok(Vec::new());
    };
    Ok(ctx.auth().db().account_admin_team_names(id, org.id).await?)
}

async fn update_team(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let role = body.req_enum("role", TEAM_ROLES)?.to_owned();
    let description = body.opt_str("description")?.map(str::to_owned);
    let orgname = ctx.param("orgname").to_owned();
    let teamname = ctx.param("teamname").to_owned();
    require_team_admin(&ctx, &orgname).await?;
    let db = ctx.auth().db();

    let (org, team, is_new) = match find_team(&ctx, &orgname, &teamname).await? {
        Some((org, team)) => (org, team, false),
        None => {
            let Some(org) = ctx.namespace(&orgname).await?.filter(|n| n.organization) else {
                return Err(QuayApiError::bad_request(format!(
                    "Organization does not exist: {orgname}"
                )));
            };
            if let Err(issue) = quayside_domain::namespace::validate_team_name(&teamname) {
                return Err(QuayApiError::bad_request(format!(
                    "Invalid team name {teamname}: {issue}"
                )));
            }
            db.insert_team(
                org.id,
                &teamname,
                &role,
                description.as_deref().unwrap_or(""),
            )
            .await?;
            ctx.log("org_create_team", org.id, None, json!({"team": teamname}))
                .await?;
            let Some(team) = db.team_by_name(org.id, &teamname).await? else {
                return Err(QuayApiError::Internal("created team vanished".into()));
            };
            (org, team, true)
        }
    };
    let mut team = team;
    if !is_new {
        if let Some(d) = description.filter(|d| *d != team.description) {
            db.set_team_description(team.id, &d).await?;
            team.description = d;
            ctx.log(
                "org_set_team_description",
                org.id,
                None,
                json!({"team": teamname, "description": team.description}),
            )
            .await?;
        }
        if team.role != role {
            if team.role == "admin" {
                let admin_teams = caller_admin_teams(&ctx, &org).await?;
                if admin_teams.contains(&team.name) && admin_teams.len() <= 1 {
                    return Err(QuayApiError::bad_request(format!(
                        "Cannot remove admin from team '{}' because calling user would no longer have admin on org '{}'",
                        team.name, org.username
                    )));
                }
            }
            db.set_team_role(team.id, &role).await?;
            team.role = role.clone();
            ctx.log(
                "org_set_team_role",
                org.id,
                None,
                json!({"team": teamname, "role": role}),
            )
            .await?;
        }
    }
    Ok(ok(team_view(&ctx, &org, &team, is_new).await?))
}

async fn delete_team(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let teamname = ctx.param("teamname").to_owned();
    require_team_admin(&ctx, &orgname).await?;
    let Some((org, team)) = find_team(&ctx, &orgname, &teamname).await? else {
        return Err(QuayApiError::bad_request(format!(
            "Team '{teamname}' is not a team in org '{orgname}'"
        )));
    };
    if team.role == "admin" {
        let admin_teams = caller_admin_teams(&ctx, &org).await?;
        // Quay fails with a server error when the caller is on no admin team (a
        // full-access superuser); quayside lets the deletion proceed.
        if admin_teams.len() <= 1 && admin_teams.first() == Some(&team.name) {
            return Err(QuayApiError::bad_request(format!(
                "Deleting team '{teamname}' would remove admin ability for user '{}' in organization '{orgname}'",
                caller_name(&ctx)
            )));
        }
    }
    ctx.auth().db().delete_team(team.id).await?;
    ctx.log("org_delete_team", org.id, None, json!({"team": teamname}))
        .await?;
    Ok(no_content())
}

/// Quay's `truthy_bool`.
fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| !matches!(v, "false" | "False" | "0" | "FALSE" | "" | "null"))
}

async fn list_members(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let teamname = ctx.param("teamname").to_owned();
    let include_pending = truthy(ctx.query_str("includePending"));
    let can_view = match ctx.namespace(&orgname).await? {
        Some(ns) => can_view_team(&ctx, &ns, &teamname).await?,
        None => false,
    };
    if !(can_view || full_access_superuser(&ctx) || global_readonly_superuser(&ctx)) {
        return Err(ctx.caller.unauthorized());
    }
    let Some((_, team)) = find_team(&ctx, &orgname, &teamname).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    let can_edit = is_admin_of(&ctx, &orgname).await?;
    let mut members: Vec<Value> = db
        .team_members(team.id)
        .await?
        .iter()
        .map(|m| member_view(m, false))
        .collect();
    if include_pending && can_edit {
        members.extend(db.team_invites(team.id).await?.iter().map(invite_view));
    }
    Ok(ok(json!({
        "name": teamname,
        "members": members,
        "can_edit": can_edit,
    })))
}

async fn update_member(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let teamname = ctx.param("teamname").to_owned();
    let membername = ctx.param("membername").to_owned();
    require_team_admin(&ctx, &orgname).await?;
    let Some((org, team)) = find_team(&ctx, &orgname, &teamname).await? else {
        return Err(QuayApiError::not_found());
    };
    let Some(user) = user_or_robot(&ctx, &membername).await? else {
        return Err(QuayApiError::invalid_request("Unknown user"));
    };
    let db = ctx.auth().db();
    let config = &ctx.state.settings.config;
    let mut requires_invite = config.feature("MAILING") && config.feature("REQUIRE_TEAM_INVITE");
    if user.robot {
        requires_invite = false;
        if !user.username.starts_with(&format!("{orgname}+")) {
            return Err(QuayApiError::bad_request(
                "Cannot add the specified robot to this team, as it is not a member of the organization",
            ));
        }
    } else if requires_invite {
        requires_invite = !db.is_org_team_member(org.id, user.id).await?;
    }

    if !requires_invite {
        if !db.add_team_member(team.id, user.id).await? {
            return Err(QuayApiError::bad_request(format!(
                "User {} is already a member of team {}",
                user.username, team.name
            )));
        }
        ctx.log(
            "org_add_team_member",
            org.id,
            None,
            json!({"member": membername, "team": teamname}),
        )
        .await?;
        return Ok(ok(member_view(&user, false)));
    }

    let (inviter_id, inviter_name) = ctx.caller.require_user()?;
    let inviter_name = inviter_name.to_owned();
    let token = quayside_domain::namespace::new_team_invite_token();
    let metadata = json!({
        "code": token,
        "inviter": inviter_name,
        "org": org.username,
        "team": team.name,
    });
    db.insert_team_invite(&NewTeamInvite {
        team_id: team.id,
        user_id: Some(user.id),
        email: None,
        inviter_id,
        invite_token: token.clone(),
        notification: Some(NewNotification {
            uuid: uuid::Uuid::new_v4().to_string(),
            kind: "org_team_invite".into(),
            target_id: user.id,
            metadata_json: quayside_auth::python_json_dumps(&metadata),
            created: chrono::Utc::now().naive_utc(),
        }),
    })
    .await?;
    ctx.log(
        "org_invite_team_member",
        org.id,
        None,
        json!({"user": membername, "member": membername, "team": teamname}),
    )
    .await?;
    Ok(ok(member_view(&user, true)))
}

async fn delete_member(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let teamname = ctx.param("teamname").to_owned();
    let membername = ctx.param("membername").to_owned();
    require_team_admin(&ctx, &orgname).await?;
    let Some((org, team)) = find_team(&ctx, &orgname, &teamname).await? else {
        return Err(QuayApiError::not_found());
    };
    let Some(member) = user_or_robot(&ctx, &membername).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    if db.delete_team_user_invite(team.id, member.id).await? {
        ctx.log(
            "org_delete_team_member_invite",
            org.id,
            None,
            json!({"user": membername, "team": teamname, "member": membername}),
        )
        .await?;
        return Ok(no_content());
    }
    if !db.is_team_member(team.id, member.id).await? {
        return Err(QuayApiError::bad_request(format!(
            "User {membername} does not belong to team {teamname}"
        )));
    }
    if membername == caller_name(&ctx) {
        let admin_teams = caller_admin_teams(&ctx, &org).await?;
        if admin_teams.contains(&team.name) && admin_teams.len() <= 1 {
            return Err(QuayApiError::bad_request(
                "User cannot remove themselves from their only admin team.",
            ));
        }
    }
    db.remove_team_member(team.id, member.id).await?;
    ctx.log(
        "org_remove_team_member",
        org.id,
        None,
        json!({"member": membername, "team": teamname}),
    )
    .await?;
    Ok(no_content())
}

async fn team_permissions(ctx: Ctx) -> ApiResult {
    let orgname = ctx.param("orgname").to_owned();
    let teamname = ctx.param("teamname").to_owned();
    let allowed = is_admin_of(&ctx, &orgname).await?
        || full_access_superuser(&ctx)
        || global_readonly_superuser(&ctx);
    if !allowed {
        return Err(ctx.caller.unauthorized());
    }
    let Some((_, team)) = find_team(&ctx, &orgname, &teamname).await? else {
        return Err(QuayApiError::not_found());
    };
    let permissions: Vec<Value> = ctx
        .auth()
        .db()
        .team_repo_permissions(team.id)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "repository": {"name": p.repository, "is_public": p.visibility.is_public()},
                "role": p.role,
            })
        })
        .collect();
    Ok(ok(json!({ "permissions": permissions })))
}
