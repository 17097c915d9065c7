//! The authorization matrix of issue #4: roles × credential kinds × operations, every
//! cell asserted against Quay's permission model, on SQLite and PostgreSQL, through the
//! whole application router (the `/v2` registry with `/v2/auth` tokens and `/api/v1`).
//!
//! Roles (on organization `acme`): `owner` (in the `owners` team), `admin`, `write`,
//! `read` (direct repository grants), `none` (no grant), `superuser` (in `SUPER_USERS`,
//! without `FEATURE_SUPERUSERS_FULL_ACCESS`, so no repository bypass — Quay's default) and
//! `anonymous`. Credential kinds: the password, an OAuth token with each single scope,
//! a robot account holding the role, and an app-specific token. Operations: API read
//! (`GET /api/v1/repository/<repo>`), API write (`PUT` description), API delete (a tag),
//! pull (manifest GET), push (upload start) and delete (manifest DELETE) — each on a
//! private and on a public repository.
//!
//! The expectation is computed from Quay's rules, not from quayside's answers:
//! * on `/api/v1` only OAuth tokens authenticate (Basic is ignored, so every other kind
//!   is anonymous there); on `/v2` every kind logs in at `/v2/auth`;
//! * a role gives a repository level (owner/admin → admin, write, read, none/superuser →
//!   none); OAuth scopes cap it (`repo:read` → read, `repo:write` → write, `repo:admin` →
//!   admin, any other scope → nothing on repositories);
//! * public repositories add read for everyone;
//! * reads need read, writes and deletes need write; a refused API call is 401 for an
//!   anonymous caller and 403 for a signed-in one; a refused `/v2` call is 401.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{registry_token, send, App};
use quayside_auth::{Identity, Role};
use quayside_testkit::http::{basic, sha};
use quayside_testkit::{accounts, backends, Backend};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum R {
    Owner,
    Admin,
    Write,
    Read,
    None,
    Superuser,
    Anonymous,
}

