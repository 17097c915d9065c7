//! The signed-in user and other users' public views (Quay `endpoints/api/user.py`,
//! `quay-api.md` §2.3): `GET/PUT/POST/DELETE /api/v1/user/` and
//! `GET /api/v1/users/{username}`.
//!
//! As in Quay:
//! * the user view always has `anonymous`, `username`, `avatar`; the account's owner
//!   (`user:admin`) also sees the private keys (`email`, `logins`, `prompts`, …), and
//!   with `user:read` the `organizations` list; a superuser caller gets `super_user`, a
//!   global read-only superuser `global_readonly_super_user` (true only on its own view);
//! * `PUT` applies the body's changes one after the other in Quay's order (a later
//!   failure leaves earlier changes done), each with its audit row (`account_change_password`,
//!   `user_change_invoicing`, `user_change_tag_expiration`, `user_change_email`,
//!   `user_change_metadata`, `user_change_name`);
//! * `POST` (signup) exists with `FEATURE_USER_CREATION` and `FEATURE_DIRECT_LOGIN` and
//!   answers 404 unless `AUTHENTICATION_TYPE` is `Database`;
//! * `DELETE` refuses while the user is the only admin of an organization and otherwise
//!   marks the namespace for deletion (`namespacegc` queue), logging `user_delete`.
//!
//! Differences, because quayside has no web sessions and sends no e-mail:
//! * signup does not log the new user in; when no e-mail confirmation is pending it
//!   answers the user view as the new user would see it (what Quay's response shows
//!   after its `common_login`). When `FEATURE_MAILING` needs a confirmation it answers
//!   `{"awaiting_verification": true}` without writing an `emailconfirmation` row or
//!   sending anything (the code could never reach the user);
//! * with `FEATURE_MAILING`, changing the e-mail in `PUT` is, as in Quay, left pending a
//!   confirmation that quayside cannot send: the address is validated and kept unchanged;
//! * with `FEATURE_RECAPTCHA` signup is refused with Quay's captcha message (the answer
//!   cannot be verified here);
//! * `BLACKLISTED_EMAIL_DOMAINS` is matched against the e-mail's domain and its last two
//!   labels (Quay uses the public-suffix-aware registered domain);
//! * the user's own view carries `quotas` / `quota_report` with `FEATURE_QUOTA_MANAGEMENT`
//!   + `FEATURE_EDIT_QUOTA`.

use quayside_auth::{AuthError, Identity, NewUserOptions, UserRole};
use quayside_meta::users::{UserDetails, UserMetadataChange};
use serde_json::{json, Map, Value};

use crate::ctx::{no_content, ok, py_repr, Body, Ctx};
use crate::error::ErrorType;
use crate::routes::{delete, get, h, post, put, ApiResult, Operation};
use crate::views::avatar;
use crate::{QuayApiError, QuayApiSettings};

/// Werkzeug's 404 text (Flask `abort(404)`).
pub(crate) const NOT_FOUND_TEXT: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let config = &settings.config;
    let mut ops = vec![
        get("/api/v1/user/", "getLoggedInUser", h!(get_logged_in_user))
            .tag("user")
            .summary("Get user information for the authenticated user.")
            .scope("user:read")
            .anon_allowed(),
        put(
            "/api/v1/user/",
            "changeUserDetails",
            h!(change_user_details),
        )
        .tag("user")
        .summary("Update a users details such as password or email.")
        .scope("user:admin")
        .fresh_login()
        .internal(),
        delete(
            "/api/v1/user/",
            "deleteCurrentUser",
            h!(delete_current_user),
        )
        .tag("user")
        .summary("Deletes the current user.")
        .scope("user:admin")
        .fresh_login()
        .internal(),
        get(
            "/api/v1/users/{username}",
            "getUserInformation",
            h!(get_user_information),
        )
        .tag("user")
        .summary("Get user information for the specified user."),
    ];
    if config.feature("USER_CREATION") && config.feature("DIRECT_LOGIN") {
        ops.push(
            post("/api/v1/user/", "createNewUser", h!(create_new_user))
                .tag("user")
                .summary("Create a new user.")
                .internal(),
        );
    }
    ops
}

