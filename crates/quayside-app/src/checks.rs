//! Start-up checks that need the network: the parts of Quay's config-tool
//! `--mode online` that dial the database, Redis and storage. The static
//! checks live in `quayside-config`; `config check` and `serve` run both and
//! print every failure at once.

use std::time::Duration;

use quayside_config::{Config, ValidationFailure};
use quayside_meta::{Backend, ConnectOptions, Db, SchemaState};
use quayside_storage::LocationConfig;

use crate::redis_client::RedisTarget;

fn failure(group: &str, message: impl Into<String>) -> ValidationFailure {
    ValidationFailure {
        field_group: group.to_string(),
        message: message.into(),
    }
}

/// Database connection options from `DB_CONNECTION_ARGS` (Quay's 10 s
/// connect timeout unless `connect_timeout` says otherwise).
pub fn connect_options(config: &Config) -> ConnectOptions {
    let timeout = config
        .db_connection_args
        .get("connect_timeout")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(10);
    ConnectOptions {
        connect_timeout: Duration::from_secs(timeout),
        args: config.db_connection_args.clone(),
        ..ConnectOptions::default()
    }
}

/// Storage locations as the storage layer wants them.
pub fn storage_locations(config: &Config) -> Vec<LocationConfig> {
    config
        .distributed_storage_config
        .iter()
        .map(|(id, loc)| LocationConfig {
            id: id.clone(),
            driver: loc.driver.clone(),
            params: loc.params.clone(),
            config_dir: config.config_dir.clone(),
            gcs_endpoint: std::env::var(quayside_storage::driver::GCS_ENDPOINT_ENV)
                .ok()
                .filter(|v| !v.is_empty()),
        })
        .collect()
}

/// The Redis targets the configuration names explicitly.
pub fn redis_targets(config: &Config) -> Vec<Result<RedisTarget, crate::redis_client::RedisError>> {
    let mut out = Vec::new();
    for (key, cfg) in [
        ("BUILDLOGS_REDIS", &config.buildlogs_redis),
        ("USER_EVENTS_REDIS", &config.user_events_redis),
    ] {
        if config.is_set(key) {
            out.push(RedisTarget::from_config(key, &cfg.params));
        }
    }
    out
}

/// Runs the online checks. Static failures in the same groups are assumed to
/// have been reported already, so a group whose static check failed is not
/// dialled again.
pub async fn online(
    config: &Config,
    skip_groups: &[String],
    starting: bool,
) -> Vec<ValidationFailure> {
    let skip = |g: &str| skip_groups.iter().any(|s| s == g);
    let mut out = Vec::new();

    if !skip("Database") {
        out.extend(check_database(config).await);
    }
    if !skip("Redis") {
        for target in redis_targets(config) {
            match target {
                Ok(t) => {
                    if let Err(e) = t.check().await {
                        out.push(failure("Redis", e.to_string()));
                    }
                }
                Err(e) => out.push(failure("Redis", e.to_string())),
            }
        }
    }
    if !skip("DistributedStorage") {
        for loc in storage_locations(config) {
            // Reachability only: config check writes nothing.
            if let Err(e) = quayside_storage::driver::check_location(&loc) {
                out.push(failure("DistributedStorage", e.to_string()));
                continue;
            }
            if let Some(problem) = probe_bucket(&loc).await {
                // At start-up only the location pushes land in (the first preference) must
                // answer: another site's location being down must not keep this site down
                // (reads fall back to replicas). It is logged; `config check` reports it.
                let uploads_here = config.distributed_storage_preference.first() == Some(&loc.id);
                if starting && !uploads_here {
                    tracing::warn!(location = %loc.id, %problem, "storage location unreachable at start-up; this site does not upload to it");
                } else {
                    out.push(failure("DistributedStorage", problem));
                }
            }
        }
    }
    out
}

/// Config-tool's live probe of an object-store location: its bucket must exist and answer
/// within 3 seconds. Quay's message for a bucket that is not there.
async fn probe_bucket(loc: &LocationConfig) -> Option<String> {
    // LocalStorage was checked statically; opening it would create its directory, and
    // config check writes nothing.
    if loc.driver == "LocalStorage" {
        return None;
    }
    let engine = match quayside_storage::Engine::open(loc) {
        Ok(engine) => engine,
        Err(e) => return Some(e.to_string()),
    };
    let bucket = ["s3_bucket", "bucket_name", "azure_container"]
        .iter()
        .find_map(|k| loc.params.get(*k).and_then(|v| v.as_str()))
        .unwrap_or_default()
        .to_string();
    match tokio::time::timeout(std::time::Duration::from_secs(3), engine.check_reachable()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) if e.is_not_found() || is_missing_bucket(&e) => Some(format!(
            "Could not find bucket ({bucket}) in storage ({})",
            loc.id
        )),
        Ok(Err(e)) => Some(format!(
            "Could not connect to storage {}. Error: {e}",
            loc.id
        )),
        Err(_) => Some(format!(
            "Could not connect to storage {}. Error: no answer within 3 seconds",
            loc.id
        )),
    }
}

