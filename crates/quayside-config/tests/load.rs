mod common;

use common::fixture;
use quayside_config::{load_dir, Config, ConfigError, EnvOverrides, MARSHAL_ERROR_PREFIX};
use serde_json::json;

fn env(over: Option<&str>, pref: Option<&str>) -> EnvOverrides {
    EnvOverrides {
        override_config: over.map(str::to_string),
        storage_preference: pref.map(str::to_string),
    }
}

#[test]
fn valid_fixture_loads_with_types_and_unknown_keys() -> Result<(), ConfigError> {
    let c = load_dir(&fixture("valid"), &EnvOverrides::default())?;
    assert_eq!(c.server_hostname, "quay.example.com");
    assert!(c.setup_complete);
    assert_eq!(c.buildlogs_redis.host(), Some("redis.example.com"));
    assert_eq!(c.buildlogs_redis.port(), 6379);
    assert_eq!(c.buildlogs_redis.password(), Some("redis-s3cret"));
    let loc = &c.distributed_storage_config["default"];
    assert_eq!(loc.driver, "S3Storage");
    assert_eq!(loc.param_str("s3_bucket"), Some("quay-bucket"));
    assert_eq!(
        loc.params.get("port"),
        Some(&json!(443)),
        "param maps are preserved"
    );
    assert_eq!(
        c.distributed_storage_default_locations,
        Vec::<String>::new()
    );
    // Unknown/deprecated keys are kept raw and ignored.
    assert_eq!(c.get("V3_UPGRADE_MODE"), Some(&json!("complete")));
    assert_eq!(
        c.get("SOME_FUTURE_KEY"),
        Some(&json!({"nested": [1, 2, 3]}))
    );
    // Nulls are dropped.
    assert!(!c.is_set("EMPTY_ONE"));
    // Feature flag strings follow Quay truthiness.
    assert!(c.features.user_initialize);
    assert!(!c.features.mailing);
    // Instance key defaults live in the parent of the stack dir ($QUAYCONF).
    assert_eq!(c.instance_service_key_kid_location, fixture("quay.kid"));
    assert_eq!(c.config_dir.as_deref(), Some(fixture("valid").as_path()));
    assert_eq!(c.bundle.ssl_cert, None);
    assert_eq!(
        c.origin_of("SERVER_HOSTNAME"),
        Some(
            fixture("valid")
                .join("config.yaml")
                .display()
                .to_string()
                .as_str()
        )
    );
    Ok(())
}

#[test]
fn tls_files_are_recorded() -> Result<(), ConfigError> {
    let c = load_dir(&fixture("https_certs"), &EnvOverrides::default())?;
    assert_eq!(c.bundle.ssl_cert, Some(fixture("https_certs/ssl.cert")));
    assert_eq!(c.bundle.ssl_key, Some(fixture("https_certs/ssl.key")));
    assert_eq!(
        c.bundle.extra_ca_certs_dir,
        Some(fixture("https_certs/extra_ca_certs"))
    );
    assert_eq!(
        c.bundle.extra_ca_certs,
        vec![fixture("https_certs/extra_ca_certs/corp-ca.crt")]
    );
    assert_eq!(
        c.database_secret_key.as_deref(),
        Some("12345678901234567890")
    );
    Ok(())
}

#[test]
fn override_merge_order() -> Result<(), ConfigError> {
    // YAML < QUAY_OVERRIDE_CONFIG < QUAY_DISTRIBUTED_STORAGE_PREFERENCE; top-level replace.
    let over = r#"{
        "SERVER_HOSTNAME": "override.example.com",
        "BUILDLOGS_REDIS": {"host": "other-redis"},
        "DISTRIBUTED_STORAGE_PREFERENCE": ["from_override"],
        "FEATURE_PROXY_CACHE": "TRUE"
    }"#;
    let c = load_dir(&fixture("valid"), &env(Some(over), Some("  east   west ")))?;
    assert_eq!(c.server_hostname, "override.example.com");
    // Top-level replace, not deep merge: the YAML port/password are gone.
    assert_eq!(c.buildlogs_redis.host(), Some("other-redis"));
    assert_eq!(c.buildlogs_redis.password(), None);
    assert_eq!(c.distributed_storage_preference, vec!["east", "west"]);
    assert_eq!(
        c.origin_of("DISTRIBUTED_STORAGE_PREFERENCE"),
        Some("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
    );
    assert_eq!(c.origin_of("SERVER_HOSTNAME"), Some("QUAY_OVERRIDE_CONFIG"));
    assert!(c.features.proxy_cache);
    // Untouched keys keep their YAML values.
    assert_eq!(c.distributed_storage_config["default"].driver, "S3Storage");

    // Override alone (no preference env) wins over YAML.
    let c = load_dir(&fixture("valid"), &env(Some(over), None))?;
    assert_eq!(c.distributed_storage_preference, vec!["from_override"]);

    // Empty env values are ignored.
    let c = load_dir(&fixture("valid"), &env(Some("  "), Some("   ")))?;
    assert_eq!(c.server_hostname, "quay.example.com");
    assert_eq!(c.distributed_storage_preference, vec!["default"]);
    Ok(())
}

