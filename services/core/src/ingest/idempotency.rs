//! What a request gets when its idempotency key was seen before.
//!
//! A request first claims its key. The claim fixes the supplement id, so a
//! retry after a crash stores under the same keys and produces the same
//! event id instead of a second supplement.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

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
