//! Quota management through the whole application, on SQLite and PostgreSQL: a superuser
//! sets an organization's quota and thresholds through Quay's API; pushes are counted as
//! Quay counts them (distinct blobs per namespace and per repository, config included);
//! a push over the `Reject` threshold fails with Quay's `403 DENIED` and leaves nothing
//! visible; uploads start failing once the namespace is over; deleted tags keep counting
//! until GC removes their manifests, and a blob two repositories share leaves the
//! namespace total only with the last of them.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{app, registry_token, send, App};
use quayside_testkit::http::Resp;
use quayside_testkit::{backends, Backend};
use serde_json::{json, Value};

const CONFIG: &str = "FEATURE_QUOTA_MANAGEMENT: true\nSUPER_USERS: [admin]\n\
                      TAG_EXPIRATION_OPTIONS: ['0s', '1d']\n";
const SCOPES: &str =
    "org:admin repo:admin repo:create repo:read repo:write super:user user:admin user:read";

fn sha256(data: &[u8]) -> String {
    quayside_oci::Digest::sha256_of(data).to_string()
}

async fn api(app: &App, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("Authorization", format!("Bearer {token}"));
    let req = match body {
        Some(b) => req
            .header("Content-Type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("req");
    send(app, req).await
}

/// An image: its config and one layer. Returns the manifest and the bytes it adds when
/// none of its blobs is counted yet.
fn image(config: &[u8], layer: &[u8]) -> (Vec<u8>, i64) {
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(layer), "size": layer.len()}],
    }))
    .expect("json");
    (manifest, (config.len() + layer.len()) as i64)
}

async fn push_blob(app: &App, repo: &str, token: &str, blob: &[u8]) -> Resp {
    send(
        app,
        Request::post(format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(blob)))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/octet-stream")
            .body(Body::from(blob.to_vec()))
            .expect("req"),
    )
    .await
}

