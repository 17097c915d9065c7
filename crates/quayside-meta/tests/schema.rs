//! Migrates an empty database on each backend, introspects it, and compares the result
//! with the reference facts in `fixtures/quay-schema-9fa37f66a9b6.txt` (transcribed from
//! Quay's generated SQLite DDL/seed data plus the migrations up to 9fa37f66a9b6, not from
//! our Rust schema definitions).

use std::collections::BTreeSet;

mod introspect;

use introspect::introspect;
use quayside_meta::{Backend, ALEMBIC_REVISION};
use quayside_testkit::{backends, TestDb};

const FIXTURE: &str = include_str!("fixtures/quay-schema-9fa37f66a9b6.txt");

fn expected(backend: Backend) -> BTreeSet<String> {
    FIXTURE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(
            |l| match (l.strip_prefix("pg: "), l.strip_prefix("sqlite: ")) {
                (Some(rest), _) => (backend == Backend::Postgres).then(|| rest.to_string()),
                (_, Some(rest)) => (backend == Backend::Sqlite).then(|| rest.to_string()),
                _ => Some(l.to_string()),
            },
        )
        .collect()
}

#[tokio::test]
async fn migrated_schema_matches_quay_reference() {
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let actual = introspect(t.db()).await;
        let expected = expected(backend);
        let missing: Vec<_> = expected.difference(&actual).collect();
        let unexpected: Vec<_> = actual.difference(&expected).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut msg = format!("[{backend}] schema differs from Quay reference:\n");
            for l in &missing {
                msg.push_str(&format!("- {l}\n"));
            }
            for l in &unexpected {
                msg.push_str(&format!("+ {l}\n"));
            }
            panic!("{msg}(- expected but missing, + present but not in reference)");
        }
        assert!(
            actual.len() > 1200,
            "suspiciously few facts: {}",
            actual.len()
        );
        assert!(actual.contains(&format!("alembic_version {ALEMBIC_REVISION}")));

        if backend == Backend::Postgres {
            let quayside_meta::Pool::Postgres(pool) = t.db().pool() else {
                panic!("expected a PostgreSQL pool");
            };
            assert!(t.db().has_pg_trgm().await.expect("has_pg_trgm"));
            for name in [
                "repository_name__fulltext",
                "repository_description__fulltext",
            ] {
                let def: String =
                    sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE indexname = $1")
                        .bind(name)
                        .fetch_one(pool)
                        .await
                        .expect("trigram index exists");
                assert!(
                    def.contains("USING gin") && def.contains("gin_trgm_ops"),
                    "{def}"
                );
            }
            let def: String = sqlx::query_scalar(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'user_email_unique_non_org'",
            )
            .fetch_one(pool)
            .await
            .expect("partial index exists");
            assert!(def.contains("WHERE (organization = false)"), "{def}");
            let pk: String = sqlx::query_scalar(
                "SELECT conname::text FROM pg_constraint WHERE contype = 'p' AND conrelid = '\"user\"'::regclass",
            )
            .fetch_one(pool)
            .await
            .expect("user pk");
            assert_eq!(pk, "pk_user");
        } else {
            assert!(!t.db().has_pg_trgm().await.expect("has_pg_trgm on sqlite"));
        }
        t.cleanup().await;
    }
}
