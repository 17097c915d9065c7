//! Quay's Prometheus metrics for quayside.
//!
//! Operators keep their Prometheus rules and Grafana dashboards, so every family here has
//! Quay's exact name, type and label names (`util/metrics/prometheus.py`,
//! `endpoints/metrics.py`, the auth decorators, `globalpromstats`, the GC and worker
//! metrics). Counter families are registered without `_total`; the exposition appends it,
//! exactly as Python's `prometheus_client` does, so `quay_gc_iterations` is scraped as
//! `quay_gc_iterations_total` from both.
//!
//! Usage:
//! ```no_run
//! # async fn demo() {
//! let metrics = quayside_metrics::Metrics::new();
//! let app: axum::Router = axum::Router::new().layer(metrics.http_layer());
//! let metrics_app = quayside_metrics::router(metrics.clone()); // serve on :9091
//! metrics.registry_pull(quayside_metrics::PullRef::Tag, 200);
//! # let _ = (app, metrics_app);
//! # }
//! ```

#![warn(missing_docs)]

mod exposition;
mod http;
mod process;
mod route;
mod tracked;
mod workers;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::http::{header, HeaderMap, HeaderValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use http::{HttpMetricsLayer, HttpMetricsService, ResponseFuture};
pub use route::{route_for, RouteInfo, RouteName, UNKNOWN_ROUTE};
pub use tracked::TrackedNamespaces;
pub use workers::WorkerMetrics;

/// Content type of [`Metrics::render`] (OpenMetrics 1.0 text).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of [`Metrics::render_text`] (Prometheus text format 0.0.4).
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Python `prometheus_client`'s default histogram buckets (Quay never overrides them for
/// the families here); `+Inf` is added by the histogram itself.
pub const DEFAULT_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The registry protocol label. quayside speaks only `/v2`.
const PROTOCOL_V2: &str = "v2";

/// Manifest media types that may appear as the `media_type` label of
/// `quay_registry_image_pushes_total`; anything else is reported as `unknown`.
const PUSH_MEDIA_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/json",
];

/// `ref` label of `quay_registry_image_pulls_total`: how the manifest was addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRef {
    /// `/manifests/<tag>` (`ref="tag"`).
    Tag,
    /// `/manifests/<digest>` (`ref="manifest"`).
    Manifest,
}

impl PullRef {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            PullRef::Tag => "tag",
            PullRef::Manifest => "manifest",
        }
    }
}

/// `auth_kind` label of `quay_authentication_attempts_total` (Quay's `AuthKind` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// Session cookie.
    Cookie,
    /// HTTP Basic (passwords, robot tokens, app tokens, `$token`/`$oauthtoken`).
    Basic,
    /// OAuth bearer token.
    OAuth,
    /// Signed grant.
    SignedGrant,
    /// Credentials.
    Credentials,
    /// SSO JWT.
    SsoJwt,
    /// Federated robot token.
    Federated,
}

impl AuthKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Cookie => "cookie",
            AuthKind::Basic => "basic",
            AuthKind::OAuth => "oauth",
            AuthKind::SignedGrant => "signed_grant",
            AuthKind::Credentials => "credentials",
            AuthKind::SsoJwt => "ssojwt",
            AuthKind::Federated => "federated",
        }
    }
}

/// How [`Metrics`] is set up; [`Metrics::new`] uses the defaults.
#[derive(Debug, Clone, Default)]
pub struct MetricsOptions {
    /// `TRACKED_NAMESPACES`.
    pub tracked_namespaces: TrackedNamespaces,
    /// Labels put on every exported series. Quay's pushgateway grouping key adds `host`,
    /// `process_name` and `pid` to every Quay series, and the operator's CPU/memory panels
    /// select on `host` and group by `process_name`; [`MetricsOptions::quay_grouping_labels`]
    /// reproduces that.
    pub constant_labels: Vec<(String, String)>,
}

impl MetricsOptions {
    /// `host` (this machine's host name: the pod name on Kubernetes) and `process_name`,
    /// like Quay's pushgateway grouping key (without `pid`, which would start new series at
    /// every restart).
    pub fn quay_grouping_labels(process_name: &str) -> Vec<(String, String)> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        vec![
            ("host".to_owned(), host),
            ("process_name".to_owned(), process_name.to_owned()),
        ]
    }
}

