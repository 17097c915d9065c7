//! [`TestDb`]: a throw-away, real database per test (temp SQLite file or fresh PostgreSQL
//! database), and [`backends`] to run a test on each.

use std::path::PathBuf;
use std::time::Duration;

use quayside_meta::{Backend, ConnectOptions, Db};
use sqlx::postgres::PgPoolOptions;

/// Environment variable naming the PostgreSQL server used by tests.
pub const POSTGRES_URL_ENV: &str = "QUAYSIDE_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_ENV`] is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Both backends, for tests that must pass on each: `for b in backends() { … }`.
pub fn backends() -> [Backend; 2] {
    [Backend::Sqlite, Backend::Postgres]
}

/// URL of the admin PostgreSQL database for tests.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".to_string(),
    }
}

enum Kind {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

/// A throw-away database plus a connected [`Db`].
pub struct TestDb {
    db: Db,
    uri: String,
    kind: Kind,
    cleaned: bool,
}

impl TestDb {
    /// Fresh migrated database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        let t = TestDb::empty(backend).await;
        t.db.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrating fresh {backend} test database failed: {e}"));
        t
    }

    /// Fresh, empty (unmigrated) database on `backend`.
    pub async fn empty(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::empty_sqlite().await,
            Backend::Postgres => TestDb::empty_postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        TestDb::new(Backend::Sqlite).await
    }

    pub async fn postgres() -> TestDb {
        TestDb::new(Backend::Postgres).await
    }

    pub async fn empty_sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create temp dir for SQLite test database");
        let path = dir.path().join("quay.db");
        // Absolute path → SQLAlchemy form with four slashes.
        let uri = format!("sqlite:///{}", path.display());
        let db = Db::connect(&uri, &ConnectOptions::default())
            .await
            .unwrap_or_else(|e| panic!("opening SQLite test database {}: {e}", path.display()));
        TestDb {
            db,
            uri,
            kind: Kind::Sqlite { _dir: dir, path },
            cleaned: false,
        }
    }

    pub async fn empty_postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let admin = connect_admin(&admin_url).await;
        let name = format!("quayside_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {}: {e}", redact(&admin_url)));
        admin.close().await;
        let mut url = url::Url::parse(&admin_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_ENV} is not a valid URL: {e}"));
        url.set_path(&format!("/{name}"));
        let uri = url.to_string();
        let opts = ConnectOptions {
            max_connections: 4,
            ..ConnectOptions::default()
        };
        let db = Db::connect(&uri, &opts)
            .await
            .unwrap_or_else(|e| panic!("connecting to PostgreSQL test database {name}: {e}"));
        TestDb {
            db,
            uri,
            kind: Kind::Postgres { admin_url, name },
            cleaned: false,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Quay-style `DB_URI` of this database (to open further connections).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// SQLite file path (None for PostgreSQL).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            Kind::Sqlite { path, .. } => Some(path),
            Kind::Postgres { .. } => None,
        }
    }

    /// Closes connections and drops the PostgreSQL database (SQLite: temp dir removed).
    pub async fn cleanup(mut self) {
        self.db.close().await;
        if let Kind::Postgres { admin_url, name } = &self.kind {
            let admin = connect_admin(admin_url).await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&admin)
                .await
                .unwrap_or_else(|e| panic!("DROP DATABASE {name}: {e}"));
            admin.close().await;
        }
        self.cleaned = true;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        if let Kind::Postgres { admin_url, name } = &self.kind {
            // Best effort: a test panicked before cleanup(). Use a private runtime on a
            // separate thread (we may be inside a runtime here).
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = PgPoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(Duration::from_secs(5))
                        .connect(&admin_url)
                        .await
                    {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&admin)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn connect_admin(admin_url: &str) -> sqlx::PgPool {
    match PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(admin_url)
        .await
    {
        Ok(p) => p,
        Err(e) => panic!(
            "PostgreSQL for tests is unreachable at {} ({e}). Start a server there or set \
             {POSTGRES_URL_ENV} to a reachable admin URL; tests never skip silently.",
            redact(admin_url)
        ),
    }
}
