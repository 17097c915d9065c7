//! Connection handling, schema detection and migration for Quay's metadata database.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::schema::{self, Dialect};
use crate::{MetaError, ALEMBIC_REVISION};

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn dialect(self) -> Dialect {
        match self {
            Backend::Postgres => Dialect::Postgres,
            Backend::Sqlite => Dialect::Sqlite,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        })
    }
}

/// Connection settings. `args` is Quay's `DB_CONNECTION_ARGS`; recognised keys
/// (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `connect_timeout` [s], `max_connections`)
/// override the URI and the fields here; `threadlocals`, `autorollback`, `stale_timeout`
/// are ignored.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub create_sqlite_if_missing: bool,
    pub args: serde_json::Map<String, Value>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 10,
            connect_timeout: Duration::from_secs(10),
            create_sqlite_if_missing: true,
            args: serde_json::Map::new(),
        }
    }
}

/// What an existing database contains, relative to [`ALEMBIC_REVISION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No tables (other than quayside's own `quayside_*`).
    Empty,
    /// Quay schema stamped at [`ALEMBIC_REVISION`].
    AtHead,
    /// Quay schema stamped at another Alembic revision.
    OtherRevision(String),
    /// Tables exist but there is no (or an empty) `alembic_version`.
    NotQuay,
}

/// Result of [`Db::migrate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateOutcome {
    /// The database was empty; Quay's schema, seed rows and quayside tables were created.
    Created,
    /// Already at [`ALEMBIC_REVISION`]; only quayside's own tables were ensured.
    AlreadyAtHead,
}

/// The pool behind a [`Db`]. Prefer [`with_pool!`](crate::with_pool) over matching by hand.
#[derive(Debug, Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same block against whichever pool a [`Db`] holds; `$pool` is bound to
/// `&PgPool` or `&SqlitePool`. Write SQL once with `$1`-style placeholders (both sqlx
/// backends accept them).
///
/// ```ignore
/// let n: i64 = with_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM role").fetch_one(pool).await)?;
/// ```
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.pool() {
            $crate::Pool::Postgres($pool) => $body,
            $crate::Pool::Sqlite($pool) => $body,
        }
    };
}

/// How each backend opens a transaction that may write, and takes a [`TxLock`] in it.
///
/// On SQLite a deferred `BEGIN` that reads and then writes fails at once with "database is
/// locked" when another connection committed in between: WAL cannot upgrade its read
/// snapshot, and `busy_timeout` does not wait for that case. `BEGIN IMMEDIATE` takes the write
/// lock first and waits its turn under `busy_timeout`, so SQLite needs no further lock.
/// PostgreSQL: a plain `BEGIN`, and a transaction-scoped advisory lock per [`TxLock`].
pub(crate) trait WriteBegin {
    const BEGIN: &'static str;
    const LOCK: Option<&'static str>;
}

impl WriteBegin for sqlx::PgPool {
    const BEGIN: &'static str = "BEGIN";
    const LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock($1)");
}

impl WriteBegin for sqlx::SqlitePool {
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const LOCK: Option<&'static str> = None;
}

pub(crate) fn write_begin<P: WriteBegin>(_pool: &P) -> &'static str {
    P::BEGIN
}

pub(crate) fn lock_statement<P: WriteBegin>(_pool: &P) -> Option<&'static str> {
    P::LOCK
}

/// What a write transaction serialises on, so writes that must not interleave (a push and an
/// API tag write to one repository; two commits of one blob digest; GC and a push) wait for
/// each other. Key spaces are disjoint by their high bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxLock {
    /// The tags and manifests of one repository.
    Repository(i32),
    /// The `imagestorage` rows of one content digest (`sha256:<hex>`).
    Blob(u32),
}

impl TxLock {
    const REPOSITORY_BASE: i64 = 0x5155_4159_0000_0000; // "QUAY" in the high bytes
    const BLOB_BASE: i64 = 0x5155_4142_0000_0000;

    /// The lock of the blob `digest`: its first 32 bits of hex (a digest without them shares
    /// key 0, which only serialises more).
    pub(crate) fn blob(digest: &str) -> TxLock {
        let hex = digest.rsplit(':').next().unwrap_or_default();
        let low = hex
            .get(..8)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        TxLock::Blob(low)
    }

