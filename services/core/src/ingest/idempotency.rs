//! What a request gets when its idempotency key was seen before.
//!
//! A request first claims its key. The claim fixes the supplement id, so a
//! retry after a crash stores under the same keys and produces the same
//! event id instead of a second supplement.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The key a Securemail delivery is deduplicated by when the caller gives
/// none: its envelope sender, its Message-ID and the digest of its whole
/// header section. A true retry of one message repeats all three; another
/// message that reuses the Message-ID (a broken mail client, or a
/// stranger) differs in its headers and is a supplement of its own. Hashed,
/// so a Message-ID of any length makes a key of 64 characters.
pub fn mail_key(sender: &str, message_id: &str, head: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [
        sender.trim().to_ascii_lowercase().as_bytes(),
        message_id.trim().as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(Sha256::digest(head));
    format!("mail:{}", hex_lower(&hash.finalize()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// A request is storing the supplement, or died doing so.
    InProgress,
    /// The event was produced and the answer given.
    Accepted,
}

/// The stored claim on one (channel, idempotency key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub supplement_id: Uuid,
    pub state: ClaimState,
    pub claimed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Already accepted: answer as before, store and produce nothing.
    Replay { supplement_id: Uuid },
    /// Another request holds the key right now: ask the caller to retry.
    Busy,
    /// The holder has been silent too long (it crashed): take over and
    /// redo the work under the same supplement id.
    TakeOver { supplement_id: Uuid },
}

/// Decides about an existing claim. `stale_after` must exceed the longest
/// time a healthy request takes (a 400 MB upload on a slow link).
pub fn decide_claim(existing: &Claim, now: DateTime<Utc>, stale_after: Duration) -> ClaimDecision {
    match existing.state {
        ClaimState::Accepted => ClaimDecision::Replay {
            supplement_id: existing.supplement_id,
        },
        ClaimState::InProgress => {
            let held = (now - existing.claimed_at)
                .to_std()
                .unwrap_or(Duration::ZERO);
            if held >= stale_after {
                ClaimDecision::TakeOver {
                    supplement_id: existing.supplement_id,
                }
            } else {
                ClaimDecision::Busy
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn only_a_true_retry_shares_a_mail_key() {
        let head = b"From: a@b.fi\r\nMessage-ID: <1@b.fi>\r\nSubject: x\r\n\r\n";
        let key = mail_key("a@b.fi", "<1@b.fi>", head);
        assert_eq!(key, mail_key("A@B.fi ", "<1@b.fi>", head));
        // Same Message-ID, other message.
        let other = b"From: a@b.fi\r\nMessage-ID: <1@b.fi>\r\nSubject: y\r\n\r\n";
        assert_ne!(key, mail_key("a@b.fi", "<1@b.fi>", other));
        // Same message from another sender.
        assert_ne!(key, mail_key("c@d.fi", "<1@b.fi>", head));
        // Sender and id cannot be shifted into each other.
        assert_ne!(mail_key("ab", "c", head), mail_key("a", "bc", head));
        let long = format!("<{}@b.fi>", "x".repeat(100_000));
        assert_eq!(mail_key("a@b.fi", &long, head).len(), 5 + 64);
    }

    const STALE: Duration = Duration::from_secs(900);

    fn claim(state: ClaimState, age_secs: i64, now: DateTime<Utc>) -> Claim {
        Claim {
            supplement_id: Uuid::from_u128(7),
            state,
            claimed_at: now - chrono::Duration::seconds(age_secs),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn an_accepted_claim_is_replayed_however_old() {
        for age in [0, 10, 86_400 * 30] {
            assert_eq!(
                decide_claim(&claim(ClaimState::Accepted, age, now()), now(), STALE),
                ClaimDecision::Replay {
                    supplement_id: Uuid::from_u128(7)
                }
            );
        }
    }

    #[test]
    fn a_live_claim_is_busy_and_a_stale_one_is_taken_over() {
        assert_eq!(
            decide_claim(&claim(ClaimState::InProgress, 5, now()), now(), STALE),
            ClaimDecision::Busy
        );
        assert_eq!(
            decide_claim(&claim(ClaimState::InProgress, 899, now()), now(), STALE),
            ClaimDecision::Busy
        );
        assert_eq!(
            decide_claim(&claim(ClaimState::InProgress, 900, now()), now(), STALE),
            ClaimDecision::TakeOver {
                supplement_id: Uuid::from_u128(7)
            }
        );
    }

    #[test]
    fn a_claim_from_the_future_is_not_stale() {
        // Clocks of two gateway replicas may disagree by a little.
        assert_eq!(
            decide_claim(&claim(ClaimState::InProgress, -30, now()), now(), STALE),
            ClaimDecision::Busy
        );
    }
}
