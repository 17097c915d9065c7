//! Small value types shared by the typed configuration: Quay duration strings, size strings,
//! and the feature-flag truthiness rule.

use serde_json::Value;

/// Quay's duration pattern, as printed in validation messages.
pub const DURATION_PATTERN: &str = "^[0-9]+(w|m|d|h|s)$";
/// Quay's size pattern for `MAXIMUM_LAYER_SIZE`.
pub const SIZE_PATTERN: &str = "^[0-9]+(G|M)$";

/// A duration string such as `2w`, `30m`, `0s` (`^[0-9]+(w|m|d|h|s)$`; `m` is minutes).
///
/// The raw text is kept so that invalid values can be reported by validation rather than
/// rejected at load time (config-tool treats these as strings and pattern-checks them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationStr(pub String);

impl DurationStr {
    pub fn new(s: impl Into<String>) -> Self {
        DurationStr(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seconds, or `None` when the text does not match `^[0-9]+(w|m|d|h|s)$` or overflows.
    pub fn seconds(&self) -> Option<u64> {
        parse_duration_seconds(&self.0)
    }

    pub fn is_valid(&self) -> bool {
        self.seconds().is_some()
    }
}

/// Parse `^[0-9]+(w|m|d|h|s)$` into seconds.
pub fn parse_duration_seconds(s: &str) -> Option<u64> {
    let (digits, unit) = split_number_unit(s)?;
    let mult: u64 = match unit {
        'w' => 7 * 24 * 3600,
        'd' => 24 * 3600,
        'h' => 3600,
        'm' => 60,
        's' => 1,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// A size string such as `20G` or `512M` (`^[0-9]+(G|M)$`, binary multiples like nginx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeStr(pub String);

impl SizeStr {
    pub fn new(s: impl Into<String>) -> Self {
        SizeStr(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Bytes (`G` = 1024³, `M` = 1024²), or `None` when the text does not match the pattern.
    pub fn bytes(&self) -> Option<u64> {
        parse_size_bytes(&self.0)
    }

    pub fn is_valid(&self) -> bool {
        self.bytes().is_some()
    }
}

/// Parse `^[0-9]+(G|M)$` into bytes.
pub fn parse_size_bytes(s: &str) -> Option<u64> {
    let (digits, unit) = split_number_unit(s)?;
    let mult: u64 = match unit {
        'G' => 1024 * 1024 * 1024,
        'M' => 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

fn split_number_unit(s: &str) -> Option<(&str, char)> {
    let unit = s.chars().last()?;
    let digits = &s[..s.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits, unit))
}

/// Quay's feature-flag truthiness (`features/__init__.py`): a string is true only if it equals
/// `"true"` case-insensitively; anything else follows Python `bool()` (null and zero false,
/// non-zero numbers true, empty list/map false, non-empty true).
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i != 0
            } else if let Some(u) = n.as_u64() {
                u != 0
            } else {
                n.as_f64().is_some_and(|f| f != 0.0)
            }
        }
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A short human description of a JSON value's type, for error messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// Does `s` match Quay's hostname regex `^[a-zA-Z0-9.-]+(:[0-9]+)?$`?
pub fn is_hostname(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_parse_to_seconds() {
        assert_eq!(parse_duration_seconds("0s"), Some(0));
        assert_eq!(parse_duration_seconds("30m"), Some(1800));
        assert_eq!(parse_duration_seconds("2h"), Some(7200));
        assert_eq!(parse_duration_seconds("1d"), Some(86400));
        assert_eq!(parse_duration_seconds("2w"), Some(1_209_600));
        for bad in ["", "w", "1", "1y", "1.5h", "-1s", " 1s", "1s ", "1W", "1 s"] {
            assert_eq!(parse_duration_seconds(bad), None, "{bad:?}");
        }
        assert_eq!(parse_duration_seconds("99999999999999999999w"), None);
    }

    #[test]
    fn sizes_parse_to_bytes() {
        assert_eq!(parse_size_bytes("20G"), Some(20 * 1024 * 1024 * 1024));
        assert_eq!(parse_size_bytes("512M"), Some(512 * 1024 * 1024));
        for bad in ["20", "20g", "20GB", "G", "1.5G", "20K"] {
            assert_eq!(parse_size_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn truthiness_table() {
        let cases = [
            (json!(true), true),
            (json!(false), false),
            (json!(null), false),
            (json!("true"), true),
            (json!("TRUE"), true),
            (json!("True"), true),
            (json!("false"), false),
            (json!("yes"), false),
            (json!("1"), false),
            (json!("on"), false),
            (json!(""), false),
            (json!(" true"), false),
            (json!(1), true),
            (json!(0), false),
            (json!(-3), true),
            (json!(0.0), false),
            (json!(0.5), true),
            (json!([]), false),
            (json!([0]), true),
            (json!({}), false),
            (json!({"a": 1}), true),
        ];
        for (v, expected) in cases {
            assert_eq!(truthy(&v), expected, "{v}");
        }
    }

    #[test]
    fn hostname_regex() {
        for ok in [
            "quay.example.com",
            "localhost",
            "localhost:5000",
            "10.0.0.1:8443",
            "a-b.c",
        ] {
            assert!(is_hostname(ok), "{ok}");
        }
        for bad in [
            "",
            "https://quay.io",
            "quay.io/",
            "quay_io.com",
            "host:",
            "host:abc",
            "a b",
        ] {
            assert!(!is_hostname(bad), "{bad}");
        }
    }
}
