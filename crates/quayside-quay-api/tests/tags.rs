//! Repository tags on /api/v1 (Quay `endpoints/api/tag.py`): the history list with its
//! pagination and filters, create/move/delete, restore inside (and not after) the
//! namespace's time-machine window, expiration changes, permanent deletion, permissions,
//! repository states and audit rows — on SQLite and PostgreSQL.

mod common;

use common::*;
use quayside_auth::Role;
use quayside_meta::registry::{NewManifest, TagTarget};
use quayside_meta::Db;
use quayside_testkit::sql::{exec, scalar_i64, Arg};
use serde_json::{json, Value};

const BAD_REQUEST: &str =
    "The browser (or proxy) sent a request that this server could not understand.";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An OCI image manifest (unique per `marker`) with two layers of 100 + 23 bytes.
fn image_bytes(marker: &str) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{}", "c".repeat(64)),
            "size": 7
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": format!("sha256:{}", "a".repeat(64)), "size": 100},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": format!("sha256:{}", "b".repeat(64)), "size": 23}
        ],
        "annotations": {"marker": marker}
    })
    .to_string()
}

/// Writes a manifest row as a push does, tagged `tag` (or with a hidden temporary tag).
async fn push(db: &Db, repo_id: i64, tag: Option<&str>, bytes: &str) -> String {
    let digest = quayside_oci::Digest::sha256_of(bytes.as_bytes()).to_string();
    let target = match tag {
        Some(t) => TagTarget::Tag {
            name: t,
            end_after_ms: None,
        },
        None => TagTarget::Temporary {
            name: format!("$temp-{digest}"),
            end_ms: Some(now_ms() + 3_600_000),
        },
    };
    db.put_manifest(
        &NewManifest {
            repository_id: i32::try_from(repo_id).expect("id"),
            digest: &digest,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            bytes,
            config_media_type: Some("application/vnd.oci.image.config.v1+json"),
            layers_compressed_size: Some(123),
            subject: None,
            artifact_type: None,
            blob_ids: &[],
            child_ids: &[],
            labels: &[],
            quota: Default::default(),
        },
        &target,
        now_ms(),
    )
    .await
    .expect("put manifest");
    digest
}

/// Metadata of the newest audit row of `kind`.
async fn last_log(env: &Env, kind: &str) -> Value {
    let rows = env
        .tdb
        .db()
        .log_entries(&quayside_meta::logs::LogFilter::default(), 10_000)
        .await
        .expect("logs");
    let row = rows
        .into_iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} log"));
    serde_json::from_str(&row.metadata_json).expect("metadata json")
}

fn tag_keys(alive: bool) -> Vec<String> {
    let mut k = vec![
        "is_manifest_list",
        "last_modified",
        "manifest_digest",
        "name",
        "reversion",
        "size",
        "start_ts",
    ];
    if !alive {
        k.extend(["end_ts", "expiration"]);
    }
    let mut k: Vec<String> = k.into_iter().map(str::to_owned).collect();
    k.sort();
    k
}

const TAGS: &str = "/api/v1/repository/alice/app/tag/";

struct Fixture {
    env: Env,
    repo_id: i64,
    token: String,
}

async fn fixture(backend: Backend, yaml: &str) -> Fixture {
    let env = env_with(backend, yaml).await;
    let (alice, token) = env.user_with_token("alice").await;
    let repo_id = env.repo("alice", "app", false, Some(alice)).await;
    Fixture {
        env,
        repo_id,
        token,
    }
}

