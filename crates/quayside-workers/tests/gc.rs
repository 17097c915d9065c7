//! The gc worker on both backends: exact rows and objects removed, the time-machine window,
//! fresh upload links, shared objects, dry run = real run, purges and stale uploads.

mod common;

use common::*;
use quayside_oci::Digest;
use quayside_testkit::registry::{body, push_blob, push_image, push_index, read_blob};
use quayside_testkit::sql::{exec, scalar_i64, Arg};
use quayside_testkit::{backends, create_namespace};
use quayside_workers::gc::{self, GcClock};
use quayside_workers::{purge, run_once, RunOutcome};

fn clock() -> GcClock {
    GcClock::now(false)
}

struct Scene {
    a: Digest,
    b: Digest,
    r: Digest,
    i: Digest,
    c1: Digest,
    c2: Digest,
    /// Blobs only the collected manifests used.
    gone: Vec<Digest>,
    /// Blobs that stay.
    kept: Vec<Digest>,
}

/// A: tag a (cfgA, L1, L2) + label; B: tag b (cfgB, L2, L3) + label, with a referrer R
/// (cfgR, LR) whose subject is B; index I: tag idx of C1 (cfgC1, L4) and C2 (cfgC2, L5)
/// pushed by digest. Then tags a, b and idx are deleted.
async fn scene(env: &Env) -> Scene {
    let (reg, repo) = (&env.reg, &env.repo);
    let d = |v: &Vec<u8>| Digest::sha256_of(v);
    let cfg_a = content("cfgA", 100);
    let l1 = content("L1", 1000);
    let l2 = content("L2", 2000);
    let cfg_b = content("cfgB", 100);
    let l3 = content("L3", 3000);
    let cfg_r = content("cfgR", 50);
    let lr = content("LR", 500);
    let cfg_c1 = content("cfgC1", 60);
    let l4 = content("L4", 4000);
    let cfg_c2 = content("cfgC2", 70);
    let l5 = content("L5", 5000);
    let (a, _) = push_image(
        reg,
        repo,
        Some("a"),
        &cfg_a,
        &[l1.clone(), l2.clone()],
        None,
    )
    .await;
    let (b, b_bytes) = push_image(
        reg,
        repo,
        Some("b"),
        &cfg_b,
        &[l2.clone(), l3.clone()],
        None,
    )
    .await;
    let (r, _) = push_image(
        reg,
        repo,
        None,
        &cfg_r,
        std::slice::from_ref(&lr),
        Some((&b, b_bytes.len())),
    )
    .await;
    let (c1, c1_bytes) =
        push_image(reg, repo, None, &cfg_c1, std::slice::from_ref(&l4), None).await;
    let (c2, c2_bytes) =
        push_image(reg, repo, None, &cfg_c2, std::slice::from_ref(&l5), None).await;
    let i = push_index(
        reg,
        repo,
        "idx",
        &[(c1.clone(), c1_bytes.len()), (c2.clone(), c2_bytes.len())],
    )
    .await;
    add_label(env.db(), repo.id, &a, "a-label").await;
    add_label(env.db(), repo.id, &b, "b-label").await;
    for t in ["a", "b", "idx"] {
        assert!(reg.delete_by_tag(repo, t).await.expect("delete tag"));
    }
    Scene {
        a,
        b,
        r,
        i,
        c1,
        c2,
        gone: vec![d(&cfg_a), d(&l1), d(&cfg_c1), d(&l4), d(&cfg_c2), d(&l5)],
        kept: vec![d(&l2), d(&cfg_b), d(&l3), d(&cfg_r), d(&lr)],
    }
}

async fn manifest_exists(env: &Env, digest: &Digest) -> bool {
    env.db()
        .manifest_row(i32::try_from(env.repo.id).expect("id"), &digest.to_string())
        .await
        .expect("manifest row")
        .is_some()
}

