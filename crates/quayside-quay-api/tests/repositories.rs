//! Repository API (`/api/v1/repository…`) on both backends: create, list (visibility
//! and pagination), get (shape, tags, stats), update, delete, visibility, state and
//! trust — with permission cells and audit rows.

mod common;

use common::*;
use quayside_auth::Role;
use quayside_meta::with_pool;
use quayside_testkit::sql::{exec, Arg};
use serde_json::{json, Value};

const REPO_KEYS: [&str; 15] = [
    "can_admin",
    "can_write",
    "description",
    "is_free_account",
    "is_organization",
    "is_public",
    "is_starred",
    "kind",
    "name",
    "namespace",
    "state",
    "status_token",
    "tag_expiration_s",
    "tags",
    "trust_enabled",
];

fn repo_keys() -> Vec<String> {
    let mut k: Vec<String> = REPO_KEYS.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// A live tag `name` on a new manifest of `size` bytes, started at `start_ms`.
async fn tag(env: &Env, repo_id: i64, name: &str, digest: &str, size: i64, start_ms: i64) {
    let db = env.tdb.db();
    let manifest_id: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes, layers_compressed_size) \
             VALUES ($1, $2, (SELECT MIN(id) FROM mediatype), '{}', $3) RETURNING id",
        )
        .bind(repo_id as i32)
        .bind(digest)
        .bind(size)
        .fetch_one(pool)
        .await
    })
    .expect("manifest");
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, lifetime_end_ms, \
             hidden, reversion, tag_kind_id, immutable) \
             VALUES ($1, $2, $3, $4, NULL, $5, $5, (SELECT id FROM tagkind WHERE name = 'tag'), $5)",
        )
        .bind(name)
        .bind(repo_id as i32)
        .bind(manifest_id)
        .bind(start_ms)
        .bind(false)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .expect("tag");
}

async fn team(env: &Env, org_id: i64, name: &str, role: &str, members: &[i64]) -> i64 {
    let db = env.tdb.db();
    let id: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO team (name, organization_id, role_id, description) \
             VALUES ($1, $2, (SELECT id FROM teamrole WHERE name = $3), '') RETURNING id",
        )
        .bind(name)
        .bind(org_id as i32)
        .bind(role)
        .fetch_one(pool)
        .await
    })
    .expect("team");
    for m in members {
        exec(env.tdb.db(), "INSERT INTO teammember (user_id, team_id) VALUES (CAST($1 AS INTEGER), CAST($2 AS INTEGER))", &[Arg::I(*m), Arg::I(i64::from(id))]).await;
    }
    i64::from(id)
}

async fn last_log(env: &Env) -> (String, Option<i64>, Value) {
    let rows = env
        .tdb
        .db()
        .log_entries(&quayside_meta::logs::LogFilter::default(), 1)
        .await
        .expect("logs");
    let row = rows.into_iter().next().expect("a log row");
    (
        row.kind,
        row.repository_id,
        serde_json::from_str(&row.metadata_json).expect("metadata"),
    )
}

