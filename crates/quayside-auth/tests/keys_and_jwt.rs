//! Instance service key boot, JWT claims, and cross-verification with key material in
//! the database.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{decode_with_db_jwk, env, env_with};
use quayside_auth::{jwk_thumbprint, Action, Auth, AuthError, Identity};
use quayside_testkit::backends;
use quayside_testkit::sql::{exec, scalar_i64, scalar_string, Arg};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::json;

#[tokio::test]
async fn boot_creates_instance_key_like_quay() {
    for backend in backends() {
        let e = env(backend).await;
        let kid = e.auth.instance_kid().to_owned();
        let db = e.db();
        // Files: kid and PKCS#1 PEM, mode 0600.
        let kid_file = std::fs::read_to_string(e.dir.path().join("quay.kid")).expect("kid file");
        assert_eq!(kid_file, kid);
        let pem = std::fs::read_to_string(e.dir.path().join("quay.pem")).expect("pem file");
        assert!(
            pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
            "{backend}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["quay.kid", "quay.pem"] {
                let mode = std::fs::metadata(e.dir.path().join(f))
                    .expect("meta")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
        // Row: service, audience name, metadata, approval.
        let row = |col: &'static str| {
            let sql = format!("SELECT {col} FROM servicekey WHERE kid = $1");
            let kid = kid.clone();
            async move { scalar_string(db, &sql, &[Arg::S(&kid)]).await }
        };
        assert_eq!(row("service").await.as_deref(), Some("quay"));
        assert_eq!(row("name").await.as_deref(), Some("http://localhost:5000"));
        assert_eq!(
            row("metadata").await.as_deref(),
            Some(r#"{"created_by": "CLI tool"}"#)
        );
        let approval = scalar_string(
            db,
            "SELECT a.approval_type FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id WHERE k.kid = $1",
            &[Arg::S(&kid)],
        )
        .await;
        assert_eq!(
            approval.as_deref(),
            Some("ServiceKeyApprovalType.AUTOMATIC")
        );
        // kid is the RFC 7638 thumbprint of the stored JWK, which is a 2048-bit RSA key.
        let jwk: serde_json::Value =
            serde_json::from_str(&row("jwk").await.expect("jwk")).expect("jwk json");
        let (n, ex) = (jwk["n"].as_str().expect("n"), jwk["e"].as_str().expect("e"));
        assert_eq!(jwk_thumbprint(ex, n), kid);
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(URL_SAFE_NO_PAD.decode(n).expect("b64").len(), 256);
        // An expiration ~120 minutes out.
        let exp = scalar_i64(
            db,
            "SELECT COUNT(*) FROM servicekey WHERE kid = $1 AND expiration_date > $2 AND expiration_date < $3",
            &[
                Arg::S(&kid),
                Arg::T(chrono::Utc::now().naive_utc() + chrono::Duration::minutes(110)),
                Arg::T(chrono::Utc::now().naive_utc() + chrono::Duration::minutes(130)),
            ],
        )
        .await;
        assert_eq!(exp, 1, "{backend}");

        // Read-only boot reuses the files and requires the row.
        let mut ro = common::settings(e.dir.path());
        ro.read_only = true;
        let ro_auth = Auth::start(db.clone(), ro.clone())
            .await
            .expect("read-only start");
        assert_eq!(ro_auth.instance_kid(), kid);
        std::fs::write(e.dir.path().join("quay.kid"), "not-a-known-kid").expect("write");
        let err = Auth::start(db.clone(), ro)
            .await
            .expect_err("unknown kid must fail");
        assert_eq!(
            err.to_string(),
            "No valid service key found for read-only registry."
        );
        e.cleanup().await;
    }
}

#[tokio::test]
async fn issued_jwt_has_quays_exact_claims_and_verifies_with_db_key() {
    for backend in backends() {
        let e = env(backend).await;
        let uid = e
            .auth
            .create_user("alice", "password123", "alice@example.com")
            .await
            .expect("user");
        quayside_testkit::accounts::repository(&e.auth, "alice", "app", false, None)
            .await
            .expect("repo");
        let ident = e
            .auth
            .verify_basic("alice", "password123")
            .await
            .expect("login");
        let uuid = match &ident {
            Identity::User { id, uuid, .. } => {
                assert_eq!(*id, uid);
                uuid.clone()
            }
            other => panic!("unexpected identity {other:?}"),
        };
        let token = e
            .auth
            .issue_registry_token(
                &ident,
                Some("localhost:5000"),
                &["repository:alice/app:push,pull".into()],
            )
            .await
            .expect("token");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(e.auth.instance_kid()));
        let claims = decode_with_db_jwk(e.db(), &token, "localhost:5000").await;
        let obj = claims.as_object().expect("object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["access", "aud", "context", "exp", "iat", "iss", "nbf", "sub"]
        );
        assert_eq!(claims["iss"], "quay");
        assert_eq!(claims["aud"], "localhost:5000");
        assert_eq!(claims["sub"], "alice");
        let iat = claims["iat"].as_i64().expect("iat");
        assert_eq!(claims["nbf"].as_i64(), Some(iat));
        assert_eq!(claims["exp"].as_i64(), Some(iat + 3600));
        assert_eq!(
            claims["access"],
            json!([{"type": "repository", "name": "alice/app", "actions": ["push", "pull"]}])
        );
        assert_eq!(
            claims["context"],
            json!({
                "version": 2, "entity_kind": "user", "entity_reference": uuid,
                "kind": "user", "user": "alice",
                "com.apostille.roots": {"alice/app": "$disabled"},
                "com.apostille.root": "$disabled",
            })
        );
        // And quayside's own verifier accepts it.
        let grant = e
            .auth
            .verify_registry_token(&format!("Bearer {token}"))
            .await
            .expect("verify");
        assert_eq!(grant.subject, "alice");
        assert!(grant.allows("alice/app", Action::Push));
        assert!(grant.allows("alice/app", Action::Pull));
        assert!(!grant.allows("alice/app", Action::All));
        assert!(!grant.allows("alice/other", Action::Pull));

        // Anonymous: sub "(anonymous)", context only the apostille claims; login-only
        // tokens carry an empty access list.
        quayside_testkit::accounts::repository(&e.auth, "alice", "pub", true, None)
            .await
            .expect("repo");
        let anon = e
            .auth
            .issue_registry_token(
                &Identity::Anonymous,
                Some("localhost:5000"),
                &["repository:alice/pub:pull".into()],
            )
            .await
            .expect("anon token");
        let c = decode_with_db_jwk(e.db(), &anon, "localhost:5000").await;
        assert_eq!(c["sub"], "(anonymous)");
        assert_eq!(
            c["context"],
            json!({"com.apostille.roots": {"alice/pub": "$disabled"}, "com.apostille.root": "$disabled"})
        );
        let login = e
            .auth
            .issue_registry_token(&ident, Some("localhost:5000"), &[])
            .await
            .expect("login token");
        let c = decode_with_db_jwk(e.db(), &login, "localhost:5000").await;
        assert_eq!(c["access"], json!([]));
        assert_eq!(c["context"]["com.apostille.roots"], json!({}));
        e.cleanup().await;
    }
}

