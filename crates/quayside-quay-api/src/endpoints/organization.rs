//! Organizations (Quay `endpoints/api/organization.py`, `quay-api.md` §2.5): create, view,
//! change and delete an organization; its members and outside collaborators.
//!
//! As in Quay:
//! * the JSON body is validated before the permission check; Quay's `request_error`s are
//!   problem JSON (`invalid_request`), its data-model errors `400 {"message"}`;
//! * `AdministerOrganizationPermission` is org admin through a team (clamped by OAuth
//!   scopes); superusers act on organizations they do not administer only with
//!   `FEATURE_SUPERUSERS_FULL_ACCESS`, global read-only superusers may read;
//! * the organization's own `email` column is an internal uuid4 and the contact address lives
//!   in `organizationcontactemail` (the body's `contact_email`, else `email`); the view's
//!   `email` is that contact address for admins (and superusers allowed to view), else `""`.
//!   An organization without a contact row (created before that table existed) shows its
//!   `email` column unless it is an internal uuid4;
//! * deleting an organization marks it for deletion (`namespacegc` queue) after logging
//!   `org_delete`; the namespace GC worker removes it later.
//!
//! * members and admins see `quotas` / `quota_report` with `FEATURE_QUOTA_MANAGEMENT` +
//!   `FEATURE_EDIT_QUOTA`.
//!
//! Not done: team syncing (`is_synced` is always false), reCAPTCHA
//! (`FEATURE_RECAPTCHA`: the response is not verified), the abuse IP check.

use quayside_auth::{TeamRole, UserRole};
use quayside_meta::identity::AccountRow;
use quayside_meta::orgs::OrgRow;
use serde_json::{json, Map, Value};

use crate::ctx::{created, no_content, ok, py_repr, Ctx};
use crate::routes::{delete, get, h, post, put, ApiResult, Operation};
use crate::views::{account_avatar, avatar, team_avatar};
use crate::{QuayApiError, QuayApiSettings};

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        post(
            "/api/v1/organization/",
            "createOrganization",
            h!(create_organization),
        )
        .tag("organization")
        .summary("Create a new organization.")
        .scope("user:admin"),
        get(
            "/api/v1/organization/{orgname}",
            "getOrganization",
            h!(get_organization),
        )
        .tag("organization")
        .summary("Get the details for the specified organization."),
        put(
            "/api/v1/organization/{orgname}",
            "changeOrganizationDetails",
            h!(change_organization),
        )
        .tag("organization")
        .summary("Change the details for the specified organization.")
        .scope("org:admin"),
        delete(
            "/api/v1/organization/{orgname}",
            "deleteAdminedOrganization",
            h!(delete_organization),
        )
        .tag("organization")
        .summary("Deletes the specified organization.")
        .scope("org:admin")
        .fresh_login(),
        get(
            "/api/v1/organization/{orgname}/members",
            "getOrganizationMembers",
            h!(list_members),
        )
        .tag("organization")
        .summary("List the human members of the specified organization.")
        .scope("org:admin"),
        get(
            "/api/v1/organization/{orgname}/members/{membername}",
            "getOrganizationMember",
            h!(get_member),
        )
        .tag("organization")
        .summary("Retrieves the details of a member of the organization.")
        .scope("org:admin"),
        delete(
            "/api/v1/organization/{orgname}/members/{membername}",
            "removeOrganizationMember",
            h!(remove_member),
        )
        .tag("organization")
        .summary("Removes a member from an organization, revoking all its repository priviledges and removing it from all teams in the organization.")
        .scope("org:admin"),
        get(
            "/api/v1/organization/{orgname}/collaborators",
            "getOrganizationCollaborators",
            h!(list_collaborators),
        )
        .tag("organization")
        .summary("List outside collaborators of the specified organization.")
        .scope("org:admin"),
    ]
}

const NAME_EXISTS: &str = "A user or organization with this name already exists";
const INVALID_EMAIL: &str = "Invalid email address";

// ---------------------------------------------------------------------------------------
// Permission helpers shared with `team` and `prototype`.

/// `AdministerOrganizationPermission(name)` (no superuser shortcut): admin of the
/// namespace through a team, or the user's own namespace — clamped by OAuth scopes.
pub(crate) async fn is_admin_of(ctx: &Ctx, name: &str) -> Result<bool, QuayApiError> {
    let Some(ns) = ctx.namespace(name).await? else {
        return Ok(false);
    };
    Ok(ctx.namespace_role(&ns).await? == Some(TeamRole::Admin))
}

