//! Quay's work-queue semantics (`meta::queue`) on both backends: a claim is a lease that
//! spends a retry, an expired lease is claimable again, no retries left means never again,
//! `incomplete` hands the item back for later and `complete` removes it; queues are kept
//! apart by their canonical names.

use chrono::{Duration, Utc};
use quayside_testkit::{backends, TestDb};

#[tokio::test]
async fn claims_are_leases_with_retries() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let db = t.db().clone();
        let now = Utc::now().naive_utc();
        let id = db
            .queue_put("jobs", &["acme"], r#"{"n":1}"#, now, 2)
            .await
            .expect("put");
        db.queue_put("otherjobs", &[], "{}", now, 5)
            .await
            .expect("put other");
        db.queue_put("jobs", &["later"], "{}", now + Duration::hours(1), 5)
            .await
            .expect("put later");

        // First claim: the available item of this queue, one retry spent.
        let item = db
            .queue_claim("jobs", now, 60)
            .await
            .expect("claim")
            .expect("an item");
        assert_eq!(
            (item.id, item.body.as_str(), item.retries_remaining),
            (id, r#"{"n":1}"#, 1),
            "{backend:?}"
        );
        // Leased: nothing else of this queue is available now (the other is for later).
        assert_eq!(
            db.queue_claim("jobs", now, 60).await.expect("claim"),
            None,
            "{backend:?}"
        );
        // The lease expires: claimable again, its last retry.
        let again = db
            .queue_claim("jobs", now + Duration::seconds(61), 60)
            .await
            .expect("claim")
            .expect("expired lease");
        assert_eq!((again.id, again.retries_remaining), (id, 0));
        // No retries left: never handed out again, even after the lease.
        assert_eq!(
            db.queue_claim("jobs", now + Duration::seconds(200), 60)
                .await
                .expect("claim"),
            None,
            "{backend:?}"
        );

        // incomplete → available after the given time; complete → gone.
        let other = db
            .queue_claim("otherjobs", now, 60)
            .await
            .expect("claim")
            .expect("other");
        db.queue_incomplete(other.id, now + Duration::seconds(30))
            .await
            .expect("incomplete");
        assert_eq!(
            db.queue_claim("otherjobs", now, 60).await.expect("claim"),
            None
        );
        let back = db
            .queue_claim("otherjobs", now + Duration::seconds(31), 60)
            .await
            .expect("claim")
            .expect("back");
        assert_eq!(back.id, other.id);
        db.queue_complete(back.id).await.expect("complete");
        assert_eq!(
            db.queue_claim("otherjobs", now + Duration::days(1), 60)
                .await
                .expect("claim"),
            None
        );
        // The item for later is claimable when its time comes.
        assert!(db
            .queue_claim("jobs", now + Duration::hours(2), 60)
            .await
            .expect("claim")
            .is_some());
        t.cleanup().await;
    }
}
