//! Manifests, tags and referrers, on SQLite and PostgreSQL.

mod common;

use common::{layout_manifest, push_layout_blob, Env};
use quayside_domain::{DomainError, TagLookup};
use quayside_meta::with_pool;
use quayside_oci::{media_types as mt, ParsedManifest};
use quayside_testkit::backends;
use quayside_testkit::registry::push_blob_in_chunks;
use quayside_testkit::sql::{scalar_i64, Arg};
use quayside_testkit::storage::LOCATION;

async fn push_manifest_blobs(env: &Env, layout: &str, m: &ParsedManifest) {
    for d in m.referenced_blobs() {
        push_layout_blob(&env.reg, &env.repo, layout, d).await;
    }
}

fn found(l: TagLookup) -> quayside_domain::StoredManifest {
    match l {
        TagLookup::Found(m) => m,
        other => panic!("expected a manifest, got {other:?}"),
    }
}

/// (name, manifest_id, lifetime_start_ms, lifetime_end_ms, hidden) of every tag row.
async fn tag_rows(env: &Env) -> Vec<(String, i32, i64, Option<i64>, bool)> {
    with_pool!(env.db(), pool => {
        sqlx::query_as(
            "SELECT name, manifest_id, lifetime_start_ms, lifetime_end_ms, hidden FROM tag \
             WHERE repository_id = $1 ORDER BY id",
        )
        .bind(env.repo.id as i32)
        .fetch_all(pool)
        .await
    })
    .expect("tag rows")
}