/// Superuser acting with `FEATURE_SUPERUSERS_FULL_ACCESS`.
pub(crate) fn full_access_superuser(ctx: &Ctx) -> bool {
    ctx.auth().is_full_access_superuser(ctx.identity())
}

/// Global read-only superuser (`allow_if_global_readonly_superuser`).
pub(crate) fn global_readonly_superuser(ctx: &Ctx) -> bool {
    ctx.auth().is_global_readonly_superuser(ctx.identity())
}

/// The caller's name for the last-admin rules (`get_authenticated_user().username`).
pub(crate) fn caller_name(ctx: &Ctx) -> String {
    ctx.identity().username().unwrap_or_default().to_owned()
}

/// Quay's `get_organization`: `None` unless `name` is an organization.
pub(crate) async fn organization(ctx: &Ctx, name: &str) -> Result<Option<OrgRow>, QuayApiError> {
    Ok(ctx.auth().db().org_by_name(name).await?)
}

/// Quay's `model.user.get_user`: a user or robot (not an organization).
pub(crate) async fn user_or_robot(
    ctx: &Ctx,
    name: &str,
) -> Result<Option<AccountRow>, QuayApiError> {
    Ok(ctx
        .auth()
        .db()
        .account_by_username(name)
        .await?
        .filter(|a| !a.organization))
}

/// Python's `repr` of a string (a data-model message built from a tuple shows it).
pub(crate) fn py_str(s: &str) -> String {
    py_repr(&Value::from(s))
}

// ---------------------------------------------------------------------------------------
// Views.

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// The organization's contact address as its view shows it.
fn contact_address(org: &OrgRow) -> String {
    match &org.contact_email {
        Some(c) => c.clone(),
        None if !is_uuid(&org.account.email) => org.account.email.clone(),
        None => String::new(),
    }
}

/// Quay's `org_view`. `with_teams`: the `teams`/`ordered_teams` keys are present.
pub(crate) async fn org_view(
    ctx: &Ctx,
    org: &OrgRow,
    with_teams: bool,
) -> Result<Value, QuayApiError> {
    let role = ctx.namespace_role(&org.account).await?;
    let is_admin = role == Some(TeamRole::Admin);
    let is_member = role.is_some();
    let superuser_view = global_readonly_superuser(ctx) || full_access_superuser(ctx);
    let mut view = Map::new();
    view.insert("name".into(), Value::from(org.account.username.as_str()));
    view.insert(
        "email".into(),
        Value::from(if is_admin || superuser_view {
            contact_address(org)
        } else {
            String::new()
        }),
    );
    // Quirk kept from Quay: built with the user helper, so `kind` is "user".
    view.insert(
        "avatar".into(),
        avatar(
            &org.account.username,
            Some(org.account.email.as_str()),
            "user",
        ),
    );
    view.insert("is_admin".into(), Value::from(is_admin));
    view.insert("is_member".into(), Value::from(is_member));
    if with_teams {
        let db = ctx.auth().db();
        let teams = db.teams_of_org(org.account.id).await?;
        let viewable: Option<Vec<String>> = if superuser_view || is_admin {
            None
        } else {
            match ctx.identity().account_id() {
                Some(id) if quayside_auth::team_cap(ctx.identity()).is_some() => {
                    Some(db.account_team_names(id, org.account.id).await?)
                }
                _ => Some(Vec::new()),
            }
        };
        let mut map = Map::new();
        let mut ordered = Vec::with_capacity(teams.len());
        for t in &teams {
            let can_view = viewable
                .as_ref()
                .is_none_or(|names| names.contains(&t.team.name));
            map.insert(
                t.team.name.clone(),
                json!({
                    "name": t.team.name,
                    "description": t.team.description,
                    "role": t.team.role,
                    "avatar": team_avatar(&t.team.name),
                    "can_view": can_view,
                    "repo_count": t.repo_count,
                    "member_count": t.member_count,
                    "is_synced": false,
                }),
            );
            ordered.push(Value::from(t.team.name.as_str()));
        }
        view.insert("teams".into(), Value::Object(map));
        view.insert("ordered_teams".into(), Value::Array(ordered));
    }
    if is_admin {
        view.insert("invoice_email".into(), Value::from(org.invoice_email));
        view.insert(
            "invoice_email_address".into(),
            org.invoice_email_address
                .as_deref()
                .map_or(Value::Null, Value::from),
        );
        view.insert(
            "tag_expiration_s".into(),
            Value::from(org.removed_tag_expiration_s),
        );
        view.insert(
            "is_free_account".into(),
            Value::from(org.stripe_id.is_none()),
        );
    }
    if (is_admin || is_member) && crate::endpoints::quota::quota_in_views(ctx) {
        view.insert(
            "quotas".into(),
            crate::endpoints::quota::own_quotas(ctx, org.account.id).await?,
        );
        view.insert(
            "quota_report".into(),
            crate::endpoints::quota::quota_report(ctx, org.account.id).await?,
        );
    }
    Ok(Value::Object(view))
}

