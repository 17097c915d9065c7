//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::time::Duration;

use axum::routing::get;

#[tokio::test]
async fn in_flight_requests_finish_after_shutdown_begins() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            "finished"
        }),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(quayside_app::server::serve_router(listener, app, async {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.get(format!("http://{addr}/slow")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).expect("signal shutdown");

    let resp = in_flight
        .await
        .expect("join")
        .expect("in-flight request completes");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "finished");

    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops after draining")
        .expect("join")
        .expect("serve returns Ok");

    let refused = reqwest::Client::new()
        .get(format!("http://{addr}/slow"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "no new requests after shutdown");
}
