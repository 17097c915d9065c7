mod common;

use common::{base, fixture, with};
use quayside_config::{
    load_dir, render_table, validate, BundleFiles, Config, ConfigError, EnvOverrides,
    ValidationFailure,
};
use serde_json::{json, Value};

fn failures(v: Value, bundle: &BundleFiles) -> Result<Vec<ValidationFailure>, ConfigError> {
    Ok(validate(&Config::from_value(v)?, bundle))
}

fn certs() -> BundleFiles {
    BundleFiles::scan(&fixture("https_certs"))
}

#[test]
fn base_and_fixtures_pass() -> Result<(), ConfigError> {
    assert_eq!(failures(base(), &BundleFiles::default())?, vec![]);
    let c = load_dir(&fixture("valid"), &EnvOverrides::default())?;
    assert_eq!(validate(&c, &c.bundle), vec![]);
    let c = load_dir(&fixture("https_certs"), &EnvOverrides::default())?;
    assert_eq!(validate(&c, &c.bundle), vec![]);
    Ok(())
}

#[test]
fn three_independent_errors_yield_exactly_three_failures() -> Result<(), ConfigError> {
    let c = load_dir(&fixture("three_errors"), &EnvOverrides::default())?;
    let got = validate(&c, &c.bundle);
    let groups: Vec<&str> = got.iter().map(|f| f.field_group.as_str()).collect();
    assert_eq!(
        groups,
        vec!["HostSettings", "DistributedStorage", "TimeMachine"],
        "{got:#?}"
    );
    assert!(
        got[0].message.contains("fully qualified domain name"),
        "{}",
        got[0].message
    );
    assert_eq!(
        got[1].message,
        "AkamaiS3Storage is not a valid storage type."
    );
    assert_eq!(
        got[2].message,
        "The default tag expiration period must be included in the allowed expiration periods."
    );
    Ok(())
}

