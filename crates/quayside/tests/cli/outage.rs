//! The database stops serving while quayside runs: requests on `/v2` and `/api/v1` fail
//! fast with 503 (OCI `UNAVAILABLE`, Quay's `{"message"}`), not 500, and service comes back
//! without a restart. PostgreSQL: the database refuses connections and every session is
//! terminated. SQLite: another process holds the write lock past `busy_timeout`.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection as _;

use crate::backends::{self, Running};

const USER: &str = "quayadmin";
const PASSWORD: &str = "quaypass123";
const REPO: &str = "quayadmin/outage";

/// Longest wait allowed for an answer while the database is down: the embedded
/// default's SQLite `busy_timeout` (5 s) or the test's 1 s acquire timeout, plus slack.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

struct Ctx {
    base: String,
    http: Client,
    api_token: String,
    v2_token: String,
}

impl Ctx {
    async fn start(run: &Running) -> Ctx {
        let base = format!("http://127.0.0.1:{}", run.port);
        let http = Client::new();
        let resp = http
            .post(format!("{base}/api/v1/user/initialize"))
            .json(&json!({"username": USER, "password": PASSWORD,
                          "email": "admin@example.com", "access_token": true}))
            .send()
            .await
            .expect("initialize");
        assert_eq!(resp.status(), StatusCode::OK, "{}", run.label);
        let api_token = resp.json::<Value>().await.expect("json")["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        let resp = http
            .get(format!("{base}/v2/auth"))
            .query(&[
                ("service", run.host().as_str()),
                ("scope", &format!("repository:{REPO}:pull,push")),
            ])
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .expect("/v2/auth");
        assert_eq!(resp.status(), StatusCode::OK);
        let v2_token = resp.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string();
        Ctx {
            base,
            http,
            api_token,
            v2_token,
        }
    }

    /// A `/v2` write: starting an upload writes a `blobupload` row.
    async fn start_upload(&self) -> (StatusCode, Value, Duration) {
        let t = Instant::now();
        let resp = self
            .http
            .request(
                Method::POST,
                format!("{}/v2/{REPO}/blobs/uploads/", self.base),
            )
            .bearer_auth(&self.v2_token)
            .send()
            .await
            .expect("start upload");
        let status = resp.status();
        (
            status,
            resp.json().await.unwrap_or(Value::Null),
            t.elapsed(),
        )
    }

    /// An `/api/v1` write: creating a repository.
    async fn create_repo(&self, name: &str) -> (StatusCode, Value, Duration) {
        let t = Instant::now();
        let resp = self
            .http
            .post(format!("{}/api/v1/repository", self.base))
            .bearer_auth(&self.api_token)
            .json(&json!({"namespace": USER, "repository": name,
                          "visibility": "private", "description": ""}))
            .send()
            .await
            .expect("create repository");
        let status = resp.status();
        (
            status,
            resp.json().await.unwrap_or(Value::Null),
            t.elapsed(),
        )
    }
}

fn assert_v2_unavailable(label: &str, (status, body, took): &(StatusCode, Value, Duration)) {
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{label}: {body}");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{label}: {body}");
    assert!(*took < ANSWER_WITHIN, "{label}: answered after {took:?}");
}

fn assert_api_unavailable(label: &str, (status, body, took): &(StatusCode, Value, Duration)) {
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{label}: {body}");
    assert_eq!(
        body,
        &json!({"message": "The database is currently unavailable. Please try again shortly."}),
        "{label}"
    );
    assert!(*took < ANSWER_WITHIN, "{label}: answered after {took:?}");
}

/// Both surfaces work, then fail with 503 while `stop` holds, then work again.
async fn check(run: &Running, ctx: &Ctx, outage: impl std::future::Future<Output = ()>) {
    let label = run.label;
    let (status, body, _) = ctx.start_upload().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{label}: {body}");
    let (status, body, _) = ctx.create_repo("before").await;
    assert_eq!(status, StatusCode::CREATED, "{label}: {body}");
    outage.await;
}

/// A TCP proxy to a server (PostgreSQL, S3) that the test can cut: while cut, every open
/// connection is dropped and new ones are closed on accept, as when the server or the
/// network goes away.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    pub(crate) async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let (up, _) = tokio::sync::watch::channel(true);
        let state = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let mut cut = state.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    pub(crate) fn cut(&self) {
        self.up.send_replace(false);
    }

    pub(crate) fn restore(&self) {
        self.up.send_replace(true);
    }
}

#[tokio::test]
async fn postgres_outage_answers_503_and_recovers() {
    let admin = url_host_port(&quayside_testkit::postgres_admin_url());
    let proxy = Proxy::start(admin.clone()).await;
    let via = format!("127.0.0.1:{}", proxy.port);
    let run = backends::postgres_via(
        "FEATURE_USER_INITIALIZE: true\nDB_CONNECTION_ARGS:\n  connect_timeout: 1\n",
        |uri| uri.replacen(&admin, &via, 1),
    )
    .await;
    let ctx = Ctx::start(&run).await;
    check(&run, &ctx, async {
        proxy.cut();
        // Reads fail too when PostgreSQL is gone.
        let t = Instant::now();
        let resp = ctx
            .http
            .get(format!("{}/api/v1/user/", ctx.base))
            .bearer_auth(&ctx.api_token)
            .send()
            .await
            .expect("user");
        let status = resp.status();
        let read = (
            status,
            resp.json().await.unwrap_or(Value::Null),
            t.elapsed(),
        );
        if read.0 != StatusCode::SERVICE_UNAVAILABLE {
            eprintln!("{}", run.server.log_text());
        }
        assert_api_unavailable("postgres read", &read);
        assert_v2_unavailable("postgres", &ctx.start_upload().await);
        assert_api_unavailable("postgres", &ctx.create_repo("during").await);
        proxy.restore();
    })
    .await;
    // Back without a restart.
    let (status, body, _) = ctx.start_upload().await;
    assert_eq!(status, StatusCode::ACCEPTED, "after: {body}");
    let (status, body, _) = ctx.create_repo("after").await;
    assert_eq!(status, StatusCode::CREATED, "after: {body}");
    run.stop().await;
}

/// `host:port` of a `postgres://` URL.
fn url_host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).expect("scheme");
    let rest = rest.rsplit('@').next().expect("authority");
    rest.split('/').next().expect("host").to_string()
}

#[tokio::test]
async fn sqlite_write_lock_answers_503_and_recovers() {
    let run = backends::sqlite().await;
    let ctx = Ctx::start(&run).await;
    let path = run
        .db_uri
        .strip_prefix("sqlite:///")
        .expect("sqlite path")
        .to_string();
    let mut holder = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .expect("second connection");
    check(&run, &ctx, async {
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .expect("take the write lock");
        assert_v2_unavailable("sqlite", &ctx.start_upload().await);
        assert_api_unavailable("sqlite", &ctx.create_repo("during").await);
        sqlx::query("ROLLBACK")
            .execute(&mut holder)
            .await
            .expect("release the write lock");
    })
    .await;
    let (status, body, _) = ctx.start_upload().await;
    assert_eq!(status, StatusCode::ACCEPTED, "after: {body}");
    let (status, body, _) = ctx.create_repo("after").await;
    assert_eq!(status, StatusCode::CREATED, "after: {body}");
    holder.close().await.expect("close");
    run.stop().await;
}
