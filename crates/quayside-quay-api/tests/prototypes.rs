//! Default permissions on `/api/v1` (Quay `endpoints/api/prototype.py`): list, create,
//! update, delete, their audit rows, and that repository creation applies them — on both
//! backends.

mod common;

use common::*;
use quayside_meta::logs::LogFilter;
use quayside_testkit::accounts;
use serde_json::{json, Value};

const PROTO_KEYS: &[&str] = &["activating_user", "delegate", "id", "role"];
const USER_KEYS: &[&str] = &["avatar", "is_org_member", "is_robot", "kind", "name"];

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

/// `acme` (owner alice) with team `devs` holding bob, outsider carol, robot `acme+bot`.
/// Returns (org id, devs id, alice token, bob token).
async fn setup(env: &Env) -> (i64, i64, String, String) {
    let (alice_id, alice) = env.user_with_token("alice").await;
    let (bob_id, bob) = env.user_with_token("bob").await;
    env.user("carol").await;
    let org = env.org("acme", alice_id).await;
    let db = env.tdb.db();
    let devs = db
        .insert_team(org, "devs", "member", "")
        .await
        .expect("team");
    db.add_team_member(devs, bob_id).await.expect("member");
    accounts::robot(&env.auth, org, "bot").await.expect("robot");
    (org, devs, alice, bob)
}

const PATH: &str = "/api/v1/organization/acme/prototypes";

