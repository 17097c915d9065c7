//! quayside-meta: Quay's metadata database (PostgreSQL or SQLite), schema and migrations.
//!
//! quayside shares its database with Red Hat Quay, so the schema is Quay's, pinned at
//! Alembic revision [`ALEMBIC_REVISION`]. quayside-only state lives exclusively in
//! tables prefixed `quayside_`.

pub mod accounts;
mod db;
pub mod deletion;
mod error;
pub mod gc;
pub mod identity;
pub mod logs;
pub mod messages;
pub mod mirror;
pub mod orgs;
pub mod permissions;
pub mod queue;
pub mod quota;
pub mod registry;
mod release;
pub mod replication;
pub mod repos;
pub mod robots;
pub mod schema;
pub mod search;
pub mod servicekeys;
mod tag_lifetime;
pub mod tags;
pub mod teams;
pub mod upgrade;
pub mod users;
pub mod vocab;

pub use db::{sqlite_file, Backend, ConnectOptions, Db, MigrateOutcome, Pool, SchemaState};
pub use error::MetaError;
pub use registry::CatalogScope;
pub use vocab::{MirrorStatus, RepositoryKind, RepositoryState, Visibility};

/// Quay Alembic revision whose schema quayside reads and writes.
pub const ALEMBIC_REVISION: &str = "9fa37f66a9b6";