    pub(crate) fn key(self) -> i64 {
        match self {
            TxLock::Repository(id) => Self::REPOSITORY_BASE | i64::from(id as u32),
            TxLock::Blob(low) => Self::BLOB_BASE | i64::from(low),
        }
    }
}

/// Opens a write transaction on `$pool` (the binding of an enclosing `with_pool!`) and, given
/// a [`TxLock`], takes it before anything is read. Errors return through `?`.
macro_rules! begin_write {
    ($pool:ident) => {
        $pool.begin_with($crate::db::write_begin($pool)).await?
    };
    ($pool:ident, $lock:expr) => {{
        let mut tx = $pool.begin_with($crate::db::write_begin($pool)).await?;
        $crate::db::take_lock!(tx, $pool, $lock);
        tx
    }};
}
pub(crate) use begin_write;

/// Takes a [`TxLock`] inside the open transaction `$tx` (for a lock whose key is only known
/// after a first read).
macro_rules! take_lock {
    ($tx:ident, $pool:ident, $lock:expr) => {
        if let Some(sql) = $crate::db::lock_statement($pool) {
            sqlx::query(sql)
                .bind($crate::db::TxLock::key($lock))
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(crate) use take_lock;

/// Cheaply clonable handle to Quay's metadata database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    target: Arc<str>,
}

impl Db {
    /// Connects using a Quay `DB_URI` (`postgresql://`, `postgresql+psycopg2://`,
    /// `postgres://`, `sqlite:///relative`, `sqlite:////absolute`, `sqlite:///:memory:`).
    /// Errors name the target but never contain the password.
    pub async fn connect(db_uri: &str, opts: &ConnectOptions) -> Result<Db, MetaError> {
        let db_uri = db_uri.trim();
        let Some((scheme, rest)) = db_uri.split_once("://") else {
            return Err(MetaError::InvalidConfig(
                "DB_URI must look like postgresql://user:password@host:port/db or sqlite:///path"
                    .into(),
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        let driver = scheme.split('+').next().unwrap_or_default();
        let settings = Settings::from(opts)?;
        match driver {
            "postgresql" | "postgres" => connect_pg(db_uri, &settings).await,
            "sqlite" => connect_sqlite(rest, opts.create_sqlite_if_missing, &settings).await,
            "mysql" | "mariadb" => Err(MetaError::Unsupported(format!(
                "DB_URI scheme `{scheme}`: MySQL/MariaDB is not supported by quayside; \
                 use PostgreSQL (postgresql://...) or SQLite (sqlite:///...)"
            ))),
            _ => Err(MetaError::Unsupported(format!(
                "DB_URI scheme `{scheme}`: supported schemes are postgresql, postgresql+psycopg2, \
                 postgres and sqlite"
            ))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Postgres(_) => Backend::Postgres,
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The underlying pool; see [`with_pool!`](crate::with_pool).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Human-readable connection target (`host:port/db` or file path), without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Closes all pooled connections.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }

    /// Real round trip to the database.
    pub async fn ping(&self) -> Result<(), MetaError> {
        let one: i32 =
            with_pool!(self, pool => sqlx::query_scalar("SELECT 1").fetch_one(pool).await)?;
        if one == 1 {
            Ok(())
        } else {
            Err(MetaError::Query(sqlx::Error::Protocol(format!(
                "SELECT 1 returned {one}"
            ))))
        }
    }

    /// Names of all base tables in the database (current schema on PostgreSQL).
    pub async fn table_names(&self) -> Result<Vec<String>, MetaError> {
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            }
        };
        let mut names: Vec<String> =
            with_pool!(self, pool => sqlx::query_scalar(sql).fetch_all(pool).await)?;
        names.sort();
        Ok(names)
    }

    /// Classifies the database relative to [`ALEMBIC_REVISION`].
    pub async fn schema_state(&self) -> Result<SchemaState, MetaError> {
        let tables = self.table_names().await?;
        let quay_tables: Vec<&String> = tables
            .iter()
            .filter(|t| !t.starts_with("quayside_"))
            .collect();
        if quay_tables.is_empty() {
            return Ok(SchemaState::Empty);
        }
        if !quay_tables.iter().any(|t| t.as_str() == "alembic_version") {
            return Ok(SchemaState::NotQuay);
        }
        let versions: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT version_num FROM alembic_version")
                .fetch_all(pool)
                .await
        })?;
        Ok(match versions.as_slice() {
            [] => SchemaState::NotQuay,
            [v] if v == ALEMBIC_REVISION => SchemaState::AtHead,
            [v] => SchemaState::OtherRevision(v.clone()),
            many => SchemaState::OtherRevision(many.join(",")),
        })
    }

    /// Brings the database to quayside's expected state. Idempotent.
    ///
    /// * empty → Quay's full schema + seed rows + `alembic_version` + quayside tables, in
    ///   one transaction (nothing is written on failure);
    /// * at [`ALEMBIC_REVISION`] → only quayside's own `quayside_*` tables are ensured;
    /// * another revision / not a Quay database → [`MetaError::SchemaConflict`], nothing written.
    pub async fn migrate(&self) -> Result<MigrateOutcome, MetaError> {
        match self.schema_state().await? {
            SchemaState::Empty => match self.create_schema().await? {
                true => Ok(MigrateOutcome::Created),
                // Someone else created it concurrently; re-evaluate.
                false => Box::pin(self.migrate()).await,
            },
            SchemaState::AtHead => {
                self.ensure_quayside_tables().await?;
                Ok(MigrateOutcome::AlreadyAtHead)
            }
            SchemaState::OtherRevision(rev) => Err(MetaError::SchemaConflict(format!(
                "database {} is at Quay schema revision {rev}, but this quayside requires \
                 revision {ALEMBIC_REVISION}; upgrade it with `quayside migrate` (see \
                 `quayside migrate --plan`; nothing was changed)",
                self.target
            ))),
            SchemaState::NotQuay => Err(MetaError::SchemaConflict(format!(
                "database {} contains tables but no Quay alembic_version stamp; refusing to \
                 create Quay's schema in a non-empty database that is not a Quay database \
                 (nothing was changed)",
                self.target
            ))),
        }
    }

    /// Creates everything in one transaction. Returns false if another migrator won the
    /// race (PostgreSQL advisory lock + re-check), in which case nothing was written.
    async fn create_schema(&self) -> Result<bool, MetaError> {
        let dialect = self.backend().dialect();
        let statements = schema::full_schema_statements(dialect);
        let quayside = schema::quayside_tables_ddl(dialect);
        let (lock_sql, recheck_sql) = match self.backend() {
            Backend::Postgres => (
                Some("SELECT pg_advisory_xact_lock(7427657369646501)"),
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'alembic_version'",
            ),
            Backend::Sqlite => (
                None,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
            ),
        };
        let now = chrono::Utc::now().naive_utc();
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            if let Some(lock) = lock_sql {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let existing: i64 = sqlx::query_scalar(recheck_sql).fetch_one(&mut *tx).await?;
            if existing > 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            for stmt in statements.iter().chain(quayside.iter()) {
                if let Err(e) = sqlx::query(stmt).persistent(false).execute(&mut *tx).await {
                    tracing::error!(statement = %stmt, error = %e, "schema creation failed");
                    return Err(MetaError::Query(e));
                }
            }
            sqlx::query(RECORD_VERSION_SQL)
                .bind("quayside")
                .bind(schema::QUAYSIDE_SCHEMA_VERSION)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        tracing::info!(target = %self.target, revision = ALEMBIC_REVISION, "created Quay schema");
        Ok(true)
    }

    pub(crate) async fn ensure_quayside_tables(&self) -> Result<(), MetaError> {
        let ddl = schema::quayside_tables_ddl(self.backend().dialect());
        let now = chrono::Utc::now().naive_utc();
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            for stmt in &ddl {
                sqlx::query(stmt).persistent(false).execute(&mut *tx).await?;
            }
            sqlx::query(RECORD_VERSION_SQL)
                .bind("quayside")
                .bind(schema::QUAYSIDE_SCHEMA_VERSION)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// quayside's own schema level (`quayside_schema_version` row `quayside`), if recorded.
    pub async fn quayside_schema_version(&self) -> Result<Option<i32>, MetaError> {
        let v: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT version FROM quayside_schema_version WHERE name = $1")
                .bind("quayside")
                .fetch_optional(pool)
                .await
        })?;
        Ok(v)
    }

    /// Quay boot step: ensure an `imagestoragelocation` row exists for every configured
    /// storage id (`DISTRIBUTED_STORAGE_CONFIG` keys).
    pub async fn sync_storage_locations(&self, names: &[String]) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            for name in names {
                sqlx::query(
                    "INSERT INTO imagestoragelocation (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether the `pg_trgm` extension is installed (PostgreSQL); always false on SQLite.
    pub async fn has_pg_trgm(&self) -> Result<bool, MetaError> {
        match &self.pool {
            Pool::Postgres(pool) => Ok(sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')",
            )
            .fetch_one(pool)
            .await?),
            Pool::Sqlite(_) => Ok(false),
        }
    }
}

const RECORD_VERSION_SQL: &str = "INSERT INTO quayside_schema_version (name, version, applied_at) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";

/// Effective pool settings after applying `DB_CONNECTION_ARGS`.
struct Settings {
    max_connections: u32,
    connect_timeout: Duration,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    sslcert: Option<String>,
    sslkey: Option<String>,
}

impl Settings {
    fn from(opts: &ConnectOptions) -> Result<Settings, MetaError> {
        let mut s = Settings {
            max_connections: opts.max_connections.max(1),
            connect_timeout: opts.connect_timeout,
            sslmode: None,
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
        };
        for (key, value) in &opts.args {
            match key.as_str() {
                "sslmode" => s.sslmode = Some(arg_string(key, value)?),
                "sslrootcert" => s.sslrootcert = Some(arg_string(key, value)?),
                "sslcert" => s.sslcert = Some(arg_string(key, value)?),
                "sslkey" => s.sslkey = Some(arg_string(key, value)?),
                "connect_timeout" => {
                    s.connect_timeout = Duration::from_secs(arg_u64(key, value)?.max(1));
                }
                "max_connections" => {
                    s.max_connections =
                        u32::try_from(arg_u64(key, value)?.max(1)).map_err(|_| {
                            MetaError::InvalidConfig("max_connections is too large".into())
                        })?;
                }
                "threadlocals" | "autorollback" | "stale_timeout" => {}
                other => {
                    tracing::debug!(arg = other, "ignoring unsupported DB_CONNECTION_ARGS key")
                }
            }
        }
        Ok(s)
    }
}

fn arg_string(key: &str, v: &Value) -> Result<String, MetaError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(MetaError::InvalidConfig(format!(
            "DB_CONNECTION_ARGS.{key} must be a string"
        ))),
    }
}

fn arg_u64(key: &str, v: &Value) -> Result<u64, MetaError> {
    let parsed = match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        MetaError::InvalidConfig(format!(
            "DB_CONNECTION_ARGS.{key} must be a non-negative integer"
        ))
    })
}

