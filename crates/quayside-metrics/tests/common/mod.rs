//! A small, strict parser for the text exposition, shared by the integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use quayside_metrics::{AuthKind, Metrics, PullRef};

/// A series: sample name + sorted labels.
pub type SeriesKey = (String, BTreeMap<String, String>);

#[derive(Debug, Default)]
pub struct Exposition {
    /// Family name (as in `# TYPE`) → type.
    pub types: HashMap<String, String>,
    /// Every sample.
    pub samples: BTreeMap<SeriesKey, f64>,
}

impl Exposition {
    /// Sample names present (e.g. `quay_request_duration_seconds_bucket`).
    pub fn sample_names(&self) -> std::collections::BTreeSet<&str> {
        self.samples.keys().map(|(n, _)| n.as_str()).collect()
    }

    /// The value of one series; the labels must match exactly.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(&key(name, labels)).copied()
    }
}

pub fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

pub fn parse(text: &str) -> Exposition {
    let mut exp = Exposition::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line has a type");
            exp.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, labels, rest) = match line.find('{') {
            Some(open) => {
                let (labels, rest) = parse_labels(&line[open + 1..]);
                (&line[..open], labels, rest)
            }
            None => {
                let (name, rest) = line.split_once(' ').expect("sample has a value");
                (name, BTreeMap::new(), rest)
            }
        };
        let value = rest.trim().split(' ').next().expect("value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let previous = exp.samples.insert((name.to_owned(), labels), value);
        assert!(previous.is_none(), "duplicate series {line:?}");
    }
    exp
}

/// Parses `a="x",b="y\"z"} rest` → labels and `rest`.
fn parse_labels(s: &str) -> (BTreeMap<String, String>, &str) {
    let mut labels = BTreeMap::new();
    let mut chars = s.char_indices().peekable();
    loop {
        let Some(&(i, c)) = chars.peek() else {
            panic!("unterminated labels in {s:?}")
        };
        if c == '}' {
            return (labels, &s[i + 1..]);
        }
        if c == ',' {
            chars.next();
            continue;
        }
        let mut name = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            name.push(c);
        }
        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "label value opens");
        let mut value = String::new();
        while let Some((_, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name, value);
    }
}

/// What changed between two parses: series whose value differs (new series count from 0).
/// `process_*` samples are left out: they move by themselves.
pub fn diff(before: &Exposition, after: &Exposition) -> BTreeMap<SeriesKey, f64> {
    after
        .samples
        .iter()
        .filter(|((name, _), _)| !name.starts_with("process_"))
        .filter_map(|(k, v)| {
            let old = before.samples.get(k).copied().unwrap_or(0.0);
            (*v != old).then(|| (k.clone(), v - old))
        })
        .collect()
}

/// Exercises every family once, so each has at least one series in a scrape.
pub fn exercise_all(m: &Metrics) {
    m.observe_request("GET", "v2.download_blob", 200, "", 0.01);
    m.registry_pull(PullRef::Tag, 200);
    m.registry_push(201, "application/vnd.oci.image.manifest.v1+json");
    m.pulled_bytes(1);
    m.pushed_bytes(1);
    m.auth_attempt(AuthKind::Basic, true);
    m.set_rows(1, 1, 1, 1);
    drop(m.worker_operation("w", "op"));
    m.gc().table_rows_deleted("tag", 1);
}