/// Signs like another Quay instance would: its own RSA key, registered in `servicekey`.
fn foreign_token(key: &rsa::RsaPrivateKey, kid: &str, claims: serde_json::Value) -> String {
    let pem = key.to_pkcs1_pem(LineEnding::LF).expect("pem");
    let enc = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).expect("enc");
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&h, &claims, &enc).expect("sign")
}

#[tokio::test]
async fn tokens_from_other_instances_verify_only_with_approved_keys() {
    // One RSA key for all backends (generation is slow in debug builds).
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa");
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let ex = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    let kid = jwk_thumbprint(&ex, &n);
    let jwk = json!({"n": n, "e": ex, "kty": "RSA", "kid": kid}).to_string();
    for backend in backends() {
        let e = env(backend).await;
        let db = e.db();
        let now = chrono::Utc::now().naive_utc();
        exec(db, "INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes) VALUES (NULL, $1, $2, $3)",
            &[Arg::S("ServiceKeyApprovalType.AUTOMATIC"), Arg::T(now), Arg::S("")]).await;
        exec(db, "INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, approval_id) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            &[Arg::S("other"), Arg::S(&kid), Arg::S("quay"), Arg::S(&jwk), Arg::S("{}"), Arg::T(now),
              Arg::T(now + chrono::Duration::hours(1))]).await;
        let t = chrono::Utc::now().timestamp();
        let claims = |aud: &str, iat: i64, exp: i64| {
            json!({
                "iss": "quay", "aud": aud, "nbf": iat, "iat": iat, "exp": exp, "sub": "bob",
                "access": [{"type": "repository", "name": "bob/app", "actions": ["*"]}],
                "context": {"version": 2, "entity_kind": "user"},
            })
        };
        let good = foreign_token(&key, &kid, claims("localhost:5000", t, t + 3600));
        // Unapproved key: unknown to the verifier.
        match e.auth.verify_registry_token(&good).await {
            Err(AuthError::Invalid(m)) => assert_eq!(m, "Unknown service key"),
            other => panic!("unapproved key accepted: {other:?}"),
        }
        // Approve it; a fresh Auth (fresh caches) accepts the token.
        exec(db, "UPDATE servicekey SET approval_id = (SELECT MAX(id) FROM servicekeyapproval) WHERE kid = $1",
            &[Arg::S(&kid)]).await;
        let fresh = Auth::start(db.clone(), common::settings(e.dir.path()))
            .await
            .expect("start");
        let grant = fresh
            .verify_registry_token(&good)
            .await
            .expect("approved key verifies");
        assert_eq!(grant.subject, "bob");
        assert!(grant.allows("bob/app", Action::All));
        // Wrong audience, too long-lived, future iat, missing kid, garbage.
        for (bad, why) in [
            (
                foreign_token(&key, &kid, claims("elsewhere", t, t + 3600)),
                "audience",
            ),
            (
                foreign_token(&key, &kid, claims("localhost:5000", t, t + 3661)),
                "max fresh",
            ),
            (
                foreign_token(&key, &kid, claims("localhost:5000", t + 120, t + 600)),
                "future iat",
            ),
            ("abc.def".to_owned(), "not a jwt"),
        ] {
            assert!(
                fresh.verify_registry_token(&bad).await.is_err(),
                "{why} must fail on {backend}"
            );
        }
        match fresh.verify_registry_token("Basic Zm9vOmJhcg==").await {
            Err(AuthError::Invalid(m)) => assert_eq!(m, "Invalid bearer token format"),
            other => panic!("basic accepted: {other:?}"),
        }
        e.cleanup().await;
    }
}

#[tokio::test]
async fn challenge_header() {
    let e = env_with(quayside_testkit::Backend::Sqlite, |s| {
        s.server_hostname = "quay.example.com".into();
        s.preferred_url_scheme = "https".into();
    })
    .await;
    assert_eq!(
        e.auth.challenge(None),
        r#"Bearer realm="https://quay.example.com/v2/auth",service="quay.example.com""#
    );
    assert_eq!(
        e.auth.challenge(Some(("acme/app", "pull,push"))),
        r#"Bearer realm="https://quay.example.com/v2/auth",service="quay.example.com",scope="repository:acme/app:pull,push""#
    );
    e.cleanup().await;
}