/// S3's `NoSuchBucket` and Azure's `ContainerNotFound` as OpenDAL reports them (a 404 on
/// the listing, which is otherwise never a 404).
fn is_missing_bucket(e: &quayside_storage::StorageError) -> bool {
    let text = e.to_string();
    text.contains("NoSuchBucket") || text.contains("ContainerNotFound")
}

async fn check_database(config: &Config) -> Vec<ValidationFailure> {
    // Checking writes nothing: a SQLite file that does not exist yet is fine
    // when a directory exists where it (or its parent) will be created.
    if let Some(file) = quayside_meta::sqlite_file(&config.db_uri) {
        if !file.exists() {
            let abs = std::path::absolute(&file).unwrap_or(file.clone());
            let ancestor = abs.ancestors().skip(1).find(|a| a.exists());
            return match ancestor {
                Some(a) if a.is_dir() => Vec::new(),
                _ => vec![failure(
                    "Database",
                    format!(
                        "Could not connect to database. Error: {} cannot be created",
                        file.display()
                    ),
                )],
            };
        }
    }
    let opts = ConnectOptions {
        create_sqlite_if_missing: false,
        ..connect_options(config)
    };
    let db = match Db::connect(&config.db_uri, &opts).await {
        Ok(db) => db,
        Err(e) => {
            return vec![failure(
                "Database",
                format!("Could not connect to database. Error: {e}"),
            )]
        }
    };
    let mut out = Vec::new();
    if db.backend() == Backend::Postgres {
        match (db.has_pg_trgm().await, db.schema_state().await) {
            // An empty database gets the extension from `migrate`.
            (Ok(false), Ok(SchemaState::Empty)) => {}
            (Ok(false), _) => out.push(failure(
                "Database",
                "if you are using a Postgres database, you must install the pg_trgm extension",
            )),
            (Ok(true), _) => {}
            (Err(e), _) => out.push(failure(
                "Database",
                format!("Could not connect to database. Error: {e}"),
            )),
        }
    }
    out
}

/// Every check `config check` and `serve` run: the static ones from
/// `quayside-config`, then the online ones for groups that passed statically.
/// The embedded default runs without Redis, so Redis is only required of a
/// Quay config directory (as Quay's config-tool requires it).
pub async fn check_all(resolved: &crate::bootstrap::Resolved) -> Vec<ValidationFailure> {
    check_all_with(resolved, false).await
}

/// [`check_all`] as `serve` runs it at start-up (`starting`): a non-preferred storage
/// location that cannot be reached is a warning there, not a refusal.
pub async fn check_all_with(
    resolved: &crate::bootstrap::Resolved,
    starting: bool,
) -> Vec<ValidationFailure> {
    let config = &resolved.config;
    let mut failures = quayside_config::validate(config, &config.bundle);
    if matches!(resolved.source, crate::bootstrap::Source::Embedded(_)) {
        failures.retain(|f| f.field_group != "Redis");
    }
    let failed_groups: Vec<String> = failures.iter().map(|f| f.field_group.clone()).collect();
    failures.extend(check_tls(config));
    failures.extend(online(config, &failed_groups, starting).await);
    failures
}

/// The certificate checks config-tool's HostSettings runs on the bundle (when quayside
/// terminates TLS itself and both files are present; their absence is reported
/// statically), plus the extra CA files outbound HTTPS will trust.
pub fn check_tls(config: &Config) -> Vec<ValidationFailure> {
    let mut out = Vec::new();
    if crate::tls::serves_tls(config) {
        if let (Some(cert), Some(key)) = (&config.bundle.ssl_cert, &config.bundle.ssl_key) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            out.extend(
                crate::tls::check_server_files(cert, key, &config.server_hostname, now)
                    .into_iter()
                    .map(|e| failure("HostSettings", e.to_string())),
            );
        }
    }
    if let Err(e) = crate::tls::outbound_roots(config) {
        out.push(failure("HostSettings", e.to_string()));
    }
    out
}
