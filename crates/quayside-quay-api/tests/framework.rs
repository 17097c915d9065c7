//! The `/api/v1` plumbing every operation shares: error shapes, routing rules,
//! read-only mode, anonymous access, bearer handling and discovery — on both backends.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn unknown_paths_methods_and_slashes() {
    for backend in backends() {
        let env = env(backend).await;
        let r = env.get("/api/v1/nothing/here", None).await;
        assert_eq!(r.status, 404, "{r:?}");
        assert!(r.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("not found")));
        let r = env.call("DELETE", "/api/v1/discovery", None, None).await;
        assert_eq!(r.status, 405, "{r:?}");
        let r = env.get("/api/v1/error/not_found", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.json,
            json!({"type": "not_found", "title": "not_found", "description": "The resource was not found."})
        );
        let r = env.get("/api/v1/error/bogus", None).await;
        assert_problem(&r, 404, "not_found", "Not Found");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn discovery_lists_what_is_served() {
    for backend in backends() {
        let env = env(backend).await;
        let r = env.get("/api/v1/discovery", None).await;
        assert_eq!(r.status, 200, "{r:?}");
        let d = &r.json;
        assert_eq!(d["swagger"], "2.0");
        assert_eq!(d["host"], SERVER_HOSTNAME);
        assert_eq!(d["info"]["title"], "Quay Frontend");
        assert_eq!(
            d["securityDefinitions"]["oauth2_implicit"]["authorizationUrl"],
            format!("https://{SERVER_HOSTNAME}/oauth/authorize")
        );
        assert!(d["securityDefinitions"]["oauth2_implicit"]["scopes"]["super:user"].is_string());
        let paths = d["paths"].as_object().expect("paths");
        assert_eq!(
            paths["/api/v1/discovery"]["get"]["operationId"], "discovery",
            "{}",
            r.text
        );
        // Every documented operation is routed, with its method.
        let mut operations = 0;
        for (path, item) in paths {
            for method in ["get", "post", "put", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                operations += 1;
                let digest = format!("sha256:{}", "0".repeat(64));
                let concrete = path
                    .replace("{repository}", "ns/repo")
                    .replace("{manifestref}", &digest)
                    .replace(['{', '}'], "");
                let m = axum::http::Method::from_bytes(method.to_uppercase().as_bytes())
                    .expect("method");
                assert!(
                    env.state.is_routed(&m, &concrete),
                    "{method} {path} is documented but not routed"
                );
            }
        }
        assert!(operations >= 70, "only {operations} operations documented");
        // And nothing undocumented is routed: an unknown path is the dispatcher's 404.
        assert!(!env
            .state
            .is_routed(&axum::http::Method::GET, "/api/v1/nothing/here"));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn internal_operations_are_listed_on_request() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_USER_INITIALIZE: true\n").await;
        let public = env.get("/api/v1/discovery", None).await;
        assert!(public.json["paths"]
            .get("/api/v1/user/initialize")
            .is_none());
        let all = env.get("/api/v1/discovery?internal=true", None).await;
        let op = &all.json["paths"]["/api/v1/user/initialize"]["post"];
        assert_eq!(op["operationId"], "userInitialize", "{}", all.text);
        assert_eq!(op["x-internal"], true);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn super_user_scope_hidden_without_the_feature() {
    for backend in backends() {
        let env = env_with(backend, "FEATURE_SUPER_USERS: false\n").await;
        let r = env.get("/api/v1/discovery", None).await;
        let scopes = &r.json["securityDefinitions"]["oauth2_implicit"]["scopes"];
        assert!(scopes.get("super:user").is_none(), "{scopes}");
        assert!(scopes.get("repo:read").is_some());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn writes_answer_503_in_read_only_mode() {
    for backend in backends() {
        let env = env_with(
            backend,
            "REGISTRY_STATE: readonly\nFEATURE_USER_INITIALIZE: true\n",
        )
        .await;
        let r = env
            .call(
                "POST",
                "/api/v1/user/initialize",
                None,
                Some(json!({"username": "admin", "password": "password"})),
            )
            .await;
        assert_eq!(r.status, 503, "{r:?}");
        assert_eq!(
            r.json,
            json!({
                "message": "System is currently read-only. Pulls will succeed but all write operations are currently suspended.",
                "is_readonly": true
            })
        );
        // Reads still work.
        assert_eq!(env.get("/api/v1/discovery", None).await.status, 200);
        assert_eq!(env.tdb.db().count_accounts().await.expect("count"), 0);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn bearer_jwts_are_sso_tokens_with_no_issuer_configured() {
    for backend in backends() {
        let env = env(backend).await;
        // {"alg":"none"}.{"iss":"https://idp.example"}.sig
        let jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.c2ln";
        let r = env.get("/api/v1/discovery", Some(jwt)).await;
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(
            r.json,
            json!({"error": "Issuer https://idp.example not configured"})
        );
        env.cleanup().await;
    }
}
