//! Teams on `/api/v1` (Quay `endpoints/api/team.py`): create/update/delete, members with
//! direct adds and invites, last-admin protections, team permissions — on both backends.

mod common;

use common::*;
use quayside_meta::logs::LogFilter;
use quayside_testkit::accounts;
use serde_json::{json, Value};

const TEAM_VIEW_KEYS: &[&str] = &[
    "avatar",
    "can_view",
    "description",
    "name",
    "new_team",
    "role",
];
const MEMBER_KEYS: &[&str] = &["avatar", "invited", "is_robot", "kind", "name"];

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

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
    let mut v: Value = serde_json::from_str(&row.metadata_json).expect("json");
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with("oauth_token"));
    }
    v
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

/// `acme` owned by alice; users bob and carol. Returns (org id, alice, bob, carol tokens).
async fn setup(env: &Env) -> (i64, String, String, String) {
    let (alice_id, alice) = env.user_with_token("alice").await;
    let (_, bob) = env.user_with_token("bob").await;
    let (_, carol) = env.user_with_token("carol").await;
    let org = env.org("acme", alice_id).await;
    (org, alice, bob, carol)
}

#[tokio::test]
async fn create_update_and_delete_a_team() {
    for backend in backends() {
        let env = env(backend).await;
        let (org, alice, bob, _carol) = setup(&env).await;
        let path = "/api/v1/organization/acme/team/devs";
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"role": "member", "description": "Developers"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(TEAM_VIEW_KEYS));
        assert_eq!(r.json["name"], "devs");
        assert_eq!(r.json["description"], "Developers");
        assert_eq!(r.json["role"], "member");
        assert_eq!(r.json["can_view"], true);
        assert_eq!(r.json["new_team"], true);
        assert_eq!(r.json["avatar"]["kind"], "team");
        assert_eq!(env.log_kinds().await, vec!["org_create_team"]);
        assert_eq!(
            last_log(&env, "org_create_team").await,
            json!({"team": "devs"})
        );
        let team = env
            .tdb
            .db()
            .team_by_name(org, "devs")
            .await
            .expect("db")
            .expect("team");
        assert_eq!(team.role, "member");
        assert_eq!(team.description, "Developers");

        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"role": "creator", "description": "Devs"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["new_team"], false);
        assert_eq!(r.json["role"], "creator");
        assert_eq!(r.json["description"], "Devs");
        assert_eq!(
            env.log_kinds().await,
            vec![
                "org_create_team",
                "org_set_team_description",
                "org_set_team_role"
            ]
        );
        assert_eq!(
            last_log(&env, "org_set_team_description").await,
            json!({"team": "devs", "description": "Devs"})
        );
        assert_eq!(
            last_log(&env, "org_set_team_role").await,
            json!({"team": "devs", "role": "creator"})
        );
        // Same values: nothing logged.
        let r = env
            .call(
                "PUT",
                path,
                Some(&alice),
                Some(json!({"role": "creator", "description": "Devs"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(env.log_kinds().await.len(), 3);

        // Validation (before permissions), names, namespaces.
        let r = env.call("PUT", path, Some(&bob), Some(json!({}))).await;
        assert_problem(&r, 400, "invalid_request", "'role' is a required property");
        let r = env
            .call("PUT", path, Some(&alice), Some(json!({"role": "owner"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'owner' is not one of ['member', 'creator', 'admin']",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/Bad%20Team",
                Some(&alice),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_message(
            &r,
            400,
            "Invalid team name Bad Team: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/x",
                Some(&alice),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_message(
            &r,
            400,
            "Invalid team name x: Team must be between 2 and 255 characters in length",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/alice/team/devs",
                Some(&alice),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_message(&r, 400, "Organization does not exist: alice");

        // Permissions: members, anonymous, a token without org:admin.
        let r = env
            .call("PUT", path, Some(&bob), Some(json!({"role": "admin"})))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("PUT", path, None, Some(json!({"role": "admin"})))
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let creator_token = env
            .token(
                id_of(&env, "alice").await,
                "repo:admin repo:create user:admin",
            )
            .await;
        let r = env
            .call(
                "PUT",
                path,
                Some(&creator_token),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.call("DELETE", path, Some(&creator_token), None).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        let r = env.call("DELETE", path, Some(&bob), None).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.call("DELETE", path, Some(&alice), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            last_log(&env, "org_delete_team").await,
            json!({"team": "devs"})
        );
        assert!(env
            .tdb
            .db()
            .team_by_name(org, "devs")
            .await
            .expect("db")
            .is_none());
        let r = env.call("DELETE", path, Some(&alice), None).await;
        assert_message(&r, 400, "Team 'devs' is not a team in org 'acme'");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn last_admin_protection() {
    for backend in backends() {
        let env = env(backend).await;
        let (_org, alice, _bob, _carol) = setup(&env).await;
        let owners = "/api/v1/organization/acme/team/owners";
        let r = env
            .call("PUT", owners, Some(&alice), Some(json!({"role": "member"})))
            .await;
        assert_message(
            &r,
            400,
            "Cannot remove admin from team 'owners' because calling user would no longer have admin on org 'acme'",
        );
        let r = env.call("DELETE", owners, Some(&alice), None).await;
        assert_message(
            &r,
            400,
            "Deleting team 'owners' would remove admin ability for user 'alice' in organization 'acme'",
        );
        let r = env
            .call(
                "DELETE",
                &format!("{owners}/members/alice"),
                Some(&alice),
                None,
            )
            .await;
        assert_message(
            &r,
            400,
            "User cannot remove themselves from their only admin team.",
        );
        // A second admin team lifts the protection for the first one.
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/admins",
                Some(&alice),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/admins/members/alice",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["invited"], false);
        let r = env
            .call("PUT", owners, Some(&alice), Some(json!({"role": "member"})))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["role"], "member");
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/team/admins",
                Some(&alice),
                None,
            )
            .await;
        assert_message(
            &r,
            400,
            "Deleting team 'admins' would remove admin ability for user 'alice' in organization 'acme'",
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn members_are_added_directly_without_invites() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_MAILING: false").await;
        let (org, alice, bob, _carol) = setup(&env).await;
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/devs",
                Some(&alice),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        accounts::robot(&env.auth, org, "bot").await.expect("robot");
        let bob_id = id_of(&env, "bob").await;
        accounts::robot(&env.auth, bob_id, "mine")
            .await
            .expect("robot");
        let members = "/api/v1/organization/acme/team/devs/members";

        let r = env
            .call("PUT", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(MEMBER_KEYS));
        assert_eq!(
            r.json,
            json!({"name": "bob", "kind": "user", "is_robot": false,
                   "avatar": r.json["avatar"].clone(), "invited": false})
        );
        assert_eq!(r.json["avatar"]["kind"], "user");
        assert_eq!(
            last_log(&env, "org_add_team_member").await,
            json!({"member": "bob", "team": "devs"})
        );
        let r = env
            .call("PUT", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_message(&r, 400, "User bob is already a member of team devs");
        let r = env
            .call("PUT", &format!("{members}/nobody"), Some(&alice), None)
            .await;
        assert_problem(&r, 400, "invalid_request", "Unknown user");
        let r = env
            .call("PUT", &format!("{members}/acme+bot"), Some(&alice), None)
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["is_robot"], true);
        assert_eq!(r.json["avatar"]["kind"], "robot");
        let r = env
            .call("PUT", &format!("{members}/bob+mine"), Some(&alice), None)
            .await;
        assert_message(
            &r,
            400,
            "Cannot add the specified robot to this team, as it is not a member of the organization",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/nope/members/bob",
                Some(&alice),
                None,
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .call("PUT", &format!("{members}/bob"), Some(&bob), None)
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");

        let r = env.get(members, Some(&alice)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(&["can_edit", "members", "name"]));
        assert_eq!(r.json["name"], "devs");
        assert_eq!(r.json["can_edit"], true);
        let names: Vec<&str> = r.json["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| m["name"].as_str())
            .collect();
        assert_eq!(names, vec!["bob", "acme+bot"]);
        // A member of the team may list it (without editing); of another team not.
        let r = env.get(members, Some(&bob)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["can_edit"], false);
        let r = env
            .get("/api/v1/organization/acme/team/owners/members", Some(&bob))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(members, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env
            .get("/api/v1/organization/acme/team/nope/members", Some(&alice))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        let r = env
            .call("DELETE", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            last_log(&env, "org_remove_team_member").await,
            json!({"member": "bob", "team": "devs"})
        );
        let r = env
            .call("DELETE", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_message(&r, 400, "User bob does not belong to team devs");
        let r = env
            .call("DELETE", &format!("{members}/nobody"), Some(&alice), None)
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn non_members_are_invited_with_mailing_and_require_team_invite() {
    for backend in backends() {
        let env = env(backend).await;
        let (org, alice, bob, _carol) = setup(&env).await;
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/devs",
                Some(&alice),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let members = "/api/v1/organization/acme/team/devs/members";
        let r = env
            .call("PUT", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["name"], "bob");
        assert_eq!(r.json["invited"], true);
        assert_eq!(
            last_log(&env, "org_invite_team_member").await,
            json!({"user": "bob", "member": "bob", "team": "devs"})
        );
        let db = env.tdb.db();
        let team = db
            .team_by_name(org, "devs")
            .await
            .expect("db")
            .expect("team");
        let invites = db.team_invites(team.id).await.expect("invites");
        assert_eq!(invites.len(), 1);
        let bob_id = id_of(&env, "bob").await;
        assert_eq!(invites[0].user.as_ref().map(|u| u.id), Some(bob_id));
        assert_eq!(invites[0].email, None);
        assert_eq!(invites[0].inviter_id, id_of(&env, "alice").await);
        assert!(invites[0].invite_token.starts_with("urn:teaminvite:"));
        assert!(!db.is_team_member(team.id, bob_id).await.expect("db"));
        // The invited user's notification, as Quay writes it.
        let sql = "SELECT n.metadata_json FROM notification n \
                   JOIN notificationkind k ON k.id = n.kind_id \
                   WHERE k.name = 'org_team_invite' AND n.target_id = $1 AND n.dismissed = $2";
        let meta: String = match db.pool() {
            quayside_meta::Pool::Postgres(p) => sqlx::query_scalar(sql)
                .bind(bob_id as i32)
                .bind(false)
                .fetch_one(p)
                .await
                .expect("notification"),
            quayside_meta::Pool::Sqlite(p) => sqlx::query_scalar(sql)
                .bind(bob_id as i32)
                .bind(false)
                .fetch_one(p)
                .await
                .expect("notification"),
        };
        assert_eq!(
            meta,
            format!(
                "{{\"code\": \"{}\", \"inviter\": \"alice\", \"org\": \"acme\", \"team\": \"devs\"}}",
                invites[0].invite_token
            )
        );

        // Pending members show only on request, and only to admins.
        let r = env.get(members, Some(&alice)).await;
        assert_eq!(r.json["members"], json!([]), "{r:?}");
        let r = env
            .get(&format!("{members}?includePending=true"), Some(&alice))
            .await;
        let list = r.json["members"].as_array().expect("members").clone();
        assert_eq!(list.len(), 1, "{r:?}");
        assert_eq!(keys(&list[0]), strs(MEMBER_KEYS));
        assert_eq!(list[0]["invited"], true);
        let r = env
            .get(&format!("{members}?includePending=false"), Some(&alice))
            .await;
        assert_eq!(r.json["members"], json!([]), "{r:?}");

        // Deleting an invited user removes the invite.
        let r = env
            .call("DELETE", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            last_log(&env, "org_delete_team_member_invite").await,
            json!({"user": "bob", "team": "devs", "member": "bob"})
        );
        assert!(db.team_invites(team.id).await.expect("db").is_empty());

        // Someone already on a team of the organization is added directly; so are robots.
        let owners = db
            .team_by_name(org, "owners")
            .await
            .expect("db")
            .expect("owners");
        db.add_team_member(owners.id, bob_id).await.expect("member");
        let r = env
            .call("PUT", &format!("{members}/bob"), Some(&alice), None)
            .await;
        assert_eq!(r.json["invited"], false, "{r:?}");
        accounts::robot(&env.auth, org, "bot").await.expect("robot");
        let r = env
            .call("PUT", &format!("{members}/acme+bot"), Some(&alice), None)
            .await;
        assert_eq!(r.json["invited"], false, "{r:?}");
        assert!(db.is_team_member(team.id, bob_id).await.expect("db"));
        let _ = bob;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn team_permissions() {
    for backend in backends() {
        let env = env(backend).await;
        let (org, alice, bob, _carol) = setup(&env).await;
        let alice_id = id_of(&env, "alice").await;
        let db = env.tdb.db();
        let team = db
            .insert_team(org, "devs", "member", "")
            .await
            .expect("team");
        db.add_team_member(team, id_of(&env, "bob").await)
            .await
            .expect("member");
        let repo = env.repo("acme", "app", false, Some(alice_id)).await;
        let public = env.repo("acme", "site", true, Some(alice_id)).await;
        db.add_team_repo_role_if_missing(repo, team, "write")
            .await
            .expect("perm");
        db.add_team_repo_role_if_missing(public, team, "read")
            .await
            .expect("perm");
        let path = "/api/v1/organization/acme/team/devs/permissions";
        let r = env.get(path, Some(&alice)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.json,
            json!({"permissions": [
                {"repository": {"name": "app", "is_public": false}, "role": "write"},
                {"repository": {"name": "site", "is_public": true}, "role": "read"},
            ]})
        );
        let r = env.get(path, Some(&bob)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(path, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env
            .get(
                "/api/v1/organization/acme/team/nope/permissions",
                Some(&alice),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        // The org view counts the team's permissions and members.
        let r = env.get("/api/v1/organization/acme", Some(&alice)).await;
        assert_eq!(r.json["teams"]["devs"]["repo_count"], 2, "{r:?}");
        assert_eq!(r.json["teams"]["devs"]["member_count"], 1, "{r:?}");
        // Deleting the team removes its permissions with it.
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/team/devs",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert!(db.team_repo_permissions(team).await.expect("db").is_empty());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn superusers_administer_teams_only_with_full_access() {
    for backend in backends() {
        let env = env(backend).await;
        let (_org, _alice, _bob, _carol) = setup(&env).await;
        let (_, sup) = env.user_with_token("super").await;
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/ops",
                Some(&sup),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        env.cleanup().await;

        let env = env_with(backend, "FEATURE_SUPERUSERS_FULL_ACCESS: true").await;
        let (_org, _alice, _bob, _carol) = setup(&env).await;
        let (_, sup) = env.user_with_token("super").await;
        let r = env
            .call(
                "PUT",
                "/api/v1/organization/acme/team/ops",
                Some(&sup),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["new_team"], true);
        // Not a member of the team nor an admin: the view says so.
        assert_eq!(r.json["can_view"], false);
        let r = env
            .get("/api/v1/organization/acme/team/ops/members", Some(&sup))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["can_edit"], false);
        // A superuser on no admin team may delete an admin team.
        let r = env
            .call(
                "DELETE",
                "/api/v1/organization/acme/team/owners",
                Some(&sup),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        env.cleanup().await;
    }
}
