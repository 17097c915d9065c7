//! The SQL that runs one [`Op`] forward on PostgreSQL or SQLite.
//!
//! PostgreSQL alters in place (its DDL is transactional). SQLite cannot alter a column's
//! type, nullability or keys, so those ops rebuild the table from the model: create the new
//! shape under a temporary name, copy the rows, drop the old table, rename, recreate its
//! indexes (foreign keys are switched off around the revision and checked before commit,
//! see [`super::run`]).

use super::model::{Model, TableModel};
use super::ops::Op;
use crate::schema::{self, ColType, Column, Dialect, Table, TableView};

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn view(t: &TableModel) -> TableView<'_> {
    TableView {
        name: &t.name,
        pk: &t.pk,
        pk_column: &t.pk_column,
        columns: &t.columns,
        indexes: &t.indexes,
        fks: &t.fks,
    }
}

/// Everything that creates `model` on an empty database: tables, indexes, keys and lookup
/// rows (ids 1…n in the model's order; PostgreSQL sequences moved past them).
pub fn create_all(model: &Model, dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    if dialect == Dialect::Postgres {
        out.push("CREATE EXTENSION IF NOT EXISTS pg_trgm".to_string());
    }
    for t in &model.tables {
        out.push(schema::create_table_ddl(view(t), dialect));
        out.extend(schema::index_ddl(view(t), dialect));
    }
    if dialect == Dialect::Postgres {
        for t in &model.tables {
            out.extend(schema::foreign_key_ddl(view(t)));
        }
    }
    for (table, names) in &model.lookups {
        if table == "labelsourcetype" || model.table(table).is_none() {
            continue;
        }
        for (i, name) in names.iter().enumerate() {
            out.push(format!(
                "INSERT INTO {} (\"id\", \"name\") VALUES ({}, {})",
                q(table),
                i + 1,
                lit(name)
            ));
        }
    }
    if model.table("labelsourcetype").is_some() {
        for (id, name, mutable) in schema::LABEL_SOURCE_TYPES {
            let m = match (dialect, mutable) {
                (Dialect::Postgres, true) => "true",
                (Dialect::Postgres, false) => "false",
                (Dialect::Sqlite, true) => "1",
                (Dialect::Sqlite, false) => "0",
            };
            out.push(format!(
                "INSERT INTO \"labelsourcetype\" (\"id\", \"name\", \"mutable\") VALUES ({id}, {}, {m})",
                lit(name)
            ));
        }
    }
    if dialect == Dialect::Postgres {
        for table in model.lookups.keys() {
            if model.table(table).is_some() {
                out.push(setval(table));
            }
        }
        if model.table("labelsourcetype").is_some() {
            out.push(setval("labelsourcetype"));
        }
    }
    out
}