/// Every check: the patch makes exactly that one check fail (base passes, see above).
#[test]
fn every_check_fails_alone() -> Result<(), ConfigError> {
    let none = BundleFiles::default();
    let https = json!({"PREFERRED_URL_SCHEME": "https"});
    let only_cert = BundleFiles {
        ssl_cert: Some("ssl.cert".into()),
        ..BundleFiles::default()
    };
    let only_key = BundleFiles {
        ssl_key: Some("ssl.key".into()),
        ..BundleFiles::default()
    };
    let local = |extra: Value| {
        let mut m = json!({"local": ["LocalStorage", {"storage_path": "/d"}]});
        if let (Some(o), Value::Object(e)) = (m.as_object_mut(), extra) {
            o.extend(e);
        }
        m
    };
    let cases: Vec<(Value, &BundleFiles, &str, &str)> = vec![
        // HostSettings
        (json!({"SERVER_HOSTNAME": null}), &none, "HostSettings", "SERVER_HOSTNAME is required"),
        (json!({"SERVER_HOSTNAME": ""}), &none, "HostSettings", "SERVER_HOSTNAME is required"),
        (json!({"SERVER_HOSTNAME": "https://quay.example.com"}), &none, "HostSettings", "SERVER_HOSTNAME must be of type Hostname"),
        (json!({"SERVER_HOSTNAME": "quay:8080"}), &none, "HostSettings", "SERVER_HOSTNAME must be a fully qualified domain name (e.g. quay.example.com); single-label hostnames such as `quay` are not supported by OpenShift"),
        (json!({"PREFERRED_URL_SCHEME": "ftp"}), &none, "HostSettings", "PREFERRED_URL_SCHEME must be one of http, https."),
        (https.clone(), &none, "HostSettings", "Certificates are required for SSL but are not present"),
        (https.clone(), &only_key, "HostSettings", "Certificate ssl.cert is required for HostSettings ."),
        (https.clone(), &only_cert, "HostSettings", "Certificate ssl.key is required for HostSettings ."),
        (json!({"REGISTRY_STATE": "maintenance"}), &none, "HostSettings", "REGISTRY_STATE must be one of normal, readonly."),
        (json!({"FEATURE_LISTEN_IP_VERSION": "IPv5"}), &none, "HostSettings", "FEATURE_LISTEN_IP_VERSION must be one of IPv4, IPv6, dual-stack."),
        (json!({"MAXIMUM_LAYER_SIZE": "20GB"}), &none, "HostSettings", "MAXIMUM_LAYER_SIZE must have the regex pattern ^[0-9]+(G|M)$"),
        // Database
        (json!({"DB_URI": null}), &none, "Database", "DB_URI is required."),
        (json!({"DB_URI": "  "}), &none, "Database", "DB_URI is required."),
        (json!({"DB_URI": "mysql+pymysql://u:p@db/quay"}), &none, "Database", "DB_URI uses the MySQL scheme `mysql+pymysql`; MySQL/MariaDB databases are not supported by quayside. Use PostgreSQL (postgresql://) or SQLite (sqlite://)."),
        (json!({"DB_URI": "mysql://u:p@db/quay"}), &none, "Database", "DB_URI uses the MySQL scheme `mysql`; MySQL/MariaDB databases are not supported by quayside. Use PostgreSQL (postgresql://) or SQLite (sqlite://)."),
        (json!({"DB_URI": "oracle://db/quay"}), &none, "Database", "DB_URI scheme `oracle` is not supported; it must be one of postgresql, postgresql+psycopg2, postgres, sqlite."),
        (json!({"DB_URI": "db.example.com/quay"}), &none, "Database", "DB_URI must be a URI of the form <scheme>://..., e.g. postgresql://user:password@host:5432/quay"),
        (json!({"DB_URI": "postgresql://u:p@[bad/quay"}), &none, "Database", "DB_URI is not a valid URI: invalid IPv6 address"),
        // Redis
        (json!({"BUILDLOGS_REDIS": null}), &none, "Redis", "BUILDLOGS_REDIS is required"),
        (json!({"BUILDLOGS_REDIS": {"port": 6379}}), &none, "Redis", "BUILDLOGS_REDIS.HOST is required"),
        (json!({"USER_EVENTS_REDIS": null}), &none, "Redis", "USER_EVENTS_REDIS is required"),
        (json!({"USER_EVENTS_REDIS": {"host": ""}}), &none, "Redis", "USER_EVENTS_REDIS.HOST is required"),
        (json!({"PULL_METRICS_REDIS": {"db": 1}}), &none, "Redis", "PULL_METRICS_REDIS.HOST is required"),
        // DistributedStorage
        (json!({"DISTRIBUTED_STORAGE_CONFIG": null}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG is required"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": {}, "DISTRIBUTED_STORAGE_PREFERENCE": [], "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": []}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG must contain at least one storage location."),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": local(json!({"x": ["FakeStorage", {}]}))}), &none, "DistributedStorage", "FakeStorage is not a valid storage type."),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": {"local": ["LocalStorage", {}]}}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG.local.storage_path is required"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": {"local": ["LocalStorage", {"storage_path": 5}]}}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG.local.storage_path must be a string, found number 5"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": local(json!({"s3": ["S3Storage", {"storage_path": "/r"}]}))}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG.s3.s3_bucket is required"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": local(json!({"az": ["AzureStorage", {"azure_container": "c"}]}))}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG.az.azure_account_name is required"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": local(json!({"sw": ["SwiftStorage", {"auth_url": "u", "swift_container": "c", "swift_user": "u", "swift_password": "p", "auth_version": 4}]}))}), &none, "DistributedStorage", "4 must be either 1, 2, or 3."),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": local(json!({"m": ["MultiCDNStorage", {"default_provider": "a", "providers": {}}]}))}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG.m.storage_config is required"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": {"a": ["LocalStorage", {"storage_path": "/d"}]}, "DISTRIBUTED_STORAGE_PREFERENCE": ["a"], "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["a"], "FEATURE_STORAGE_REPLICATION": true}), &none, "DistributedStorage", "FEATURE_STORAGE_REPLICATION is not supported by LocalStorage."),
        (json!({"DISTRIBUTED_STORAGE_PREFERENCE": ["local", "nowhere"]}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_PREFERENCE entry `nowhere` is not a location defined in DISTRIBUTED_STORAGE_CONFIG."),
        (json!({"DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["gone"]}), &none, "DistributedStorage", "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS entry `gone` is not a location defined in DISTRIBUTED_STORAGE_CONFIG."),
        // TimeMachine
        (json!({"DEFAULT_TAG_EXPIRATION": "3d"}), &none, "TimeMachine", "The default tag expiration period must be included in the allowed expiration periods."),
        (json!({"TAG_EXPIRATION_OPTIONS": ["2w", "1y"]}), &none, "TimeMachine", "TAG_EXPIRATION_OPTIONS entry `1y` must have the regex pattern ^[0-9]+(w|m|d|h|s)$"),
        // AccessSettings
        (json!({"AUTHENTICATION_TYPE": "Kerberos"}), &none, "AccessSettings", "AUTHENTICATION_TYPE must be one of Database, LDAP, JWT, Keystone, OIDC, AppToken."),
        (json!({"FEATURE_DIRECT_LOGIN": false}), &none, "AccessSettings", "At least one of FEATURE_DIRECT_LOGIN,FEATURE_GITHUB_LOGIN,FEATURE_GOOGLE_LOGIN must be enabled"),
        (json!({"FRESH_LOGIN_TIMEOUT": "10 minutes"}), &none, "AccessSettings", "FRESH_LOGIN_TIMEOUT must have the regex pattern ^[0-9]+(w|m|d|h|s)$"),
        (json!({"SESSION_TIMEOUT": "1M"}), &none, "AccessSettings", "SESSION_TIMEOUT must have the regex pattern ^[0-9]+(w|m|d|h|s)$"),
        (json!({"USER_RECOVERY_TOKEN_LIFETIME": "30"}), &none, "AccessSettings", "USER_RECOVERY_TOKEN_LIFETIME must have the regex pattern ^[0-9]+(w|m|d|h|s)$"),
        (json!({"FEATURE_USER_CREATION": false, "FEATURE_INVITE_ONLY_USER_CREATION": true}), &none, "AccessSettings", "INVITE_USER_ONLY_CREATION requires FEATURE_USER_CREATION to be enabled"),
        // SecurityScanner
        (json!({"FEATURE_SECURITY_SCANNER": true}), &none, "SecurityScanner", "At least one of SECURITY_SCANNER_ENDPOINT,SECURITY_SCANNER_V4_ENDPOINT must be present"),
        (json!({"FEATURE_SECURITY_SCANNER": true, "SECURITY_SCANNER_V4_ENDPOINT": "clair:8080"}), &none, "SecurityScanner", "SECURITY_SCANNER_V4_ENDPOINT must be of type URL"),
        // RepoMirror, ActionLogArchiving
        (json!({"REPO_MIRROR_SERVER_HOSTNAME": "http://quay"}), &none, "RepoMirror", "REPO_MIRROR_SERVER_HOSTNAME must be of type Hostname"),
        (json!({"FEATURE_ACTION_LOG_ROTATION": true}), &none, "ActionLogArchiving", "ACTION_LOG_ARCHIVE_LOCATION `local_us` is not a location defined in DISTRIBUTED_STORAGE_CONFIG."),
        (json!({"FEATURE_ACTION_LOG_ROTATION": true, "ACTION_LOG_ARCHIVE_LOCATION": "local", "ACTION_LOG_ARCHIVE_PATH": ""}), &none, "ActionLogArchiving", "ACTION_LOG_ARCHIVE_PATH is required"),
        // ProgrammaticBootstrap
        (json!({"FEATURE_PROGRAMMATIC_BOOTSTRAP": true}), &none, "ProgrammaticBootstrap", "BOOTSTRAP_TOKEN_OWNER is required when FEATURE_PROGRAMMATIC_BOOTSTRAP is enabled"),
        (json!({"FEATURE_PROGRAMMATIC_BOOTSTRAP": "true", "BOOTSTRAP_TOKEN_OWNER": "bot"}), &none, "ProgrammaticBootstrap", "BOOTSTRAP_TOKEN_OWNER `bot` must be listed in SUPER_USERS"),
        // Startup (boot.py / app.py)
        (json!({"SETUP_COMPLETE": null}), &none, "Startup", "Your configuration bundle is either not mounted or setup has not been completed"),
        (json!({"SETUP_COMPLETE": false}), &none, "Startup", "Your configuration bundle is either not mounted or setup has not been completed"),
        (json!({"DATABASE_SECRET_KEY": null}), &none, "Startup", "Missing DATABASE_SECRET_KEY in config; did you perhaps forget to add it?"),
        (json!({"DISTRIBUTED_STORAGE_CONFIG": {"s3": ["S3Storage", {"s3_bucket": "b"}]}, "DISTRIBUTED_STORAGE_PREFERENCE": [], "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": [], "FEATURE_STORAGE_REPLICATION": true}), &none, "Startup", "Missing storage preference: FEATURE_STORAGE_REPLICATION is enabled but no DISTRIBUTED_STORAGE_PREFERENCE is configured; set it in config.yaml or set the QUAY_DISTRIBUTED_STORAGE_PREFERENCE environment variable"),
    ];
    for (patch, bundle, group, message) in cases {
        let got = failures(with(patch.clone()), bundle)?;
        assert_eq!(
            got,
            vec![ValidationFailure {
                field_group: group.into(),
                message: message.into()
            }],
            "patch {patch}"
        );
    }
    // An invalid default can only be "included" if the options carry the same bad value.
    let got = failures(
        with(json!({"DEFAULT_TAG_EXPIRATION": "2 weeks", "TAG_EXPIRATION_OPTIONS": ["2 weeks"]})),
        &none,
    )?;
    let msgs: Vec<&str> = got.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "DEFAULT_TAG_EXPIRATION must have the regex pattern ^[0-9]+(w|m|d|h|s)$",
            "TAG_EXPIRATION_OPTIONS entry `2 weeks` must have the regex pattern ^[0-9]+(w|m|d|h|s)$",
        ]
    );
    Ok(())
}

/// The passing side of the conditional checks.
#[test]
fn conditional_checks_pass_when_satisfied() -> Result<(), ConfigError> {
    let none = BundleFiles::default();
    let passing = [
        json!({"PREFERRED_URL_SCHEME": "https"}), // with certs, below
        json!({"PREFERRED_URL_SCHEME": "https", "EXTERNAL_TLS_TERMINATION": true}),
        json!({"SERVER_HOSTNAME": "localhost:8080"}),
        json!({"SERVER_HOSTNAME": "10.1.2.3"}),
        json!({"REGISTRY_STATE": "readonly"}),
        json!({"FEATURE_LISTEN_IP_VERSION": "ipv6"}),
        json!({"FEATURE_LISTEN_IP_VERSION": "DUAL-STACK"}),
        json!({"MAXIMUM_LAYER_SIZE": "512M"}),
        json!({"DB_URI": "sqlite:///var/lib/quay.db"}),
        json!({"DB_URI": "postgres://quay@db/quay"}),
        json!({"DB_URI": "postgresql+psycopg2://quay:pw@db/quay"}),
        json!({"PULL_METRICS_REDIS": {"host": "r", "db": 2}}),
        json!({"DISTRIBUTED_STORAGE_CONFIG": {"s3": ["S3Storage", {"s3_bucket": "b"}], "local": ["LocalStorage", {"storage_path": "/d"}]}, "DISTRIBUTED_STORAGE_PREFERENCE": ["s3", "local"], "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["s3", "local"]}),
        json!({"DISTRIBUTED_STORAGE_CONFIG": {"s3": ["S3Storage", {"s3_bucket": "b"}], "gcs": ["GoogleCloudStorage", {"access_key": "a", "secret_key": "s", "bucket_name": "b"}]}, "DISTRIBUTED_STORAGE_PREFERENCE": ["s3"], "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["s3", "gcs"], "FEATURE_STORAGE_REPLICATION": true}),
        json!({"DISTRIBUTED_STORAGE_CONFIG": {"sw": ["SwiftStorage", {"auth_url": "u", "swift_container": "c", "swift_user": "u", "swift_password": "p", "auth_version": 3}]}, "DISTRIBUTED_STORAGE_PREFERENCE": ["sw"], "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": []}),
        json!({"DEFAULT_TAG_EXPIRATION": "4w"}),
        json!({"AUTHENTICATION_TYPE": "LDAP", "FEATURE_DIRECT_LOGIN": false}),
        json!({"FEATURE_DIRECT_LOGIN": false, "FEATURE_GITHUB_LOGIN": true}),
        json!({"FEATURE_DIRECT_LOGIN": false, "KEYCLOAK_LOGIN_CONFIG": {"CLIENT_ID": "x"}}),
        json!({"FEATURE_INVITE_ONLY_USER_CREATION": true}),
        json!({"FEATURE_SECURITY_SCANNER": true, "SECURITY_SCANNER_V4_ENDPOINT": "http://clair:8080"}),
        json!({"FEATURE_SECURITY_SCANNER": false, "SECURITY_SCANNER_V4_ENDPOINT": "not a url"}),
        json!({"REPO_MIRROR_SERVER_HOSTNAME": "mirror.example.com:443"}),
        json!({"FEATURE_ACTION_LOG_ROTATION": true, "ACTION_LOG_ARCHIVE_LOCATION": "local"}),
        json!({"FEATURE_PROGRAMMATIC_BOOTSTRAP": true, "BOOTSTRAP_TOKEN_OWNER": "admin", "SUPER_USERS": ["admin"]}),
        json!({"DATABASE_SECRET_KEY": 123456789}),
    ];
    for (i, patch) in passing.into_iter().enumerate() {
        let bundle = if i == 0 { certs() } else { none.clone() };
        assert_eq!(
            failures(with(patch.clone()), &bundle)?,
            vec![],
            "patch {patch}"
        );
    }
    Ok(())
}

#[test]
fn all_failures_are_collected() -> Result<(), ConfigError> {
    // An empty config fails many groups at once; none is skipped.
    let got = failures(json!({}), &BundleFiles::default())?;
    let msgs: Vec<&str> = got.iter().map(|f| f.message.as_str()).collect();
    for expected in [
        "SERVER_HOSTNAME is required",
        "DB_URI is required.",
        "BUILDLOGS_REDIS is required",
        "USER_EVENTS_REDIS is required",
        "DISTRIBUTED_STORAGE_CONFIG is required",
        "Your configuration bundle is either not mounted or setup has not been completed",
    ] {
        assert!(
            msgs.contains(&expected),
            "missing {expected:?} in {msgs:#?}"
        );
    }
    assert_eq!(got.len(), 6, "{msgs:#?}");
    Ok(())
}

#[test]
fn preference_from_env_is_named() -> Result<(), ConfigError> {
    let env = EnvOverrides {
        override_config: None,
        storage_preference: Some("mars".into()),
    };
    let c = load_dir(&fixture("valid"), &env)?;
    let got = validate(&c, &c.bundle);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0].message,
        "DISTRIBUTED_STORAGE_PREFERENCE entry `mars` (set via QUAY_DISTRIBUTED_STORAGE_PREFERENCE) is not a location defined in DISTRIBUTED_STORAGE_CONFIG."
    );
    Ok(())
}

#[test]
fn table_rendering() {
    let rows = vec![
        ValidationFailure {
            field_group: "Database".into(),
            message: "DB_URI is required.".into(),
        },
        ValidationFailure {
            field_group: "DistributedStorage".into(),
            message: "line one\nline two".into(),
        },
    ];
    let t = render_table(&rows);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[0], "Field Group        | Error");
    assert!(lines[1].starts_with("-------------------+-"), "{t}");
    assert_eq!(lines[2], "Database           | DB_URI is required.");
    assert_eq!(lines[3], "DistributedStorage | line one");
    assert_eq!(lines[4], "                   | line two");
    assert_eq!(lines.len(), 5);
    let empty = render_table(&[]);
    assert!(empty.contains("(no validation errors)"), "{empty}");
}

#[test]
fn quay_default_storage_lists_do_not_reject_other_location_ids() {
    // Quay's built-in DISTRIBUTED_STORAGE_PREFERENCE / _DEFAULT_LOCATIONS are
    // `[local_us]`; a config that leaves them out and names its location
    // otherwise is valid. Written-out lists are still checked.
    let base = "SETUP_COMPLETE: true\nSERVER_HOSTNAME: quay.example.com\nDB_URI: postgresql://q@db/quay\n\
                DATABASE_SECRET_KEY: k\nBUILDLOGS_REDIS: {host: r}\nUSER_EVENTS_REDIS: {host: r}\n\
                DISTRIBUTED_STORAGE_CONFIG: {default: [LocalStorage, {storage_path: /datastorage}]}\n";
    let c = Config::from_yaml_str(base).expect("config");
    let failures = validate(&c, &BundleFiles::default());
    assert!(failures.is_empty(), "{failures:?}");
    let c = Config::from_yaml_str(&format!(
        "{base}DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [local_us]\n"
    ))
    .expect("config");
    let failures = validate(&c, &BundleFiles::default());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0]
        .message
        .contains("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS entry `local_us`"));
}
