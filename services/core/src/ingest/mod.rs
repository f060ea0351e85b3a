//! Rules of the ingest gateway that need no I/O: what a valid submission
//! is, where its bytes are stored, and what a retried request gets.

mod enter_finland;
mod idempotency;
mod mail_head;

pub use enter_finland::{FieldError, Submission, parse_submission};
pub use idempotency::{Claim, ClaimDecision, ClaimState, decide_claim, mail_key};
pub use mail_head::{
    MAX_HEAD_BYTES, MAX_MESSAGE_ID_BYTES, MailHead, MailHeadError, head_end, parse_mail_head,
};

use uuid::Uuid;

/// Object key of one stored part of a supplement. Keys group a
/// supplement's parts under one prefix, so it can be listed or removed
/// as a whole; `.age` says how the bytes are sealed.
pub fn object_key(supplement_id: Uuid, part: &str) -> String {
    format!("supplements/{supplement_id}/{part}.age")
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
    fn keys_group_parts_by_supplement() {
        let id = Uuid::from_u128(42);
        assert_eq!(
            object_key(id, "message"),
            format!("supplements/{id}/message.age")
        );
        assert!(object_key(id, "attachment-0").starts_with(&format!("supplements/{id}/")));
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
