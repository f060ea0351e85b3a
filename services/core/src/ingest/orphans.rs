//! When stored parts may be removed: only once no event that names them can
//! still be consumed. An attempt whose publish outcome was unknown may have
//! put an event on the broker, so its parts stay until the supplement's
//! outcome names another attempt, or until no unconsumed event could be
//! left (older than the inbound topics' retention).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// One attempt's parts as found in the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub attempt: Uuid,
    /// When its newest part was written.
    pub written_at: DateTime<Utc>,
}

/// What the database says of the attempt's supplement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// No outcome yet (the event may still be waiting on the topic).
    Nothing,
    /// An outcome, read from the parts of this attempt; `None` when the
    /// outcome does not say which (recorded before attempts were kept).
    Outcome { attempt: Option<Uuid> },
}

/// Whether the attempt's parts can never be read again.
pub fn is_orphan(
    stored: Stored,
    recorded: Recorded,
    now: DateTime<Utc>,
    unrecorded_after: Duration,
) -> bool {
    match recorded {
        // The worker read one attempt's event; every event of the
        // supplement has the same id, so no other attempt will ever be read.
        Recorded::Outcome {
            attempt: Some(read),
        } => read != stored.attempt,
        Recorded::Outcome { attempt: None } => false,
        Recorded::Nothing => now - stored.written_at > unrecorded_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).expect("valid time")
    }

    const A: Uuid = Uuid::from_u128(1);
    const B: Uuid = Uuid::from_u128(2);

    fn stored(attempt: Uuid, hours: i64) -> Stored {
        Stored {
            attempt,
            written_at: at(hours),
        }
    }

    #[test]
    fn the_attempt_an_outcome_was_read_from_is_kept_for_ever() {
        let recorded = Recorded::Outcome { attempt: Some(A) };
        assert!(!is_orphan(
            stored(A, 0),
            recorded,
            at(100_000),
            Duration::days(30)
        ));
    }

    #[test]
    fn another_attempt_of_a_recorded_supplement_is_an_orphan_at_once() {
        let recorded = Recorded::Outcome { attempt: Some(A) };
        assert!(is_orphan(stored(B, 0), recorded, at(0), Duration::days(30)));
    }

    #[test]
    fn an_outcome_that_does_not_say_which_attempt_keeps_all() {
        let recorded = Recorded::Outcome { attempt: None };
        assert!(!is_orphan(
            stored(B, 0),
            recorded,
            at(100_000),
            Duration::days(30)
        ));
    }

    #[test]
    fn unrecorded_parts_wait_until_no_event_can_be_left() {
        let wait = Duration::days(30);
        assert!(!is_orphan(
            stored(A, 0),
            Recorded::Nothing,
            at(30 * 24),
            wait
        ));
        assert!(is_orphan(
            stored(A, 0),
            Recorded::Nothing,
            at(30 * 24 + 1),
            wait
        ));
    }
}
