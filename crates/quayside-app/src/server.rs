//! The server loop: bind, serve (plain HTTP, HTTPS, several listeners at once),
//! stop gracefully; and the instance key refresh that runs beside it.

use std::future::{Future, IntoFuture};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;
use tracing::Instrument;

use crate::tls::TlsListener;
use crate::{router, AppState};

/// A bound listener: plain HTTP or HTTPS.
pub enum Bound {
    Plain(TcpListener),
    Tls(TlsListener),
}

impl Bound {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Bound::Plain(l) => l.local_addr(),
            Bound::Tls(l) => axum::serve::Listener::local_addr(l),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Bound::Tls(_))
    }
}

/// Serves the quayside router until `shutdown` resolves, then stops
/// accepting connections and lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_all(vec![Bound::Plain(listener)], state, shutdown).await
}

/// Serves the quayside router on every listener until `shutdown` resolves.
///
/// The health checks ping this process over plain HTTP on loopback (as Quay's
/// instance check pings its workers behind nginx): when every listener is HTTPS, a
/// loopback-only plain listener on an ephemeral port is added for those pings.
pub async fn serve_all(
    mut listeners: Vec<Bound>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ping_addr = match listeners.iter().find(|l| !l.is_tls()) {
        Some(plain) => Some(plain.local_addr()?),
        None => match listeners.first() {
            Some(first) => {
                let lo = if first.local_addr()?.is_ipv6() {
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                } else {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                };
                let internal = TcpListener::bind(SocketAddr::new(lo, 0)).await?;
                let addr = internal.local_addr()?;
                tracing::info!(%addr, "internal health-ping listener (loopback, plain HTTP)");
                listeners.push(Bound::Plain(internal));
                Some(addr)
            }
            None => None,
        },
    };
    if let Some(addr) = ping_addr {
        let _ = state.local_addr.set(addr);
    }
    serve_router_all(listeners, router(state), shutdown).await
}

/// Serves any router with request tracing and graceful shutdown.
pub async fn serve_router(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router_all(vec![Bound::Plain(listener)], app, shutdown).await
}

fn with_tracing(app: axum::Router) -> axum::Router {
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request| {
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %req.uri().path(),
                    user = tracing::field::Empty,
                )
            })
            .on_request(())
            .on_response(
                |resp: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = resp.status().as_u16(),
                        duration_ms = latency.as_secs_f64() * 1000.0,
                        "request"
                    );
                },
            ),
    )
}

/// The make-service for listeners other than a plain `TcpListener` (axum implements
/// `ConnectInfo<SocketAddr>` only for that one): per connection, the router with the peer
/// address as a request extension.
#[derive(Clone)]
struct WithPeerAddr(axum::Router);

impl<L> tower::Service<axum::serve::IncomingStream<'_, L>> for WithPeerAddr
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    type Response = axum::middleware::AddExtension<axum::Router, ConnectInfo<SocketAddr>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, conn: axum::serve::IncomingStream<'_, L>) -> Self::Future {
        let peer = ConnectInfo(*conn.remote_addr());
        std::future::ready(Ok(tower::Layer::layer(
            &axum::Extension(peer),
            self.0.clone(),
        )))
    }
}

