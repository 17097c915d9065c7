//! Pushes and garbage collection at the same time, on both backends: every pushed image
//! reads back intact while GC runs, and once the push links have expired nothing
//! unreferenced remains.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use quayside_domain::{DomainError, Registry, RegistrySettings, RepoRef, TagLookup};
use quayside_oci::{media_types, Digest, ParsedManifest};
use quayside_testkit::backends;
use quayside_testkit::registry::{image_manifest, push_blob, read_blob};
use quayside_workers::gc::{self, GcClock};

const ROUNDS: usize = 12;
/// Push links (uploadedblob) and temp tags live this long.
const LINK_S: u64 = 1;

struct Image {
    tag: String,
    manifest: Vec<u8>,
    blobs: Vec<Vec<u8>>,
}

/// Pushes config + layers and the manifest, re-pushing the blobs when a link expired before
/// the manifest arrived (what a client does on MANIFEST_BLOB_UNKNOWN).
async fn push(
    reg: &Registry,
    repo: &RepoRef,
    tag: &str,
    config: &[u8],
    layers: &[Vec<u8>],
) -> Image {
    let bytes = image_manifest(config, layers, None);
    let parsed = ParsedManifest::parse(&bytes, Some(media_types::OCI_MANIFEST)).expect("parse");
    for attempt in 0..5 {
        push_blob(reg, repo, config).await;
        for l in layers {
            push_blob(reg, repo, l).await;
        }
        match reg.put_manifest(repo, Some(tag), &parsed).await {
            Ok(_) => break,
            Err(DomainError::ManifestBlobUnknown(_)) if attempt < 4 => continue,
            Err(e) => panic!("push {tag}: {e}"),
        }
    }
    let mut blobs = vec![config.to_vec()];
    blobs.extend(layers.iter().cloned());
    Image {
        tag: tag.to_string(),
        manifest: bytes,
        blobs,
    }
}

