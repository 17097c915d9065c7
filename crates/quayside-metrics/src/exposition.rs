//! OpenMetrics text → Prometheus text format 0.0.4.
//!
//! The samples are identical; only the metadata differs: in 0.0.4 a counter's `# HELP` /
//! `# TYPE` name carries `_total` like its sample, `unknown` is spelled `untyped`, and there
//! are no `# UNIT` lines and no `# EOF` terminator. (No exemplars are recorded here.)

use std::collections::HashSet;

pub(crate) fn openmetrics_to_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, kind)| *kind == "counter")
        .map(|(name, _)| name)
        .collect();

    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = line
            .strip_prefix("# HELP ")
            .map(|r| ("HELP", r))
            .or_else(|| line.strip_prefix("# TYPE ").map(|r| ("TYPE", r)));
        match meta {
            Some((kind, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let tail = if kind == "TYPE" && tail == "unknown" {
                    "untyped"
                } else {
                    tail
                };
                out.push_str("# ");
                out.push_str(kind);
                out.push(' ');
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gain_total_in_metadata_and_eof_goes() {
        let om = "# HELP c help.\n# TYPE c counter\nc_total{a=\"b\"} 1\n\
                  # HELP g x.\n# TYPE g gauge\n# UNIT g bytes\ng 2\n\
                  # HELP u y.\n# TYPE u unknown\nu 3\n# EOF\n";
        let text = openmetrics_to_text(om);
        assert_eq!(
            text,
            "# HELP c_total help.\n# TYPE c_total counter\nc_total{a=\"b\"} 1\n\
             # HELP g x.\n# TYPE g gauge\ng 2\n\
             # HELP u y.\n# TYPE u untyped\nu 3\n"
        );
    }
}
