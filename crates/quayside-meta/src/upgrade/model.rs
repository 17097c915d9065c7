//! The schema at any revision of the chain, as owned data.
//!
//! [`Model::head`] is [`crate::schema::TABLES`] plus the seeded lookup rows. Stepping a
//! model *back* over a [`Migration`] undoes its ops newest first; stepping it *forward*
//! applies them. Both directions are strict: undoing an `AddColumn` requires that exact
//! column to be there, and so on, so a transcription that disagrees with the head schema
//! is caught by [`Model::at`] instead of producing a wrong old database.

use std::collections::BTreeMap;

use super::ops::{Migration, Op};
use crate::schema::{self, Column, ForeignKey, Index, Table};

/// One table, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableModel {
    pub name: String,
    pub pk: String,
    pub pk_column: String,
    pub columns: Vec<Column>,
    pub indexes: Vec<Index>,
    pub fks: Vec<ForeignKey>,
}

impl TableModel {
    fn from_table(t: &Table) -> TableModel {
        TableModel {
            name: t.name.to_string(),
            pk: t.pk.to_string(),
            pk_column: t.pk_column.to_string(),
            columns: t.columns.to_vec(),
            indexes: t.indexes.to_vec(),
            fks: t.fks.to_vec(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A schema: tables in creation order and lookup rows (names in id order) per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub tables: Vec<TableModel>,
    pub lookups: BTreeMap<String, Vec<String>>,
}

/// Why a model step failed: the op and what did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub revision: &'static str,
    pub detail: String,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "revision {}: {}", self.revision, self.detail)
    }
}

impl Model {
    /// The schema at the chain's head ([`crate::ALEMBIC_REVISION`]).
    pub fn head() -> Model {
        let tables = schema::TABLES.iter().map(TableModel::from_table).collect();
        let mut lookups = BTreeMap::new();
        for s in schema::SEEDS {
            let mut rows = s.rows.to_vec();
            rows.sort_by_key(|(id, _)| *id);
            lookups.insert(
                s.table.to_string(),
                rows.into_iter().map(|(_, n)| n.to_string()).collect(),
            );
        }
        Model { tables, lookups }
    }

    /// The schema just after `revision`, derived from the head by undoing every later
    /// revision of `chain` (oldest first).
    pub fn at(chain: &[&'static Migration], revision: &str) -> Result<Model, ModelError> {
        let Some(pos) = chain.iter().position(|m| m.revision == revision) else {
            return Err(ModelError {
                revision: "?",
                detail: format!("{revision} is not in the chain"),
            });
        };
        let mut model = Model::head();
        for m in chain[pos + 1..].iter().rev() {
            model.undo(m)?;
        }
        Ok(model)
    }

    pub fn table(&self, name: &str) -> Option<&TableModel> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn table_mut(&mut self, rev: &'static str, name: &str) -> Result<&mut TableModel, ModelError> {
        self.tables
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| ModelError {
                revision: rev,
                detail: format!("no table {name}"),
            })
    }

    /// Applies `m`'s ops in order.
    pub fn apply(&mut self, m: &'static Migration) -> Result<(), ModelError> {
        for op in m.ops {
            self.step(m.revision, op, false)?;
        }
        Ok(())
    }

    /// Applies one op of revision `rev`.
    pub fn apply_op(&mut self, rev: &'static str, op: &Op) -> Result<(), ModelError> {
        self.step(rev, op, false)
    }

    /// Undoes `m`'s ops, last first.
    pub fn undo(&mut self, m: &'static Migration) -> Result<(), ModelError> {
        for op in m.ops.iter().rev() {
            self.step(m.revision, op, true)?;
        }
        Ok(())
    }

