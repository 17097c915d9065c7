//! quayside-testkit: the one harness the integration tests of every crate share. Real
//! servers, never mocks.
//!
//! * [`db`]: [`TestDb::sqlite`] (fresh SQLite file in a temp dir, migrated) and
//!   [`TestDb::postgres`] (fresh, uniquely named database on the PostgreSQL server at
//!   `$QUAYSIDE_TEST_POSTGRES_URL`, default [`DEFAULT_POSTGRES_URL`], migrated). If the
//!   server is unreachable this PANICS (tests must never skip silently). `empty_*` variants
//!   skip migration. Call [`TestDb::cleanup`] at the end of a test; if a test panics first,
//!   `Drop` drops the PostgreSQL database on a helper thread.
//! * [`rows`]: the namespace and repository rows most suites start from.
//! * [`sql`]: raw statements and scalar reads with typed bind arguments, for fixtures and
//!   assertions the data-access layer has no call for.
//! * [`storage`]: a LocalStorage [`quayside_storage::DistributedStorage`] in a directory.
//! * [`registry`]: a migrated database + LocalStorage + `devtable/simple` behind
//!   quayside-domain's `Registry` ([`registry::RegistryEnv`]), and pushing blobs, images and
//!   indexes through it.
//! * [`accounts`]: accounts made through quayside-auth's own paths (robots).
//! * [`http`]: driving an axum `Router` in-process ([`http::send`] → [`http::Resp`]), Basic
//!   credentials and `sha256:` digests for request building.
//! * [`garage`]: a real S3 server (Garage) with a fresh bucket per test, for the storage
//!   drivers.
//! * [`azurite`]: a real Azure Blob server (Azurite) with a fresh container per test.
//! * [`distribution`]: CNCF distribution (`docker-registry`) as a peer registry (an upstream
//!   for mirroring and the proxy cache), one server per test, stoppable.
//! * [`gcs`]: GCS's XML API dialect: Garage behind a gate refusing the S3 calls GCS lacks
//!   (no GCS XML server can be had here; the module says why).
//!
//! quayside-meta, -storage, -domain and -auth dev-depend on this crate while it depends on
//! them. That is fine for their integration tests (`tests/`), which link the same library as
//! this crate does; a `#[cfg(test)]` unit test inside one of those crates must not pass its
//! own crate's types into these helpers (it would be a second copy of the crate). Unit tests
//! there use only [`TestDb`], whose types are quayside-meta's.

pub mod accounts;
pub mod azurite;
pub mod db;
pub mod distribution;
pub mod garage;
pub mod gcs;
pub mod http;
pub mod registry;
pub mod rows;
mod server;
pub mod sql;
pub mod storage;
pub mod swift;

pub use db::{backends, postgres_admin_url, TestDb, DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV};
pub use quayside_meta::Backend;
pub use rows::{create_namespace, create_repository};
pub use server::free_port;