#[tokio::test]
async fn create_list_update_delete() {
    for backend in backends() {
        let env = env(backend).await;
        let (_org, _devs, alice, _bob) = setup(&env).await;

        let r = env
            .call(
                "POST",
                PATH,
                Some(&alice),
                Some(json!({"role": "write", "delegate": {"name": "devs", "kind": "team"}})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(PROTO_KEYS));
        assert_eq!(r.json["activating_user"], Value::Null);
        assert_eq!(r.json["role"], "write");
        assert_eq!(keys(&r.json["delegate"]), strs(&["avatar", "kind", "name"]));
        assert_eq!(r.json["delegate"]["name"], "devs");
        assert_eq!(r.json["delegate"]["kind"], "team");
        assert_eq!(r.json["delegate"]["avatar"]["kind"], "team");
        let team_proto = r.json["id"].as_str().expect("id").to_owned();
        assert!(uuid::Uuid::parse_str(&team_proto).is_ok());
        assert_eq!(
            last_log(&env, "create_prototype_permission").await,
            json!({"prototypeid": team_proto, "username": "alice",
                   "activating_username": null, "role": "write", "delegate_team": "devs"})
        );

        let r = env
            .call(
                "POST",
                PATH,
                Some(&alice),
                Some(
                    json!({"role": "read", "delegate": {"name": "carol", "kind": "user"},
                            "activating_user": {"name": "bob"}}),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json["delegate"]), strs(USER_KEYS));
        assert_eq!(
            r.json["delegate"],
            json!({"name": "carol", "is_robot": false, "kind": "user",
                   "is_org_member": false, "avatar": r.json["delegate"]["avatar"].clone()})
        );
        assert_eq!(keys(&r.json["activating_user"]), strs(USER_KEYS));
        assert_eq!(r.json["activating_user"]["name"], "bob");
        assert_eq!(r.json["activating_user"]["is_org_member"], true);
        let user_proto = r.json["id"].as_str().expect("id").to_owned();
        assert_eq!(
            last_log(&env, "create_prototype_permission").await,
            json!({"prototypeid": user_proto, "username": "alice",
                   "activating_username": "bob", "role": "read", "delegate_user": "carol"})
        );

        let r = env
            .call(
                "POST",
                PATH,
                Some(&alice),
                Some(json!({"role": "admin", "delegate": {"name": "acme+bot", "kind": "user"}})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["delegate"]["is_robot"], true);
        assert_eq!(r.json["delegate"]["is_org_member"], true);
        assert_eq!(r.json["delegate"]["avatar"]["kind"], "robot");

        let r = env.get(PATH, Some(&alice)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(&["prototypes"]));
        let ids: Vec<&str> = r.json["prototypes"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|p| p["id"].as_str())
            .collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(&ids[..2], &[team_proto.as_str(), user_proto.as_str()]);

        let one = format!("{PATH}/{team_proto}");
        let r = env
            .call("PUT", &one, Some(&alice), Some(json!({"role": "admin"})))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), strs(PROTO_KEYS));
        assert_eq!(r.json["role"], "admin");
        assert_eq!(
            last_log(&env, "modify_prototype_permission").await,
            json!({"prototypeid": team_proto, "username": "alice", "activating_username": null,
                   "role": "admin", "original_role": "write", "delegate_team": "devs"})
        );
        let r = env
            .call("PUT", &one, Some(&alice), Some(json!({"role": "owner"})))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'owner' is not one of ['read', 'write', 'admin']",
        );

        let r = env.call("DELETE", &one, Some(&alice), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            last_log(&env, "delete_prototype_permission").await,
            json!({"prototypeid": team_proto, "username": "alice", "activating_username": null,
                   "role": "admin", "delegate_team": "devs"})
        );
        let r = env.call("DELETE", &one, Some(&alice), None).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .call("PUT", &one, Some(&alice), Some(json!({"role": "read"})))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env.get(PATH, Some(&alice)).await;
        assert_eq!(r.json["prototypes"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            env.log_kinds().await,
            vec![
                "create_prototype_permission",
                "create_prototype_permission",
                "create_prototype_permission",
                "modify_prototype_permission",
                "delete_prototype_permission"
            ]
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn creation_errors_and_permissions() {
    for backend in backends() {
        let env = env(backend).await;
        let (_org, _devs, alice, bob) = setup(&env).await;
        let post = |token: Option<String>, body: Value| {
            let env = &env;
            async move { env.call("POST", PATH, token.as_deref(), Some(body)).await }
        };
        let a = || Some(alice.clone());
        let r = post(a(), json!({"delegate": {"name": "devs", "kind": "team"}})).await;
        assert_problem(&r, 400, "invalid_request", "'role' is a required property");
        let r = post(a(), json!({"role": "read"})).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'delegate' is a required property",
        );
        let r = post(
            a(),
            json!({"role": "owner", "delegate": {"name": "devs", "kind": "team"}}),
        )
        .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'owner' is not one of ['read', 'write', 'admin']",
        );
        let r = post(
            a(),
            json!({"role": "read", "delegate": {"name": "devs", "kind": "robot"}}),
        )
        .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'robot' is not one of ['user', 'team']",
        );
        let r = post(a(), json!({"role": "read", "delegate": {"kind": "team"}})).await;
        assert_problem(&r, 400, "invalid_request", "'name' is a required property");
        let r = post(a(), json!({"role": "read", "delegate": "devs"})).await;
        assert_problem(&r, 400, "invalid_request", "'devs' is not of type 'object'");
        let r = post(
            a(),
            json!({"role": "read", "delegate": {"name": "devs", "kind": "team"}, "activating_user": {"name": "ghost"}}),
        )
        .await;
        assert_problem(&r, 400, "invalid_request", "Unknown activating user");
        let r = post(
            a(),
            json!({"role": "read", "delegate": {"name": "ghost", "kind": "user"}}),
        )
        .await;
        assert_problem(&r, 400, "invalid_request", "Missing delegate user or team");
        let r = post(
            a(),
            json!({"role": "read", "delegate": {"name": "acme", "kind": "user"}}),
        )
        .await;
        assert_problem(&r, 400, "invalid_request", "Missing delegate user or team");
        let r = post(
            a(),
            json!({"role": "read", "delegate": {"name": "nope", "kind": "team"}}),
        )
        .await;
        assert_message(&r, 400, "('Team does not exist: %s/%s', 'acme', 'nope')");

        // Permissions.
        let body = json!({"role": "read", "delegate": {"name": "devs", "kind": "team"}});
        let r = post(Some(bob.clone()), body.clone()).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = post(None, body.clone()).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let no_org_admin = env
            .token(
                id_of(&env, "alice").await,
                "repo:admin repo:create user:admin",
            )
            .await;
        let r = post(Some(no_org_admin.clone()), body.clone()).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(PATH, Some(&no_org_admin)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(PATH, Some(&bob)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(PATH, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        // A user's own namespace is not an organization.
        let r = env
            .get("/api/v1/organization/alice/prototypes", Some(&alice))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        assert!(env.log_kinds().await.is_empty());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn superusers_list_prototypes_only_with_full_access() {
    for backend in backends() {
        for (yaml, status) in [("", 403), ("FEATURE_SUPERUSERS_FULL_ACCESS: true", 200)] {
            let env = env_with(backend, yaml).await;
            setup(&env).await;
            let (_, sup) = env.user_with_token("super").await;
            let r = env.get(PATH, Some(&sup)).await;
            assert_eq!(r.status.as_u16(), status, "{yaml}: {r:?}");
            let r = env
                .call(
                    "POST",
                    PATH,
                    Some(&sup),
                    Some(json!({"role": "read", "delegate": {"name": "devs", "kind": "team"}})),
                )
                .await;
            assert_eq!(r.status.as_u16(), status, "{yaml}: {r:?}");
            if status == 200 {
                assert_eq!(
                    last_log(&env, "create_prototype_permission").await["username"],
                    "super"
                );
            }
            env.cleanup().await;
        }
    }
}

#[tokio::test]
async fn prototypes_apply_when_repositories_are_created() {
    for backend in backends() {
        let env = env(backend).await;
        let (_org, devs, alice, _bob) = setup(&env).await;
        for body in [
            json!({"role": "write", "delegate": {"name": "devs", "kind": "team"}}),
            json!({"role": "read", "delegate": {"name": "carol", "kind": "user"},
                   "activating_user": {"name": "bob"}}),
        ] {
            let r = env.call("POST", PATH, Some(&alice), Some(body)).await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        let db = env.tdb.db();
        let carol = id_of(&env, "carol").await;
        // Created by alice: the team rule applies, bob's rule does not.
        let by_alice = env
            .repo("acme", "by-alice", false, Some(id_of(&env, "alice").await))
            .await;
        // Created by bob: both apply.
        let by_bob = env
            .repo("acme", "by-bob", false, Some(id_of(&env, "bob").await))
            .await;
        let team_perms = db.team_repo_permissions(devs).await.expect("db");
        let names: Vec<(&str, &str)> = team_perms
            .iter()
            .map(|p| (p.repository.as_str(), p.role.as_str()))
            .collect();
        assert_eq!(names, vec![("by-alice", "write"), ("by-bob", "write")]);
        assert!(db
            .account_repo_roles(carol, by_alice)
            .await
            .expect("db")
            .is_empty());
        assert_eq!(
            db.account_repo_roles(carol, by_bob).await.expect("db"),
            vec!["read".to_owned()]
        );
        // Carol now collaborates on by-bob through the API-created rule.
        let r = env
            .get("/api/v1/organization/acme/collaborators", Some(&alice))
            .await;
        assert_eq!(r.json["collaborators"][0]["name"], "carol", "{r:?}");
        assert_eq!(
            r.json["collaborators"][0]["repositories"],
            json!(["by-bob"])
        );
        env.cleanup().await;
    }
}