fn team_ref(id_name: &str) -> Value {
    json!({"name": id_name, "avatar": team_avatar(id_name)})
}

// ---------------------------------------------------------------------------------------
// Handlers.

/// Quay's `is_restricted_user`: with `FEATURE_RESTRICTED_USERS`, every user not in
/// `RESTRICTED_USERS_WHITELIST` (robots by their owner's name) — all users without one.
fn is_restricted(ctx: &Ctx, username: &str) -> bool {
    let config = &ctx.state.settings.config;
    if !config.feature("RESTRICTED_USERS") {
        return false;
    }
    let owner = username.split('+').next().unwrap_or(username);
    match config
        .get("RESTRICTED_USERS_WHITELIST")
        .and_then(Value::as_array)
    {
        Some(list) if !list.is_empty() => !list.iter().any(|v| v.as_str() == Some(owner)),
        _ => true,
    }
}

async fn create_organization(ctx: Ctx) -> ApiResult {
    // require_user_admin(disallow_for_restricted_users=FEATURE_RESTRICTED_USERS)
    let (user_id, username) = ctx.caller.require_user()?;
    let username = username.to_owned();
    if is_restricted(&ctx, &username) && !ctx.is_superuser() {
        return Err(ctx.caller.unauthorized());
    }
    if ctx.user_role(&username) != Some(UserRole::Admin) {
        return Err(ctx.caller.unauthorized());
    }
    let body = ctx.json()?;
    let name = body.req_str("name")?.to_owned();
    let email = body.opt_str("email")?.map(str::to_owned);
    let contact_field = body.opt_str("contact_email")?.map(str::to_owned);
    body.opt_str("recaptcha_response")?;

    if ctx
        .state
        .settings
        .config
        .feature("SUPERUSERS_ORG_CREATION_ONLY")
        && !ctx.is_superuser()
    {
        return Err(ctx.caller.unauthorized());
    }
    if is_restricted(&ctx, &username) && !ctx.auth().is_superuser_name(&username) {
        return Err(ctx.caller.unauthorized());
    }
    let db = ctx.auth().db();
    if db.account_by_username(&name).await?.is_some() {
        return Err(QuayApiError::invalid_request(NAME_EXISTS));
    }
    let contact = contact_field
        .filter(|c| !c.is_empty())
        .or_else(|| email.clone().filter(|e| !e.is_empty()));
    if let Some(c) = &contact {
        if !quayside_domain::namespace::is_valid_email(c) {
            return Err(QuayApiError::invalid_request(INVALID_EMAIL));
        }
    }
    let org_id = match ctx
        .auth()
        .namespaces()
        .create_organization(&name, contact.as_deref(), user_id)
        .await
    {
        Ok(id) => id,
        Err(quayside_domain::DomainError::Invalid(msg)) => {
            return Err(QuayApiError::invalid_request(msg))
        }
        Err(e) => return Err(e.into()),
    };
    ctx.log(
        "org_create",
        org_id,
        None,
        json!({"email": contact, "namespace": name}),
    )
    .await?;
    Ok(created())
}

async fn get_organization(ctx: Ctx) -> ApiResult {
    let name = ctx.param("orgname");
    let Some(org) = organization(&ctx, name).await? else {
        return Err(QuayApiError::not_found());
    };
    let role = ctx.namespace_role(&org.account).await?;
    let with_teams =
        role.is_some() || global_readonly_superuser(&ctx) || full_access_superuser(&ctx);
    Ok(ok(org_view(&ctx, &org, with_teams).await?))
}

