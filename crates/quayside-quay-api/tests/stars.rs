//! Starred repositories (`/api/v1/user/starred…`) on both backends: star, list, unstar,
//! idempotence, `is_starred` in the repository view, a repository that does not exist,
//! bad bodies, the caller rules and the 100-a-page `next_page` paging.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn star_list_and_unstar() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        let (_, bob_tok) = env.user_with_token("bob").await;
        env.repo("alice", "first", false, Some(alice)).await;
        env.repo("alice", "second", true, Some(alice)).await;
        env.repo("alice", "hidden", false, Some(alice)).await;

        for name in ["first", "second", "first"] {
            let r = env
                .call(
                    "POST",
                    "/api/v1/user/starred",
                    Some(&tok),
                    Some(json!({"namespace": "alice", "repository": name})),
                )
                .await;
            assert_eq!(r.status, 201, "[{backend}] {r:?}");
            assert_eq!(r.json, json!({"namespace": "alice", "repository": name}));
        }
        let r = env.get("/api/v1/user/starred", Some(&tok)).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.json,
            json!({"repositories": [
                {"namespace": "alice", "name": "first", "description": null, "is_public": false},
                {"namespace": "alice", "name": "second", "description": null, "is_public": true}
            ]}),
            "[{backend}] starring twice keeps one star"
        );
        let r = env.get("/api/v1/repository/alice/first", Some(&tok)).await;
        assert_eq!(r.json["is_starred"], true);
        let r = env.get("/api/v1/repository?starred=true", Some(&tok)).await;
        assert_eq!(r.json["repositories"].as_array().map(Vec::len), Some(2));

        // Bob stars the public one; he cannot star (or learn of) alice's private one.
        let r = env
            .call(
                "POST",
                "/api/v1/user/starred",
                Some(&bob_tok),
                Some(json!({"namespace": "alice", "repository": "hidden"})),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json, Value::Null);
        let r = env.get("/api/v1/user/starred", Some(&bob_tok)).await;
        assert_eq!(r.json, json!({"repositories": []}));

        // Unstar; a repository that does not exist answers Quay's empty 200.
        let r = env
            .call(
                "DELETE",
                "/api/v1/user/starred/alice/first",
                Some(&tok),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let r = env.get("/api/v1/user/starred", Some(&tok)).await;
        assert_eq!(r.json["repositories"][0]["name"], "second");
        assert_eq!(r.json["repositories"].as_array().map(Vec::len), Some(1));
        let r = env
            .call(
                "DELETE",
                "/api/v1/user/starred/alice/nothere",
                Some(&tok),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, Value::Null);
        let r = env
            .call(
                "POST",
                "/api/v1/user/starred",
                Some(&tok),
                Some(json!({"namespace": "alice", "repository": "nothere"})),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, Value::Null);

        // Bad bodies and callers.
        let r = env
            .call(
                "POST",
                "/api/v1/user/starred",
                Some(&tok),
                Some(json!({"namespace": "alice"})),
            )
            .await;
        assert_problem(
            &r,
            400,
            "invalid_request",
            "'repository' is a required property",
        );
        let r = env.get("/api/v1/user/starred", None).await;
        assert_eq!(r.status, 401, "{r:?}");
        let r = env
            .call(
                "POST",
                "/api/v1/user/starred",
                None,
                Some(json!({"namespace": "alice", "repository": "second"})),
            )
            .await;
        assert_eq!(r.status, 401, "{r:?}");
        let read_only = env.token(alice, "repo:read").await;
        let r = env.get("/api/v1/user/starred", Some(&read_only)).await;
        assert_eq!(
            r.status, 403,
            "needs the user's own account (user:admin): {r:?}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn the_list_pages_by_100_with_next_page() {
    for backend in backends() {
        let env = env(backend).await;
        let (alice, tok) = env.user_with_token("alice").await;
        let db = env.tdb.db();
        for i in 0..105 {
            let id = env
                .repo("alice", &format!("r{i:03}"), true, Some(alice))
                .await;
            db.star_repository(alice, id, chrono::Utc::now().naive_utc())
                .await
                .expect("star");
        }
        let r = env.get("/api/v1/user/starred", Some(&tok)).await;
        assert_eq!(r.json["repositories"].as_array().map(Vec::len), Some(100));
        let next = r.json["next_page"].as_str().expect("next_page").to_string();
        let r = env
            .get(
                &format!("/api/v1/user/starred?next_page={next}"),
                Some(&tok),
            )
            .await;
        let names: Vec<&str> = r.json["repositories"]
            .as_array()
            .expect("page")
            .iter()
            .filter_map(|v| v["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["r100", "r101", "r102", "r103", "r104"],
            "[{backend}]"
        );
        assert!(r.json.get("next_page").is_none());
        env.cleanup().await;
    }
}
