//! Every recording method moves exactly its own series; the middleware and the scrape
//! endpoint work through real tower/axum calls.

mod common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{diff, exercise_all, key, parse, SeriesKey};
use quayside_metrics::{
    AuthKind, Metrics, MetricsOptions, PullRef, RouteName, TrackedNamespaces, DEFAULT_BUCKETS,
};
use tower::ServiceExt;

/// Runs `action` and returns every non-process series it changed, with its delta.
fn moves(metrics: &Metrics, action: impl FnOnce(&Metrics)) -> BTreeMap<SeriesKey, f64> {
    let before = parse(&metrics.render());
    action(metrics);
    diff(&before, &parse(&metrics.render()))
}

/// One expected change: sample name, labels, delta.
type Change<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

fn expect(entries: &[Change<'_>]) -> BTreeMap<SeriesKey, f64> {
    entries
        .iter()
        .map(|(name, labels, v)| (key(name, labels), *v))
        .collect()
}

/// The series one tiny (< 5 ms) observation adds to a histogram: `_count` and every bucket
/// +1, `_sum` by the observed value (which may round to 0, so it is checked apart).
fn assert_one_fast_observation(
    changed: &BTreeMap<SeriesKey, f64>,
    name: &str,
    labels: &[(&str, &str)],
) {
    let mut expected = vec![(format!("{name}_count"), labels.to_vec(), 1.0)];
    let bounds: Vec<String> = DEFAULT_BUCKETS
        .iter()
        .map(|b| format!("{b:?}"))
        .chain(["+Inf".to_owned()])
        .collect();
    for le in &bounds {
        let mut l = labels.to_vec();
        l.push(("le", le.as_str()));
        expected.push((format!("{name}_bucket"), l, 1.0));
    }
    let mut rest = changed.clone();
    for (n, l, v) in &expected {
        assert_eq!(
            rest.remove(&key(n, l)),
            Some(*v),
            "{n} {l:?} in {changed:?}"
        );
    }
    if let Some(sum) = rest.remove(&key(&format!("{name}_sum"), labels)) {
        assert!(sum > 0.0 && sum < 5.0, "sum moved by {sum}");
    }
    assert!(rest.is_empty(), "unexpected changes: {rest:?}");
}

#[test]
fn registry_pull_moves_only_its_series() {
    let m = Metrics::new();
    assert_eq!(
        moves(&m, |m| m.registry_pull(PullRef::Tag, 200)),
        expect(&[(
            "quay_registry_image_pulls_total",
            &[("protocol", "v2"), ("ref", "tag"), ("status", "200")],
            1.0
        )])
    );
    assert_eq!(
        moves(&m, |m| {
            m.registry_pull(PullRef::Manifest, 404);
            m.registry_pull(PullRef::Manifest, 404);
        }),
        expect(&[(
            "quay_registry_image_pulls_total",
            &[("protocol", "v2"), ("ref", "manifest"), ("status", "404")],
            2.0
        )])
    );
}

#[test]
fn registry_push_moves_only_its_series() {
    let m = Metrics::new();
    let oci = "application/vnd.oci.image.manifest.v1+json";
    assert_eq!(
        moves(&m, |m| m.registry_push(201, oci)),
        expect(&[(
            "quay_registry_image_pushes_total",
            &[("protocol", "v2"), ("status", "201"), ("media_type", oci)],
            1.0
        )])
    );
    assert_eq!(
        moves(&m, |m| m.registry_push(400, "")),
        expect(&[(
            "quay_registry_image_pushes_total",
            &[("protocol", "v2"), ("status", "400"), ("media_type", "")],
            1.0
        )])
    );
    // A client-chosen media type cannot create new series.
    assert_eq!(
        moves(&m, |m| m.registry_push(201, "application/x-anything\"{}\n")),
        expect(&[(
            "quay_registry_image_pushes_total",
            &[
                ("protocol", "v2"),
                ("status", "201"),
                ("media_type", "unknown")
            ],
            1.0
        )])
    );
}

#[test]
fn byte_counters_move_only_their_series() {
    let m = Metrics::new();
    assert_eq!(
        moves(&m, |m| m.pulled_bytes(1234)),
        expect(&[(
            "quay_registry_image_pulled_estimated_bytes_total",
            &[("protocol", "v2")],
            1234.0
        )])
    );
    assert_eq!(
        moves(&m, |m| m.pushed_bytes(99)),
        expect(&[("quay_registry_image_pushed_bytes_total", &[], 99.0)])
    );
}

#[test]
fn auth_attempt_moves_only_its_series() {
    let m = Metrics::new();
    assert_eq!(
        moves(&m, |m| m.auth_attempt(AuthKind::Basic, false)),
        expect(&[(
            "quay_authentication_attempts_total",
            &[("auth_kind", "basic"), ("success", "False")],
            1.0
        )])
    );
    assert_eq!(
        moves(&m, |m| m.auth_attempt(AuthKind::OAuth, true)),
        expect(&[(
            "quay_authentication_attempts_total",
            &[("auth_kind", "oauth"), ("success", "True")],
            1.0
        )])
    );
}

#[test]
fn set_rows_sets_the_four_gauges() {
    let m = Metrics::new();
    assert_eq!(
        moves(&m, |m| m.set_rows(5, 4, 3, 2)),
        expect(&[
            ("quay_repository_rows", &[], 5.0),
            ("quay_user_rows", &[], 4.0),
            ("quay_org_rows", &[], 3.0),
            ("quay_robot_rows", &[], 2.0),
        ])
    );
    // Setting again replaces (a gauge, not a counter).
    assert_eq!(
        moves(&m, |m| m.set_rows(6, 4, 3, 2)),
        expect(&[("quay_repository_rows", &[], 1.0)])
    );
}

#[test]
fn worker_operation_tracks_in_progress_and_duration() {
    let m = Metrics::new();
    let labels = [("worker", "gcworker"), ("operation", "purge_repo")];
    let before = parse(&m.render());
    let guard = m.worker_operation("gcworker", "purge_repo");
    assert_eq!(
        diff(&before, &parse(&m.render())),
        expect(&[("quay_worker_operation_in_progress", &labels, 1.0)])
    );
    drop(guard);
    let after = parse(&m.render());
    assert_eq!(
        after.value("quay_worker_operation_in_progress", &labels),
        Some(0.0)
    );
    assert_one_fast_observation(
        &diff(&before, &after),
        "quay_worker_operation_duration_seconds",
        &labels,
    );
}

#[test]
fn gc_methods_move_only_their_series() {
    let m = Metrics::new();
    assert_eq!(
        moves(&m, |m| m.gc().table_rows_deleted("manifestblob", 7)),
        expect(&[(
            "quay_gc_table_rows_deleted_total",
            &[("table", "manifestblob")],
            7.0
        )])
    );
    assert_eq!(
        moves(&m, |m| m.gc().storage_blobs_deleted(3)),
        expect(&[("quay_gc_storage_blobs_deleted_total", &[], 3.0)])
    );
    assert_eq!(
        moves(&m, |m| m.gc().iteration()),
        expect(&[("quay_gc_iterations_total", &[], 1.0)])
    );
    assert_eq!(
        moves(&m, |m| m.gc().repo_purged()),
        expect(&[("quay_gc_repos_purged_total", &[], 1.0)])
    );
    assert_eq!(
        moves(&m, |m| m.gc().namespace_purged()),
        expect(&[("quay_gc_namespaces_purged_total", &[], 1.0)])
    );
}

#[test]
fn render_uses_quays_exact_names_and_types() {
    let m = Metrics::new();
    exercise_all(&m);
    let text = m.render();
    assert!(text.ends_with("# EOF\n"), "OpenMetrics terminator");
    let exp = parse(&text);
    let expected_types = [
        ("quay_request_duration_seconds", "histogram"),
        ("quay_registry_image_pulls", "counter"),
        ("quay_registry_image_pushes", "counter"),
        ("quay_registry_image_pulled_estimated_bytes", "counter"),
        ("quay_registry_image_pushed_bytes", "counter"),
        ("quay_authentication_attempts", "counter"),
        ("quay_repository_rows", "gauge"),
        ("quay_user_rows", "gauge"),
        ("quay_org_rows", "gauge"),
        ("quay_robot_rows", "gauge"),
        ("quay_worker_operation_duration_seconds", "histogram"),
        ("quay_worker_operation_in_progress", "gauge"),
        ("quay_gc_table_rows_deleted", "counter"),
        ("quay_gc_storage_blobs_deleted", "counter"),
        ("quay_gc_repos_purged", "counter"),
        ("quay_gc_namespaces_purged", "counter"),
        ("quay_gc_iterations", "counter"),
    ];
    for (name, kind) in expected_types {
        assert_eq!(
            exp.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
    }
    let names = exp.sample_names();
    for sample in [
        "quay_registry_image_pulls_total",
        "quay_registry_image_pushes_total",
        "quay_registry_image_pulled_estimated_bytes_total",
        "quay_registry_image_pushed_bytes_total",
        "quay_authentication_attempts_total",
        "quay_request_duration_seconds_bucket",
        "quay_request_duration_seconds_count",
        "quay_request_duration_seconds_sum",
        "quay_gc_iterations_total",
        "quay_gc_table_rows_deleted_total",
    ] {
        assert!(names.contains(sample), "{sample} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.ends_with("_total_total")),
        "double suffix in {names:?}"
    );
    // The request histogram carries Quay's four labels and Python's default buckets.
    let labels = [
        ("method", "GET"),
        ("route", "v2.download_blob"),
        ("status", "200"),
        ("namespace_name", ""),
    ];
    assert_eq!(
        exp.value("quay_request_duration_seconds_count", &labels),
        Some(1.0)
    );
    let mut with_le = labels.to_vec();
    with_le.push(("le", "0.005"));
    assert_eq!(
        exp.value("quay_request_duration_seconds_bucket", &with_le),
        Some(0.0)
    );
    with_le.pop();
    with_le.push(("le", "0.01"));
    assert_eq!(
        exp.value("quay_request_duration_seconds_bucket", &with_le),
        Some(1.0)
    );
    with_le.pop();
    with_le.push(("le", "+Inf"));
    assert_eq!(
        exp.value("quay_request_duration_seconds_bucket", &with_le),
        Some(1.0)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn process_metrics_are_exported() {
    let exp = parse(&Metrics::new().render());
    assert_eq!(
        exp.types.get("process_cpu_seconds").map(String::as_str),
        Some("counter")
    );
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ] {
        assert!(exp.sample_names().contains(name), "{name}");
    }
    assert!(exp
        .value("process_resident_memory_bytes", &[])
        .is_some_and(|v| v > 0.0));
}

#[test]
fn text_format_names_counters_with_total() {
    let m = Metrics::new();
    m.registry_pull(PullRef::Tag, 200);
    let text = m.render_text();
    assert!(text.contains("# TYPE quay_registry_image_pulls_total counter\n"));
    assert!(text.contains("# TYPE quay_repository_rows gauge\n"));
    assert!(!text.contains("# EOF"));
    // Same samples as the OpenMetrics rendering (process values aside).
    let strip = |e: common::Exposition| {
        e.samples
            .into_iter()
            .filter(|((n, _), _)| !n.starts_with("process_"))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(strip(parse(&text)), strip(parse(&m.render())));
}

#[test]
fn constant_labels_go_on_every_series() {
    let m = Metrics::with_options(MetricsOptions {
        constant_labels: vec![
            ("host".to_owned(), "reg-quay-app-abc".to_owned()),
            ("process_name".to_owned(), "quayside".to_owned()),
        ],
        ..MetricsOptions::default()
    });
    m.registry_pull(PullRef::Tag, 200);
    let exp = parse(&m.render());
    assert!(!exp.samples.is_empty());
    for (name, labels) in exp.samples.keys() {
        assert_eq!(
            labels.get("host").map(String::as_str),
            Some("reg-quay-app-abc"),
            "{name}"
        );
        assert_eq!(
            labels.get("process_name").map(String::as_str),
            Some("quayside"),
            "{name}"
        );
    }
    let detected = MetricsOptions::quay_grouping_labels("quayside");
    assert_eq!(detected.len(), 2);
    assert_eq!(
        detected[1],
        ("process_name".to_owned(), "quayside".to_owned())
    );
}

fn request_count(m: &Metrics, method: &str, route: &str, status: &str, ns: &str) -> Option<f64> {
    parse(&m.render()).value(
        "quay_request_duration_seconds_count",
        &[
            ("method", method),
            ("route", route),
            ("status", status),
            ("namespace_name", ns),
        ],
    )
}

#[tokio::test]
async fn middleware_records_method_route_status_and_tracked_namespace() {
    let m = Metrics::with_options(MetricsOptions {
        tracked_namespaces: TrackedNamespaces::from_list(["acme"]),
        ..MetricsOptions::default()
    });
    let app = axum::Router::new()
        .route("/v2/", get(|| async { "{}" }))
        .route(
            "/api/v1/custom",
            get(|| async {
                let mut r = "x".into_response();
                r.extensions_mut().insert(RouteName("api.superuserlist"));
                r
            }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(m.http_layer());

    let call = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request")
    };
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    let before = parse(&m.render());
    let resp = app
        .clone()
        .oneshot(call("GET", "/v2/"))
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let changed = diff(&before, &parse(&m.render()));
    assert_one_fast_observation(
        &changed,
        "quay_request_duration_seconds",
        &[
            ("method", "GET"),
            ("route", "v2.v2_support_enabled"),
            ("status", "200"),
            ("namespace_name", ""),
        ],
    );

    let blob = format!("/v2/acme/app/blobs/{digest}");
    let resp = app
        .clone()
        .oneshot(call("HEAD", &blob))
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        request_count(&m, "HEAD", "v2.check_blob_exists", "404", "acme"),
        Some(1.0)
    );

    let other = format!("/v2/globex/app/manifests/{digest}");
    app.clone()
        .oneshot(call("PUT", &other))
        .await
        .expect("call");
    assert_eq!(
        request_count(&m, "PUT", "v2.write_manifest_by_digest", "404", ""),
        Some(1.0)
    );

    app.clone()
        .oneshot(call("GET", "/api/v1/custom"))
        .await
        .expect("call");
    assert_eq!(
        request_count(&m, "GET", "api.superuserlist", "200", ""),
        Some(1.0)
    );

    app.clone()
        .oneshot(call("BREW", "/nowhere/../x"))
        .await
        .expect("call");
    assert_eq!(request_count(&m, "OTHER", "unknown", "404", ""), Some(1.0));
}

#[tokio::test]
async fn metrics_router_serves_both_formats() {
    let m = Metrics::new();
    m.registry_pull(PullRef::Tag, 200);
    let app = quayside_metrics::router(m.clone());

    let get_metrics = |accept: Option<&str>| {
        let mut b = Request::builder().uri("/metrics");
        if let Some(a) = accept {
            b = b.header(header::ACCEPT, a);
        }
        b.body(Body::empty()).expect("request")
    };
    let body = |resp: axum::response::Response| async move {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    };

    let resp = app
        .clone()
        .oneshot(get_metrics(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )))
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        quayside_metrics::OPENMETRICS_CONTENT_TYPE
    );
    let text = body(resp).await;
    assert!(text.ends_with("# EOF\n"));
    assert_eq!(
        parse(&text).value(
            "quay_registry_image_pulls_total",
            &[("protocol", "v2"), ("ref", "tag"), ("status", "200")]
        ),
        Some(1.0)
    );

    let resp = app.clone().oneshot(get_metrics(None)).await.expect("call");
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        quayside_metrics::PROMETHEUS_TEXT_CONTENT_TYPE
    );
    let text = body(resp).await;
    assert!(text.contains("# TYPE quay_registry_image_pulls_total counter"));

    let resp = app
        .oneshot(
            Request::builder()
                .uri("/other")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
