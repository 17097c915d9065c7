//! Superuser management of users and organizations (Quay `endpoints/api/superuser.py`,
//! `superuser_models_pre_oci.py`, `quay-api.md` §2.4). Everything here exists only with
//! `FEATURE_SUPER_USERS` and needs a superuser (OAuth tokens: `super:user`); the reads
//! also accept global read-only superusers.
//!
//! As in Quay:
//! * the JSON body is validated before the permission check, and `POST …/users/` answers
//!   "Cannot create a user in a non-database auth system" before it too;
//! * users and organizations are listed by id, all at once or, with `limit` (≤ 100),
//!   page by page with `next_page`; users marked for deletion are left out, and
//!   `disabled=false` keeps only enabled users;
//! * superusers (`SUPER_USERS`) cannot be changed or deleted here;
//! * `PUT …/users/{username}` answers the user as it was before the change, with the new
//!   `email` and, for a new password, its `encrypted_password`;
//! * deleting marks the namespace for deletion (`namespacegc` queue) without the
//!   sole-admin check; audit rows: `user_create`, `user_change_password`,
//!   `user_change_email`, `user_enable` / `user_disable`, `user_delete`,
//!   `org_change_name`.
//!
//! Differences: `superuser` in `PUT …/users/{username}` is refused (`400 invalid_request`)
//! because `SUPER_USERS` lives in `config.yaml`, which quayside does not rewrite; no
//! confirmation mail is sent for created users; quota keys are not shown; renaming an
//! organization to a taken name answers `400 {"message": "Username is already in use"}`
//! where Quay fails with a database error.

use base64::Engine;
use quayside_auth::AuthError;
use quayside_meta::users::UserDetails;
use serde_json::{json, Value};

use crate::ctx::{no_content, ok, Body, Ctx};
use crate::endpoints::user::{bool_field, required_str, str_field, truthy_query};
use crate::routes::{delete, get, h, post, put, ApiResult, Operation, QueryParam};
use crate::views::avatar;
use crate::{QuayApiError, QuayApiSettings};

const SUPERUSER_CHANGE_REFUSED: &str =
    "Cannot change superuser status: SUPER_USERS is read from config.yaml";

const LIST_USERS_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "disabled",
        kind: "boolean",
        description: "If false, only enabled users will be returned.",
    },
    QueryParam {
        name: "limit",
        kind: "integer",
        description: "Limit to the number of results to return per page. Max 100.",
    },
    QueryParam {
        name: "next_page",
        kind: "string",
        description: "The page token for the next page",
    },
];

const LIST_ORGS_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "limit",
        kind: "integer",
        description: "Limit to the number of results to return per page. Max 100.",
    },
    QueryParam {
        name: "next_page",
        kind: "string",
        description: "The page token for the next page",
    },
];

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    if !settings.config.feature("SUPER_USERS") {
        return Vec::new();
    }
    vec![
        get(
            "/api/v1/superuser/users/",
            "listAllUsers",
            h!(list_all_users),
        )
        .tag("superuser")
        .summary("Returns a list of all users in the system.")
        .scope("super:user")
        .fresh_login()
        .query(LIST_USERS_PARAMS),
        post(
            "/api/v1/superuser/users/",
            "createInstallUser",
            h!(create_install_user),
        )
        .tag("superuser")
        .summary("Creates a new user.")
        .scope("super:user")
        .fresh_login(),
        get(
            "/api/v1/superuser/users/{username}",
            "getInstallUser",
            h!(get_install_user),
        )
        .tag("superuser")
        .summary("Returns information about the specified user.")
        .scope("super:user")
        .fresh_login(),
        put(
            "/api/v1/superuser/users/{username}",
            "changeInstallUser",
            h!(change_install_user),
        )
        .tag("superuser")
        .summary("Updates information about the specified user.")
        .scope("super:user")
        .fresh_login(),
        delete(
            "/api/v1/superuser/users/{username}",
            "deleteInstallUser",
            h!(delete_install_user),
        )
        .tag("superuser")
        .summary("Deletes the specified user.")
        .scope("super:user")
        .fresh_login(),
        get(
            "/api/v1/superuser/organizations/",
            "listAllOrganizations",
            h!(list_all_organizations),
        )
        .tag("superuser")
        .summary("Returns a list of all organizations in the system.")
        .scope("super:user")
        .fresh_login()
        .internal()
        .query(LIST_ORGS_PARAMS),
        put(
            "/api/v1/superuser/organizations/{name}",
            "changeOrganization",
            h!(change_organization),
        )
        .tag("superuser")
        .summary("Updates information about the specified user.")
        .scope("super:user")
        .fresh_login(),
        delete(
            "/api/v1/superuser/organizations/{name}",
            "deleteOrganization",
            h!(delete_organization),
        )
        .tag("superuser")
        .summary("Deletes the specified organization.")
        .scope("super:user")
        .fresh_login(),
    ]
}

