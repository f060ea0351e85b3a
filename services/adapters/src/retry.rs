//! Retrying what can fail for a while: one policy type, one loop, and a
//! typed verdict on each failure. A step says whether its failure is
//! [`Retry::Transient`] (a connection dropped, a server away: try again
//! after a pause that grows, with jitter so many workers do not retry in
//! step) or [`Retry::Permanent`] (trying again cannot help). Errors stay
//! typed until the caller logs them.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};

/// A failure, with whether to try again.
#[derive(Debug)]
pub enum Retry<E> {
    Transient(E),
    Permanent(E),
}

impl<E> Retry<E> {
    pub fn is_transient(&self) -> bool {
        matches!(self, Retry::Transient(_))
    }

    pub fn into_inner(self) -> E {
        match self {
            Retry::Transient(e) | Retry::Permanent(e) => e,
        }
    }
}

/// Most failures a step meets are worth another try.
impl<E> From<E> for Retry<E> {
    fn from(error: E) -> Self {
        Retry::Transient(error)
    }
}

impl<E: fmt::Display> fmt::Display for Retry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Retry::Transient(e) => write!(f, "{e}"),
            Retry::Permanent(e) => write!(f, "{e} (permanent)"),
        }
    }
}

/// When to try again: the first pause, the longest, and how many attempts
/// in all (`None`: until it succeeds or fails for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub attempts: Option<usize>,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            attempts: None,
        }
    }

    /// At most `attempts` tries in all (at least one).
    pub const fn attempts(self, attempts: usize) -> Self {
        Self {
            attempts: Some(attempts),
            ..self
        }
    }

    fn builder(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.first)
            .with_max_delay(self.max.max(self.first))
            .with_jitter();
        match self.attempts {
            Some(attempts) => builder.with_max_times(attempts.saturating_sub(1)),
            None => builder.without_max_times(),
        }
    }

    /// The pauses between attempts, for a loop that retries on its own
    /// terms (and starts afresh after a success).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        self.builder().build()
    }
}

/// Runs `step` until it succeeds, fails for good, or the attempts run
/// out; each transient failure is logged at WARN with `what` failed.
pub async fn retry<T, E, F, Fut>(backoff: Backoff, what: &str, step: F) -> Result<T, Retry<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Retry<E>>>,
    E: fmt::Display,
{
    step.retry(backoff.builder())
        .sleep(tokio::time::sleep)
        .when(Retry::is_transient)
        .notify(|error, retry_in| {
            tracing::warn!(%error, ?retry_in, "{what} failed; retrying");
        })
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const QUICK: Backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(4));

    #[tokio::test]
    async fn a_transient_failure_is_tried_again_until_it_passes() {
        let calls = AtomicUsize::new(0);
        let result: Result<usize, Retry<&str>> = retry(QUICK, "step", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(Retry::Transient("away")),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(result.expect("passes"), 3);
    }

    #[tokio::test]
    async fn a_permanent_failure_is_not_tried_again() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), Retry<&str>> = retry(QUICK, "step", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Retry::Permanent("broken"))
        })
        .await;
        assert!(!result.expect_err("fails").is_transient());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn attempts_count_the_first_try() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), Retry<&str>> = retry(QUICK.attempts(3), "step", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Retry::Transient("away"))
        })
        .await;
        assert_eq!(result.expect_err("fails").into_inner(), "away");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn pauses_grow_with_jitter_and_stay_under_twice_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = backoff.delays().take(12).collect();
        assert_eq!(delays.len(), 12, "without a limit it never runs out");
        // Jitter adds up to the current pause, never more.
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        assert!(delays[0] >= Duration::from_millis(100));
        let late: Duration = delays[8..].iter().sum();
        assert!(late >= Duration::from_secs(4), "{delays:?}");
        // Two runs do not pause in step.
        let again: Vec<Duration> = backoff.delays().take(12).collect();
        assert_ne!(delays, again);
    }
}
