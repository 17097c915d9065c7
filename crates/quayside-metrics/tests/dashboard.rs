//! The shipped Grafana dashboard and PrometheusRule only query metrics quayside exports
//! (kube-state-metrics' `kube_*` aside), and the alert is Quay's, field for field.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use quayside_metrics::Metrics;

fn monitoring_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/monitoring")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every string under a key named `expr`, anywhere in the document (panel targets, nested
/// row panels, rule groups).
fn exprs_json(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => exprs_json(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| exprs_json(i, out)),
        _ => {}
    }
}

fn exprs_yaml(v: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml_ng::Value::Mapping(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    (Some("expr"), serde_yaml_ng::Value::String(s)) => out.push(s.clone()),
                    _ => exprs_yaml(v, out),
                }
            }
        }
        serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|i| exprs_yaml(i, out)),
        _ => {}
    }
}

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
];

/// The metric names a PromQL expression selects: identifiers that are not functions or
/// aggregations (followed by `(`), not keywords, and not inside label matchers `{…}`,
/// range/subquery brackets `[…]`, strings, or `by`/`without`/`on`/`ignoring`/`group_*`
/// label lists.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut label_list_next = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                i += 1;
                while i < chars.len() && chars[i] != close {
                    if chars[i] == '"' {
                        i += 1;
                        while i < chars.len() && chars[i] != '"' {
                            if chars[i] == '\\' {
                                i += 1;
                            }
                            i += 1;
                        }
                    }
                    i += 1;
                }
                i += 1;
            }
            '(' if label_list_next => {
                label_list_next = false;
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let next_word: String = chars[j..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                // `f(…)` is a call; `sum by (…) (…)` an aggregation with its clause first.
                let is_call = chars.get(j) == Some(&'(')
                    || matches!(next_word.to_ascii_lowercase().as_str(), "by" | "without");
                let lower = word.to_ascii_lowercase();
                if matches!(
                    lower.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    label_list_next = true;
                } else if !is_call && !KEYWORDS.contains(&lower.as_str()) {
                    names.insert(word);
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number or a duration (5m): skip its alphanumerics.
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    names
}

#[test]
fn metric_name_extraction() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"histogram_quantile(0.95, sum by (le, route) (rate(quay_request_duration_seconds_bucket{namespace="$namespace", x="a(b)"}[5m])))"#,
            &["quay_request_duration_seconds_bucket"],
        ),
        (
            r#"max(process_resident_memory_bytes{host=~".+-quay-app-.+"}) by (process_name)"#,
            &["process_resident_memory_bytes"],
        ),
        (
            r#"increase(kube_pod_container_status_restarts_total{pod=~".*-quay-app-.*"}[1h]) > 5"#,
            &["kube_pod_container_status_restarts_total"],
        ),
        (
            "sum(rate(a_total[5m] offset 1h)) / on (job) group_left (x) b and c",
            &["a_total", "b", "c"],
        ),
        ("max(quay_org_rows > 0)", &["quay_org_rows"]),
        ("count without (x) (up) * 100", &["up"]),
    ];
    for (expr, expected) in cases {
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(metric_names(expr), expected, "{expr}");
    }
}

/// Sample names a scrape of quayside carries once every family has been used.
fn exported_sample_names() -> BTreeSet<String> {
    let metrics = Metrics::new();
    common::exercise_all(&metrics);
    common::parse(&metrics.render())
        .sample_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn assert_exported(source: &str, exprs: &[String]) -> BTreeSet<String> {
    let exported = exported_sample_names();
    let mut used = BTreeSet::new();
    for expr in exprs {
        for name in metric_names(expr) {
            if name.starts_with("kube_") {
                continue; // kube-state-metrics, not ours
            }
            assert!(
                exported.contains(&name),
                "{source}: `{name}` (in `{expr}`) is not exported; exported: {exported:?}"
            );
            used.insert(name);
        }
    }
    used
}

#[test]
fn dashboard_queries_only_exported_metrics() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&monitoring_file("quayside-dashboard.json")).expect("dashboard JSON");
    let mut exprs = Vec::new();
    exprs_json(&dashboard, &mut exprs);
    let used = assert_exported("quayside-dashboard.json", &exprs);

    // The operator dashboard's metrics are all there (so the check above is not vacuous).
    for name in [
        "quay_authentication_attempts_total",
        "quay_org_rows",
        "quay_repository_rows",
        "quay_user_rows",
        "quay_robot_rows",
        "quay_registry_image_pulls_total",
        "quay_registry_image_pushes_total",
        "quay_request_duration_seconds_bucket",
        "quay_request_duration_seconds_count",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ] {
        assert!(used.contains(name), "dashboard does not query {name}");
    }

    // The variables the operator rewrites sit where it rewrites them.
    let vars = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    let names: Vec<&str> = vars.iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["datasource", "namespace", "service"]);
    assert_eq!(vars[0]["type"], "datasource");
    assert_eq!(vars[1]["type"], "custom");
    assert_eq!(vars[2]["type"], "custom");
}

#[test]
fn alert_rule_is_quays() {
    let rule: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&monitoring_file("quayside-alerts.prometheusrule.yaml"))
            .expect("rule YAML");
    let mut exprs = Vec::new();
    exprs_yaml(&rule, &mut exprs);
    assert_eq!(exprs.len(), 1);
    assert!(assert_exported("quayside-alerts.prometheusrule.yaml", &exprs).is_empty());

    assert_eq!(
        rule["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(rule["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(
        rule["metadata"]["labels"]["prometheus"].as_str(),
        Some("k8s")
    );
    assert_eq!(
        rule["metadata"]["labels"]["role"].as_str(),
        Some("alert-rules")
    );
    let group = &rule["spec"]["groups"][0];
    assert_eq!(group["name"].as_str(), Some("quay-alerts.rules"));
    let alert = &group["rules"][0];
    assert_eq!(alert["alert"].as_str(), Some("QuayPodFrequentlyRestarting"));
    assert_eq!(
        alert["expr"].as_str(),
        Some(
            r#"increase(kube_pod_container_status_restarts_total{pod=~".*-quay-app-.*"}[1h]) > 5"#
        )
    );
    assert_eq!(alert["for"].as_str(), Some("10m"));
    assert_eq!(alert["labels"]["severity"].as_str(), Some("warning"));
    let annotations = &alert["annotations"];
    assert_eq!(
        annotations["message"].as_str(),
        Some("Quay Pod is restarting frequently")
    );
    assert_eq!(
        annotations["description"].as_str(),
        Some("Pod {{$labels.namespace}}/{{$labels.pod}} was restarted {{$value}} times within the last hour")
    );
    assert_eq!(annotations["severity_level"].as_str(), Some("warning"));
}
