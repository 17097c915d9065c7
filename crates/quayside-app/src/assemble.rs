//! Builds the running application from a resolved configuration and a
//! migrated database: storage, Redis, the instance service key and token
//! service, the registry model and the `/v2` surface.

use std::sync::Arc;

use quayside_auth::{Auth, AuthSettings};
use quayside_config::{Config, LiveSettings};
use quayside_domain::{QuotaSettings, Registry, RegistrySettings};
use quayside_meta::Db;
use quayside_metrics::{Metrics, MetricsOptions, TrackedNamespaces};
use quayside_oci::NameRules;
use quayside_quay_api::{BlobFuture, BlobReader, QuayApiSettings, QuayApiState};
use quayside_registry_api::{V2Settings, V2State};
use quayside_storage::DistributedStorage;

use crate::bootstrap::{Resolved, Source};
use crate::{checks, AppState, Settings};

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error(transparent)]
    Storage(#[from] quayside_storage::StorageError),
    #[error(transparent)]
    Redis(#[from] crate::redis_client::RedisError),
    #[error("instance service key: {0}")]
    Auth(#[from] quayside_auth::AuthError),
}

/// Where the instance service key lives: next to the embedded data, or
/// where `INSTANCE_SERVICE_KEY_*_LOCATION` say for a Quay config.
fn key_paths(resolved: &Resolved) -> (std::path::PathBuf, std::path::PathBuf) {
    match &resolved.source {
        Source::Embedded(dir) => (
            dir.join("secrets").join("quay.kid"),
            dir.join("secrets").join("quay.pem"),
        ),
        Source::ConfigDir(_) => (
            resolved.config.instance_service_key_kid_location.clone(),
            resolved.config.instance_service_key_location.clone(),
        ),
    }
}

fn duration_secs(s: &quayside_config::DurationStr, fallback: u64) -> u64 {
    s.seconds().unwrap_or(fallback)
}

/// A list-of-strings key (absent or malformed: empty).
fn string_list(c: &Config, key: &str) -> Vec<String> {
    c.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn auth_settings(resolved: &Resolved) -> AuthSettings {
    let c: &Config = &resolved.config;
    let (kid_path, pem_path) = key_paths(resolved);
    AuthSettings {
        server_hostname: c.server_hostname.clone(),
        preferred_url_scheme: c.preferred_url_scheme.clone(),
        service_name: c.instance_service_key_service.clone(),
        super_users: c.super_users.clone(),
        super_users_enabled: c.feature("SUPER_USERS"),
        global_readonly_super_users: string_list(c, "GLOBAL_READONLY_SUPER_USERS"),
        superusers_full_access: c.feature("SUPERUSERS_FULL_ACCESS"),
        anonymous_access: c.feature("ANONYMOUS_ACCESS"),
        app_specific_tokens: c.feature("APP_SPECIFIC_TOKENS"),
        require_encrypted_basic_auth: c.feature("REQUIRE_ENCRYPTED_BASIC_AUTH"),
        robots_disallow: c
            .get("ROBOTS_DISALLOW")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        robots_whitelist: string_list(c, "ROBOTS_WHITELIST"),
        create_private_repo_on_push: c.create_private_repo_on_push,
        create_namespace_on_push: c.create_namespace_on_push,
        extended_repository_names: c.feature("EXTENDED_REPOSITORY_NAMES"),
        database_secret_key: c.database_secret_key.clone(),
        secret_key: c.secret_key.clone(),
        jwt_max_fresh_s: c.registry_jwt_auth_max_fresh_s,
        instance_key_expiration_min: c.instance_service_key_expiration,
        kid_path,
        pem_path,
        library_namespace: c.library_namespace.clone(),
        read_only: c.is_readonly(),
        default_tag_expiration_s: i64::try_from(duration_secs(
            &c.default_tag_expiration,
            1_209_600,
        ))
        .unwrap_or(1_209_600),
        ..AuthSettings::default()
    }
}

/// `DISTRIBUTED_STORAGE_PREFERENCE` as written, or — when the config leaves
/// it out and Quay's default `[local_us]` names no configured location —
/// every location (what Quay does with an empty preference).
pub fn effective_preference(config: &Config) -> Vec<String> {
    let pref = &config.distributed_storage_preference;
    let known = pref
        .iter()
        .all(|p| config.distributed_storage_config.contains_key(p));
    if config.is_set("DISTRIBUTED_STORAGE_PREFERENCE") || known {
        pref.clone()
    } else {
        Vec::new()
    }
}

/// The `/api/v1` views' read access to small blobs (manifest configs), through the
/// registry model: only blobs visible in the repository, never more than asked for.
struct RegistryBlobReader(Registry);

impl BlobReader for RegistryBlobReader {
    fn read_blob<'a>(
        &'a self,
        repository_id: i64,
        digest: &'a str,
        max_bytes: u64,
    ) -> BlobFuture<'a> {
        Box::pin(async move {
            let Ok(digest) = quayside_oci::Digest::parse(digest) else {
                return Ok(None);
            };
            self.0
                .read_small_blob(repository_id, &digest, max_bytes)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

pub async fn assemble(resolved: &Resolved, db: Db) -> Result<AppState, AssembleError> {
    assemble_with(resolved, db, auth_settings(resolved)).await
}

/// [`assemble`] with the given auth settings (tests lower the bcrypt cost).
pub async fn assemble_with(
    resolved: &Resolved,
    db: Db,
    auth_settings: AuthSettings,
) -> Result<AppState, AssembleError> {
    let config = &resolved.config;
    let storage = Arc::new(DistributedStorage::open(
        &checks::storage_locations(config),
        &effective_preference(config),
    )?);
    let redis = checks::redis_targets(config)
        .into_iter()
        .next()
        .transpose()?;
    let auth = Auth::start(db.clone(), auth_settings).await?;
    let live = Arc::new(LiveSettings::from_config(config));
    let registry = Registry::new(
        db.clone(),
        storage.clone(),
        RegistrySettings {
            push_temp_tag_expiration_sec: config.push_temp_tag_expiration_sec,
            max_layer_size: config.maximum_layer_size.bytes(),
            v2_max_page: 100,
            referrers_api: config.feature("REFERRERS_API"),
            direct_download: !config.feature("PROXY_STORAGE"),
            storage_replication: config.feature("STORAGE_REPLICATION"),
            sparse_required_archs: RegistrySettings::sparse_index(
                config.feature("SPARSE_INDEX"),
                &config.sparse_index_required_archs,
            ),
            quota: QuotaSettings {
                management: config.feature("QUOTA_MANAGEMENT"),
                verify: config.feature("VERIFY_QUOTA"),
                invalidate_totals: config.quota_invalidate_totals,
                default_reject_bytes: i64::try_from(config.default_system_reject_quota_bytes)
                    .unwrap_or(i64::MAX),
            },
        },
    );
    let quay_api = QuayApiState::new(
        auth.clone(),
        QuayApiSettings {
            authentication_type: config.authentication_type.clone(),
            user_initialize: config.feature("USER_INITIALIZE"),
            mailing: config.feature("MAILING"),
            config: Arc::new(config.clone()),
            live: live.clone(),
        },
    )
    .with_blob_reader(Arc::new(RegistryBlobReader(registry.clone())));
    let metrics = Metrics::with_options(MetricsOptions {
        tracked_namespaces: config
            .get("TRACKED_NAMESPACES")
            .map(TrackedNamespaces::from_config_value)
            .unwrap_or_else(TrackedNamespaces::none),
        constant_labels: MetricsOptions::quay_grouping_labels("quayside"),
    });
    let v2 = V2State {
        settings: Arc::new(V2Settings {
            server_hostname: config.server_hostname.clone(),
            scheme: config.preferred_url_scheme.clone(),
            live: live.clone(),
            anonymous_access: config.feature("ANONYMOUS_ACCESS"),
            referrers_api: config.feature("REFERRERS_API"),
            advertise_v2: config.feature("ADVERTISE_V2"),
            sparse_index: config.feature("SPARSE_INDEX"),
            sparse_required_archs: config.sparse_index_required_archs.clone(),
            public_catalog: config.feature("PUBLIC_CATALOG"),
            name_rules: NameRules {
                extended: config.feature("EXTENDED_REPOSITORY_NAMES"),
                library_namespace: config
                    .feature("LIBRARY_SUPPORT")
                    .then(|| config.library_namespace.clone()),
            },
            general_oci_support: config.feature("GENERAL_OCI_SUPPORT"),
            oci_namespace_whitelist: config
                .get("OCI_NAMESPACE_WHITELIST")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            artifact_policy: quayside_oci::ArtifactPolicy::from_config(
                config.feature("GENERAL_OCI_SUPPORT"),
                config.feature("HELM_OCI_SUPPORT"),
                &config.allowed_oci_artifact_types,
                config
                    .get("IGNORE_UNKNOWN_MEDIATYPES")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            ),
        }),
        registry,
        auth,
        metrics,
        audit: quayside_registry_api::AuditLog::start(db.clone()),
        verified_tokens: Default::default(),
    };
    let settings = Settings {
        server_hostname: config.server_hostname.clone(),
        live,
        work_dir: resolved.work_dir.clone(),
        disk_threshold: config
            .get("DISKSPACE_HEALTH_THRESHOLD")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.01),
        disk_warning_threshold: config
            .get("DISKSPACE_HEALTH_WARNING_THRESHOLD")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.1),
        billing: config.feature("BILLING"),
    };
    Ok(AppState::new(settings, db, storage, redis, v2, quay_api))
}