#[test]
fn missing_file_names_the_path() {
    let dir = fixture("does-not-exist");
    match load_dir(&dir, &EnvOverrides::default()) {
        Err(e @ ConfigError::MissingFile { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("does-not-exist/config.yaml"), "{msg}");
            assert!(msg.contains("not found"), "{msg}");
        }
        other => panic!("expected MissingFile, got {other:?}"),
    }
}

#[test]
fn malformed_yaml_has_line_and_column() {
    match load_dir(&fixture("malformed"), &EnvOverrides::default()) {
        Err(
            e @ ConfigError::MalformedYaml {
                line: Some(_),
                column: Some(_),
                ..
            },
        ) => {
            let msg = e.to_string();
            assert!(msg.contains("malformed/config.yaml"), "{msg}");
            assert!(msg.contains("line "), "{msg}");
            assert!(msg.contains("column "), "{msg}");
        }
        other => panic!("expected MalformedYaml with location, got {other:?}"),
    }
}

#[test]
fn top_level_must_be_mapping() {
    for (dir, found) in [("not_mapping", "a list"), ("empty", "an empty document")] {
        match load_dir(&fixture(dir), &EnvOverrides::default()) {
            Err(e @ ConfigError::NotAMapping { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&format!("{dir}/config.yaml")), "{msg}");
                assert!(msg.contains(found), "{msg}");
            }
            other => panic!("{dir}: expected NotAMapping, got {other:?}"),
        }
    }
}

#[test]
fn invalid_override_json() {
    match load_dir(
        &fixture("valid"),
        &env(Some("{\"SERVER_HOSTNAME\": "), None),
    ) {
        Err(e @ ConfigError::InvalidOverrideJson { .. }) => {
            assert!(
                e.to_string()
                    .starts_with("QUAY_OVERRIDE_CONFIG: invalid JSON at line 1"),
                "{e}"
            );
        }
        other => panic!("expected InvalidOverrideJson, got {other:?}"),
    }
    match load_dir(&fixture("valid"), &env(Some("[1, 2]"), None)) {
        Err(e @ ConfigError::NotAMapping { .. }) => {
            assert!(e.to_string().starts_with("QUAY_OVERRIDE_CONFIG:"), "{e}");
        }
        other => panic!("expected NotAMapping, got {other:?}"),
    }
}

