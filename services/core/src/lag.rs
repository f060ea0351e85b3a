//! Consumer lag and what it means, from the broker's offsets alone: a
//! group that died keeps a committed offset while the log grows, so its lag
//! keeps rising instead of vanishing with its members. A status per
//! partition and group, in the spirit of Burrow's evaluation, over a window
//! of samples: no alarm for an idle partition (nothing new, nothing
//! waiting), and a difference between falling behind, stalled (members, no
//! progress) and stopped (no one consuming).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// One look at a partition: the group's committed offset and the log's ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSample {
    pub at: DateTime<Utc>,
    /// `None` until the group first commits on this partition.
    pub committed: Option<i64>,
    /// The first offset still in the log (retention removes older ones).
    pub log_start: i64,
    /// The offset the next record will get.
    pub high_watermark: i64,
}

impl OffsetSample {
    /// Records written and not yet consumed. A group that never committed
    /// has everything still in the log ahead of it; one whose committed
    /// offset fell out of retention, everything from the log's start.
    pub fn lag(&self) -> i64 {
        let from = self.committed.unwrap_or(self.log_start).max(self.log_start);
        (self.high_watermark - from).max(0)
    }
}

/// Seconds behind: how long the oldest record not yet consumed has waited
/// (its timestamp is the broker's), zero when nothing waits.
pub fn lag_seconds(lag: i64, oldest_waiting: Option<DateTime<Utc>>, now: DateTime<Utc>) -> f64 {
    match oldest_waiting {
        Some(at) if lag > 0 => ((now - at).num_milliseconds().max(0) as f64) / 1000.0,
        _ => 0.0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Caught up at some point in the window, or idle, or keeping up.
    Ok,
    /// Consuming, but the lag grew at every look in the window.
    Warning,
    /// Members are there, nothing is committed, and records wait.
    Stalled,
    /// No one consumes, and records wait.
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Stalled => "stalled",
            Status::Stopped => "stopped",
        }
    }
}

/// A group's status: the worst of its partitions, or `NoMembers` when no
/// one is in the group and nothing waits for it (a group that is simply
/// not running, with nothing to do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    Ok,
    Warning,
    Stalled,
    Stopped,
    NoMembers,
}

impl GroupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Ok => "ok",
            GroupStatus::Warning => "warning",
            GroupStatus::Stalled => "stalled",
            GroupStatus::Stopped => "stopped",
            GroupStatus::NoMembers => "no_members",
        }
    }
}

/// How long the window must span by default before "no progress" means
/// anything: shorter, and a consumer between two commits looks stuck.
pub const MIN_WINDOW: Duration = Duration::minutes(2);

/// A partition's status from its samples, oldest first, whether the group
/// has members, and how long the samples must span before a lack of
/// progress counts.
pub fn partition_status(
    samples: &[OffsetSample],
    has_members: bool,
    min_window: Duration,
) -> Status {
    let Some(last) = samples.last() else {
        return Status::Ok;
    };
    // Caught up at any look: whatever waits now arrived since (Burrow's
    // first rule), and an idle partition is always here.
    if samples.iter().any(|s| s.lag() == 0) {
        return Status::Ok;
    }
    if !has_members {
        return Status::Stopped;
    }
    let first = samples[0];
    if last.at - first.at < min_window {
        return Status::Ok;
    }
    if samples.iter().all(|s| s.committed == first.committed) {
        return Status::Stalled;
    }
    let growing = samples.windows(2).all(|w| w[1].lag() >= w[0].lag()) && last.lag() > first.lag();
    if growing { Status::Warning } else { Status::Ok }
}

