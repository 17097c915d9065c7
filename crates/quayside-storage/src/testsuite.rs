//! The behaviour every storage driver must show. Each driver's test calls
//! [`run_all`] on a fresh, empty location; a failing expectation panics with a
//! message naming the case.

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest as _, Sha256};

use crate::{layout, Engine, StorageError};

/// Runs every case against `engine`, which must start empty.
pub async fn run_all(engine: &Engine) {
    put_get_roundtrip(engine).await;
    missing_objects(engine).await;
    streaming_write_hashes(engine).await;
    ranged_reads(engine).await;
    large_and_empty_streams(engine).await;
    overwrite_replaces(engine).await;
    delete_is_idempotent(engine).await;
    rename_moves_upload_into_place(engine).await;
    promote_keeps_an_existing_blob(engine).await;
    append_writer_checks_the_length(engine).await;
    list_is_recursive_and_sorted(engine).await;
    aborted_write_leaves_nothing(engine).await;
    append_extends_when_supported(engine).await;
    rejects_escaping_paths(engine).await;
    validate_probe(engine).await;
    concurrent_same_blob(engine).await;
    uploads_in_parts_assemble(engine).await;
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic pseudo-random bytes (xorshift), so cases need no fixtures.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect()
}

async fn collect(engine: &Engine, path: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let mut stream = engine.stream(path, range).await.expect("open stream");
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("stream chunk"));
    }
    out
}

async fn put_get_roundtrip(engine: &Engine) {
    engine
        .put("suite/a", Bytes::from_static(b"hello"))
        .await
        .expect("put");
    assert_eq!(
        engine.get("suite/a").await.expect("get").as_ref(),
        b"hello",
        "put/get"
    );
    assert_eq!(
        engine.size("suite/a").await.expect("size"),
        Some(5),
        "size after put"
    );
    assert!(
        engine.exists("suite/a").await.expect("exists"),
        "exists after put"
    );
}

async fn missing_objects(engine: &Engine) {
    assert_eq!(
        engine.size("suite/missing").await.expect("size"),
        None,
        "size of missing"
    );
    assert!(
        !engine.exists("suite/missing").await.expect("exists"),
        "exists of missing"
    );
    let err = engine
        .get("suite/missing")
        .await
        .expect_err("get of missing must fail");
    assert!(err.is_not_found(), "get of missing is NotFound, got {err}");
    // A stream of a missing object fails when it is opened, before any byte is served.
    match engine.stream("suite/missing", None).await {
        Err(err) => assert!(
            err.is_not_found(),
            "stream of missing is NotFound, got {err}"
        ),
        Ok(mut stream) => {
            let first = stream.next().await;
            assert!(
                matches!(first, Some(Err(_))),
                "stream of missing must not yield bytes or end cleanly"
            );
        }
    }
}

async fn streaming_write_hashes(engine: &Engine) {
    let data = pattern(3 * 1024 * 1024 + 17, 7);
    let hex = sha256_hex(&data);
    let path = layout::blob_path(&hex).expect("blob path");
    let mut w = engine.writer(&path, false).await.expect("writer");
    for chunk in data.chunks(65_536) {
        w.write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write chunk");
    }
    assert_eq!(w.len(), data.len() as u64, "running length");
    let written = w.finish().await.expect("finish");
    assert_eq!(
        written.digest,
        format!("sha256:{hex}"),
        "digest computed while streaming"
    );
    assert_eq!(written.len, data.len() as u64, "length");
    assert_eq!(
        collect(engine, &path, None).await,
        data,
        "streamed read-back"
    );
}

async fn ranged_reads(engine: &Engine) {
    let data = pattern(100_000, 11);
    engine.put("suite/ranged", data.clone()).await.expect("put");
    assert_eq!(
        collect(engine, "suite/ranged", Some(0..1)).await,
        data[0..1],
        "first byte"
    );
    assert_eq!(
        collect(engine, "suite/ranged", Some(12_345..67_890)).await,
        data[12_345..67_890],
        "middle range"
    );
    assert_eq!(
        collect(engine, "suite/ranged", Some(99_990..100_000)).await,
        data[99_990..],
        "tail range"
    );
}

