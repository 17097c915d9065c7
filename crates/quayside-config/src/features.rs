//! Every boolean `FEATURE_*` flag Quay defines (config.py `DefaultConfig`, plus the schema-only
//! and config-only ones), with Quay's default. `FEATURE_LISTEN_IP_VERSION` is a string and lives
//! on [`crate::Config::listen_ip_version`] instead.

macro_rules! features {
    ($( $field:ident = $name:literal : $default:expr ),* $(,)?) => {
        /// Typed feature flags. Field `x` corresponds to config key `FEATURE_X`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Features {
            $( pub $field: bool, )*
        }

        impl Default for Features {
            fn default() -> Self {
                Features { $( $field: $default, )* }
            }
        }

        /// `(NAME without the FEATURE_ prefix, Quay default)` for every known boolean flag.
        pub const KNOWN_FEATURES: &[(&str, bool)] = &[ $( ($name, $default), )* ];

        impl Features {
            /// The typed value of a known flag (name without `FEATURE_`), `None` if unknown.
            pub fn get(&self, name: &str) -> Option<bool> {
                match name {
                    $( $name => Some(self.$field), )*
                    _ => None,
                }
            }

            /// Set a known flag; returns false (and does nothing) for unknown names.
            pub(crate) fn set(&mut self, name: &str, value: bool) -> bool {
                match name {
                    $( $name => { self.$field = value; true } )*
                    _ => false,
                }
            }
        }
    };
}

