//! Snapshot of `GET /api/v1/discovery`: the whole Swagger document, so any change to the
//! documented operations, parameters, scopes or error schema shows up as a reviewed
//! snapshot diff (`tests/snapshots/`). Discovery reads no database row, but the
//! environment stands on one, so it runs on both backends and both must give the same
//! document.
//!
//! The document is deterministic by construction (paths and tags are sorted, JSON objects
//! are sorted maps); the only configuration-dependent values are `host`, `schemes` and the
//! authorization URL; `SERVER_HOSTNAME` is redacted to `[SERVER_HOSTNAME]` in them.

mod common;

use common::*;

/// Fetches the discovery document (with `query`) on every backend, checks both backends
/// agree, and returns it.
async fn discovery(yaml: &str, query: &str) -> serde_json::Value {
    let mut documents = Vec::new();
    for backend in backends() {
        let env = env_with(backend, yaml).await;
        let r = env.get(&format!("/api/v1/discovery{query}"), None).await;
        assert_eq!(r.status, 200, "{backend:?}: {r:?}");
        assert_eq!(
            r.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{backend:?}"
        );
        assert!(r.text.ends_with('\n'), "Flask's trailing newline");
        documents.push(r.json);
        env.cleanup().await;
    }
    assert_eq!(documents[0], documents[1], "SQLite and PostgreSQL differ");
    let mut doc = documents.swap_remove(0);
    redact_host(&mut doc);
    doc
}

/// Replaces `SERVER_HOSTNAME` in every string of `v`.
fn redact_host(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = s.replace(SERVER_HOSTNAME, "[SERVER_HOSTNAME]"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_host),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_host),
        _ => {}
    }
}

#[tokio::test]
async fn discovery_document() {
    let doc = discovery("", "").await;
    insta::assert_json_snapshot!("discovery", doc);
}

/// `?internal=true` adds the internal operations (e.g. `POST /api/v1/user/initialize`,
/// mounted by `FEATURE_USER_INITIALIZE`) marked `x-internal`, and changes nothing else: the
/// snapshot holds only the operations the internal document adds.
#[tokio::test]
async fn discovery_internal_operations() {
    let yaml = "FEATURE_USER_INITIALIZE: true\n";
    let public = discovery(yaml, "").await;
    let mut internal = discovery(yaml, "?internal=true").await;
    let mut added = serde_json::Map::new();
    let paths = internal["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        let item = item.as_object_mut().expect("path item");
        let known = public["paths"].get(path);
        let mut ops = serde_json::Map::new();
        for method in ["get", "post", "put", "patch", "delete"] {
            let is_new = known.and_then(|k| k.get(method)).is_none();
            if is_new {
                if let Some(op) = item.remove(method) {
                    ops.insert(method.to_owned(), op);
                }
            }
        }
        if !ops.is_empty() {
            added.insert(path.clone(), serde_json::Value::Object(ops));
        }
    }
    // Path items that held only internal operations are left with their shared keys.
    paths.retain(|path, _| public["paths"].get(path).is_some());
    assert_eq!(
        internal, public,
        "?internal=true changed more than it added"
    );
    assert!(!added.is_empty(), "no internal operation is documented");
    for ops in added.values() {
        for op in ops.as_object().expect("ops").values() {
            assert_eq!(op["x-internal"], true, "{op}");
        }
    }
    insta::assert_json_snapshot!("discovery_internal_additions", added);
}