/// Minimal RFC 3986 percent-decoding for URI user/password/path components.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn connect_pg(db_uri: &str, settings: &Settings) -> Result<Db, MetaError> {
    // The url crate's errors never echo the input, so the password cannot leak here.
    let url = url::Url::parse(db_uri)
        .map_err(|e| MetaError::InvalidConfig(format!("cannot parse PostgreSQL DB_URI: {e}")))?;
    let mut options = PgConnectOptions::new();
    let mut sslmode = None;
    let mut socket_dir: Option<String> = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "sslmode" => sslmode = Some(v.into_owned()),
            "sslrootcert" => options = options.ssl_root_cert(v.as_ref()),
            "sslcert" => options = options.ssl_client_cert(v.as_ref()),
            "sslkey" => options = options.ssl_client_key(v.as_ref()),
            "application_name" => options = options.application_name(v.as_ref()),
            "host" if v.starts_with('/') => socket_dir = Some(v.into_owned()),
            _ => {}
        }
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string());
    let port = url.port().unwrap_or(5432);
    options = options.port(port);
    let host_label = match (&host, &socket_dir) {
        (Some(h), _) => {
            options = options.host(h);
            h.clone()
        }
        (None, Some(dir)) => {
            options = options.socket(dir);
            dir.clone()
        }
        (None, None) => {
            options = options.host("localhost");
            "localhost".to_string()
        }
    };
    if !url.username().is_empty() {
        options = options.username(&percent_decode(url.username()));
    }
    if let Some(pw) = url.password() {
        options = options.password(&percent_decode(pw));
    }
    let database = percent_decode(url.path().trim_start_matches('/'));
    if !database.is_empty() {
        options = options.database(&database);
    }
    if let Some(mode) = settings.sslmode.clone().or(sslmode) {
        let mode = PgSslMode::from_str(&mode).map_err(|_| {
            MetaError::InvalidConfig(format!(
                "unknown sslmode `{mode}` (expected disable, allow, prefer, require, verify-ca, verify-full)"
            ))
        })?;
        options = options.ssl_mode(mode);
    }
    if let Some(p) = &settings.sslrootcert {
        options = options.ssl_root_cert(p.as_str());
    }
    if let Some(p) = &settings.sslcert {
        options = options.ssl_client_cert(p.as_str());
    }
    if let Some(p) = &settings.sslkey {
        options = options.ssl_client_key(p.as_str());
    }
    let target = format!("{host_label}:{port}/{database}");
    let pool_opts = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.connect_timeout);
    let connect = pool_opts.connect_with(options);
    let pool = match tokio::time::timeout(
        settings.connect_timeout + Duration::from_secs(1),
        connect,
    )
    .await
    {
        Ok(Ok(pool)) => pool,
        Ok(Err(source)) => return Err(MetaError::Connect { target, source }),
        Err(_) => {
            return Err(MetaError::Connect {
                target,
                source: sqlx::Error::PoolTimedOut,
            })
        }
    };
    Ok(Db {
        pool: Pool::Postgres(pool),
        target: target.into(),
    })
}