/// The superuser panel's user object (`User.to_dict`).
pub(crate) fn su_user_view(ctx: &Ctx, u: &UserDetails) -> Value {
    let auth = ctx.auth();
    json!({
        "kind": "user",
        "name": u.username,
        "username": u.username,
        "email": u.email,
        "verified": u.verified,
        "avatar": avatar(&u.username, Some(u.email.as_str()), "user"),
        "super_user": auth.is_superuser_name(&u.username),
        "global_readonly_super_user": auth.is_global_readonly_name(&u.username),
        "enabled": u.enabled,
    })
}

/// The superuser panel's organization object (`Organization.to_dict`).
fn su_org_view(o: &UserDetails) -> Value {
    json!({
        "name": o.username,
        "email": o.email,
        "avatar": avatar(&o.username, Some(o.email.as_str()), "org"),
    })
}

fn decode_page(token: Option<&str>) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token?)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("start_id")?.as_i64()
}

fn encode_page(start_id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({ "start_id": start_id }).to_string())
}

/// `limit` (≤ 100) and the page start, as Quay's `page_support` + `paginate`.
fn page_args(ctx: &Ctx) -> Result<(Option<i64>, Option<i64>), QuayApiError> {
    let limit = ctx.query_int("limit")?;
    if limit.is_some_and(|l| l > 100) {
        return Err(QuayApiError::invalid_request(
            "Page limit cannot be above 100",
        ));
    }
    let start = match limit {
        Some(_) => decode_page(ctx.query_str("next_page")),
        None => None,
    };
    Ok((limit.map(|l| l.max(0)), start))
}

/// Cuts `rows` (fetched with `limit + 1`) to a page and its `next_page` token.
fn paginate(mut rows: Vec<UserDetails>, limit: Option<i64>) -> (Vec<UserDetails>, Option<String>) {
    let Some(limit) = limit.and_then(|l| usize::try_from(l).ok()) else {
        return (rows, None);
    };
    if rows.len() > limit {
        let next = rows.get(limit).map(|r| encode_page(r.id));
        rows.truncate(limit);
        (rows, next)
    } else {
        (rows, None)
    }
}

async fn list_all_users(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(true)?;
    let include_disabled = ctx.query_str("disabled").is_none_or(truthy_query);
    let (limit, start) = page_args(&ctx)?;
    let rows = ctx
        .auth()
        .db()
        .list_users(include_disabled, start, limit.map(|l| l + 1))
        .await?;
    let (rows, next) = paginate(rows, limit);
    let users: Vec<Value> = rows.iter().map(|u| su_user_view(&ctx, u)).collect();
    let mut body = json!({ "users": users });
    if let Some(next) = next {
        body["next_page"] = Value::from(next);
    }
    Ok(ok(body))
}

async fn list_all_organizations(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(true)?;
    let (limit, start) = page_args(&ctx)?;
    let rows = ctx
        .auth()
        .db()
        .list_organizations(start, limit.map(|l| l + 1))
        .await?;
    let (rows, next) = paginate(rows, limit);
    let orgs: Vec<Value> = rows.iter().map(su_org_view).collect();
    let mut body = json!({ "organizations": orgs });
    if let Some(next) = next {
        body["next_page"] = Value::from(next);
    }
    Ok(ok(body))
}

async fn create_install_user(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let username = required_str(&body, "username")?;
    let email = str_field(&body, "email")?;
    if !ctx.state.settings.database_auth() {
        return Err(QuayApiError::invalid_request(
            "Cannot create a user in a non-database auth system",
        ));
    }
    ctx.require_superuser(false)?;
    let auth = ctx.auth();
    let config = &ctx.state.settings.config;
    let (user_id, password) = auth
        .create_install_user(username, email, config.feature("MAILING"))
        .await?;
    if config.feature("USER_METADATA") {
        auth.db()
            .add_user_prompts(user_id, &["enter_name", "enter_company"])
            .await?;
    }
    let superuser = ctx.caller.user().map(|(_, n)| n.to_owned());
    ctx.log(
        "user_create",
        user_id,
        None,
        json!({ "email": email, "username": username, "superuser": superuser }),
    )
    .await?;
    Ok(ok(json!({
        "username": username,
        "email": email,
        "password": password,
        "encrypted_password": auth.encrypt_user_password(&password),
    })))
}

/// Quay's `get_nonrobot_user` for these endpoints (organizations are not users).
async fn target_user(ctx: &Ctx) -> Result<UserDetails, QuayApiError> {
    match ctx
        .auth()
        .db()
        .user_details_by_username(ctx.param("username"))
        .await?
    {
        Some(u) if !u.organization && !u.robot => Ok(u),
        _ => Err(QuayApiError::not_found()),
    }
}

async fn get_install_user(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(true)?;
    let user = target_user(&ctx).await?;
    Ok(ok(su_user_view(&ctx, &user)))
}

/// The `UpdateUser` body of `changeInstallUser`.
struct ChangeUser<'a> {
    password: Option<&'a str>,
    email: Option<&'a str>,
    enabled: Option<bool>,
}

