//! A consumer that notices when it is cut off: librdkafka's statistics
//! (every few seconds) say whether the consumer is in its group (or, for a
//! reader that assigns its partitions itself, fetching all of them) and a
//! broker is up. When it has not been for longer than `stall_after`, the
//! consumer's readiness goes down with what librdkafka last said, logged at
//! ERROR once; when it is again, readiness comes back. Statistics that stop
//! coming (a consumer loop that no longer polls) count as cut off too.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;

use crate::ops::{Dependency, Health, Registry};

/// How often librdkafka reports, and the monitor looks.
const EVERY: Duration = Duration::from_secs(5);

/// What a consumer that is well looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Subscribed: joined and steady in its group.
    Member,
    /// Assigned its partitions itself: every one of them fetching.
    Reader,
}

/// What one statistics report says about a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// A member steady in its group, or a reader fetching every partition.
    pub consuming: bool,
    /// At least one real broker connection is up.
    pub broker_up: bool,
    /// The states, in librdkafka's words, for the log.
    pub summary: String,
}

impl Seen {
    pub fn healthy(&self) -> bool {
        self.consuming && self.broker_up
    }
}

pub fn judge(stats: &Statistics, role: Role) -> Seen {
    let mut brokers: Vec<String> = stats
        .brokers
        .values()
        // The internal and logical brokers are librdkafka's own.
        .filter(|b| b.nodeid >= 0 || b.source == "configured")
        .map(|b| format!("{}={}", b.nodename, b.state))
        .collect();
    brokers.sort();
    let broker_up = stats
        .brokers
        .values()
        .any(|b| (b.nodeid >= 0 || b.source == "configured") && b.state == "UP");
    let (consuming, what) = match role {
        Role::Member => membership(stats),
        Role::Reader => fetching(stats),
    };
    Seen {
        consuming,
        broker_up,
        summary: format!("{what}; brokers {}", brokers.join(", ")),
    }
}

fn membership(stats: &Statistics) -> (bool, String) {
    match &stats.cgrp {
        Some(g) => (
            g.state == "up" && g.join_state == "steady",
            format!(
                "group {} / {} for {} ms, {} partitions",
                g.state, g.join_state, g.stateage, g.assignment_size
            ),
        ),
        None => (false, "no group coordinator yet".to_owned()),
    }
}

fn fetching(stats: &Statistics) -> (bool, String) {
    // Partition -1 is librdkafka's own (unassigned messages).
    let mut states: Vec<String> = stats
        .topics
        .values()
        .flat_map(|t| t.partitions.values().map(move |p| (t, p)))
        .filter(|(_, p)| p.partition >= 0 && p.desired)
        .map(|(t, p)| {
            // librdkafka keeps a partition without a leader "active".
            let state = if p.leader < 0 {
                "no-leader"
            } else {
                p.fetch_state.as_str()
            };
            format!("{}[{}]={state}", t.topic, p.partition)
        })
        .collect();
    states.sort();
    let all_active = !states.is_empty() && states.iter().all(|s| s.ends_with("=active"));
    let what = if states.is_empty() {
        "no partitions assigned yet".to_owned()
    } else {
        format!("fetching {}", states.join(", "))
    };
    (all_active, what)
}

#[derive(Debug)]
struct State {
    role: Role,
    last_healthy: Instant,
    last_seen: Option<Seen>,
    last_report: Instant,
    last_error: Option<String>,
}

/// The consumer's context: takes the statistics and errors librdkafka
/// hands it.
#[derive(Clone)]
pub struct WatchedContext {
    state: Arc<Mutex<State>>,
}