/// The database file a `sqlite:` `DB_URI` names, or `None` for other schemes
/// and for in-memory databases.
pub fn sqlite_file(db_uri: &str) -> Option<PathBuf> {
    let (scheme, rest) = db_uri.trim().split_once("://")?;
    if scheme.eq_ignore_ascii_case("sqlite") {
        sqlite_path(rest)
    } else {
        None
    }
}

/// SQLAlchemy SQLite URI path: `sqlite://` + `/` + path, so `sqlite:///rel` is relative
/// and `sqlite:////abs` absolute; empty or `:memory:` is an in-memory database.
fn sqlite_path(rest: &str) -> Option<PathBuf> {
    let rest = rest.split('?').next().unwrap_or_default();
    let path = rest.strip_prefix('/').unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(percent_decode(path)))
    }
}

async fn connect_sqlite(rest: &str, create: bool, settings: &Settings) -> Result<Db, MetaError> {
    let path = sqlite_path(rest);
    let target = path
        .as_deref()
        .map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
    let connect_err = |source: sqlx::Error| MetaError::Connect {
        target: target.clone(),
        source,
    };
    let (options, pool_opts) = match &path {
        None => {
            let options = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(connect_err)?
                .foreign_keys(true);
            // Keep one connection alive forever: the shared in-memory database lives
            // only as long as some connection does.
            let pool_opts = SqlitePoolOptions::new()
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            (options, pool_opts)
        }
        Some(p) => {
            if create {
                create_parent_dir(p).map_err(|e| connect_err(sqlx::Error::Io(e)))?;
            }
            let options = SqliteConnectOptions::new()
                .filename(p)
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            (options, SqlitePoolOptions::new())
        }
    };
    // No ping before handing out a connection: a local file cannot go away under a pooled
    // connection, and the ping is a round trip to the connection's thread on every query.
    let pool = pool_opts
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.connect_timeout)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(connect_err)?;
    Ok(Db {
        pool: Pool::Sqlite(pool),
        target: target.into(),
    })
}

