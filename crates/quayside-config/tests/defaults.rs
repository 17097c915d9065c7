use std::collections::BTreeMap;
use std::path::PathBuf;

use quayside_config::{Config, ConfigError, KNOWN_FEATURES};
use serde_json::json;

#[test]
fn defaults_match_quay_config_py() -> Result<(), ConfigError> {
    let c = Config::from_value(json!({}))?;
    assert_eq!(c.server_hostname, "localhost:5000");
    assert_eq!(c.preferred_url_scheme, "http");
    assert!(!c.external_tls_termination);
    assert_eq!(c.listen_ip_version, "IPv4");
    assert_eq!(c.registry_state, "normal");
    assert!(!c.disable_pushes);
    assert_eq!(c.db_uri, "sqlite:///test/data/test.db");
    assert_eq!(c.db_connection_args.get("threadlocals"), Some(&json!(true)));
    assert_eq!(c.db_connection_args.get("autorollback"), Some(&json!(true)));
    assert!(c.db_connection_pooling);
    assert_eq!(c.secret_key, None);
    assert_eq!(c.database_secret_key, None);
    assert!(!c.setup_complete);
    assert_eq!(
        c.buildlogs_redis.params,
        json!({"host": "localhost"})
            .as_object()
            .cloned()
            .unwrap_or_default()
    );
    assert_eq!(c.user_events_redis.host(), Some("localhost"));
    assert_eq!(c.pull_metrics_redis.host(), Some("localhost"));
    assert_eq!(c.pull_metrics_redis.db(), 1);
    let ids: Vec<_> = c.distributed_storage_config.keys().cloned().collect();
    assert_eq!(ids, vec!["local_eu", "local_us"]);
    assert_eq!(
        c.distributed_storage_config["local_us"].driver,
        "LocalStorage"
    );
    assert_eq!(
        c.distributed_storage_config["local_us"].param_str("storage_path"),
        Some("test/data/registry/us")
    );
    assert_eq!(
        c.distributed_storage_config["local_eu"].param_str("storage_path"),
        Some("test/data/registry/eu")
    );
    assert_eq!(c.distributed_storage_preference, vec!["local_us"]);
    assert_eq!(c.distributed_storage_default_locations, vec!["local_us"]);
    assert_eq!(c.authentication_type, "Database");
    assert!(c.super_users.is_empty());
    assert_eq!(c.default_tag_expiration.as_str(), "2w");
    assert_eq!(c.default_tag_expiration.seconds(), Some(14 * 86400));
    let opts: Vec<_> = c
        .tag_expiration_options
        .iter()
        .map(|d| d.as_str())
        .collect();
    assert_eq!(opts, vec!["0s", "1d", "1w", "2w", "4w"]);
    assert_eq!(c.push_temp_tag_expiration_sec, 3600);
    assert_eq!(c.garbage_collection_frequency, 30);
    assert_eq!(c.maximum_layer_size.as_str(), "20G");
    assert_eq!(c.maximum_layer_size.bytes(), Some(20 << 30));
    assert_eq!(c.fresh_login_timeout.seconds(), Some(600));
    assert_eq!(c.session_timeout.seconds(), Some(31 * 86400));
    assert_eq!(c.user_recovery_token_lifetime.seconds(), Some(1800));
    assert!(c.create_private_repo_on_push);
    assert!(!c.create_namespace_on_push);
    assert_eq!(c.v2_pagination_size, 50);
    assert_eq!(c.instance_service_key_service, "quay");
    assert_eq!(
        c.instance_service_key_kid_location,
        PathBuf::from("conf/quay.kid")
    );
    assert_eq!(
        c.instance_service_key_location,
        PathBuf::from("conf/quay.pem")
    );
    assert_eq!(c.instance_service_key_expiration, 120);
    assert_eq!(c.instance_service_key_refresh, 55);
    assert_eq!(c.registry_jwt_auth_max_fresh_s, 3660);
    assert_eq!(c.library_namespace, "library");
    assert_eq!(c.prometheus_namespace, "quay");
    assert_eq!(c.health_checker.name, "LocalHealthCheck");
    assert!(c.health_checker.params.is_empty());
    assert!(c.testing, "config.py DefaultConfig has TESTING = True");
    assert_eq!(c.blobupload_deletion_date_threshold, 2880);
    assert!(!c.permanently_delete_tags);
    assert!(!c.reset_child_manifest_expiration);
    assert!(c.sparse_index_required_archs.is_empty());
    assert_eq!(c.logs_model, "database");
    assert_eq!(c.security_scanner_v4_endpoint, None);
    assert_eq!(c.bootstrap_token_owner, None);

    let oci: BTreeMap<_, _> = c.allowed_oci_artifact_types.clone();
    assert_eq!(oci.len(), 4);
    assert_eq!(
        oci["application/vnd.cncf.helm.config.v1+json"],
        vec![
            "application/tar+gzip",
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
        ]
    );
    assert!(oci["application/vnd.oci.image.config.v1+json"]
        .contains(&"application/vnd.in-toto+json".to_string()));
    assert!(oci["application/vnd.unknown.config.v1+json"]
        .contains(&"application/vnd.cncf.openpolicyagent.policy.layer.v1+rego".to_string()));

    // Default trait equals an empty mapping.
    assert_eq!(format!("{:?}", Config::default()), format!("{c:?}"));
    Ok(())
}

