//! Pacing a rescan so live traffic keeps priority: the rescan shares
//! clamd, S3 and PostgreSQL with the worker, so it may use at most a set
//! number of files and bytes per second, however fast they answer.

use std::time::Duration;

/// The most a rescan may take of the shared services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub files_per_second: u32,
    pub bytes_per_second: u64,
}

impl Pace {
    /// How long to wait after scanning a file of `size` bytes that took
    /// `took`: the file's share of the budget (by count or by bytes,
    /// whichever is longer) less the time it already took.
    pub fn pause(&self, size: u64, took: Duration) -> Duration {
        let per_file = Duration::from_secs(1)
            .checked_div(self.files_per_second.max(1))
            .unwrap_or_default();
        let per_bytes = Duration::from_secs_f64(size as f64 / self.bytes_per_second.max(1) as f64);
        per_file.max(per_bytes).saturating_sub(took)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACE: Pace = Pace {
        files_per_second: 10,
        bytes_per_second: 1_000_000,
    };

    #[test]
    fn small_files_are_paced_by_count() {
        assert_eq!(PACE.pause(100, Duration::ZERO), Duration::from_millis(100));
        assert_eq!(
            PACE.pause(100, Duration::from_millis(30)),
            Duration::from_millis(70),
            "the scan's own time counts"
        );
    }

    #[test]
    fn large_files_are_paced_by_bytes() {
        assert_eq!(
            PACE.pause(5_000_000, Duration::ZERO),
            Duration::from_secs(5)
        );
        assert_eq!(
            PACE.pause(5_000_000, Duration::from_secs(2)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn a_slow_scan_waits_no_more() {
        assert_eq!(PACE.pause(100, Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn a_zero_limit_is_read_as_one() {
        let zero = Pace {
            files_per_second: 0,
            bytes_per_second: 0,
        };
        assert_eq!(zero.pause(0, Duration::ZERO), Duration::from_secs(1));
        assert_eq!(zero.pause(3, Duration::ZERO), Duration::from_secs(3));
    }
}
