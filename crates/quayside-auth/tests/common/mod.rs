//! Shared setup: a real migrated database per backend and an `Auth` booted on it.
#![allow(dead_code)]

use quayside_auth::{Auth, AuthSettings};
use quayside_meta::{with_pool, Db};
use quayside_test_db::{Backend, TestDb};

pub const SECRET_KEY: &str = "test1234";

pub struct Env {
    pub tdb: TestDb,
    pub auth: Auth,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn db(&self) -> &Db {
        self.tdb.db()
    }

    pub async fn cleanup(self) {
        self.tdb.cleanup().await;
    }
}

pub fn settings(dir: &std::path::Path) -> AuthSettings {
    AuthSettings {
        server_hostname: "localhost:5000".into(),
        database_secret_key: Some(SECRET_KEY.into()),
        kid_path: dir.join("quay.kid"),
        pem_path: dir.join("quay.pem"),
        bcrypt_cost: 4,
        ..AuthSettings::default()
    }
}

pub async fn env_with(backend: Backend, tweak: impl FnOnce(&mut AuthSettings)) -> Env {
    let tdb = TestDb::new(backend).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings(dir.path());
    tweak(&mut s);
    let auth = Auth::start(tdb.db().clone(), s).await.expect("auth start");
    Env { tdb, auth, dir }
}

pub async fn env(backend: Backend) -> Env {
    env_with(backend, |_| {}).await
}

/// Runs one statement with text/integer binds (test fixtures only).
pub async fn exec(db: &Db, sql: &str, args: &[Arg<'_>]) {
    with_pool!(db, pool => {
        let mut q = sqlx::query(sql);
        for a in args {
            q = match a {
                Arg::S(s) => q.bind(s.to_string()),
                Arg::I(i) => q.bind(*i),
                Arg::B(b) => q.bind(*b),
                Arg::T(t) => q.bind(*t),
            };
        }
        q.execute(pool).await.map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub async fn scalar_string(db: &Db, sql: &str, args: &[Arg<'_>]) -> Option<String> {
    with_pool!(db, pool => {
        let mut q = sqlx::query_scalar::<_, String>(sql);
        for a in args {
            q = match a {
                Arg::S(s) => q.bind(s.to_string()),
                Arg::I(i) => q.bind(*i),
                Arg::B(b) => q.bind(*b),
                Arg::T(t) => q.bind(*t),
            };
        }
        q.fetch_optional(pool).await
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn scalar_i64(db: &Db, sql: &str, args: &[Arg<'_>]) -> i64 {
    with_pool!(db, pool => {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for a in args {
            q = match a {
                Arg::S(s) => q.bind(s.to_string()),
                Arg::I(i) => q.bind(*i),
                Arg::B(b) => q.bind(*b),
                Arg::T(t) => q.bind(*t),
            };
        }
        q.fetch_one(pool).await
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub enum Arg<'a> {
    S(&'a str),
    I(i32),
    B(bool),
    T(chrono::NaiveDateTime),
}

/// Decodes and verifies a JWT with the public key stored in `servicekey.jwk`, using
/// jsonwebtoken's own JWK parser (independent of quayside-auth's key handling).
pub async fn decode_with_db_jwk(db: &Db, token: &str, audience: &str) -> serde_json::Value {
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.expect("kid header");
    let jwk_text = scalar_string(
        db,
        "SELECT jwk FROM servicekey WHERE kid = $1",
        &[Arg::S(&kid)],
    )
    .await
    .expect("servicekey row for kid");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&jwk_text).expect("jwk parses");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key from jwk");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[audience]);
    v.set_issuer(&["quay"]);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
        .expect("token verifies with the DB key")
        .claims
}

/// A robot under the account `namespace_id`, made by the robot API's own path
/// (`Auth::create_robot_account`): (`namespace+short`, token).
pub async fn robot(
    auth: &quayside_auth::Auth,
    namespace_id: i64,
    short: &str,
) -> Result<(String, String), quayside_auth::AuthError> {
    let parent = auth
        .db()
        .account_by_id(namespace_id)
        .await?
        .expect("robot parent account");
    let made = auth.create_robot_account(&parent, short, "", None).await?;
    Ok((made.robot.username, made.token))
}
