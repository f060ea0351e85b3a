//! Ids derived from the supplement id rather than drawn at random, so that
//! redoing a supplement after a crash writes the very same rows, objects
//! and events, and every later step can recognise the repeat.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Crockford's base-32 alphabet: no I, L, O or U, so a reference read out
/// over the phone is not misheard.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The reference an applicant quotes, e.g. `R-7Q2MK-8TD4W`: 50 bits, so
/// collisions stay improbable over tens of millions of supplements.
pub fn receipt_reference(supplement_id: Uuid) -> String {
    let digest = Sha256::new()
        .chain_update(b"intake.reference.v1\0")
        .chain_update(supplement_id.as_bytes())
        .finalize();
    let bits = digest[..8]
        .iter()
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    let chars: String = (0..10)
        .map(|i| ALPHABET[((bits >> (59 - 5 * i)) & 31) as usize] as char)
        .collect();
    format!("R-{}-{}", &chars[..5], &chars[5..])
}

pub fn receipt_id(supplement_id: Uuid) -> Uuid {
    Uuid::new_v5(&supplement_id, b"intake.receipt.v1")
}

/// The CloudEvents id of an event the worker publishes about a supplement;
/// `what` names the event and, for per-part events, the part.
pub fn outbox_event_id(supplement_id: Uuid, what: &str) -> Uuid {
    Uuid::new_v5(&supplement_id, format!("intake.outbox.{what}").as_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn references_are_stable_and_readable() {
        let id = Uuid::from_u128(7);
        let reference = receipt_reference(id);
        assert_eq!(reference, receipt_reference(id));
        assert_eq!(reference.len(), 13);
        assert!(reference.starts_with("R-"));
        assert!(
            reference[2..]
                .bytes()
                .all(|b| b == b'-' || ALPHABET.contains(&b))
        );
    }

    #[test]
    fn references_differ_between_supplements() {
        let refs: HashSet<String> = (0..10_000u128)
            .map(|n| receipt_reference(Uuid::from_u128(n)))
            .collect();
        assert_eq!(refs.len(), 10_000);
    }

    #[test]
    fn derived_ids_differ_by_purpose() {
        let id = Uuid::from_u128(1);
        let ids: HashSet<Uuid> = [
            receipt_id(id),
            outbox_event_id(id, "routed"),
            outbox_event_id(id, "quarantined.0"),
            outbox_event_id(id, "quarantined.1"),
        ]
        .into();
        assert_eq!(ids.len(), 4);
        assert_eq!(receipt_id(id), receipt_id(id));
    }
}