// ---------------------------------------------------------------------------------------
// jsonschema-style field checks (Quay's `validate_json_request` messages)
// ---------------------------------------------------------------------------------------

fn not_of_type(v: &Value, ty: &str) -> QuayApiError {
    QuayApiError::invalid_request(format!("{} is not of type {ty}", py_repr(v)))
}

/// `{"type": "string"}`: absent → `None`; anything but a string (null included) fails.
pub(crate) fn str_field<'a>(body: &'a Body, key: &str) -> Result<Option<&'a str>, QuayApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(not_of_type(v, "'string'")),
    }
}

/// `{"type": ["string", "null"]}`: absent → `None`, null → `Some(None)`.
pub(crate) fn nullable_str_field<'a>(
    body: &'a Body,
    key: &str,
) -> Result<Option<Option<&'a str>>, QuayApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s))),
        Some(v) => Err(not_of_type(v, "'string', 'null'")),
    }
}

/// `{"type": "boolean"}`.
pub(crate) fn bool_field(body: &Body, key: &str) -> Result<Option<bool>, QuayApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(not_of_type(v, "'boolean'")),
    }
}

/// `{"type": "integer", "minimum": min}`.
fn int_field(body: &Body, key: &str, min: i64) -> Result<Option<i64>, QuayApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n < min => Err(QuayApiError::invalid_request(format!(
                "{n} is less than the minimum of {min}"
            ))),
            Some(n) => Ok(Some(n)),
            None => Err(not_of_type(v, "'integer'")),
        },
    }
}

/// A required string property.
pub(crate) fn required_str<'a>(body: &'a Body, key: &str) -> Result<&'a str, QuayApiError> {
    match str_field(body, key)? {
        Some(s) => Ok(s),
        None => Err(QuayApiError::invalid_request(format!(
            "'{key}' is a required property"
        ))),
    }
}

/// Quay's `truthy_bool` query parser: false only for `false/False/FALSE/0/null` and empty.
pub(crate) fn truthy_query(v: &str) -> bool {
    !matches!(v, "false" | "False" | "FALSE" | "0" | "" | "null")
}

// ---------------------------------------------------------------------------------------
// Permission guards
// ---------------------------------------------------------------------------------------

/// Quay's `require_user_admin`: the signed-in user with `UserAdminPermission` on itself,
/// else `Unauthorized` (401 anonymous / 403 signed in).
pub(crate) fn require_user_admin(ctx: &Ctx) -> Result<(i64, String), QuayApiError> {
    let Some((id, name)) = ctx.caller.user() else {
        return Err(ctx.caller.unauthorized());
    };
    if ctx.user_role(name) == Some(UserRole::Admin) {
        Ok((id, name.to_owned()))
    } else {
        Err(ctx.caller.unauthorized())
    }
}

fn session_required() -> QuayApiError {
    QuayApiError::problem(ErrorType::InvalidToken, "Requires authentication")
        .with("session_required", Value::Bool(false))
}

// ---------------------------------------------------------------------------------------
// The user view
// ---------------------------------------------------------------------------------------

fn user_avatar(u: &UserDetails) -> Value {
    avatar(&u.username, Some(u.email.as_str()), "user")
}

fn org_avatar_of(u: &UserDetails) -> Value {
    avatar(&u.username, Some(u.email.as_str()), "org")
}

