//! End-to-end tests of the `quayside` binary: the README commands, config
//! checks, both database backends, the /v2 registry with real clients,
//! restart and shutdown.

mod backends;
mod backup;
mod fixtures;
mod harness;

mod config_check;
mod credentials;
mod embedded;
mod gc;
mod logs;
mod metrics;
mod mirror;
mod object_storage;
mod outage;
mod quay_config_dir;
mod quota;
mod readonly;
mod registry_manifests;
mod registry_protocol;
mod replication;
mod skopeo;
mod tls_listen;
mod upgrade;
mod user_initialize;
