//! `quayside backup` and `quayside restore`: Quay's backup-and-restore chapter without its
//! manual steps.
//!
//! A backup is a directory, or a prefix of an S3 bucket (`s3://bucket/prefix`, credentials
//! and endpoint from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` and
//! `AWS_ENDPOINT_URL`), written through the same storage layer as blobs:
//! * `quayside-backup.json`: what it holds (format, revision, backend, counts);
//! * `database.sql` (PostgreSQL: a plain `pg_dump`, which Quay's documented restore with
//!   `psql` also takes) or `database.sqlite` (SQLite: `VACUUM INTO`, a consistent copy taken
//!   while the registry serves);
//! * `config/`: the config bundle (`config.yaml` and the files beside it);
//! * `blobs/` (with `--with-blobs`): every stored blob the database references, in Quay's
//!   object layout.
//!
//! A restore goes only into an empty database and empty storage, then checks that every
//! manifest's blobs are present (and, with `--verify-blobs`, that their bytes hash to their
//! digests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use quayside_app::bootstrap::{Resolved, Source};
use quayside_meta::{with_pool, Backend, ConnectOptions, Db, SchemaState};
use quayside_storage::{layout, DistributedStorage, Engine};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Backup format written into `quayside-backup.json`.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "quayside-backup.json";

/// Why a backup or restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Meta(#[from] quayside_meta::MetaError),
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("storage: {0}")]
    Storage(#[from] quayside_storage::StorageError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// `quayside-backup.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupInfo {
    pub format: u32,
    pub created: String,
    pub quayside_version: String,
    pub alembic_revision: String,
    pub backend: String,
    pub database: String,
    pub config_files: Vec<String>,
    /// Blobs copied (`None` without `--with-blobs`).
    pub blobs: Option<u64>,
    pub blob_bytes: Option<u64>,
}

/// Options of [`backup`].
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    pub with_blobs: bool,
    /// Hash every blob while copying it and refuse one whose bytes do not match its digest.
    pub verify_blobs: bool,
}

/// Options of [`restore`].
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub verify_blobs: bool,
}

/// A stored blob and where it is placed.
#[derive(Debug, Clone)]
struct StoredBlob {
    path: String,
    digest: Option<String>,
    locations: Vec<String>,
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {pos}/{len} ({bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

async fn connect(resolved: &Resolved) -> Result<Db, BackupError> {
    let opts = ConnectOptions {
        create_sqlite_if_missing: true,
        ..ConnectOptions::default()
    };
    Ok(Db::connect(&resolved.config.db_uri, &opts).await?)
}

fn storage(resolved: &Resolved) -> Result<DistributedStorage, BackupError> {
    let config = &resolved.config;
    Ok(DistributedStorage::open(
        &quayside_app::checks::storage_locations(config),
        &quayside_app::assemble::effective_preference(config),
    )?)
}

/// Where a backup lives: a local directory, or `s3://bucket[/prefix]`.
pub fn open_store(target: &str) -> Result<Engine, BackupError> {
    let mut params = serde_json::Map::new();
    let driver = if let Some(rest) = target.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BackupError::Refused(format!("{target}: no bucket named")));
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(BackupError::Refused(format!(
                "{target}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL \
                 for a store other than AWS)"
            )));
        };
        params.insert("s3_bucket".into(), bucket.into());
        params.insert("storage_path".into(), format!("/{prefix}").into());
        params.insert("s3_access_key".into(), key.into());
        params.insert("s3_secret_key".into(), secret.into());
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        params.insert("s3_region".into(), region.into());
        if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
            params.insert("endpoint_url".into(), endpoint.into());
        }
        "S3Storage"
    } else {
        let dir = Path::new(target);
        std::fs::create_dir_all(dir).map_err(io(format!("create {target}")))?;
        let abs = dir
            .canonicalize()
            .map_err(io(format!("resolve {target}")))?;
        params.insert(
            "storage_path".into(),
            abs.to_string_lossy().to_string().into(),
        );
        "LocalStorage"
    };
    Ok(Engine::open(&quayside_storage::LocationConfig {
        id: "backup".into(),
        driver: driver.into(),
        params,
        ..Default::default()
    })?)
}

