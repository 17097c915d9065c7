//! Introspection shared by the schema and upgrade tests: every table, column (type,
//! nullability), index and seed row of a database as one fact per line.

use std::collections::BTreeSet;

use quayside_meta::{with_pool, Db};

fn norm_pg_type(data_type: &str, len: Option<i32>) -> String {
    match (data_type, len) {
        ("integer", _) => "int".into(),
        ("bigint", _) => "bigint".into(),
        ("boolean", _) => "bool".into(),
        ("character varying", Some(n)) => format!("varchar({n})"),
        ("text", _) => "text".into(),
        ("timestamp without time zone", _) => "datetime".into(),
        ("date", _) => "date".into(),
        (other, _) => format!("UNEXPECTED:{other}"),
    }
}

fn norm_sqlite_type(ty: &str) -> String {
    let up = ty.to_ascii_uppercase();
    match up.as_str() {
        "INTEGER" => "int".into(),
        "BIGINT" => "bigint".into(),
        "BOOLEAN" => "bool".into(),
        "TEXT" => "text".into(),
        "DATETIME" => "datetime".into(),
        "DATE" => "date".into(),
        _ => match up
            .strip_prefix("VARCHAR(")
            .and_then(|r| r.strip_suffix(')'))
        {
            Some(n) => format!("varchar({n})"),
            None => format!("UNEXPECTED:{ty}"),
        },
    }
}

fn nullness(nullable: bool) -> &'static str {
    if nullable {
        "null"
    } else {
        "notnull"
    }
}

pub async fn introspect(db: &Db) -> BTreeSet<String> {
    let mut facts = BTreeSet::new();
    let tables: Vec<String> = db
        .table_names()
        .await
        .expect("list tables")
        .into_iter()
        .filter(|t| !t.starts_with("quayside_"))
        .collect();
    for t in &tables {
        facts.insert(format!("table {t}"));
    }

    // Columns and indexes.
    match db.pool() {
        quayside_meta::Pool::Postgres(pool) => {
            let cols: Vec<(String, String, String, Option<i32>, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text, \
                 character_maximum_length::int, is_nullable::text \
                 FROM information_schema.columns WHERE table_schema = current_schema()",
            )
            .fetch_all(pool)
            .await
            .expect("pg columns");
            for (t, c, ty, len, nullable) in cols {
                if t.starts_with("quayside_") {
                    continue;
                }
                let ty = norm_pg_type(&ty, len);
                facts.insert(format!(
                    "column {t}.{c} {ty} {}",
                    nullness(nullable == "YES")
                ));
            }
            let idx: Vec<(String, String, bool, String)> = sqlx::query_as(
                "SELECT t.relname::text, i.relname::text, ix.indisunique, a.attname::text \
                 FROM pg_index ix \
                 JOIN pg_class t ON t.oid = ix.indrelid \
                 JOIN pg_class i ON i.oid = ix.indexrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = current_schema() AND NOT ix.indisprimary \
                 ORDER BY t.relname, i.relname, k.ord",
            )
            .fetch_all(pool)
            .await
            .expect("pg indexes");
            add_index_facts(&mut facts, idx);
        }
        quayside_meta::Pool::Sqlite(pool) => {
            let cols: Vec<(String, String, String, i64)> = sqlx::query_as(
                "SELECT m.name, p.name, p.type, p.\"notnull\" FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
            )
            .fetch_all(pool)
            .await
            .expect("sqlite columns");
            for (t, c, ty, notnull) in cols {
                if t.starts_with("quayside_") || t.starts_with("sqlite_") {
                    continue;
                }
                let ty = norm_sqlite_type(&ty);
                facts.insert(format!("column {t}.{c} {ty} {}", nullness(notnull == 0)));
            }
            let idx: Vec<(String, String, bool, String)> = sqlx::query_as(
                "SELECT m.name, il.name, il.\"unique\", ii.name FROM sqlite_master m \
                 JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
                 WHERE m.type = 'table' AND il.origin = 'c' ORDER BY m.name, il.name, ii.seqno",
            )
            .fetch_all(pool)
            .await
            .expect("sqlite indexes");
            add_index_facts(&mut facts, idx);
        }
    }

    // Seed rows: every non-empty table must be a lookup table with (id, name).
    for t in &tables {
        if t == "alembic_version" {
            continue;
        }
        let count_sql = format!("SELECT COUNT(*) FROM \"{t}\"");
        let count: i64 =
            with_pool!(db, pool => sqlx::query_scalar(&count_sql).fetch_one(pool).await)
                .expect("count rows");
        if count == 0 {
            continue;
        }
        if t == "labelsourcetype" {
            let rows: Vec<(i64, String, i32)> = with_pool!(db, pool => sqlx::query_as(
                "SELECT CAST(id AS BIGINT), name, CAST(mutable AS INTEGER) FROM labelsourcetype")
                .fetch_all(pool).await)
            .expect("labelsourcetype rows");
            for (id, name, m) in rows {
                facts.insert(format!("seed {t} {id} {name} mutable={m}"));
            }
        } else {
            let sql = format!("SELECT CAST(id AS BIGINT), name FROM \"{t}\"");
            let rows: Vec<(i64, String)> =
                with_pool!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
                    .unwrap_or_else(|e| panic!("table {t} has rows but no (id, name): {e}"));
            for (id, name) in rows {
                facts.insert(format!("seed {t} {id} {name}"));
            }
        }
    }
    let versions: Vec<String> = with_pool!(db, pool => sqlx::query_scalar(
        "SELECT version_num FROM alembic_version").fetch_all(pool).await)
    .expect("alembic_version");
    for v in versions {
        facts.insert(format!("alembic_version {v}"));
    }
    facts
}

fn add_index_facts(facts: &mut BTreeSet<String>, rows: Vec<(String, String, bool, String)>) {
    let mut grouped: Vec<(String, String, bool, Vec<String>)> = Vec::new();
    for (t, i, unique, col) in rows {
        if t.starts_with("quayside_") {
            continue;
        }
        match grouped.last_mut() {
            Some(g) if g.0 == t && g.1 == i => g.3.push(col),
            _ => grouped.push((t, i, unique, vec![col])),
        }
    }
    for (t, i, unique, cols) in grouped {
        let kind = if unique { "unique" } else { "plain" };
        facts.insert(format!("index {t}.{i} {kind} ({})", cols.join(", ")));
    }
}
