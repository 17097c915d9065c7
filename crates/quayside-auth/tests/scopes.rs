//! `/v2/auth` scope evaluation, repository roles, push-to-create and the catalog.

mod common;

use common::{env, env_with, Env};
use quayside_auth::{AuthError, Identity, Role};
use quayside_testkit::sql::{exec, scalar_i64, scalar_string, Arg};
use quayside_testkit::{accounts, backends, Backend};

async fn actions(e: &Env, who: &Identity, scope: &str) -> Vec<String> {
    let token = e
        .auth
        .issue_registry_token(who, Some("localhost:5000"), &[scope.to_owned()])
        .await
        .unwrap_or_else(|err| panic!("{scope}: {err}"));
    let claims = common::decode_with_db_jwk(e.db(), &token, "localhost:5000").await;
    claims["access"][0]["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a.as_str().expect("str").to_owned())
        .collect()
}

async fn login(e: &Env, user: &str) -> Identity {
    e.auth
        .verify_basic(user, "password123")
        .await
        .expect("login")
}

struct World {
    owner: Identity,
    admin: Identity,
    writer: Identity,
    reader: Identity,
    nobody: Identity,
    robot: Identity,
    private_id: i64,
}

async fn world(e: &Env) -> World {
    let a = &e.auth;
    let owner_id = a
        .create_user("owner", "password123", "owner@example.com")
        .await
        .expect("u");
    let admin_id = a
        .create_user("admin", "password123", "admin@example.com")
        .await
        .expect("u");
    let writer_id = a
        .create_user("writer", "password123", "writer@example.com")
        .await
        .expect("u");
    let reader_id = a
        .create_user("reader", "password123", "reader@example.com")
        .await
        .expect("u");
    a.create_user("nobody", "password123", "nobody@example.com")
        .await
        .expect("u");
    let org_id = a
        .namespaces()
        .create_organization("acme", None, owner_id)
        .await
        .expect("org");
    let private_id = quayside_testkit::accounts::repository(a, "acme", "private", false, None)
        .await
        .expect("repo");
    quayside_testkit::accounts::repository(a, "acme", "public", true, None)
        .await
        .expect("repo");
    a.set_repo_permission(private_id, admin_id, Role::Admin)
        .await
        .expect("perm");
    a.set_repo_permission(private_id, writer_id, Role::Write)
        .await
        .expect("perm");
    a.set_repo_permission(private_id, reader_id, Role::Read)
        .await
        .expect("perm");
    let (robot_name, robot_token) = accounts::robot(a, org_id, "ci").await.expect("robot");
    let robot_id = match a
        .verify_basic(&robot_name, &robot_token)
        .await
        .expect("robot login")
    {
        Identity::Robot { id, .. } => id,
        other => panic!("{other:?}"),
    };
    a.set_repo_permission(private_id, robot_id, Role::Read)
        .await
        .expect("perm");
    World {
        owner: login(e, "owner").await,
        admin: login(e, "admin").await,
        writer: login(e, "writer").await,
        reader: login(e, "reader").await,
        nobody: login(e, "nobody").await,
        robot: a
            .verify_basic(&robot_name, &robot_token)
            .await
            .expect("robot"),
        private_id,
    }
}

#[tokio::test]
async fn scope_table() {
    for backend in backends() {
        let e = env(backend).await;
        let w = world(&e).await;
        let all = "repository:acme/private:push,pull,*";
        let pub_all = "repository:acme/public:push,pull,*";
        let cases: Vec<(&str, &Identity, &str, Vec<&str>)> = vec![
            ("org owner", &w.owner, all, vec!["push", "pull", "*"]),
            ("repo admin", &w.admin, all, vec!["push", "pull", "*"]),
            ("writer", &w.writer, all, vec!["push", "pull"]),
            ("reader", &w.reader, all, vec!["pull"]),
            ("robot reader", &w.robot, all, vec!["pull"]),
            ("no permission", &w.nobody, all, vec![]),
            ("public, no permission", &w.nobody, pub_all, vec!["pull"]),
            (
                "public, anonymous",
                &Identity::Anonymous,
                pub_all,
                vec!["pull"],
            ),
            ("private, anonymous", &Identity::Anonymous, all, vec![]),
            (
                "order is push, pull, *",
                &w.owner,
                "repository:acme/private:*,pull,push",
                vec!["push", "pull", "*"],
            ),
            (
                "missing namespace",
                &w.owner,
                "repository:ghost/repo:push,pull",
                vec![],
            ),
            (
                "no create permission in org",
                &w.nobody,
                "repository:acme/newrepo:push,pull",
                vec![],
            ),
        ];
        for (what, who, scope, want) in cases {
            assert_eq!(actions(&e, who, scope).await, want, "{backend}: {what}");
        }
        assert!(e
            .db()
            .repository_by_name("acme", "newrepo")
            .await
            .expect("q")
            .is_none());

        // Roles as the API will see them.
        let role = |who: &Identity| {
            let auth = e.auth.clone();
            let who = who.clone();
            async move { auth.repo_role(&who, "acme", "private").await.expect("role") }
        };
        assert_eq!(role(&w.owner).await, Some(Role::Admin));
        assert_eq!(role(&w.writer).await, Some(Role::Write));
        assert_eq!(role(&w.reader).await, Some(Role::Read));
        assert_eq!(role(&w.nobody).await, None);
        assert_eq!(
            e.auth
                .repo_role(&Identity::Anonymous, "acme", "public")
                .await
                .expect("role"),
            Some(Role::Read)
        );
        assert_eq!(
            e.auth
                .repo_role(&Identity::Anonymous, "acme", "private")
                .await
                .expect("role"),
            None
        );

        // Catalog: permissions and org-admin teams; anonymous sees nothing.
        let reader_repos = e.auth.visible_repo_ids(&w.reader).await.expect("visible");
        assert_eq!(reader_repos, vec![w.private_id]);
        assert_eq!(
            e.auth
                .visible_repo_ids(&w.owner)
                .await
                .expect("visible")
                .len(),
            2
        );
        assert!(e
            .auth
            .visible_repo_ids(&w.nobody)
            .await
            .expect("visible")
            .is_empty());
        assert!(e
            .auth
            .visible_repo_ids(&Identity::Anonymous)
            .await
            .expect("visible")
            .is_empty());
        e.cleanup().await;
    }
}

#[tokio::test]
async fn oauth_scopes_cap_roles() {
    for backend in backends() {
        let e = env(backend).await;
        let w = world(&e).await;
        let writer_id = match &w.writer {
            Identity::User { id, .. } => *id,
            other => panic!("{other:?}"),
        };
        let read_only = e
            .auth
            .create_oauth_token(writer_id, "repo:read")
            .await
            .expect("t");
        let who = e
            .auth
            .verify_basic("$oauthtoken", &read_only)
            .await
            .expect("login");
        assert_eq!(
            actions(&e, &who, "repository:acme/private:push,pull").await,
            vec!["pull"]
        );
        // Own namespace: push-to-create needs repo:create.
        let no_create = e
            .auth
            .create_oauth_token(writer_id, "repo:write")
            .await
            .expect("t");
        let who = e
            .auth
            .verify_basic("$oauthtoken", &no_create)
            .await
            .expect("login");
        // Quay grants pull on any name in the user's own namespace (even a missing one).
        assert_eq!(
            actions(&e, &who, "repository:writer/fresh:push,pull").await,
            vec!["pull"]
        );
        assert!(e
            .db()
            .repository_by_name("writer", "fresh")
            .await
            .expect("q")
            .is_none());
        let create = e
            .auth
            .create_oauth_token(writer_id, "repo:write repo:create")
            .await
            .expect("t");
        let who = e
            .auth
            .verify_basic("$oauthtoken", &create)
            .await
            .expect("login");
        assert_eq!(
            actions(&e, &who, "repository:writer/fresh:push,pull").await,
            vec!["push", "pull"]
        );
        e.cleanup().await;
    }
}

#[tokio::test]
async fn push_to_create() {
    for backend in backends() {
        let e = env(backend).await;
        let w = world(&e).await;
        assert_eq!(
            actions(&e, &w.nobody, "repository:nobody/newapp:push,pull").await,
            vec!["push", "pull"]
        );
        let repo = e
            .db()
            .repository_by_name("nobody", "newapp")
            .await
            .expect("q")
            .expect("created");
        assert_eq!(repo.visibility, quayside_meta::Visibility::Private);
        assert_eq!(repo.kind, quayside_meta::RepositoryKind::Image);
        let role = scalar_string(
            e.db(),
            r#"SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
               JOIN "user" u ON u.id = p.user_id WHERE p.repository_id = $1 AND u.username = $2"#,
            &[Arg::I(repo.id), Arg::S("nobody")],
        )
        .await;
        assert_eq!(role.as_deref(), Some("admin"));
        // Org member with a creator team? The org owner can create in the org.
        assert_eq!(
            actions(&e, &w.owner, "repository:acme/made-by-owner:push").await,
            vec!["push"]
        );
        e.cleanup().await;

        // CREATE_PRIVATE_REPO_ON_PUSH=false → public; CREATE_NAMESPACE_ON_PUSH creates an org.
        let e = env_with(backend, |s| {
            s.create_private_repo_on_push = false;
            s.create_namespace_on_push = true;
        })
        .await;
        e.auth
            .create_user("dave", "password123", "dave@example.com")
            .await
            .expect("u");
        let dave = login(&e, "dave").await;
        assert_eq!(
            actions(&e, &dave, "repository:newns/app:push,pull").await,
            vec!["push", "pull"]
        );
        let ns = e
            .db()
            .account_by_username("newns")
            .await
            .expect("q")
            .expect("org created");
        assert!(ns.organization);
        assert_eq!(ns.email, "dave+newns@example.com");
        let repo = e
            .db()
            .repository_by_name("newns", "app")
            .await
            .expect("q")
            .expect("repo");
        assert_eq!(repo.visibility, quayside_meta::Visibility::Public);
        e.cleanup().await;
    }
}

#[tokio::test]
async fn bad_scopes_and_names() {
    for backend in backends() {
        let e = env(backend).await;
        e.auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("u");
        let alice = login(&e, "alice").await;
        let issue = |scope: &str| {
            let auth = e.auth.clone();
            let alice = alice.clone();
            let scope = scope.to_owned();
            async move {
                auth.issue_registry_token(&alice, Some("localhost:5000"), &[scope])
                    .await
            }
        };
        match issue("registry:catalog:*").await {
            Err(AuthError::BadScope(m)) => assert_eq!(
                m,
                "Unable to decode repository and actions: registry:catalog:*"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            issue("repository:alice/app:delete").await,
            Err(AuthError::BadScope(_))
        ));
        match issue("repository:alice/App:pull").await {
            Err(AuthError::NameInvalid(m)) => assert_eq!(m, "Invalid repository name: alice/App"),
            other => panic!("{other:?}"),
        }
        // Extended names (default) allow nesting.
        assert!(issue("repository:alice/team/app:pull").await.is_ok());
        // Anonymous without scope is refused; with anonymous access off, always.
        assert!(matches!(
            e.auth
                .issue_registry_token(&Identity::Anonymous, Some("localhost:5000"), &[])
                .await,
            Err(AuthError::Invalid(_))
        ));
        // A disabled namespace.
        exec(
            e.db(),
            r#"UPDATE "user" SET enabled = $1 WHERE username = $2"#,
            &[Arg::B(false), Arg::S("alice")],
        )
        .await;
        match issue("repository:alice/app:pull").await {
            Err(AuthError::Denied(m)) => {
                assert_eq!(
                    m,
                    "Namespace alice has been disabled. Please contact a system administrator."
                )
            }
            other => panic!("{other:?}"),
        }
        e.cleanup().await;
    }
    let e = env_with(Backend::Sqlite, |s| {
        s.extended_repository_names = false;
        s.anonymous_access = false;
    })
    .await;
    e.auth
        .create_user("alice", "password123", "alice@example.com")
        .await
        .expect("u");
    let alice = login(&e, "alice").await;
    match e
        .auth
        .issue_registry_token(&alice, None, &["repository:alice/a/b:pull".into()])
        .await
    {
        Err(AuthError::NameInvalid(m)) => {
            assert_eq!(m, "Nested repositories are not supported. Found: alice/a/b")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        e.auth
            .issue_registry_token(
                &Identity::Anonymous,
                None,
                &["repository:alice/x:pull".into()]
            )
            .await,
        Err(AuthError::AnonymousNotAllowed)
    ));
    e.cleanup().await;
}

#[tokio::test]
async fn account_creation_rules() {
    let e = env(Backend::Postgres).await;
    let a = &e.auth;
    let msg = |r: Result<i64, AuthError>| match r {
        Err(AuthError::BadRequest(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        msg(a.create_user("alice", "short", "a@example.com").await),
        "Invalid password, password must be at least 8 characters and contain no whitespace."
    );
    assert_eq!(
        msg(a.create_user("alice", "password123", "nope").await),
        "Invalid email address: nope"
    );
    assert_eq!(
        msg(a.create_user("A", "password123", "a@example.com").await),
        "Invalid namespace A: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$"
    );
    let id = a
        .create_user("alice", "password123", "a@example.com")
        .await
        .expect("user");
    assert_eq!(
        msg(a.create_user("alice", "password123", "b@example.com").await),
        "Username has already been taken by user cannot be reused: alice"
    );
    assert_eq!(
        msg(a.create_user("bob", "password123", "a@example.com").await),
        "Email has already been used: a@example.com"
    );
    a.namespaces()
        .create_organization("acme", None, id)
        .await
        .expect("org");
    assert_eq!(
        msg(a.create_user("acme", "password123", "c@example.com").await),
        "Username has already been taken by an organization and cannot be reused: acme"
    );
    let owners = scalar_i64(
        e.db(),
        r#"SELECT COUNT(*) FROM teammember tm JOIN team t ON t.id = tm.team_id JOIN teamrole r ON r.id = t.role_id
           JOIN "user" o ON o.id = t.organization_id WHERE o.username = $1 AND t.name = $2 AND r.name = $3 AND tm.user_id = $4"#,
        &[Arg::S("acme"), Arg::S("owners"), Arg::S("admin"), Arg::I(id)],
    )
    .await;
    assert_eq!(owners, 1);
    e.cleanup().await;
}