features! {
    action_log_rotation = "ACTION_LOG_ROTATION": false,
    advertise_v2 = "ADVERTISE_V2": true,
    aggregated_log_count_retrieval = "AGGREGATED_LOG_COUNT_RETRIEVAL": true,
    anonymous_access = "ANONYMOUS_ACCESS": true,
    app_specific_tokens = "APP_SPECIFIC_TOKENS": true,
    assign_oauth_token = "ASSIGN_OAUTH_TOKEN": true,
    auto_prune = "AUTO_PRUNE": false,
    billing = "BILLING": false,
    bitbucket_build = "BITBUCKET_BUILD": false,
    blacklisted_emails = "BLACKLISTED_EMAILS": false,
    build_support = "BUILD_SUPPORT": true,
    change_tag_expiration = "CHANGE_TAG_EXPIRATION": true,
    clear_expired_rac_entries = "CLEAR_EXPIRED_RAC_ENTRIES": false,
    direct_login = "DIRECT_LOGIN": true,
    disable_pull_logs_for_free_namespaces = "DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES": false,
    edit_quota = "EDIT_QUOTA": true,
    enable_stale_mpu_cleanup = "ENABLE_STALE_MPU_CLEANUP": true,
    entitlement_reconciliation = "ENTITLEMENT_RECONCILIATION": false,
    export_compliance = "EXPORT_COMPLIANCE": false,
    extended_action_logging = "EXTENDED_ACTION_LOGGING": false,
    extended_repository_names = "EXTENDED_REPOSITORY_NAMES": true,
    fips = "FIPS": false,
    garbage_collection = "GARBAGE_COLLECTION": true,
    general_oci_support = "GENERAL_OCI_SUPPORT": true,
    github_build = "GITHUB_BUILD": false,
    github_login = "GITHUB_LOGIN": false,
    gitlab_build = "GITLAB_BUILD": false,
    google_login = "GOOGLE_LOGIN": false,
    helm_oci_support = "HELM_OCI_SUPPORT": true,
    image_expiry_trigger = "IMAGE_EXPIRY_TRIGGER": false,
    image_pull_stats = "IMAGE_PULL_STATS": false,
    immutable_tags = "IMMUTABLE_TAGS": false,
    immutable_tags_can_expire = "IMMUTABLE_TAGS_CAN_EXPIRE": false,
    invite_only_user_creation = "INVITE_ONLY_USER_CREATION": false,
    library_support = "LIBRARY_SUPPORT": true,
    log_export = "LOG_EXPORT": true,
    mailing = "MAILING": true,
    manifest_size_backfill = "MANIFEST_SIZE_BACKFILL": true,
    manifest_subject_backfill = "MANIFEST_SUBJECT_BACKFILL": true,
    namespace_garbage_collection = "NAMESPACE_GARBAGE_COLLECTION": true,
    nonsuperuser_team_syncing_setup = "NONSUPERUSER_TEAM_SYNCING_SETUP": false,
    org_mirror = "ORG_MIRROR": false,
    org_shared_email = "ORG_SHARED_EMAIL": false,
    otel_tracing = "OTEL_TRACING": false,
    partial_user_autocomplete = "PARTIAL_USER_AUTOCOMPLETE": true,
    permanent_sessions = "PERMANENT_SESSIONS": true,
    programmatic_bootstrap = "PROGRAMMATIC_BOOTSTRAP": false,
    proxy_cache = "PROXY_CACHE": false,
    proxy_cache_blob_download = "PROXY_CACHE_BLOB_DOWNLOAD": true,
    proxy_storage = "PROXY_STORAGE": false,
    public_catalog = "PUBLIC_CATALOG": false,
    quota_management = "QUOTA_MANAGEMENT": false,
    quota_notifications = "QUOTA_NOTIFICATIONS": false,
    quota_suppress_failures = "QUOTA_SUPPRESS_FAILURES": false,
    rate_limits = "RATE_LIMITS": false,
    reader_build_logs = "READER_BUILD_LOGS": false,
    recaptcha = "RECAPTCHA": false,
    referrers_api = "REFERRERS_API": true,
    repository_action_counter = "REPOSITORY_ACTION_COUNTER": true,
    repository_garbage_collection = "REPOSITORY_GARBAGE_COLLECTION": true,
    repo_mirror = "REPO_MIRROR": false,
    require_encrypted_basic_auth = "REQUIRE_ENCRYPTED_BASIC_AUTH": false,
    require_team_invite = "REQUIRE_TEAM_INVITE": true,
    restricted_users = "RESTRICTED_USERS": false,
    restricted_v1_push = "RESTRICTED_V1_PUSH": false,
    rh_marketplace = "RH_MARKETPLACE": false,
    security_notifications = "SECURITY_NOTIFICATIONS": false,
    security_scanner = "SECURITY_SCANNER": false,
    security_scanner_notify_on_new_index = "SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX": true,
    security_scanner_v2 = "SECURITY_SCANNER_V2": false,
    signing = "SIGNING": false,
    spam_detection = "SPAM_DETECTION": false,
    sparse_index = "SPARSE_INDEX": false,
    storage_replication = "STORAGE_REPLICATION": false,
    superusers_full_access = "SUPERUSERS_FULL_ACCESS": false,
    superusers_org_creation_only = "SUPERUSERS_ORG_CREATION_ONLY": false,
    superuser_configdump = "SUPERUSER_CONFIGDUMP": false,
    super_users = "SUPER_USERS": true,
    team_syncing = "TEAM_SYNCING": false,
    ui_delay_after_write = "UI_DELAY_AFTER_WRITE": false,
    ui_modelcard = "UI_MODELCARD": true,
    ui_v2 = "UI_V2": true,
    username_confirmation = "USERNAME_CONFIRMATION": true,
    user_creation = "USER_CREATION": true,
    user_events = "USER_EVENTS": true,
    user_initialize = "USER_INITIALIZE": false,
    user_last_accessed = "USER_LAST_ACCESSED": true,
    user_log_access = "USER_LOG_ACCESS": false,
    user_metadata = "USER_METADATA": false,
    user_rename = "USER_RENAME": false,
    verify_quota = "VERIFY_QUOTA": true,
    // Schema-only flags (no config.py default): default False.
    ldap_caching = "LDAP_CACHING": false,
    aci_conversion = "ACI_CONVERSION": false,
    // Config-only flag.
    proxy_protocol = "PROXY_PROTOCOL": false,
}
