//! Ids beyond Quay's `integer` columns are an error, never a stand-in value: a lookup does
//! not answer "no such row" and a write does not touch anything.

use quayside_meta::MetaError;
use quayside_testkit::{backends, create_namespace, create_repository, TestDb};

#[tokio::test]
async fn out_of_range_ids_are_errors() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let db = t.db().clone();
        let ns = create_namespace(&db, "acme").await;
        create_repository(&db, ns, "app").await;
        for id in [i64::from(i32::MAX) + 1, i64::MAX, i64::from(i32::MIN) - 1] {
            assert!(
                matches!(db.account_by_id(id).await, Err(MetaError::IdOutOfRange(got)) if got == id),
                "{backend:?}: account {id}"
            );
            assert!(
                matches!(db.tag_by_id(id).await, Err(MetaError::IdOutOfRange(got)) if got == id),
                "{backend:?}: tag {id}"
            );
            assert!(
                matches!(
                    db.delete_alive_tag(id, "latest", 0).await,
                    Err(MetaError::IdOutOfRange(got)) if got == id
                ),
                "{backend:?}: delete in repository {id}"
            );
        }
        // In range, a missing row is still "none".
        assert!(db
            .account_by_id(i64::from(i32::MAX))
            .await
            .expect("lookup")
            .is_none());
        t.cleanup().await;
    }
}