#[test]
fn wrong_type_names_file_key_and_expected_type() {
    match load_dir(&fixture("wrong_type"), &EnvOverrides::default()) {
        Err(e @ ConfigError::WrongType { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("wrong_type/config.yaml"), "{msg}");
            assert!(msg.contains(MARSHAL_ERROR_PREFIX), "{msg}");
            assert!(
                msg.contains("Key SERVER_HOSTNAME must be a string, found a list"),
                "{msg}"
            );
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
    // A wrong type coming from the override names the env var.
    match load_dir(
        &fixture("valid"),
        &env(Some(r#"{"SETUP_COMPLETE": "yes"}"#), None),
    ) {
        Err(e @ ConfigError::WrongType { .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with("QUAY_OVERRIDE_CONFIG:"), "{msg}");
            assert!(
                msg.contains("Key SETUP_COMPLETE must be a boolean"),
                "{msg}"
            );
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
}

#[test]
fn wrong_types_for_each_kind_of_key() {
    let cases = [
        (
            json!({"DISABLE_PUSHES": "true"}),
            "DISABLE_PUSHES",
            "a boolean",
        ),
        (
            json!({"V2_PAGINATION_SIZE": "50"}),
            "V2_PAGINATION_SIZE",
            "a non-negative integer",
        ),
        (
            json!({"GARBAGE_COLLECTION_FREQUENCY": -1}),
            "GARBAGE_COLLECTION_FREQUENCY",
            "a non-negative integer",
        ),
        (
            json!({"SUPER_USERS": "admin"}),
            "SUPER_USERS",
            "a list of strings",
        ),
        (
            json!({"SUPER_USERS": ["admin", 3]}),
            "SUPER_USERS",
            "a list of strings",
        ),
        (
            json!({"DB_CONNECTION_ARGS": []}),
            "DB_CONNECTION_ARGS",
            "a mapping",
        ),
        (
            json!({"BUILDLOGS_REDIS": "localhost"}),
            "BUILDLOGS_REDIS",
            "a mapping",
        ),
        (
            json!({"USER_EVENTS_REDIS": {"host": "h", "port": "6379"}}),
            "USER_EVENTS_REDIS.port",
            "an integer",
        ),
        (
            json!({"DISTRIBUTED_STORAGE_CONFIG": {"a": "LocalStorage"}}),
            "DISTRIBUTED_STORAGE_CONFIG.a",
            "a two-element list",
        ),
        (
            json!({"DISTRIBUTED_STORAGE_CONFIG": {"a": ["LocalStorage"]}}),
            "DISTRIBUTED_STORAGE_CONFIG.a",
            "a two-element list",
        ),
        (
            json!({"HEALTH_CHECKER": "LocalHealthCheck"}),
            "HEALTH_CHECKER",
            "a two-element list",
        ),
        (
            json!({"ALLOWED_OCI_ARTIFACT_TYPES": {"x": "y"}}),
            "ALLOWED_OCI_ARTIFACT_TYPES.x",
            "a list of strings",
        ),
        (
            json!({"DATABASE_SECRET_KEY": ["x"]}),
            "DATABASE_SECRET_KEY",
            "a string",
        ),
        (
            json!({"FEATURE_LISTEN_IP_VERSION": 4}),
            "FEATURE_LISTEN_IP_VERSION",
            "a string",
        ),
        (
            json!({"SECURITY_SCANNER_ENDPOINT": 1}),
            "SECURITY_SCANNER_ENDPOINT",
            "a string",
        ),
    ];
    for (patch, key, expected) in cases {
        match Config::from_value(common::with(patch.clone())) {
            Err(e @ ConfigError::WrongType { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&format!("Key {key} must be {expected}")),
                    "{patch}: {msg}"
                );
                assert!(msg.starts_with("<in-memory config>:"), "{msg}");
            }
            other => panic!("{patch}: expected WrongType, got {other:?}"),
        }
    }
}

#[test]
fn feature_flags_accept_any_type() -> Result<(), ConfigError> {
    let c = Config::from_value(json!({
        "FEATURE_BILLING": 1,
        "FEATURE_DIRECT_LOGIN": "no",
        "FEATURE_PROXY_CACHE": ["x"],
        "FEATURE_SOMETHING_NEW": "TrUe",
        "FEATURE_OTHER_NEW": 0
    }))?;
    assert!(c.features.billing);
    assert!(!c.features.direct_login);
    assert!(c.features.proxy_cache);
    assert!(c.feature("SOMETHING_NEW"));
    assert!(c.feature("FEATURE_SOMETHING_NEW"));
    assert!(!c.feature("OTHER_NEW"));
    assert!(!c.feature("NEVER_SET"));
    assert!(c.feature("FEATURE_BILLING"));
    Ok(())
}

#[test]
fn yaml_string_and_yaml_value_constructors() -> Result<(), ConfigError> {
    let c = Config::from_yaml_str(
        "SERVER_HOSTNAME: a.example.com\nFEATURE_LISTEN_IP_VERSION: Dual-Stack\n",
    )?;
    assert_eq!(c.server_hostname, "a.example.com");
    assert_eq!(
        c.listen_ip(),
        Some(quayside_config::ListenIpVersion::DualStack)
    );
    let y: serde_yaml_ng::Value =
        serde_yaml_ng::from_str("{1: one, true: yes, REGISTRY_STATE: readonly}").map_err(|e| {
            ConfigError::MalformedYaml {
                path: "t".into(),
                line: None,
                column: None,
                message: e.to_string(),
            }
        })?;
    let c = Config::from_yaml_value(y)?;
    assert!(c.is_readonly());
    assert_eq!(c.get("1"), Some(&json!("one")));
    assert_eq!(c.get("true"), Some(&json!("yes")));
    match Config::from_yaml_str("SETUP_COMPLETE: [") {
        Err(ConfigError::MalformedYaml { line: Some(_), .. }) => {}
        other => panic!("expected MalformedYaml, got {other:?}"),
    }
    match Config::from_value(json!("scalar")) {
        Err(ConfigError::NotAMapping { .. }) => {}
        other => panic!("expected NotAMapping, got {other:?}"),
    }
    Ok(())
}

#[test]
fn debug_redacts_secrets() -> Result<(), ConfigError> {
    let over = r#"{"SECRET_KEY": "flask-s3cret", "PULL_METRICS_REDIS": {"host": "r", "password": "pull-s3cret"}}"#;
    let c = load_dir(&fixture("valid"), &env(Some(over), None))?;
    let dbg = format!("{c:?}");
    for secret in [
        "db-s3cret",
        "redis-s3cret",
        "aws-s3cret",
        "AKIAEXAMPLE",
        "ldap-s3cret",
        "flask-s3cret",
        "pull-s3cret",
        "7f2e4c1a",
    ] {
        assert!(!dbg.contains(secret), "Debug leaks {secret}: {dbg}");
    }
    assert!(
        dbg.contains("postgresql://quay:<redacted>@postgres.example.com:5432/quay"),
        "{dbg}"
    );
    assert!(
        dbg.contains("quay-bucket"),
        "non-secret params still shown: {dbg}"
    );
    assert!(
        dbg.contains("LDAP_ADMIN_PASSWD"),
        "raw key names are listed: {dbg}"
    );
    Ok(())
}
