//! Repository state, visibility and kind travel as enums in both directions, and a value
//! Quay does not define is refused with its name, never read as another state.

use quayside_meta::{RepositoryKind, RepositoryState, Visibility};
use quayside_testkit::{backends, create_namespace, create_repository, TestDb};

#[tokio::test]
async fn repository_vocabulary_round_trips_and_refuses_unknown_states() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let db = t.db().clone();
        let ns = create_namespace(&db, "acme").await;
        let id = i64::from(create_repository(&db, ns, "app").await);

        let row = db
            .repository_by_name("acme", "app")
            .await
            .expect("lookup")
            .expect("row");
        assert_eq!(
            (row.state, row.visibility, row.kind),
            (
                RepositoryState::Normal,
                Visibility::Private,
                RepositoryKind::Image
            ),
            "{backend:?}"
        );

        for state in RepositoryState::ALL {
            db.set_repository_state(id, *state).await.expect("state");
            let code: i32 = quayside_meta::with_pool!(&db, pool => {
                sqlx::query_scalar("SELECT state FROM repository WHERE id = $1")
                    .bind(id as i32)
                    .fetch_one(pool)
                    .await
            })
            .expect("raw state");
            assert_eq!(code, state.code(), "{backend:?}: stored code of {state}");
            let row = db.repository_by_name("acme", "app").await.expect("lookup");
            assert_eq!(row.map(|r| r.state), Some(*state), "{backend:?}");
        }
        db.set_repository_visibility(id, Visibility::Public)
            .await
            .expect("visibility");
        let row = db.repository_by_name("acme", "app").await.expect("lookup");
        assert_eq!(row.map(|r| r.visibility), Some(Visibility::Public));

        // A state a newer Quay might write is an error naming it, on every reader.
        quayside_meta::with_pool!(&db, pool => {
            sqlx::query("UPDATE repository SET state = 7 WHERE id = $1")
                .bind(id as i32)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("raw update");
        let err = db
            .repository_by_name("acme", "app")
            .await
            .expect_err("unknown state must not decode");
        assert!(
            err.to_string()
                .contains("repository state 7 is not one Quay defines"),
            "{backend:?}: {err}"
        );
        let err = db
            .registry_repository("acme", "app")
            .await
            .expect_err("unknown state must not decode");
        assert!(err.to_string().contains("repository state 7"), "{err}");
        t.cleanup().await;
    }
}
