//! A stored audit row's canonical text, built here from its columns rather
//! than read from the database's `audit_canonical()`: someone who owns the
//! database could replace that function so an edited row still shows its
//! old text. Byte for byte what `audit_canonical` returns (jsonb's text
//! form of an array); the detail comes as PostgreSQL's own text of the
//! jsonb value, which no SQL function can change.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The columns a row's hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditColumns {
    pub chain_seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: Option<String>,
    pub action: String,
    pub supplement_id: Option<Uuid>,
    pub application_id: Option<String>,
    pub unit: Option<String>,
    /// `detail::text`.
    pub detail_json: String,
}

impl AuditColumns {
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(160 + self.detail_json.len());
        out.push('[');
        out.push_str(&self.chain_seq.to_string());
        out.push_str(", ");
        string(
            &mut out,
            &self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        );
        out.push_str(", ");
        string(&mut out, &self.actor);
        for value in [
            self.role.as_deref(),
            Some(self.action.as_str()),
            self.supplement_id
                .map(|u| u.hyphenated().to_string())
                .as_deref(),
            self.application_id.as_deref(),
            self.unit.as_deref(),
        ] {
            out.push_str(", ");
            match value {
                Some(v) => string(&mut out, v),
                None => out.push_str("null"),
            }
        }
        out.push_str(", ");
        out.push_str(&self.detail_json);
        out.push(']');
        out
    }
}

/// A JSON string as PostgreSQL writes it (`escape_json`): the two-letter
/// escapes, other control characters as `\u00xx`, everything else as is.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What PostgreSQL 15 printed for `jsonb_build_array(...)::text` of
    /// these values (see `migrations/*_audit_chain.sql`).
    #[test]
    fn matches_what_postgresql_writes() {
        let row = AuditColumns {
            chain_seq: 7,
            at: DateTime::parse_from_rfc3339("2026-11-28T03:55:01.123456Z")
                .expect("valid")
                .with_timezone(&Utc),
            actor: "ai\"no\\ \n\t\u{1} ä".into(),
            role: None,
            action: "read".into(),
            supplement_id: Some(
                Uuid::parse_str("0191d3c4-0000-7000-8000-000000000001").expect("uuid"),
            ),
            application_id: None,
            unit: Some("unit".into()),
            detail_json: r#"{"a": {"z": true}, "b": 1, "aa": [1.50, null, "x"]}"#.into(),
        };
        assert_eq!(
            row.canonical(),
            r#"[7, "2026-11-28T03:55:01.123456Z", "ai\"no\\ \n\t\u0001 ä", null, "read", "0191d3c4-0000-7000-8000-000000000001", null, "unit", {"a": {"z": true}, "b": 1, "aa": [1.50, null, "x"]}]"#
        );
    }

    #[test]
    fn whole_seconds_keep_six_digits() {
        let row = AuditColumns {
            chain_seq: 1,
            at: DateTime::from_timestamp(1_795_000_000, 0).expect("valid"),
            actor: "a".into(),
            role: Some("caseworker".into()),
            action: "b".into(),
            supplement_id: None,
            application_id: Some("MIG-2026-100001-9".into()),
            unit: None,
            detail_json: "{}".into(),
        };
        assert!(row.canonical().contains(".000000Z"), "{}", row.canonical());
    }
}
