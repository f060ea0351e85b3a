//! Which offsets a consumer may commit while records finish out of order:
//! only those below the lowest unfinished one in each partition, so a crash
//! redelivers every record whose effects might not be durable.

use std::collections::{BTreeMap, BTreeSet};

type Partition = (String, i32);

#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: BTreeMap<Partition, State>,
}

#[derive(Debug, Default)]
struct State {
    in_flight: BTreeSet<i64>,
    /// One past the highest offset seen.
    next: i64,
    committed: Option<i64>,
}

impl OffsetTracker {
    pub fn started(&mut self, topic: &str, partition: i32, offset: i64) {
        let state = self
            .partitions
            .entry((topic.to_owned(), partition))
            .or_default();
        state.in_flight.insert(offset);
        state.next = state.next.max(offset + 1);
    }

    pub fn finished(&mut self, topic: &str, partition: i32, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&(topic.to_owned(), partition)) {
            state.in_flight.remove(&offset);
        }
    }

    /// Records not yet finished, in every partition.
    pub fn in_flight(&self) -> usize {
        self.partitions.values().map(|s| s.in_flight.len()).sum()
    }

    /// Records of one partition not yet finished.
    pub fn in_flight_in(&self, topic: &str, partition: i32) -> usize {
        self.partitions
            .get(&(topic.to_owned(), partition))
            .map_or(0, |s| s.in_flight.len())
    }

    /// Offsets to commit now (the next offset to read, Kafka's convention),
    /// for partitions that moved since the last call.
    pub fn to_commit(&mut self) -> Vec<(String, i32, i64)> {
        let mut out = Vec::new();
        for ((topic, partition), state) in &mut self.partitions {
            let safe = state.in_flight.first().copied().unwrap_or(state.next);
            if state.committed.is_none_or(|c| safe > c) {
                state.committed = Some(safe);
                out.push((topic.clone(), *partition, safe));
            }
        }
        out
    }

    /// Forgets a partition taken away by a rebalance; its new owner starts
    /// from the last commit.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.partitions.remove(&(topic.to_owned(), partition));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn nothing_is_committed_past_an_unfinished_record() {
        let mut t = OffsetTracker::default();
        for offset in 10..15 {
            t.started("a", 0, offset);
        }
        t.finished("a", 0, 11);
        t.finished("a", 0, 12);
        assert_eq!(t.to_commit(), vec![("a".into(), 0, 10)]);
        t.finished("a", 0, 10);
        assert_eq!(t.to_commit(), vec![("a".into(), 0, 13)]);
        t.finished("a", 0, 14);
        t.finished("a", 0, 13);
        assert_eq!(t.to_commit(), vec![("a".into(), 0, 15)]);
        assert_eq!(
            t.to_commit(),
            vec![],
            "unchanged partitions are not recommitted"
        );
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::default();
        t.started("a", 0, 5);
        t.started("a", 1, 7);
        t.finished("a", 1, 7);
        let mut commits = t.to_commit();
        commits.sort();
        assert_eq!(commits, vec![("a".into(), 0, 5), ("a".into(), 1, 8)]);
        assert_eq!(t.in_flight(), 1);
    }

    #[test]
    fn a_revoked_partition_is_forgotten() {
        let mut t = OffsetTracker::default();
        t.started("a", 0, 1);
        t.revoke("a", 0);
        assert_eq!(t.to_commit(), vec![]);
        assert_eq!(t.in_flight(), 0);
    }

    proptest! {
        /// Whatever order records finish in, a commit never passes an
        /// unfinished record and the final commit is past the last one.
        #[test]
        fn commits_stay_below_unfinished(order in Just((0..40i64).collect::<Vec<_>>()).prop_shuffle()) {
            let mut t = OffsetTracker::default();
            for offset in 0..40 {
                t.started("t", 0, offset);
            }
            let mut done = BTreeSet::new();
            let mut last = 0;
            for offset in order {
                t.finished("t", 0, offset);
                done.insert(offset);
                for (_, _, commit) in t.to_commit() {
                    prop_assert!((0..commit).all(|o| done.contains(&o)));
                    prop_assert!(commit >= last);
                    last = commit;
                }
            }
            prop_assert_eq!(last, 40);
        }
    }
}
