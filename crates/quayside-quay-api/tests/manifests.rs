//! Manifests and labels on /api/v1 (Quay `endpoints/api/manifest.py`): the manifest view,
//! label add/list/get/delete with Quay's validation, `quay.expires-after`, permissions,
//! repository states and audit rows, and the per-layer details read from a schema 2 /
//! OCI config blob — on SQLite and PostgreSQL.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use quayside_auth::Role;
use quayside_meta::registry::{NewManifest, TagTarget};
use quayside_meta::tags::NewLabel;
use quayside_meta::Db;
use quayside_quay_api::{BlobFuture, BlobReader};
use quayside_testkit::sql::{exec, Arg};
use serde_json::{json, Value};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

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
             "digest": format!("sha256:{}", "b".repeat(64)), "size": 23,
             "urls": ["https://example.com/b"]}
        ],
        "annotations": {"marker": marker}
    })
    .to_string()
}

async fn push(
    db: &Db,
    repo_id: i64,
    tag: &str,
    bytes: &str,
    media_type: &str,
    child_ids: &[i32],
) -> (i64, String) {
    let digest = quayside_oci::Digest::sha256_of(bytes.as_bytes()).to_string();
    let list = !child_ids.is_empty();
    let id = db
        .put_manifest(
            &NewManifest {
                repository_id: i32::try_from(repo_id).expect("id"),
                digest: &digest,
                media_type,
                bytes,
                config_media_type: (!list).then_some("application/vnd.oci.image.config.v1+json"),
                layers_compressed_size: (!list).then_some(123),
                subject: None,
                artifact_type: None,
                blob_ids: &[],
                child_ids,
                labels: &[],
                quota: Default::default(),
            },
            &TagTarget::Tag {
                name: tag,
                end_after_ms: None,
            },
            now_ms(),
        )
        .await
        .expect("put manifest");
    (i64::from(id), digest)
}

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

const REPO: &str = "/api/v1/repository/alice/app";

