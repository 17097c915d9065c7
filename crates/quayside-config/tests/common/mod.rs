#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{json, Value};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A config that passes every static check.
pub fn base() -> Value {
    json!({
        "SERVER_HOSTNAME": "quay.example.com",
        "PREFERRED_URL_SCHEME": "http",
        "SETUP_COMPLETE": true,
        "DATABASE_SECRET_KEY": "db-secret",
        "DB_URI": "postgresql://quay:pw@db.example.com:5432/quay",
        "BUILDLOGS_REDIS": {"host": "redis.example.com"},
        "USER_EVENTS_REDIS": {"host": "redis.example.com"},
        "DISTRIBUTED_STORAGE_CONFIG": {
            "local": ["LocalStorage", {"storage_path": "/datastorage/registry"}]
        },
        "DISTRIBUTED_STORAGE_PREFERENCE": ["local"],
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["local"],
        "AUTHENTICATION_TYPE": "Database",
        "DEFAULT_TAG_EXPIRATION": "2w",
        "TAG_EXPIRATION_OPTIONS": ["0s", "1d", "1w", "2w", "4w"]
    })
}

/// `base()` with top-level keys replaced; a `null` in the patch removes the key.
pub fn with(patch: Value) -> Value {
    let mut v = base();
    if let (Some(obj), Value::Object(p)) = (v.as_object_mut(), patch) {
        for (k, val) in p {
            if val.is_null() {
                obj.remove(&k);
            } else {
                obj.insert(k, val);
            }
        }
    }
    v
}