/// Objects larger than any driver's read chunk, read whole and in ranges that cross chunk
/// boundaries, and an empty object.
async fn large_and_empty_streams(engine: &Engine) {
    let data = pattern(1_300_000, 13);
    engine
        .put("suite/large", data.clone())
        .await
        .expect("put large");
    assert_eq!(collect(engine, "suite/large", None).await, data, "whole");
    assert_eq!(
        collect(engine, "suite/large", Some(500_000..1_200_000)).await,
        data[500_000..1_200_000],
        "range across chunk boundaries"
    );
    assert_eq!(
        collect(engine, "suite/large", Some(524_288..1_048_576)).await,
        data[524_288..1_048_576],
        "range on chunk boundaries"
    );
    engine
        .put("suite/empty", Bytes::new())
        .await
        .expect("put empty");
    assert!(
        collect(engine, "suite/empty", None).await.is_empty(),
        "empty object streams nothing"
    );
}

async fn overwrite_replaces(engine: &Engine) {
    engine
        .put("suite/over", Bytes::from_static(b"first version"))
        .await
        .expect("put 1");
    engine
        .put("suite/over", Bytes::from_static(b"second"))
        .await
        .expect("put 2");
    assert_eq!(
        engine.get("suite/over").await.expect("get").as_ref(),
        b"second",
        "overwrite"
    );
}

async fn delete_is_idempotent(engine: &Engine) {
    engine
        .put("suite/del", Bytes::from_static(b"x"))
        .await
        .expect("put");
    engine.delete("suite/del").await.expect("delete");
    assert!(
        !engine.exists("suite/del").await.expect("exists"),
        "gone after delete"
    );
    engine
        .delete("suite/del")
        .await
        .expect("second delete is fine");
}

async fn rename_moves_upload_into_place(engine: &Engine) {
    let id = uuid::Uuid::new_v4();
    let upload = layout::upload_path(&id);
    let data = pattern(40_000, 3);
    let hex = sha256_hex(&data);
    let dest = layout::blob_path(&hex).expect("blob path");
    engine.put(&upload, data.clone()).await.expect("put upload");
    engine.rename(&upload, &dest).await.expect("rename");
    assert!(
        !engine.exists(&upload).await.expect("exists"),
        "upload gone after rename"
    );
    assert_eq!(
        collect(engine, &dest, None).await,
        data,
        "blob in place after rename"
    );
    let err = engine
        .rename(&upload, &dest)
        .await
        .expect_err("renaming a missing object fails");
    assert!(
        err.is_not_found(),
        "rename of missing is NotFound, got {err}"
    );
}

async fn promote_keeps_an_existing_blob(engine: &Engine) {
    let data = pattern(5_000, 11);
    let dest = layout::blob_path(&sha256_hex(&data)).expect("blob path");
    let first = layout::upload_path(&uuid::Uuid::new_v4());
    engine.put(&first, data.clone()).await.expect("put upload");
    assert!(
        engine.promote(&first, &dest).await.expect("promote"),
        "the first upload of a blob is moved into place"
    );
    assert!(
        !engine.exists(&first).await.expect("exists"),
        "upload moved"
    );
    // A second upload of the same digest: the object in place stays, the upload goes.
    let second = layout::upload_path(&uuid::Uuid::new_v4());
    engine.put(&second, data.clone()).await.expect("put upload");
    assert!(
        !engine.promote(&second, &dest).await.expect("promote again"),
        "an existing blob is kept"
    );
    assert!(
        !engine.exists(&second).await.expect("exists"),
        "upload removed"
    );
    assert_eq!(collect(engine, &dest, None).await, data, "blob intact");
    let err = engine
        .promote(&second, &dest)
        .await
        .expect_err("promoting a missing upload fails");
    assert!(err.is_not_found(), "missing upload is NotFound, got {err}");
}

async fn append_writer_checks_the_length(engine: &Engine) {
    let path = layout::upload_path(&uuid::Uuid::new_v4());
    assert!(
        engine
            .append_writer(&path, 0, Sha256::new())
            .await
            .expect("append to missing")
            .is_none(),
        "a missing object is not appended to"
    );
    let head = pattern(3_000, 12);
    engine.put(&path, head.clone()).await.expect("put");
    for wrong in [0, 2_999, 3_001] {
        assert!(
            engine
                .append_writer(&path, wrong, Sha256::new())
                .await
                .expect("append with wrong length")
                .is_none(),
            "length {wrong} is not the object's 3000"
        );
    }
    let Some(mut w) = engine
        .append_writer(&path, 3_000, Sha256::new_with_prefix(&head))
        .await
        .expect("append writer")
    else {
        assert!(
            !engine.can_append(),
            "a driver that can append gives a writer at the right length"
        );
        engine.delete(&path).await.expect("cleanup");
        return;
    };
    let tail = pattern(2_000, 13);
    w.write(Bytes::from(tail.clone())).await.expect("write");
    let (written, _) = w.finish_with_state().await.expect("finish");
    let mut whole = head;
    whole.extend_from_slice(&tail);
    assert_eq!(written.len, 2_000, "bytes written through the writer");
    assert_eq!(
        written.digest,
        format!("sha256:{}", sha256_hex(&whole)),
        "the digest covers the prior bytes"
    );
    assert_eq!(
        collect(engine, &path, None).await,
        whole,
        "appended in place"
    );
    engine.delete(&path).await.expect("cleanup");
}

