//! JSON bodies exactly as Quay's Flask 2.3 writes them (`DefaultJSONProvider`): keys
//! sorted, compact separators, `ensure_ascii` escaping, a trailing newline, and
//! `Content-Type: application/json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Python truthiness (`bool(value)`) of a JSON value, as Quay's handlers test request fields
/// and stored JSON.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A response with `value` rendered as Flask renders it.
pub(crate) fn response(status: StatusCode, value: &Value) -> Response {
    let mut body = String::new();
    write_value(&mut body, value);
    body.push('\n');
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Python's `json.dumps(s, ensure_ascii=True)`.
fn write_str(out: &mut String, s: &str) {
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

    #[test]
    fn python_truthiness() {
        for (v, t) in [
            (serde_json::json!(true), true),
            (serde_json::json!(false), false),
            (serde_json::json!(null), false),
            (serde_json::json!(1), true),
            (serde_json::json!(0), false),
            (serde_json::json!(0.0), false),
            (serde_json::json!("false"), true),
            (serde_json::json!(""), false),
            (serde_json::json!([]), false),
            (serde_json::json!({"a": 1}), true),
        ] {
            assert_eq!(truthy(&v), t, "{v}");
        }
    }

    fn render(v: &Value) -> String {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }

    #[test]
    fn flask_rendering() {
        let v = serde_json::json!({
            "username": "quayadmin",
            "email": null,
            "access_token": "X",
            "encrypted_password": "a/b+c=",
            "n": [1, true],
        });
        assert_eq!(
            render(&v),
            r#"{"access_token":"X","email":null,"encrypted_password":"a/b+c=","n":[1,true],"username":"quayadmin"}"#
        );
        assert_eq!(
            render(&Value::from("é\u{1F600}\"\u{1}")),
            r#""\u00e9\ud83d\ude00\"\u0001""#
        );
    }
}