fn public_namespaces(ctx: &Ctx) -> Vec<String> {
    ctx.state
        .settings
        .config
        .get("PUBLIC_NAMESPACES")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Quay's `user_view(user, previous_username)` as seen by `viewer`.
pub(crate) async fn user_view(
    ctx: &Ctx,
    viewer: &Identity,
    user: &UserDetails,
    previous_username: Option<&str>,
) -> Result<Value, QuayApiError> {
    let auth = ctx.auth();
    let db = auth.db();
    let mut view = Map::new();
    view.insert("anonymous".into(), Value::Bool(false));
    view.insert("username".into(), Value::from(user.username.as_str()));
    view.insert("avatar".into(), user_avatar(user));

    let admin_name = previous_username.unwrap_or(&user.username);
    let is_admin = auth.user_role(viewer, admin_name) == Some(UserRole::Admin);
    if is_admin {
        let logins: Vec<Value> = db
            .federated_logins(user.id)
            .await?
            .into_iter()
            .map(|l| {
                let metadata = serde_json::from_str::<Value>(&l.metadata_json)
                    .unwrap_or_else(|_| Value::Object(Map::new()));
                json!({
                    "service": l.service,
                    "service_identifier": l.service_ident,
                    "metadata": metadata,
                })
            })
            .collect();
        let prompts = db.user_prompts(user.id).await?;
        let extra = json!({
            "can_create_repo": true,
            "is_me": true,
            "verified": user.verified,
            "email": user.email,
            "logins": logins,
            "invoice_email": user.invoice_email,
            "invoice_email_address": user.invoice_email_address,
            "preferred_namespace": user.stripe_id.is_some(),
            "tag_expiration_s": user.removed_tag_expiration_s,
            "prompts": prompts,
            "company": user.company,
            "family_name": user.family_name,
            "given_name": user.given_name,
            "location": user.location,
            "is_free_account": user.stripe_id.is_none(),
            "has_password_set": user.has_password,
        });
        if let Value::Object(extra) = extra {
            view.extend(extra);
        }
        if crate::endpoints::quota::quota_in_views(ctx) {
            view.insert(
                "quotas".into(),
                crate::endpoints::quota::own_quotas(ctx, user.id).await?,
            );
            view.insert(
                "quota_report".into(),
                crate::endpoints::quota::quota_report(ctx, user.id).await?,
            );
        }
    }

    if auth.user_role(viewer, &user.username).is_some() {
        let mut orgs = db.user_organizations(user.id).await?;
        for name in public_namespaces(ctx) {
            if orgs.iter().any(|o| o.username == name) {
                continue;
            }
            if let Some(ns) = db.user_details_by_username(&name).await? {
                orgs.push(ns);
            }
        }
        let public = public_namespaces(ctx);
        let mut list = Vec::with_capacity(orgs.len());
        for o in &orgs {
            let Some(row) = db.account_by_id(o.id).await? else {
                continue;
            };
            let mut org = json!({
                "name": o.username,
                "avatar": org_avatar_of(o),
                "can_create_repo": auth.can_create_repo_in(viewer, &row).await?,
                "public": public.contains(&o.username),
            });
            if is_admin {
                org["is_org_admin"] = Value::Bool(auth.can_admin_namespace(viewer, &row).await?);
                org["preferred_namespace"] = Value::Bool(o.stripe_id.is_some());
            }
            list.push(org);
        }
        view.insert("organizations".into(), Value::Array(list));
    }

    let is_viewer = viewer.account_id() == Some(user.id);
    if ctx.state.settings.config.feature("SUPER_USERS") && auth.is_superuser(viewer) {
        view.insert("super_user".into(), Value::Bool(is_viewer));
    }
    if auth.is_global_readonly_superuser(viewer) {
        view.insert("global_readonly_super_user".into(), Value::Bool(is_viewer));
    }
    Ok(Value::Object(view))
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/user/
// ---------------------------------------------------------------------------------------

async fn get_logged_in_user(ctx: Ctx) -> ApiResult {
    let Some((id, name)) = ctx.caller.user() else {
        return Err(session_required());
    };
    if ctx.user_role(name).is_none() {
        return Err(session_required());
    }
    let user = match ctx.auth().db().user_details_by_id(id).await? {
        Some(u) if !u.organization && !u.robot => u,
        _ => return Err(session_required()),
    };
    Ok(ok(user_view(&ctx, ctx.identity(), &user, None).await?))
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/users/{username}
// ---------------------------------------------------------------------------------------

async fn get_user_information(ctx: Ctx) -> ApiResult {
    let user = match ctx
        .auth()
        .db()
        .user_details_by_username(ctx.param("username"))
        .await?
    {
        Some(u) if !u.organization && !u.robot => u,
        _ => {
            return Err(QuayApiError::Message(
                axum::http::StatusCode::NOT_FOUND,
                NOT_FOUND_TEXT.into(),
            ))
        }
    };
    Ok(ok(user_view(&ctx, ctx.identity(), &user, None).await?))
}

// ---------------------------------------------------------------------------------------
// PUT /api/v1/user/
// ---------------------------------------------------------------------------------------

/// The `UpdateUser` body, validated in the schema's property order.
struct UpdateUser<'a> {
    password: Option<&'a str>,
    invoice_email: Option<bool>,
    email: Option<&'a str>,
    tag_expiration_s: Option<i64>,
    username: Option<&'a str>,
    invoice_email_address: Option<Option<&'a str>>,
    given_name: Option<Option<&'a str>>,
    family_name: Option<Option<&'a str>>,
    company: Option<Option<&'a str>>,
    location: Option<Option<&'a str>>,
}

impl<'a> UpdateUser<'a> {
    fn parse(body: &'a Body) -> Result<UpdateUser<'a>, QuayApiError> {
        Ok(UpdateUser {
            password: str_field(body, "password")?,
            invoice_email: bool_field(body, "invoice_email")?,
            email: str_field(body, "email")?,
            tag_expiration_s: int_field(body, "tag_expiration_s", 0)?,
            username: str_field(body, "username")?,
            invoice_email_address: nullable_str_field(body, "invoice_email_address")?,
            given_name: nullable_str_field(body, "given_name")?,
            family_name: nullable_str_field(body, "family_name")?,
            company: nullable_str_field(body, "company")?,
            location: nullable_str_field(body, "location")?,
        })
    }
}

async fn change_user_details(ctx: Ctx) -> ApiResult {
    let (user_id, _) = require_user_admin(&ctx)?;
    let body = ctx.json()?;
    let req = UpdateUser::parse(&body)?;
    let auth = ctx.auth();
    let db = auth.db();
    let config = &ctx.state.settings.config;
    let load = || async {
        db.user_details_by_id(user_id)
            .await?
            .ok_or_else(|| QuayApiError::Internal(format!("user {user_id} vanished")))
    };
    let mut user = load().await?;
    let mut previous_username = None;

    if let Some(password) = req.password {
        match auth.change_user_password(user_id, password).await {
            Ok(()) => {}
            Err(AuthError::BadRequest(m)) => return Err(QuayApiError::invalid_request(m)),
            Err(e) => return Err(e.into()),
        }
        ctx.log("account_change_password", user_id, None, json!({}))
            .await?;
    }

    if let Some(on) = req.invoice_email {
        db.set_invoice_email(user_id, on).await?;
        ctx.log(
            "user_change_invoicing",
            user_id,
            None,
            json!({ "invoice_email": on }),
        )
        .await?;
    }

    if let Some(seconds) = req.tag_expiration_s {
        if config.feature("CHANGE_TAG_EXPIRATION") {
            super::tag_expiration::validate_tag_expiration(&ctx.state.settings, seconds)?;
            db.set_tag_expiration(user_id, seconds).await?;
            ctx.log(
                "user_change_tag_expiration",
                user_id,
                None,
                json!({ "tag_expiration": seconds }),
            )
            .await?;
        }
    }

    if let Some(address) = req.invoice_email_address {
        if address != user.invoice_email_address.as_deref() {
            db.set_invoice_email_address(user_id, address).await?;
            ctx.log(
                "user_change_invoicing",
                user_id,
                None,
                json!({ "invoice_email_address": address }),
            )
            .await?;
        }
    }

    if let Some(new_email) = req.email {
        if new_email != user.email {
            if db.email_in_use(new_email).await? {
                return Err(QuayApiError::invalid_request("E-mail address already used"));
            }
            if config.feature("MAILING") {
                // Quay sends a confirmation mail and changes nothing until it is
                // confirmed; quayside validates like Quay and cannot send the mail.
                if !quayside_domain::namespace::is_valid_email(new_email) {
                    return Err(QuayApiError::bad_request(format!(
                        "Invalid email address: {new_email}"
                    )));
                }
                tracing::warn!(
                    user = %user.username,
                    "e-mail change needs a confirmation mail, which quayside cannot send; address unchanged"
                );
            } else {
                let old_email = user.email.clone();
                db.set_user_email(user_id, new_email, true).await?;
                ctx.log(
                    "user_change_email",
                    user_id,
                    None,
                    json!({ "email": new_email, "old_email": old_email }),
                )
                .await?;
            }
        }
    }

    if config.feature("USER_METADATA") {
        let mut change = UserMetadataChange::default();
        let mut metadata = Map::new();
        for (key, value, slot) in [
            ("given_name", req.given_name, &mut change.given_name),
            ("family_name", req.family_name, &mut change.family_name),
            ("company", req.company, &mut change.company),
            ("location", req.location, &mut change.location),
        ] {
            if let Some(v) = value {
                *slot = Some(v.map(str::to_owned));
                metadata.insert(key.into(), v.map_or(Value::Null, Value::from));
            }
        }
        if !metadata.is_empty() {
            db.set_user_metadata(user_id, &change).await?;
            ctx.log(
                "user_change_metadata",
                user_id,
                None,
                Value::Object(metadata),
            )
            .await?;
        }
    }

    if let Some(new_username) = req.username {
        let prompts = db.user_prompts(user_id).await?;
        let confirm_username = prompts.iter().any(|p| p == "confirm_username");
        let old_username = user.username.clone();
        previous_username = Some(old_username.clone());
        let rename_allowed = config.feature("USER_RENAME")
            || (confirm_username && config.feature("USERNAME_CONFIRMATION"));
        let changing = !new_username.is_empty() && new_username != old_username;
        if rename_allowed && changing {
            if ctx.namespace(new_username).await?.is_some() {
                return Err(QuayApiError::invalid_request("Username is already in use"));
            }
            auth.rename_account(user_id, new_username).await?;
            ctx.log(
                "user_change_name",
                user_id,
                None,
                json!({ "old_username": old_username }),
            )
            .await?;
        } else if confirm_username {
            db.remove_user_prompts(user_id, &["confirm_username"])
                .await?;
        }
    }

    user = load().await?;
    Ok(ok(user_view(
        &ctx,
        ctx.identity(),
        &user,
        previous_username.as_deref(),
    )
    .await?))
}

// ---------------------------------------------------------------------------------------
// POST /api/v1/user/ (signup)
// ---------------------------------------------------------------------------------------

const CAPTCHA_MESSAGE: &str = "Are you a bot? If not, please revalidate the captcha.";
const BLACKLISTED_MESSAGE: &str =
    "Creation of a user account for this e-mail is disabled; please contact an administrator";

async fn create_new_user(ctx: Ctx) -> ApiResult {
    let body = ctx.json()?;
    let username = required_str(&body, "username")?;
    let password = required_str(&body, "password")?;
    let email = str_field(&body, "email")?;
    let invite_code = str_field(&body, "invite_code")?.unwrap_or_default();
    str_field(&body, "recaptcha_response")?;

    let settings = &ctx.state.settings;
    let config = &settings.config;
    if !settings.database_auth() {
        return Err(QuayApiError::Message(
            axum::http::StatusCode::NOT_FOUND,
            NOT_FOUND_TEXT.into(),
        ));
    }
    let auth = ctx.auth();
    let db = auth.db();
    if matches!(db.user_details_by_username(username).await?, Some(u) if !u.organization && !u.robot)
    {
        return Err(QuayApiError::invalid_request("The username already exists"));
    }
    let mailing = config.feature("MAILING");
    if mailing && email.is_none_or(str::is_empty) {
        return Err(QuayApiError::invalid_request("Email address is required"));
    }
    if config.feature("INVITE_ONLY_USER_CREATION") && invite_code.is_empty() {
        return Err(QuayApiError::invalid_request(
            "Cannot create non-invited user",
        ));
    }
    if !can_create_user(&ctx, email).await? {
        return Err(QuayApiError::invalid_request(BLACKLISTED_MESSAGE));
    }
    if config.feature("RECAPTCHA") {
        return Err(QuayApiError::bad_request(CAPTCHA_MESSAGE));
    }

    let options = NewUserOptions {
        auto_verify: !mailing,
        email_required: mailing,
    };
    let user_id = match auth
        .create_user_with(username, password, email, options)
        .await
    {
        Ok(id) => id,
        Err(AuthError::BadRequest(m)) => return Err(QuayApiError::invalid_request(m)),
        Err(e) => return Err(e.into()),
    };
    if config.feature("USER_METADATA") {
        db.add_user_prompts(user_id, &["enter_name", "enter_company"])
            .await?;
    }
    ctx.log(
        "user_create",
        user_id,
        None,
        json!({ "email": email, "username": username }),
    )
    .await?;

    let confirmed = handle_invite_code(&ctx, invite_code, user_id).await?;
    if mailing && !confirmed {
        return Ok(ok(json!({ "awaiting_verification": true })));
    }
    let user = db
        .user_details_by_id(user_id)
        .await?
        .ok_or_else(|| QuayApiError::Internal(format!("new user {user_id} vanished")))?;
    let viewer = Identity::User {
        id: user.id,
        username: user.username.clone(),
        uuid: user.uuid.clone().unwrap_or_default(),
    };
    Ok(ok(user_view(&ctx, &viewer, &user, None).await?))
}

/// Quay's `can_create_user(email, BLACKLISTED_EMAIL_DOMAINS)`.
async fn can_create_user(ctx: &Ctx, email: Option<&str>) -> Result<bool, QuayApiError> {
    let config = &ctx.state.settings.config;
    if let Some(e) = email.filter(|e| e.contains('@')) {
        if config.feature("BLACKLISTED_EMAILS") {
            let domain = e
                .split_once('@')
                .map(|(_, d)| d.to_lowercase())
                .unwrap_or_default();
            let labels: Vec<&str> = domain.split('.').collect();
            let registered = if labels.len() >= 2 {
                labels[labels.len() - 2..].join(".")
            } else {
                domain.clone()
            };
            let blacklisted = config
                .get("BLACKLISTED_EMAIL_DOMAINS")
                .and_then(Value::as_array)
                .is_some_and(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .any(|d| d == registered || d == domain)
                });
            if blacklisted {
                return Ok(false);
            }
        }
    }
    if config.feature("INVITE_ONLY_USER_CREATION") {
        return match email.filter(|e| !e.is_empty()) {
            Some(e) => Ok(ctx.auth().db().team_invite_exists_for_email(e).await?),
            None => Ok(false),
        };
    }
    Ok(true)
}

/// Quay's `handle_invite_code`: a `urn:teaminvite:…` code of an invite addressed to the
/// new user's e-mail (and to no specific user) marks the e-mail verified.
async fn handle_invite_code(ctx: &Ctx, code: &str, user_id: i64) -> Result<bool, QuayApiError> {
    let Some(rest) = code.strip_prefix("urn:") else {
        return Ok(false);
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() < 2 || parts[0] != "teaminvite" {
        return Ok(false);
    }
    let db = ctx.auth().db();
    let Some(invite) = db.team_invite_by_token(code).await? else {
        return Ok(false);
    };
    if invite.user_id.is_some_and(|u| u != user_id) {
        return Ok(false);
    }
    let Some(user) = db.user_details_by_id(user_id).await? else {
        return Ok(false);
    };
    if invite.email.as_deref() != Some(user.email.as_str()) {
        return Ok(false);
    }
    db.set_user_verified(user_id).await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// DELETE /api/v1/user/
// ---------------------------------------------------------------------------------------

async fn delete_current_user(ctx: Ctx) -> ApiResult {
    let (user_id, username) = require_user_admin(&ctx)?;
    if !ctx.state.settings.database_auth() {
        return Err(QuayApiError::Message(
            axum::http::StatusCode::NOT_FOUND,
            NOT_FOUND_TEXT.into(),
        ));
    }
    let auth = ctx.auth();
    let db = auth.db();
    let orgs = db.solely_admined_organizations(user_id).await?;
    if !orgs.is_empty() {
        return Err(QuayApiError::bad_request(format!(
            "Cannot delete {username} as you are the only admin for organizations: {}",
            orgs.join(", ")
        )));
    }
    db.mark_namespace_for_deletion(user_id, quayside_meta::deletion::NAMESPACE_GC_QUEUE)
        .await?;
    auth.invalidate_credentials();
    ctx.log(
        "user_delete",
        user_id,
        None,
        json!({ "username": username }),
    )
    .await?;
    Ok(no_content())
}
