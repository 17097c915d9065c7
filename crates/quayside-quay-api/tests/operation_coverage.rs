//! Coverage of Quay's API v1: `tests/data/quay_operations.tsv` lists every operation of
//! Quay's `endpoints/api/*.py` (method, Quay's path, nickname, feature flag) with its status
//! in quayside: `routed`, or `absent: <reason>` (billing, or the issue that will build it).
//!
//! The list is checked against `/api/v1/discovery?internal=true` served by the real router,
//! with every feature flag named in the list switched on (billing aside), so that:
//! - every `routed` row is in discovery with the same method, path and `operationId`;
//! - every operation in discovery is a `routed` row (discovery lists exactly what is routed,
//!   and the list cannot rot when an operation is added);
//! - every `absent` row has a known reason and is not in discovery;
//! - no operation (method and path) or nickname is listed twice;
//! - the list keeps at least [`MIN_NON_BILLING`] operations outside billing, so that
//!   truncating it fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;

const DATA: &str = include_str!("data/quay_operations.tsv");

/// Quay's `endpoints/api/*.py` declares some 270 operations outside billing; a list shorter
/// than this has lost rows.
const MIN_NON_BILLING: usize = 260;

const REASONS: &[&str] = &[
    "billing",
    "issue 17 quota/proxy cache/mirroring",
    "issue 18 security scanning",
    "issue 21 builds",
    "issue 23 not yet built",
];

/// Gates in the feature column that are plain config keys rather than `FEATURE_*` flags.
const CONFIG_GATES: &[&str] = &["PERMANENTLY_DELETE_TAGS"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Routed,
    Absent(String),
}

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    method: String,
    quay_path: String,
    nickname: String,
    features: Vec<String>,
    status: Status,
}

impl Row {
    fn key(&self) -> (String, String) {
        (self.method.clone(), normalise(&self.quay_path))
    }

    fn is_billing(&self) -> bool {
        self.status == Status::Absent("billing".into())
    }
}

/// Quay's rule (`/v1/...` with Flask converters: `<orgname>`, `<apirepopath:repository>`,
/// `<regex(...):manifestref>`) as the Swagger path discovery documents
/// (`/api/v1/...{orgname}`, `{repository}`, `{manifestref}`).
fn normalise(quay_path: &str) -> String {
    let mut out = String::from("/api");
    let mut rest = quay_path;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('>').expect("unclosed converter") + start;
        let inner = &rest[start + 1..end];
        let name = inner.rsplit(':').next().expect("converter name");
        out.push('{');
        out.push_str(name);
        out.push('}');
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut header = false;
    for (i, line) in DATA.lines().enumerate() {
        let line_no = i + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            cols.len(),
            5,
            "line {line_no}: expected 5 columns: {line:?}"
        );
        if !header {
            assert_eq!(
                cols,
                ["method", "path", "nickname", "feature", "status"],
                "header"
            );
            header = true;
            continue;
        }
        let method = cols[0].to_owned();
        assert!(
            ["GET", "POST", "PUT", "DELETE"].contains(&method.as_str()),
            "line {line_no}: method {method:?}"
        );
        assert!(
            cols[1].starts_with("/v1/"),
            "line {line_no}: Quay paths start with /v1/: {:?}",
            cols[1]
        );
        assert!(!cols[2].is_empty(), "line {line_no}: empty nickname");
        let features: Vec<String> = cols[3]
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        for f in &features {
            assert!(
                !f.starts_with("FEATURE_"),
                "line {line_no}: write {f:?} without the FEATURE_ prefix"
            );
        }
        let status = match cols[4] {
            "routed" => Status::Routed,
            s => {
                let reason = s
                    .strip_prefix("absent: ")
                    .unwrap_or_else(|| panic!("line {line_no}: status {s:?}"))
                    .trim();
                assert!(
                    !reason.is_empty(),
                    "line {line_no}: absent without a reason"
                );
                assert!(
                    REASONS.contains(&reason),
                    "line {line_no}: unknown reason {reason:?} (known: {REASONS:?})"
                );
                Status::Absent(reason.to_owned())
            }
        };
        rows.push(Row {
            line: line_no,
            method,
            quay_path: cols[1].to_owned(),
            nickname: cols[2].to_owned(),
            features,
            status,
        });
    }
    assert!(header, "no header line");
    rows
}

/// Config that switches on every gate the list names outside billing: `FEATURE_X: true`,
/// a plain config key (`PERMANENTLY_DELETE_TAGS: true`), or `KEY=value`.
fn all_routes_yaml(rows: &[Row]) -> String {
    let mut gates = BTreeMap::new();
    for row in rows.iter().filter(|r| !r.is_billing()) {
        for f in &row.features {
            let (key, value) = match f.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None if CONFIG_GATES.contains(&f.as_str()) => (f.clone(), "true".to_owned()),
                None => (format!("FEATURE_{f}"), "true".to_owned()),
            };
            if let Some(prev) = gates.insert(key.clone(), value.clone()) {
                assert_eq!(prev, value, "{key} is gated on two values");
            }
        }
    }
    gates.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