/// Reads an image back: its manifest by tag and every blob, byte for byte.
async fn check(reg: &Registry, repo: &RepoRef, image: &Image) -> Result<(), String> {
    match reg.manifest_by_tag(repo, &image.tag).await {
        Ok(TagLookup::Found(m)) if m.bytes[..] == image.manifest[..] => {}
        other => return Err(format!("manifest {}: {other:?}", image.tag)),
    }
    for b in &image.blobs {
        let d = Digest::sha256_of(b);
        match read_blob(reg, repo, &d).await {
            Some(data) if data == *b => {}
            Some(_) => return Err(format!("blob {d} of {} has other bytes", image.tag)),
            None => return Err(format!("blob {d} of {} unreadable", image.tag)),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_and_gc_run_concurrently() {
    for backend in backends() {
        let env = Env::with_settings(
            backend,
            RegistrySettings {
                push_temp_tag_expiration_sec: LINK_S,
                ..RegistrySettings::default()
            },
        )
        .await;
        env.set_window(0).await;
        let done = Arc::new(AtomicBool::new(false));
        let passes = Arc::new(AtomicU64::new(0));
        let collected = Arc::new(AtomicU64::new(0));

        let gc_task = {
            let (db, storage) = (env.db().clone(), env.storage.clone());
            let (done, passes, collected) = (done.clone(), passes.clone(), collected.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::SeqCst) {
                    let (_, out) = gc::run_pass(&db, &storage, &GcClock::now(false))
                        .await
                        .expect("gc pass during pushes");
                    passes.fetch_add(1, Ordering::SeqCst);
                    collected.fetch_add(out.report.blobs + out.report.manifests, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };

        let base = content("base", 3000);
        let mut kept: Vec<Image> = Vec::new();
        for i in 0..ROUNDS {
            // S_i is pushed by the junk image of the previous round and again here: GC may be
            // deleting its old row and object while this upload reuses them.
            let shared = content(&format!("S{i}"), 1500 + i);
            let k = push(
                &env.reg,
                &env.repo,
                &format!("k{i}"),
                &content(&format!("cfgK{i}"), 40),
                &[base.clone(), shared, content(&format!("U{i}"), 2000 + i)],
            )
            .await;
            // Read back right away, while GC runs. A blob reused by this push can be moved
            // aside by GC for the few milliseconds of its guarded delete; retry briefly.
            let mut result = check(&env.reg, &env.repo, &k).await;
            for _ in 0..50 {
                if result.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                result = check(&env.reg, &env.repo, &k).await;
            }
            result.unwrap_or_else(|e| panic!("{backend:?}: round {i}: {e}"));
            kept.push(k);

            // Junk: pushed, untagged right away → garbage once its links expire.
            let next_shared = content(&format!("S{}", i + 1), 1500 + i + 1);
            push(
                &env.reg,
                &env.repo,
                &format!("j{i}"),
                &content(&format!("cfgJ{i}"), 30),
                &[
                    base.clone(),
                    next_shared,
                    content(&format!("JU{i}"), 1000 + i),
                ],
            )
            .await;
            assert!(env
                .reg
                .delete_by_tag(&env.repo, &format!("j{i}"))
                .await
                .expect("untag"));
            // Let the links of some rounds expire so GC deletes S_{i+1} before it is reused.
            if i % 2 == 0 {
                tokio::time::sleep(Duration::from_millis(LINK_S * 1000 + 200)).await;
            }
        }
        done.store(true, Ordering::SeqCst);
        gc_task.await.expect("gc task");
        assert!(
            passes.load(Ordering::SeqCst) > 0,
            "{backend:?}: GC ran during the pushes"
        );
        assert!(
            collected.load(Ordering::SeqCst) > 0,
            "{backend:?}: GC collected during the pushes"
        );

        // After the window: the last links expire, then GC runs to completion.
        tokio::time::sleep(Duration::from_millis(LINK_S * 1000 + 300)).await;
        for _ in 0..3 {
            gc::run_pass(env.db(), &env.storage, &GcClock::now(false))
                .await
                .expect("final gc");
        }
        let plan = gc::plan(env.db(), &GcClock::now(false))
            .await
            .expect("plan");
        assert!(
            plan.repositories.is_empty() && plan.blobs.is_empty(),
            "{backend:?}: {plan:?}"
        );

        // Every kept image is intact (no retries now).
        for k in &kept {
            check(&env.reg, &env.repo, k)
                .await
                .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        }
        // Nothing unreferenced remains: exactly the kept images' rows and objects.
        let mut distinct: Vec<Digest> = kept
            .iter()
            .flat_map(|k| k.blobs.iter().map(|b| Digest::sha256_of(b)))
            .collect();
        distinct.sort_by_key(|d| d.to_string());
        distinct.dedup();
        let counts = env.counts().await;
        assert_eq!(counts["manifest"], ROUNDS as i64, "{backend:?}: {counts:?}");
        assert_eq!(counts["tag"], ROUNDS as i64, "{backend:?}: {counts:?}");
        assert_eq!(counts["manifestblob"], (ROUNDS * 4) as i64, "{backend:?}");
        assert_eq!(counts["uploadedblob"], 0, "{backend:?}");
        assert_eq!(
            counts["imagestorage"],
            distinct.len() as i64,
            "{backend:?}: {counts:?}"
        );
        assert_eq!(
            counts["imagestorageplacement"],
            distinct.len() as i64,
            "{backend:?}"
        );
        assert_eq!(
            counts["objects"],
            distinct.len() as i64,
            "{backend:?}: {counts:?}"
        );
        assert_eq!(counts["blobupload"], 0, "{backend:?}");
        assert_eq!(
            count_objects(&env.dir.path().join("uploads")),
            0,
            "{backend:?}: no upload or set-aside objects left"
        );
        env.cleanup().await;
    }
}
