//! This crate's harness: an `Auth` booted on a real migrated database per backend (the
//! database, SQL and robot helpers are quayside-testkit's).
#![allow(dead_code)]

use quayside_auth::{Auth, AuthSettings};
use quayside_meta::Db;
use quayside_testkit::sql::{scalar_string, Arg};
use quayside_testkit::{Backend, TestDb};

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
