//! Concurrent writers on one database: transactions that read before they write wait for
//! each other instead of failing. On SQLite a deferred `BEGIN` that has read cannot take the
//! write lock after another connection committed ("database is locked" at once, whatever the
//! busy timeout); the API answered such collisions with 500s.

use quayside_meta::identity::NewOAuthApplication;
use quayside_testkit::{backends, create_namespace, TestDb};

#[tokio::test]
async fn read_then_write_transactions_wait_for_each_other() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let db = t.db().clone();
        let org = create_namespace(&db, "acme").await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..32 {
            let db = db.clone();
            tasks.spawn(async move {
                // Finds no application of that name (a read), then inserts one (a write).
                db.ensure_oauth_application(&NewOAuthApplication {
                    organization_id: org.into(),
                    name: format!("app-{i}"),
                    client_id: format!("client-{i}"),
                    encrypted_client_secret: String::new(),
                    redirect_uri: String::new(),
                    application_uri: String::new(),
                    description: String::new(),
                })
                .await
            });
        }
        let mut ids = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let id = joined
                .expect("task")
                .unwrap_or_else(|e| panic!("[{backend}] a concurrent writer failed: {e}"));
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 32, "[{backend}] one application each");
        t.cleanup().await;
    }
}