/// Streams `path` of `from` into `to_path` of `to`; returns the digest and length of the
/// bytes that went through.
async fn transfer(
    from: &Engine,
    path: &str,
    to: &Engine,
    to_path: &str,
) -> Result<(String, u64), BackupError> {
    let mut stream = from.stream(path, None).await?;
    let mut writer = to.writer(to_path, false).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(io(format!("read {path}")))?;
        writer.write(chunk).await?;
    }
    let written = writer.finish().await?;
    Ok((written.digest, written.len))
}

/// The directory holding `config.yaml`.
fn config_dir(resolved: &Resolved) -> &Path {
    match &resolved.source {
        Source::ConfigDir(dir) | Source::Embedded(dir) => dir,
    }
}

/// Every blob the database has stored (not still uploading), with its placements.
async fn stored_blobs(db: &Db) -> Result<Vec<StoredBlob>, BackupError> {
    let rows: Vec<(String, Option<String>, bool, String)> = with_pool!(db, pool => sqlx::query_as(
        "SELECT s.uuid, s.content_checksum, s.cas_path, l.name FROM imagestorage s \
         JOIN imagestorageplacement p ON p.storage_id = s.id \
         JOIN imagestoragelocation l ON l.id = p.location_id \
         WHERE s.uploading = $1 ORDER BY s.id")
        .bind(false).fetch_all(pool).await)?;
    let mut by_path: BTreeMap<String, StoredBlob> = BTreeMap::new();
    for (uuid, checksum, cas, location) in rows {
        let Some(path) = layout::stored_blob_path(cas, checksum.as_deref(), &uuid) else {
            continue;
        };
        by_path
            .entry(path.clone())
            .or_insert_with(|| StoredBlob {
                path,
                digest: checksum.clone(),
                locations: Vec::new(),
            })
            .locations
            .push(location);
    }
    Ok(by_path.into_values().collect())
}

/// A libpq URI and password for `pg_dump`/`psql` from Quay's `DB_URI` (the password goes
/// through `PGPASSWORD`, never the command line).
fn libpq(db_uri: &str) -> Result<(String, Option<String>), BackupError> {
    let normalized = match db_uri.split_once("://") {
        Some((_, rest)) => format!("postgresql://{rest}"),
        None => {
            return Err(BackupError::Refused(format!(
                "DB_URI {db_uri:?} is not a URI"
            )))
        }
    };
    let mut url = url::Url::parse(&normalized)
        .map_err(|e| BackupError::Refused(format!("DB_URI is not a valid URI: {e}")))?;
    // Percent-decoded as libpq decodes a URI's password ('+' stays '+').
    let password = url.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let _ = url.set_password(None);
    Ok((url.to_string(), password))
}