/// The group's status from its partitions' statuses and lags.
pub fn group_status(partitions: &[(Status, i64)], members: usize) -> GroupStatus {
    let waiting = partitions.iter().any(|(_, lag)| *lag > 0);
    if members == 0 && !waiting {
        return GroupStatus::NoMembers;
    }
    match partitions
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(Status::Ok)
    {
        Status::Ok => GroupStatus::Ok,
        Status::Warning => GroupStatus::Warning,
        Status::Stalled => GroupStatus::Stalled,
        Status::Stopped => GroupStatus::Stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + minute * 60, 0).expect("valid")
    }

    /// Samples a minute apart: (committed, high watermark).
    fn window(points: &[(Option<i64>, i64)]) -> Vec<OffsetSample> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(committed, high_watermark))| OffsetSample {
                at: at(i as i64),
                committed,
                log_start: 0,
                high_watermark,
            })
            .collect()
    }

    #[test]
    fn lag_counts_from_the_commit_or_the_log_start() {
        let s = |committed, log_start, hw| OffsetSample {
            at: at(0),
            committed,
            log_start,
            high_watermark: hw,
        };
        assert_eq!(s(Some(90), 0, 100).lag(), 10);
        assert_eq!(
            s(None, 40, 100).lag(),
            60,
            "never committed: all of the log"
        );
        assert_eq!(
            s(Some(10), 40, 100).lag(),
            60,
            "committed offset past retention"
        );
        assert_eq!(s(Some(100), 0, 100).lag(), 0);
        assert_eq!(s(Some(120), 0, 100).lag(), 0, "never negative");
    }

    #[test]
    fn seconds_are_the_oldest_waiting_records_age() {
        assert_eq!(lag_seconds(5, Some(at(0)), at(2)), 120.0);
        assert_eq!(lag_seconds(0, Some(at(0)), at(2)), 0.0, "nothing waits");
        assert_eq!(lag_seconds(5, None, at(2)), 0.0);
        assert_eq!(
            lag_seconds(5, Some(at(3)), at(2)),
            0.0,
            "clock skew is not negative lag"
        );
    }

    #[test]
    fn an_idle_partition_raises_nothing() {
        let idle = window(&[(Some(50), 50); 10]);
        assert_eq!(partition_status(&idle, true, MIN_WINDOW), Status::Ok);
        assert_eq!(partition_status(&idle, false, MIN_WINDOW), Status::Ok);
        assert_eq!(
            group_status(&[(Status::Ok, 0)], 0),
            GroupStatus::NoMembers,
            "a group not running with nothing to do"
        );
    }

    #[test]
    fn caught_up_once_in_the_window_is_ok() {
        let bursty = window(&[
            (Some(10), 10),
            (Some(10), 30),
            (Some(20), 40),
            (Some(30), 50),
        ]);
        assert_eq!(partition_status(&bursty, true, MIN_WINDOW), Status::Ok);
    }

    #[test]
    fn no_commits_with_members_is_stalled_and_without_them_stopped() {
        let stuck = window(&[
            (Some(10), 20),
            (Some(10), 25),
            (Some(10), 30),
            (Some(10), 30),
        ]);
        assert_eq!(partition_status(&stuck, true, MIN_WINDOW), Status::Stalled);
        assert_eq!(partition_status(&stuck, false, MIN_WINDOW), Status::Stopped);
        assert_eq!(
            group_status(&[(Status::Stopped, 20), (Status::Ok, 0)], 0),
            GroupStatus::Stopped,
            "a dead group's lag does not vanish"
        );
    }

    #[test]
    fn falling_behind_while_consuming_is_a_warning() {
        let behind = window(&[
            (Some(10), 20),
            (Some(15), 30),
            (Some(20), 40),
            (Some(25), 50),
        ]);
        assert_eq!(partition_status(&behind, true, MIN_WINDOW), Status::Warning);
        let keeping_up = window(&[
            (Some(10), 20),
            (Some(20), 30),
            (Some(25), 32),
            (Some(30), 40),
        ]);
        assert_eq!(partition_status(&keeping_up, true, MIN_WINDOW), Status::Ok);
    }

    #[test]
    fn a_window_too_short_to_judge_is_ok() {
        let short = window(&[(Some(10), 20), (Some(10), 25)]);
        assert_eq!(partition_status(&short, true, MIN_WINDOW), Status::Ok);
        assert_eq!(partition_status(&[], true, MIN_WINDOW), Status::Ok);
    }

    #[test]
    fn the_group_takes_its_worst_partition() {
        assert_eq!(
            group_status(
                &[(Status::Ok, 0), (Status::Warning, 5), (Status::Stalled, 9)],
                2
            ),
            GroupStatus::Stalled
        );
        assert_eq!(group_status(&[], 1), GroupStatus::Ok);
    }
}
