//! The vocabulary of one Quay Alembic revision, as data.
//!
//! Every revision of Quay's chain is a [`Migration`] literal whose [`Op`]s say what the
//! revision changes. The same list serves three jobs: running the revision forward on
//! PostgreSQL or SQLite, deriving the schema at any older revision (each op is inverted,
//! newest first, starting from [`crate::schema::TABLES`]), and `quayside migrate --plan`.
//! Every op that removes something therefore carries the full definition of what it
//! removes, so the older schema can be rebuilt from it.

use crate::schema::{Column, ForeignKey, Index, Table};

/// One Alembic revision of Quay's chain.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Alembic `revision`.
    pub revision: &'static str,
    /// Alembic `down_revision` (`None` only for the chain's base).
    pub down_revision: Option<&'static str>,
    /// The revision's message (the docstring's first line).
    pub title: &'static str,
    /// `Create Date` of the revision file (`YYYY-MM-DD`).
    pub created: &'static str,
    pub ops: &'static [Op],
}

/// One step of a revision. Table and column names are Quay's.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// `op.create_table`: the whole table, with its indexes and foreign keys.
    CreateTable(Table),
    /// `op.create_table` of a table unchanged since: its definition is the head's
    /// ([`crate::schema::table`]), so it is written once.
    CreateHeadTable(&'static str),
    /// `op.drop_table`: the whole table as it was just before the drop.
    DropTable(Table),
    /// `op.add_column(table, column)`.
    AddColumn(&'static str, Column),
    /// `op.drop_column(table, name)`: the column as it was.
    DropColumn(&'static str, Column),
    /// `op.alter_column`: type, nullability or server default changes (same name).
    AlterColumn {
        table: &'static str,
        from: Column,
        to: Column,
    },
    /// `op.alter_column(..., new_column_name=...)`.
    RenameColumn {
        table: &'static str,
        from: &'static str,
        to: &'static str,
    },
    /// `op.rename_table`.
    RenameTable {
        from: &'static str,
        to: &'static str,
    },
    /// `op.create_index` (unique, partial or trigram as the revision makes it).
    CreateIndex(&'static str, Index),
    /// `op.drop_index`: the index as it was.
    DropIndex(&'static str, Index),
    /// `op.create_foreign_key` on an existing table.
    AddForeignKey(&'static str, ForeignKey),
    /// `op.drop_constraint(..., type_="foreignkey")`: the key as it was.
    DropForeignKey(&'static str, ForeignKey),
    /// `op.bulk_insert` of lookup rows by `name` (ids from the table's sequence).
    InsertLookup(&'static str, &'static [&'static str]),
    /// Deletes lookup rows by `name`.
    DeleteLookup(&'static str, &'static [&'static str]),
    /// A data step (backfill, fix-up) that leaves the schema as it is. Both statements
    /// must be safe to run twice.
    Data {
        what: &'static str,
        pg: &'static str,
        sqlite: &'static str,
    },
    /// A data step that needs code, not SQL (it encrypts or hashes); it runs before the
    /// revision's transaction and only touches rows it has not done yet.
    Backfill(Backfill),
    /// Something Quay's revision does that changes nothing quayside models (MySQL-only
    /// DDL, quay.io-only tables guarded by a config check, a no-op). The text says what.
    Skip(&'static str),
}

/// The data steps of Quay's chain that are code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backfill {
    /// `703298a825c2`: every credential gets its encrypted or hashed column: access tokens
    /// (`token_name` = the first 32 characters of `code`, `token_code` = the rest,
    /// encrypted), robots without a `robotaccounttoken` row (their token was the robot's
    /// `email`), build triggers (`secure_auth_token`, `secure_private_key`), app tokens
    /// (`token_name` = the first 60 characters, `token_secret` = the rest, encrypted), OAuth
    /// access tokens and authorization codes (first 20 characters, bcrypt of the rest) and
    /// OAuth applications (`secure_client_secret`).
    EncryptCredentials,
    /// `34c8ef052ec9`: mirror credentials that do not decrypt with `DATABASE_SECRET_KEY`
    /// were encrypted with the old `SECRET_KEY`; they are re-encrypted with the current key.
    ReencryptMirrorCredentials,
}