fn create_parent_dir(p: &Path) -> std::io::Result<()> {
    match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_sqlite_paths() {
        assert_eq!(
            sqlite_path("/test/data/test.db"),
            Some(PathBuf::from("test/data/test.db"))
        );
        assert_eq!(sqlite_path("//abs/q.db"), Some(PathBuf::from("/abs/q.db")));
        assert_eq!(sqlite_path("/:memory:"), None);
        assert_eq!(sqlite_path(""), None);
        assert_eq!(
            sqlite_path("//a b/q.db?mode=rw"),
            Some(PathBuf::from("/a b/q.db"))
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%2Fword"), "p@ss/word");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn connection_args() {
        let mut opts = ConnectOptions::default();
        opts.args.insert("connect_timeout".into(), Value::from(3));
        opts.args.insert("max_connections".into(), Value::from("7"));
        opts.args.insert("threadlocals".into(), Value::from(true));
        opts.args.insert("sslmode".into(), Value::from("require"));
        let s = Settings::from(&opts).expect("valid args");
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
        assert_eq!(s.max_connections, 7);
        assert_eq!(s.sslmode.as_deref(), Some("require"));
        opts.args
            .insert("max_connections".into(), Value::from("lots"));
        assert!(matches!(
            Settings::from(&opts),
            Err(MetaError::InvalidConfig(_))
        ));
    }
}