async fn push_manifest(app: &App, repo: &str, tag: &str, token: &str, m: &[u8]) -> Resp {
    send(
        app,
        Request::put(format!("/v2/{repo}/manifests/{tag}"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(Body::from(m.to_vec()))
            .expect("req"),
    )
    .await
}

async fn push_image(
    app: &App,
    repo: &str,
    tag: &str,
    token: &str,
    config: &[u8],
    layer: &[u8],
) -> Resp {
    for blob in [config, layer] {
        let r = push_blob(app, repo, token, blob).await;
        assert_eq!(r.status, 201, "blob into {repo}: {r:?}");
    }
    let (m, _) = image(config, layer);
    push_manifest(app, repo, tag, token, &m).await
}

fn assert_denied(r: &Resp, what: &str) {
    assert_eq!(r.status, 403, "{what}: {r:?}");
    assert_eq!(
        r.json,
        json!({"errors": [{"code": "DENIED", "message": "Quota has been exceeded on namespace", "detail": {}}]}),
        "{what}"
    );
}

async fn report(app: &App, token: &str) -> Value {
    let r = api(app, "GET", "/api/v1/organization/acme", token, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json["quota_report"].clone()
}

async fn repo_bytes(app: &App, token: &str, repo: &str) -> Value {
    let r = api(
        app,
        "GET",
        &format!("/api/v1/repository/acme/{repo}"),
        token,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json["quota_report"]["quota_bytes"].clone()
}

async fn gc(app: &App) {
    let config = quayside_config::Config::from_yaml_str(CONFIG).expect("config");
    let ctx = quayside_app::workers::context(&app.state, &config);
    quayside_workers::run_once(&ctx, &quayside_workers::gc::GcWorker)
        .await
        .expect("gc run");
}

async fn scenario(backend: Backend) {
    let app = app(backend, CONFIG).await;
    let auth = &app.state.quay_api.auth;
    let admin = auth
        .create_user("admin", "password", "admin@example.com")
        .await
        .expect("admin");
    let owner = auth
        .create_user("owner", "password", "owner@example.com")
        .await
        .expect("owner");
    let admin_t = auth.create_oauth_token(admin, SCOPES).await.expect("token");
    let owner_t = auth.create_oauth_token(owner, SCOPES).await.expect("token");
    let r = api(
        &app,
        "POST",
        "/api/v1/organization/",
        &owner_t,
        Some(json!({"name": "acme", "email": "acme@example.com"})),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    // Tags leave the time machine at once, so GC can be shown removing their manifests.
    let r = api(
        &app,
        "PUT",
        "/api/v1/organization/acme",
        &owner_t,
        Some(json!({"tag_expiration_s": 0})),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");

    // Only a superuser sets quotas; the org admin may read them.
    let r = api(
        &app,
        "POST",
        "/api/v1/organization/acme/quota",
        &owner_t,
        Some(json!({"limit_bytes": 1000})),
    )
    .await;
    assert_eq!(
        r.status, 403,
        "{backend}: an org admin cannot set a quota: {r:?}"
    );
    let r = api(
        &app,
        "POST",
        "/api/v1/organization/acme/quota",
        &admin_t,
        Some(json!({"limit_bytes": 0})),
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.json["detail"], "Invalid quota size limit value: '0'");
    let r = api(
        &app,
        "POST",
        "/api/v1/organization/acme/quota",
        &admin_t,
        Some(json!({"limit_bytes": 1000})),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json, json!("Created"));
    let r = api(
        &app,
        "POST",
        "/api/v1/organization/acme/quota",
        &admin_t,
        Some(json!({"limit_bytes": 5})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json["detail"],
        "Organization quota for 'acme' already exists"
    );
    let r = api(
        &app,
        "GET",
        "/api/v1/organization/acme/quota",
        &owner_t,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let quota_id = r.json[0]["id"].as_i64().expect("quota id");
    assert_eq!(r.json[0]["limit_bytes"], 1000);
    assert_eq!(r.json[0]["limits"], json!([]));
    assert_eq!(r.json[0]["default_config"], false);

    let limits = format!("/api/v1/organization/acme/quota/{quota_id}/limit");
    for (body, status, detail) in [
        (
            json!({"type": "Warning", "threshold_percent": 50}),
            201,
            None,
        ),
        (
            json!({"type": "reject", "threshold_percent": 100}),
            201,
            None,
        ),
        (
            json!({"type": "Warning", "threshold_percent": 50}),
            400,
            Some("Quota limit already exists"),
        ),
        (
            json!({"type": "Warning", "threshold_percent": 0}),
            400,
            Some("Quota limit threshold must be between 1 and 100"),
        ),
        (
            json!({"type": "Bogus", "threshold_percent": 10}),
            400,
            Some("Quota type must be one of [Warning, Reject]"),
        ),
    ] {
        let r = api(&app, "POST", &limits, &admin_t, Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {r:?}");
        if let Some(d) = detail {
            assert_eq!(r.json["detail"], d, "{body}");
        }
    }
    let r = api(&app, "GET", &limits, &owner_t, None).await;
    let kinds: Vec<(Value, Value)> = r
        .json
        .as_array()
        .expect("limits")
        .iter()
        .map(|l| (l["type"].clone(), l["limit_percent"].clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![(json!("Warning"), json!(50)), (json!("Reject"), json!(100))]
    );

    let rep = report(&app, &owner_t).await;
    assert_eq!(rep["quota_bytes"], 0);
    assert_eq!(rep["configured_quota"], 1000);
    assert_eq!(rep["backfill_status"], "waiting", "{rep}");

    let token = registry_token(
        &app,
        Some(("owner", "password")),
        "repository:acme/app:pull,push&scope=repository:acme/other:pull,push",
    )
    .await
    .expect("token");
    let config1 =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer1 = vec![1u8; 600];
    let (_, image1) = image(config1, &layer1);
    // 0 bytes used: the push goes through and passes the warning threshold only.
    let r = push_image(&app, "acme/app", "v1", &token, config1, &layer1).await;
    assert_eq!(r.status, 201, "{backend}: {r:?}");
    let rep = report(&app, &owner_t).await;
    assert_eq!(rep["quota_bytes"], image1, "{backend}: {rep}");
    assert_eq!(
        rep["backfill_status"], "complete",
        "the first manifest starts the total"
    );
    assert_eq!(repo_bytes(&app, &owner_t, "app").await, image1);

    // The same blobs in a second repository: once for the namespace, once per repository.
    let r = push_image(&app, "acme/other", "shared", &token, config1, &layer1).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(report(&app, &owner_t).await["quota_bytes"], image1);
    assert_eq!(repo_bytes(&app, &owner_t, "other").await, image1);

    // A second image would take the namespace past 1000 bytes: refused, nothing visible.
    let config2 =
        br#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer2 = vec![2u8; 500];
    let r = push_image(&app, "acme/other", "big", &token, config2, &layer2).await;
    assert_denied(&r, "manifest over the reject threshold");
    let r = send(
        &app,
        Request::get("/v2/acme/other/manifests/big")
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(
        r.status, 404,
        "{backend}: the refused manifest is not visible: {r:?}"
    );
    assert_eq!(report(&app, &owner_t).await["quota_bytes"], image1);

    // Lowering the limit below the usage stops uploads from starting.
    let r = api(
        &app,
        "PUT",
        &format!("/api/v1/organization/acme/quota/{quota_id}"),
        &admin_t,
        Some(json!({"limit_bytes": 600})),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["limit_bytes"], 600);
    let r = send(
        &app,
        Request::post("/v2/acme/app/blobs/uploads/")
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_denied(&r, "upload start over quota");
    let r = push_blob(&app, "acme/app", &token, b"any bytes").await;
    assert_denied(&r, "monolithic upload over quota");

    // Deleted tags count until GC removes their manifests; the shared blobs stay counted
    // until the last repository holding them lets go.
    let r = api(
        &app,
        "DELETE",
        "/api/v1/repository/acme/app/tag/v1",
        &owner_t,
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    gc(&app).await;
    assert_eq!(repo_bytes(&app, &owner_t, "app").await, 0, "{backend}");
    assert_eq!(
        report(&app, &owner_t).await["quota_bytes"],
        image1,
        "{backend}: still shared"
    );
    let r = api(
        &app,
        "DELETE",
        "/api/v1/repository/acme/other/tag/shared",
        &owner_t,
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    gc(&app).await;
    assert_eq!(report(&app, &owner_t).await["quota_bytes"], 0, "{backend}");

    // Under the limit again, pushes go through.
    let r = push_image(&app, "acme/app", "v2", &token, config2, &layer2).await;
    assert_eq!(r.status, 201, "{backend}: {r:?}");
    let (_, image2) = image(config2, &layer2);
    assert_eq!(report(&app, &owner_t).await["quota_bytes"], image2);

    // Deleting the quota lifts the limit.
    let r = api(
        &app,
        "DELETE",
        &format!("/api/v1/organization/acme/quota/{quota_id}"),
        &admin_t,
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = api(
        &app,
        "GET",
        "/api/v1/organization/acme/quota",
        &owner_t,
        None,
    )
    .await;
    assert_eq!(r.json, json!([]));
    let r = push_image(&app, "acme/app", "v3", &token, config1, &layer1).await;
    assert_eq!(r.status, 201, "{r:?}");
    app.tdb.cleanup().await;
}

#[tokio::test]
async fn quotas_are_counted_and_enforced_as_quay_does() {
    for backend in backends() {
        scenario(backend).await;
    }
}

#[tokio::test]
async fn the_system_default_rejects_namespaces_without_a_quota() {
    for backend in backends() {
        let app = app(
            backend,
            &format!("{CONFIG}DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 100\n"),
        )
        .await;
        let auth = &app.state.quay_api.auth;
        let owner = auth
            .create_user("owner", "password", "owner@example.com")
            .await
            .expect("owner");
        let owner_t = auth.create_oauth_token(owner, SCOPES).await.expect("token");
        let r = api(
            &app,
            "POST",
            "/api/v1/organization/",
            &owner_t,
            Some(json!({"name": "acme", "email": "acme@example.com"})),
        )
        .await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = api(
            &app,
            "GET",
            "/api/v1/organization/acme/quota",
            &owner_t,
            None,
        )
        .await;
        assert_eq!(
            r.json,
            json!([{"id": null, "limit_bytes": 100, "limit": "100.0 B",
            "default_config": true, "limits": [], "default_config_exists": true}]),
            "{backend}"
        );
        let token = registry_token(
            &app,
            Some(("owner", "password")),
            "repository:acme/app:pull,push",
        )
        .await
        .expect("token");
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        // 0 bytes used: the first image (over 100 bytes) is refused once it is counted.
        let r = push_image(&app, "acme/app", "v1", &token, config, &[7u8; 200]).await;
        assert_denied(&r, "system default");
        assert_eq!(report(&app, &owner_t).await["configured_quota"], 100);
        app.tdb.cleanup().await;
    }
}
