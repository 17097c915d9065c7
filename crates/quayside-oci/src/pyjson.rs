//! JSON written byte-for-byte as Python's `json.dumps` writes it, because Quay stores,
//! signs and serves what Python wrote: `ensure_ascii` escaping (non-ASCII as `\uXXXX`
//! UTF-16 units), and either Python's default separators in insertion order (how Quay's
//! `JSONField` columns hold values) or Flask's compact, key-sorted form (API bodies).

use serde_json::Value;

/// How objects and arrays are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `json.dumps(v)`: `", "` and `": "`, keys in the value's own order.
    Python,
    /// Flask's `DefaultJSONProvider`: `","` and `":"`, keys sorted.
    FlaskCompact,
}

/// `value` as Python writes it in `style`.
pub fn dumps(value: &Value, style: Style) -> String {
    let mut out = String::new();
    write_value(&mut out, value, style);
    out
}

fn write_value(out: &mut String, value: &Value, style: Style) {
    let (item_sep, key_sep) = match style {
        Style::Python => (", ", ": "),
        Style::FlaskCompact => (",", ":"),
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                write_value(out, item, style);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if style == Style::FlaskCompact {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                write_str(out, k);
                out.push_str(key_sep);
                write_value(out, v, style);
            }
            out.push('}');
        }
    }
}

/// A JSON string as `json.dumps(s, ensure_ascii=True)` writes it.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_styles_escape_as_python() {
        let v = json!({"z": [1, true, null], "a": "é\"\n\u{1F600}"});
        // serde_json's map keeps keys sorted, so both styles list "a" first.
        assert_eq!(
            dumps(&v, Style::Python),
            r#"{"a": "\u00e9\"\n\ud83d\ude00", "z": [1, true, null]}"#
        );
        assert_eq!(
            dumps(&v, Style::FlaskCompact),
            r#"{"a":"\u00e9\"\n\ud83d\ude00","z":[1,true,null]}"#
        );
    }
}
