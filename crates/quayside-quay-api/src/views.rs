//! Pieces of Quay's JSON views shared by many endpoints: avatars and dates.

use chrono::NaiveDateTime;
use md5::{Digest, Md5};
use serde_json::{json, Value};

/// Quay's `AVATAR_COLORS` (an immutable setting).
const AVATAR_COLORS: [&str; 32] = [
    "#969696", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
    "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
    "#bcbd22", "#1f77b4", "#17becf", "#9edae5", "#393b79", "#5254a3", "#6b6ecf", "#9c9ede",
    "#9ecae1", "#31a354", "#b5cf6b", "#a1d99b", "#8c6d31", "#ad494a", "#e7ba52", "#a55194",
];

/// Quay's avatar block (`avatars.py:get_data`): `hash` is the MD5 hex of the trimmed,
/// lower-cased e-mail (or the name when there is none), `color` is picked by the
/// hash's first hex digits (`ceil(log16(#colors))` of them).
pub fn avatar(name: &str, email_or_id: Option<&str>, kind: &str) -> Value {
    let source = email_or_id.filter(|e| !e.is_empty()).unwrap_or(name);
    let hash = hex::encode(Md5::digest(source.trim().to_lowercase().as_bytes()));
    let digits = ((AVATAR_COLORS.len() as f64).log(16.0)).ceil() as usize;
    let index =
        usize::from_str_radix(&hash[..digits.max(1)], 16).unwrap_or(0) % AVATAR_COLORS.len();
    json!({
        "name": name,
        "hash": hash,
        "color": AVATAR_COLORS[index],
        "kind": kind,
    })
}

/// Avatar of a user or robot account row.
pub fn account_avatar(a: &quayside_meta::identity::AccountRow) -> Value {
    let kind = if a.robot { "robot" } else { "user" };
    avatar(&a.username, Some(a.email.as_str()), kind)
}

/// Avatar of a team (`get_data_for_team`: the name stands for the e-mail).
pub fn team_avatar(name: &str) -> Value {
    avatar(name, Some(name), "team")
}

/// RFC 2822 as Quay's `format_date` writes it: `Tue, 14 Nov 2023 22:13:20 -0000`.
pub fn format_date(t: NaiveDateTime) -> String {
    t.format("%a, %d %b %Y %H:%M:%S -0000").to_string()
}

/// [`format_date`] of an optional time, `null` when absent.
pub fn opt_date(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::from(format_date(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatar_of_an_email() {
        let a = avatar("alice", Some(" Alice@Example.com "), "user");
        // md5("alice@example.com")
        assert_eq!(a["hash"], "c160f8cc69a4f0bf2b0362752353d060");
        // first two hex digits 0xc1 = 193; 193 % 32 = 1
        assert_eq!(a["color"], "#aec7e8");
        assert_eq!(a["kind"], "user");
        let t = avatar("owners", Some("owners"), "team");
        assert_eq!(t["name"], "owners");
    }

    #[test]
    fn rfc2822_dates() {
        let t = chrono::NaiveDate::from_ymd_opt(2023, 11, 14)
            .and_then(|d| d.and_hms_opt(22, 13, 20))
            .expect("date");
        assert_eq!(format_date(t), "Tue, 14 Nov 2023 22:13:20 -0000");
    }
}