fn names(r: &Resp) -> Vec<String> {
    let mut v: Vec<String> = r.json["repositories"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{}/{}",
                        x["namespace"].as_str().unwrap_or(""),
                        x["name"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn create_repository() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        let (member, member_tok) = env.user_with_token("member").await;
        let (creator, creator_tok) = env.user_with_token("creator").await;
        let org = env.org("acme", alice).await;
        team(&env, org, "devs", "member", &[member]).await;
        team(&env, org, "makers", "creator", &[creator]).await;

        let body = json!({"repository": "app", "visibility": "private", "description": "My app"});
        let r = env
            .call("POST", "/api/v1/repository", Some(&tok), Some(body.clone()))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(
            r.json,
            json!({"namespace": "alice", "name": "app", "kind": "image"})
        );
        let (kind, repo_id, meta) = last_log(&env).await;
        assert_eq!(kind, "create_repo");
        assert!(repo_id.is_some());
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["namespace"], "alice");
        let details = env
            .tdb
            .db()
            .repository_details("alice", "app")
            .await
            .expect("db")
            .expect("repo");
        assert_eq!(details.description.as_deref(), Some("My app"));
        assert_eq!(details.visibility, quayside_meta::Visibility::Private);
        let perm = env
            .tdb
            .db()
            .repository_user_permission(details.id, "alice")
            .await
            .expect("db");
        assert_eq!(perm.map(|p| p.role).as_deref(), Some("admin"));

        // Errors, in Quay's order and words.
        let r = env
            .call("POST", "/api/v1/repository", Some(&tok), Some(body.clone()))
            .await;
        assert_problem(&r, 400, "invalid_request", "Repository already exists");
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&tok),
                Some(json!({"repository": "Bad Name", "visibility": "public", "description": ""})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "Invalid repository name");
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&tok),
                Some(json!({"repository": "x", "description": ""})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'visibility' is a required property",
        );
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&tok),
                Some(json!({"repository": "x", "visibility": "secret", "description": ""})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'secret' is not one of ['public', 'private']",
        );
        let r = env
            .call("POST", "/api/v1/repository", Some(&tok), None)
            .await;
        assert_problem(&r, 400, "invalid_request", "Missing JSON body");
        let r = env
            .call("POST", "/api/v1/repository", None, Some(body.clone()))
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "Must provide a namespace or must be logged in.",
        );

        // Organizations: creators and admins may, members and outsiders may not.
        let in_org = json!({"namespace": "acme", "repository": "svc", "visibility": "public", "description": ""});
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&member_tok),
                Some(in_org.clone()),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&creator_tok),
                Some(in_org.clone()),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let svc = env
            .tdb
            .db()
            .repository_details("acme", "svc")
            .await
            .expect("db")
            .expect("svc");
        let perm = env
            .tdb
            .db()
            .repository_user_permission(svc.id, "creator")
            .await
            .expect("db");
        assert_eq!(perm.map(|p| p.role).as_deref(), Some("admin"));
        // Scopes: repo:create is needed even in one's own namespace.
        let read_only = env.token(alice, "repo:read repo:write repo:admin").await;
        let r = env
            .call(
                "POST",
                "/api/v1/repository",
                Some(&read_only),
                Some(json!({"repository": "other", "visibility": "public", "description": ""})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let create_only = env.token(alice, "repo:create").await;
        let r = env
            .call("POST", "/api/v1/repository", Some(&create_only), Some(json!({"repository": "other", "visibility": "public", "description": "", "repo_kind": null})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .call("POST", "/api/v1/repository", Some(&tok), Some(json!({"namespace": "nobody", "repository": "x", "visibility": "public", "description": ""})))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        assert_eq!(
            env.log_kinds().await,
            ["create_repo", "create_repo", "create_repo"]
        );
        let _ = creator;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn get_repository_shape_and_cells() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        let (reader, reader_tok) = env.user_with_token("reader").await;
        let (writer, writer_tok) = env.user_with_token("writer").await;
        let (_, other_tok) = env.user_with_token("other").await;
        let private = env.repo("alice", "secret", false, Some(alice)).await;
        let public = env.repo("alice", "open", true, Some(alice)).await;
        env.grant(private, reader, Role::Read).await;
        env.grant(private, writer, Role::Write).await;
        tag(
            &env,
            private,
            "latest",
            "sha256:aaaa",
            1234,
            1_700_000_000_000,
        )
        .await;
        tag(&env, private, "v1", "sha256:bbbb", 99, 1_600_000_000_000).await;
        env.tdb
            .db()
            .star_repository(alice, private, chrono::Utc::now().naive_utc())
            .await
            .expect("star");

        let r = env.get("/api/v1/repository/alice/secret", Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), repo_keys());
        let j = &r.json;
        assert_eq!(j["namespace"], "alice");
        assert_eq!(j["name"], "secret");
        assert_eq!(j["kind"], "image");
        assert_eq!(j["description"], Value::Null);
        assert_eq!(j["is_public"], false);
        assert_eq!(j["is_organization"], false);
        assert_eq!(j["is_starred"], true);
        assert_eq!(j["state"], "NORMAL");
        assert_eq!(j["trust_enabled"], false);
        assert_eq!(j["tag_expiration_s"], 1_209_600);
        assert_eq!(j["is_free_account"], true);
        assert_eq!(j["can_write"], true);
        assert_eq!(j["can_admin"], true);
        assert!(j["status_token"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(
            j["tags"]["latest"],
            json!({"name": "latest", "size": 1234, "last_modified": "Tue, 14 Nov 2023 22:13:20 -0000", "manifest_digest": "sha256:aaaa"})
        );
        assert_eq!(keys(&j["tags"]), ["latest", "v1"]);

        // includeTags=false, includeStats=true.
        exec(
            env.tdb.db(),
            "UPDATE repositoryactioncount SET count = 5 WHERE repository_id = CAST($1 AS INTEGER)",
            &[Arg::I(private)],
        )
        .await;
        let r = env
            .get(
                "/api/v1/repository/alice/secret?includeTags=false&includeStats=true",
                Some(&tok),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.json.get("tags").is_none());
        let stats = r.json["stats"].as_array().expect("stats");
        assert_eq!(stats.len(), 91);
        assert_eq!(stats[0]["count"], 5);
        assert_eq!(keys(&stats[0]), ["count", "date"]);

        // Cells.
        let r = env
            .get("/api/v1/repository/alice/secret", Some(&reader_tok))
            .await;
        assert_eq!(
            (r.json["can_write"].clone(), r.json["can_admin"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(r.json["is_starred"], false);
        let r = env
            .get("/api/v1/repository/alice/secret", Some(&writer_tok))
            .await;
        assert_eq!(
            (r.json["can_write"].clone(), r.json["can_admin"].clone()),
            (json!(true), json!(false))
        );
        let scoped = env.token(alice, "repo:read").await;
        let r = env
            .get("/api/v1/repository/alice/secret", Some(&scoped))
            .await;
        assert_eq!(
            (r.json["can_write"].clone(), r.json["can_admin"].clone()),
            (json!(false), json!(false))
        );
        let r = env
            .get("/api/v1/repository/alice/secret", Some(&other_tok))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get("/api/v1/repository/alice/secret", None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env.get("/api/v1/repository/alice/open", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["status_token"], "");
        assert_eq!(r.json["is_public"], true);
        assert_eq!(r.json["can_write"], false);
        let r = env
            .get("/api/v1/repository/alice/open", Some(&other_tok))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["can_admin"], false);

        // Missing: 404 for those allowed, 401/403 for others.
        let r = env
            .get("/api/v1/repository/alice/nothing", Some(&tok))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .get("/api/v1/repository/alice/nothing", Some(&other_tok))
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let _ = public;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn list_repositories() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        let (bob, bob_tok) = env.user_with_token("bob").await;
        let (carol, carol_tok) = env.user_with_token("carol").await;
        let org = env.org("acme", alice).await;
        team(&env, org, "devs", "member", &[bob]).await;
        let a_priv = env.repo("alice", "priv", false, Some(alice)).await;
        env.repo("alice", "pub", true, Some(alice)).await;
        env.repo("acme", "internal", false, None).await;
        let shared = env.repo("acme", "shared", false, None).await;
        env.repo("carol", "cpub", true, Some(carol)).await;
        env.grant(shared, bob, Role::Read).await;
        tag(&env, a_priv, "latest", "sha256:cccc", 10, 1_700_000_000_000).await;
        env.tdb
            .db()
            .star_repository(alice, a_priv, chrono::Utc::now().naive_utc())
            .await
            .expect("star");

        let r = env.get("/api/v1/repository", Some(&tok)).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "namespace, starred or public are required for this API call",
        );

        // Namespace filter: alice sees her own and (as org admin) all of acme.
        let r = env
            .get("/api/v1/repository?namespace=alice", Some(&tok))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(names(&r), ["alice/priv", "alice/pub"]);
        let entry = r.json["repositories"]
            .as_array()
            .expect("list")
            .iter()
            .find(|e| e["name"] == "priv")
            .cloned()
            .expect("priv");
        assert_eq!(
            keys(&entry),
            [
                "description",
                "is_public",
                "is_starred",
                "kind",
                "name",
                "namespace",
                "quota",
                "state"
            ]
        );
        assert_eq!(entry["is_starred"], true);
        assert_eq!(entry["state"], "NORMAL");
        let r = env
            .get("/api/v1/repository?namespace=acme", Some(&tok))
            .await;
        assert_eq!(names(&r), ["acme/internal", "acme/shared"]);
        // bob: only what he was granted (team membership alone gives nothing).
        let r = env
            .get("/api/v1/repository?namespace=acme", Some(&bob_tok))
            .await;
        assert_eq!(names(&r), ["acme/shared"]);
        let r = env
            .get("/api/v1/repository?namespace=alice", Some(&bob_tok))
            .await;
        assert!(names(&r).is_empty());
        let r = env
            .get(
                "/api/v1/repository?namespace=alice&public=true",
                Some(&bob_tok),
            )
            .await;
        assert_eq!(names(&r), ["alice/pub"]);
        // Public listing: anonymous callers see public repositories only, without is_starred.
        let r = env.get("/api/v1/repository?public=true", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(names(&r), ["alice/pub", "carol/cpub"]);
        assert_eq!(
            keys(&r.json["repositories"][0]),
            [
                "description",
                "is_public",
                "kind",
                "name",
                "namespace",
                "quota",
                "state"
            ]
        );
        let r = env
            .get("/api/v1/repository?public=true", Some(&carol_tok))
            .await;
        assert_eq!(names(&r), ["alice/pub", "carol/cpub"]);
        // Starred.
        let r = env
            .get(
                "/api/v1/repository?starred=true&last_modified=true&popularity=true",
                Some(&tok),
            )
            .await;
        assert_eq!(names(&r), ["alice/priv"]);
        let e = &r.json["repositories"][0];
        assert_eq!(e["last_modified"], 1_700_000_000);
        assert_eq!(e["popularity"], 0.0);
        let r = env.get("/api/v1/repository?starred=true", None).await;
        assert_message(
            &r,
            400,
            "The browser (or proxy) sent a request that this server could not understand.",
        );
        let r = env
            .get(
                "/api/v1/repository?namespace=alice&repo_kind=nope",
                Some(&tok),
            )
            .await;
        assert_message(&r, 400, "Unknown repository kind");
        let _ = carol;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn list_repositories_paginates() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        for i in 0..105 {
            env.repo("alice", &format!("r{i:03}"), false, Some(alice))
                .await;
        }
        let r = env
            .get("/api/v1/repository?namespace=alice", Some(&tok))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["repositories"].as_array().map(Vec::len), Some(100));
        let next = r.json["next_page"].as_str().expect("next_page").to_owned();
        let r2 = env
            .get(
                &format!("/api/v1/repository?namespace=alice&next_page={next}"),
                Some(&tok),
            )
            .await;
        assert_eq!(r2.json["repositories"].as_array().map(Vec::len), Some(5));
        assert!(r2.json.get("next_page").is_none());
        let mut all = names(&r);
        all.extend(names(&r2));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 105);
        // An unreadable token means the first page.
        let r3 = env
            .get(
                "/api/v1/repository?namespace=alice&next_page=garbage",
                Some(&tok),
            )
            .await;
        assert_eq!(r3.json["repositories"].as_array().map(Vec::len), Some(100));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn update_visibility_and_delete() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        let (reader, reader_tok) = env.user_with_token("reader").await;
        let (writer, writer_tok) = env.user_with_token("writer").await;
        let repo = env.repo("alice", "app", false, Some(alice)).await;
        env.grant(repo, reader, Role::Read).await;
        env.grant(repo, writer, Role::Write).await;

        // Update: write needed.
        let body = json!({"description": "new words"});
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app",
                Some(&reader_tok),
                Some(body.clone()),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app",
                None,
                Some(body.clone()),
            )
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app",
                Some(&writer_tok),
                Some(json!({})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'description' is a required property",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app",
                Some(&writer_tok),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"success": true}));
        let (kind, repo_id, meta) = last_log(&env).await;
        assert_eq!(
            (kind.as_str(), repo_id),
            ("set_repo_description", Some(repo))
        );
        assert_eq!(meta["description"], "new words");
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["namespace"], "alice");
        let r = env.get("/api/v1/repository/alice/app", Some(&tok)).await;
        assert_eq!(r.json["description"], "new words");
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/nothing",
                Some(&tok),
                Some(body.clone()),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Visibility: admin needed.
        let vis = json!({"visibility": "public"});
        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/app/changevisibility",
                Some(&writer_tok),
                Some(vis.clone()),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/app/changevisibility",
                Some(&tok),
                Some(json!({"visibility": "open"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'open' is not one of ['public', 'private']",
        );
        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/app/changevisibility",
                Some(&tok),
                Some(vis.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"success": true}));
        let (kind, _, meta) = last_log(&env).await;
        assert_eq!(kind, "change_repo_visibility");
        assert_eq!(meta["visibility"], "public");
        let r = env.get("/api/v1/repository/alice/app", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["is_public"], true);
        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/nothing/changevisibility",
                Some(&tok),
                Some(vis),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, Value::Null);

        // Delete: admin needed; the repository disappears and a GC queue item exists.
        let r = env
            .call(
                "DELETE",
                "/api/v1/repository/alice/app",
                Some(&writer_tok),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let write_scoped = env.token(alice, "repo:write").await;
        let r = env
            .call(
                "DELETE",
                "/api/v1/repository/alice/app",
                Some(&write_scoped),
                None,
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("DELETE", "/api/v1/repository/alice/app", Some(&tok), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let (kind, repo_id, meta) = last_log(&env).await;
        assert_eq!((kind.as_str(), repo_id), ("delete_repo", None));
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["namespace"], "alice");
        let r = env.get("/api/v1/repository/alice/app", Some(&tok)).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let db = env.tdb.db();
        let queued: i64 = with_pool!(db, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE 'repositorygc/%'").fetch_one(pool).await
        })
        .expect("queue");
        assert_eq!(queued, 1);
        let r = env
            .get("/api/v1/repository?namespace=alice", Some(&tok))
            .await;
        assert!(names(&r).is_empty());
        assert_eq!(
            env.log_kinds().await,
            [
                "set_repo_description",
                "change_repo_visibility",
                "delete_repo"
            ]
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn state_and_trust_are_behind_features() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        env.repo("alice", "app", false, Some(alice)).await;
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app/changestate",
                Some(&tok),
                Some(json!({"state": "READ_ONLY"})),
            )
            .await;
        // Without the feature the path is just a (nested) repository path, as in Quay:
        // `updateRepo` of `alice/app/changestate` answers.
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'description' is a required property",
        );
        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/app/changetrust",
                Some(&tok),
                Some(json!({"trust_enabled": true})),
            )
            .await;
        assert_eq!(r.status, 405, "{r:?}");
        assert!(env.log_kinds().await.is_empty());
        env.cleanup().await;

        let env = env_with(
            backend,
            "FEATURE_REPO_MIRROR: true\nFEATURE_SIGNING: true\n",
        )
        .await;
        let (alice, tok) = env.user_with_token("alice").await;
        let (writer, writer_tok) = env.user_with_token("writer").await;
        let repo = env.repo("alice", "app", false, Some(alice)).await;
        env.grant(repo, writer, Role::Write).await;
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app/changestate",
                Some(&writer_tok),
                Some(json!({"state": "READ_ONLY"})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app/changestate",
                Some(&tok),
                Some(json!({"state": "MARKED_FOR_DELETION"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'MARKED_FOR_DELETION' is not one of ['NORMAL', 'READ_ONLY', 'MIRROR']",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/app/changestate",
                Some(&tok),
                Some(json!({"state": "READ_ONLY"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"success": true}));
        let (kind, _, meta) = last_log(&env).await;
        assert_eq!(kind, "change_repo_state");
        assert_eq!(meta["state_changed"], "READ_ONLY");
        let r = env.get("/api/v1/repository/alice/app", Some(&tok)).await;
        assert_eq!(r.json["state"], "READ_ONLY");
        // Not NORMAL: no writes.
        assert_eq!(r.json["can_write"], false);
        assert_eq!(r.json["can_admin"], true);

        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/app/changetrust",
                Some(&tok),
                Some(json!({"trust_enabled": "yes"})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "'yes' is not of type 'boolean'");
        let r = env
            .call(
                "POST",
                "/api/v1/repository/alice/app/changetrust",
                Some(&tok),
                Some(json!({"trust_enabled": true})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let (kind, _, meta) = last_log(&env).await;
        assert_eq!(kind, "change_repo_trust");
        assert_eq!(meta["trust_enabled"], true);
        let r = env.get("/api/v1/repository/alice/app", Some(&tok)).await;
        assert_eq!(r.json["trust_enabled"], true);
        env.cleanup().await;
    }
}
