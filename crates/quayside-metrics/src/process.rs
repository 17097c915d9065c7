//! The standard `process_*` metrics, read from `/proc/self` at every scrape (Linux).
//!
//! Names and types follow the Prometheus client libraries' process collector, which is what
//! Quay's Python processes export (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, …). A value that cannot be read (another OS, a
//! restricted `/proc`) is left out of the scrape rather than reported as zero.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// One reading of the process's state. Every field is optional: each comes from its own file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ProcessSnapshot {
    pub cpu_seconds: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
    pub virtual_memory_bytes: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
}

/// Fields of `/proc/<pid>/stat` after the `(comm)` field, which may itself contain spaces
/// and parentheses: the text after the **last** `)`.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, after) = stat.rsplit_once(')')?;
    Some(after.split_whitespace().collect())
}

/// Parses `/proc/self/stat` (+ `btime` from `/proc/stat`) into CPU, memory and start time.
pub(crate) fn parse_stat(
    stat: &str,
    btime: Option<f64>,
    ticks_per_second: f64,
    page_size: f64,
) -> ProcessSnapshot {
    let mut snap = ProcessSnapshot::default();
    let Some(fields) = stat_fields(stat) else {
        return snap;
    };
    // After `(comm)`: index 0 is field 3 (`state`); field N is at index N - 3.
    let field = |n: usize| -> Option<f64> { fields.get(n - 3)?.parse::<f64>().ok() };
    if ticks_per_second > 0.0 {
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            snap.cpu_seconds = Some((utime + stime) / ticks_per_second);
        }
        if let (Some(start), Some(btime)) = (field(22), btime) {
            snap.start_time_seconds = Some(btime + start / ticks_per_second);
        }
    }
    snap.virtual_memory_bytes = field(23);
    snap.resident_memory_bytes = field(24).map(|pages| pages * page_size);
    snap
}

/// `btime <seconds>` from `/proc/stat`.
pub(crate) fn parse_btime(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of `Max open files` from `/proc/self/limits` (`unlimited` → none).
pub(crate) fn parse_max_fds(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .strip_prefix("Max open files")?
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

fn read_snapshot() -> ProcessSnapshot {
    let btime = std::fs::read_to_string("/proc/stat")
        .ok()
        .as_deref()
        .and_then(parse_btime);
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as f64;
    let mut snap = std::fs::read_to_string("/proc/self/stat")
        .map(|s| parse_stat(&s, btime, ticks, page))
        .unwrap_or_default();
    snap.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| dir.count() as f64);
    snap.max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .as_deref()
        .and_then(parse_max_fds);
    snap
}

/// Collector that reads `/proc/self` on each scrape.
#[derive(Debug, Default)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = read_snapshot();
        if let Some(v) = snap.cpu_seconds {
            let c = ConstCounter::new(v);
            let m = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                c.metric_type(),
            )?;
            c.encode(m)?;
        }
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                snap.resident_memory_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                snap.virtual_memory_bytes,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                snap.start_time_seconds,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                snap.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                snap.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let g = ConstGauge::new(v);
                let m = encoder.encode_descriptor(name, help, None, g.metric_type())?;
                g.encode(m)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Field 3 onwards of a real-looking stat line; comm has a space and a parenthesis.
    const STAT: &str = "4242 (quay side) R 1 4242 4242 0 -1 4194304 1000 0 0 0 \
        250 150 0 0 20 0 8 0 12345 104857600 2560 18446744073709551615 0 0 0";

    #[test]
    fn stat_is_parsed_after_the_last_paren() {
        let snap = parse_stat(STAT, Some(1_700_000_000.0), 100.0, 4096.0);
        assert_eq!(snap.cpu_seconds, Some(4.0));
        assert_eq!(snap.start_time_seconds, Some(1_700_000_000.0 + 123.45));
        assert_eq!(snap.virtual_memory_bytes, Some(104_857_600.0));
        assert_eq!(snap.resident_memory_bytes, Some(2560.0 * 4096.0));
    }

    #[test]
    fn garbage_stat_gives_nothing() {
        assert_eq!(
            parse_stat("no parens here", Some(1.0), 100.0, 4096.0),
            ProcessSnapshot::default()
        );
        let short = parse_stat("1 (x) R 1", None, 100.0, 4096.0);
        assert_eq!(short, ProcessSnapshot::default());
    }

    #[test]
    fn btime_and_limits() {
        assert_eq!(
            parse_btime("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000.0)
        );
        assert_eq!(parse_btime("cpu 1\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_max_fds(limits), Some(1024.0));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_fds(unlimited), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_snapshot_reads_this_process() {
        let snap = read_snapshot();
        assert!(snap.resident_memory_bytes.is_some_and(|v| v > 0.0));
        assert!(snap.open_fds.is_some_and(|v| v >= 1.0));
        assert!(snap.cpu_seconds.is_some_and(|v| v >= 0.0));
        assert!(snap.start_time_seconds.is_some_and(|v| v > 1_000_000_000.0));
    }
}