/// `(METHOD, path) -> operationId` of the internal discovery document on every backend
/// (both must agree).
async fn discovered(yaml: &str) -> BTreeMap<(String, String), String> {
    let mut all = Vec::new();
    for backend in backends() {
        let env = env_with(backend, yaml).await;
        let r = env.get("/api/v1/discovery?internal=true", None).await;
        assert_eq!(r.status, 200, "{backend:?}: {r:?}");
        let mut ops = BTreeMap::new();
        let paths = r.json["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let item = item.as_object().expect("path item");
            for (method, op) in item {
                if !["get", "post", "put", "patch", "delete", "head", "options"]
                    .contains(&method.as_str())
                {
                    continue;
                }
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path}: no operationId"))
                    .to_owned();
                let prev = ops.insert((method.to_uppercase(), path.clone()), id);
                assert!(prev.is_none(), "{method} {path} documented twice");
            }
        }
        all.push(ops);
        env.cleanup().await;
    }
    assert!(!all.is_empty(), "no backend");
    for other in &all[1..] {
        assert_eq!(
            &all[0], other,
            "SQLite and PostgreSQL document different operations"
        );
    }
    all.swap_remove(0)
}

#[test]
fn normalises_flask_converters() {
    assert_eq!(
        normalise("/v1/repository/<apirepopath:repository>/tag/<tag>"),
        "/api/v1/repository/{repository}/tag/{tag}"
    );
    assert_eq!(
        normalise("/v1/repository/<apirepopath:repository>/manifest/<regex(MANIFEST_DIGEST):manifestref>/labels"),
        "/api/v1/repository/{repository}/manifest/{manifestref}/labels"
    );
    assert_eq!(normalise("/v1/user/"), "/api/v1/user/");
}

#[test]
fn list_is_well_formed() {
    let rows = rows();

    let mut seen = BTreeMap::new();
    let mut nicknames = BTreeMap::new();
    for row in &rows {
        let key = row.key();
        if let Some(line) = seen.insert(key.clone(), row.line) {
            panic!("{key:?} listed twice (lines {line} and {})", row.line);
        }
        if let Some(line) = nicknames.insert(row.nickname.clone(), row.line) {
            panic!(
                "nickname {} listed twice (lines {line} and {}); Quay's operationIds are unique",
                row.nickname, row.line
            );
        }
    }

    let non_billing = rows.iter().filter(|r| !r.is_billing()).count();
    eprintln!(
        "quay_operations.tsv: {} operations, {non_billing} outside billing",
        rows.len()
    );
    assert!(
        non_billing >= MIN_NON_BILLING,
        "only {non_billing} operations outside billing (at least {MIN_NON_BILLING} expected): \
         the list was truncated"
    );

    let yaml = all_routes_yaml(&rows);
    assert!(yaml.contains("FEATURE_SUPER_USERS: true\n"), "{yaml}");
    assert!(!yaml.contains("FEATURE_BILLING"), "{yaml}");
}

#[tokio::test]
async fn every_quay_operation_is_routed_or_deliberately_absent() {
    let rows = rows();
    let discovery = discovered(&all_routes_yaml(&rows)).await;

    let mut routed = 0;
    let mut absent: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut listed = BTreeSet::new();
    for row in &rows {
        let key = row.key();
        match (&row.status, discovery.get(&key)) {
            (Status::Routed, Some(id)) => {
                routed += 1;
                listed.insert(key.clone());
                if *id != row.nickname {
                    errors.push(format!(
                        "line {}: {} {}: discovery's operationId is {id}, Quay's nickname is {}",
                        row.line, key.0, key.1, row.nickname
                    ));
                }
            }
            (Status::Routed, None) => {
                listed.insert(key.clone());
                errors.push(format!(
                    "line {}: {} {} ({}) is marked routed but is not in discovery",
                    row.line, key.0, key.1, row.nickname
                ));
            }
            (Status::Absent(reason), None) => *absent.entry(reason.clone()).or_default() += 1,
            (Status::Absent(reason), Some(id)) => errors.push(format!(
                "line {}: {} {} ({id}) is routed but marked absent ({reason}); mark it routed",
                row.line, key.0, key.1
            )),
        }
    }

    let known: BTreeSet<(String, String)> = rows.iter().map(Row::key).collect();
    for (key, id) in &discovery {
        if !listed.contains(key) && !known.contains(key) {
            errors.push(format!(
                "{} {} ({id}) is in discovery but not in quay_operations.tsv (not a Quay \
                 operation, or Quay's path differs)",
                key.0, key.1
            ));
        }
    }

    let absent_total: usize = absent.values().sum();
    let billing = absent.get("billing").copied().unwrap_or(0);
    eprintln!(
        "Quay API coverage: {} operations ({} outside billing); routed {routed}; \
         absent {absent_total}: {absent:?}",
        rows.len(),
        rows.len() - billing,
    );
    assert!(
        errors.is_empty(),
        "coverage list out of date ({} problems):\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert_eq!(
        routed + absent_total,
        rows.len(),
        "every row is counted once"
    );
    assert_eq!(
        routed,
        discovery.len(),
        "discovery lists exactly the routed rows"
    );
    assert!(
        rows.len() - billing >= MIN_NON_BILLING,
        "only {} operations outside billing (at least {MIN_NON_BILLING} expected)",
        rows.len() - billing
    );
}
