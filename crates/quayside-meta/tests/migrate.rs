//! Migration behaviour, storage-location sync and connection errors on both backends.

use quayside_meta::{
    with_pool, Backend, ConnectOptions, Db, MetaError, MigrateOutcome, SchemaState,
    ALEMBIC_REVISION,
};
use quayside_testkit::{backends, TestDb};

async fn exec(db: &Db, sql: &str) {
    with_pool!(db, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).expect(sql);
}

async fn count(db: &Db, sql: &str) -> i64 {
    with_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect(sql)
}

#[tokio::test]
async fn migrate_creates_once_then_is_a_noop() {
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        db.ping().await.expect("ping");
        assert_eq!(db.schema_state().await.expect("state"), SchemaState::Empty);
        assert_eq!(db.quayside_schema_version().await.ok().flatten(), None);

        assert_eq!(
            db.migrate().await.expect("first migrate"),
            MigrateOutcome::Created
        );
        assert_eq!(db.schema_state().await.expect("state"), SchemaState::AtHead);
        assert_eq!(
            db.quayside_schema_version().await.expect("version"),
            Some(1)
        );
        let tables = db.table_names().await.expect("tables");
        assert!(tables.iter().any(|t| t == "quayside_schema_version"));
        let kinds = count(db, "SELECT COUNT(*) FROM logentrykind").await;
        assert_eq!(kinds, 146, "[{backend}]");

        assert_eq!(
            db.migrate().await.expect("second migrate"),
            MigrateOutcome::AlreadyAtHead
        );
        assert_eq!(db.table_names().await.expect("tables"), tables);
        assert_eq!(count(db, "SELECT COUNT(*) FROM logentrykind").await, kinds);
        assert_eq!(count(db, "SELECT COUNT(*) FROM alembic_version").await, 1);

        // Quay-at-head database without quayside's tables gets them added.
        exec(db, "DROP TABLE quayside_schema_version").await;
        assert_eq!(
            db.migrate().await.expect("third migrate"),
            MigrateOutcome::AlreadyAtHead
        );
        assert_eq!(
            db.quayside_schema_version().await.expect("version"),
            Some(1)
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn other_revision_is_refused_and_nothing_written() {
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        exec(
            db,
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        )
        .await;
        exec(
            db,
            "INSERT INTO alembic_version (version_num) VALUES ('c3d4e5f6a7b8')",
        )
        .await;
        exec(
            db,
            "CREATE TABLE role (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL)",
        )
        .await;
        let before = db.table_names().await.expect("tables");
        assert_eq!(
            db.schema_state().await.expect("state"),
            SchemaState::OtherRevision("c3d4e5f6a7b8".into())
        );
        let err = db.migrate().await.expect_err("must refuse");
        let msg = err.to_string();
        assert!(
            matches!(err, MetaError::SchemaConflict(_)),
            "[{backend}] {err:?}"
        );
        assert!(
            msg.contains("c3d4e5f6a7b8") && msg.contains(ALEMBIC_REVISION),
            "{msg}"
        );
        assert_eq!(
            db.table_names().await.expect("tables"),
            before,
            "[{backend}] wrote tables"
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM role").await, 0);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn tables_without_alembic_version_are_refused() {
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        exec(db, "CREATE TABLE something_else (id INTEGER PRIMARY KEY)").await;
        assert_eq!(
            db.schema_state().await.expect("state"),
            SchemaState::NotQuay
        );
        let err = db.migrate().await.expect_err("must refuse");
        assert!(
            matches!(err, MetaError::SchemaConflict(_)),
            "[{backend}] {err:?}"
        );
        assert!(err.to_string().contains("alembic_version"), "{err}");
        assert_eq!(
            db.table_names().await.expect("tables"),
            vec!["something_else".to_string()]
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn failed_creation_rolls_back_everything() {
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        // A view is not a table, so the database still counts as empty, but it makes
        // `CREATE TABLE tag` fail midway through the schema script.
        exec(db, "CREATE VIEW tag AS SELECT 1 AS x").await;
        assert_eq!(db.schema_state().await.expect("state"), SchemaState::Empty);
        let err = db.migrate().await.expect_err("must fail");
        assert!(matches!(err, MetaError::Query(_)), "[{backend}] {err:?}");
        assert_eq!(
            db.table_names().await.expect("tables"),
            Vec::<String>::new(),
            "[{backend}] partial schema left behind"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn sync_storage_locations_inserts_once() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let db = t.db();
        let names = vec![
            "default".to_string(),
            "local".to_string(),
            "default".to_string(),
        ];
        db.sync_storage_locations(&names).await.expect("sync");
        db.sync_storage_locations(&names).await.expect("sync again");
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM imagestoragelocation").await,
            9
        );
        // Seeded ids 1..=8; the sequence must continue after them (PostgreSQL setval).
        assert_eq!(
            count(
                db,
                "SELECT CAST(id AS BIGINT) FROM imagestoragelocation WHERE name = 'default'"
            )
            .await,
            9,
            "[{backend}]"
        );
        assert_eq!(
            count(
                db,
                "SELECT CAST(id AS BIGINT) FROM imagestoragelocation WHERE name = 'local'"
            )
            .await,
            7
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn uri_roundtrip_connects_to_same_database() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let other = Db::connect(t.uri(), &ConnectOptions::default())
            .await
            .expect("second connection");
        assert_eq!(other.backend(), backend);
        assert_eq!(
            other.schema_state().await.expect("state"),
            SchemaState::AtHead
        );
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn in_memory_sqlite_migrates() {
    let db = Db::connect("sqlite:///:memory:", &ConnectOptions::default())
        .await
        .expect("memory db");
    assert_eq!(db.backend(), Backend::Sqlite);
    assert_eq!(
        db.migrate().await.expect("migrate"),
        MigrateOutcome::Created
    );
    assert_eq!(db.schema_state().await.expect("state"), SchemaState::AtHead);
}

const SECRET: &str = "Sup3rS3cretPw";

#[tokio::test]
async fn connect_errors_are_clear_and_never_leak_the_password() {
    let opts = ConnectOptions {
        connect_timeout: std::time::Duration::from_secs(3),
        ..ConnectOptions::default()
    };
    for uri in [
        format!("postgresql://quay:{SECRET}@127.0.0.1:1/quay"),
        format!("postgresql+psycopg2://quay:{SECRET}@127.0.0.1:1/quay"),
        format!("postgres://quay:{SECRET}@127.0.0.1:1/quay?sslmode=disable"),
    ] {
        let err = Db::connect(&uri, &opts)
            .await
            .expect_err("port 1 must fail");
        let msg = err.to_string();
        assert!(matches!(err, MetaError::Connect { .. }), "{err:?}");
        assert!(msg.contains("127.0.0.1:1/quay"), "{msg}");
        assert!(
            !msg.contains(SECRET) && !format!("{err:?}").contains(SECRET),
            "{msg}"
        );
    }

    let err = Db::connect("sqlite:////proc/quayside-no-such-dir/sub/quay.db", &opts)
        .await
        .expect_err("unwritable dir must fail");
    assert!(matches!(err, MetaError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("/proc/quayside-no-such-dir/sub/quay.db"),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.db");
    let no_create = ConnectOptions {
        create_sqlite_if_missing: false,
        ..ConnectOptions::default()
    };
    let err = Db::connect(&format!("sqlite:///{}", missing.display()), &no_create)
        .await
        .expect_err("missing file without create must fail");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    assert!(!missing.exists());

    for uri in [
        format!("mysql+pymysql://quay:{SECRET}@db:3306/quay"),
        format!("mysql://quay:{SECRET}@db/quay"),
    ] {
        let err = Db::connect(&uri, &opts)
            .await
            .expect_err("mysql unsupported");
        let msg = err.to_string();
        assert!(matches!(err, MetaError::Unsupported(_)), "{err:?}");
        assert!(msg.contains("MySQL") && !msg.contains(SECRET), "{msg}");
    }

    let mut bad_args = ConnectOptions::default();
    bad_args
        .args
        .insert("sslmode".into(), serde_json::Value::from("sometimes"));
    let err = Db::connect(
        &format!("postgresql://quay:{SECRET}@127.0.0.1/quay"),
        &bad_args,
    )
    .await
    .expect_err("bad sslmode");
    assert!(matches!(err, MetaError::InvalidConfig(_)) && !err.to_string().contains(SECRET));
}