async fn list_is_recursive_and_sorted(engine: &Engine) {
    for p in ["suite/list/b/2", "suite/list/a", "suite/list/b/1"] {
        engine.put(p, Bytes::from_static(b".")).await.expect("put");
    }
    assert_eq!(
        engine.list("suite/list/").await.expect("list"),
        vec!["suite/list/a", "suite/list/b/1", "suite/list/b/2"],
        "recursive sorted listing"
    );
    assert!(
        engine
            .list("suite/nothing-here/")
            .await
            .expect("list empty")
            .is_empty(),
        "listing a missing prefix is empty"
    );
}

async fn aborted_write_leaves_nothing(engine: &Engine) {
    let mut w = engine.writer("suite/aborted", false).await.expect("writer");
    w.write(Bytes::from(pattern(10_000, 5)))
        .await
        .expect("write");
    w.abort().await.expect("abort");
    assert!(
        !engine.exists("suite/aborted").await.expect("exists"),
        "nothing after abort"
    );
}

async fn append_extends_when_supported(engine: &Engine) {
    if !engine.can_append() {
        return;
    }
    let path = "suite/append";
    let mut w = engine.writer(path, true).await.expect("writer 1");
    w.write(Bytes::from_static(b"abc")).await.expect("write 1");
    w.finish().await.expect("finish 1");
    let mut w = engine.writer(path, true).await.expect("writer 2");
    w.write(Bytes::from_static(b"def")).await.expect("write 2");
    w.finish().await.expect("finish 2");
    assert_eq!(
        engine.get(path).await.expect("get").as_ref(),
        b"abcdef",
        "appended"
    );
}

async fn rejects_escaping_paths(engine: &Engine) {
    for bad in ["../escape", "/abs", "a/../../b", "", "a/./b"] {
        let err = engine
            .put(bad, Bytes::from_static(b"x"))
            .await
            .expect_err("escaping path must be refused");
        assert!(
            matches!(err, StorageError::InvalidPath { .. }),
            "path {bad:?} refused as invalid, got {err}"
        );
    }
}

async fn validate_probe(engine: &Engine) {
    engine.validate().await.expect("validate");
    assert_eq!(
        engine
            .get(layout::VERIFY_PATH)
            .await
            .expect("get probe")
            .as_ref(),
        b"testing 123",
        "probe contents"
    );
}

async fn concurrent_same_blob(engine: &Engine) {
    // Two pushers write the same content to their own uploads and move them
    // into the same content-addressed path: one object, intact, no error.
    let data = pattern(1_000_000, 42);
    let hex = sha256_hex(&data);
    let dest = layout::blob_path(&hex).expect("blob path");
    let push = |seed: u8| {
        let engine = engine.clone();
        let data = data.clone();
        let dest = dest.clone();
        async move {
            let upload = layout::upload_path(&uuid::Uuid::new_v4());
            let mut w = engine.writer(&upload, false).await?;
            for chunk in data.chunks(10_000 + seed as usize) {
                w.write(Bytes::copy_from_slice(chunk)).await?;
            }
            w.finish().await?;
            engine.rename(&upload, &dest).await
        }
    };
    let (a, b) = tokio::join!(push(1), push(2));
    a.expect("first concurrent push");
    b.expect("second concurrent push");
    assert_eq!(
        collect(engine, &dest, None).await,
        data,
        "blob intact after concurrent pushes"
    );
    assert!(
        engine
            .list(layout::UPLOADS_PREFIX)
            .await
            .expect("list uploads")
            .is_empty(),
        "no uploads left behind"
    );
}

