//! Organizations on `/api/v1` (Quay `endpoints/api/organization.py`): create, view per
//! role, change, delete, members and collaborators — on both backends.

mod common;

use common::*;
use quayside_auth::Role;
use quayside_meta::logs::LogFilter;
use quayside_testkit::accounts;
use serde_json::{json, Value};

const ADMIN_VIEW_KEYS: &[&str] = &[
    "avatar",
    "email",
    "invoice_email",
    "invoice_email_address",
    "is_admin",
    "is_free_account",
    "is_member",
    "name",
    "ordered_teams",
    "tag_expiration_s",
    "teams",
];
const MEMBER_VIEW_KEYS: &[&str] = &[
    "avatar",
    "email",
    "is_admin",
    "is_member",
    "name",
    "ordered_teams",
    "teams",
];
const PUBLIC_VIEW_KEYS: &[&str] = &["avatar", "email", "is_admin", "is_member", "name"];
const TEAM_KEYS: &[&str] = &[
    "avatar",
    "can_view",
    "description",
    "is_synced",
    "member_count",
    "name",
    "repo_count",
    "role",
];

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The newest log row of `kind`, metadata parsed.
async fn last_log(env: &Env, kind: &str) -> Value {
    let rows = env
        .tdb
        .db()
        .log_entries(&LogFilter::default(), 1000)
        .await
        .expect("logs");
    let row = rows
        .into_iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} log"));
    serde_json::from_str(&row.metadata_json).expect("metadata json")
}

async fn id_of(env: &Env, name: &str) -> i64 {
    env.tdb
        .db()
        .account_by_username(name)
        .await
        .expect("db")
        .expect("account")
        .id
}

/// Drops the OAuth keys every token-made log row carries.
fn without_oauth(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in [
            "oauth_token_id",
            "oauth_token_application_id",
            "oauth_token_application",
        ] {
            o.remove(k);
        }
    }
    v
}