type Labels<const N: usize> = [(&'static str, String); N];
type HistogramFamily<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;

fn default_histogram() -> Histogram {
    Histogram::new(DEFAULT_BUCKETS)
}

fn histogram_family<const N: usize>() -> HistogramFamily<N> {
    Family::new_with_constructor(default_histogram as fn() -> Histogram)
}

/// Garbage-collection metrics (`quay_gc_*`).
#[derive(Debug)]
pub struct GcMetrics {
    table_rows_deleted: Family<Labels<1>, Counter>,
    storage_blobs_deleted: Counter,
    repos_purged: Counter,
    namespaces_purged: Counter,
    iterations: Counter,
}

impl GcMetrics {
    fn register(registry: &mut Registry) -> GcMetrics {
        let gc = GcMetrics {
            table_rows_deleted: Family::default(),
            storage_blobs_deleted: Counter::default(),
            repos_purged: Counter::default(),
            namespaces_purged: Counter::default(),
            iterations: Counter::default(),
        };
        registry.register(
            "quay_gc_table_rows_deleted",
            "number of table rows deleted by GC",
            gc.table_rows_deleted.clone(),
        );
        registry.register(
            "quay_gc_storage_blobs_deleted",
            "number of storage blobs deleted",
            gc.storage_blobs_deleted.clone(),
        );
        registry.register(
            "quay_gc_repos_purged",
            "number of repositories purged by the RepositoryGCWorker or NamespaceGCWorker",
            gc.repos_purged.clone(),
        );
        registry.register(
            "quay_gc_namespaces_purged",
            "number of namespaces purged by the NamespaceGCWorker",
            gc.namespaces_purged.clone(),
        );
        registry.register(
            "quay_gc_iterations",
            "number of iterations by the GCWorker",
            gc.iterations.clone(),
        );
        gc
    }

    /// `quay_gc_table_rows_deleted_total{table}` += `n` (`table` is a Quay table name).
    pub fn table_rows_deleted(&self, table: &'static str, n: u64) {
        self.table_rows_deleted
            .get_or_create(&[("table", table.to_owned())])
            .inc_by(n);
    }

    /// `quay_gc_storage_blobs_deleted_total` += `n`.
    pub fn storage_blobs_deleted(&self, n: u64) {
        self.storage_blobs_deleted.inc_by(n);
    }

    /// `quay_gc_repos_purged_total` += 1.
    pub fn repo_purged(&self) {
        self.repos_purged.inc();
    }

    /// `quay_gc_namespaces_purged_total` += 1.
    pub fn namespace_purged(&self) {
        self.namespaces_purged.inc();
    }

    /// `quay_gc_iterations_total` += 1.
    pub fn iteration(&self) {
        self.iterations.inc();
    }
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    tracked: TrackedNamespaces,
    request_duration: HistogramFamily<4>,
    image_pulls: Family<Labels<3>, Counter>,
    image_pushes: Family<Labels<3>, Counter>,
    pulled_bytes: Family<Labels<1>, Counter>,
    pushed_bytes: Counter,
    auth_attempts: Family<Labels<2>, Counter>,
    repository_rows: Gauge,
    user_rows: Gauge,
    org_rows: Gauge,
    robot_rows: Gauge,
    worker_duration: HistogramFamily<2>,
    worker_in_progress: Family<Labels<2>, Gauge>,
    gc: GcMetrics,
    workers: WorkerMetrics,
}

/// All of quayside's metrics: one registry and its families. Cheap to clone (an `Arc`).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every family, process metrics included, with no tracked namespaces and no constant
    /// labels.
    pub fn new() -> Metrics {
        Metrics::with_options(MetricsOptions::default())
    }

    /// Every family, set up by `options`.
    pub fn with_options(options: MetricsOptions) -> Metrics {
        let labels = options
            .constant_labels
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)));
        let mut registry = Registry::with_labels(labels);

        let request_duration = histogram_family::<4>();
        registry.register(
            "quay_request_duration_seconds",
            "seconds taken to process a request",
            request_duration.clone(),
        );
        let image_pulls = Family::<Labels<3>, Counter>::default();
        registry.register(
            "quay_registry_image_pulls",
            "number of images that have been downloaded via the registry",
            image_pulls.clone(),
        );
        let image_pushes = Family::<Labels<3>, Counter>::default();
        registry.register(
            "quay_registry_image_pushes",
            "number of images that have been uploaded via the registry",
            image_pushes.clone(),
        );
        let pulled_bytes = Family::<Labels<1>, Counter>::default();
        registry.register(
            "quay_registry_image_pulled_estimated_bytes",
            "number of bytes that have been downloaded via the registry",
            pulled_bytes.clone(),
        );
        let pushed_bytes = Counter::default();
        registry.register(
            "quay_registry_image_pushed_bytes",
            "number of bytes pushed to the registry",
            pushed_bytes.clone(),
        );
        let auth_attempts = Family::<Labels<2>, Counter>::default();
        registry.register(
            "quay_authentication_attempts",
            "number of authentication attempts accross the registry and API",
            auth_attempts.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let repository_rows = gauge(
            &mut registry,
            "quay_repository_rows",
            "number of repositories in the database",
        );
        let user_rows = gauge(
            &mut registry,
            "quay_user_rows",
            "number of users in the database",
        );
        let org_rows = gauge(
            &mut registry,
            "quay_org_rows",
            "number of organizations in the database",
        );
        let robot_rows = gauge(
            &mut registry,
            "quay_robot_rows",
            "number of robot accounts in the database",
        );
        let worker_duration = histogram_family::<2>();
        registry.register(
            "quay_worker_operation_duration_seconds",
            "seconds taken by a worker operation",
            worker_duration.clone(),
        );
        let worker_in_progress = Family::<Labels<2>, Gauge>::default();
        registry.register(
            "quay_worker_operation_in_progress",
            "worker operations currently running",
            worker_in_progress.clone(),
        );
        let gc = GcMetrics::register(&mut registry);
        let workers = WorkerMetrics::register(&mut registry);
        registry.register_collector(Box::new(process::ProcessCollector));

        Metrics {
            inner: Arc::new(Inner {
                registry,
                tracked: options.tracked_namespaces,
                request_duration,
                image_pulls,
                image_pushes,
                pulled_bytes,
                pushed_bytes,
                auth_attempts,
                repository_rows,
                user_rows,
                org_rows,
                robot_rows,
                worker_duration,
                worker_in_progress,
                gc,
                workers,
            }),
        }
    }

    /// Tower/axum middleware recording `quay_request_duration_seconds{method, route, status,
    /// namespace_name}` (its `_count` is the request count). `route` comes from
    /// [`route_for`], or from a [`RouteName`] the handler put on its response.
    pub fn http_layer(&self) -> HttpMetricsLayer {
        HttpMetricsLayer::new(self.clone())
    }

    /// The `namespace_name` label value for a namespace (`""` unless tracked).
    pub fn tracked_label(&self, namespace: Option<&str>) -> &str {
        self.inner.tracked.label_for(namespace)
    }

    /// Records one request (what the HTTP layer does); for requests served outside it.
    pub fn observe_request(
        &self,
        method: &str,
        route: &'static str,
        status: u16,
        namespace_name: &str,
        seconds: f64,
    ) {
        self.inner
            .request_duration
            .get_or_create(&[
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
                ("namespace_name", namespace_name.to_owned()),
            ])
            .observe(seconds);
    }

    /// `quay_registry_image_pulls_total{protocol="v2", ref, status}` += 1.
    pub fn registry_pull(&self, reference: PullRef, status: u16) {
        self.inner
            .image_pulls
            .get_or_create(&[
                ("protocol", PROTOCOL_V2.to_owned()),
                ("ref", reference.as_str().to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// `quay_registry_image_pushes_total{protocol="v2", status, media_type}` += 1.
    ///
    /// `media_type` is the stored manifest's media type, or `""` when the push failed before
    /// one was known (as Quay records failures); an unrecognised value becomes `unknown`.
    pub fn registry_push(&self, status: u16, media_type: &str) {
        let media_type = if media_type.is_empty() || PUSH_MEDIA_TYPES.contains(&media_type) {
            media_type
        } else {
            "unknown"
        };
        self.inner
            .image_pushes
            .get_or_create(&[
                ("protocol", PROTOCOL_V2.to_owned()),
                ("status", status.to_string()),
                ("media_type", media_type.to_owned()),
            ])
            .inc();
    }

    /// `quay_registry_image_pulled_estimated_bytes_total{protocol="v2"}` += `n` (the blob's
    /// stored size, counted when a blob GET is answered).
    pub fn pulled_bytes(&self, n: u64) {
        self.inner
            .pulled_bytes
            .get_or_create(&[("protocol", PROTOCOL_V2.to_owned())])
            .inc_by(n);
    }

    /// `quay_registry_image_pushed_bytes_total` += `n` (bytes received by blob uploads).
    pub fn pushed_bytes(&self, n: u64) {
        self.inner.pushed_bytes.inc_by(n);
    }

    /// `quay_authentication_attempts_total{auth_kind, success}` += 1; `success` is `True` or
    /// `False`, as Python prints a bool.
    pub fn auth_attempt(&self, kind: AuthKind, success: bool) {
        let success = if success { "True" } else { "False" };
        self.inner
            .auth_attempts
            .get_or_create(&[
                ("auth_kind", kind.as_str().to_owned()),
                ("success", success.to_owned()),
            ])
            .inc();
    }

    /// Sets `quay_repository_rows`, `quay_user_rows`, `quay_org_rows`, `quay_robot_rows`
    /// (globalpromstats' hourly counts).
    pub fn set_rows(&self, repositories: i64, users: i64, orgs: i64, robots: i64) {
        self.inner.repository_rows.set(repositories);
        self.inner.user_rows.set(users);
        self.inner.org_rows.set(orgs);
        self.inner.robot_rows.set(robots);
    }

    /// Starts a worker operation: `quay_worker_operation_in_progress{worker, operation}`
    /// goes up now and down when the guard drops, which also observes
    /// `quay_worker_operation_duration_seconds{worker, operation}`.
    pub fn worker_operation(
        &self,
        worker: &'static str,
        operation: &'static str,
    ) -> OperationGuard {
        let labels: Labels<2> = [
            ("worker", worker.to_owned()),
            ("operation", operation.to_owned()),
        ];
        self.inner.worker_in_progress.get_or_create(&labels).inc();
        OperationGuard {
            metrics: self.clone(),
            labels,
            start: Instant::now(),
        }
    }

    /// The GC families.
    pub fn gc(&self) -> &GcMetrics {
        &self.inner.gc
    }

    /// quayside's own worker families (`quayside_gc_*`, `quayside_worker_runs`).
    pub fn workers(&self) -> &WorkerMetrics {
        &self.inner.workers
    }

    /// The OpenMetrics 1.0 text exposition ([`OPENMETRICS_CONTENT_TYPE`]); counters' samples
    /// end in `_total`, histograms' in `_bucket`/`_sum`/`_count`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would only come from a
        // metric refusing to encode, which leaves a partial (still parseable) body.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }

    /// The Prometheus text format 0.0.4 exposition ([`PROMETHEUS_TEXT_CONTENT_TYPE`]): the
    /// same samples, for scrapers and tools that do not speak OpenMetrics.
    pub fn render_text(&self) -> String {
        exposition::openmetrics_to_text(&self.render())
    }

    /// The body and content type to answer a scrape with, chosen by its `Accept` header:
    /// OpenMetrics when the scraper asks for it, else text 0.0.4.
    pub fn scrape(&self, headers: &HeaderMap) -> (&'static str, String) {
        let wants_openmetrics = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("application/openmetrics-text"));
        if wants_openmetrics {
            (OPENMETRICS_CONTENT_TYPE, self.render())
        } else {
            (PROMETHEUS_TEXT_CONTENT_TYPE, self.render_text())
        }
    }
}

/// Guard of a running worker operation (see [`Metrics::worker_operation`]).
#[derive(Debug)]
#[must_use = "the operation is measured until the guard is dropped"]
pub struct OperationGuard {
    metrics: Metrics,
    labels: Labels<2>,
    start: Instant,
}

impl Drop for OperationGuard {
    fn drop(&mut self) {
        let inner = &self.metrics.inner;
        inner.worker_in_progress.get_or_create(&self.labels).dec();
        inner
            .worker_duration
            .get_or_create(&self.labels)
            .observe(self.start.elapsed().as_secs_f64());
    }
}

/// `GET /metrics`: the scrape endpoint (serve it on port 9091, where Quay's pushgateway was).
pub fn router(metrics: Metrics) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: HeaderMap| {
            let metrics = metrics.clone();
            async move {
                let (content_type, body) = metrics.scrape(&headers);
                (
                    [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
                    body,
                )
            }
        }),
    )
}