impl ClientContext for WatchedContext {
    fn stats(&self, statistics: Statistics) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = judge(&statistics, state.role);
        let now = Instant::now();
        if seen.healthy() {
            state.last_healthy = now;
        }
        state.last_report = now;
        state.last_seen = Some(seen);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "librdkafka reports an error");
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_error = Some(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for WatchedContext {}

/// Sets `config` to report statistics, and returns the context to create
/// the group member with. A task judges the reports: `kafka_consumer` in
/// `health` goes down after `stall_after` without a healthy one, and
/// `intake_consumer_cut_off_total{consumer="kafka_consumer"}` counts each
/// time it does.
pub fn watch(
    config: &mut ClientConfig,
    health: &Health,
    cut_offs: &CutOffs,
    stall_after: Duration,
) -> WatchedContext {
    watch_as(
        config,
        health,
        ("kafka_consumer", Role::Member),
        cut_offs,
        stall_after,
    )
}

/// As `watch`, for a consumer that assigns its partitions itself; it is
/// `dependency` in `health`.
pub fn watch_reader(
    config: &mut ClientConfig,
    health: &Health,
    dependency: &'static str,
    cut_offs: &CutOffs,
    stall_after: Duration,
) -> WatchedContext {
    watch_as(
        config,
        health,
        (dependency, Role::Reader),
        cut_offs,
        stall_after,
    )
}

fn watch_as(
    config: &mut ClientConfig,
    health: &Health,
    (dependency, role): (&'static str, Role),
    cut_offs: &CutOffs,
    stall_after: Duration,
) -> WatchedContext {
    config.set("statistics.interval.ms", EVERY.as_millis().to_string());
    let now = Instant::now();
    let context = WatchedContext {
        state: Arc::new(Mutex::new(State {
            role,
            last_healthy: now,
            last_seen: None,
            last_report: now,
            last_error: None,
        })),
    };
    let cut_off = cut_offs.of(dependency);
    let dependency = health.dependency(dependency);
    tokio::spawn(monitor(
        context.state.clone(),
        dependency,
        cut_off,
        stall_after,
    ));
    context
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumerLabel {
    /// The consumer's name in readiness: `kafka_consumer`, `kafka_registry`.
    consumer: &'static str,
}

/// `intake_consumer_cut_off_total{consumer}`: one counter per watched
/// consumer of a process.
#[derive(Clone, Debug, Default)]
pub struct CutOffs(Family<ConsumerLabel, Counter>);

impl CutOffs {
    pub fn register(registry: &mut Registry) -> Self {
        let cut_offs = Self::default();
        registry.register(
            "intake_consumer_cut_off",
            "Times a consumer was out of its group, not fetching or without a broker longer than allowed",
            cut_offs.0.clone(),
        );
        cut_offs
    }

    fn of(&self, consumer: &'static str) -> Counter {
        self.0.get_or_create(&ConsumerLabel { consumer }).clone()
    }
}

async fn monitor(
    state: Arc<Mutex<State>>,
    dependency: Dependency,
    cut_off: Counter,
    stall_after: Duration,
) {
    // Up once it has joined; down from the first report without it past
    // the limit.
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        let (since_healthy, since_report, why) = {
            let s = state.lock().unwrap_or_else(PoisonError::into_inner);
            let why = format!(
                "{}; last error: {}",
                s.last_seen
                    .as_ref()
                    .map_or("no statistics yet", |seen| seen.summary.as_str()),
                s.last_error.as_deref().unwrap_or("none"),
            );
            (s.last_healthy.elapsed(), s.last_report.elapsed(), why)
        };
        if since_healthy <= stall_after {
            dependency.set_up();
            continue;
        }
        let why = if since_report > EVERY * 3 {
            format!(
                "no statistics from the consumer for {since_report:?} (is its loop polling?); {why}"
            )
        } else {
            format!("not consuming with a broker up for {since_healthy:?}: {why}")
        };
        if dependency.is_up() {
            cut_off.inc();
        }
        dependency.set_down(&why);
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::statistics::{Broker, ConsumerGroup, Partition, Topic};

    use super::*;

    fn stats(cgrp: Option<(&str, &str)>, brokers: &[(&str, i32, &str, &str)]) -> Statistics {
        Statistics {
            brokers: brokers
                .iter()
                .map(|&(name, nodeid, source, state)| {
                    (
                        name.to_owned(),
                        Broker {
                            name: name.to_owned(),
                            nodename: name.to_owned(),
                            nodeid,
                            source: source.to_owned(),
                            state: state.to_owned(),
                            ..Broker::default()
                        },
                    )
                })
                .collect(),
            cgrp: cgrp.map(|(state, join_state)| ConsumerGroup {
                state: state.to_owned(),
                join_state: join_state.to_owned(),
                stateage: 1200,
                assignment_size: 3,
                ..ConsumerGroup::default()
            }),
            ..Statistics::default()
        }
    }

    const UP: (&str, i32, &str, &str) = ("127.0.0.1:9092/1", 1, "learned", "UP");
    const DOWN: (&str, i32, &str, &str) = ("127.0.0.1:9092/1", 1, "learned", "DOWN");

    #[test]
    fn a_steady_member_with_a_broker_up_is_healthy() {
        let seen = judge(
            &stats(
                Some(("up", "steady")),
                &[UP, ("GroupCoordinator", -1, "logical", "UP")],
            ),
            Role::Member,
        );
        assert!(seen.healthy(), "{seen:?}");
        assert!(
            seen.summary.contains("group up / steady"),
            "{}",
            seen.summary
        );
        assert!(
            !seen.summary.contains("GroupCoordinator"),
            "{}",
            seen.summary
        );
    }

    #[test]
    fn joining_or_without_a_real_broker_is_not() {
        let internal_up = (":0/internal", -1, "internal", "UP");
        for (cgrp, brokers) in [
            (Some(("up", "wait-join")), vec![UP]),
            (Some(("query-coord", "init")), vec![UP]),
            (None, vec![UP]),
            (Some(("up", "steady")), vec![DOWN, internal_up]),
        ] {
            let seen = judge(&stats(cgrp, &brokers), Role::Member);
            assert!(!seen.healthy(), "{seen:?}");
        }
    }

    /// A reader's statistics: its group (never joined) and the fetch state
    /// of each partition it assigned, beside librdkafka's own partition -1.
    fn reader(fetch_states: &[&str], broker: (&str, i32, &str, &str)) -> Statistics {
        let partitions = fetch_states
            .iter()
            .enumerate()
            .map(|(i, state)| (i as i32, state.to_string(), true))
            // librdkafka's own partition, and one it knows of but was not
            // asked to fetch.
            .chain([
                (-1, "none".to_owned(), false),
                (fetch_states.len() as i32, "stopped".to_owned(), false),
            ])
            .map(|(partition, fetch_state, desired)| {
                (
                    partition,
                    Partition {
                        partition,
                        leader: if partition >= 0 { 1 } else { -1 },
                        fetch_state,
                        desired,
                        ..Partition::default()
                    },
                )
            })
            .collect();
        let mut stats = stats(Some(("up", "init")), &[broker]);
        stats.topics.insert(
            "applications".to_owned(),
            Topic {
                topic: "applications".to_owned(),
                partitions,
                ..Topic::default()
            },
        );
        stats
    }

    #[test]
    fn a_reader_is_well_while_every_partition_fetches() {
        let seen = judge(&reader(&["active", "active"], UP), Role::Reader);
        assert!(seen.healthy(), "{seen:?}");
        assert!(
            seen.summary.contains("applications[1]=active"),
            "{}",
            seen.summary
        );
        assert!(
            !seen.summary.contains("applications[2]"),
            "a partition not asked for is not judged: {}",
            seen.summary
        );
        // The same consumer judged as a member would be out of its group.
        assert!(!judge(&reader(&["active"], UP), Role::Member).healthy());
    }

    #[test]
    fn a_reader_partition_without_a_leader_is_not_fetching() {
        let mut stats = reader(&["active", "active"], UP);
        for topic in stats.topics.values_mut() {
            if let Some(partition) = topic.partitions.get_mut(&1) {
                partition.leader = -1;
            }
        }
        let seen = judge(&stats, Role::Reader);
        assert!(!seen.healthy(), "{seen:?}");
        assert!(
            seen.summary.contains("applications[1]=no-leader"),
            "{}",
            seen.summary
        );
    }

    #[test]
    fn a_reader_with_a_partition_not_fetching_or_no_broker_is_not() {
        for (states, broker) in [
            (&["active", "offset-query"][..], UP),
            (&["active", "stopped"][..], UP),
            (&[][..], UP),
            (&["active"][..], DOWN),
        ] {
            let seen = judge(&reader(states, broker), Role::Reader);
            assert!(!seen.healthy(), "{states:?} {broker:?}: {seen:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cut_off_past_the_limit_is_not_ready_and_counted_once_per_consumer() {
        let mut registry = Registry::default();
        let health = Health::new(&mut registry);
        health.started();
        let cut_offs = CutOffs::register(&mut registry);
        let limit = Duration::from_secs(30);
        let member = watch(&mut ClientConfig::new(), &health, &cut_offs, limit);
        let reader = watch_reader(
            &mut ClientConfig::new(),
            &health,
            "kafka_registry",
            &cut_offs,
            limit,
        );
        let steady = stats(Some(("up", "steady")), &[UP]);
        let fetching = self::reader(&["active"], UP);
        member.stats(steady.clone());
        reader.stats(fetching.clone());
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(health.down().is_empty());
        // The broker goes away: reports keep coming, saying so. The reader
        // keeps fetching a while longer, then stops too.
        let cut = stats(Some(("up", "steady")), &[DOWN]);
        for _ in 0..10 {
            member.stats(cut.clone());
            reader.stats(fetching.clone());
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        assert_eq!(health.down(), ["kafka_consumer"]);
        for _ in 0..10 {
            member.stats(cut.clone());
            reader.stats(self::reader(&["offset-query"], DOWN));
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        assert_eq!(health.down(), ["kafka_consumer", "kafka_registry"]);
        for consumer in ["kafka_consumer", "kafka_registry"] {
            assert_eq!(cut_offs.of(consumer).get(), 1, "{consumer}: counted once");
        }
        member.stats(steady);
        reader.stats(fetching);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(health.down().is_empty(), "ready again once both are back");
    }
}