#[tokio::test]
async fn gc_removes_exactly_the_unreferenced_rows_and_objects() {
    for backend in backends() {
        let env = Env::new(backend).await;
        let s = scene(&env).await;
        let before = env.counts().await;
        assert_eq!(before["manifest"], 6, "{backend:?}: {before:?}");
        assert_eq!(
            before["tag"], 6,
            "{backend:?}: a, b, idx, R's hidden tag, C1/C2 temp tags"
        );
        assert_eq!(before["manifestblob"], 12, "{backend:?}");
        assert_eq!(before["manifestchild"], 2, "{backend:?}");
        assert_eq!(before["manifestlabel"], 2, "{backend:?}");
        assert_eq!(before["label"], 2, "{backend:?}");
        assert_eq!(before["imagestorage"], 11, "{backend:?}");
        assert_eq!(before["imagestorageplacement"], 11, "{backend:?}");
        assert_eq!(
            before["uploadedblob"], 12,
            "{backend:?}: L2 was pushed twice"
        );
        assert_eq!(before["objects"], 11, "{backend:?}");

        // Window 0 and every push link / temporary tag in the past.
        env.set_window(0).await;
        env.expire_links().await;

        let dry = gc::plan(env.db(), &clock()).await.expect("plan");
        let dry_report = dry.report(&env.storage);
        assert_eq!(
            env.counts().await,
            before,
            "{backend:?}: a dry run deletes nothing"
        );

        let (_, outcome) = gc::run_pass(env.db(), &env.storage, &clock())
            .await
            .expect("gc pass");
        assert_eq!(
            outcome.report, dry_report,
            "{backend:?}: dry run = real run"
        );
        assert_eq!(dry_report.tags, 5, "{backend:?}");
        assert_eq!(dry_report.manifests, 4, "{backend:?}");
        assert_eq!(dry_report.labels, 1, "{backend:?}");
        assert_eq!(dry_report.uploaded_blobs, 12, "{backend:?}");
        assert_eq!(dry_report.blobs, 6, "{backend:?}");
        assert_eq!(dry_report.objects, 6, "{backend:?}");
        // cfgA 104 + L1 1002 + cfgC1 65 + L4 4002 + cfgC2 75 + L5 5002
        let freed: u64 = 104 + 1002 + 65 + 4002 + 75 + 5002;
        assert_eq!(dry_report.bytes, freed, "{backend:?}");
        assert_eq!(outcome.rows.get("Manifest"), Some(&4), "{backend:?}");
        assert_eq!(outcome.rows.get("ManifestBlob"), Some(&7), "{backend:?}");

        let after = env.counts().await;
        assert_eq!(after["tag"], 1, "{backend:?}: only R's hidden tag");
        assert_eq!(after["manifest"], 2, "{backend:?}: B (subject) and R");
        assert_eq!(after["manifestblob"], 5, "{backend:?}");
        assert_eq!(after["manifestchild"], 0, "{backend:?}");
        assert_eq!(after["manifestlabel"], 1, "{backend:?}");
        assert_eq!(after["label"], 1, "{backend:?}");
        assert_eq!(after["imagestorage"], 5, "{backend:?}");
        assert_eq!(after["imagestorageplacement"], 5, "{backend:?}");
        assert_eq!(after["uploadedblob"], 0, "{backend:?}");
        assert_eq!(after["objects"], 5, "{backend:?}");
        for m in [&s.a, &s.i, &s.c1, &s.c2] {
            assert!(
                !manifest_exists(&env, m).await,
                "{backend:?}: {m} collected"
            );
        }
        for m in [&s.b, &s.r] {
            assert!(manifest_exists(&env, m).await, "{backend:?}: {m} kept");
        }
        for d in &s.gone {
            assert!(!env.object_exists(d), "{backend:?}: object {d} deleted");
        }
        for d in &s.kept {
            assert!(env.object_exists(d), "{backend:?}: object {d} kept");
        }
        // Nothing is left to collect: a second pass finds nothing.
        let again = gc::plan(env.db(), &clock()).await.expect("plan");
        assert!(
            again.repositories.is_empty() && again.blobs.is_empty(),
            "{backend:?}: {again:?}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn tags_inside_the_window_and_fresh_links_are_kept() {
    for backend in backends() {
        let env = Env::new(backend).await;
        let s = scene(&env).await;
        let before = env.counts().await;
        // Default window (2 weeks): the deleted tags can still be restored; the upload links
        // and temp tags are fresh.
        let plan = gc::plan(env.db(), &clock()).await.expect("plan");
        assert!(
            plan.repositories.is_empty() && plan.blobs.is_empty(),
            "{backend:?}: {plan:?}"
        );
        let (_, outcome) = gc::run_pass(env.db(), &env.storage, &clock())
            .await
            .expect("gc");
        assert_eq!(outcome.report, gc::GcReport::default(), "{backend:?}");
        assert_eq!(env.counts().await, before, "{backend:?}");
        assert!(manifest_exists(&env, &s.a).await);

        // Window 0 but fresh upload links and temp tags: tags and manifests go, every blob
        // stays (linked by its fresh uploadedblob row).
        env.set_window(0).await;
        let (_, outcome) = gc::run_pass(env.db(), &env.storage, &clock())
            .await
            .expect("gc");
        assert_eq!(outcome.report.tags, 3, "{backend:?}: a, b, idx");
        assert_eq!(
            outcome.report.manifests, 2,
            "{backend:?}: A and I (children keep temp tags)"
        );
        assert_eq!(outcome.report.blobs, 0, "{backend:?}");
        let after = env.counts().await;
        assert_eq!(after["imagestorage"], 11, "{backend:?}");
        assert_eq!(after["objects"], 11, "{backend:?}");
        assert_eq!(after["uploadedblob"], 12, "{backend:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_blob_with_a_fresh_upload_link_or_an_upload_in_progress_survives() {
    for backend in backends() {
        let env = Env::new(backend).await;
        env.set_window(0).await;
        let data = content("lonely", 777);
        let blob = push_blob(&env.reg, &env.repo, &data).await;
        // An upload in progress (not committed yet).
        let session = env.reg.start_upload(&env.repo).await.expect("start");
        env.reg
            .append(
                &env.repo,
                &session.uuid,
                Some(0),
                body(vec![content("partial", 10)]),
            )
            .await
            .expect("append");
        let (_, outcome) = gc::run_pass(env.db(), &env.storage, &clock())
            .await
            .expect("gc");
        assert_eq!(outcome.report.blobs, 0, "{backend:?}");
        assert_eq!(
            read_blob(&env.reg, &env.repo, &blob.digest)
                .await
                .as_deref(),
            Some(&data[..]),
            "{backend:?}"
        );
        assert_eq!(env.db().count_rows("blobupload").await.expect("count"), 1);
        assert!(env
            .reg
            .upload(&env.repo, &session.uuid)
            .await
            .expect("upload")
            .is_some());

        // Once the link expires the blob goes (row, placement, object); the upload stays.
        env.expire_links().await;
        let plan = gc::plan(env.db(), &clock()).await.expect("plan");
        let (_, outcome) = gc::run_pass(env.db(), &env.storage, &clock())
            .await
            .expect("gc");
        assert_eq!(outcome.report, plan.report(&env.storage), "{backend:?}");
        assert_eq!(outcome.report.blobs, 1, "{backend:?}");
        assert_eq!(outcome.report.bytes, data.len() as u64, "{backend:?}");
        assert!(!env.object_exists(&blob.digest));
        let after = env.counts().await;
        assert_eq!(after["imagestorage"], 0, "{backend:?}");
        assert_eq!(after["blobupload"], 1, "{backend:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_shared_object_keeps_its_object() {
    for backend in backends() {
        let env = Env::new(backend).await;
        env.set_window(0).await;
        let data = content("shared", 900);
        let blob = push_blob(&env.reg, &env.repo, &data).await;
        // A second imagestorage row with the same checksum (as Quay may hold), linked by a
        // fresh upload link in another repository.
        let other = env.other_repo("other").await;
        let dup: i32 = quayside_meta::with_pool!(env.db(), pool => {
            sqlx::query_scalar(
                "INSERT INTO imagestorage (uuid, image_size, uncompressed_size, uploading, cas_path, content_checksum) \
                 VALUES ($1, $2, NULL, $3, $4, $5) RETURNING id",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(data.len() as i64)
            .bind(false)
            .bind(true)
            .bind(blob.digest.to_string())
            .fetch_one(pool)
            .await
        })
        .expect("dup row");
        exec(env.db(), "INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, (SELECT id FROM imagestoragelocation WHERE name = 'local_us'))", &[Arg::I(i64::from(dup))])
        .await;
        env.expire_links().await;
        let far = chrono::Utc::now().naive_utc() + chrono::Duration::hours(1);
        quayside_meta::with_pool!(env.db(), pool => {
            sqlx::query("INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) VALUES ($1, $2, $3, $3)")
                .bind(i32::try_from(other.id).expect("id"))
                .bind(dup)
                .bind(far)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("link");
        let plan = gc::plan(env.db(), &clock()).await.expect("plan");
        assert_eq!(plan.blobs.len(), 1, "{backend:?}");
        assert!(!plan.blobs[0].remove_object, "{backend:?}");
        let (_, outcome) = gc::run_pass(env.db(), &env.storage, &clock())
            .await
            .expect("gc");
        assert_eq!(outcome.report, plan.report(&env.storage), "{backend:?}");
        assert_eq!(outcome.report.blobs, 1, "{backend:?}");
        assert_eq!(outcome.report.objects, 0, "{backend:?}");
        assert!(
            env.object_exists(&blob.digest),
            "{backend:?}: shared object kept"
        );
        assert_eq!(env.db().count_rows("imagestorage").await.expect("count"), 1);
        assert_eq!(
            read_blob(&env.reg, &other, &blob.digest).await.as_deref(),
            Some(&data[..]),
            "{backend:?}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn the_worker_runs_idles_in_read_only_mode_and_takes_the_lease() {
    for backend in backends() {
        let env = Env::new(backend).await;
        scene(&env).await;
        env.set_window(0).await;
        env.expire_links().await;
        let ctx = env.context();
        // Another instance holds the lease: this run skips.
        let far = chrono::Utc::now().timestamp_millis() + 60_000;
        assert!(env
            .db()
            .worker_lock_acquire("gcworker", "someone-else", 0, far)
            .await
            .expect("lock"));
        assert_eq!(
            run_once(&ctx, &gc::GcWorker).await.expect("run"),
            RunOutcome::Locked
        );
        assert_eq!(env.db().count_rows("manifest").await.expect("count"), 6);
        env.db()
            .worker_lock_release("gcworker", "someone-else")
            .await
            .expect("release");
        // Read-only: idle.
        let ro =
            quayside_config::Config::from_yaml_str("REGISTRY_STATE: readonly\n").expect("config");
        ctx.live.apply(&ro);
        assert_eq!(
            run_once(&ctx, &gc::GcWorker).await.expect("run"),
            RunOutcome::Idle
        );
        assert_eq!(env.db().count_rows("manifest").await.expect("count"), 6);
        let normal =
            quayside_config::Config::from_yaml_str("REGISTRY_STATE: normal\n").expect("config");
        ctx.live.apply(&normal);
        assert_eq!(
            run_once(&ctx, &gc::GcWorker).await.expect("run"),
            RunOutcome::Ok
        );
        assert_eq!(env.db().count_rows("manifest").await.expect("count"), 2);
        let metrics = ctx.metrics.render();
        assert!(metrics.contains("quay_gc_iterations_total 1"), "{metrics}");
        assert!(
            metrics.contains("quay_gc_table_rows_deleted_total{table=\"Manifest\"} 4"),
            "{metrics}"
        );
        assert!(
            metrics.contains("quay_gc_storage_blobs_deleted_total 6"),
            "{metrics}"
        );
        assert!(
            metrics
                .contains("quayside_worker_runs_total{worker=\"gcworker\",outcome=\"locked\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("quayside_worker_runs_total{worker=\"gcworker\",outcome=\"idle\"} 1"),
            "{metrics}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn repository_and_namespace_deletion_purge_everything() {
    for backend in backends() {
        let env = Env::new(backend).await;
        scene(&env).await;
        // A second repository sharing L2's content keeps that object.
        let other = env.other_repo("other").await;
        let l2 = content("L2", 2000);
        push_image(
            &env.reg,
            &other,
            Some("keep"),
            &content("cfgO", 10),
            std::slice::from_ref(&l2),
            None,
        )
        .await;
        let marker = env
            .db()
            .mark_repository_for_deletion(env.repo.id, "repositorygc")
            .await
            .expect("mark")
            .expect("marker");
        let (qname, body): (String, String) = quayside_meta::with_pool!(env.db(), pool => {
            sqlx::query_as("SELECT queue_name, body FROM queueitem").fetch_one(pool).await
        })
        .expect("queue item");
        assert_eq!(qname, format!("repositorygc/devtable/{}/", env.repo.id));
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"marker_id": marker, "original_name": "simple"})
        );
        assert!(env
            .reg
            .lookup_repo("devtable", "simple")
            .await
            .expect("lookup")
            .is_none());

        let ctx = env.context();
        assert_eq!(
            run_once(&ctx, &purge::RepositoryGcWorker)
                .await
                .expect("run"),
            RunOutcome::Ok
        );
        let rid = env.repo.id;
        assert_eq!(
            scalar_i64(
                env.db(),
                &format!("SELECT COUNT(*) FROM repository WHERE id = {rid}"),
                &[]
            )
            .await,
            0
        );
        let after = env.counts().await;
        // Only the other repository's image is left: cfgO + L2.
        assert_eq!(after["manifest"], 1, "{backend:?}: {after:?}");
        assert_eq!(after["tag"], 1, "{backend:?}");
        assert_eq!(after["label"], 0, "{backend:?}");
        assert_eq!(after["imagestorage"], 2, "{backend:?}");
        assert_eq!(after["objects"], 2, "{backend:?}");
        assert_eq!(env.db().count_rows("queueitem").await.expect("count"), 0);
        assert_eq!(
            env.db()
                .count_rows("deletedrepository")
                .await
                .expect("count"),
            0
        );
        assert_eq!(
            read_blob(&env.reg, &other, &Digest::sha256_of(&l2))
                .await
                .as_deref(),
            Some(&l2[..])
        );

        // The namespace: marked, then purged by the namespacegc worker.
        let ns_marker = env
            .db()
            .mark_namespace_for_deletion(i64::from(env.namespace_id), "namespacegc")
            .await
            .expect("mark ns")
            .expect("marker");
        let (qname, body): (String, String) = quayside_meta::with_pool!(env.db(), pool => {
            sqlx::query_as("SELECT queue_name, body FROM queueitem").fetch_one(pool).await
        })
        .expect("queue item");
        assert_eq!(qname, format!("namespacegc/{}/", env.namespace_id));
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"marker_id": ns_marker, "original_username": "devtable"})
        );
        assert_eq!(
            run_once(&ctx, &purge::NamespaceGcWorker)
                .await
                .expect("run"),
            RunOutcome::Ok
        );
        let nid = env.namespace_id;
        assert_eq!(
            scalar_i64(
                env.db(),
                &format!("SELECT COUNT(*) FROM \"user\" WHERE id = {nid}"),
                &[]
            )
            .await,
            0
        );
        let after = env.counts().await;
        for t in TABLES {
            assert_eq!(
                after[t], 0,
                "{backend:?}: {t} empty after the namespace purge"
            );
        }
        assert_eq!(after["objects"], 0, "{backend:?}");
        assert_eq!(env.db().count_rows("repository").await.expect("count"), 0);
        assert_eq!(
            env.db()
                .count_rows("deletednamespace")
                .await
                .expect("count"),
            0
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn stale_uploads_are_cleaned_with_their_objects() {
    for backend in backends() {
        let env = Env::new(backend).await;
        let old = env.reg.start_upload(&env.repo).await.expect("start");
        env.reg
            .append(
                &env.repo,
                &old.uuid,
                Some(0),
                body(vec![content("old", 10)]),
            )
            .await
            .expect("append");
        let fresh = env.reg.start_upload(&env.repo).await.expect("start");
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::days(3);
        quayside_meta::with_pool!(env.db(), pool => {
            sqlx::query("UPDATE blobupload SET created = $1 WHERE uuid = $2")
                .bind(past)
                .bind(&old.uuid)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("age upload");
        let ctx = env.context();
        assert_eq!(
            run_once(&ctx, &purge::BlobUploadCleanupWorker)
                .await
                .expect("run"),
            RunOutcome::Ok
        );
        assert_eq!(env.db().count_rows("blobupload").await.expect("count"), 1);
        assert!(env
            .reg
            .upload(&env.repo, &old.uuid)
            .await
            .expect("upload")
            .is_none());
        assert!(env
            .reg
            .upload(&env.repo, &fresh.uuid)
            .await
            .expect("upload")
            .is_some());
        assert!(!env.dir.path().join("uploads").join(&old.uuid).exists());
        assert!(env.dir.path().join("uploads").join(&fresh.uuid).exists());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn purge_helpers_leave_nothing_of_a_repository() {
    for backend in backends() {
        let env = Env::new(backend).await;
        scene(&env).await;
        let ctx = env.context();
        assert!(
            purge::purge_repository(env.db(), &env.storage, &ctx.metrics, env.repo.id)
                .await
                .expect("purge")
        );
        let after = env.counts().await;
        for t in TABLES {
            assert_eq!(after[t], 0, "{backend:?}: {t}");
        }
        assert_eq!(after["objects"], 0, "{backend:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn solely_admined_organizations_are_listed() {
    for backend in backends() {
        let env = Env::new(backend).await;
        // `devtable` is a user here; an organization with devtable alone in its owners team.
        let org = create_namespace(env.db(), "buynlarge").await;
        quayside_meta::with_pool!(env.db(), pool => {
            sqlx::query("UPDATE \"user\" SET organization = $1 WHERE id = $2")
                .bind(true)
                .bind(org)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("make org");
        exec(env.db(), "INSERT INTO team (name, organization_id, role_id, description) VALUES ('owners', $1, (SELECT id FROM teamrole WHERE name = 'admin'), '')", &[Arg::I(i64::from(org))])
        .await;
        exec(env.db(), "INSERT INTO teammember (user_id, team_id) VALUES ($1, (SELECT id FROM team WHERE organization_id = $2))", &[Arg::I(i64::from(env.namespace_id)), Arg::I(i64::from(org))])
        .await;
        let orgs = env
            .db()
            .solely_admined_organizations(i64::from(env.namespace_id))
            .await
            .expect("orgs");
        assert_eq!(orgs, vec!["buynlarge".to_string()], "{backend:?}");
        let second = create_namespace(env.db(), "second").await;
        exec(env.db(), "INSERT INTO teammember (user_id, team_id) VALUES ($1, (SELECT id FROM team WHERE organization_id = $2))", &[Arg::I(i64::from(second)), Arg::I(i64::from(org))])
        .await;
        let orgs = env
            .db()
            .solely_admined_organizations(i64::from(env.namespace_id))
            .await
            .expect("orgs");
        assert!(orgs.is_empty(), "{backend:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn an_upload_of_the_same_content_in_flight_keeps_the_object() {
    for backend in backends() {
        let env = Env::new(backend).await;
        env.set_window(0).await;
        let data = content("racy", 1234);
        let digest = Digest::sha256_of(&data);
        push_blob(&env.reg, &env.repo, &data).await;
        env.expire_links().await;
        let plan = gc::plan(env.db(), &clock()).await.expect("plan");
        assert_eq!(plan.blobs.len(), 1, "{backend:?}");
        assert!(plan.blobs[0].remove_object, "{backend:?}");
        // A client re-pushes the same content: all bytes are in, the digest not yet checked.
        // Its commit will find the object in place and keep only the metadata.
        let session = env.reg.start_upload(&env.repo).await.expect("start");
        env.reg
            .append(&env.repo, &session.uuid, Some(0), body(vec![data.clone()]))
            .await
            .expect("append");
        let outcome = gc::execute(env.db(), &env.storage, &plan, &clock())
            .await
            .expect("execute");
        assert_eq!(
            outcome.report.blobs, 0,
            "{backend:?}: guarded, nothing deleted"
        );
        assert_eq!(outcome.report.objects, 0, "{backend:?}");
        assert!(env.object_exists(&digest), "{backend:?}: object put back");
        assert_eq!(
            count_objects(&env.dir.path().join("uploads")),
            1,
            "{backend:?}: only the upload"
        );
        env.reg
            .complete(
                &env.repo,
                &session.uuid,
                &digest,
                None::<quayside_domain::NoBody>,
            )
            .await
            .expect("complete");
        assert_eq!(
            read_blob(&env.reg, &env.repo, &digest).await.as_deref(),
            Some(&data[..]),
            "{backend:?}"
        );
        env.cleanup().await;
    }
}