#[tokio::test]
async fn oci_image_rows_are_quays() {
    for b in backends() {
        let env = Env::new(b).await;
        let m = layout_manifest(
            "debian-bookworm",
            "sha256:70f05d77ccbb0b26ee08f542c1c75483ec0ebb3e331c5040fc3825e58b38700d",
        );
        push_manifest_blobs(&env, "debian-bookworm", &m).await;
        let stored = env
            .reg
            .put_manifest(&env.repo, Some("bookworm"), &m)
            .await
            .expect("put");
        assert_eq!(stored.bytes.as_ref(), m.bytes());
        let by_tag = found(
            env.reg
                .manifest_by_tag(&env.repo, "bookworm")
                .await
                .expect("by tag"),
        );
        assert_eq!(by_tag.bytes.as_ref(), m.bytes(), "{b}: byte-identical");
        assert_eq!(by_tag.media_type, mt::OCI_MANIFEST);
        assert_eq!(&by_tag.digest, m.digest());
        let by_digest = env
            .reg
            .manifest_by_digest(&env.repo, m.digest())
            .await
            .expect("by digest")
            .expect("found");
        assert_eq!(by_digest, by_tag);

        let mid = i32::try_from(stored.id).expect("id");
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM manifestblob WHERE manifest_id = $1",
                &[Arg::I(i64::from(mid))]
            )
            .await,
            2
        );
        let row: (i32, Option<String>, Option<i64>, Option<String>, Option<String>) = with_pool!(env.db(), pool => {
            sqlx::query_as("SELECT media_type_id, config_media_type, layers_compressed_size, subject, artifact_type FROM manifest WHERE id = $1")
                .bind(mid).fetch_one(pool).await
        }).expect("manifest row");
        assert_eq!(
            row,
            (
                17,
                Some(mt::OCI_CONFIG.into()),
                Some(51_105_448),
                None,
                Some(mt::OCI_CONFIG.into())
            )
        );
        let layer = &m.layers()[0];
        let storage: (String, i64, bool, bool, i32) = with_pool!(env.db(), pool => {
            sqlx::query_as(
                "SELECT s.content_checksum, s.image_size, s.cas_path, s.uploading, p.location_id \
                 FROM imagestorage s JOIN imagestorageplacement p ON p.storage_id = s.id \
                 JOIN manifestblob mb ON mb.blob_id = s.id WHERE mb.manifest_id = $1 AND s.content_checksum = $2",
            ).bind(mid).bind(layer.digest.to_string()).fetch_one(pool).await
        }).expect("storage row");
        let location_id: i32 = with_pool!(env.db(), pool => {
            sqlx::query_scalar("SELECT id FROM imagestoragelocation WHERE name = $1").bind(LOCATION).fetch_one(pool).await
        }).expect("location");
        assert_eq!(
            storage,
            (
                layer.digest.to_string(),
                51_105_448,
                true,
                false,
                location_id
            )
        );
        let tags = tag_rows(&env).await;
        assert_eq!(tags.len(), 1, "{b}: {tags:?}");
        assert_eq!(
            (tags[0].0.as_str(), tags[0].1, tags[0].3, tags[0].4),
            ("bookworm", mid, None, false)
        );
        // Pushing the same manifest and tag again changes nothing.
        env.reg
            .put_manifest(&env.repo, Some("bookworm"), &m)
            .await
            .expect("re-put");
        assert_eq!(tag_rows(&env).await, tags);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn unknown_blob_is_refused() {
    for b in backends() {
        let env = Env::new(b).await;
        let m = layout_manifest(
            "helm-chart",
            "sha256:1d132aaf8855fd85c3d8b1570d954e0b38051184bd9f0123808107ddef3222a4",
        );
        // Push only the config.
        let config = m.config().expect("config").digest.clone();
        push_layout_blob(&env.reg, &env.repo, "helm-chart", &config).await;
        let err = env
            .reg
            .put_manifest(&env.repo, Some("0.1.0"), &m)
            .await
            .expect_err("missing layer");
        match err {
            DomainError::ManifestBlobUnknown(d) => assert_eq!(&d, &m.layers()[0].digest),
            other => panic!("{b}: {other:?}"),
        }
        assert!(matches!(
            env.reg
                .manifest_by_tag(&env.repo, "0.1.0")
                .await
                .expect("lookup"),
            TagLookup::Missing
        ));
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM manifest WHERE repository_id = $1",
                &[Arg::I(env.repo.id)]
            )
            .await,
            0
        );
        // With the layer it goes through.
        push_layout_blob(&env.reg, &env.repo, "helm-chart", &m.layers()[0].digest).await;
        let stored = env
            .reg
            .put_manifest(&env.repo, Some("0.1.0"), &m)
            .await
            .expect("put");
        assert_eq!(stored.bytes.as_ref(), m.bytes());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn index_with_children_pushed_by_digest() {
    for b in backends() {
        let env = Env::new(b).await;
        let index = layout_manifest(
            "multiarch",
            "sha256:0bd5b262e3a720e4ceb3552412b9aff5a4559df0b79ded92825825fe3ac4d245",
        );
        // A child that is not there yet.
        let err = env
            .reg
            .put_manifest(&env.repo, Some("latest"), &index)
            .await
            .expect_err("no children");
        assert!(
            matches!(err, DomainError::ManifestInvalid(_)),
            "{b}: {err:?}"
        );
        for child in index.manifests() {
            let cm = layout_manifest("multiarch", &child.digest.to_string());
            push_manifest_blobs(&env, "multiarch", &cm).await;
            let stored = env
                .reg
                .put_manifest(&env.repo, None, &cm)
                .await
                .expect("child by digest");
            assert_eq!(stored.bytes.as_ref(), cm.bytes());
            let back = env
                .reg
                .manifest_by_digest(&env.repo, cm.digest())
                .await
                .expect("lookup")
                .expect("temp tag keeps it");
            assert_eq!(back.bytes.as_ref(), cm.bytes());
        }
        // Hidden temp tags: not listed, expiring in about an hour.
        assert_eq!(
            env.reg
                .list_tags(&env.repo, None, None)
                .await
                .expect("list"),
            (vec![], false)
        );
        let now_ms = chrono::Utc::now().timestamp_millis();
        let temps = tag_rows(&env).await;
        assert_eq!(temps.len(), 3);
        for (name, _, start, end, hidden) in &temps {
            assert!(name.starts_with("$temp-") && *hidden, "{b}: {name}");
            let end = end.expect("temp tags expire");
            assert!(
                (end - start - 3_600_000).abs() < 1000 && end > now_ms,
                "{b}: {start}..{end}"
            );
        }
        let stored = env
            .reg
            .put_manifest(&env.repo, Some("latest"), &index)
            .await
            .expect("index");
        let got = found(
            env.reg
                .manifest_by_tag(&env.repo, "latest")
                .await
                .expect("by tag"),
        );
        assert_eq!(got.bytes.as_ref(), index.bytes());
        assert_eq!(got.media_type, mt::OCI_INDEX);
        let mid = i32::try_from(stored.id).expect("id");
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM manifestchild WHERE manifest_id = $1",
                &[Arg::I(i64::from(mid))]
            )
            .await,
            3
        );
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM manifestblob WHERE manifest_id = $1",
                &[Arg::I(i64::from(mid))]
            )
            .await,
            0
        );
        assert_eq!(
            env.reg
                .list_tags(&env.repo, None, None)
                .await
                .expect("list"),
            (vec!["latest".to_string()], false)
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn docker_schema2_roundtrip_and_tag_moves() {
    for b in backends() {
        let env = Env::new(b).await;
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
                .to_vec();
        let layer_a = vec![0x1f, 0x8b, 1, 2, 3, 4];
        let layer_b = vec![0x1f, 0x8b, 9, 9, 9];
        let c = push_blob_in_chunks(&env.reg, &env.repo, &config).await;
        let la = push_blob_in_chunks(&env.reg, &env.repo, &layer_a).await;
        let lb = push_blob_in_chunks(&env.reg, &env.repo, &layer_b).await;
        let mk = |layer: &quayside_domain::BlobInfo| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{}"}},"layers":[{{"mediaType":"{}","size":{},"digest":"{}"}}]}}"#,
                mt::DOCKER_MANIFEST_V2,
                mt::DOCKER_CONFIG,
                c.size,
                c.digest,
                mt::DOCKER_LAYER,
                layer.size,
                layer.digest
            )
        };
        let m1 =
            ParsedManifest::parse(mk(&la).as_bytes(), Some(mt::DOCKER_MANIFEST_V2)).expect("m1");
        let m2 =
            ParsedManifest::parse(mk(&lb).as_bytes(), Some(mt::DOCKER_MANIFEST_V2)).expect("m2");
        let s1 = env
            .reg
            .put_manifest(&env.repo, Some("t"), &m1)
            .await
            .expect("m1");
        let got = found(
            env.reg
                .manifest_by_tag(&env.repo, "t")
                .await
                .expect("by tag"),
        );
        assert_eq!(
            (got.bytes.as_ref(), got.media_type.as_str()),
            (m1.bytes(), mt::DOCKER_MANIFEST_V2)
        );
        let s2 = env
            .reg
            .put_manifest(&env.repo, Some("t"), &m2)
            .await
            .expect("m2");
        assert_eq!(
            found(
                env.reg
                    .manifest_by_tag(&env.repo, "t")
                    .await
                    .expect("by tag")
            )
            .digest,
            *m2.digest()
        );
        let rows = tag_rows(&env).await;
        assert_eq!(rows.len(), 2, "{b}: {rows:?}");
        let (old, new) = (&rows[0], &rows[1]);
        assert_eq!(old.1 as i64, s1.id);
        assert_eq!(new.1 as i64, s2.id);
        let ended = old.3.expect("old row ended");
        assert_eq!(new.2, ended, "{b}: new row starts when the old one ends");
        assert_eq!(new.3, None);
        // m1 is no longer reachable by digest once its only tag ended.
        assert!(env
            .reg
            .manifest_by_digest(&env.repo, m1.digest())
            .await
            .expect("lookup")
            .is_none());
        // Moving back in the same millisecond keeps (repository, name, lifetime_end_ms) unique.
        env.reg
            .put_manifest(&env.repo, Some("t"), &m1)
            .await
            .expect("back to m1");
        env.reg
            .put_manifest(&env.repo, Some("t"), &m2)
            .await
            .expect("and to m2");
        let rows = tag_rows(&env).await;
        assert_eq!(rows.len(), 4);
        assert_eq!(rows.iter().filter(|r| r.3.is_none()).count(), 1);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn delete_by_tag_and_by_digest() {
    for b in backends() {
        let env = Env::new(b).await;
        let m = layout_manifest(
            "helm-chart",
            "sha256:1d132aaf8855fd85c3d8b1570d954e0b38051184bd9f0123808107ddef3222a4",
        );
        push_manifest_blobs(&env, "helm-chart", &m).await;
        for t in ["a", "b", "c"] {
            env.reg
                .put_manifest(&env.repo, Some(t), &m)
                .await
                .expect("tag");
        }
        assert!(env
            .reg
            .delete_by_tag(&env.repo, "a")
            .await
            .expect("delete a"));
        assert!(!env.reg.delete_by_tag(&env.repo, "a").await.expect("again"));
        assert!(matches!(
            env.reg
                .manifest_by_tag(&env.repo, "a")
                .await
                .expect("lookup"),
            TagLookup::Expired
        ));
        assert!(matches!(
            env.reg
                .manifest_by_tag(&env.repo, "zzz")
                .await
                .expect("lookup"),
            TagLookup::Missing
        ));
        assert!(env
            .reg
            .delete_by_digest(&env.repo, m.digest())
            .await
            .expect("delete digest"));
        assert_eq!(
            env.reg
                .list_tags(&env.repo, None, None)
                .await
                .expect("list"),
            (vec![], false)
        );
        assert!(!env
            .reg
            .delete_by_digest(&env.repo, m.digest())
            .await
            .expect("nothing left"));
        assert!(env
            .reg
            .manifest_by_digest(&env.repo, m.digest())
            .await
            .expect("lookup")
            .is_none());
        // The rows stay for the time machine, all ended.
        let rows = tag_rows(&env).await;
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.3.is_some()));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn tag_pagination() {
    for b in backends() {
        let settings = quayside_domain::RegistrySettings {
            v2_max_page: 3,
            ..Default::default()
        };
        let env = Env::with_settings(b, settings).await;
        let m = layout_manifest(
            "helm-chart",
            "sha256:1d132aaf8855fd85c3d8b1570d954e0b38051184bd9f0123808107ddef3222a4",
        );
        push_manifest_blobs(&env, "helm-chart", &m).await;
        for t in ["e", "b", "d", "a", "c"] {
            env.reg
                .put_manifest(&env.repo, Some(t), &m)
                .await
                .expect("tag");
        }
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let reg = &env.reg;
        assert_eq!(
            reg.list_tags(&env.repo, Some(2), None).await.expect("p1"),
            (s(&["a", "b"]), true)
        );
        assert_eq!(
            reg.list_tags(&env.repo, Some(2), Some("b"))
                .await
                .expect("p2"),
            (s(&["c", "d"]), true)
        );
        assert_eq!(
            reg.list_tags(&env.repo, Some(2), Some("d"))
                .await
                .expect("p3"),
            (s(&["e"]), false)
        );
        assert_eq!(
            reg.list_tags(&env.repo, Some(0), None).await.expect("n=0"),
            (vec![], false)
        );
        // Clamped to v2_max_page, also when n is absent.
        assert_eq!(
            reg.list_tags(&env.repo, Some(1000), None)
                .await
                .expect("clamp"),
            (s(&["a", "b", "c"]), true)
        );
        assert_eq!(
            reg.list_tags(&env.repo, None, Some("a"))
                .await
                .expect("default"),
            (s(&["b", "c", "d"]), true)
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn referrers_and_non_expiring_hidden_tag() {
    for b in backends() {
        let env = Env::new(b).await;
        let base = layout_manifest(
            "artifact",
            "sha256:8f2758c9d4ccf638dc095a2c1403bcaac8e2e686899ebe7d5d63497d9182ef01",
        );
        let sbom = layout_manifest(
            "artifact",
            "sha256:89f6b1a4ffdf476ad99317545a28a85789b68f47e9b3702946b3ccc67e562786",
        );
        let v1 = layout_manifest(
            "artifact",
            "sha256:4ae8df94409ed6583bfb197247ac813c2859907a8e51ee2c63bb37e79ea21cc3",
        );
        for m in [&base, &sbom, &v1] {
            push_manifest_blobs(&env, "artifact", m).await;
        }
        // Unknown subject: an empty list (Quay: 400 MANIFEST_INVALID).
        assert!(env
            .reg
            .referrers(&env.repo, base.digest(), None)
            .await
            .expect("referrers")
            .is_empty());
        env.reg
            .put_manifest(&env.repo, Some("base"), &base)
            .await
            .expect("base");
        env.reg
            .put_manifest(&env.repo, Some("v1"), &v1)
            .await
            .expect("v1");
        assert_eq!(
            env.reg
                .referrers(&env.repo, base.digest(), None)
                .await
                .expect("referrers"),
            vec![]
        );
        let stored = env
            .reg
            .put_manifest(&env.repo, None, &sbom)
            .await
            .expect("sbom by digest");
        let rows = tag_rows(&env).await;
        let hidden: Vec<_> = rows.iter().filter(|r| r.4).collect();
        assert_eq!(hidden.len(), 1, "{b}: {rows:?}");
        assert_eq!(
            (hidden[0].1 as i64, hidden[0].3),
            (stored.id, None),
            "{b}: non-expiring"
        );
        let all = env
            .reg
            .referrers(&env.repo, base.digest(), None)
            .await
            .expect("referrers");
        assert_eq!(all.len(), 1);
        let r = &all[0];
        assert_eq!(
            (&r.digest, r.size, r.media_type.as_str()),
            (sbom.digest(), sbom.size() as u64, mt::OCI_MANIFEST)
        );
        assert_eq!(r.artifact_type.as_deref(), Some("application/spdx+json"));
        assert_eq!(
            r.annotations
                .get("org.opencontainers.image.created")
                .map(String::as_str),
            Some("2024-01-01T00:00:00Z")
        );
        let filtered = env
            .reg
            .referrers(&env.repo, base.digest(), Some("application/spdx+json"))
            .await
            .expect("f");
        assert_eq!(filtered, all);
        let none = env
            .reg
            .referrers(&env.repo, base.digest(), Some("application/vnd.other"))
            .await
            .expect("f");
        assert!(none.is_empty());
        let index = quayside_domain::referrers_index(&all);
        assert_eq!(
            index["manifests"][0]["artifactType"],
            "application/spdx+json"
        );
        assert_eq!(index["mediaType"], mt::OCI_INDEX);
        // The hidden tag is not listed.
        let (tags, _) = env
            .reg
            .list_tags(&env.repo, None, None)
            .await
            .expect("list");
        assert_eq!(tags, vec!["base".to_string(), "v1".to_string()]);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_pushes_of_one_manifest_and_tag() {
    for b in backends() {
        let env = Env::new(b).await;
        let m = layout_manifest(
            "helm-chart",
            "sha256:1d132aaf8855fd85c3d8b1570d954e0b38051184bd9f0123808107ddef3222a4",
        );
        push_manifest_blobs(&env, "helm-chart", &m).await;
        let (x, y, z) = tokio::join!(
            env.reg.put_manifest(&env.repo, Some("same"), &m),
            env.reg.put_manifest(&env.repo, Some("same"), &m),
            env.reg.put_manifest(&env.repo, None, &m),
        );
        let (x, y) = (x.expect("first"), y.expect("second"));
        z.expect("by digest");
        assert_eq!(x.id, y.id);
        let alive: Vec<_> = tag_rows(&env)
            .await
            .into_iter()
            .filter(|r| r.0 == "same" && r.3.is_none())
            .collect();
        assert_eq!(alive.len(), 1, "{b}");
        assert_eq!(
            scalar_i64(
                env.db(),
                "SELECT COUNT(*) FROM manifest WHERE repository_id = $1",
                &[Arg::I(env.repo.id)]
            )
            .await,
            1
        );
        env.cleanup().await;
    }
}

/// (key, value, media type, source type) of a manifest's labels, by key.
async fn label_rows(env: &Env, manifest_id: i64) -> Vec<(String, String, String, String)> {
    with_pool!(env.db(), pool => {
        sqlx::query_as(
            "SELECT l.key, l.value, mt.name, st.name FROM label l \
             JOIN manifestlabel ml ON ml.label_id = l.id \
             JOIN mediatype mt ON mt.id = l.media_type_id \
             JOIN labelsourcetype st ON st.id = l.source_type_id \
             WHERE ml.manifest_id = $1 ORDER BY l.key",
        )
        .bind(manifest_id as i32)
        .fetch_all(pool)
        .await
    })
    .expect("label rows")
}

/// `(start, end)` of the alive row of tag `name`.
async fn alive_span(env: &Env, name: &str) -> (i64, Option<i64>) {
    let rows = tag_rows(env).await;
    let alive: Vec<_> = rows
        .into_iter()
        .filter(|r| r.0 == name)
        .filter(|r| {
            r.3.is_none_or(|e| e > chrono::Utc::now().timestamp_millis())
        })
        .collect();
    assert_eq!(alive.len(), 1, "one alive row of {name}: {alive:?}");
    (alive[0].2, alive[0].3)
}

/// A Docker schema 2 image whose config carries `labels`; returns the parsed manifest.
async fn labelled_image(env: &Env, labels: serde_json::Value, layer: &[u8]) -> ParsedManifest {
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": []}
    })
    .to_string();
    let c = push_blob_in_chunks(&env.reg, &env.repo, config.as_bytes()).await;
    let l = push_blob_in_chunks(&env.reg, &env.repo, layer).await;
    let text = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{}"}},"layers":[{{"mediaType":"{}","size":{},"digest":"{}"}}]}}"#,
        mt::DOCKER_MANIFEST_V2,
        mt::DOCKER_CONFIG,
        c.size,
        c.digest,
        mt::DOCKER_LAYER,
        l.size,
        l.digest
    );
    ParsedManifest::parse(text.as_bytes(), Some(mt::DOCKER_MANIFEST_V2)).expect("parse")
}

#[tokio::test]
async fn config_labels_are_stored_and_expires_after_ends_the_tag() {
    for b in backends() {
        let env = Env::new(b).await;
        let mut labels = serde_json::json!({
            "quay.expires-after": "2h",
            "com.example.meta": "{\"a\": 1}",
            "version": "1.0",
            "": "ignored",
            "nul": "a\0b"
        });
        // A key the label column cannot hold is skipped; it must not fail the push.
        labels["k".repeat(300)] = serde_json::Value::from("too long");
        let m = labelled_image(&env, labels, &[0x1f, 0x8b, 7, 7]).await;
        let stored = env
            .reg
            .put_manifest(&env.repo, Some("short"), &m)
            .await
            .expect("put");
        let expected = vec![
            (
                "com.example.meta".to_string(),
                "{\"a\": 1}".to_string(),
                "application/json".to_string(),
                "manifest".to_string(),
            ),
            (
                "quay.expires-after".into(),
                "2h".into(),
                "text/plain".into(),
                "manifest".into(),
            ),
            (
                "version".into(),
                "1.0".into(),
                "text/plain".into(),
                "manifest".into(),
            ),
        ];
        assert_eq!(label_rows(&env, stored.id).await, expected, "{b}");
        let (start, end) = alive_span(&env, "short").await;
        assert_eq!(end, Some(start + 2 * 3_600_000), "{b}: label ends the tag");

        // The same manifest under another tag: labels are not written twice, the stored
        // label still sets the new tag's end.
        env.reg
            .put_manifest(&env.repo, Some("again"), &m)
            .await
            .expect("again");
        assert_eq!(label_rows(&env, stored.id).await.len(), 3, "{b}");
        let (start, end) = alive_span(&env, "again").await;
        assert_eq!(end, Some(start + 2 * 3_600_000), "{b}");

        // Without the label (or with a value that does not parse) the tag never ends.
        let plain = labelled_image(
            &env,
            serde_json::json!({"quay.expires-after": "soon"}),
            &[0x1f, 0x8b, 8, 8],
        )
        .await;
        env.reg
            .put_manifest(&env.repo, Some("plain"), &plain)
            .await
            .expect("plain");
        assert_eq!(alive_span(&env, "plain").await.1, None, "{b}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_list_expires_when_all_children_share_the_label() {
    for b in backends() {
        let env = Env::new(b).await;
        let a = labelled_image(
            &env,
            serde_json::json!({"quay.expires-after": "1d"}),
            &[0x1f, 0x8b, 1],
        )
        .await;
        let c = labelled_image(
            &env,
            serde_json::json!({"quay.expires-after": "1d", "other": "x"}),
            &[0x1f, 0x8b, 2],
        )
        .await;
        let d = labelled_image(
            &env,
            serde_json::json!({"quay.expires-after": "3d"}),
            &[0x1f, 0x8b, 3],
        )
        .await;
        for child in [&a, &c, &d] {
            env.reg
                .put_manifest(&env.repo, None, child)
                .await
                .expect("child");
        }
        let list = |children: &[&ParsedManifest]| {
            let entries: Vec<serde_json::Value> = children
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "mediaType": mt::DOCKER_MANIFEST_V2,
                        "size": m.size(),
                        "digest": m.digest().to_string(),
                        "platform": {"architecture": "amd64", "os": "linux"}
                    })
                })
                .collect();
            let text = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": mt::DOCKER_MANIFEST_LIST,
                "manifests": entries
            })
            .to_string();
            ParsedManifest::parse(text.as_bytes(), Some(mt::DOCKER_MANIFEST_LIST)).expect("list")
        };
        env.reg
            .put_manifest(&env.repo, Some("shared"), &list(&[&a, &c]))
            .await
            .expect("shared");
        let (start, end) = alive_span(&env, "shared").await;
        assert_eq!(end, Some(start + 86_400_000), "{b}: children agree");
        env.reg
            .put_manifest(&env.repo, Some("mixed"), &list(&[&a, &d]))
            .await
            .expect("mixed");
        assert_eq!(
            alive_span(&env, "mixed").await.1,
            None,
            "{b}: children differ"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn immutable_tags_refuse_overwrite_and_delete() {
    for b in backends() {
        let env = Env::new(b).await;
        let m1 = labelled_image(&env, serde_json::json!({}), &[0x1f, 0x8b, 4]).await;
        let m2 = labelled_image(&env, serde_json::json!({}), &[0x1f, 0x8b, 5]).await;
        env.reg
            .put_manifest(&env.repo, Some("locked"), &m1)
            .await
            .expect("m1");
        with_pool!(env.db(), pool => {
            sqlx::query("UPDATE tag SET immutable = $1 WHERE repository_id = $2 AND name = 'locked'")
                .bind(true)
                .bind(env.repo.id as i32)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .expect("lock");
        let before = tag_rows(&env).await;

        let err = env
            .reg
            .put_manifest(&env.repo, Some("locked"), &m2)
            .await
            .expect_err("overwrite refused");
        assert!(
            matches!(&err, DomainError::Meta(quayside_meta::MetaError::TagImmutable { tag }) if tag == "locked"),
            "{b}: {err:?}"
        );
        // Re-pushing the manifest the tag already names changes nothing and succeeds.
        env.reg
            .put_manifest(&env.repo, Some("locked"), &m1)
            .await
            .expect("same manifest");
        let err = env
            .reg
            .delete_by_tag(&env.repo, "locked")
            .await
            .expect_err("delete refused");
        assert!(
            matches!(
                err,
                DomainError::Meta(quayside_meta::MetaError::TagImmutable { .. })
            ),
            "{b}: {err:?}"
        );
        let err = env
            .reg
            .delete_by_digest(&env.repo, m1.digest())
            .await
            .expect_err("delete by digest refused");
        assert!(
            matches!(
                err,
                DomainError::Meta(quayside_meta::MetaError::TagImmutable { .. })
            ),
            "{b}: {err:?}"
        );
        // The refused push wrote nothing (its transaction rolled back as a whole).
        let after: Vec<_> = tag_rows(&env).await;
        assert_eq!(after, before, "{b}: nothing was written");
        assert_eq!(
            found(
                env.reg
                    .manifest_by_tag(&env.repo, "locked")
                    .await
                    .expect("by tag")
            )
            .digest,
            *m1.digest()
        );
        env.cleanup().await;
    }
}

/// Records that an expiry notification fired for tag row `tag_id` (Quay's
/// `tagnotificationsuccess`, with the notification it belongs to).
async fn notified(env: &Env, tag_id: i32) {
    with_pool!(env.db(), pool => {
        async {
            let n: i32 = sqlx::query_scalar(
                "INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, title, \
                 config_json, event_config_json, number_of_failures) VALUES ($1, $2, \
                 (SELECT id FROM externalnotificationevent WHERE name = 'repo_image_expiry'), \
                 (SELECT id FROM externalnotificationmethod WHERE name = 'email'), 't', '{}', '{}', 0) \
                 RETURNING id",
            )
            .bind(format!("n-{tag_id}"))
            .bind(env.repo.id as i32)
            .fetch_one(pool)
            .await?;
            sqlx::query(
                "INSERT INTO tagnotificationsuccess (notification_id, tag_id, method_id) VALUES \
                 ($1, $2, (SELECT id FROM externalnotificationmethod WHERE name = 'email'))",
            )
            .bind(n)
            .bind(tag_id)
            .execute(pool)
            .await
            .map(|_| ())
        }
        .await
    })
    .expect("notification rows");
}

async fn alive_tag_id(env: &Env, name: &str) -> i32 {
    with_pool!(env.db(), pool => {
        sqlx::query_scalar(
            "SELECT id FROM tag WHERE repository_id = $1 AND name = $2 AND lifetime_end_ms IS NULL",
        )
        .bind(env.repo.id as i32)
        .bind(name)
        .fetch_one(pool)
        .await
    })
    .expect("alive tag")
}

async fn notifications_of(env: &Env, tag_id: i32) -> i64 {
    scalar_i64(
        env.db(),
        "SELECT COUNT(*) FROM tagnotificationsuccess WHERE tag_id = $1",
        &[Arg::I(i64::from(tag_id))],
    )
    .await
}

/// Every write that ends a tag row ends it the one way (the API's): a `/v2` retarget, delete
/// by tag and delete by digest all clear the row's expiry notifications, so a tag that lives
/// again is notified again.
#[tokio::test]
async fn every_tag_end_clears_its_expiry_notifications() {
    for b in backends() {
        let env = Env::new(b).await;
        let one = layout_manifest(
            "artifact",
            "sha256:8f2758c9d4ccf638dc095a2c1403bcaac8e2e686899ebe7d5d63497d9182ef01",
        );
        let two = layout_manifest(
            "artifact",
            "sha256:4ae8df94409ed6583bfb197247ac813c2859907a8e51ee2c63bb37e79ea21cc3",
        );
        for m in [&one, &two] {
            push_manifest_blobs(&env, "artifact", m).await;
        }
        // Retarget by push.
        env.reg
            .put_manifest(&env.repo, Some("t"), &one)
            .await
            .expect("one");
        let first = alive_tag_id(&env, "t").await;
        notified(&env, first).await;
        env.reg
            .put_manifest(&env.repo, Some("t"), &two)
            .await
            .expect("two");
        assert_eq!(notifications_of(&env, first).await, 0, "{b}: retarget");
        // Delete by tag.
        let second = alive_tag_id(&env, "t").await;
        notified(&env, second).await;
        assert!(env.reg.delete_by_tag(&env.repo, "t").await.expect("delete"));
        assert_eq!(
            notifications_of(&env, second).await,
            0,
            "{b}: delete by tag"
        );
        // Delete by digest.
        env.reg
            .put_manifest(&env.repo, Some("d"), &one)
            .await
            .expect("one again");
        let third = alive_tag_id(&env, "d").await;
        notified(&env, third).await;
        assert!(env
            .reg
            .delete_by_digest(&env.repo, one.digest())
            .await
            .expect("delete by digest"));
        assert_eq!(
            notifications_of(&env, third).await,
            0,
            "{b}: delete by digest"
        );
        env.cleanup().await;
    }
}

/// `FEATURE_SPARSE_INDEX` with `SPARSE_INDEX_REQUIRED_ARCHS: [amd64]`: an index whose
/// arm64 and arm/v7 children were never pushed is stored (and pulls) with the amd64 child
/// linked; without amd64 it is refused; with the feature off every child is required.
#[tokio::test]
async fn sparse_index_needs_only_the_required_architectures() {
    const INDEX: &str = "sha256:0bd5b262e3a720e4ceb3552412b9aff5a4559df0b79ded92825825fe3ac4d245";
    let required = |archs: &[&str]| {
        quayside_domain::RegistrySettings::sparse_index(
            true,
            &archs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        quayside_domain::RegistrySettings::sparse_index(false, &["amd64".to_string()]),
        None,
        "the list means nothing with the feature off"
    );
    assert_eq!(
        quayside_domain::RegistrySettings::sparse_index(true, &[]),
        None,
        "an empty list requires every child, as in Quay"
    );
    for b in backends() {
        let settings = quayside_domain::RegistrySettings {
            sparse_required_archs: required(&["amd64"]),
            ..Default::default()
        };
        let env = Env::with_settings(b, settings).await;
        let index = layout_manifest("multiarch", INDEX);
        let err = env
            .reg
            .put_manifest(&env.repo, Some("latest"), &index)
            .await
            .expect_err("the required amd64 child is missing");
        assert!(
            matches!(err, DomainError::ManifestInvalid(_)),
            "{b}: {err:?}"
        );

        let amd64 = index
            .manifests()
            .iter()
            .find(|c| {
                c.platform
                    .as_ref()
                    .is_some_and(|p| p.architecture == "amd64")
            })
            .expect("amd64 child");
        let cm = layout_manifest("multiarch", &amd64.digest.to_string());
        push_manifest_blobs(&env, "multiarch", &cm).await;
        env.reg
            .put_manifest(&env.repo, None, &cm)
            .await
            .expect("amd64 child");
        let stored = env
            .reg
            .put_manifest(&env.repo, Some("latest"), &index)
            .await
            .expect("sparse index");
        assert_eq!(stored.bytes.as_ref(), index.bytes());
        let children = scalar_i64(
            env.db(),
            "SELECT COUNT(*) FROM manifestchild WHERE manifest_id = $1",
            &[Arg::I(stored.id)],
        )
        .await;
        assert_eq!(children, 1, "{b}: only the present child is linked");
        let pulled = found(
            env.reg
                .manifest_by_tag(&env.repo, "latest")
                .await
                .expect("lookup"),
        );
        assert_eq!(pulled.bytes.as_ref(), index.bytes());
        env.cleanup().await;

        // amd64 and arm64 required: arm64 is missing.
        let settings = quayside_domain::RegistrySettings {
            sparse_required_archs: required(&["amd64", "arm64"]),
            ..Default::default()
        };
        let env = Env::with_settings(b, settings).await;
        push_manifest_blobs(&env, "multiarch", &cm).await;
        env.reg
            .put_manifest(&env.repo, None, &cm)
            .await
            .expect("amd64 child");
        let err = env
            .reg
            .put_manifest(&env.repo, Some("latest"), &index)
            .await
            .expect_err("arm64 is required too");
        assert!(
            matches!(err, DomainError::ManifestInvalid(_)),
            "{b}: {err:?}"
        );
        env.cleanup().await;
    }
}
