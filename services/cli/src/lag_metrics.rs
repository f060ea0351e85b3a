//! `intake lag --serve`: the lag table as Prometheus metrics, for the
//! alert rules and the operations page. Labels name groups, topics and
//! partitions, never an application or an address.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use intake_core::lag::{GroupStatus, Status};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::lag::{GroupLook, Window};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    group: String,
    topic: String,
    partition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionStatusLabels {
    group: String,
    topic: String,
    partition: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupStatusLabels {
    group: String,
    status: String,
}

const PARTITION_STATUSES: [Status; 4] = [
    Status::Ok,
    Status::Warning,
    Status::Stalled,
    Status::Stopped,
];
const GROUP_STATUSES: [GroupStatus; 5] = [
    GroupStatus::Ok,
    GroupStatus::Warning,
    GroupStatus::Stalled,
    GroupStatus::Stopped,
    GroupStatus::NoMembers,
];

pub struct LagMetrics {
    records: Family<PartitionLabels, Gauge>,
    seconds: Family<PartitionLabels, Gauge<f64, AtomicU64>>,
    partition_status: Family<PartitionStatusLabels, Gauge>,
    group_status: Family<GroupStatusLabels, Gauge>,
    look_failures: Counter,
    last_look: Gauge<f64, AtomicU64>,
}

impl LagMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let records = Family::<PartitionLabels, Gauge>::default();
        let seconds = Family::<PartitionLabels, Gauge<f64, AtomicU64>>::default();
        let partition_status = Family::<PartitionStatusLabels, Gauge>::default();
        let group_status = Family::<GroupStatusLabels, Gauge>::default();
        let look_failures = Counter::default();
        let last_look = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "intake_consumer_lag_records",
            "Records written to a partition and not yet consumed by the group",
            records.clone(),
        );
        registry.register(
            "intake_consumer_lag_seconds",
            "Age of the oldest record the group has not consumed (0 when none waits)",
            seconds.clone(),
        );
        registry.register(
            "intake_consumer_partition_status",
            "1 for the partition's current status (ok, warning, stalled, stopped), else 0",
            partition_status.clone(),
        );
        registry.register(
            "intake_consumer_group_status",
            "1 for the group's current status (ok, warning, stalled, stopped, no_members), else 0",
            group_status.clone(),
        );
        registry.register(
            "intake_lag_look_failures",
            "Looks at the broker that failed",
            look_failures.clone(),
        );
        registry.register(
            "intake_lag_last_look_timestamp_seconds",
            "When the broker was last looked at, Unix seconds",
            last_look.clone(),
        );
        Self {
            records,
            seconds,
            partition_status,
            group_status,
            look_failures,
            last_look,
        }
    }
}

impl LagMetrics {
    pub fn update(&self, looks: &[GroupLook], window: &Window, now: DateTime<Utc>) {
        for look in looks {
            let judged = window.judge(look, now);
            for p in &judged.partitions {
                let labels = PartitionLabels {
                    group: look.group.clone(),
                    topic: p.look.topic.clone(),
                    partition: p.look.partition.to_string(),
                };
                self.records.get_or_create(&labels).set(p.records);
                self.seconds.get_or_create(&labels).set(p.seconds);
                for s in PARTITION_STATUSES {
                    self.partition_status
                        .get_or_create(&PartitionStatusLabels {
                            group: look.group.clone(),
                            topic: p.look.topic.clone(),
                            partition: p.look.partition.to_string(),
                            status: s.as_str().to_owned(),
                        })
                        .set(i64::from(s == p.status));
                }
            }
            for s in GROUP_STATUSES {
                self.group_status
                    .get_or_create(&GroupStatusLabels {
                        group: look.group.clone(),
                        status: s.as_str().to_owned(),
                    })
                    .set(i64::from(s == judged.status));
            }
        }
        self.last_look.set(now.timestamp_millis() as f64 / 1000.0);
    }

    pub fn look_failed(&self) {
        self.look_failures.inc();
    }
}

#[cfg(test)]
mod tests {
    use intake_core::lag::OffsetSample;

    use super::*;
    use crate::lag::PartitionLook;

    #[test]
    fn a_dead_group_shows_its_lag_and_stopped() {
        let at = DateTime::from_timestamp(1_795_000_000, 0).expect("valid");
        let look = GroupLook {
            group: "intake-worker".into(),
            members: Some(0),
            partitions: vec![PartitionLook {
                topic: "supplements.securemail.v1".into(),
                partition: 2,
                sample: OffsetSample {
                    at,
                    committed: Some(7),
                    log_start: 0,
                    high_watermark: 10,
                },
                oldest_waiting: Some(at - chrono::Duration::seconds(30)),
            }],
        };
        let mut window = Window::default();
        window.add(&look);
        let mut registry = Registry::default();
        let metrics = LagMetrics::new(&mut registry);
        metrics.update(&[look], &window, at);
        let text = intake_adapters::ops::encode(&registry);
        for line in [
            r#"intake_consumer_lag_records{group="intake-worker",topic="supplements.securemail.v1",partition="2"} 3"#,
            r#"intake_consumer_lag_seconds{group="intake-worker",topic="supplements.securemail.v1",partition="2"} 30.0"#,
            r#"intake_consumer_group_status{group="intake-worker",status="stopped"} 1"#,
            r#"intake_consumer_group_status{group="intake-worker",status="ok"} 0"#,
            "intake_lag_look_failures_total 0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