async fn change_organization(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let invoice_email = body.opt_bool("invoice_email")?;
    let invoice_address = match body.get("invoice_email_address") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(other) => {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'string', 'null'",
                py_repr(other)
            )))
        }
    };
    let email_field = body.opt_str("email")?.map(str::to_owned);
    let contact_field = body.opt_str("contact_email")?.map(str::to_owned);
    let tag_expiration = body.opt_i64("tag_expiration_s")?;
    if let Some(t) = tag_expiration {
        if t < 0 {
            return Err(QuayApiError::invalid_request(format!(
                "{t} is less than the minimum of 0"
            )));
        }
    }

    let name = ctx.param("orgname").to_owned();
    if !(is_admin_of(&ctx, &name).await? || full_access_superuser(&ctx)) {
        return Err(ctx.caller.unauthorized());
    }
    let Some(org) = organization(&ctx, &name).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    let org_id = org.account.id;
    if let Some(on) = invoice_email {
        db.set_invoice_email(org_id, on).await?;
        ctx.log(
            "org_change_invoicing",
            org_id,
            None,
            json!({"invoice_email": on, "namespace": name}),
        )
        .await?;
    }
    if let Some(address) = invoice_address {
        if address != org.invoice_email_address {
            db.set_invoice_email_address(org_id, address.as_deref())
                .await?;
            ctx.log(
                "org_change_invoicing",
                org_id,
                None,
                json!({"invoice_email_address": address, "namespace": name}),
            )
            .await?;
        }
    }
    // `contact_email` wins over the older `email` key; "" clears the contact address.
    if let Some(new_contact) = contact_field.or(email_field) {
        let old = contact_address(&org);
        if new_contact != old {
            if !new_contact.is_empty() && !quayside_domain::namespace::is_valid_email(&new_contact)
            {
                return Err(QuayApiError::invalid_request(INVALID_EMAIL));
            }
            let stored = Some(new_contact.as_str()).filter(|c| !c.is_empty());
            db.set_org_contact_email(org_id, stored).await?;
            ctx.log(
                "org_change_email",
                org_id,
                None,
                json!({"email": new_contact, "namespace": name, "old_email": old}),
            )
            .await?;
        }
    }
    if let Some(seconds) = tag_expiration {
        if ctx.state.settings.config.feature("CHANGE_TAG_EXPIRATION") {
            super::tag_expiration::validate_tag_expiration(&ctx.state.settings, seconds)?;
            db.set_tag_expiration(org_id, seconds).await?;
            ctx.log(
                "org_change_tag_expiration",
                org_id,
                None,
                json!({"tag_expiration": seconds, "namespace": name}),
            )
            .await?;
        }
    }
    let Some(org) = organization(&ctx, &name).await? else {
        return Err(QuayApiError::not_found());
    };
    Ok(ok(org_view(&ctx, &org, true).await?))
}

async fn delete_organization(ctx: Ctx) -> ApiResult {
    // require_fresh_login: a signed-in (non-robot) user; OAuth tokens count as fresh.
    ctx.caller.require_user()?;
    let name = ctx.param("orgname").to_owned();
    if !(is_admin_of(&ctx, &name).await? || full_access_superuser(&ctx)) {
        return Err(ctx.caller.unauthorized());
    }
    let Some(org) = organization(&ctx, &name).await? else {
        return Err(QuayApiError::not_found());
    };
    ctx.log(
        "org_delete",
        org.account.id,
        None,
        json!({"namespace": name}),
    )
    .await?;
    ctx.auth()
        .db()
        .mark_namespace_for_deletion(org.account.id, "namespacegc")
        .await?;
    ctx.auth().invalidate_credentials();
    Ok(no_content())
}

/// Org admin, global read-only superuser or full-access superuser (the readers of
/// members and member details).
async fn require_member_reader(ctx: &Ctx, name: &str) -> Result<(), QuayApiError> {
    if is_admin_of(ctx, name).await? || global_readonly_superuser(ctx) || full_access_superuser(ctx)
    {
        Ok(())
    } else {
        Err(ctx.caller.unauthorized())
    }
}