const ROLES: [R; 7] = [
    R::Owner,
    R::Admin,
    R::Write,
    R::Read,
    R::None,
    R::Superuser,
    R::Anonymous,
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Password,
    OAuth(&'static str),
    Robot,
    AppToken,
    NoCredentials,
}

const SCOPES: [&str; 8] = [
    "repo:read",
    "repo:write",
    "repo:admin",
    "repo:create",
    "user:read",
    "user:admin",
    "org:admin",
    "super:user",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    ApiRead,
    ApiWrite,
    ApiDelete,
    Pull,
    Push,
    Delete,
}

const OPS: [Op; 6] = [
    Op::ApiRead,
    Op::ApiWrite,
    Op::ApiDelete,
    Op::Pull,
    Op::Push,
    Op::Delete,
];

fn level(role: R, full_access: bool) -> Option<Role> {
    match role {
        R::Owner | R::Admin => Some(Role::Admin),
        R::Write => Some(Role::Write),
        R::Read => Some(Role::Read),
        R::Superuser if full_access => Some(Role::Admin),
        R::None | R::Superuser | R::Anonymous => None,
    }
}

fn scope_cap(scope: &str) -> Option<Role> {
    match scope {
        "repo:read" => Some(Role::Read),
        "repo:write" => Some(Role::Write),
        "repo:admin" => Some(Role::Admin),
        _ => None,
    }
}

/// Whether Quay allows `op` for `role` using `kind` on a repository that is `public`.
///
/// With `FEATURE_SUPERUSERS_FULL_ACCESS` a superuser acts as admin of every repository,
/// but an OAuth token only carries superuser powers with the `super:user` scope.
fn allowed(role: R, kind: &Kind, op: Op, public: bool, full_access: bool) -> bool {
    let api = matches!(op, Op::ApiRead | Op::ApiWrite | Op::ApiDelete);
    let authenticated = match kind {
        Kind::NoCredentials => false,
        Kind::OAuth(_) => true,
        _ => !api,
    };
    let mut effective = if authenticated {
        level(role, full_access)
    } else {
        None
    };
    if let (Kind::OAuth(scope), true) = (kind, authenticated) {
        effective = if role == R::Superuser && full_access {
            (*scope == "super:user").then_some(Role::Admin)
        } else {
            match (effective, scope_cap(scope)) {
                (Some(r), Some(c)) => Some(r.min(c)),
                _ => None,
            }
        };
    }
    if public {
        effective = effective.max(Some(Role::Read));
    }
    let needed = match op {
        Op::ApiRead | Op::Pull => Role::Read,
        Op::ApiWrite | Op::ApiDelete | Op::Push | Op::Delete => Role::Write,
    };
    effective.is_some_and(|r| r >= needed)
}

/// Whether the caller counts as signed in on the surface of `op` (401 vs 403 on the API).
fn signed_in(kind: &Kind, op: Op) -> bool {
    match op {
        Op::ApiRead | Op::ApiWrite | Op::ApiDelete => matches!(kind, Kind::OAuth(_)),
        _ => !matches!(kind, Kind::NoCredentials),
    }
}

/// The application with `superuser` in `SUPER_USERS` and `FEATURE_SUPERUSERS_FULL_ACCESS` as
/// given.
async fn app(backend: Backend, full_access: bool) -> App {
    common::app(
        backend,
        &format!("SUPER_USERS: [superuser]\nFEATURE_SUPERUSERS_FULL_ACCESS: {full_access}\n"),
    )
    .await
}

/// Pushes a one-layer image as `acme/<repo>:latest` with the owner's password.
async fn push_image(app: &App, repo: &str) {
    let token = registry_token(
        app,
        Some(("owner", "password")),
        &format!("repository:acme/{repo}:pull,push"),
    )
    .await
    .expect("owner push token");
    let layer = format!("layer of {repo}").into_bytes();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    for blob in [&layer, &config] {
        let r = send(
            app,
            Request::post(format!(
                "/v2/acme/{repo}/blobs/uploads/?digest={}",
                sha(blob)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/octet-stream")
            .body(Body::from(blob.clone()))
            .expect("req"),
        )
        .await;
        assert_eq!(r.status, 201, "blob upload: {}", r.text);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(&layer), "size": layer.len()}],
    })
    .to_string();
    let r = send(
        app,
        Request::put(format!("/v2/acme/{repo}/manifests/latest"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(Body::from(manifest))
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 201, "manifest put: {}", r.text);
}

/// Puts an account in the organization's `owners` team (Quay's `add_user_to_team`).
async fn add_to_owners_team(app: &App, org: i64, account: i64) {
    const SQL: &str = "INSERT INTO teammember (user_id, team_id) \
        SELECT $1, id FROM team WHERE organization_id = $2 AND name = 'owners'";
    let (account, org) = (account as i32, org as i32);
    quayside_meta::with_pool!(app.tdb.db(), pool => {
        sqlx::query(SQL).bind(account).bind(org).execute(pool).await.map(|_| ())
    })
    .expect("team member");
}

struct Creds {
    password: Option<(String, String)>,
    oauth: Vec<(&'static str, String)>,
    robot: Option<(String, String)>,
    app_token: Option<String>,
}

async fn setup(app: &App) -> Vec<(R, Creds)> {
    let auth = &app.state.quay_api.auth;
    let owner = auth
        .create_user("owner", "password", "owner@example.com")
        .await
        .expect("owner");
    let org = auth
        .namespaces()
        .create_organization("acme", None, owner)
        .await
        .expect("org");
    let mut ids = Vec::new();
    for name in ["admin", "writer", "reader", "nobody", "superuser"] {
        ids.push(
            auth.create_user(name, "password", &format!("{name}@example.com"))
                .await
                .expect("user"),
        );
    }
    let owner_identity = Identity::User {
        id: owner,
        username: "owner".into(),
        uuid: String::new(),
    };
    let private = quayside_testkit::accounts::repository(
        auth,
        "acme",
        "private",
        false,
        Some(&owner_identity),
    )
    .await
    .expect("repo");
    let public =
        quayside_testkit::accounts::repository(auth, "acme", "public", true, Some(&owner_identity))
            .await
            .expect("repo");
    for (repo, _) in [(private, 0), (public, 1)] {
        auth.set_repo_permission(repo, ids[0], Role::Admin)
            .await
            .expect("grant");
        auth.set_repo_permission(repo, ids[1], Role::Write)
            .await
            .expect("grant");
        auth.set_repo_permission(repo, ids[2], Role::Read)
            .await
            .expect("grant");
    }
    push_image(app, "private").await;
    push_image(app, "public").await;

    // Robots holding each role: in the owners team, with a grant, or with nothing.
    let db = auth.db();
    let mut robots = Vec::new();
    for (short, role) in [
        ("owner", None),
        ("admin", Some(Role::Admin)),
        ("write", Some(Role::Write)),
        ("read", Some(Role::Read)),
        ("none", None),
    ] {
        let (name, token) = accounts::robot(auth, org, short).await.expect("robot");
        let robot = db
            .account_by_username(&name)
            .await
            .expect("db")
            .expect("robot row");
        if let Some(role) = role {
            for repo in [private, public] {
                auth.set_repo_permission(repo, robot.id, role)
                    .await
                    .expect("grant");
            }
        }
        if short == "owner" {
            add_to_owners_team(app, org, robot.id).await;
        }
        robots.push((name, token));
    }

    let users = [
        (R::Owner, "owner", owner),
        (R::Admin, "admin", ids[0]),
        (R::Write, "writer", ids[1]),
        (R::Read, "reader", ids[2]),
        (R::None, "nobody", ids[3]),
        (R::Superuser, "superuser", ids[4]),
    ];
    let mut out = Vec::new();
    for (i, (role, name, id)) in users.into_iter().enumerate() {
        let mut oauth = Vec::new();
        for scope in SCOPES {
            oauth.push((
                scope,
                auth.create_oauth_token(id, scope).await.expect("oauth"),
            ));
        }
        let app_token = auth
            .create_app_token(id, "matrix")
            .await
            .expect("app token");
        let robot = robots.get(i).filter(|_| role != R::Superuser).cloned();
        out.push((
            role,
            Creds {
                password: Some((name.to_owned(), "password".to_owned())),
                oauth,
                robot,
                app_token: Some(app_token),
            },
        ));
    }
    out.push((
        R::Anonymous,
        Creds {
            password: None,
            oauth: Vec::new(),
            robot: None,
            app_token: None,
        },
    ));
    out
}

/// Performs `op` on `acme/<repo>` with `kind` and says whether it was allowed; checks the
/// refusal's status on the way.
async fn attempt(
    app: &App,
    creds: &Creds,
    kind: &Kind,
    op: Op,
    repo: &str,
) -> (bool, StatusCode, String) {
    let basic_creds: Option<(String, String)> = match kind {
        Kind::Password => creds.password.clone(),
        Kind::OAuth(scope) => creds
            .oauth
            .iter()
            .find(|(s, _)| s == scope)
            .map(|(_, t)| ("$oauthtoken".to_owned(), t.clone())),
        Kind::Robot => creds.robot.clone(),
        Kind::AppToken => creds.app_token.clone().map(|t| ("$app".to_owned(), t)),
        Kind::NoCredentials => None,
    };
    match op {
        Op::ApiRead | Op::ApiWrite | Op::ApiDelete => {
            let (method, path, body) = match op {
                Op::ApiRead => ("GET", format!("/api/v1/repository/acme/{repo}"), None),
                Op::ApiWrite => (
                    "PUT",
                    format!("/api/v1/repository/acme/{repo}"),
                    Some(json!({"description": "changed"}).to_string()),
                ),
                _ => (
                    "DELETE",
                    format!("/api/v1/repository/acme/{repo}/tag/missing-tag"),
                    None,
                ),
            };
            let mut req = Request::builder().method(method).uri(path);
            match (kind, &basic_creds) {
                (Kind::OAuth(_), Some((_, t))) => {
                    req = req.header("Authorization", format!("Bearer {t}"));
                }
                (_, Some((u, p))) => req = req.header("Authorization", basic(u, p)),
                _ => {}
            }
            let req = match body {
                Some(b) => req
                    .header("Content-Type", "application/json")
                    .body(Body::from(b)),
                None => req.body(Body::empty()),
            }
            .expect("req");
            let r = send(app, req).await;
            // Allowed: 200 for reads and writes; a missing tag is 404 once allowed.
            let ok = match op {
                Op::ApiDelete => r.status == 404 && r.json["error_type"] == "not_found",
                _ => r.status == 200,
            };
            (ok, r.status, r.text)
        }
        Op::Pull | Op::Push | Op::Delete => {
            let actions = if op == Op::Pull { "pull" } else { "pull,push" };
            let login = basic_creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
            let token =
                registry_token(app, login, &format!("repository:acme/{repo}:{actions}")).await;
            let Some(token) = token else {
                return (false, StatusCode::UNAUTHORIZED, "no /v2/auth token".into());
            };
            let req = match op {
                Op::Pull => Request::get(format!("/v2/acme/{repo}/manifests/latest")),
                Op::Push => Request::post(format!("/v2/acme/{repo}/blobs/uploads/")),
                _ => Request::delete(format!(
                    "/v2/acme/{repo}/manifests/sha256:{}",
                    "0".repeat(64)
                )),
            }
            .header("Authorization", format!("Bearer {token}"))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .body(Body::empty())
            .expect("req");
            let r = send(app, req).await;
            let ok = match op {
                Op::Pull => r.status == 200,
                Op::Push => r.status == 202,
                _ => r.status == 404,
            };
            (ok, r.status, r.text)
        }
    }
}

async fn run_matrix(backend: Backend, full_access: bool) {
    let app = app(backend, full_access).await;
    let roles = setup(&app).await;
    assert_eq!(roles.iter().map(|(r, _)| *r).collect::<Vec<_>>(), ROLES);
    let mut cells = 0;
    let mut failures = Vec::new();
    for (role, creds) in &roles {
        let mut kinds: Vec<Kind> = Vec::new();
        if *role == R::Anonymous {
            kinds.push(Kind::NoCredentials);
        } else {
            kinds.push(Kind::Password);
            kinds.extend(SCOPES.iter().map(|s| Kind::OAuth(s)));
            if creds.robot.is_some() {
                kinds.push(Kind::Robot);
            }
            kinds.push(Kind::AppToken);
        }
        for kind in &kinds {
            for op in OPS {
                for (repo, public) in [("private", false), ("public", true)] {
                    let want = allowed(*role, kind, op, public, full_access);
                    let (got, status, text) = attempt(&app, creds, kind, op, repo).await;
                    cells += 1;
                    let refusal_ok = want
                        || match op {
                            Op::ApiRead | Op::ApiWrite | Op::ApiDelete => {
                                let expect = if signed_in(kind, op) { 403 } else { 401 };
                                status.as_u16() == expect
                            }
                            _ => status == StatusCode::UNAUTHORIZED,
                        };
                    if got != want || !refusal_ok {
                        failures.push(format!(
                            "{role:?} {kind:?} {op:?} {repo}: want {}, got {status} {}",
                            if want { "allowed" } else { "refused" },
                            text.chars().take(160).collect::<String>()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{backend:?} (full access {full_access}): {} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 6 signed-in roles × (password + 8 scopes + app token) + 5 robots + anonymous,
    // × 6 operations × 2 repositories.
    assert_eq!(cells, (6 * 10 + 5 + 1) * 6 * 2);
    app.tdb.cleanup().await;
}

#[tokio::test]
async fn authorization_matrix_sqlite() {
    run_matrix(backends()[0], false).await;
}

#[tokio::test]
async fn authorization_matrix_postgres() {
    run_matrix(backends()[1], false).await;
}

#[tokio::test]
async fn authorization_matrix_superusers_full_access_sqlite() {
    run_matrix(backends()[0], true).await;
}

#[tokio::test]
async fn authorization_matrix_superusers_full_access_postgres() {
    run_matrix(backends()[1], true).await;
}

/// `pull_repo`, `push_repo` and `delete_tag` rows in `logentry3`, as Quay's
/// `track_and_log` writes them (written in the background, so polled).
async fn registry_actions_are_audited(backend: Backend) {
    let app = app(backend, false).await;
    let roles = setup(&app).await;
    let creds = &roles[0].1;
    let (robot, robot_token) = creds.robot.clone().expect("owner robot");
    let token = registry_token(
        &app,
        Some((&robot, &robot_token)),
        "repository:acme/private:pull",
    )
    .await
    .expect("robot token");
    let r = send(
        &app,
        Request::get("/v2/acme/private/manifests/latest")
            .header("Authorization", format!("Bearer {token}"))
            .header("User-Agent", "matrix-test/1.0")
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let db = app.tdb.db();
    let filter = quayside_meta::logs::LogFilter::default();
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = db.log_entries(&filter, 100).await.expect("logs");
        if rows.iter().any(|r| r.kind == "pull_repo") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let push = rows
        .iter()
        .find(|r| r.kind == "push_repo")
        .expect("push_repo row from setup");
    let meta: Value = serde_json::from_str(&push.metadata_json).expect("json");
    assert_eq!(meta["tag"], "latest");
    assert_eq!(meta["username"], "owner");
    let pull = rows
        .iter()
        .find(|r| r.kind == "pull_repo")
        .expect("pull_repo row");
    let meta: Value = serde_json::from_str(&pull.metadata_json).expect("json");
    assert_eq!(meta["repo"], "private");
    assert_eq!(meta["namespace"], "acme");
    assert_eq!(meta["tag"], "latest");
    assert_eq!(meta["user-agent"], "matrix-test/1.0");
    assert_eq!(meta["username"], robot.as_str());
    assert_eq!(meta["is_robot"], true);
    let robot_row = db
        .account_by_username(&robot)
        .await
        .expect("db")
        .expect("robot");
    assert_eq!(pull.performer_id, Some(robot_row.id));
    assert!(pull.repository_id.is_some());
    app.tdb.cleanup().await;
}

#[tokio::test]
async fn registry_actions_are_audited_sqlite() {
    registry_actions_are_audited(backends()[0]).await;
}

#[tokio::test]
async fn registry_actions_are_audited_postgres() {
    registry_actions_are_audited(backends()[1]).await;
}
