//! Blob uploads, on SQLite and PostgreSQL, against LocalStorage.

mod common;

use bytes::Bytes;
use common::Env;
use futures::TryStreamExt;
use quayside_domain::{DomainError, NoBody, Registry, RegistrySettings};
use quayside_oci::Digest;
use quayside_testkit::backends;
use quayside_testkit::registry::{body, push_blob_in_chunks};
use quayside_testkit::sql::{exec, scalar_i64, Arg};
use quayside_testkit::storage::{self, LOCATION};

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn read_all(
    reg: &Registry,
    blob: &quayside_domain::BlobInfo,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let s = reg.open_blob(blob, range).await.expect("open blob");
    let chunks: Vec<Bytes> = s.try_collect().await.expect("read blob");
    chunks.concat()
}

#[tokio::test]
async fn chunked_upload_becomes_visible() {
    for b in backends() {
        let env = Env::new(b).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let content = data(300_000, 7);
        let digest = Digest::sha256_of(&content);
        assert!(reg.blob(repo, &digest).await.expect("lookup").is_none());

        let s = reg.start_upload(repo).await.expect("start");
        assert_eq!(s.offset, 0);
        assert!(
            env.root().join("uploads").join(&s.uuid).exists(),
            "{b}: empty upload object"
        );
        let s1 = reg
            .append(
                repo,
                &s.uuid,
                Some(0),
                body(vec![
                    content[..1000].to_vec(),
                    content[1000..100_000].to_vec(),
                ]),
            )
            .await
            .expect("chunk 1");
        assert_eq!(s1.offset, 100_000);
        let s2 = reg
            .append(
                repo,
                &s.uuid,
                None,
                body(vec![content[100_000..250_000].to_vec()]),
            )
            .await
            .expect("chunk 2");
        assert_eq!(s2.offset, 250_000);
        assert_eq!(
            reg.upload(repo, &s.uuid)
                .await
                .expect("status")
                .map(|u| u.offset),
            Some(250_000)
        );
        // Not visible before commit.
        assert!(reg.blob(repo, &digest).await.expect("lookup").is_none());

        let blob = reg
            .complete(
                repo,
                &s.uuid,
                &digest,
                Some(body(vec![content[250_000..].to_vec()])),
            )
            .await
            .expect("complete");
        assert_eq!(blob.digest, digest);
        assert_eq!(blob.size, 300_000);
        assert!(blob.cas_path);
        assert_eq!(blob.locations, vec![LOCATION.to_string()]);

        let seen = reg
            .blob(repo, &digest)
            .await
            .expect("lookup")
            .expect("visible");
        assert_eq!(seen, blob);
        assert_eq!(read_all(reg, &seen, None).await, content);
        assert_eq!(
            read_all(reg, &seen, Some(10..20)).await,
            content[10..20].to_vec()
        );
        let hex = digest.hex();
        assert!(
            env.root().join("sha256").join(&hex[..2]).join(hex).exists(),
            "{b}: CAS object"
        );
        assert!(
            !env.root().join("uploads").join(&s.uuid).exists(),
            "{b}: upload object moved"
        );
        assert!(
            reg.upload(repo, &s.uuid).await.expect("status").is_none(),
            "{b}: blobupload row deleted"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn digest_mismatch_leaves_nothing_visible() {
    for b in backends() {
        let env = Env::new(b).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let content = data(5000, 1);
        let actual = Digest::sha256_of(&content);
        let claimed = Digest::sha256_of(b"something else");
        let s = reg.start_upload(repo).await.expect("start");
        reg.append(repo, &s.uuid, Some(0), body(vec![content.clone()]))
            .await
            .expect("append");
        let err = reg
            .complete(repo, &s.uuid, &claimed, None::<NoBody>)
            .await
            .expect_err("mismatch");
        match err {
            DomainError::DigestMismatch {
                expected,
                actual: a,
            } => {
                assert_eq!(expected, claimed.to_string());
                assert_eq!(a, actual.to_string());
            }
            other => panic!("{b}: expected DigestMismatch, got {other:?}"),
        }
        assert!(reg.blob(repo, &actual).await.expect("lookup").is_none());
        assert!(reg.blob(repo, &claimed).await.expect("lookup").is_none());
        // Quay discards the upload on a failed commit.
        assert!(reg.upload(repo, &s.uuid).await.expect("status").is_none());
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM imagestorage WHERE id > $1",
                &[Arg::I(0)]
            )
            .await,
            0
        );
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM uploadedblob WHERE id > $1",
                &[Arg::I(0)]
            )
            .await,
            0
        );
        assert!(
            !env.root().join("sha256").exists(),
            "{b}: nothing under sha256/"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn out_of_order_chunk_is_a_range_mismatch() {
    for b in backends() {
        let env = Env::new(b).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let content = data(2000, 3);
        let s = reg.start_upload(repo).await.expect("start");
        reg.append(repo, &s.uuid, Some(0), body(vec![content[..1000].to_vec()]))
            .await
            .expect("first");
        let err = reg
            .append(
                repo,
                &s.uuid,
                Some(1500),
                body(vec![content[1500..].to_vec()]),
            )
            .await
            .expect_err("gap");
        assert!(
            matches!(err, DomainError::RangeMismatch { offset: 1000 }),
            "{b}: {err:?}"
        );
        let err = reg
            .append(repo, &s.uuid, Some(0), body(vec![content[..1000].to_vec()]))
            .await
            .expect_err("rewind");
        assert!(
            matches!(err, DomainError::RangeMismatch { offset: 1000 }),
            "{b}: {err:?}"
        );
        // The upload is still usable.
        reg.append(
            repo,
            &s.uuid,
            Some(1000),
            body(vec![content[1000..].to_vec()]),
        )
        .await
        .expect("in order");
        let blob = reg
            .complete(repo, &s.uuid, &Digest::sha256_of(&content), None::<NoBody>)
            .await
            .expect("complete");
        assert_eq!(read_all(reg, &blob, None).await, content);
        assert!(matches!(
            reg.append(repo, "not-a-uuid", None, body(vec![vec![1]]))
                .await,
            Err(DomainError::UploadUnknown)
        ));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn upload_resumes_after_restart_and_after_a_broken_chunk() {
    for b in backends() {
        let env = Env::new(b).await;
        let repo = env.repo.clone();
        let content = data(200_000, 9);
        let digest = Digest::sha256_of(&content);
        let first = Registry::new(
            env.db().clone(),
            storage::local(&env.root()),
            RegistrySettings::default(),
        );
        let s = first.start_upload(&repo).await.expect("start");
        first
            .append(
                &repo,
                &s.uuid,
                Some(0),
                body(vec![content[..80_000].to_vec()]),
            )
            .await
            .expect("chunk 1");
        drop(first);

        // A new process: no in-memory hash state.
        let second = Registry::new(
            env.db().clone(),
            storage::local(&env.root()),
            RegistrySettings::default(),
        );
        assert_eq!(
            second
                .upload(&repo, &s.uuid)
                .await
                .expect("status")
                .map(|u| u.offset),
            Some(80_000)
        );
        // A client that goes away mid-chunk: some bytes reach storage, then the body fails.
        let broken = futures::stream::iter(vec![
            Ok(Bytes::from(content[80_000..90_000].to_vec())),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            )),
        ]);
        let err = second
            .append(&repo, &s.uuid, Some(80_000), broken)
            .await
            .expect_err("broken body");
        assert!(matches!(err, DomainError::Body(_)), "{b}: {err:?}");
        assert_eq!(
            second
                .upload(&repo, &s.uuid)
                .await
                .expect("status")
                .map(|u| u.offset),
            Some(80_000)
        );
        assert!(second.blob(&repo, &digest).await.expect("lookup").is_none());
        drop(second);

        let third = Registry::new(
            env.db().clone(),
            storage::local(&env.root()),
            RegistrySettings::default(),
        );
        third
            .append(
                &repo,
                &s.uuid,
                Some(80_000),
                body(vec![content[80_000..150_000].to_vec()]),
            )
            .await
            .expect("resume");
        let blob = third
            .complete(
                &repo,
                &s.uuid,
                &digest,
                Some(body(vec![content[150_000..].to_vec()])),
            )
            .await
            .expect("complete");
        assert_eq!(read_all(&third, &blob, None).await, content);
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM blobupload WHERE id > $1",
                &[Arg::I(0)]
            )
            .await,
            0
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn max_layer_size_is_enforced() {
    for b in backends() {
        let settings = RegistrySettings {
            max_layer_size: Some(1000),
            ..RegistrySettings::default()
        };
        let env = Env::with_settings(b, settings).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let s = reg.start_upload(repo).await.expect("start");
        reg.append(repo, &s.uuid, Some(0), body(vec![vec![1; 600]]))
            .await
            .expect("fits");
        let err = reg
            .append(repo, &s.uuid, Some(600), body(vec![vec![2; 600]]))
            .await
            .expect_err("too big");
        assert!(
            matches!(err, DomainError::SizeTooLarge { limit: 1000 }),
            "{b}: {err:?}"
        );
        assert_eq!(
            reg.upload(repo, &s.uuid)
                .await
                .expect("status")
                .map(|u| u.offset),
            Some(600)
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn cancel_removes_the_upload() {
    for b in backends() {
        let env = Env::new(b).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let s = reg.start_upload(repo).await.expect("start");
        reg.append(repo, &s.uuid, None, body(vec![vec![5; 100]]))
            .await
            .expect("append");
        assert!(reg.cancel(repo, &s.uuid).await.expect("cancel"));
        assert!(reg.upload(repo, &s.uuid).await.expect("status").is_none());
        assert!(
            !env.root().join("uploads").join(&s.uuid).exists(),
            "{b}: object deleted"
        );
        assert!(!reg.cancel(repo, &s.uuid).await.expect("cancel again"));
        assert!(matches!(
            reg.append(repo, &s.uuid, None, body(vec![vec![1]])).await,
            Err(DomainError::UploadUnknown)
        ));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn mount_links_a_blob_into_another_repository() {
    for b in backends() {
        let env = Env::new(b).await;
        let reg = &env.reg;
        let other = env.other_repo("other").await;
        let content = data(4096, 11);
        let blob = push_blob_in_chunks(reg, &env.repo, &content).await;
        assert!(reg
            .blob(&other, &blob.digest)
            .await
            .expect("lookup")
            .is_none());
        let mounted = reg
            .mount(&other, &env.repo, &blob.digest)
            .await
            .expect("mount")
            .expect("mounted");
        assert_eq!(mounted.storage_id, blob.storage_id);
        let seen = reg
            .blob(&other, &blob.digest)
            .await
            .expect("lookup")
            .expect("visible in target");
        assert_eq!(read_all(reg, &seen, None).await, content);
        let unknown = Digest::sha256_of(b"never pushed");
        assert!(reg
            .mount(&other, &env.repo, &unknown)
            .await
            .expect("mount")
            .is_none());
        // Blob from a third repo that does not hold it: nothing.
        let third = env.other_repo("third").await;
        assert!(reg
            .mount(&env.repo, &third, &blob.digest)
            .await
            .expect("mount")
            .is_none());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_uploads_of_the_same_blob_both_succeed() {
    for b in backends() {
        let env = Env::new(b).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let content = data(150_000, 13);
        let (a, c) = tokio::join!(
            push_blob_in_chunks(reg, repo, &content),
            push_blob_in_chunks(reg, repo, &content)
        );
        assert_eq!(a.digest, c.digest);
        let seen = reg
            .blob(repo, &a.digest)
            .await
            .expect("lookup")
            .expect("visible");
        assert_eq!(read_all(reg, &seen, None).await, content);
        let rows = scalar_i64(
            env.db(),
            "SELECT COUNT(*) FROM imagestorage WHERE image_size = $1",
            &[Arg::I(150_000)],
        )
        .await;
        assert!((1..=2).contains(&rows), "{b}: {rows} imagestorage rows");
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM uploadedblob WHERE id > $1",
                &[Arg::I(0)]
            )
            .await,
            2
        );
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM blobupload WHERE id > $1",
                &[Arg::I(0)]
            )
            .await,
            0
        );
        let leftovers = std::fs::read_dir(env.root().join("uploads"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 0, "{b}: no upload objects left");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_whole_blob_in_one_request() {
    for b in backends() {
        let env = Env::new(b).await;
        let (reg, repo) = (&env.reg, &env.repo);
        let uploads = || {
            std::fs::read_dir(env.root().join("uploads"))
                .map(|d| d.count())
                .unwrap_or(0)
        };

        // Bytes in several chunks, with empty chunks before and among them.
        let content = data(200_000, 9);
        let digest = Digest::sha256_of(&content);
        let blob = reg
            .upload_whole(
                repo,
                &digest,
                body(vec![
                    Vec::new(),
                    content[..70_000].to_vec(),
                    Vec::new(),
                    content[70_000..].to_vec(),
                ]),
            )
            .await
            .expect("upload whole");
        assert_eq!((blob.digest.clone(), blob.size), (digest.clone(), 200_000));
        let seen = reg
            .blob(repo, &digest)
            .await
            .expect("lookup")
            .expect("visible");
        assert_eq!(read_all(reg, &seen, None).await, content, "{b}");
        assert_eq!(uploads(), 0, "{b}: no upload object left");

        // The same bytes again: the object in place is kept, a second link is made.
        let again = reg
            .upload_whole(repo, &digest, body(vec![content.clone()]))
            .await
            .expect("same blob again");
        assert_eq!(
            again.storage_id, blob.storage_id,
            "{b}: one imagestorage row"
        );
        assert_eq!(uploads(), 0, "{b}: the second upload object removed");

        // No bytes at all: the empty blob.
        let empty = Digest::sha256_of(b"");
        let blob = reg
            .upload_whole(repo, &empty, body(vec![Vec::new()]))
            .await
            .expect("empty blob");
        assert_eq!(blob.size, 0, "{b}");
        assert!(reg.blob(repo, &empty).await.expect("lookup").is_some());

        // A wrong digest: nothing visible, no row, no object.
        let other = data(1_000, 10);
        let claimed = Digest::sha256_of(b"not these bytes");
        let err = reg
            .upload_whole(repo, &claimed, body(vec![other.clone()]))
            .await
            .expect_err("mismatch");
        assert!(
            matches!(err, DomainError::DigestMismatch { .. }),
            "{b}: {err:?}"
        );
        assert!(reg.blob(repo, &claimed).await.expect("lookup").is_none());
        assert!(reg
            .blob(repo, &Digest::sha256_of(&other))
            .await
            .expect("lookup")
            .is_none());
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM blobupload WHERE id > $1",
                &[Arg::I(0)]
            )
            .await,
            0,
            "{b}: no blobupload rows left"
        );
        assert_eq!(uploads(), 0, "{b}: no upload object left");
        env.cleanup().await;
    }
}

/// A blob pull fetches the repository and the blob together; what it finds must be what
/// [`Registry::blob`] finds on its own, in every case that decides visibility.
#[tokio::test]
async fn a_pull_finds_the_repository_and_the_blob_together() {
    for b in backends() {
        let env = Env::new(b).await;
        let reg = &env.reg;
        let content = data(5000, 21);
        let pushed = push_blob_in_chunks(reg, &env.repo, &content).await;
        let both = |name: &'static str, digest: Digest| {
            let reg = reg.clone();
            async move {
                let found = reg
                    .lookup_repo_with_blob("devtable", name, &digest)
                    .await
                    .expect("lookup with blob");
                let alone = match &found {
                    Some((repo, _)) => reg.blob(repo, &digest).await.expect("blob"),
                    None => None,
                };
                (found, alone)
            }
        };

        // Linked by its upload.
        let (found, alone) = both("simple", pushed.digest.clone()).await;
        let (repo, blob) = found.expect("repository");
        assert_eq!(repo, env.repo, "{b}");
        assert_eq!(blob.as_ref(), Some(&pushed), "{b}");
        assert_eq!(blob, alone, "{b}");
        assert_eq!(pushed.locations, vec![LOCATION.to_string()], "{b}");

        // Another repository of the namespace does not see it; an unknown digest is no blob.
        let other = env.other_repo("other").await;
        let (found, _) = both("other", pushed.digest.clone()).await;
        assert_eq!(found, Some((other, None)), "{b}");
        let (found, _) = both("simple", Digest::sha256_of(b"never pushed")).await;
        assert_eq!(found, Some((env.repo.clone(), None)), "{b}");
        // No such repository: nothing.
        let (found, _) = both("missing", pushed.digest.clone()).await;
        assert_eq!(found, None, "{b}");

        // Placed in a second location: both are listed, in name order.
        exec(
            env.db(),
            "INSERT INTO imagestoragelocation (name) VALUES ('aaa_first')",
            &[],
        )
        .await;
        exec(
            env.db(),
            &format!(
                "INSERT INTO imagestorageplacement (storage_id, location_id) \
                 SELECT {}, id FROM imagestoragelocation WHERE name = 'aaa_first'",
                pushed.storage_id
            ),
            &[],
        )
        .await;
        let (found, alone) = both("simple", pushed.digest.clone()).await;
        let blob = found.expect("repository").1.expect("blob");
        assert_eq!(
            blob.locations,
            vec!["aaa_first".to_string(), LOCATION.to_string()],
            "{b}"
        );
        assert_eq!(Some(blob), alone, "{b}");

        // Its upload link expired and no manifest links it: gone for the repository.
        exec(
            env.db(),
            "UPDATE uploadedblob SET expires_at = '2000-01-01 00:00:00'",
            &[],
        )
        .await;
        let (found, alone) = both("simple", pushed.digest.clone()).await;
        assert_eq!(found, Some((env.repo.clone(), None)), "{b}");
        assert_eq!(alone, None, "{b}");

        // A repository marked for deletion is not found at all.
        exec(
            env.db(),
            &format!("UPDATE repository SET state = 3 WHERE id = {}", env.repo.id),
            &[],
        )
        .await;
        let (found, _) = both("simple", pushed.digest.clone()).await;
        assert_eq!(found, None, "{b}");
        env.cleanup().await;
    }
}