async fn list_members(ctx: Ctx) -> ApiResult {
    let name = ctx.param("orgname").to_owned();
    require_member_reader(&ctx, &name).await?;
    let Some(org) = organization(&ctx, &name).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    let mut order: Vec<String> = Vec::new();
    let mut members: Map<String, Value> = Map::new();
    for m in db.org_memberships(org.account.id).await? {
        if m.member.robot {
            continue;
        }
        let entry = members.entry(m.member.username.clone()).or_insert_with(|| {
            order.push(m.member.username.clone());
            json!({
                "name": m.member.username,
                "kind": "user",
                "avatar": account_avatar(&m.member),
                "teams": [],
                "repositories": [],
            })
        });
        if let Some(teams) = entry.get_mut("teams").and_then(Value::as_array_mut) {
            teams.push(team_ref(&m.team_name));
        }
    }
    for p in db.org_user_permissions(org.account.id, None).await? {
        if let Some(repos) = members
            .get_mut(&p.member.username)
            .and_then(|m| m.get_mut("repositories"))
            .and_then(Value::as_array_mut)
        {
            repos.push(Value::from(p.repository));
        }
    }
    let list: Vec<Value> = order.iter().filter_map(|n| members.remove(n)).collect();
    Ok(ok(json!({ "members": list })))
}

async fn get_member(ctx: Ctx) -> ApiResult {
    let name = ctx.param("orgname").to_owned();
    let member_name = ctx.param("membername").to_owned();
    require_member_reader(&ctx, &name).await?;
    let Some(member) = user_or_robot(&ctx, &member_name).await? else {
        return Err(QuayApiError::not_found());
    };
    // `get_user_or_org`: a user namespace works too (it simply has no teams).
    let Some(ns) = ctx.namespace(&name).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    let teams = db.account_org_teams(member.id, ns.id).await?;
    if teams.is_empty() {
        let robot_of_ns = member.robot
            && member
                .username
                .split_once('+')
                .is_some_and(|(owner, _)| owner == name);
        if !robot_of_ns {
            return Err(QuayApiError::not_found());
        }
    }
    let repositories: Vec<Value> = db
        .org_user_permissions(ns.id, Some(member.id))
        .await?
        .into_iter()
        .map(|p| Value::from(p.repository))
        .collect();
    Ok(ok(json!({
        "name": member.username,
        "kind": if member.robot { "robot" } else { "user" },
        "avatar": account_avatar(&member),
        "teams": teams.iter().map(|(_, t)| team_ref(t)).collect::<Vec<_>>(),
        "repositories": repositories,
    })))
}

async fn remove_member(ctx: Ctx) -> ApiResult {
    let name = ctx.param("orgname").to_owned();
    let member_name = ctx.param("membername").to_owned();
    if !(is_admin_of(&ctx, &name).await? || full_access_superuser(&ctx)) {
        return Err(ctx.caller.unauthorized());
    }
    let Some(member) = user_or_robot(&ctx, &member_name)
        .await?
        .filter(|m| !m.robot)
    else {
        return Err(QuayApiError::not_found());
    };
    let Some(org) = organization(&ctx, &name).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    let admins = db.org_admin_user_ids(org.account.id).await?;
    if admins.len() == 1 && admins.contains(&member.id) {
        return Err(QuayApiError::bad_request(
            "Cannot remove user as they are the only organization admin",
        ));
    }
    db.remove_org_member(org.account.id, member.id).await?;
    Ok(no_content())
}

async fn list_collaborators(ctx: Ctx) -> ApiResult {
    let name = ctx.param("orgname").to_owned();
    let allowed = is_admin_of(&ctx, &name).await?
        || global_readonly_superuser(&ctx)
        || full_access_superuser(&ctx);
    if !allowed {
        return Err(ctx.caller.unauthorized());
    }
    let Some(org) = organization(&ctx, &name).await? else {
        return Err(QuayApiError::not_found());
    };
    let db = ctx.auth().db();
    let members: std::collections::HashSet<String> = db
        .org_memberships(org.account.id)
        .await?
        .into_iter()
        .map(|m| m.member.username)
        .collect();
    let mut order: Vec<String> = Vec::new();
    let mut collaborators: Map<String, Value> = Map::new();
    for p in db.org_user_permissions(org.account.id, None).await? {
        if members.contains(&p.member.username) {
            continue;
        }
        let entry = collaborators
            .entry(p.member.username.clone())
            .or_insert_with(|| {
                order.push(p.member.username.clone());
                json!({
                    "kind": "user",
                    "name": p.member.username,
                    "avatar": account_avatar(&p.member),
                    "repositories": [],
                })
            });
        if let Some(repos) = entry.get_mut("repositories").and_then(Value::as_array_mut) {
            repos.push(Value::from(p.repository));
        }
    }
    let list: Vec<Value> = order
        .iter()
        .filter_map(|n| collaborators.remove(n))
        .collect();
    Ok(ok(json!({ "collaborators": list })))
}