/// Creates `acme` through the API as `alice` (contact billing@acme.example) and a `devs`
/// team (role member) holding `bob`. Returns (alice token, bob token, outsider token).
async fn acme(env: &Env) -> (String, String, String) {
    let (_, alice) = env.user_with_token("alice").await;
    let (bob_id, bob) = env.user_with_token("bob").await;
    let (_, carol) = env.user_with_token("carol").await;
    let r = env
        .call(
            "POST",
            "/api/v1/organization/",
            Some(&alice),
            Some(json!({"name": "acme", "email": "billing@acme.example"})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json, json!("Created"));
    let db = env.tdb.db();
    let org = db.org_by_name("acme").await.expect("db").expect("org");
    let team = db
        .insert_team(org.account.id, "devs", "member", "")
        .await
        .expect("team");
    db.add_team_member(team, bob_id).await.expect("member");
    (alice, bob, carol)
}

#[tokio::test]
async fn create_organization_writes_quay_rows_and_logs() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice_id, alice) = env.user_with_token("alice").await;
        let r = env
            .call(
                "POST",
                "/api/v1/organization/",
                Some(&alice),
                Some(json!({"name": "acme", "email": "billing@acme.example"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.text, "\"Created\"\n");
        let db = env.tdb.db();
        let org = db.org_by_name("acme").await.expect("db").expect("org");
        assert!(org.account.organization);
        assert!(!org.account.robot);
        // The organization's own e-mail is an internal uuid4; the contact is separate.
        assert!(uuid::Uuid::parse_str(&org.account.email).is_ok(), "{org:?}");
        assert_eq!(org.contact_email.as_deref(), Some("billing@acme.example"));
        assert_eq!(org.removed_tag_expiration_s, 1_209_600);
        assert!(!org.invoice_email);
        let teams = db.teams_of_org(org.account.id).await.expect("teams");
        assert_eq!(teams.len(), 1);
        assert_eq!(teams[0].team.name, "owners");
        assert_eq!(teams[0].team.role, "admin");
        assert_eq!(teams[0].team.description, "");
        assert_eq!(teams[0].member_count, 1);
        assert_eq!(
            db.team_members(teams[0].team.id).await.expect("members")[0].id,
            alice_id
        );
        assert_eq!(env.log_kinds().await, vec!["org_create"]);
        let meta = last_log(&env, "org_create").await;
        assert_eq!(
            without_oauth(meta.clone()),
            json!({"email": "billing@acme.example", "namespace": "acme"})
        );
        assert_eq!(meta["oauth_token_application"], "quayside-internal");

        // `contact_email` wins over `email`; no address at all is fine.
        let r = env
            .call(
                "POST",
                "/api/v1/organization/",
                Some(&alice),
                Some(json!({"name": "beta", "email": "x@y.example", "contact_email": "c@beta.example"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let beta = db.org_by_name("beta").await.expect("db").expect("org");
        assert_eq!(beta.contact_email.as_deref(), Some("c@beta.example"));
        let r = env
            .call(
                "POST",
                "/api/v1/organization/",
                Some(&alice),
                Some(json!({"name": "gamma"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let gamma = db.org_by_name("gamma").await.expect("db").expect("org");
        assert_eq!(gamma.contact_email, None);
        assert_eq!(
            without_oauth(last_log(&env, "org_create").await),
            json!({"email": null, "namespace": "gamma"})
        );
        let r = env.get("/api/v1/organization/gamma", Some(&alice)).await;
        assert_eq!(r.json["email"], "", "{r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn create_organization_errors() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice_id, alice) = env.user_with_token("alice").await;
        let path = "/api/v1/organization/";
        let r = env
            .call("POST", path, None, Some(json!({"name": "acme"})))
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        // A token without user:admin cannot create organizations.
        let weak = env
            .token(alice_id, "repo:admin org:admin repo:create")
            .await;
        let r = env
            .call("POST", path, Some(&weak), Some(json!({"name": "acme"})))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.call("POST", path, Some(&alice), None).await;
        assert_problem(&r, 400, "invalid_request", "Missing JSON body");
        let r = env
            .call(
                "POST",
                path,
                Some(&alice),
                Some(json!({"email": "a@b.example"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "'name' is a required property");
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": 5})))
            .await;
        assert_problem(&r, 400, "invalid_request", "5 is not of type 'string'");
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "alice"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "A user or organization with this name already exists",
        );
        let r = env
            .call(
                "POST",
                path,
                Some(&alice),
                Some(json!({"name": "acme", "email": "not-an-email"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "Invalid email address");
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "Acme"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Invalid namespace Acme: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$",
        );
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "a"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Invalid namespace a: Namespace must be between 2 and 255 characters in length",
        );
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "acme"})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "acme"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "A user or organization with this name already exists",
        );
        assert_eq!(env.log_kinds().await, vec!["org_create"]);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn creation_restrictions() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_SUPERUSERS_ORG_CREATION_ONLY: true").await;
        let (_, alice) = env.user_with_token("alice").await;
        let (_, sup) = env.user_with_token("super").await;
        let path = "/api/v1/organization/";
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "acme"})))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("POST", path, Some(&sup), Some(json!({"name": "acme"})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        env.cleanup().await;

        let env = env_with(
            backend,
            "FEATURE_RESTRICTED_USERS: true\nRESTRICTED_USERS_WHITELIST: [alice]",
        )
        .await;
        let (_, alice) = env.user_with_token("alice").await;
        let (_, bob) = env.user_with_token("bob").await;
        let (_, sup) = env.user_with_token("super").await;
        let r = env
            .call("POST", path, Some(&bob), Some(json!({"name": "bobs"})))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("POST", path, Some(&alice), Some(json!({"name": "alices"})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .call("POST", path, Some(&sup), Some(json!({"name": "supers"})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn organization_view_by_role() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, bob, carol) = acme(&env).await;
        let (_, sup) = env.user_with_token("super").await;
        let path = "/api/v1/organization/acme";

        let r = env.get(path, Some(&alice)).await;
        assert_eq!(r.status, 200, "{r:?}");
        let v = &r.json;
        assert_eq!(keys(v), strs(ADMIN_VIEW_KEYS), "{r:?}");
        assert_eq!(v["name"], "acme");
        assert_eq!(v["email"], "billing@acme.example");
        assert_eq!(v["avatar"]["kind"], "user");
        assert_eq!(v["avatar"]["name"], "acme");
        assert_eq!(v["is_admin"], true);
        assert_eq!(v["is_member"], true);
        assert_eq!(v["invoice_email"], false);
        assert_eq!(v["invoice_email_address"], Value::Null);
        assert_eq!(v["tag_expiration_s"], 1_209_600);
        assert_eq!(v["is_free_account"], true);
        assert_eq!(v["ordered_teams"], json!(["owners", "devs"]));
        assert_eq!(keys(&v["teams"]["owners"]), strs(TEAM_KEYS));
        assert_eq!(
            v["teams"]["owners"],
            json!({
                "name": "owners", "description": "", "role": "admin",
                "avatar": v["teams"]["owners"]["avatar"].clone(),
                "can_view": true, "repo_count": 0, "member_count": 1, "is_synced": false,
            })
        );
        assert_eq!(v["teams"]["owners"]["avatar"]["kind"], "team");
        assert_eq!(v["teams"]["devs"]["role"], "member");
        assert_eq!(v["teams"]["devs"]["can_view"], true);

        let r = env.get(path, Some(&bob)).await;
        assert_eq!(r.status, 200, "{r:?}");
        let v = &r.json;
        assert_eq!(keys(v), strs(MEMBER_VIEW_KEYS), "{r:?}");
        assert_eq!(v["email"], "");
        assert_eq!(v["is_admin"], false);
        assert_eq!(v["is_member"], true);
        assert_eq!(v["teams"]["owners"]["can_view"], false);
        assert_eq!(v["teams"]["devs"]["can_view"], true);
        assert_eq!(v["ordered_teams"], json!(["owners", "devs"]));

        for token in [Some(carol.as_str()), None, Some(sup.as_str())] {
            let r = env.get(path, token).await;
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(keys(&r.json), strs(PUBLIC_VIEW_KEYS), "{r:?}");
            assert_eq!(r.json["email"], "");
            assert_eq!(r.json["is_admin"], false);
            assert_eq!(r.json["is_member"], false);
        }

        // Scope clamping: alice's token with only repo:create makes her a "creator".
        let alice_id = env
            .tdb
            .db()
            .account_by_username("alice")
            .await
            .expect("db")
            .expect("alice")
            .id;
        let creator = env.token(alice_id, "repo:create").await;
        let r = env.get(path, Some(&creator)).await;
        assert_eq!(keys(&r.json), strs(MEMBER_VIEW_KEYS), "{r:?}");
        assert_eq!(r.json["is_admin"], false);
        assert_eq!(r.json["is_member"], true);
        assert_eq!(r.json["teams"]["owners"]["can_view"], true);
        let reader = env.token(alice_id, "repo:read").await;
        let r = env.get(path, Some(&reader)).await;
        assert_eq!(keys(&r.json), strs(PUBLIC_VIEW_KEYS), "{r:?}");

        let r = env.get("/api/v1/organization/alice", Some(&alice)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env.get("/api/v1/organization/nothing", None).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn superusers_with_full_access_and_global_readonly() {
    for backend in backends() {
        let env = env_with(
            backend,
            "FEATURE_SUPERUSERS_FULL_ACCESS: true\nGLOBAL_READONLY_SUPER_USERS: [reader]",
        )
        .await;
        let (_alice, _bob, _carol) = acme(&env).await;
        let (_, sup) = env.user_with_token("super").await;
        let (_, reader) = env.user_with_token("reader").await;
        let path = "/api/v1/organization/acme";
        for token in [&sup, &reader] {
            let r = env.get(path, Some(token)).await;
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(keys(&r.json), strs(MEMBER_VIEW_KEYS), "{r:?}");
            assert_eq!(r.json["email"], "billing@acme.example");
            assert_eq!(r.json["is_admin"], false);
            assert_eq!(r.json["is_member"], false);
            assert_eq!(r.json["teams"]["owners"]["can_view"], true);
            assert_eq!(r.json["teams"]["devs"]["can_view"], true);
            let r = env.get(&format!("{path}/members"), Some(token)).await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        // The full-access superuser may change the organization; the read-only one not.
        let r = env
            .call(
                "PUT",
                path,
                Some(&reader),
                Some(json!({"invoice_email": true})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "PUT",
                path,
                Some(&sup),
                Some(json!({"invoice_email": true})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(MEMBER_VIEW_KEYS), "{r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn change_organization_details() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, bob, carol) = acme(&env).await;
        let path = "/api/v1/organization/acme";
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({
                    "email": "new@acme.example",
                    "invoice_email": true,
                    "invoice_email_address": "invoices@acme.example",
                    "tag_expiration_s": 604_800,
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(ADMIN_VIEW_KEYS));
        assert_eq!(r.json["email"], "new@acme.example");
        assert_eq!(r.json["invoice_email"], true);
        assert_eq!(r.json["invoice_email_address"], "invoices@acme.example");
        assert_eq!(r.json["tag_expiration_s"], 604_800);
        assert_eq!(
            env.log_kinds().await,
            vec![
                "org_create",
                "org_change_invoicing",
                "org_change_invoicing",
                "org_change_email",
                "org_change_tag_expiration"
            ]
        );
        assert_eq!(
            without_oauth(last_log(&env, "org_change_email").await),
            json!({"email": "new@acme.example", "namespace": "acme", "old_email": "billing@acme.example"})
        );
        assert_eq!(
            without_oauth(last_log(&env, "org_change_tag_expiration").await),
            json!({"tag_expiration": 604_800, "namespace": "acme"})
        );
        assert_eq!(
            without_oauth(last_log(&env, "org_change_invoicing").await),
            json!({"invoice_email_address": "invoices@acme.example", "namespace": "acme"})
        );
        let org = env
            .tdb
            .db()
            .org_by_name("acme")
            .await
            .expect("db")
            .expect("org");
        assert_eq!(org.removed_tag_expiration_s, 604_800);
        assert_eq!(org.contact_email.as_deref(), Some("new@acme.example"));

        // Unchanged values write nothing; "" clears the contact address.
        let before = env.log_kinds().await.len();
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"email": "new@acme.example", "invoice_email_address": "invoices@acme.example"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(env.log_kinds().await.len(), before);
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"contact_email": ""})),
            )
            .await;
        assert_eq!(r.json["email"], "", "{r:?}");

        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"tag_expiration_s": 12345})),
            )
            .await;
        assert_message(&r, 400, "Invalid tag expiration option");
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"tag_expiration_s": -1})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "-1 is less than the minimum of 0",
        );
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"invoice_email": "yes"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "'yes' is not of type 'boolean'");
        let r = env
            .call("PUT", path, Some(&alice), Some(json!({"email": "nope"})))
            .await;
        assert_problem(&r, 400, "invalid_request", "Invalid email address");
        // The body is validated before the permission check.
        let r = env
            .call("PUT", path, Some(&carol), Some(json!({"invoice_email": 1})))
            .await;
        assert_problem(&r, 400, "invalid_request", "1 is not of type 'boolean'");

        let r = env
            .call(
                "PUT",
                path,
                Some(&bob),
                Some(json!({"invoice_email": true})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("PUT", path, None, Some(json!({"invoice_email": true})))
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let alice_id = env
            .tdb
            .db()
            .account_by_username("alice")
            .await
            .expect("db")
            .expect("alice")
            .id;
        let no_org_admin = env
            .token(alice_id, "repo:admin repo:create user:admin super:user")
            .await;
        let r = env
            .call(
                "PUT",
                path,
                Some(&no_org_admin),
                Some(json!({"invoice_email": true})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        // A user namespace is not an organization.
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/alice",
                Some(&alice),
                Some(json!({"invoice_email": true})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn members_and_collaborators() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, bob, carol) = acme(&env).await;
        let db = env.tdb.db();
        let org = db.org_by_name("acme").await.expect("db").expect("org");
        let (alice_id, bob_id, carol_id) = (
            id_of(&env, "alice").await,
            id_of(&env, "bob").await,
            id_of(&env, "carol").await,
        );
        accounts::robot(&env.auth, org.account.id, "bot")
            .await
            .expect("robot");
        let bot_id = id_of(&env, "acme+bot").await;
        let devs = db
            .team_by_name(org.account.id, "devs")
            .await
            .expect("db")
            .expect("devs");
        db.add_team_member(devs.id, bot_id).await.expect("member");
        let repo = env.repo("acme", "app", false, Some(alice_id)).await;
        env.grant(repo, bob_id, Role::Write).await;
        env.grant(repo, carol_id, Role::Read).await;
        env.grant(repo, bot_id, Role::Read).await;

        let r = env
            .get("/api/v1/organization/acme/members", Some(&alice))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let members = r.json["members"].as_array().expect("members").clone();
        assert_eq!(members.len(), 2, "{r:?}");
        assert_eq!(
            keys(&members[0]),
            strs(&["avatar", "kind", "name", "repositories", "teams"])
        );
        assert_eq!(members[0]["name"], "alice");
        assert_eq!(members[0]["kind"], "user");
        assert_eq!(members[0]["avatar"]["kind"], "user");
        assert_eq!(members[0]["teams"][0]["name"], "owners");
        assert_eq!(keys(&members[0]["teams"][0]), strs(&["avatar", "name"]));
        assert_eq!(members[0]["repositories"], json!(["app"]));
        assert_eq!(members[1]["name"], "bob");
        assert_eq!(members[1]["teams"][0]["name"], "devs");
        assert_eq!(members[1]["repositories"], json!(["app"]));

        let r = env
            .get("/api/v1/organization/acme/members/bob", Some(&alice))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            strs(&["avatar", "kind", "name", "repositories", "teams"])
        );
        assert_eq!(r.json["kind"], "user");
        assert_eq!(r.json["teams"][0]["name"], "devs");
        assert_eq!(r.json["repositories"], json!(["app"]));
        let r = env
            .get("/api/v1/organization/acme/members/acme+bot", Some(&alice))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["kind"], "robot");
        assert_eq!(r.json["avatar"]["kind"], "robot");
        assert_eq!(r.json["teams"][0]["name"], "devs");
        assert_eq!(r.json["repositories"], json!(["app"]));
        for who in ["carol", "nobody"] {
            let r = env
                .get(
                    &format!("/api/v1/organization/acme/members/{who}"),
                    Some(&alice),
                )
                .await;
            assert_problem(&r, 404, "not_found", "Not Found");
        }

        let r = env
            .get("/api/v1/organization/acme/collaborators", Some(&alice))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let c = r.json["collaborators"].as_array().expect("list").clone();
        assert_eq!(c.len(), 1, "{r:?}");
        assert_eq!(
            keys(&c[0]),
            strs(&["avatar", "kind", "name", "repositories"])
        );
        assert_eq!(c[0]["name"], "carol");
        assert_eq!(c[0]["kind"], "user");
        assert_eq!(c[0]["repositories"], json!(["app"]));

        for p in [
            "/api/v1/organization/acme/members",
            "/api/v1/organization/acme/members/bob",
            "/api/v1/organization/acme/collaborators",
        ] {
            let r = env.get(p, Some(&bob)).await;
            assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
            let r = env.get(p, None).await;
            assert_problem(&r, 401, "invalid_token", "Requires authentication");
        }
        let r = env
            .get("/api/v1/organization/nothing/members", Some(&alice))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        // Removing a member takes it off every team and every direct permission.
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/members/bob",
                Some(&bob),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/members/bob",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(r.text, "");
        assert!(!db
            .is_org_team_member(org.account.id, bob_id)
            .await
            .expect("db"));
        assert!(db
            .account_repo_roles(bob_id, repo)
            .await
            .expect("db")
            .is_empty());
        let r = env
            .get("/api/v1/organization/acme/members/bob", Some(&alice))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/members/alice",
                Some(&alice),
                None,
            )
            .await;
        assert_message(
            &r,
            400,
            "Cannot remove user as they are the only organization admin",
        );
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/members/acme+bot",
                Some(&alice),
                None,
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let _ = carol;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn delete_organization() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, bob, _carol) = acme(&env).await;
        let path = "/api/v1/organization/acme";
        let r = env.call("DELETE", path, None, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env.call("DELETE", path, Some(&bob), None).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let alice_id = env
            .tdb
            .db()
            .account_by_username("alice")
            .await
            .expect("db")
            .expect("alice")
            .id;
        let weak = env.token(alice_id, "repo:admin user:admin").await;
        let r = env.call("DELETE", path, Some(&weak), None).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let org_id = env
            .tdb
            .db()
            .org_by_name("acme")
            .await
            .expect("db")
            .expect("org")
            .account
            .id;
        let r = env.call("DELETE", path, Some(&alice), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        let kinds = env.log_kinds().await;
        assert_eq!(kinds.last().map(String::as_str), Some("org_delete"));
        assert_eq!(
            without_oauth(last_log(&env, "org_delete").await),
            json!({"namespace": "acme"})
        );
        // Marked for deletion: renamed and disabled, so the name is gone.
        let r = env.get(path, Some(&alice)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let renamed = env
            .tdb
            .db()
            .account_by_id(org_id)
            .await
            .expect("db")
            .expect("row kept until GC");
        assert!(!renamed.enabled);
        assert_ne!(renamed.username, "acme");
        // Deleting a user namespace through this endpoint is a 404.
        let r = env
            .call("DELETE", "/api/v1/organization/alice", Some(&alice), None)
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}
