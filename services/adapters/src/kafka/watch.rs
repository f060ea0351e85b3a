//! A consumer that notices when it is cut off: librdkafka's statistics
//! (every few seconds) say whether the consumer is in its group and a
//! broker is up. When it has not been for longer than `stall_after`, the
//! consumer's readiness goes down with what librdkafka last said, logged at
//! ERROR once; when it is again, readiness comes back. Statistics that stop
//! coming (a consumer loop that no longer polls) count as cut off too.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use prometheus_client::metrics::counter::Counter;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;

use crate::ops::{Dependency, Health, Registry};

/// How often librdkafka reports, and the monitor looks.
const EVERY: Duration = Duration::from_secs(5);

/// What one statistics report says about a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Joined and steady in its group.
    pub in_group: bool,
    /// At least one real broker connection is up.
    pub broker_up: bool,
    /// The states, in librdkafka's words, for the log.
    pub summary: String,
}

impl Seen {
    pub fn healthy(&self) -> bool {
        self.in_group && self.broker_up
    }
}

pub fn judge(stats: &Statistics) -> Seen {
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
    let (in_group, group) = match &stats.cgrp {
        Some(g) => (
            g.state == "up" && g.join_state == "steady",
            format!(
                "group {} / {} for {} ms, {} partitions",
                g.state, g.join_state, g.stateage, g.assignment_size
            ),
        ),
        None => (false, "no group coordinator yet".to_owned()),
    };
    Seen {
        in_group,
        broker_up,
        summary: format!("{group}; brokers {}", brokers.join(", ")),
    }
}

#[derive(Debug)]
struct State {
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
        let seen = judge(&statistics);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
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
/// the consumer with. A task judges the reports: `kafka_consumer` in
/// `health` goes down after `stall_after` without a healthy one, and
/// `intake_consumer_cut_off_total` counts each time it does.
pub fn watch(
    config: &mut ClientConfig,
    health: &Health,
    cut_off: Counter,
    stall_after: Duration,
) -> WatchedContext {
    config.set("statistics.interval.ms", EVERY.as_millis().to_string());
    let now = Instant::now();
    let context = WatchedContext {
        state: Arc::new(Mutex::new(State {
            last_healthy: now,
            last_seen: None,
            last_report: now,
            last_error: None,
        })),
    };
    let dependency = health.dependency("kafka_consumer");
    tokio::spawn(monitor(
        context.state.clone(),
        dependency,
        cut_off,
        stall_after,
    ));
    context
}

/// Registers the counter `watch` takes.
pub fn cut_off_counter(registry: &mut Registry) -> Counter {
    let counter = Counter::default();
    registry.register(
        "intake_consumer_cut_off",
        "Times the consumer was out of its group or without a broker longer than allowed",
        counter.clone(),
    );
    counter
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
            format!("not in its group with a broker up for {since_healthy:?}: {why}")
        };
        if dependency.is_up() {
            cut_off.inc();
        }
        dependency.set_down(&why);
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::statistics::{Broker, ConsumerGroup};

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
        let seen = judge(&stats(
            Some(("up", "steady")),
            &[UP, ("GroupCoordinator", -1, "logical", "UP")],
        ));
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
            let seen = judge(&stats(cgrp, &brokers));
            assert!(!seen.healthy(), "{seen:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cut_off_past_the_limit_is_not_ready_and_counted_once() {
        let mut registry = Registry::default();
        let health = Health::new(&mut registry);
        health.started();
        let counter = cut_off_counter(&mut registry);
        let context = watch(
            &mut ClientConfig::new(),
            &health,
            counter.clone(),
            Duration::from_secs(30),
        );
        let steady = stats(Some(("up", "steady")), &[UP]);
        context.stats(steady.clone());
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(health.down().is_empty());
        // The broker goes away: reports keep coming, saying so.
        let cut = stats(Some(("up", "steady")), &[DOWN]);
        for _ in 0..10 {
            context.stats(cut.clone());
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        assert_eq!(health.down(), ["kafka_consumer"]);
        assert_eq!(counter.get(), 1, "one outage, counted once");
        context.stats(steady);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(health.down().is_empty(), "ready again once it is back");
    }
}