/// An upload kept in parts (every driver can keep one; object stores always do): the parts
/// read back as one stream, assemble into the blob (a part larger than the assembly chunk is
/// copied by the store where it can), and leave nothing under `uploads/`.
async fn uploads_in_parts_assemble(engine: &Engine) {
    use crate::{UploadPart, UploadParts};
    let id = uuid::Uuid::new_v4();
    let sizes = [1usize, 3_000_000, 17 * 1024 * 1024 + 7, 10];
    let mut parts = UploadParts::default();
    let mut all = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let data = pattern(*size, 100 + i as u64);
        let path = layout::upload_part_path(&id);
        let mut w = engine.writer(&path, false).await.expect("part writer");
        for chunk in data.chunks(1 << 20) {
            w.write(Bytes::copy_from_slice(chunk))
                .await
                .expect("part write");
        }
        w.finish().await.expect("part finish");
        parts = parts.with(UploadPart {
            path,
            offset: all.len() as u64,
            length: *size as u64,
        });
        all.extend_from_slice(&data);
    }
    let mut stream = engine
        .stream_parts(&parts, 3_000_001)
        .await
        .expect("stream parts");
    let mut head = Vec::new();
    while let Some(chunk) = stream.next().await {
        head.extend_from_slice(&chunk.expect("part chunk"));
    }
    assert!(
        head == all[..3_000_001],
        "the first parts read back in order"
    );

    let hex = sha256_hex(&all);
    let dest = layout::blob_path(&hex).expect("blob path");
    assert!(
        engine.assemble(&parts, &dest).await.expect("assemble"),
        "written"
    );
    assert!(collect(engine, &dest, None).await == all, "assembled bytes");
    for p in &parts.parts {
        assert!(
            !engine.exists(&p.path).await.expect("stat part"),
            "{} removed",
            p.path
        );
    }
    // The same blob again: the object in place stays, the new parts go.
    let again = layout::upload_part_path(&id);
    engine
        .put(&again, Bytes::from_static(b"xyz"))
        .await
        .expect("put");
    let dup = UploadParts::default().with(UploadPart {
        path: again.clone(),
        offset: 0,
        length: 3,
    });
    assert!(!engine.assemble(&dup, &dest).await.expect("assemble dup"));
    assert!(
        !engine.exists(&again).await.expect("stat"),
        "duplicate part removed"
    );
    assert!(collect(engine, &dest, None).await == all, "blob untouched");
    // One part (the usual push): moved by one copy, the part gone.
    let single = pattern(70_000, 7);
    let one = layout::upload_part_path(&id);
    engine.put(&one, single.clone()).await.expect("put single");
    let single_dest = layout::blob_path(&sha256_hex(&single)).expect("path");
    let one_part = UploadParts::default().with(UploadPart {
        path: one.clone(),
        offset: 0,
        length: single.len() as u64,
    });
    assert!(engine
        .assemble(&one_part, &single_dest)
        .await
        .expect("single"));
    assert!(
        collect(engine, &single_dest, None).await == single,
        "single-part bytes"
    );
    assert!(
        !engine.exists(&one).await.expect("stat"),
        "single part removed"
    );
    engine.delete(&single_dest).await.expect("cleanup");
    // An empty upload is an empty object.
    let empty = layout::blob_path(&sha256_hex(b"")).expect("path");
    engine.delete(&empty).await.expect("delete");
    assert!(engine
        .assemble(&UploadParts::default(), &empty)
        .await
        .expect("empty"));
    assert_eq!(engine.size(&empty).await.expect("size"), Some(0));
    engine
        .delete_upload(&id, &parts)
        .await
        .expect("delete is idempotent");
    engine.delete(&dest).await.expect("cleanup");
    engine.delete(&empty).await.expect("cleanup");

    // Deleting an upload removes its parts, recorded or not (a part written just before a
    // crash never reached the row), and no other upload's. Only parts-style stores write
    // parts at all.
    if engine.upload_style() != crate::UploadStyle::Parts {
        return;
    }
    let doomed = uuid::Uuid::new_v4();
    let other = uuid::Uuid::new_v4();
    let recorded = layout::upload_part_path(&doomed);
    let orphan = layout::upload_part_path(&doomed);
    let neighbour = layout::upload_part_path(&other);
    for p in [&recorded, &orphan, &neighbour] {
        engine
            .put(p, Bytes::from_static(b"part"))
            .await
            .expect("put part");
    }
    let listed = UploadParts::default().with(UploadPart {
        path: recorded.clone(),
        offset: 0,
        length: 4,
    });
    engine
        .delete_upload(&doomed, &listed)
        .await
        .expect("delete upload");
    assert!(
        !engine.exists(&recorded).await.expect("stat"),
        "recorded part gone"
    );
    assert!(
        !engine.exists(&orphan).await.expect("stat"),
        "unrecorded part gone"
    );
    assert!(
        engine.exists(&neighbour).await.expect("stat"),
        "another upload's part stays"
    );
    engine
        .delete_upload(&other, &UploadParts::default())
        .await
        .expect("delete other");
    assert!(!engine.exists(&neighbour).await.expect("stat"));
}