    fn step(&mut self, rev: &'static str, op: &Op, back: bool) -> Result<(), ModelError> {
        let err = |detail: String| ModelError {
            revision: rev,
            detail,
        };
        let head_table;
        let op = match *op {
            Op::CreateHeadTable(name) => {
                let Some(t) = schema::table(name) else {
                    return Err(err(format!("{name} is not a table of the head schema")));
                };
                head_table = Op::CreateTable(*t);
                &head_table
            }
            _ => op,
        };
        match *op {
            Op::CreateHeadTable(_) => {}
            Op::CreateTable(t) | Op::DropTable(t) => {
                let creating = matches!(op, Op::CreateTable(_)) != back;
                let def = TableModel::from_table(&t);
                if creating {
                    if self.table(t.name).is_some() {
                        return Err(err(format!("table {} already exists", t.name)));
                    }
                    self.tables.push(def);
                } else {
                    let Some(i) = self.tables.iter().position(|x| x.name == t.name) else {
                        return Err(err(format!("no table {} to drop", t.name)));
                    };
                    if !same_table(&self.tables[i], &def) {
                        return Err(err(format!(
                            "table {} differs from its definition in the op: {}",
                            t.name,
                            table_diff(&self.tables[i], &def)
                        )));
                    }
                    self.tables.remove(i);
                    if self
                        .lookups
                        .get(t.name)
                        .is_some_and(|rows| !rows.is_empty())
                    {
                        return Err(err(format!("table {} goes with lookup rows left", t.name)));
                    }
                    self.lookups.remove(t.name);
                }
            }
            Op::AddColumn(table, col) | Op::DropColumn(table, col) => {
                let adding = matches!(op, Op::AddColumn(..)) != back;
                let t = self.table_mut(rev, table)?;
                let found = t.columns.iter().position(|c| c.name == col.name);
                match (adding, found) {
                    (true, None) => t.columns.push(col),
                    (true, Some(_)) => {
                        return Err(err(format!("column {table}.{} already exists", col.name)))
                    }
                    (false, Some(i)) if t.columns[i] == col => {
                        if let Some(ix) = t.indexes.iter().find(|x| x.columns.contains(&col.name)) {
                            return Err(err(format!(
                                "column {table}.{} goes while index {} still uses it",
                                col.name, ix.name
                            )));
                        }
                        if let Some(f) = t.fks.iter().find(|f| f.column == col.name) {
                            return Err(err(format!(
                                "column {table}.{} goes while foreign key {} still uses it",
                                col.name, f.name
                            )));
                        }
                        t.columns.remove(i);
                    }
                    (false, Some(i)) => {
                        return Err(err(format!(
                            "column {table}.{} is {:?}, the op says {:?}",
                            col.name, t.columns[i], col
                        )))
                    }
                    (false, None) => {
                        return Err(err(format!("no column {table}.{} to drop", col.name)))
                    }
                }
            }
            Op::AlterColumn { table, from, to } => {
                let (before, after) = if back { (to, from) } else { (from, to) };
                let t = self.table_mut(rev, table)?;
                let Some(c) = t.columns.iter_mut().find(|c| c.name == before.name) else {
                    return Err(err(format!("no column {table}.{}", before.name)));
                };
                if *c != before {
                    return Err(err(format!(
                        "column {table}.{} is {:?}, the op expects {:?}",
                        before.name, c, before
                    )));
                }
                *c = after;
            }
            Op::RenameColumn { table, from, to } => {
                let (a, b) = if back { (to, from) } else { (from, to) };
                let t = self.table_mut(rev, table)?;
                let Some(c) = t.columns.iter_mut().find(|c| c.name == a) else {
                    return Err(err(format!("no column {table}.{a} to rename")));
                };
                c.name = b;
            }
            Op::RenameTable { from, to } => {
                let (a, b) = if back { (to, from) } else { (from, to) };
                if self.table(b).is_some() {
                    return Err(err(format!("table {b} already exists")));
                }
                let t = self.table_mut(rev, a)?;
                t.name = b.to_string();
                if let Some(rows) = self.lookups.remove(a) {
                    self.lookups.insert(b.to_string(), rows);
                }
            }
            Op::CreateIndex(table, ix) | Op::DropIndex(table, ix) => {
                let creating = matches!(op, Op::CreateIndex(..)) != back;
                let t = self.table_mut(rev, table)?;
                let found = t.indexes.iter().position(|i| i.name == ix.name);
                if creating {
                    if let Some(col) = ix.columns.iter().find(|c| t.column(c).is_none()) {
                        return Err(err(format!(
                            "index {} on missing column {table}.{col}",
                            ix.name
                        )));
                    }
                }
                match (creating, found) {
                    (true, None) => t.indexes.push(ix),
                    (true, Some(_)) => {
                        return Err(err(format!("index {} already exists", ix.name)))
                    }
                    (false, Some(i)) if t.indexes[i] == ix => {
                        t.indexes.remove(i);
                    }
                    (false, Some(i)) => {
                        return Err(err(format!(
                            "index {} is {:?}, the op says {:?}",
                            ix.name, t.indexes[i], ix
                        )))
                    }
                    (false, None) => return Err(err(format!("no index {} to drop", ix.name))),
                }
            }
            Op::AddForeignKey(table, f) | Op::DropForeignKey(table, f) => {
                let adding = matches!(op, Op::AddForeignKey(..)) != back;
                let t = self.table_mut(rev, table)?;
                let found = t.fks.iter().position(|x| x.name == f.name);
                match (adding, found) {
                    (true, None) => t.fks.push(f),
                    (true, Some(_)) => {
                        return Err(err(format!("foreign key {} already exists", f.name)))
                    }
                    (false, Some(i)) if t.fks[i] == f => {
                        t.fks.remove(i);
                    }
                    (false, _) => {
                        return Err(err(format!("no foreign key {:?} to drop", f)));
                    }
                }
            }
            Op::InsertLookup(table, names) | Op::DeleteLookup(table, names) => {
                let inserting = matches!(op, Op::InsertLookup(..)) != back;
                if self.table(table).is_none() {
                    return Err(err(format!("lookup rows for missing table {table}")));
                }
                let rows = self.lookups.entry(table.to_string()).or_default();
                if inserting {
                    for n in names {
                        if rows.iter().any(|r| r == n) {
                            return Err(err(format!("{table} row {n} already exists")));
                        }
                        rows.push((*n).to_string());
                    }
                } else {
                    for n in names.iter().rev() {
                        let Some(i) = rows.iter().rposition(|r| r == n) else {
                            return Err(err(format!("{table} has no row {n} to remove")));
                        };
                        rows.remove(i);
                    }
                }
            }
            Op::Data { .. } | Op::Backfill(_) | Op::Skip(_) => {}
        }
        Ok(())
    }
}