/// Serves any router on several listeners at once. When `shutdown` resolves (or one
/// listener fails), every listener stops accepting and in-flight requests on all of
/// them finish before this returns.
pub async fn serve_router_all(
    listeners: Vec<Bound>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = with_tracing(app);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let addr = listener.local_addr()?;
        let tls = listener.is_tls();
        let mut rx = stop_rx.clone();
        let stopped = async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let app = app.clone();
        tracing::info!(%addr, scheme = if tls { "https" } else { "http" }, "listening");
        let span = tracing::info_span!("server", %addr);
        match listener {
            // Both kinds hand handlers the peer address as `ConnectInfo<SocketAddr>` (the
            // client IP of audit rows when no proxy header names one).
            Bound::Plain(l) => servers.spawn(
                axum::serve(l, app.into_make_service_with_connect_info::<SocketAddr>())
                    .with_graceful_shutdown(stopped)
                    .into_future()
                    .instrument(span),
            ),
            Bound::Tls(l) => servers.spawn(
                axum::serve(l, WithPeerAddr(app))
                    .with_graceful_shutdown(stopped)
                    .into_future()
                    .instrument(span),
            ),
        };
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let mut stopping = false;
    let mut first_error: Option<std::io::Error> = None;
    loop {
        tokio::select! {
            () = &mut shutdown, if !stopping => {
                stopping = true;
                let _ = stop_tx.send(true);
            }
            joined = servers.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => {
                    tracing::error!(error = %e, "a listener failed; stopping the others");
                    first_error.get_or_insert(e);
                    stopping = true;
                    let _ = stop_tx.send(true);
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, "a listener task ended abnormally; stopping the others");
                    first_error.get_or_insert(std::io::Error::other(e.to_string()));
                    stopping = true;
                    let _ = stop_tx.send(true);
                }
            }
        }
    }
    tracing::info!("server stopped");
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Quay's servicekeyworker: every `every`, extends this instance's service key to now +
/// `INSTANCE_SERVICE_KEY_EXPIRATION`. The first refresh is one period after start (the
/// key was just created with a fresh expiration). Not for read-only registries.
/// Workers idle in read-only mode, as Quay's do: a tick while `live` says
/// read-only (after a reload) is skipped.
pub fn spawn_instance_key_refresh(
    auth: quayside_auth::Auth,
    every: Duration,
    live: std::sync::Arc<quayside_config::LiveSettings>,
) -> tokio::task::JoinHandle<()> {
    let every = every.max(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if live.read_only() {
                tracing::debug!("read-only mode: instance key refresh skipped");
                continue;
            }
            match auth.refresh_instance_key().await {
                Ok(exp) => {
                    tracing::info!(kid = %auth.instance_kid(), expiration = %exp, "refreshed instance service key")
                }
                Err(e) => {
                    tracing::error!(kid = %auth.instance_kid(), error = %e, "cannot refresh instance service key")
                }
            }
        }
    })
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, finishing in-flight requests"),
        _ = terminate => tracing::info!("SIGTERM received, finishing in-flight requests"),
    }
}

/// Binds a listener, naming the address on failure.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_refresh_extends_the_instance_key() {
        let tdb = quayside_testkit::TestDb::sqlite().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = quayside_auth::AuthSettings {
            kid_path: dir.path().join("quay.kid"),
            pem_path: dir.path().join("quay.pem"),
            ..quayside_auth::AuthSettings::default()
        };
        let auth = quayside_auth::Auth::start(tdb.db().clone(), settings)
            .await
            .expect("auth");
        let kid = auth.instance_kid().to_owned();
        let soon = chrono::Utc::now().naive_utc() + chrono::Duration::minutes(1);
        tdb.db()
            .set_service_key_expiration(&kid, Some(soon))
            .await
            .expect("shorten");
        // Read-only (switched by a reload): the worker idles.
        let ro =
            quayside_config::Config::from_yaml_str("REGISTRY_STATE: readonly\n").expect("config");
        let live = std::sync::Arc::new(quayside_config::LiveSettings::from_config(&ro));
        let task = spawn_instance_key_refresh(auth, Duration::from_millis(200), live.clone());
        tokio::time::sleep(Duration::from_millis(700)).await;
        let row = tdb
            .db()
            .service_key(&kid)
            .await
            .expect("row")
            .expect("exists");
        let unchanged = row
            .expiration_date
            .is_some_and(|e| (e - soon).num_seconds().abs() < 1);
        assert!(
            unchanged,
            "read-only: expiration must not move: {:?}",
            row.expiration_date
        );
        let normal =
            quayside_config::Config::from_yaml_str("REGISTRY_STATE: normal\n").expect("config");
        live.apply(&normal);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let row = tdb
                .db()
                .service_key(&kid)
                .await
                .expect("row")
                .expect("exists");
            if row
                .expiration_date
                .is_some_and(|e| e > soon + chrono::Duration::minutes(100))
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expiration never moved: {:?}",
                row.expiration_date
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
        tdb.cleanup().await;
    }

    #[tokio::test]
    async fn serves_several_listeners_and_stops_them_together() {
        let a = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let b = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (addr_a, addr_b) = (a.local_addr().expect("a"), b.local_addr().expect("b"));
        let app = axum::Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "finished"
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_router_all(
            vec![Bound::Plain(a), Bound::Plain(b)],
            app,
            async {
                let _ = stop_rx.await;
            },
        ));
        let client = reqwest::Client::new();
        let in_flight: Vec<_> = [addr_a, addr_b]
            .into_iter()
            .map(|addr| {
                let client = client.clone();
                tokio::spawn(async move { client.get(format!("http://{addr}/slow")).send().await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop_tx.send(()).expect("stop");
        for f in in_flight {
            let resp = f.await.expect("join").expect("in-flight request completes");
            assert_eq!(resp.text().await.expect("body"), "finished");
        }
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("both listeners drain and stop")
            .expect("join")
            .expect("Ok");
        for addr in [addr_a, addr_b] {
            let refused = reqwest::Client::new()
                .get(format!("http://{addr}/slow"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            assert!(refused.is_err(), "{addr} no longer accepts");
        }
    }
}