impl<'a> ChangeUser<'a> {
    fn parse(body: &'a Body) -> Result<ChangeUser<'a>, QuayApiError> {
        Ok(ChangeUser {
            password: str_field(body, "password")?,
            email: str_field(body, "email")?,
            enabled: bool_field(body, "enabled")?,
        })
    }
}

async fn change_install_user(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let ChangeUser {
        password,
        email,
        enabled,
    } = ChangeUser::parse(&body)?;
    ctx.require_superuser(false)?;
    let user = target_user(&ctx).await?;
    let auth = ctx.auth();
    if auth.is_superuser_name(&user.username) {
        return Err(QuayApiError::invalid_request("Cannot update a superuser"));
    }
    if body.has("superuser") {
        return Err(QuayApiError::invalid_request(SUPERUSER_CHANGE_REFUSED));
    }
    let settings = &ctx.state.settings;
    let superuser = ctx.caller.user().map(|(_, n)| n.to_owned());
    let username = user.username.clone();

    if let Some(password) = password {
        if !settings.database_auth() {
            return Err(QuayApiError::invalid_request(
                "Cannot change password in non-database auth",
            ));
        }
        ctx.log(
            "user_change_password",
            user.id,
            None,
            json!({ "username": username, "superuser": superuser }),
        )
        .await?;
        auth.change_user_password(user.id, password).await?;
    }

    if let Some(new_email) = email {
        if !matches!(
            settings.authentication_type.as_str(),
            "Database" | "AppToken"
        ) {
            return Err(QuayApiError::invalid_request(
                "Cannot change e-mail in non-database auth",
            ));
        }
        let taken = new_email != user.email && auth.db().email_used_by_user(new_email).await?;
        if taken {
            return Err(QuayApiError::bad_request("E-mail address already used"));
        }
        auth.db().set_user_email(user.id, new_email, true).await?;
        ctx.log(
            "user_change_email",
            user.id,
            None,
            json!({ "old_email": user.email, "email": new_email, "superuser": superuser }),
        )
        .await?;
    }

    if let Some(enabled) = enabled {
        let kind = if enabled {
            "user_enable"
        } else {
            "user_disable"
        };
        ctx.log(
            kind,
            user.id,
            None,
            json!({ "username": username, "superuser": superuser }),
        )
        .await?;
        auth.set_user_enabled(user.id, enabled).await?;
    }

    let mut view = su_user_view(&ctx, &user);
    if let Some(password) = password {
        view["encrypted_password"] = Value::from(auth.encrypt_user_password(password));
    }
    if let Some(email) = email {
        view["email"] = Value::from(email);
    }
    Ok(ok(view))
}

async fn delete_install_user(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(false)?;
    let user = target_user(&ctx).await?;
    let auth = ctx.auth();
    if auth.is_superuser_name(&user.username) {
        return Err(QuayApiError::invalid_request("Cannot delete a superuser"));
    }
    ctx.log(
        "user_delete",
        user.id,
        None,
        json!({ "username": user.username }),
    )
    .await?;
    auth.db()
        .mark_namespace_for_deletion(user.id, quayside_meta::deletion::NAMESPACE_GC_QUEUE)
        .await?;
    auth.invalidate_credentials();
    Ok(no_content())
}

/// Quay's `get_organization(name)`: `400 {"message": "Organization does not exist: …"}`.
async fn target_org(ctx: &Ctx) -> Result<UserDetails, QuayApiError> {
    let name = ctx.param("name");
    match ctx.auth().db().user_details_by_username(name).await? {
        Some(o) if o.organization => Ok(o),
        _ => Err(QuayApiError::bad_request(format!(
            "Organization does not exist: {name}"
        ))),
    }
}

async fn change_organization(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let new_name = str_field(&body, "name")?;
    ctx.require_superuser(false)?;
    let org = target_org(&ctx).await?;
    let superuser = ctx.caller.user().map(|(_, n)| n.to_owned());
    ctx.log(
        "org_change_name",
        org.id,
        None,
        json!({ "old_name": org.username, "new_name": new_name, "superuser": superuser }),
    )
    .await?;
    let auth = ctx.auth();
    if let Some(new_name) = new_name {
        if new_name != org.username && auth.db().account_by_username(new_name).await?.is_some() {
            return Err(QuayApiError::bad_request("Username is already in use"));
        }
        match auth.rename_account(org.id, new_name).await {
            Ok(()) => {}
            Err(AuthError::BadRequest(m)) => return Err(QuayApiError::bad_request(m)),
            Err(e) => return Err(e.into()),
        }
    }
    let org = auth
        .db()
        .user_details_by_id(org.id)
        .await?
        .ok_or_else(|| QuayApiError::Internal("renamed organization vanished".into()))?;
    Ok(ok(su_org_view(&org)))
}

async fn delete_organization(ctx: Ctx) -> ApiResult {
    ctx.require_superuser(false)?;
    let org = target_org(&ctx).await?;
    let auth = ctx.auth();
    auth.db()
        .mark_namespace_for_deletion(org.id, quayside_meta::deletion::NAMESPACE_GC_QUEUE)
        .await?;
    auth.invalidate_credentials();
    Ok(no_content())
}
