//! Rules of the ingest gateway that need no I/O: what a valid submission
//! is, where its bytes are stored, and what a retried request gets.

mod enter_finland;
mod idempotency;
mod mail_head;
mod orphans;

pub use enter_finland::{FieldError, Submission, parse_submission};
pub use idempotency::{Claim, ClaimDecision, ClaimState, decide_claim, mail_key};
pub use mail_head::{
    MAX_HEAD_BYTES, MAX_MESSAGE_ID_BYTES, MailHead, MailHeadError, head_end, parse_mail_head,
};
pub use orphans::{Recorded, Stored, is_orphan};

use uuid::Uuid;

/// Object key of one part stored by one attempt of a request. Each attempt
/// (a first try, or a retry that takes over a stalled claim) writes under
/// its own prefix, so a retry never overwrites or deletes what an earlier
/// attempt's event (which the broker may hold) points to; `.age` says how
/// the bytes are sealed.
pub fn object_key(supplement_id: Uuid, attempt: Uuid, part: &str) -> String {
    format!("supplements/{supplement_id}/{attempt}/{part}.age")
}

/// Object key of a part the worker derives from a supplement (the message
/// text, files unpacked from an e-mail). No attempt segment: the worker
/// names its own run in `part` where it needs to.
pub fn derived_key(supplement_id: Uuid, part: &str) -> String {
    format!("supplements/{supplement_id}/{part}.age")
}

/// The supplement and attempt of an object the gateway stored, or `None`
/// for any other key (derived parts, foreign objects).
pub fn attempt_of(key: &str) -> Option<(Uuid, Uuid)> {
    let rest = key.strip_prefix("supplements/")?;
    let mut segments = rest.split('/');
    let supplement = segments.next()?.parse().ok()?;
    let attempt = segments.next()?.parse().ok()?;
    let _part = segments.next().filter(|p| !p.is_empty())?;
    segments.next().is_none().then_some((supplement, attempt))
}

/// Longest e-mail address kept (RFC 5321's path limit is 256; 320 leaves
/// room for what servers accept anyway).
pub const MAX_ADDRESS_BYTES: usize = 320;

/// An envelope sender as every service compares it: control and bidi
/// characters removed, capped, lower case; `None` when empty (a bounce).
pub fn envelope_sender(raw: &str) -> Option<String> {
    Some(crate::decide::clean_text(raw, MAX_ADDRESS_BYTES).to_lowercase()).filter(|s| !s.is_empty())
}

/// The CloudEvents id of a supplement's inbound event. Derived, not random,
/// so a retried request re-produces the same id and the worker's
/// processed-event table absorbs the copy.
pub fn inbound_event_id(supplement_id: Uuid) -> Uuid {
    Uuid::new_v5(&supplement_id, b"intake.inbound.v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_parts_by_supplement_and_attempt() {
        let id = Uuid::from_u128(42);
        let attempt = Uuid::from_u128(7);
        let key = object_key(id, attempt, "message");
        assert_eq!(key, format!("supplements/{id}/{attempt}/message.age"));
        assert_eq!(attempt_of(&key), Some((id, attempt)));
        assert_ne!(key, object_key(id, Uuid::from_u128(8), "message"));
    }

    #[test]
    fn senders_compare_lower_case_without_controls() {
        assert_eq!(
            envelope_sender(" Anna@Example.FI\u{202E}\0").as_deref(),
            Some("anna@example.fi")
        );
        assert_eq!(envelope_sender(""), None);
        assert_eq!(envelope_sender("\u{200F}"), None);
        assert!(envelope_sender(&"a".repeat(5000)).expect("kept").len() <= MAX_ADDRESS_BYTES);
    }

    #[test]
    fn only_gateway_keys_have_an_attempt() {
        let id = Uuid::from_u128(42);
        assert_eq!(attempt_of(&derived_key(id, "text")), None);
        for foreign in [
            "",
            "supplements/",
            "supplements/not-a-uuid/00000000-0000-0000-0000-000000000007/m.age",
            &format!("supplements/{id}/00000000-0000-0000-0000-000000000007/"),
            &format!("supplements/{id}/00000000-0000-0000-0000-000000000007/a/b.age"),
            &format!("other/{id}/00000000-0000-0000-0000-000000000007/m.age"),
        ] {
            assert_eq!(attempt_of(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn event_ids_are_stable_per_supplement_and_distinct_across() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(inbound_event_id(a), inbound_event_id(a));
        assert_ne!(inbound_event_id(a), inbound_event_id(b));
        assert_ne!(inbound_event_id(a), a);
    }
}
