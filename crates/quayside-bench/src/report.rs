//! Samples per measurement, medians, and the Markdown table.

use std::fmt::Write as _;

/// Which way a number is good.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// One server's figure for one measurement: samples (one per run) or a
/// reason there is no number.
#[derive(Clone)]
pub enum Cell {
    Samples(Vec<f64>),
    NotApplicable(String),
}

impl Cell {
    pub fn median(&self) -> Option<f64> {
        match self {
            Cell::Samples(s) if !s.is_empty() => {
                let mut v = s.clone();
                v.sort_by(f64::total_cmp);
                let n = v.len();
                Some(if n % 2 == 1 {
                    v[n / 2]
                } else {
                    (v[n / 2 - 1] + v[n / 2]) / 2.0
                })
            }
            _ => None,
        }
    }
}

pub struct Row {
    pub label: String,
    pub unit: &'static str,
    pub better: Better,
    /// quayside, distribution.
    pub cells: [Cell; 2],
}

/// Rows in the order they were first recorded.
#[derive(Default)]
pub struct Results {
    pub rows: Vec<Row>,
}

impl Results {
    fn row(&mut self, label: &str, unit: &'static str, better: Better) -> &mut Row {
        let i = match self.rows.iter().position(|r| r.label == label) {
            Some(i) => i,
            None => {
                self.rows.push(Row {
                    label: label.to_string(),
                    unit,
                    better,
                    cells: [Cell::Samples(Vec::new()), Cell::Samples(Vec::new())],
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[i]
    }

    /// Adds one sample for server `which` (0 quayside, 1 distribution).
    pub fn add(&mut self, label: &str, unit: &'static str, better: Better, which: usize, v: f64) {
        let row = self.row(label, unit, better);
        if let Cell::Samples(s) = &mut row.cells[which] {
            s.push(v);
        }
    }

    /// Marks server `which` as having no number for this row.
    pub fn not_applicable(
        &mut self,
        label: &str,
        unit: &'static str,
        better: Better,
        which: usize,
        why: &str,
    ) {
        let row = self.row(label, unit, better);
        row.cells[which] = Cell::NotApplicable(why.to_string());
    }

    /// The Markdown table: medians, ratio quayside / distribution, and which
    /// direction is better.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| measurement | unit | quayside | distribution | quayside / distribution | better |\n",
        );
        out.push_str("|---|---|---:|---:|---:|---|\n");
        for r in &self.rows {
            let q = r.cells[0].median();
            let d = r.cells[1].median();
            let ratio = match (q, d) {
                (Some(q), Some(d)) if d > 0.0 => format!("{:.2}×", q / d),
                _ => "n/a".to_string(),
            };
            let better = match r.better {
                Better::Higher => "higher",
                Better::Lower => "lower",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.label,
                r.unit,
                cell_text(&r.cells[0]),
                cell_text(&r.cells[1]),
                ratio,
                better
            );
        }
        out
    }
}

fn cell_text(c: &Cell) -> String {
    match (c, c.median()) {
        (Cell::NotApplicable(why), _) => format!("n/a ({why})"),
        (_, Some(m)) => format_number(m),
        _ => "n/a (not measured)".to_string(),
    }
}

fn format_number(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratio() {
        let mut r = Results::default();
        for v in [3.0, 1.0, 2.0] {
            r.add("x", "MB/s", Better::Higher, 0, v);
        }
        r.add("x", "MB/s", Better::Higher, 1, 4.0);
        r.add("x", "MB/s", Better::Higher, 1, 2.0);
        r.not_applicable("api", "ms", Better::Lower, 0, "API not implemented");
        r.not_applicable("api", "ms", Better::Lower, 1, "no such API");
        let md = r.markdown();
        assert!(
            md.contains("| x | MB/s | 2.00 | 3.00 | 0.67× | higher |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| api | ms | n/a (API not implemented) | n/a (no such API) | n/a | lower |"
            ),
            "{md}"
        );
    }
}
