//! Files sent through axum's real server on a `ZeroCopyListener`: the bytes that arrive are
//! the file's, around ordinary responses on the same connection, pipelined, in parallel, and a
//! file that is shorter than its response declared cuts the response off.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use quayside_zerocopy::{FileSender, MakeWithConnection, ZeroCopyListener};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    data: Vec<u8>,
}

/// Deterministic bytes that are not zeros (the placeholder's bytes are zeros).
fn content(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = Sha256::digest(b"quayside-zerocopy").to_vec();
    while out.len() < len {
        block = Sha256::digest(&block).to_vec();
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    out
}

fn fixture(len: usize) -> Arc<Fixture> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("blob");
    let data = content(len);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(&data).expect("write");
    Arc::new(Fixture {
        _dir: dir,
        path,
        data,
    })
}

/// `/file/{start}/{len}` sends that range of the fixture (declaring `len` bytes, even past
/// the end of the file); the `x-path` header says whether it went zero-copy.
async fn file(
    State(fx): State<Arc<Fixture>>,
    Path((start, len)): Path<(u64, u64)>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let file = std::fs::File::open(&fx.path).expect("open fixture");
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_LENGTH, len);
    match FileSender::for_request(&parts) {
        Some(sender) => builder
            .header("x-path", "zero-copy")
            .body(Body::new(sender.body(file, start, len))),
        None => {
            let end = (start + len) as usize;
            builder
                .header("x-path", "copy")
                .body(Body::from(fx.data[start as usize..end].to_vec()))
        }
    }
    .expect("response")
}

/// `/unsendable/{start}/{len}` sends a range of `/proc/self/cmdline`, a file `sendfile`
/// refuses with `EINVAL`, so the copy fallback serves it.
async fn unsendable(Path((start, len)): Path<(u64, u64)>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let sender = FileSender::for_request(&parts).expect("HTTP/1 on a zero-copy listener");
    let file = std::fs::File::open("/proc/self/cmdline").expect("open cmdline");
    Response::builder()
        .header(header::CONTENT_LENGTH, len)
        .body(Body::new(sender.body(file, start, len)))
        .expect("response")
}

async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
    addr.ip().to_string()
}

async fn start(fx: Arc<Fixture>) -> SocketAddr {
    let app = Router::new()
        .route("/file/{start}/{len}", get(file))
        .route("/plain", get(|| async { "plain body" }))
        .route("/peer", get(peer))
        .route("/unsendable/{start}/{len}", get(unsendable))
        .with_state(fx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            ZeroCopyListener::new(listener),
            MakeWithConnection::new(app),
        )
        .await
        .expect("serve");
    });
    addr
}

async fn fetch(client: &reqwest::Client, url: String) -> (String, Vec<u8>) {
    let resp = client.get(url).send().await.expect("send");
    assert_eq!(resp.status(), 200);
    let path = resp
        .headers()
        .get("x-path")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (path, resp.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn files_arrive_intact_between_other_responses_on_one_connection() {
    // Larger than one placeholder chunk (2 MiB), and not a multiple of it.
    let fx = fixture(5 * 1024 * 1024 + 7);
    let addr = start(fx.clone()).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let len = fx.data.len();
    for _ in 0..3 {
        let (path, body) = fetch(&client, format!("http://{addr}/file/0/{len}")).await;
        assert_eq!(path, "zero-copy");
        assert_eq!(body.len(), len);
        assert!(body == fx.data, "whole file differs");

        let (_, plain) = fetch(&client, format!("http://{addr}/plain")).await;
        assert_eq!(plain, b"plain body");

        let (path, part) = fetch(&client, format!("http://{addr}/file/1000/3000000")).await;
        assert_eq!(path, "zero-copy");
        assert!(part == fx.data[1000..3_001_000], "range differs");

        let (_, ip) = fetch(&client, format!("http://{addr}/peer")).await;
        assert_eq!(ip, b"127.0.0.1", "the peer address reaches handlers");
    }
}

#[tokio::test]
async fn pipelined_requests_get_their_own_bytes_in_order() {
    let fx = fixture(3 * 1024 * 1024 + 1);
    let addr = start(fx.clone()).await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let a = (5u64, 2_500_000u64);
    let b = (17u64, 3u64);
    let c = (0u64, fx.data.len() as u64);
    let requests = format!(
        "GET /file/{}/{} HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /plain HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /file/{}/{} HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /file/{}/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        a.0, a.1, b.0, b.1, c.0, c.1
    );
    tcp.write_all(requests.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.expect("read");

    let mut rest = raw.as_slice();
    let mut bodies = Vec::new();
    while !rest.is_empty() {
        let head_end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head")
            + 4;
        let head = std::str::from_utf8(&rest[..head_end]).expect("utf-8 head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|v| v.trim().parse().expect("length"))
            })
            .expect("content-length");
        bodies.push(rest[head_end..head_end + len].to_vec());
        rest = &rest[head_end + len..];
    }
    assert_eq!(bodies.len(), 4);
    let range = |(s, l): (u64, u64)| fx.data[s as usize..(s + l) as usize].to_vec();
    assert!(bodies[0] == range(a), "first file range differs");
    assert_eq!(bodies[1], b"plain body");
    assert!(bodies[2] == range(b), "second file range differs");
    assert!(bodies[3] == range(c), "whole file differs");
}

#[tokio::test]
async fn parallel_connections_do_not_mix_files() {
    let fx = fixture(4 * 1024 * 1024);
    let addr = start(fx.clone()).await;
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let fx = fx.clone();
        tasks.push(tokio::spawn(async move {
            // One client each: its own connection.
            let client = reqwest::Client::new();
            let (s, l) = (i * 100_000, 3_000_000 + i);
            let (path, body) = fetch(&client, format!("http://{addr}/file/{s}/{l}")).await;
            assert_eq!(path, "zero-copy");
            assert!(
                body == fx.data[s as usize..(s + l) as usize],
                "range {i} differs"
            );
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

#[tokio::test]
async fn a_file_shorter_than_declared_cuts_the_response_off() {
    let fx = fixture(100_000);
    let addr = start(fx.clone()).await;
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{addr}/file/0/150000"))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.bytes().await.is_err(),
        "a short file must not complete the response"
    );
    // The server is still serving.
    let (path, body) = fetch(&client, format!("http://{addr}/file/0/100000")).await;
    assert_eq!(path, "zero-copy");
    assert!(body == fx.data);
}

#[tokio::test]
async fn files_sendfile_refuses_are_copied_instead() {
    let fx = fixture(1024 * 1024);
    let addr = start(fx.clone()).await;
    let cmdline = std::fs::read("/proc/self/cmdline").expect("read cmdline");
    assert!(cmdline.len() > 8, "a test binary has a command line");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let n = cmdline.len();
    let whole = client
        .get(format!("http://{addr}/unsendable/0/{n}"))
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body");
    assert_eq!(whole.as_ref(), cmdline.as_slice());
    let part = client
        .get(format!("http://{addr}/unsendable/3/{}", n - 5))
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body");
    assert_eq!(part.as_ref(), &cmdline[3..n - 2]);
    // The connection's queue is still in step: a sendfile-able file follows intact.
    let (path, body) = fetch(&client, format!("http://{addr}/file/0/{}", fx.data.len())).await;
    assert_eq!(path, "zero-copy");
    assert!(body == fx.data);
}
