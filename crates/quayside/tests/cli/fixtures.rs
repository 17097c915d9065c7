//! Test fixtures written straight into the database the server uses, and
//! tokens fetched the way clients fetch them.

use crate::backends::Running;

/// quayside's own account code on the database a running server uses.
pub struct Fixture {
    pub auth: quayside_auth::Auth,
    db: quayside_meta::Db,
    _keys: tempfile::TempDir,
}

impl Fixture {
    pub async fn open(db_uri: &str) -> Fixture {
        let db = quayside_meta::Db::connect(db_uri, &quayside_meta::ConnectOptions::default())
            .await
            .expect("connect to the server's database");
        let keys = tempfile::tempdir().expect("tempdir");
        let settings = quayside_auth::AuthSettings {
            kid_path: keys.path().join("fixture.kid"),
            pem_path: keys.path().join("fixture.pem"),
            bcrypt_cost: 4,
            ..quayside_auth::AuthSettings::default()
        };
        let auth = quayside_auth::Auth::start(db.clone(), settings)
            .await
            .expect("auth");
        Fixture {
            auth,
            db,
            _keys: keys,
        }
    }

    pub async fn close(self) {
        self.db.close().await;
    }
}

/// Creates a user with a password; returns its id.
pub async fn create_user(db_uri: &str, username: &str, password: &str, email: &str) -> i64 {
    let f = Fixture::open(db_uri).await;
    let id = f
        .auth
        .create_user(username, password, email)
        .await
        .expect("create user");
    f.close().await;
    id
}

/// Creates `namespace/name` with the given visibility, `owner_id` as admin.
pub async fn create_repo(db_uri: &str, namespace: &str, name: &str, public: bool, owner_id: i64) {
    let f = Fixture::open(db_uri).await;
    let repo = quayside_testkit::accounts::repository(&f.auth, namespace, name, public, None)
        .await
        .expect("create repository");
    f.auth
        .set_repo_permission(repo, owner_id, quayside_auth::Role::Admin)
        .await
        .expect("grant admin");
    f.close().await;
}

/// A registry token from `/v2/auth` for `scope`, with Basic credentials.
pub async fn token(run: &Running, user: &str, password: &str, scope: &str) -> String {
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/v2/auth", run.port))
        .query(&[("service", run.host().as_str()), ("scope", scope)])
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("/v2/auth");
    assert_eq!(resp.status(), 200, "/v2/auth for {scope}");
    let body: serde_json::Value = resp.json().await.expect("json");
    body["token"].as_str().expect("token").to_string()
}
