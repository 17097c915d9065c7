//! The harness end to end in `--smoke` mode: the debug `quayside` binary
//! (built by `cargo test --workspace`, since `quayside` is a workspace member
//! with integration tests) against the real `docker-registry`. It checks the
//! harness works, never how fast anything is.

use std::path::PathBuf;
use std::process::Command;

/// `target/debug/quayside`: next to this crate's own binary (which follows
/// `CARGO_TARGET_DIR`), else under the workspace's `target/`.
fn quayside_bin() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_quayside-bench"));
    let beside = bench.with_file_name("quayside");
    if beside.is_file() {
        return beside;
    }
    let in_workspace =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/quayside");
    assert!(
        in_workspace.is_file(),
        "the debug quayside binary is missing (looked at {} and {}): run \
         `cargo build -p quayside` or `cargo test --workspace`, which builds it",
        beside.display(),
        in_workspace.display()
    );
    in_workspace
}

const ROWS: &[&str] = &[
    "blob upload monolithic (POST + PUT), 4 KiB",
    "blob upload monolithic (POST + PUT), 64 KiB",
    "blob upload monolithic (POST + PUT), 256 KiB",
    "blob upload monolithic (single POST ?digest=), 4 KiB",
    "blob upload chunked (64 KiB PATCHes), 4 KiB",
    "blob upload chunked (64 KiB PATCHes), 64 KiB",
    "blob upload chunked (64 KiB PATCHes), 256 KiB",
    "blob download, 4 KiB",
    "blob download, 64 KiB",
    "blob download, 256 KiB",
    "manifest GET by tag, concurrency 1",
    "manifest GET by tag, concurrency 16",
    "manifest GET by tag, concurrency 64",
    "manifest HEAD by tag, concurrency 1",
    "manifest HEAD by tag, concurrency 16",
    "manifest HEAD by tag, concurrency 64",
    "tags/list, 30 tags, p50",
    "/api/v1/repository/<repo>, p50",
    "server idle RSS (after start)",
    "server peak RSS (VmHWM, whole run)",
];

/// Rows where both servers must have a positive number.
fn both_measured(label: &str) -> bool {
    !label.starts_with("/api/v1") && !label.contains("single POST")
}

#[test]
fn smoke_run_reports_every_row() {
    let quayside = quayside_bin();
    let registry =
        std::env::var("QUAYSIDE_BENCH_REGISTRY").unwrap_or_else(|_| "docker-registry".into());
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = out_dir.path().join("bench.md");
    let output = Command::new(env!("CARGO_BIN_EXE_quayside-bench"))
        .arg("--smoke")
        .arg("--quayside")
        .arg(&quayside)
        .arg("--registry")
        .arg(&registry)
        .arg("--out")
        .arg(&out)
        .arg("--work-dir")
        .arg(out_dir.path())
        .output()
        .expect("run quayside-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "quayside-bench --smoke failed ({}); a missing docker-registry fails this test \
         (apt-get install docker-registry):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let report = std::fs::read_to_string(&out).expect("--out file");
    assert_eq!(report.trim(), stdout.trim(), "--out holds what was printed");

    let rows: Vec<Vec<String>> = report
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| measurement"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    for label in ROWS {
        let row = rows
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(label))
            .unwrap_or_else(|| panic!("no row {label:?} in:\n{report}"));
        assert_eq!(row.len(), 6, "{label}: {row:?}");
        let number = |cell: &str| cell.parse::<f64>().ok().filter(|v| *v > 0.0);
        if both_measured(label) {
            assert!(
                number(&row[2]).is_some(),
                "{label}: quayside {:?}\n{report}",
                row[2]
            );
            assert!(
                number(&row[3]).is_some(),
                "{label}: distribution {:?}\n{report}",
                row[3]
            );
            let ratio = row[4].trim_end_matches('×');
            assert!(
                number(ratio).is_some(),
                "{label}: ratio {:?}\n{report}",
                row[4]
            );
        }
    }
    // The bare sendfile server was measured every run and set against both registries.
    assert!(
        report.contains("Download reference: the same client fetching a 256 KiB file")
            && report.contains("Medians against it: bare server "),
        "no download reference line in:\n{report}"
    );
    // quayside takes a single POST; distribution 2.8 answers it with 202.
    let single = rows
        .iter()
        .find(|r| r[0].contains("single POST"))
        .expect("single POST row");
    assert!(
        single[2].parse::<f64>().is_ok_and(|v| v > 0.0),
        "{single:?}"
    );
    let api = rows
        .iter()
        .find(|r| r[0].starts_with("/api/v1"))
        .expect("api row");
    assert!(
        api[2].starts_with("n/a (API not implemented")
            || api[2].parse::<f64>().is_ok_and(|v| v > 0.0),
        "{api:?}"
    );
}

/// `--storage s3` in smoke mode: both registries on one Garage server (which `.ci/run`
/// builds; a missing Garage fails this test), every blob row measured for both, and the S3
/// server's own rate printed as the reference.
#[test]
fn smoke_run_on_s3_measures_both_registries() {
    let quayside = quayside_bin();
    let registry =
        std::env::var("QUAYSIDE_BENCH_REGISTRY").unwrap_or_else(|_| "docker-registry".into());
    let out_dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_quayside-bench"))
        .args(["--smoke", "--storage", "s3", "--only", "blobs"])
        .arg("--quayside")
        .arg(&quayside)
        .arg("--registry")
        .arg(&registry)
        .arg("--work-dir")
        .arg(out_dir.path())
        .output()
        .expect("run quayside-bench");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "quayside-bench --smoke --storage s3 failed ({}):\nstdout:\n{report}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains("`S3Storage` on a Garage bucket"),
        "{report}"
    );
    for label in ROWS
        .iter()
        .filter(|l| l.starts_with("blob ") && both_measured(l))
    {
        let row: Vec<&str> = report
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label:?} in:\n{report}"))
            .trim_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        for cell in [row[2], row[3]] {
            assert!(
                cell.parse::<f64>().is_ok_and(|v| v > 0.0),
                "{label}: {row:?}\n{report}"
            );
        }
    }
    assert!(
        report.contains("S3 reference, no registry involved") && report.contains("PUT "),
        "{report}"
    );
}
