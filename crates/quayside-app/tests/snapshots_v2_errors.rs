//! Snapshots of the `/v2` error answers through the whole application, one per error
//! code and shape (`quay-api.md` §1.2, §1.3, §1.7, §1.8 and `docs/REGISTRY.md`): the 401
//! challenges, the `{"errors": [...]}` envelope of every code a client can meet
//! (`NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `BLOB_UPLOAD_UNKNOWN`,
//! `DIGEST_INVALID`, `BLOB_UPLOAD_INVALID`, `MANIFEST_INVALID`, `MANIFEST_BLOB_UNKNOWN`,
//! `TAG_INVALID`, `NAME_INVALID`, `INVALID_REQUEST`, `UNSUPPORTED`, `RANGE_INVALID`,
//! `DENIED`, `METHOD NOT ALLOWED`), the bodiless 416 of a chunk at the wrong offset, and
//! the plain `{"error": ...}` answers of Quay's `abort()` (Basic credentials or a bad bearer
//! token on a registry route, `@anon_protect` with `FEATURE_ANONYMOUS_ACCESS: false`). A
//! change to any of these wire shapes shows up as a reviewed snapshot diff
//! (`tests/snapshots/`).
//!
//! A snapshot is the status line, the response headers (sorted, without `content-length`)
//! and the raw body. The server hostname is redacted to `[HOST]` and upload UUIDs to
//! `[UPLOAD-UUID]`. Every case runs on SQLite and PostgreSQL, which must answer byte for
//! byte the same.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{registry_token, send, App, HOST};
use quayside_auth::Identity;
use quayside_testkit::http::{basic, sha, Resp};
use quayside_testkit::{backends, Backend};
use serde_json::json;

/// The status line, headers and raw body of `r`, with the host and `uuids` redacted.
fn render(r: &Resp, uuids: &[&str]) -> String {
    let mut out = format!(
        "{} {}\n",
        r.status.as_u16(),
        r.status.canonical_reason().unwrap_or("")
    );
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(name, _)| *name != "content-length")
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    headers.sort();
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.push_str(&r.text);
    let mut out = out.replace(HOST, "[HOST]");
    for uuid in uuids {
        out = out.replace(uuid, "[UPLOAD-UUID]");
    }
    out
}

/// One answer per case name, in order.
type Answers = Vec<(&'static str, String)>;

struct Recorder {
    out: Answers,
    uuids: Vec<String>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            out: Vec::new(),
            uuids: Vec::new(),
        }
    }

    /// Records `r` as case `name`: status line, headers and body.
    fn record(&mut self, name: &'static str, r: &Resp) {
        check(name, r);
        let uuids: Vec<&str> = self.uuids.iter().map(String::as_str).collect();
        self.out.push((name, render(r, &uuids)));
    }
}

/// What every snapshotted answer is: an error, never a 500, with a JSON body (but for the
/// bodiless 416 of an upload chunk).
fn check(name: &str, r: &Resp) {
    assert!(r.status.as_u16() >= 400, "{name}: not an error: {r:?}");
    assert_ne!(r.status, 500, "{name}: {r:?}");
    if r.status != 416 || !r.text.is_empty() {
        assert!(!r.json.is_null(), "{name}: body is not JSON: {r:?}");
        assert_eq!(
            r.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{name}"
        );
    }
}

/// Checks both backends gave the same answers, then snapshots each case.
fn snapshot_all(per_backend: Vec<Answers>) {
    let [sqlite, postgres]: [Answers; 2] = per_backend.try_into().expect("two backends");
    assert_eq!(sqlite.len(), postgres.len());
    for ((name, a), (other, b)) in sqlite.iter().zip(&postgres) {
        assert_eq!(name, other);
        assert_eq!(a, b, "{name}: SQLite and PostgreSQL answer differently");
    }
    for (name, rendered) in sqlite {
        insta::assert_snapshot!(name, rendered);
    }
}