fn setval(table: &str) -> String {
    format!(
        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(\"id\") FROM {t}), 0) + 1, false)",
        t = q(table)
    )
}

/// The statements that take the database from `before` to `after` for `op` (`after` is
/// `before` with `op` applied).
pub fn op_statements(op: &Op, before: &Model, after: &Model, dialect: Dialect) -> Vec<String> {
    let pg = dialect == Dialect::Postgres;
    let table_after = |name: &str| after.table(name);
    match *op {
        Op::CreateTable(Table { name, .. }) | Op::CreateHeadTable(name) => {
            let Some(m) = table_after(name) else {
                return Vec::new();
            };
            let mut out = vec![schema::create_table_ddl(view(m), dialect)];
            out.extend(schema::index_ddl(view(m), dialect));
            if pg {
                out.extend(schema::foreign_key_ddl(view(m)));
            }
            out
        }
        Op::DropTable(t) => vec![format!("DROP TABLE {}", q(t.name))],
        Op::AddColumn(table, col) => {
            let fk = after
                .table(table)
                .and_then(|t| t.fks.iter().find(|f| f.column == col.name));
            if pg {
                vec![format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    q(table),
                    column_sql(&col, dialect)
                )]
            } else if fk.is_none()
                && col.default != Some(crate::schema::DefaultValue::Now)
                && (col.nullable || col.default.is_some())
            {
                // SQLite adds a column in place only without a key, and NOT NULL only with a
                // constant default; anything else is a rebuild.
                vec![format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    q(table),
                    column_sql(&col, dialect)
                )]
            } else {
                rebuild(before, after, table)
            }
        }
        Op::DropColumn(table, col) => {
            if pg {
                vec![format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    q(table),
                    q(col.name)
                )]
            } else {
                rebuild(before, after, table)
            }
        }
        Op::AlterColumn { table, from, to } => {
            if !pg {
                return rebuild(before, after, table);
            }
            let mut out = Vec::new();
            let t = q(table);
            let c = q(to.name);
            if from.ty != to.ty {
                out.push(format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} TYPE {ty} USING {c}::{ty}",
                    ty = to.ty.pg()
                ));
                if to.ty == ColType::BigPk {
                    out.push(format!(
                        "DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s AS bigint', \
                         pg_get_serial_sequence('{t}', '{}')); END $$",
                        to.name
                    ));
                }
            }
            if from.default != to.default {
                out.push(match to.default {
                    Some(d) => format!(
                        "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {}",
                        schema::render_default(d, dialect)
                    ),
                    None => format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
                });
            }
            if from.nullable != to.nullable {
                out.push(format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} {} NOT NULL",
                    if to.nullable { "DROP" } else { "SET" }
                ));
            }
            out
        }
        Op::RenameColumn { table, from, to } => vec![format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            q(table),
            q(from),
            q(to)
        )],
        Op::RenameTable { from, to } => {
            vec![format!("ALTER TABLE {} RENAME TO {}", q(from), q(to))]
        }
        Op::CreateIndex(table, ix) => {
            let view = TableView {
                name: table,
                pk: "",
                pk_column: "",
                columns: &[],
                indexes: std::slice::from_ref(&ix),
                fks: &[],
            };
            schema::index_ddl(view, dialect)
        }
        Op::DropIndex(_, ix) => vec![format!("DROP INDEX {}", q(ix.name))],
        Op::AddForeignKey(table, f) => {
            if pg {
                let view = TableView {
                    name: table,
                    pk: "",
                    pk_column: "",
                    columns: &[],
                    indexes: &[],
                    fks: std::slice::from_ref(&f),
                };
                schema::foreign_key_ddl(view)
            } else {
                rebuild(before, after, table)
            }
        }
        Op::DropForeignKey(table, f) => {
            if pg {
                vec![format!(
                    "ALTER TABLE {} DROP CONSTRAINT {}",
                    q(table),
                    q(f.name)
                )]
            } else {
                rebuild(before, after, table)
            }
        }
        Op::InsertLookup(table, names) => names
            .iter()
            .map(|n| {
                format!(
                    "INSERT INTO {t} (\"name\") SELECT {v} WHERE NOT EXISTS \
                     (SELECT 1 FROM {t} WHERE \"name\" = {v})",
                    t = q(table),
                    v = lit(n)
                )
            })
            .collect(),
        Op::DeleteLookup(table, names) => {
            let list = names.iter().map(|n| lit(n)).collect::<Vec<_>>().join(", ");
            vec![format!(
                "DELETE FROM {} WHERE \"name\" IN ({list})",
                q(table)
            )]
        }
        Op::Data { pg: p, sqlite, .. } => {
            let s = if pg { p } else { sqlite };
            if s.trim().is_empty() {
                Vec::new()
            } else {
                vec![s.to_string()]
            }
        }
        Op::Backfill(_) | Op::Skip(_) => Vec::new(),
    }
}

fn column_sql(col: &Column, dialect: Dialect) -> String {
    let ty = match dialect {
        Dialect::Postgres => col.ty.pg(),
        Dialect::Sqlite => col.ty.sqlite(),
    };
    let mut s = format!("{} {ty}", q(col.name));
    if let Some(d) = col.default {
        s.push_str(" DEFAULT ");
        s.push_str(&schema::render_default(d, dialect));
    }
    if !col.nullable {
        s.push_str(" NOT NULL");
    }
    s
}

/// SQLite: the table `name` rebuilt in its `after` shape, keeping every column both shapes
/// share.
fn rebuild(before: &Model, after: &Model, name: &str) -> Vec<String> {
    let (Some(old), Some(new)) = (before.table(name), after.table(name)) else {
        return Vec::new();
    };
    let tmp = format!("_quayside_rebuild_{name}");
    let mut shape = new.clone();
    shape.name = tmp.clone();
    let shared: Vec<String> = new
        .columns
        .iter()
        .filter(|c| old.column(c.name).is_some())
        .map(|c| q(c.name))
        .collect();
    let cols = shared.join(", ");
    let mut out = vec![
        schema::create_table_ddl(view(&shape), Dialect::Sqlite),
        format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
            q(&tmp),
            q(name)
        ),
        format!("DROP TABLE {}", q(name)),
        format!("ALTER TABLE {} RENAME TO {}", q(&tmp), q(name)),
    ];
    out.extend(schema::index_ddl(view(new), Dialect::Sqlite));
    out
}