/// Tables are the same when their columns, indexes and keys are the same as sets (order of
/// creation is not part of the schema).
fn same_table(a: &TableModel, b: &TableModel) -> bool {
    fn same<T: PartialEq>(x: &[T], y: &[T]) -> bool {
        x.len() == y.len() && x.iter().all(|i| y.contains(i))
    }
    a.name == b.name
        && a.pk == b.pk
        && a.pk_column == b.pk_column
        && same(&a.columns, &b.columns)
        && same(&a.indexes, &b.indexes)
        && same(&a.fks, &b.fks)
}

/// What differs between the model's table and an op's (for error messages).
fn table_diff(model: &TableModel, op: &TableModel) -> String {
    let mut out = Vec::new();
    let items = |t: &TableModel| -> Vec<String> {
        let mut v: Vec<String> = t.columns.iter().map(|c| format!("{c:?}")).collect();
        v.extend(t.indexes.iter().map(|i| format!("{i:?}")));
        v.extend(t.fks.iter().map(|f| format!("{f:?}")));
        v.push(format!("pk {}", t.pk));
        v
    };
    let (a, b) = (items(model), items(op));
    for x in &a {
        if !b.contains(x) {
            out.push(format!("model has {x}"));
        }
    }
    for x in &b {
        if !a.contains(x) {
            out.push(format!("op has {x}"));
        }
    }
    out.join("; ")
}
