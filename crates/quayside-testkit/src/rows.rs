//! The Quay rows most suites start from, written with Quay's own columns.

use quayside_meta::Db;

/// Inserts a user namespace `name` as Quay's `create_user_noverify` would (verified,
/// enabled, the default two-week time-machine window). Panics on failure (tests only).
pub async fn create_namespace(db: &Db, name: &str) -> i32 {
    const SQL: &str = r#"INSERT INTO "user" (uuid, username, email, verified, organization, robot,
        invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s,
        enabled, creation_date) VALUES ($1, $2, $3, $4, $5, $5, $5, 0, $6, 1209600, $4, $6)
        RETURNING id"#;
    let now = chrono::Utc::now().naive_utc();
    quayside_meta::with_pool!(db, pool => {
        sqlx::query_scalar(SQL)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(name)
            .bind(format!("{name}@example.com"))
            .bind(true)
            .bind(false)
            .bind(now)
            .fetch_one(pool)
            .await
    })
    .expect("insert namespace")
}

/// Inserts a private image repository `name` in namespace `namespace_id`. Panics on
/// failure (tests only).
pub async fn create_repository(db: &Db, namespace_id: i32, name: &str) -> i32 {
    const SQL: &str =
        "INSERT INTO repository (namespace_user_id, name, visibility_id, description, \
        badge_token, kind_id, trust_enabled, state) VALUES ($1, $2, \
        (SELECT id FROM visibility WHERE name = 'private'), NULL, $3, \
        (SELECT id FROM repositorykind WHERE name = 'image'), $4, 0) RETURNING id";
    quayside_meta::with_pool!(db, pool => {
        sqlx::query_scalar(SQL)
            .bind(namespace_id)
            .bind(name)
            .bind(uuid::Uuid::new_v4().simple().to_string())
            .bind(false)
            .fetch_one(pool)
            .await
    })
    .expect("insert repository")
}
