//! End-to-end tests of the `quayside` binary: the README commands, config
//! checks, both database backends, restart and shutdown.

mod harness;

mod config_check;
mod embedded;
mod quay_config_dir;
