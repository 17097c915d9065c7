//! The permission questions of `/api/v1` (Quay `auth/permissions.py`) and
//! `FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH`, on both backends.

mod common;

use common::*;
use quayside_auth::{Identity, Role, TeamRole, UserRole};
use quayside_testkit::sql::exec;
use quayside_testkit::{accounts, backends};

fn user(id: i64, name: &str) -> Identity {
    Identity::User {
        id,
        username: name.into(),
        uuid: String::new(),
    }
}

fn oauth(id: i64, name: &str, scopes: &[&str]) -> Identity {
    Identity::OAuthToken {
        user_id: id,
        username: name.into(),
        token_uuid: "t".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test]
async fn scopes_clamp_user_and_namespace_roles() {
    for backend in backends() {
        let env = env(backend).await;
        let alice = env
            .auth
            .create_user("alice", "password", "a@example.com")
            .await
            .expect("user");
        let org = env
            .auth
            .namespaces()
            .create_organization("acme", None, alice)
            .await
            .expect("org");
        let acme = env
            .db()
            .account_by_id(org)
            .await
            .expect("db")
            .expect("org row");
        let me = env
            .db()
            .account_by_id(alice)
            .await
            .expect("db")
            .expect("user row");

        // Direct logins: admin of themselves and of the org they own.
        assert_eq!(
            env.auth.user_role(&user(alice, "alice"), "alice"),
            Some(UserRole::Admin)
        );
        assert_eq!(env.auth.user_role(&user(alice, "alice"), "bob"), None);
        assert_eq!(
            env.auth
                .namespace_role(&user(alice, "alice"), &acme)
                .await
                .expect("role"),
            Some(TeamRole::Admin)
        );
        assert_eq!(
            env.auth
                .namespace_role(&user(alice, "alice"), &me)
                .await
                .expect("role"),
            Some(TeamRole::Admin)
        );
        // Tokens: user:read reads only; org:admin administers; repo:create creates only;
        // repo scopes give nothing on the organization itself.
        assert_eq!(
            env.auth
                .user_role(&oauth(alice, "alice", &["user:read"]), "alice"),
            Some(UserRole::Read)
        );
        assert_eq!(
            env.auth
                .user_role(&oauth(alice, "alice", &["repo:admin"]), "alice"),
            None
        );
        let t = oauth(alice, "alice", &["org:admin"]);
        assert!(env.auth.can_admin_namespace(&t, &acme).await.expect("perm"));
        let t = oauth(alice, "alice", &["repo:create"]);
        assert!(!env.auth.can_admin_namespace(&t, &acme).await.expect("perm"));
        assert!(env.auth.can_create_repo_in(&t, &acme).await.expect("perm"));
        assert!(env.auth.is_namespace_member(&t, &acme).await.expect("perm"));
        let t = oauth(alice, "alice", &["repo:admin", "user:admin"]);
        assert!(!env.auth.is_namespace_member(&t, &acme).await.expect("perm"));
        assert!(!env
            .auth
            .can_view_team(&t, &acme, "owners")
            .await
            .expect("perm"));
        assert!(env
            .auth
            .can_view_team(&user(alice, "alice"), &acme, "owners")
            .await
            .expect("perm"));
        // Anonymous callers have no role anywhere.
        assert_eq!(
            env.auth
                .namespace_role(&Identity::Anonymous, &acme)
                .await
                .expect("role"),
            None
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn superusers_and_global_readonly_superusers() {
    for backend in backends() {
        let env = env_with(backend, |s| {
            s.super_users = vec!["root".into(), "both".into()];
            s.global_readonly_super_users = vec!["auditor".into(), "both".into()];
        })
        .await;
        let root = env
            .auth
            .create_user("root", "password", "r@example.com")
            .await
            .expect("user");
        let auditor = env
            .auth
            .create_user("auditor", "password", "x@example.com")
            .await
            .expect("user");
        let both = env
            .auth
            .create_user("both", "password", "b@example.com")
            .await
            .expect("user");
        let owner = env
            .auth
            .create_user("owner", "password", "o@example.com")
            .await
            .expect("user");
        env.auth
            .namespaces()
            .create_organization("acme", None, owner)
            .await
            .expect("org");
        quayside_testkit::accounts::repository(&env.auth, "acme", "private", false, None)
            .await
            .expect("repo");

        assert!(env.auth.is_superuser(&user(root, "root")));
        assert!(env.auth.is_superuser(&oauth(root, "root", &["super:user"])));
        assert!(!env.auth.is_superuser(&oauth(root, "root", &["user:admin"])));
        // Read-only takes precedence when a user is in both lists.
        assert!(!env.auth.is_superuser(&user(both, "both")));
        assert!(env.auth.is_global_readonly_superuser(&user(both, "both")));
        // Global read-only superusers read every repository, write none; plain superusers
        // get nothing without FEATURE_SUPERUSERS_FULL_ACCESS.
        assert_eq!(
            env.auth
                .repo_role(&user(auditor, "auditor"), "acme", "private")
                .await
                .expect("role"),
            Some(Role::Read)
        );
        assert_eq!(
            env.auth
                .repo_role(&user(root, "root"), "acme", "private")
                .await
                .expect("role"),
            None
        );
        env.cleanup().await;

        let env = env_with(backend, |s| {
            s.super_users = vec!["root".into()];
            s.superusers_full_access = true;
        })
        .await;
        let root = env
            .auth
            .create_user("root", "password", "r@example.com")
            .await
            .expect("user");
        let owner = env
            .auth
            .create_user("owner", "password", "o@example.com")
            .await
            .expect("user");
        let org = env
            .auth
            .namespaces()
            .create_organization("acme", None, owner)
            .await
            .expect("org");
        quayside_testkit::accounts::repository(&env.auth, "acme", "private", false, None)
            .await
            .expect("repo");
        let acme = env.db().account_by_id(org).await.expect("db").expect("org");
        assert_eq!(
            env.auth
                .repo_role(&user(root, "root"), "acme", "private")
                .await
                .expect("role"),
            Some(Role::Admin)
        );
        assert!(env
            .auth
            .can_admin_namespace(&user(root, "root"), &acme)
            .await
            .expect("perm"));
        // Without FEATURE_SUPER_USERS nobody is a superuser.
        env.cleanup().await;
        let env = env_with(backend, |s| {
            s.super_users = vec!["root".into()];
            s.super_users_enabled = false;
        })
        .await;
        let root = env
            .auth
            .create_user("root", "password", "r@example.com")
            .await
            .expect("user");
        assert!(!env.auth.is_superuser(&user(root, "root")));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn encrypted_basic_auth_can_be_required() {
    for backend in backends() {
        let env = env_with(backend, |s| {
            s.require_encrypted_basic_auth = true;
            s.secret_key = Some("the-secret-key".into());
        })
        .await;
        env.auth
            .create_user("alice", "password", "a@example.com")
            .await
            .expect("user");
        let err = env
            .auth
            .verify_basic("alice", "password")
            .await
            .expect_err("plain refused");
        assert_eq!(
            err.to_string(),
            "Client login with unencrypted passwords is disabled. Please generate an encrypted password in the user admin panel for use here."
        );
        let encrypted = env.auth.encrypt_user_password("password");
        let who = env
            .auth
            .verify_basic("alice", &encrypted)
            .await
            .expect("encrypted accepted");
        assert_eq!(who.username(), Some("alice"));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn revoked_credentials_are_forgotten() {
    for backend in backends() {
        let env = env(backend).await;
        let alice = env
            .auth
            .create_user("alice", "password", "a@example.com")
            .await
            .expect("user");
        let token = env
            .auth
            .create_oauth_token(alice, "repo:read")
            .await
            .expect("token");
        env.auth.verify_api_bearer(&token).await.expect("valid");
        let runs = env.auth.bcrypt_runs();
        env.auth
            .verify_api_bearer(&token)
            .await
            .expect("still valid");
        assert_eq!(
            env.auth.bcrypt_runs(),
            runs,
            "second use is served from the cache"
        );
        exec(env.db(), "DELETE FROM oauthaccesstoken", &[]).await;
        // Still remembered until the cache is told …
        env.auth.verify_api_bearer(&token).await.expect("cached");
        env.auth.invalidate_credentials();
        assert!(env.auth.verify_api_bearer(&token).await.is_err());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn robots_disallow_refuses_robot_logins_except_whitelisted() {
    for backend in backends() {
        let env = env_with(backend, |s| {
            s.robots_disallow = true;
            s.robots_whitelist = vec!["alice+mirror".into()];
        })
        .await;
        let alice = env
            .auth
            .create_user("alice", "password", "a@example.com")
            .await
            .expect("user");
        // Robots created before the switch (here: by the same code path).
        let (ci, ci_token) = accounts::robot(&env.auth, alice, "ci")
            .await
            .expect("robot");
        let (mirror, mirror_token) = accounts::robot(&env.auth, alice, "mirror")
            .await
            .expect("robot");
        let err = env
            .auth
            .verify_basic(&ci, &ci_token)
            .await
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "Robot account have been disabled. Please contact your administrator."
        );
        let who = env
            .auth
            .verify_basic(&mirror, &mirror_token)
            .await
            .expect("whitelisted");
        assert!(who.is_robot());
        env.cleanup().await;
    }
}