#[tokio::test]
async fn list_history_pagination_and_filters() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(backend, "").await;
        let db = env.tdb.db().clone();
        let m1 = push(&db, repo_id, Some("latest"), &image_bytes("1")).await;
        let m2 = push(&db, repo_id, Some("v2"), &image_bytes("2")).await;
        push(&db, repo_id, None, &image_bytes("hidden")).await;
        // Move `latest` onto m2: the old row ends, a new one starts.
        let r = env
            .call(
                "PUT",
                &format!("{TAGS}latest"),
                Some(&token),
                Some(json!({"manifest_digest": m2})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.json, json!("Updated"));

        let r = env.get(TAGS, Some(&token)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(keys(&r.json), ["has_additional", "page", "tags"]);
        assert_eq!(r.json["page"], 1);
        assert_eq!(r.json["has_additional"], false);
        let tags = r.json["tags"].as_array().expect("tags");
        assert_eq!(tags.len(), 3, "hidden temp tags never listed: {r:?}");
        let dead: Vec<&Value> = tags.iter().filter(|t| t.get("end_ts").is_some()).collect();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0]["name"], "latest");
        assert_eq!(dead[0]["manifest_digest"], m1.as_str());
        assert_eq!(keys(dead[0]), tag_keys(false));
        let alive_latest = tags
            .iter()
            .find(|t| t["name"] == "latest" && t.get("end_ts").is_none())
            .expect("alive latest");
        assert_eq!(keys(alive_latest), tag_keys(true));
        assert_eq!(alive_latest["manifest_digest"], m2.as_str());
        assert_eq!(alive_latest["is_manifest_list"], false);
        assert_eq!(alive_latest["reversion"], false);
        assert_eq!(alive_latest["size"], 123);
        let start = alive_latest["start_ts"].as_i64().expect("start_ts");
        assert!((start - now_ms() / 1000).abs() < 60);
        let lm = alive_latest["last_modified"].as_str().expect("date");
        assert!(lm.ends_with(" -0000"), "{lm}");
        // Newest start first.
        let starts: Vec<i64> = tags.iter().filter_map(|t| t["start_ts"].as_i64()).collect();
        assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");

        // Pagination.
        let r = env
            .get(&format!("{TAGS}?limit=1&page=1"), Some(&token))
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(1));
        assert_eq!(r.json["has_additional"], true);
        let r = env
            .get(&format!("{TAGS}?limit=2&page=2"), Some(&token))
            .await;
        assert_eq!(r.json["page"], 2);
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(1));
        assert_eq!(r.json["has_additional"], false);
        // limit is clamped to 1..100 and page to >= 1.
        let r = env
            .get(&format!("{TAGS}?limit=0&page=0"), Some(&token))
            .await;
        assert_eq!(r.json["page"], 1);
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(1));
        let r = env.get(&format!("{TAGS}?limit=abc"), Some(&token)).await;
        assert_eq!(r.status, 400, "{r:?}");

        // Filters.
        let r = env
            .get(&format!("{TAGS}?onlyActiveTags=true"), Some(&token))
            .await;
        let names: Vec<&str> = r.json["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"latest") && names.contains(&"v2"));
        let r = env
            .get(&format!("{TAGS}?specificTag=latest"), Some(&token))
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(2));
        let r = env
            .get(&format!("{TAGS}?filter_tag_name=like:ATE"), Some(&token))
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(2), "{r:?}");
        let r = env
            .get(&format!("{TAGS}?filter_tag_name=eq:v2"), Some(&token))
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(1));
        assert_eq!(r.json["tags"][0]["name"], "v2");
        let r = env
            .get(&format!("{TAGS}?filter_tag_name=other:x"), Some(&token))
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(3));
        let r = env
            .get(&format!("{TAGS}?filter_tag_name=latest"), Some(&token))
            .await;
        assert_message(
            &r,
            400,
            "Unsupported syntax for filter_tag_name. Expected <operation>:<tag_name> where <operation>can be 'like' or 'eq'.",
        );

        // Missing repository → 404 for an owner of the namespace.
        let r = env
            .get("/api/v1/repository/alice/nothing/tag/", Some(&token))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn create_move_delete_with_audit_rows() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(backend, "").await;
        let db = env.tdb.db().clone();
        let m1 = push(&db, repo_id, Some("base"), &image_bytes("1")).await;
        let m2 = push(&db, repo_id, Some("other"), &image_bytes("2")).await;

        let r = env
            .call(
                "PUT",
                &format!("{TAGS}fresh"),
                Some(&token),
                Some(json!({"manifest_digest": m1})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let meta = last_log(&env, "create_tag").await;
        assert_eq!(meta["username"], "alice");
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["namespace"], "alice");
        assert_eq!(meta["tag"], "fresh");
        assert_eq!(meta["manifest_digest"], m1.as_str());
        assert_eq!(meta["original_manifest_digest"], Value::Null);
        assert!(meta["oauth_token_id"].is_number());

        let r = env
            .call(
                "PUT",
                &format!("{TAGS}fresh"),
                Some(&token),
                Some(json!({"manifest_digest": m2})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let meta = last_log(&env, "move_tag").await;
        assert_eq!(meta["manifest_digest"], m2.as_str());
        assert_eq!(meta["original_manifest_digest"], m1.as_str());
        // Two rows: one ended, one alive; exactly one alive row per name.
        let rows = scalar_i64(
            &db,
            "SELECT COUNT(*) FROM tag WHERE repository_id = $1 AND name = 'fresh'",
            &[Arg::I(repo_id)],
        )
        .await;
        assert_eq!(rows, 2);
        let alive = scalar_i64(&db, "SELECT COUNT(*) FROM tag WHERE repository_id = $1 AND name = 'fresh' AND lifetime_end_ms IS NULL", &[Arg::I(repo_id)])
        .await;
        assert_eq!(alive, 1);

        // Errors.
        let r = env
            .call(
                "PUT",
                &format!("{TAGS}fresh"),
                Some(&token),
                Some(json!({"manifest_digest": format!("sha256:{}", "0".repeat(64))})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .call(
                "PUT",
                &format!("{TAGS}.bad"),
                Some(&token),
                Some(json!({"manifest_digest": m1})),
            )
            .await;
        assert_message(&r, 400, quayside_oci::name::TAG_ERROR_MESSAGE);
        let r = env
            .call("PUT", &format!("{TAGS}fresh"), Some(&token), None)
            .await;
        assert_problem(&r, 400, "invalid_request", "Missing JSON body");
        let r = env
            .call(
                "PUT",
                &format!("{TAGS}fresh"),
                Some(&token),
                Some(json!({"manifest_digest": 5})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "5 is not of type 'string', 'null'",
        );
        let r = env
            .call(
                "PUT",
                "/api/v1/repository/alice/nothing/tag/x",
                Some(&token),
                Some(json!({"manifest_digest": m1})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Delete.
        let r = env
            .call("DELETE", &format!("{TAGS}fresh"), Some(&token), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        assert!(r.text.is_empty());
        let meta = last_log(&env, "delete_tag").await;
        assert_eq!(meta["tag"], "fresh");
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["namespace"], "alice");
        let alive = scalar_i64(&db, "SELECT COUNT(*) FROM tag WHERE repository_id = $1 AND name = 'fresh' AND lifetime_end_ms IS NULL", &[Arg::I(repo_id)])
        .await;
        assert_eq!(alive, 0);
        let r = env
            .call("DELETE", &format!("{TAGS}fresh"), Some(&token), None)
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .get(&format!("{TAGS}?specificTag=fresh"), Some(&token))
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(2));
        let r = env
            .get(
                &format!("{TAGS}?specificTag=fresh&onlyActiveTags=true"),
                Some(&token),
            )
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(0));
        let kinds = env.log_kinds().await;
        assert_eq!(kinds, ["create_tag", "move_tag", "delete_tag"]);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn restore_works_inside_the_window_and_not_after() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(backend, "").await;
        let db = env.tdb.db().clone();
        let m1 = push(&db, repo_id, Some("prod"), &image_bytes("1")).await;

        let r = env
            .call("DELETE", &format!("{TAGS}prod"), Some(&token), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env
            .call(
                "POST",
                &format!("{TAGS}prod/restore"),
                Some(&token),
                Some(json!({"manifest_digest": m1})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({}));
        let meta = last_log(&env, "revert_tag").await;
        assert_eq!(meta["tag"], "prod");
        assert_eq!(meta["manifest_digest"], m1.as_str());
        assert_eq!(meta["repo"], "app");
        assert_eq!(meta["username"], "alice");
        let r = env
            .get(
                &format!("{TAGS}?specificTag=prod&onlyActiveTags=true"),
                Some(&token),
            )
            .await;
        assert_eq!(r.json["tags"][0]["reversion"], true, "{r:?}");
        assert_eq!(r.json["tags"][0]["manifest_digest"], m1.as_str());

        // Errors.
        let r = env
            .call(
                "POST",
                &format!("{TAGS}prod/restore"),
                Some(&token),
                Some(json!({})),
            )
            .await;
        assert_problem(&r, 400, "invalid_request", "Missing manifest_digest");
        let r = env
            .call(
                "POST",
                &format!("{TAGS}prod/restore"),
                Some(&token),
                Some(json!({"manifest_digest": format!("sha256:{}", "0".repeat(64))})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // A manifest whose last tag ended longer ago than the namespace's window (2 weeks
        // by default) is what GC collects: restoring it fails like a missing manifest.
        let old = push(&db, repo_id, Some("stale"), &image_bytes("old")).await;
        push(&db, repo_id, Some("stale"), &image_bytes("new")).await;
        let window_ms = scalar_i64(
            &db,
            r#"SELECT removed_tag_expiration_s FROM "user" WHERE username = 'alice' AND id <> $1"#,
            &[Arg::I(-1)],
        )
        .await
            * 1000;
        assert_eq!(window_ms, 1_209_600_000);
        exec(
            &db,
            "UPDATE tag SET lifetime_end_ms = $1 WHERE repository_id = $2 AND name = 'stale' \
             AND lifetime_end_ms IS NOT NULL",
            &[Arg::I(now_ms() - window_ms - 60_000), Arg::I(repo_id)],
        )
        .await;
        let r = env
            .call(
                "POST",
                &format!("{TAGS}stale/restore"),
                Some(&token),
                Some(json!({"manifest_digest": old})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // A smaller window set on the namespace counts too: with 0s, a deleted tag is gone at
        // once.
        let m3 = push(&db, repo_id, Some("short"), &image_bytes("short")).await;
        let r = env
            .call("DELETE", &format!("{TAGS}short"), Some(&token), None)
            .await;
        assert_eq!(r.status, 204);
        exec(&db, r#"UPDATE "user" SET removed_tag_expiration_s = $1 WHERE username = 'alice' AND id <> $2"#, &[Arg::I(0), Arg::I(-1)])
        .await;
        let r = env
            .call(
                "POST",
                &format!("{TAGS}short/restore"),
                Some(&token),
                Some(json!({"manifest_digest": m3})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .get(
                &format!("{TAGS}?specificTag=short&onlyActiveTags=true"),
                Some(&token),
            )
            .await;
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(0));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn expiration_changes() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(backend, "").await;
        let db = env.tdb.db().clone();
        push(&db, repo_id, Some("exp"), &image_bytes("1")).await;
        let url = format!("{TAGS}exp");

        let at = now_ms() / 1000 + 86_400;
        let r = env
            .call("PUT", &url, Some(&token), Some(json!({"expiration": at})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .get(&format!("{TAGS}?specificTag=exp"), Some(&token))
            .await;
        let t = &r.json["tags"][0];
        assert_eq!(keys(t), tag_keys(false));
        assert_eq!(t["end_ts"], at, "{r:?}");
        let meta = last_log(&env, "change_tag_expiration").await;
        assert_eq!(meta["expiration_date"], at);
        assert_eq!(meta["old_expiration_date"], Value::Null);
        assert_eq!(meta["tag"], "exp");

        // Too soon is raised to LABELED_EXPIRATION_MINIMUM (1h) after the tag's start.
        let start = t["start_ts"].as_i64().expect("start");
        let r = env
            .call(
                "PUT",
                &url,
                Some(&token),
                Some(json!({"expiration": now_ms() / 1000 + 10})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .get(&format!("{TAGS}?specificTag=exp"), Some(&token))
            .await;
        assert_eq!(r.json["tags"][0]["end_ts"], start + 3600);
        let meta = last_log(&env, "change_tag_expiration").await;
        let start_ms = scalar_i64(
            &db,
            "SELECT lifetime_start_ms FROM tag WHERE repository_id = $1 AND name = 'exp'",
            &[Arg::I(repo_id)],
        )
        .await;
        assert_eq!(
            meta["old_expiration_date"],
            start_ms + (at - start_ms / 1000) * 1000
        );

        // null clears it.
        let r = env
            .call("PUT", &url, Some(&token), Some(json!({"expiration": null})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .get(&format!("{TAGS}?specificTag=exp"), Some(&token))
            .await;
        assert_eq!(keys(&r.json["tags"][0]), tag_keys(true));
        let meta = last_log(&env, "change_tag_expiration").await;
        assert_eq!(meta["expiration_date"], Value::Null);
        assert!(meta["old_expiration_date"].is_number());
        let logged = env.log_kinds().await.len();
        // Clearing an expiration that is not set changes nothing and logs nothing.
        let r = env
            .call("PUT", &url, Some(&token), Some(json!({"expiration": null})))
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(env.log_kinds().await.len(), logged);

        // Errors.
        let r = env
            .call(
                "PUT",
                &url,
                Some(&token),
                Some(json!({"expiration": now_ms() / 1000 - 10})),
            )
            .await;
        assert_message(&r, 400, BAD_REQUEST);
        let r = env
            .call(
                "PUT",
                &url,
                Some(&token),
                Some(json!({"expiration": "tomorrow"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'tomorrow' is not of type 'number', 'null'",
        );
        let r = env
            .call(
                "PUT",
                &format!("{TAGS}missing"),
                Some(&token),
                Some(json!({"expiration": at})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn permissions_and_repository_states() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token: owner,
        } = fixture(backend, "").await;
        let db = env.tdb.db().clone();
        let m1 = push(&db, repo_id, Some("latest"), &image_bytes("1")).await;
        let reader = env.user("reader").await;
        let writer = env.user("writer").await;
        let nobody = env.user("nobody").await;
        env.grant(repo_id, reader, Role::Read).await;
        env.grant(repo_id, writer, Role::Write).await;
        let reader_t = env.token(reader, ALL_SCOPES).await;
        let writer_t = env.token(writer, ALL_SCOPES).await;
        let nobody_t = env.token(nobody, ALL_SCOPES).await;
        let owner_read_only = env
            .token(
                env.tdb
                    .db()
                    .account_by_username("alice")
                    .await
                    .expect("db")
                    .expect("alice")
                    .id,
                "repo:read",
            )
            .await;
        let put_body = || Some(json!({"manifest_digest": m1.clone()}));
        let put_url = format!("{TAGS}copy");

        for t in [&owner, &reader_t, &writer_t, &owner_read_only] {
            let r = env.get(TAGS, Some(t)).await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        let r = env.get(TAGS, Some(&nobody_t)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(TAGS, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");

        let r = env.call("PUT", &put_url, Some(&reader_t), put_body()).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("PUT", &put_url, Some(&owner_read_only), put_body())
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.call("PUT", &put_url, None, put_body()).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let r = env.call("DELETE", &put_url, Some(&nobody_t), None).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.call("PUT", &put_url, Some(&writer_t), put_body()).await;
        assert_eq!(r.status, 201, "{r:?}");
        let meta = last_log(&env, "create_tag").await;
        assert_eq!(meta["username"], "writer");

        // Public repository: anonymous callers read, never write.
        let pub_id = env.repo("alice", "open", true, None).await;
        push(&db, pub_id, Some("latest"), &image_bytes("p")).await;
        let r = env.get("/api/v1/repository/alice/open/tag/", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["tags"].as_array().map(Vec::len), Some(1));
        let r = env
            .call(
                "DELETE",
                "/api/v1/repository/alice/open/tag/latest",
                None,
                None,
            )
            .await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");

        // Read-only and mirror repositories refuse tag writes, not reads.
        for state in [1, 2] {
            exec(
                &db,
                "UPDATE repository SET state = $1 WHERE id = $2",
                &[Arg::I(state), Arg::I(repo_id)],
            )
            .await;
            let r = env.call("PUT", &put_url, Some(&owner), put_body()).await;
            assert_message(
                &r,
                503,
                &format!("Repository is in read only or mirror mode: {state}"),
            );
            let r = env.call("DELETE", &put_url, Some(&owner), None).await;
            assert_eq!(r.status, 503, "{r:?}");
            let r = env
                .call(
                    "POST",
                    &format!("{put_url}/restore"),
                    Some(&owner),
                    Some(json!({"manifest_digest": m1.clone()})),
                )
                .await;
            assert_eq!(r.status, 503, "{r:?}");
            let r = env.get(TAGS, Some(&owner)).await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn permanent_deletion_needs_the_setting() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(backend, "").await;
        push(
            &env.tdb.db().clone(),
            repo_id,
            Some("gone"),
            &image_bytes("1"),
        )
        .await;
        let r = env
            .call(
                "POST",
                &format!("{TAGS}gone/expire"),
                Some(&token),
                Some(json!({"is_alive": true})),
            )
            .await;
        assert!(r.status == 404 || r.status == 405, "{r:?}");
        env.cleanup().await;

        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(backend, "PERMANENTLY_DELETE_TAGS: true").await;
        let db = env.tdb.db().clone();
        let m = push(&db, repo_id, Some("gone"), &image_bytes("1")).await;
        let url = format!("{TAGS}gone/expire");
        let r = env.call("POST", &url, Some(&token), Some(json!({}))).await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "manifest_digest required when is_alive set to false",
        );
        let r = env
            .call("POST", &url, Some(&token), Some(json!({"is_alive": true})))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!(""));
        let meta = last_log(&env, "permanently_delete_tag").await;
        assert_eq!(meta["tag"], "gone");
        assert_eq!(meta["manifest_digest"], m.as_str());
        // Pushed out of the window: not alive, and too old to restore.
        let end = scalar_i64(
            &db,
            "SELECT MAX(lifetime_end_ms) FROM tag WHERE repository_id = $1 AND name = 'gone'",
            &[Arg::I(repo_id)],
        )
        .await;
        assert!(end <= now_ms() - 1_209_600_000 + 1000, "{end}");
        let r = env
            .call(
                "POST",
                &format!("{TAGS}gone/restore"),
                Some(&token),
                Some(json!({"manifest_digest": m})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        // Again: nothing alive any more.
        let r = env
            .call("POST", &url, Some(&token), Some(json!({"is_alive": true})))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // A deleted (dead, within the window) tag is pushed out by digest.
        let m2 = push(&db, repo_id, Some("dead"), &image_bytes("2")).await;
        let r = env
            .call("DELETE", &format!("{TAGS}dead"), Some(&token), None)
            .await;
        assert_eq!(r.status, 204);
        let r = env
            .call(
                "POST",
                &format!("{TAGS}dead/expire"),
                Some(&token),
                Some(json!({"manifest_digest": m2})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let r = env
            .call(
                "POST",
                &format!("{TAGS}dead/restore"),
                Some(&token),
                Some(json!({"manifest_digest": m2})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn immutable_tags_refuse_move_delete_restore_and_expire() {
    for backend in backends() {
        let Fixture {
            env,
            repo_id,
            token,
        } = fixture(
            backend,
            "FEATURE_IMMUTABLE_TAGS: true\nPERMANENTLY_DELETE_TAGS: true",
        )
        .await;
        let db = env.tdb.db().clone();
        let m1 = push(&db, repo_id, Some("v1"), &image_bytes("1")).await;
        let m2 = push(&db, repo_id, Some("other"), &image_bytes("2")).await;
        let writer = env.user("wendy").await;
        let writer_token = env.token(writer, "repo:read repo:write").await;
        env.grant(repo_id, writer, Role::Write).await;
        let url = format!("{TAGS}v1");

        // A type error is a validation error.
        let r = env
            .call("PUT", &url, Some(&token), Some(json!({"immutable": "yes"})))
            .await;
        assert_eq!(r.status, 400, "{r:?}");
        // Unknown tag: 404.
        let r = env
            .call(
                "PUT",
                &format!("{TAGS}nope"),
                Some(&token),
                Some(json!({"immutable": true})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Write access may lock a tag; the flag shows in the list and is logged once.
        let r = env
            .call(
                "PUT",
                &url,
                Some(&writer_token),
                Some(json!({"immutable": true})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let meta = last_log(&env, "change_tag_immutability").await;
        assert_eq!(meta["tag"], "v1");
        assert_eq!(meta["immutable"], true);
        assert_eq!(meta["username"], "wendy");
        let r = env
            .call("PUT", &url, Some(&token), Some(json!({"immutable": true})))
            .await;
        assert_eq!(r.status, 201, "idempotent: {r:?}");
        let r = env
            .get(
                &format!("{TAGS}?specificTag=v1&onlyActiveTags=true"),
                Some(&token),
            )
            .await;
        assert_eq!(r.json["tags"][0]["immutable"], true, "{r:?}");

        // Move, delete, restore over and permanent delete are all refused; nothing changes.
        let r = env
            .call(
                "PUT",
                &url,
                Some(&token),
                Some(json!({"manifest_digest": m2})),
            )
            .await;
        assert_problem(&r, 409, "tag_immutable", "Cannot move immutable tag 'v1'");
        let r = env.call("DELETE", &url, Some(&token), None).await;
        assert_problem(&r, 409, "tag_immutable", "Cannot delete immutable tag 'v1'");
        let r = env
            .call(
                "POST",
                &format!("{url}/restore"),
                Some(&token),
                Some(json!({"manifest_digest": m2})),
            )
            .await;
        assert_problem(
            &r,
            409,
            "tag_immutable",
            "Cannot restore immutable tag 'v1'",
        );
        let r = env
            .call(
                "POST",
                &format!("{url}/expire"),
                Some(&token),
                Some(json!({"is_alive": true})),
            )
            .await;
        assert_problem(&r, 409, "tag_immutable", "Cannot expire immutable tag 'v1'");
        let rows = scalar_i64(
            &db,
            "SELECT COUNT(*) FROM tag WHERE repository_id = $1 AND name = 'v1'",
            &[Arg::I(repo_id)],
        )
        .await;
        assert_eq!(rows, 1, "no row was written");
        let r = env
            .get(
                &format!("{TAGS}?specificTag=v1&onlyActiveTags=true"),
                Some(&token),
            )
            .await;
        assert_eq!(r.json["tags"][0]["manifest_digest"], m1.as_str());

        // Clearing needs admin: the writer gets 403, the owner may.
        let r = env
            .call(
                "PUT",
                &url,
                Some(&writer_token),
                Some(json!({"immutable": false})),
            )
            .await;
        assert_eq!(r.status, 403, "{r:?}");
        // One request can unlock and move.
        let r = env
            .call(
                "PUT",
                &url,
                Some(&token),
                Some(json!({"immutable": false, "manifest_digest": m2})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let meta = last_log(&env, "change_tag_immutability").await;
        assert_eq!(meta["immutable"], false);
        let r = env
            .get(
                &format!("{TAGS}?specificTag=v1&onlyActiveTags=true"),
                Some(&token),
            )
            .await;
        assert_eq!(r.json["tags"][0]["manifest_digest"], m2.as_str());
        assert_eq!(r.json["tags"][0]["immutable"], false);
        let r = env.call("DELETE", &url, Some(&token), None).await;
        assert_eq!(r.status, 204, "{r:?}");
        env.cleanup().await;
    }
}