#[test]
fn every_feature_default() -> Result<(), ConfigError> {
    let c = Config::from_value(json!({}))?;
    let expected_true = [
        "ADVERTISE_V2",
        "AGGREGATED_LOG_COUNT_RETRIEVAL",
        "ANONYMOUS_ACCESS",
        "APP_SPECIFIC_TOKENS",
        "ASSIGN_OAUTH_TOKEN",
        "BUILD_SUPPORT",
        "CHANGE_TAG_EXPIRATION",
        "DIRECT_LOGIN",
        "EDIT_QUOTA",
        "ENABLE_STALE_MPU_CLEANUP",
        "EXTENDED_REPOSITORY_NAMES",
        "GARBAGE_COLLECTION",
        "GENERAL_OCI_SUPPORT",
        "HELM_OCI_SUPPORT",
        "LIBRARY_SUPPORT",
        "LOG_EXPORT",
        "MAILING",
        "MANIFEST_SIZE_BACKFILL",
        "MANIFEST_SUBJECT_BACKFILL",
        "NAMESPACE_GARBAGE_COLLECTION",
        "PARTIAL_USER_AUTOCOMPLETE",
        "PERMANENT_SESSIONS",
        "PROXY_CACHE_BLOB_DOWNLOAD",
        "REFERRERS_API",
        "REPOSITORY_ACTION_COUNTER",
        "REPOSITORY_GARBAGE_COLLECTION",
        "REQUIRE_TEAM_INVITE",
        "SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX",
        "SUPER_USERS",
        "UI_MODELCARD",
        "UI_V2",
        "USERNAME_CONFIRMATION",
        "USER_CREATION",
        "USER_EVENTS",
        "USER_LAST_ACCESSED",
        "VERIFY_QUOTA",
    ];
    let expected_false = [
        "ACTION_LOG_ROTATION",
        "AUTO_PRUNE",
        "BILLING",
        "BITBUCKET_BUILD",
        "BLACKLISTED_EMAILS",
        "CLEAR_EXPIRED_RAC_ENTRIES",
        "DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES",
        "ENTITLEMENT_RECONCILIATION",
        "EXPORT_COMPLIANCE",
        "EXTENDED_ACTION_LOGGING",
        "FIPS",
        "GITHUB_BUILD",
        "GITHUB_LOGIN",
        "GITLAB_BUILD",
        "GOOGLE_LOGIN",
        "IMAGE_EXPIRY_TRIGGER",
        "IMAGE_PULL_STATS",
        "IMMUTABLE_TAGS",
        "IMMUTABLE_TAGS_CAN_EXPIRE",
        "INVITE_ONLY_USER_CREATION",
        "NONSUPERUSER_TEAM_SYNCING_SETUP",
        "ORG_MIRROR",
        "ORG_SHARED_EMAIL",
        "OTEL_TRACING",
        "PROGRAMMATIC_BOOTSTRAP",
        "PROXY_CACHE",
        "PROXY_STORAGE",
        "PUBLIC_CATALOG",
        "QUOTA_MANAGEMENT",
        "QUOTA_NOTIFICATIONS",
        "QUOTA_SUPPRESS_FAILURES",
        "RATE_LIMITS",
        "READER_BUILD_LOGS",
        "RECAPTCHA",
        "REPO_MIRROR",
        "REQUIRE_ENCRYPTED_BASIC_AUTH",
        "RESTRICTED_USERS",
        "RESTRICTED_V1_PUSH",
        "RH_MARKETPLACE",
        "SECURITY_NOTIFICATIONS",
        "SECURITY_SCANNER",
        "SECURITY_SCANNER_V2",
        "SIGNING",
        "SPAM_DETECTION",
        "SPARSE_INDEX",
        "STORAGE_REPLICATION",
        "SUPERUSERS_FULL_ACCESS",
        "SUPERUSERS_ORG_CREATION_ONLY",
        "SUPERUSER_CONFIGDUMP",
        "TEAM_SYNCING",
        "UI_DELAY_AFTER_WRITE",
        "USER_INITIALIZE",
        "USER_LOG_ACCESS",
        "USER_METADATA",
        "USER_RENAME",
        "LDAP_CACHING",
        "ACI_CONVERSION",
        "PROXY_PROTOCOL",
    ];
    assert_eq!(
        KNOWN_FEATURES.len(),
        expected_true.len() + expected_false.len()
    );
    for name in expected_true {
        assert_eq!(c.features.get(name), Some(true), "{name}");
        assert!(c.feature(name), "{name}");
    }
    for name in expected_false {
        assert_eq!(c.features.get(name), Some(false), "{name}");
        assert!(!c.feature(&format!("FEATURE_{name}")), "{name}");
    }
    // Every known flag can be flipped through the YAML.
    for (name, default) in KNOWN_FEATURES {
        let c = Config::from_value(json!({ format!("FEATURE_{name}"): !default }))?;
        assert_eq!(c.features.get(name), Some(!default), "{name}");
    }
    // LISTEN_IP_VERSION is a string, not a flag.
    assert_eq!(c.features.get("LISTEN_IP_VERSION"), None);
    Ok(())
}