async fn run_tool(
    tool: &'static str,
    args: &[&str],
    password: Option<&str>,
) -> Result<(), BackupError> {
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.map_err(|e| BackupError::Tool {
        tool,
        detail: format!(
            "could not run it ({e}); install the PostgreSQL client (Debian postgresql-client)"
        ),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::Tool {
            tool,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The SQLite file a `sqlite:///…` DB_URI names.
fn sqlite_path(db_uri: &str) -> Result<PathBuf, BackupError> {
    quayside_meta::sqlite_file(db_uri)
        .ok_or_else(|| BackupError::Refused(format!("DB_URI {db_uri} names no SQLite file")))
}

/// Takes a backup of the registry `resolved` describes into `to` (created; must be empty
/// or absent). Safe while the registry serves.
pub async fn backup(
    resolved: &Resolved,
    target: &str,
    opts: &BackupOptions,
) -> Result<BackupInfo, BackupError> {
    let store = open_store(target)?;
    let local_files = !target.starts_with("s3://")
        && std::fs::read_dir(target)
            .map_err(io(format!("read {target}")))?
            .next()
            .is_some();
    let mut holds = local_files;
    for name in [MANIFEST, "database.sql", "database.sqlite"] {
        holds |= store.exists(name).await?;
    }
    for prefix in ["blobs/", "config/"] {
        holds |= !store.list(prefix).await?.is_empty();
    }
    if holds {
        return Err(BackupError::Refused(format!(
            "{target} is not empty; a backup goes into a new directory or prefix"
        )));
    }
    // Database dumps are made locally first (pg_dump and SQLite write files), then stored.
    let scratch = tempfile::tempdir().map_err(io("create a scratch directory"))?;
    let to = scratch.path();
    let db = connect(resolved).await?;
    let revision = match db.schema_state().await? {
        SchemaState::AtHead => quayside_meta::ALEMBIC_REVISION.to_string(),
        SchemaState::OtherRevision(r) => r,
        other => {
            return Err(BackupError::Refused(format!(
                "the database holds no Quay registry to back up ({other:?})"
            )))
        }
    };

    // The database first: blobs are content-addressed and only ever added by pushes, so
    // every blob the dump references is still there afterwards unless GC removed it.
    let database = match db.backend() {
        Backend::Postgres => {
            let (uri, password) = libpq(&resolved.config.db_uri)?;
            let file = to.join("database.sql");
            let file_s = file.to_string_lossy().to_string();
            run_tool(
                "pg_dump",
                &[
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    &file_s,
                    "--dbname",
                    &uri,
                ],
                password.as_deref(),
            )
            .await?;
            "database.sql"
        }
        Backend::Sqlite => {
            let file = to.join("database.sqlite");
            let target = file.to_string_lossy().replace('\'', "''");
            with_pool!(db, pool => sqlx::query(&format!("VACUUM INTO '{target}'"))
                .execute(pool).await.map(|_| ()))?;
            "database.sqlite"
        }
    };
    copy_in(&store, &to.join(database), database).await?;

    // The config bundle: the files beside config.yaml (not the database or the blobs).
    let mut config_files = Vec::new();
    let src = config_dir(resolved);
    let skip = sqlite_path(&resolved.config.db_uri).ok();
    if src.join("config.yaml").is_file() {
        for entry in std::fs::read_dir(src).map_err(io(format!("read {}", src.display())))? {
            let entry = entry.map_err(io(format!("read {}", src.display())))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            let is_db = skip.as_ref().is_some_and(|db| {
                path == *db || name.starts_with(&format!("{}-", db_file_name(db)))
            });
            if !path.is_file() || is_db {
                continue;
            }
            copy_in(&store, &path, &format!("config/{name}")).await?;
            config_files.push(name);
        }
        config_files.sort();
    }

    let (mut blobs, mut blob_bytes) = (None, None);
    if opts.with_blobs {
        let storage = storage(resolved)?;
        let list = stored_blobs(&db).await?;
        let bar = progress(list.len() as u64, "blobs");
        let (mut n, mut bytes) = (0u64, 0u64);
        for blob in &list {
            let Some(engine) = storage.read_location(&blob.locations) else {
                bar.abandon();
                return Err(BackupError::Refused(format!(
                    "blob {} is placed only in {:?}, which the configuration does not have",
                    blob.path, blob.locations
                )));
            };
            let (digest, len) =
                transfer(engine, &blob.path, &store, &format!("blobs/{}", blob.path)).await?;
            if opts.verify_blobs && blob.digest.as_deref().is_some_and(|d| d != digest) {
                bar.abandon();
                return Err(BackupError::Refused(format!(
                    "blob {} hashes to {digest}, not to its digest {}",
                    blob.path,
                    blob.digest.as_deref().unwrap_or_default()
                )));
            }
            n += 1;
            bytes += len;
            bar.inc(1);
        }
        bar.finish_and_clear();
        blobs = Some(n);
        blob_bytes = Some(bytes);
    }
    db.close().await;

    let info = BackupInfo {
        format: FORMAT,
        created: chrono::Utc::now().to_rfc3339(),
        quayside_version: env!("CARGO_PKG_VERSION").to_string(),
        alembic_revision: revision,
        backend: db.backend().to_string(),
        database: database.to_string(),
        config_files,
        blobs,
        blob_bytes,
    };
    let json = serde_json::to_vec_pretty(&info).unwrap_or_default();
    store.put(MANIFEST, json).await?;
    Ok(info)
}

fn db_file_name(db: &Path) -> String {
    db.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Reads a backup's `quayside-backup.json`.
pub async fn read_info(store: &Engine, from: &str) -> Result<BackupInfo, BackupError> {
    if !store.exists(MANIFEST).await? {
        return Err(BackupError::Refused(format!(
            "{from} is not a quayside backup (no {MANIFEST})"
        )));
    }
    let text = store.get(MANIFEST).await?;
    let info: BackupInfo = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Refused(format!("{MANIFEST} in {from} is unreadable: {e}")))?;
    if info.format != FORMAT {
        return Err(BackupError::Refused(format!(
            "backup format {} is not {FORMAT}, the one this quayside reads",
            info.format
        )));
    }
    Ok(info)
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub blobs_checked: u64,
    /// `<digest or path>: <what is wrong>`, one per problem.
    pub problems: Vec<String>,
}

/// Checks that every blob a manifest references is stored in a location it is placed in,
/// and with `verify_blobs` that its bytes hash to its digest.
pub async fn verify(resolved: &Resolved, verify_blobs: bool) -> Result<Verification, BackupError> {
    let db = connect(resolved).await?;
    let storage = storage(resolved)?;
    let rows: Vec<(String, Option<String>, bool, String)> = with_pool!(db, pool => sqlx::query_as(
        "SELECT DISTINCT s.uuid, s.content_checksum, s.cas_path, l.name FROM manifestblob mb \
         JOIN imagestorage s ON s.id = mb.blob_id \
         JOIN imagestorageplacement p ON p.storage_id = s.id \
         JOIN imagestoragelocation l ON l.id = p.location_id")
        .fetch_all(pool).await)?;
    let unplaced: Vec<(String,)> = with_pool!(db, pool => sqlx::query_as(
        "SELECT DISTINCT COALESCE(s.content_checksum, s.uuid) FROM manifestblob mb \
         JOIN imagestorage s ON s.id = mb.blob_id WHERE NOT EXISTS \
         (SELECT 1 FROM imagestorageplacement p WHERE p.storage_id = s.id)")
        .fetch_all(pool).await)?;
    db.close().await;
    let mut by_path: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    for (uuid, checksum, cas, loc) in rows {
        if let Some(path) = layout::stored_blob_path(cas, checksum.as_deref(), &uuid) {
            by_path
                .entry(path)
                .or_insert((checksum, Vec::new()))
                .1
                .push(loc);
        }
    }
    let mut out = Verification::default();
    for (d,) in unplaced {
        out.problems.push(format!("{d}: no storage placement"));
    }
    let bar = progress(by_path.len() as u64, "verify");
    for (path, (digest, locations)) in &by_path {
        bar.inc(1);
        out.blobs_checked += 1;
        let name = digest.clone().unwrap_or_else(|| path.clone());
        let Some(engine) = storage.read_location(locations) else {
            out.problems.push(format!(
                "{name}: placed only in {locations:?}, which the configuration does not have"
            ));
            continue;
        };
        if !engine.exists(path).await? {
            out.problems.push(format!(
                "{name}: missing from storage location {}",
                engine.id()
            ));
            continue;
        }
        if verify_blobs {
            let mut stream = engine.stream(path, None).await?;
            let mut hash = Sha256::new();
            while let Some(chunk) = stream.next().await {
                hash.update(&chunk.map_err(io(format!("read {path}")))?);
            }
            let got = format!("sha256:{}", hex::encode(hash.finalize()));
            if digest.as_deref().is_some_and(|d| d != got) {
                out.problems
                    .push(format!("{name}: stored bytes hash to {got}"));
            }
        }
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Restores the backup in `from` into the (empty) database and storage `resolved`
/// describes, then verifies it.
pub async fn restore(
    resolved: &Resolved,
    from: &str,
    opts: &RestoreOptions,
) -> Result<(BackupInfo, Verification), BackupError> {
    let store = open_store(from)?;
    let info = read_info(&store, from).await?;
    let db = connect(resolved).await?;
    if db.backend().to_string() != info.backend {
        return Err(BackupError::Refused(format!(
            "the backup holds a {} database; this configuration's DB_URI is {}",
            info.backend,
            db.backend()
        )));
    }
    if db.schema_state().await? != SchemaState::Empty {
        return Err(BackupError::Refused(format!(
            "the database {} is not empty; a restore goes only into an empty database \
             (nothing was changed)",
            db.target()
        )));
    }
    let storage = storage(resolved)?;
    for engine in storage.engines() {
        if !engine.list("sha256/").await?.is_empty() {
            return Err(BackupError::Refused(format!(
                "storage location {} already holds blobs; a restore goes only into empty \
                 storage (nothing was changed)",
                engine.id()
            )));
        }
    }
    // The database file, fetched for psql or put in place.
    let scratch = tempfile::tempdir().map_err(io("create a scratch directory"))?;
    let dump = scratch.path().join(&info.database);
    {
        let mut out = tokio::fs::File::create(&dump)
            .await
            .map_err(io(format!("create {}", dump.display())))?;
        let mut stream = store.stream(&info.database, None).await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io(format!("read {}", info.database)))?;
            out.write_all(&chunk)
                .await
                .map_err(io(format!("write {}", dump.display())))?;
        }
        out.flush()
            .await
            .map_err(io(format!("write {}", dump.display())))?;
    }

    match db.backend() {
        Backend::Postgres => {
            db.close().await;
            let (uri, password) = libpq(&resolved.config.db_uri)?;
            let file = dump.to_string_lossy().to_string();
            run_tool(
                "psql",
                &[
                    "--quiet",
                    "--no-psqlrc",
                    "--set",
                    "ON_ERROR_STOP=1",
                    "--single-transaction",
                    "--file",
                    &file,
                    "--dbname",
                    &uri,
                ],
                password.as_deref(),
            )
            .await?;
        }
        Backend::Sqlite => {
            db.close().await;
            let target = sqlite_path(&resolved.config.db_uri)?;
            // The empty database file the check opened goes; the snapshot takes its place.
            for suffix in ["", "-wal", "-shm"] {
                let p = PathBuf::from(format!("{}{suffix}", target.display()));
                if p.exists() {
                    tokio::fs::remove_file(&p)
                        .await
                        .map_err(io(format!("remove {}", p.display())))?;
                }
            }
            tokio::fs::copy(&dump, &target)
                .await
                .map_err(io(format!("copy into {}", target.display())))?;
        }
    }

    if info.blobs.is_some() {
        let db = connect(resolved).await?;
        let list = stored_blobs(&db).await?;
        db.close().await;
        let bar = progress(list.len() as u64, "blobs");
        for blob in &list {
            bar.inc(1);
            let stored = format!("blobs/{}", blob.path);
            if !store.exists(&stored).await? {
                // Reported by the verification below.
                continue;
            }
            let targets: Vec<&Engine> = blob
                .locations
                .iter()
                .filter_map(|l| storage.engine(l))
                .collect();
            if targets.is_empty() {
                bar.abandon();
                return Err(BackupError::Refused(format!(
                    "blob {} is placed in {:?}; this configuration has none of them \
                     (keep the location names of DISTRIBUTED_STORAGE_CONFIG)",
                    blob.path, blob.locations
                )));
            }
            for engine in targets {
                transfer(&store, &stored, engine, &blob.path).await?;
            }
        }
        bar.finish_and_clear();
    }
    let verification = verify(resolved, opts.verify_blobs).await?;
    Ok((info, verification))
}

async fn copy_in(engine: &Engine, file: &Path, path: &str) -> Result<(), BackupError> {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(file)
        .await
        .map_err(io(format!("open {}", file.display())))?;
    let mut writer = engine.writer(path, false).await?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .await
            .map_err(io(format!("read {}", file.display())))?;
        if n == 0 {
            break;
        }
        writer.write(bytes_of(&buf[..n])).await?;
    }
    writer.finish().await?;
    Ok(())
}

fn bytes_of(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_uri_keeps_the_password_out_and_decodes_it() {
        let (uri, password) =
            libpq("postgresql+psycopg2://quay:p%40ss+word@db.example:5432/quay").expect("uri");
        assert_eq!(uri, "postgresql://quay@db.example:5432/quay");
        assert_eq!(password.as_deref(), Some("p@ss+word"));
        let (uri, password) = libpq("postgresql://db.example/quay").expect("uri");
        assert_eq!(uri, "postgresql://db.example/quay");
        assert_eq!(password, None);
        assert!(libpq("not a uri").is_err());
    }
}
