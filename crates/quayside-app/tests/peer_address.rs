//! Handlers see the client's address (`ConnectInfo<SocketAddr>`, which audit rows record as
//! the client IP) on plain and on TLS listeners alike.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use quayside_app::server::{serve_router_all, Bound};
use quayside_app::tls::{server_config, TlsListener};

#[tokio::test]
async fn plain_and_tls_requests_carry_the_peer_address() {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_path, key_path) = (dir.path().join("ssl.cert"), dir.path().join("ssl.key"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");

    let plain = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind plain");
    let plain_addr = plain.local_addr().expect("addr");
    let tls = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind tls");
    let tls_addr = tls.local_addr().expect("addr");
    let tls = TlsListener::new(
        tls,
        server_config(&cert_path, &key_path).expect("server config"),
    )
    .expect("tls listener");

    let app = axum::Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_router_all(
        vec![Bound::Plain(plain), Bound::Tls(tls)],
        app,
        async {
            let _ = stop_rx.await;
        },
    ));

    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).expect("CA"))
        .resolve("localhost", tls_addr)
        .build()
        .expect("client");
    for url in [
        format!("http://{plain_addr}/peer"),
        format!("https://localhost:{}/peer", tls_addr.port()),
    ] {
        let resp = client.get(&url).send().await.expect(&url);
        assert_eq!(resp.status(), 200, "{url}");
        assert_eq!(resp.text().await.expect("body"), "127.0.0.1", "{url}");
    }

    stop_tx.send(()).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops")
        .expect("join")
        .expect("serve");
}