#[tokio::test]
async fn manifest_view_and_permissions() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, token) = env.user_with_token("alice").await;
        let repo_id = env.repo("alice", "app", false, Some(alice)).await;
        let db = env.tdb.db().clone();
        let bytes = image_bytes("1");
        let (child_id, digest) = push(
            &db,
            repo_id,
            "latest",
            &bytes,
            "application/vnd.oci.image.manifest.v1+json",
            &[],
        )
        .await;

        let r = env
            .get(&format!("{REPO}/manifest/{digest}"), Some(&token))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            keys(&r.json),
            [
                "config_media_type",
                "digest",
                "is_manifest_list",
                "layers",
                "layers_compressed_size",
                "manifest_data"
            ]
        );
        assert_eq!(r.json["digest"], digest.as_str());
        assert_eq!(r.json["is_manifest_list"], false);
        assert_eq!(r.json["manifest_data"], bytes.as_str());
        assert_eq!(
            r.json["config_media_type"],
            "application/vnd.oci.image.config.v1+json"
        );
        assert_eq!(r.json["layers_compressed_size"], 123);
        let layers = r.json["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 2);
        assert_eq!(
            keys(&layers[0]),
            [
                "author",
                "blob_digest",
                "command",
                "comment",
                "compressed_size",
                "created_datetime",
                "index",
                "is_remote",
                "urls"
            ]
        );
        assert_eq!(layers[0]["index"], 0);
        assert_eq!(layers[0]["compressed_size"], 100);
        assert_eq!(layers[0]["is_remote"], false);
        assert_eq!(layers[0]["urls"], Value::Null);
        assert_eq!(
            layers[0]["blob_digest"],
            format!("sha256:{}", "a".repeat(64))
        );
        assert_eq!(layers[1]["index"], 1);
        assert_eq!(layers[1]["is_remote"], true);
        assert_eq!(layers[1]["urls"], json!(["https://example.com/b"]));

        // A manifest list has no layers.
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": digest, "size": bytes.len(),
                           "platform": {"architecture": "amd64", "os": "linux"}}]
        })
        .to_string();
        let (_, list_digest) = push(
            &db,
            repo_id,
            "multi",
            &index,
            "application/vnd.oci.image.index.v1+json",
            &[i32::try_from(child_id).expect("id")],
        )
        .await;
        let r = env
            .get(&format!("{REPO}/manifest/{list_digest}"), Some(&token))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["is_manifest_list"], true);
        assert_eq!(r.json["layers"], Value::Null);
        assert_eq!(r.json["config_media_type"], Value::Null);

        // Missing and malformed references.
        let r = env
            .get(
                &format!("{REPO}/manifest/sha256:{}", "0".repeat(64)),
                Some(&token),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env
            .get(&format!("{REPO}/manifest/latest"), Some(&token))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        // A manifest only some hidden (temporary) tag keeps is not visible to the API.
        exec(
            &db,
            "UPDATE tag SET hidden = TRUE WHERE repository_id = $1 AND name = 'multi'",
            &[Arg::I(repo_id)],
        )
        .await;
        let r = env
            .get(&format!("{REPO}/manifest/{list_digest}"), Some(&token))
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Permission cells.
        let nobody = env.user("nobody").await;
        let nobody_t = env.token(nobody, ALL_SCOPES).await;
        let url = format!("{REPO}/manifest/{digest}");
        let r = env.get(&url, Some(&nobody_t)).await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(&url, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        let reader = env.user("reader").await;
        env.grant(repo_id, reader, Role::Read).await;
        let reader_t = env.token(reader, "repo:read").await;
        let r = env.get(&url, Some(&reader_t)).await;
        assert_eq!(r.status, 200, "{r:?}");
        exec(&db, "UPDATE repository SET visibility_id = (SELECT id FROM visibility WHERE name = 'public') \
             WHERE id = $1", &[Arg::I(repo_id)])
        .await;
        let r = env.get(&url, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn labels_add_list_get_delete() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, token) = env.user_with_token("alice").await;
        let repo_id = env.repo("alice", "app", false, Some(alice)).await;
        let db = env.tdb.db().clone();
        let (manifest_id, digest) = push(
            &db,
            repo_id,
            "latest",
            &image_bytes("1"),
            "application/vnd.oci.image.manifest.v1+json",
            &[],
        )
        .await;
        let labels = format!("{REPO}/manifest/{digest}/labels");

        let r = env.get(&labels, Some(&token)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"labels": []}));

        let r = env
            .call(
                "POST",
                &labels,
                Some(&token),
                Some(json!({"key": "com.example.team", "value": "infra", "media_type": "text/plain"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(keys(&r.json), ["label"]);
        let label = &r.json["label"];
        assert_eq!(
            keys(label),
            ["id", "key", "media_type", "source_type", "value"]
        );
        assert_eq!(label["key"], "com.example.team");
        assert_eq!(label["value"], "infra");
        assert_eq!(label["source_type"], "api");
        assert_eq!(label["media_type"], "text/plain");
        let id = label["id"].as_str().expect("id").to_owned();
        assert_eq!(
            r.headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("location"),
            format!("/api/v1/repository/alice/app/manifest/{digest}/labels/{id}")
        );
        let meta = last_log(&env, "manifest_label_add").await;
        assert_eq!(meta["id"], id.as_str());
        assert_eq!(meta["key"], "com.example.team");
        assert_eq!(meta["value"], "infra");
        assert_eq!(meta["manifest_digest"], digest.as_str());
        assert_eq!(meta["media_type"], "text/plain");
        assert_eq!(meta["namespace"], "alice");
        assert_eq!(meta["repo"], "app");

        // The media type is inferred when null.
        let r = env
            .call(
                "POST",
                &labels,
                Some(&token),
                Some(json!({"key": "config", "value": "{\"a\": 1}", "media_type": null})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.json["label"]["media_type"], "application/json");

        // A label from the manifest itself (immutable source).
        db.create_manifest_label(&NewLabel {
            repository_id: repo_id,
            manifest_id,
            uuid: "11111111-2222-3333-4444-555555555555",
            key: "org.opencontainers.image.title",
            value: "app",
            media_type: "text/plain",
            source_type: "manifest",
        })
        .await
        .expect("manifest label");

        let r = env.get(&labels, Some(&token)).await;
        assert_eq!(r.json["labels"].as_array().map(Vec::len), Some(3));
        let r = env
            .get(&format!("{labels}?filter=COM."), Some(&token))
            .await;
        let found = r.json["labels"].as_array().expect("labels");
        assert_eq!(found.len(), 1, "{r:?}");
        assert_eq!(found[0]["id"], id.as_str());

        let r = env.get(&format!("{labels}/{id}"), Some(&token)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["key"], "com.example.team");
        let r = env.get(&format!("{labels}/nope"), Some(&token)).await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Validation, in Quay's order and words.
        for (body, detail) in [
            (
                json!({"value": "v", "media_type": null}),
                "'key' is a required property",
            ),
            (
                json!({"key": "k", "media_type": null}),
                "'value' is a required property",
            ),
            (
                json!({"key": "k", "value": "v"}),
                "'media_type' is a required property",
            ),
            (
                json!({"key": 1, "value": "v", "media_type": null}),
                "1 is not of type 'string'",
            ),
            (
                json!({"key": "k", "value": "v", "media_type": "text/html"}),
                "'text/html' is not one of ['text/plain', 'application/json', None]",
            ),
        ] {
            let r = env.call("POST", &labels, Some(&token), Some(body)).await;
            assert_problem(&r, 400, "invalid_request", detail);
        }
        for key in [
            "io.quay.thing",
            "quay.expires-after",
            "com.docker.x",
            "internal.x",
        ] {
            let r = env
                .call(
                    "POST",
                    &labels,
                    Some(&token),
                    Some(json!({"key": key, "value": "v", "media_type": null})),
                )
                .await;
            assert_message(&r, 400, "Label has a reserved prefix");
        }
        for key in ["", "Upper", "bad..key", "bad_key"] {
            let r = env
                .call(
                    "POST",
                    &labels,
                    Some(&token),
                    Some(json!({"key": key, "value": "v", "media_type": null})),
                )
                .await;
            assert_message(
                &r,
                400,
                r"Label is of an invalid format or missing please use ^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$ format for labels",
            );
        }
        let r = env
            .call(
                "POST",
                &format!("{REPO}/manifest/sha256:{}/labels", "0".repeat(64)),
                Some(&token),
                Some(json!({"key": "k", "value": "v", "media_type": null})),
            )
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");

        // Permissions and repository state.
        let reader = env.user("reader").await;
        env.grant(repo_id, reader, Role::Read).await;
        let reader_t = env.token(reader, ALL_SCOPES).await;
        let r = env.get(&labels, Some(&reader_t)).await;
        assert_eq!(r.status, 200);
        let r = env
            .call(
                "POST",
                &labels,
                Some(&reader_t),
                Some(json!({"key": "k", "value": "v", "media_type": null})),
            )
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env
            .call("DELETE", &format!("{labels}/{id}"), Some(&reader_t), None)
            .await;
        assert_problem(&r, 403, "insufficient_scope", "Unauthorized");
        let r = env.get(&labels, None).await;
        assert_problem(&r, 401, "invalid_token", "Requires authentication");
        exec(
            &db,
            "UPDATE repository SET state = $1 WHERE id = $2",
            &[Arg::I(1), Arg::I(repo_id)],
        )
        .await;
        let r = env
            .call(
                "POST",
                &labels,
                Some(&token),
                Some(json!({"key": "k", "value": "v", "media_type": null})),
            )
            .await;
        assert_message(&r, 503, "Repository is in read only or mirror mode: 1");
        let r = env
            .call("DELETE", &format!("{labels}/{id}"), Some(&token), None)
            .await;
        assert_message(&r, 503, "Repository is in read only or mirror mode: 1");
        exec(
            &db,
            "UPDATE repository SET state = $1 WHERE id = $2",
            &[Arg::I(0), Arg::I(repo_id)],
        )
        .await;

        // Delete: API labels only.
        let r = env
            .call(
                "DELETE",
                &format!("{labels}/11111111-2222-3333-4444-555555555555"),
                Some(&token),
                None,
            )
            .await;
        assert_message(&r, 400, "Cannot delete immutable label");
        let r = env
            .call("DELETE", &format!("{labels}/{id}"), Some(&token), None)
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let meta = last_log(&env, "manifest_label_delete").await;
        assert_eq!(meta["id"], id.as_str());
        assert_eq!(meta["key"], "com.example.team");
        assert_eq!(meta["value"], "infra");
        assert_eq!(meta["manifest_digest"], digest.as_str());
        let r = env
            .call("DELETE", &format!("{labels}/{id}"), Some(&token), None)
            .await;
        assert_problem(&r, 404, "not_found", "Not Found");
        let r = env.get(&labels, Some(&token)).await;
        assert_eq!(r.json["labels"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            env.log_kinds().await,
            [
                "manifest_label_add",
                "manifest_label_add",
                "manifest_label_delete"
            ]
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn expires_after_label_sets_tag_expiration() {
    for backend in backends() {
        // Quay reserves `quay` by default; an operator may lift that.
        let env = env_with(backend, "DEFAULT_LABEL_KEY_RESERVED_PREFIXES: []").await;
        let (alice, token) = env.user_with_token("alice").await;
        let repo_id = env.repo("alice", "app", false, Some(alice)).await;
        let db = env.tdb.db().clone();
        let (_, digest) = push(
            &db,
            repo_id,
            "latest",
            &image_bytes("1"),
            "application/vnd.oci.image.manifest.v1+json",
            &[],
        )
        .await;
        let r = env
            .call(
                "POST",
                &format!("{REPO}/manifest/{digest}/labels"),
                Some(&token),
                Some(json!({"key": "quay.expires-after", "value": "2h", "media_type": null})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .get(&format!("{REPO}/tag/?specificTag=latest"), Some(&token))
            .await;
        let t = &r.json["tags"][0];
        let start = t["start_ts"].as_i64().expect("start");
        assert_eq!(t["end_ts"], start + 7200, "{r:?}");

        // A tag moved onto the labelled manifest expires that long after the move.
        let before = now_ms() / 1000;
        let r = env
            .call(
                "PUT",
                &format!("{REPO}/tag/moved"),
                Some(&token),
                Some(json!({"manifest_digest": digest})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = env
            .get(&format!("{REPO}/tag/?specificTag=moved"), Some(&token))
            .await;
        let end = r.json["tags"][0]["end_ts"].as_i64().expect("end_ts");
        assert!(
            end >= before + 7200 && end <= now_ms() / 1000 + 7200,
            "{r:?}"
        );
        env.cleanup().await;
    }
}

/// Blob content by (repository id, digest), or a read failure; what the application's
/// registry-backed reader answers, kept in memory.
#[derive(Default)]
struct MemBlobs(std::sync::Mutex<HashMap<(i64, String), BlobRead>>);

type BlobRead = Result<Vec<u8>, String>;

impl MemBlobs {
    fn put(&self, repository_id: i64, bytes: &[u8]) -> String {
        let digest = quayside_oci::Digest::sha256_of(bytes).to_string();
        self.0
            .lock()
            .expect("lock")
            .insert((repository_id, digest.clone()), Ok(bytes.to_vec()));
        digest
    }

    fn fail(&self, repository_id: i64, digest: &str) {
        self.0.lock().expect("lock").insert(
            (repository_id, digest.to_owned()),
            Err("disk on fire".into()),
        );
    }
}

impl BlobReader for MemBlobs {
    fn read_blob<'a>(
        &'a self,
        repository_id: i64,
        digest: &'a str,
        max_bytes: u64,
    ) -> BlobFuture<'a> {
        let found = self
            .0
            .lock()
            .expect("lock")
            .get(&(repository_id, digest.to_owned()))
            .cloned();
        Box::pin(async move {
            match found {
                None => Ok(None),
                Some(Ok(b)) if b.len() as u64 > max_bytes => Ok(None),
                Some(Ok(b)) => Ok(Some(b)),
                Some(Err(e)) => Err(e),
            }
        })
    }
}

/// alice's private repository `alice/app` in an environment whose API state reads config
/// blobs from the returned store: `(blobs, env, alice, alice's OAuth token, repository id, db)`.
async fn layers_case(
    backend: Backend,
) -> (Arc<MemBlobs>, Env, i64, String, i64, quayside_meta::Db) {
    let blobs = Arc::new(MemBlobs::default());
    let mut env = env(backend).await;
    let reader: Arc<dyn BlobReader + Send + Sync> = blobs.clone();
    env.router = quayside_quay_api::router(env.state.clone().with_blob_reader(reader));
    let (alice, token) = env.user_with_token("alice").await;
    let repo_id = env.repo("alice", "app", false, Some(alice)).await;
    let db = env.tdb.db().clone();
    (blobs, env, alice, token, repo_id, db)
}

const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const EMPTY_LAYER: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

fn layer_digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// A two-layer manifest (`a…` 100 bytes, `b…` 200 bytes) over a config of `config_size`
/// bytes with digest `config_digest`.
fn two_layer_manifest(
    media_type: &str,
    config_media_type: &str,
    config_digest: &str,
    config_size: usize,
) -> String {
    let layer_type = if media_type == DOCKER_V2 {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    } else {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    };
    json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_media_type, "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": layer_type, "digest": layer_digest('a'), "size": 100},
            {"mediaType": layer_type, "digest": layer_digest('b'), "size": 200}
        ]
    })
    .to_string()
}

/// The view's `layers` when only the manifest bytes are used.
fn bytes_only_layers() -> Value {
    let entry = |index: usize, c: char, size: u64| {
        json!({
            "index": index, "compressed_size": size, "is_remote": false, "urls": null,
            "command": null, "comment": null, "author": null,
            "blob_digest": layer_digest(c), "created_datetime": null,
        })
    };
    json!([entry(0, 'a', 100), entry(1, 'b', 200)])
}

async fn manifest_layers(env: &Env, token: &str, digest: &str) -> Value {
    let r = env
        .get(&format!("{REPO}/manifest/{digest}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json["layers"].clone()
}

#[tokio::test]
async fn schema2_layers_follow_the_config_history() {
    for backend in backends() {
        let (blobs, env, alice, token, repo_id, db) = layers_case(backend).await;
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [
                {"created": "2018-04-03T18:37:09.284840891Z",
                 "created_by": "/bin/sh -c #(nop) ADD file:9e4ca21c in / ",
                 "author": "Alice <alice@example.com>"},
                {"created": "2018-04-03T18:37:09.613317719Z",
                 "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
                 "empty_layer": true},
                {"created": "2023-11-14T22:13:20+01:00",
                 "created_by": "[\"/bin/sh\",\"-c\",\"make install\"]",
                 "comment": "buildkit.dockerfile.v0",
                 "author": "bob"}
            ]
        })
        .to_string();
        let config_digest = blobs.put(repo_id, config.as_bytes());
        let bytes = two_layer_manifest(
            DOCKER_V2,
            "application/vnd.docker.container.image.v1+json",
            &config_digest,
            config.len(),
        );
        let (_, digest) = push(&db, repo_id, "latest", &bytes, DOCKER_V2, &[]).await;

        let layers = manifest_layers(&env, &token, &digest).await;
        assert_eq!(
            layers,
            json!([
                {"index": 0, "compressed_size": 100, "is_remote": false, "urls": null,
                 "command": ["/bin/sh -c #(nop) ADD file:9e4ca21c in / "],
                 "comment": null, "author": "Alice <alice@example.com>",
                 "blob_digest": layer_digest('a'),
                 "created_datetime": "Tue, 03 Apr 2018 18:37:09 -0000"},
                {"index": 1, "compressed_size": 32, "is_remote": false, "urls": null,
                 "command": ["/bin/sh -c #(nop)  CMD [\"sh\"]"],
                 "comment": null, "author": null,
                 "blob_digest": EMPTY_LAYER,
                 "created_datetime": "Tue, 03 Apr 2018 18:37:09 -0000"},
                {"index": 2, "compressed_size": 200, "is_remote": false, "urls": null,
                 "command": ["/bin/sh", "-c", "make install"],
                 "comment": "buildkit.dockerfile.v0", "author": "bob",
                 "blob_digest": layer_digest('b'),
                 "created_datetime": "Tue, 14 Nov 2023 21:13:20 -0000"}
            ])
        );

        // The same config under an OCI image manifest reads the same way.
        let oci = two_layer_manifest(OCI_MANIFEST, OCI_CONFIG, &config_digest, config.len());
        let (_, oci_digest) = push(&db, repo_id, "oci", &oci, OCI_MANIFEST, &[]).await;
        assert_eq!(manifest_layers(&env, &token, &oci_digest).await, layers);

        // The config is looked up in the manifest's own repository.
        let other_id = env.repo("alice", "other", false, Some(alice)).await;
        let (_, other_digest) = push(&db, other_id, "latest", &bytes, DOCKER_V2, &[]).await;
        let r = env
            .get(
                &format!("/api/v1/repository/alice/other/manifest/{other_digest}"),
                Some(&token),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["layers"], bytes_only_layers());
        env.cleanup().await;
    }
}

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

#[tokio::test]
async fn config_without_history() {
    for backend in backends() {
        let (blobs, env, _, token, repo_id, db) = layers_case(backend).await;
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "created": "2024-01-02T03:04:05Z",
            "author": "carol",
            "config": {"Cmd": ["sh", "-c", "run"]}
        })
        .to_string();
        let config_digest = blobs.put(repo_id, config.as_bytes());

        // OCI: one entry per layer; the last carries the config's own details, its `Cmd`
        // wrapped once more as Quay's `_layer_dict` does with a non-string command.
        let oci = two_layer_manifest(OCI_MANIFEST, OCI_CONFIG, &config_digest, config.len());
        let (_, digest) = push(&db, repo_id, "oci", &oci, OCI_MANIFEST, &[]).await;
        let mut expected = bytes_only_layers();
        expected[1]["command"] = json!([["sh", "-c", "run"]]);
        expected[1]["author"] = json!("carol");
        expected[1]["created_datetime"] = json!("Tue, 02 Jan 2024 03:04:05 -0000");
        assert_eq!(manifest_layers(&env, &token, &digest).await, expected);

        // Docker schema 2 requires the history: without it, the manifest bytes alone.
        let docker = two_layer_manifest(
            DOCKER_V2,
            "application/vnd.docker.container.image.v1+json",
            &config_digest,
            config.len(),
        );
        let (_, digest) = push(&db, repo_id, "docker", &docker, DOCKER_V2, &[]).await;
        assert_eq!(
            manifest_layers(&env, &token, &digest).await,
            bytes_only_layers()
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn unusable_configs_fall_back_to_the_manifest_bytes() {
    for backend in backends() {
        let (blobs, env, _, token, repo_id, db) = layers_case(backend).await;
        let docker_config = "application/vnd.docker.container.image.v1+json";
        let history = |entries: Value| {
            json!({
                "architecture": "amd64", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": entries
            })
            .to_string()
        };
        let good = history(json!([{"created_by": "one"}, {"created_by": "two"}]));
        let good_digest = blobs.put(repo_id, good.as_bytes());
        let mut cases: Vec<(&str, String, String, usize)> = Vec::new();
        // The config blob is absent.
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            layer_digest('c'),
            good.len(),
        ));
        // The descriptor's size is not the blob's.
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            good_digest.clone(),
            good.len() + 1,
        ));
        // Larger than the 8 MiB the view reads.
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            good_digest.clone(),
            (8 << 20) + 1,
        ));
        // Not JSON.
        let junk = "not json at all";
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            blobs.put(repo_id, junk.as_bytes()),
            junk.len(),
        ));
        // Fewer history entries than layers (Quay: malformed).
        let short = history(json!([{"created_by": "one"}]));
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            blobs.put(repo_id, short.as_bytes()),
            short.len(),
        ));
        // Enough entries, but more non-empty ones than layers (Quay: malformed).
        let long = history(json!([{"created_by": "1"}, {"created_by": "2"}, {"created_by": "3"}]));
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            blobs.put(repo_id, long.as_bytes()),
            long.len(),
        ));
        // A history entry of the wrong type (Quay's config schema refuses it).
        let typed = history(json!([{"created_by": 1}, {"created_by": "two"}]));
        cases.push((
            DOCKER_V2,
            docker_config.into(),
            blobs.put(repo_id, typed.as_bytes()),
            typed.len(),
        ));
        // The reader fails.
        let failing = layer_digest('d');
        blobs.fail(repo_id, &failing);
        cases.push((DOCKER_V2, docker_config.into(), failing, 10));
        // An OCI artifact (a Helm chart) is not an image, whatever its config says.
        cases.push((
            OCI_MANIFEST,
            "application/vnd.cncf.helm.config.v1+json".into(),
            good_digest.clone(),
            good.len(),
        ));
        for (i, (media_type, config_type, config_digest, size)) in cases.iter().enumerate() {
            let bytes = two_layer_manifest(media_type, config_type, config_digest, *size);
            let (_, digest) = push(&db, repo_id, &format!("t{i}"), &bytes, media_type, &[]).await;
            assert_eq!(
                manifest_layers(&env, &token, &digest).await,
                bytes_only_layers(),
                "case {i}"
            );
        }

        // The good config itself is read (so the cases above fail for their own reason).
        let bytes = two_layer_manifest(DOCKER_V2, docker_config, &good_digest, good.len());
        let (_, digest) = push(&db, repo_id, "good", &bytes, DOCKER_V2, &[]).await;
        let layers = manifest_layers(&env, &token, &digest).await;
        assert_eq!(layers[0]["command"], json!(["one"]));
        assert_eq!(layers[1]["command"], json!(["two"]));

        // History longer than the layers, with only empty entries past them: those show
        // the empty layer, as in Quay.
        let padded = history(json!([
            {"created_by": "one"}, {"created_by": "two"},
            {"created_by": "ENV x=1", "empty_layer": true}
        ]));
        let padded_digest = blobs.put(repo_id, padded.as_bytes());
        let bytes = two_layer_manifest(DOCKER_V2, docker_config, &padded_digest, padded.len());
        let (_, digest) = push(&db, repo_id, "padded", &bytes, DOCKER_V2, &[]).await;
        let layers = manifest_layers(&env, &token, &digest).await;
        let layers = layers.as_array().expect("layers");
        assert_eq!(layers.len(), 3);
        assert_eq!(layers[2]["blob_digest"], EMPTY_LAYER);
        assert_eq!(layers[2]["compressed_size"], 32);
        assert_eq!(layers[2]["command"], json!(["ENV x=1"]));
        env.cleanup().await;
    }
}
