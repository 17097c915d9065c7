//! This crate's harness over quayside-testkit's registry one: a worker context on the same
//! database and storage, moving time for GC, and row/object counting.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quayside_domain::RegistrySettings;
use quayside_meta::{with_pool, Backend, Db};
use quayside_metrics::Metrics;
use quayside_oci::Digest;
use quayside_testkit::registry::RegistryEnv;
use quayside_testkit::sql::{exec, Arg};
use quayside_workers::{WorkerContext, WorkerSettings};

/// Tables GC touches, counted before/after.
pub const TABLES: &[&str] = &[
    "tag",
    "manifest",
    "manifestblob",
    "manifestchild",
    "manifestlabel",
    "label",
    "imagestorage",
    "imagestorageplacement",
    "uploadedblob",
    "blobupload",
];

/// quayside-testkit's [`RegistryEnv`] (database, storage, registry, `devtable/simple`;
/// reached through `Deref`) plus what the worker tests do with it.
pub struct Env(RegistryEnv);

impl std::ops::Deref for Env {
    type Target = RegistryEnv;

    fn deref(&self) -> &RegistryEnv {
        &self.0
    }
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        Env(RegistryEnv::new(backend).await)
    }

    pub async fn with_settings(backend: Backend, settings: RegistrySettings) -> Env {
        Env(RegistryEnv::with_settings(backend, settings).await)
    }

    pub fn context(&self) -> WorkerContext {
        let config = quayside_config::Config::from_yaml_str("{}\n").expect("config");
        let live = Arc::new(quayside_config::LiveSettings::from_config(&config));
        WorkerContext::new(
            self.db().clone(),
            self.storage.clone(),
            Metrics::new(),
            live,
            WorkerSettings::from_config(&config),
        )
    }

    /// The namespace's time-machine window.
    pub async fn set_window(&self, seconds: i32) {
        exec(
            self.db(),
            "UPDATE \"user\" SET removed_tag_expiration_s = $1 WHERE id = $2",
            &[
                Arg::I(i64::from(seconds)),
                Arg::I(i64::from(self.namespace_id)),
            ],
        )
        .await;
    }

    /// Moves time: every upload link and every temporary tag expires now-1s.
    pub async fn expire_links(&self) {
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
        with_pool!(self.db(), pool => {
            sqlx::query("UPDATE uploadedblob SET expires_at = $1").bind(past).execute(pool).await.map(|_| ())
        })
        .expect("expire links");
        let past_ms = chrono::Utc::now().timestamp_millis() - 1000;
        with_pool!(self.db(), pool => {
            sqlx::query("UPDATE tag SET lifetime_end_ms = $1 - id WHERE name LIKE '$temp-%' AND lifetime_end_ms IS NOT NULL")
                .bind(past_ms)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("expire temp tags");
    }

    /// Row counts of [`TABLES`] plus `objects` (files under `sha256/`).
    pub async fn counts(&self) -> BTreeMap<&'static str, i64> {
        let mut out = BTreeMap::new();
        for t in TABLES {
            out.insert(*t, self.db().count_rows(t).await.expect("count"));
        }
        out.insert(
            "objects",
            count_objects(&self.dir.path().join("sha256")) as i64,
        );
        out
    }

    pub fn object_exists(&self, digest: &Digest) -> bool {
        self.dir
            .path()
            .join("sha256")
            .join(&digest.hex()[..2])
            .join(digest.hex())
            .exists()
    }

    pub async fn cleanup(self) {
        self.0.cleanup().await;
    }
}

pub fn count_objects(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                count_objects(&p)
            } else {
                1
            }
        })
        .sum()
}

/// Adds a label to a manifest (`label` + `manifestlabel`), as Quay's label API does.
pub async fn add_label(db: &Db, repo_id: i64, manifest_digest: &Digest, key: &str) {
    let mid: i32 = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2")
            .bind(i32::try_from(repo_id).expect("id"))
            .bind(manifest_digest.to_string())
            .fetch_one(pool)
            .await
    })
    .expect("manifest id");
    let lid: i32 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO label (uuid, key, value, media_type_id, source_type_id) VALUES ($1, $2, $3, \
             (SELECT id FROM mediatype WHERE name = 'text/plain'), (SELECT id FROM labelsourcetype WHERE name = 'api')) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(key)
        .bind("value")
        .fetch_one(pool)
        .await
    })
    .expect("label");
    exec(
        db,
        "INSERT INTO manifestlabel (repository_id, manifest_id, label_id) VALUES ($1, $2, $3)",
        &[
            Arg::I(repo_id),
            Arg::I(i64::from(mid)),
            Arg::I(i64::from(lid)),
        ],
    )
    .await;
}

/// Distinct content of `n` bytes.
pub fn content(tag: &str, n: usize) -> Vec<u8> {
    let mut v = tag.as_bytes().to_vec();
    v.extend((0..n).map(|i| (i % 251) as u8));
    v
}