/// A request to the application: `auth` is a whole `Authorization` value.
async fn call(
    app: &App,
    method: &str,
    path: &str,
    auth: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    send(app, req.body(Body::from(body)).expect("request")).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The application with users `devtable` (owner of the private `devtable/app`) and
/// `outsider` (no permission), password `password`.
async fn app_with_repository(backend: Backend, yaml: &str) -> App {
    let app = common::app(backend, yaml).await;
    let auth = &app.state.quay_api.auth;
    let owner = auth
        .create_user("devtable", "password", "devtable@example.com")
        .await
        .expect("owner");
    auth.create_user("outsider", "password", "outsider@example.com")
        .await
        .expect("outsider");
    let identity = Identity::User {
        id: owner,
        username: "devtable".into(),
        uuid: String::new(),
    };
    quayside_testkit::accounts::repository(auth, "devtable", "app", false, Some(&identity))
        .await
        .expect("repository");
    app
}

async fn push_token(app: &App, user: &str, repo: &str) -> String {
    registry_token(
        app,
        Some((user, "password")),
        &format!("repository:{repo}:pull,push"),
    )
    .await
    .expect("token")
}

/// Starts an upload session on `devtable/app`; its UUID.
async fn start_upload(app: &App, token: &str, rec: &mut Recorder) -> String {
    let r = call(
        app,
        "POST",
        "/v2/devtable/app/blobs/uploads/",
        Some(&bearer(token)),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, 202, "{r:?}");
    let uuid = r.headers["docker-upload-uuid"]
        .to_str()
        .expect("uuid")
        .to_owned();
    rec.uuids.push(uuid.clone());
    uuid
}

/// Quay's default configuration: authentication failures and every envelope code.
#[tokio::test]
async fn v2_error_shapes() {
    let mut per_backend = Vec::new();
    for backend in backends() {
        let app = app_with_repository(backend, "").await;
        let mut rec = Recorder::new();
        let owner_token = push_token(&app, "devtable", "devtable/app").await;
        let owner = bearer(&owner_token);
        let auth = Some(owner.as_str());

        // Authentication: the ping, /v2/auth and repository routes.
        let r = call(&app, "GET", "/v2/", None, &[], Vec::new()).await;
        rec.record("unauthorized_401_ping_anonymous", &r);
        let r = call(
            &app,
            "GET",
            &format!("/v2/auth?service={HOST}&scope=repository:devtable/app:pull"),
            Some(&basic("devtable", "wrong password")),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("unauthorized_401_token_bad_password", &r);
        let r = call(
            &app,
            "GET",
            &format!("/v2/auth?service={HOST}&scope=registry:catalog:*"),
            Some(&basic("devtable", "password")),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("invalid_request_400_token_bad_scope", &r);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/manifests/latest",
            None,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("unauthorized_401_anonymous_pull", &r);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/tags/list",
            Some(&basic("devtable", "password")),
            &[],
            Vec::new(),
        )
        .await;
        // Quay's `abort(401, headers=get_auth_headers(repository, scopes))`: the route's
        // challenge (`repository:devtable/app:pull`), `Docker-Distribution-API-Version` and
        // `util/http.py`'s CORS headers, body outside the envelope.
        rec.record("error_401_basic_on_registry_route", &r);
        // A bearer token of the right shape that fails verification: the same abort, with
        // the reason as the message (`registry_jwt_auth.py`); the challenge names the
        // route's scopes (pull here, pull,push on a write route, none on the ping).
        let forged = "Bearer aaa.bbb.ccc";
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/tags/list",
            Some(forged),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("error_401_invalid_bearer_token", &r);
        let r = call(
            &app,
            "POST",
            "/v2/devtable/app/blobs/uploads/",
            Some(forged),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("error_401_invalid_bearer_token_write_route", &r);
        let r = call(&app, "GET", "/v2/", Some(forged), &[], Vec::new()).await;
        rec.record("error_401_invalid_bearer_token_ping", &r);
        let outsider = push_token(&app, "outsider", "devtable/app").await;
        let r = call(
            &app,
            "POST",
            "/v2/devtable/app/blobs/uploads/",
            Some(&bearer(&outsider)),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("unauthorized_401_push_without_permission", &r);

        // Names and references.
        let missing = registry_token(
            &app,
            Some(("devtable", "password")),
            "repository:devtable/missing:pull",
        )
        .await
        .expect("token");
        let r = call(
            &app,
            "GET",
            "/v2/devtable/missing/tags/list",
            Some(&bearer(&missing)),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("name_unknown_404", &r);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/App/tags/list",
            auth,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("name_invalid_400", &r);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/manifests/latest",
            auth,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("manifest_unknown_404_tag", &r);
        let r = call(
            &app,
            "GET",
            &format!("/v2/devtable/app/manifests/{}", sha(b"no such manifest")),
            auth,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("manifest_unknown_404_digest", &r);
        let r = call(
            &app,
            "GET",
            &format!("/v2/devtable/app/blobs/{}", sha(b"no such blob")),
            auth,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("blob_unknown_404", &r);
        let r = call(
            &app,
            "DELETE",
            &format!("/v2/devtable/app/blobs/{}", sha(b"no such blob")),
            auth,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("unsupported_405_blob_delete", &r);

        // Uploads.
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/blobs/uploads/8e3a4a3c-2f6e-4b4e-9d1c-6d1f0a0b0c0d",
            auth,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("blob_upload_unknown_404", &r);
        let uuid = start_upload(&app, &owner_token, &mut rec).await;
        let r = call(
            &app,
            "PUT",
            &format!("/v2/devtable/app/blobs/uploads/{uuid}?digest=sha256:not-hex"),
            auth,
            &[],
            b"data".to_vec(),
        )
        .await;
        rec.record("digest_invalid_400_malformed_digest", &r);
        let r = call(
            &app,
            "PUT",
            &format!("/v2/devtable/app/blobs/uploads/{uuid}"),
            auth,
            &[],
            b"data".to_vec(),
        )
        .await;
        rec.record("blob_upload_invalid_400_missing_digest", &r);
        let r = call(
            &app,
            "PATCH",
            &format!("/v2/devtable/app/blobs/uploads/{uuid}"),
            auth,
            &[("Content-Range", "0-3")],
            b"data".to_vec(),
        )
        .await;
        assert_eq!(r.status, 202, "{r:?}");
        let r = call(
            &app,
            "PATCH",
            &format!("/v2/devtable/app/blobs/uploads/{uuid}"),
            auth,
            &[("Content-Range", "10-13")],
            b"data".to_vec(),
        )
        .await;
        rec.record("range_416_chunk_at_wrong_offset", &r);
        let r = call(
            &app,
            "PUT",
            &format!(
                "/v2/devtable/app/blobs/uploads/{uuid}?digest={}",
                sha(b"other data")
            ),
            auth,
            &[],
            b"data".to_vec(),
        )
        .await;
        rec.record("blob_upload_invalid_400_digest_mismatch", &r);

        // A stored blob, read past its end.
        let blob = b"a small stored blob".to_vec();
        let r = call(
            &app,
            "POST",
            &format!("/v2/devtable/app/blobs/uploads/?digest={}", sha(&blob)),
            auth,
            &[("Content-Type", "application/octet-stream")],
            blob.clone(),
        )
        .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = call(
            &app,
            "GET",
            &format!("/v2/devtable/app/blobs/{}", sha(&blob)),
            auth,
            &[("Range", "bytes=1000-2000")],
            Vec::new(),
        )
        .await;
        rec.record("range_invalid_416_blob_range", &r);

        // Manifests.
        let oci = [("Content-Type", "application/vnd.oci.image.manifest.v1+json")];
        let r = call(
            &app,
            "PUT",
            "/v2/devtable/app/manifests/latest",
            auth,
            &oci,
            b"this is not a manifest".to_vec(),
        )
        .await;
        rec.record("manifest_invalid_400_unparsable", &r);
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha(config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": sha(b"missing layer"), "size": 13}],
        })
        .to_string();
        let r = call(
            &app,
            "PUT",
            "/v2/devtable/app/manifests/latest",
            auth,
            &oci,
            manifest.clone().into_bytes(),
        )
        .await;
        rec.record("manifest_blob_unknown_400", &r);
        let r = call(
            &app,
            "PUT",
            &format!("/v2/devtable/app/manifests/{}", sha(b"not this manifest")),
            auth,
            &oci,
            manifest.clone().into_bytes(),
        )
        .await;
        rec.record("manifest_invalid_400_digest_mismatch", &r);
        let r = call(
            &app,
            "PUT",
            "/v2/devtable/app/manifests/.bad-tag",
            auth,
            &oci,
            manifest.into_bytes(),
        )
        .await;
        rec.record("tag_invalid_400", &r);

        per_backend.push(rec.out);
        app.tdb.cleanup().await;
    }
    snapshot_all(per_backend);
}

/// Switches the running application's `REGISTRY_STATE` / `DISABLE_PUSHES` as a config
/// reload (SIGHUP) does. (A read-only instance cannot start without a service key in the
/// database, so the application starts normal and is switched.)
fn reload(app: &App, yaml: &str) {
    let config = quayside_config::Config::from_yaml_str(yaml).expect("config");
    app.state.settings.live.apply(&config);
}

/// `REGISTRY_STATE: readonly` (`405 DENIED` + `is_readonly`), `DISABLE_PUSHES`
/// (`405 METHOD NOT ALLOWED`) and `FEATURE_ANONYMOUS_ACCESS: false`: Quay's `@anon_protect`
/// answers `401 {"error": "Anonymous access is not allowed"}` without a challenge on
/// `/v2/auth` and `_catalog`; on a repository route the permission check runs first, so an
/// anonymous caller gets the envelope's `UNAUTHORIZED` there, and only an anonymous token
/// that passes that check meets `@anon_protect`; the ping (`@anon_allowed`) is unchanged.
#[tokio::test]
async fn v2_error_shapes_of_registry_states() {
    let mut per_backend = Vec::new();
    for backend in backends() {
        let mut rec = Recorder::new();

        let app = app_with_repository(backend, "").await;
        let token = bearer(&push_token(&app, "devtable", "devtable/app").await);
        let start_upload = || {
            call(
                &app,
                "POST",
                "/v2/devtable/app/blobs/uploads/",
                Some(&token),
                &[],
                Vec::new(),
            )
        };
        reload(&app, "REGISTRY_STATE: readonly\n");
        let r = start_upload().await;
        rec.record("denied_405_read_only", &r);
        reload(&app, "DISABLE_PUSHES: true\n");
        let r = start_upload().await;
        rec.record("method_not_allowed_405_pushes_disabled", &r);
        reload(&app, "REGISTRY_STATE: normal\nDISABLE_PUSHES: false\n");
        let r = start_upload().await;
        assert_eq!(r.status, 202, "back to normal: {r:?}");
        app.tdb.cleanup().await;

        let app = app_with_repository(backend, "FEATURE_ANONYMOUS_ACCESS: false\n").await;
        let r = call(
            &app,
            "GET",
            &format!("/v2/auth?service={HOST}&scope=repository:devtable/app:pull"),
            None,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("error_401_token_anonymous_access_disabled", &r);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/tags/list",
            None,
            &[],
            Vec::new(),
        )
        .await;
        rec.record("unauthorized_401_tags_list_anonymous_access_disabled", &r);
        let r = call(&app, "GET", "/v2/_catalog", None, &[], Vec::new()).await;
        rec.record("error_401_catalog_anonymous_access_disabled", &r);
        let r = call(&app, "GET", "/v2/", None, &[], Vec::new()).await;
        rec.record("unauthorized_401_ping_anonymous_access_disabled", &r);
        // A signed-in caller is not affected.
        let token = bearer(&push_token(&app, "devtable", "devtable/app").await);
        let r = call(&app, "GET", "/v2/_catalog", Some(&token), &[], Vec::new()).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["repositories"], json!(["devtable/app"]), "{r:?}");
        let r = call(
            &app,
            "GET",
            "/v2/devtable/app/tags/list",
            Some(&token),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        app.tdb.cleanup().await;

        // An anonymous token for a public repository, minted while anonymous access was
        // on, passes the pull check after a restart with it off; `@anon_protect` refuses it
        // and `abort` names the anonymous context. Blob GET/HEAD are `@anon_allowed`.
        let mut app = app_with_repository(backend, "").await;
        quayside_testkit::accounts::repository(
            &app.state.quay_api.auth,
            "devtable",
            "pub",
            true,
            None,
        )
        .await
        .expect("public repository");
        let anonymous = registry_token(&app, None, "repository:devtable/pub:pull")
            .await
            .expect("anonymous token");
        let anonymous = bearer(&anonymous);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/pub/tags/list",
            Some(&anonymous),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(r.status, 200, "anonymous access on: {r:?}");
        let mut state = app.state.clone();
        let mut v2 = (*state.v2.settings).clone();
        v2.anonymous_access = false;
        state.v2.settings = std::sync::Arc::new(v2);
        app.router = quayside_app::router(state);
        let r = call(
            &app,
            "GET",
            "/v2/devtable/pub/tags/list",
            Some(&anonymous),
            &[],
            Vec::new(),
        )
        .await;
        rec.record("error_401_anonymous_token_anonymous_access_disabled", &r);
        let r = call(
            &app,
            "GET",
            &format!("/v2/devtable/pub/blobs/{}", sha(b"no such blob")),
            Some(&anonymous),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(r.status, 404, "blob GET is @anon_allowed: {r:?}");
        assert_eq!(r.json["errors"][0]["code"], "BLOB_UNKNOWN", "{r:?}");
        let r = call(
            &app,
            "GET",
            "/v2/_catalog",
            Some(&anonymous),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(
            r.json,
            json!({"error": "Anonymous access is not allowed (authorized: anonymous)"})
        );
        app.tdb.cleanup().await;

        per_backend.push(rec.out);
    }
    snapshot_all(per_backend);
}
