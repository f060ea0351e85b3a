//! The life of one receipt: pending → sending → sent, or failed with the
//! reason, or suppressed before any attempt. `sending` is written before
//! the SMTP transaction starts, so a receipt found in `sending` after a
//! crash may have gone out: it is resent with the same Message-ID, never
//! with a new one, so the applicant's mail system can tell the copy.
//! Over the per-address rate limit a receipt is `held`, then `combined`
//! into the one receipt that carries every held reference once the limit
//! allows another mail: an applicant is never left without an answer.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptState {
    Pending,
    Sending,
    Sent,
    Failed,
    Suppressed,
    /// Over the rate limit; waits to be combined into one receipt.
    Held,
    /// Sent as part of another receipt (`combined_into`).
    Combined,
}

impl ReceiptState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptState::Pending => "pending",
            ReceiptState::Sending => "sending",
            ReceiptState::Sent => "sent",
            ReceiptState::Failed => "failed",
            ReceiptState::Suppressed => "suppressed",
            ReceiptState::Held => "held",
            ReceiptState::Combined => "combined",
        }
    }
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Worth retrying: connection refused, timeouts, 4xx replies.
    Transient(String),
    /// Retrying cannot help: a 5xx reply such as an unknown mailbox.
    Permanent(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub state: ReceiptState,
    /// When to try again, for a transient failure.
    pub retry_in: Option<Duration>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first: Duration,
    pub max: Duration,
    /// Transient failures before giving up; receipts are not lost
    /// quietly: a receipt that gives up is `failed`, visible to operations.
    pub max_attempts: u32,
}

/// The state after attempt number `attempt` (from 1) ended as `result`.
pub fn after_attempt(attempt: u32, result: &Attempt, policy: RetryPolicy) -> Next {
    match result {
        Attempt::Delivered => Next {
            state: ReceiptState::Sent,
            retry_in: None,
            reason: None,
        },
        Attempt::Permanent(reason) => Next {
            state: ReceiptState::Failed,
            retry_in: None,
            reason: Some(reason.clone()),
        },
        Attempt::Transient(reason) if attempt >= policy.max_attempts => Next {
            state: ReceiptState::Failed,
            retry_in: None,
            reason: Some(format!("gave up after {attempt} attempts: {reason}")),
        },
        Attempt::Transient(reason) => {
            let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
            Next {
                state: ReceiptState::Pending,
                retry_in: Some(policy.first.saturating_mul(factor).min(policy.max)),
                reason: Some(reason.clone()),
            }
        }
    }
}

/// Whether a sender who has had `sent_in_window` receipts within the rate
/// window may get another.
pub fn within_rate(sent_in_window: u32, per_window: u32) -> bool {
    sent_in_window < per_window
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        first: Duration::from_secs(1),
        max: Duration::from_secs(60),
        max_attempts: 10,
    };

    #[test]
    fn delivered_is_sent() {
        assert_eq!(
            after_attempt(1, &Attempt::Delivered, POLICY).state,
            ReceiptState::Sent
        );
    }

    #[test]
    fn a_permanent_refusal_fails_at_once_with_its_reason() {
        let next = after_attempt(1, &Attempt::Permanent("550 no such user".into()), POLICY);
        assert_eq!(next.state, ReceiptState::Failed);
        assert_eq!(next.reason.as_deref(), Some("550 no such user"));
        assert_eq!(next.retry_in, None);
    }

    #[test]
    fn transient_failures_back_off_exponentially_up_to_the_cap() {
        let waits: Vec<u64> = (1..=8)
            .map(|n| {
                after_attempt(n, &Attempt::Transient("421".into()), POLICY)
                    .retry_in
                    .expect("retry")
                    .as_secs()
            })
            .collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(
            after_attempt(3, &Attempt::Transient("x".into()), POLICY).state,
            ReceiptState::Pending
        );
    }

    #[test]
    fn giving_up_is_a_visible_failure() {
        let next = after_attempt(10, &Attempt::Transient("connection refused".into()), POLICY);
        assert_eq!(next.state, ReceiptState::Failed);
        assert!(
            next.reason
                .expect("reason")
                .contains("gave up after 10 attempts")
        );
    }

    #[test]
    fn the_rate_limit_allows_exactly_the_configured_number() {
        assert!((0..10).all(|n| within_rate(n, 10)));
        assert!(!within_rate(10, 10));
        assert!(!within_rate(0, 0));
    }
}
