//! `/health/endtoend` probes every storage location, as Quay's does: a failing location
//! that is not preferred is only a warning (the site keeps serving from its own storage);
//! a failing preferred one makes the instance unhealthy (503) so a load balancer drains
//! the site — on SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{app_with_storage, send};
use quayside_testkit::backends;

/// A location whose directory became a file: nothing can be written under it (which holds
/// for root too, unlike permissions).
fn break_location(dir: &std::path::Path) {
    std::fs::remove_dir_all(dir).expect("remove dir");
    std::fs::write(dir, b"not a directory").expect("file in its place");
}

#[tokio::test]
async fn every_location_is_probed_and_only_preferred_ones_decide() {
    for backend in backends() {
        let app = app_with_storage(
            backend,
            |dir| {
                for id in ["us", "eu"] {
                    std::fs::create_dir_all(dir.join(id)).expect("dir");
                }
                format!(
                    "DISTRIBUTED_STORAGE_CONFIG:\n  us:\n    - LocalStorage\n    - storage_path: {}\n  \
                     eu:\n    - LocalStorage\n    - storage_path: {}\n\
                     DISTRIBUTED_STORAGE_PREFERENCE: [us]\n",
                    dir.join("us").display(),
                    dir.join("eu").display()
                )
            },
            "",
        )
        .await;
        let endtoend = || async {
            let req = Request::get("/health/endtoend")
                .body(Body::empty())
                .expect("req");
            send(&app, req).await
        };
        let r = endtoend().await;
        assert_eq!(r.status, 200, "{backend}: {}", r.json);
        assert_eq!(r.json["data"]["services"]["storage"], true, "{}", r.json);
        let eu = app.state.storage.engine("eu").expect("eu").clone();
        assert!(
            eu.exists("_verify").await.expect("probe"),
            "{backend}: eu was probed too"
        );

        // The other site's location fails: still healthy here.
        let root = app.state.settings.work_dir.clone();
        break_location(&root.join("eu"));
        let r = endtoend().await;
        assert_eq!(r.status, 200, "{backend}: {}", r.json);
        assert_eq!(r.json["data"]["services"]["storage"], true, "{}", r.json);

        // This site's preferred location fails: unhealthy.
        break_location(&root.join("us"));
        let r = endtoend().await;
        assert_eq!(r.status, 503, "{backend}: {}", r.json);
        assert_eq!(r.json["data"]["services"]["storage"], false, "{}", r.json);
        assert_eq!(r.json["status_code"], 503);
        app.tdb.cleanup().await;
    }
}
