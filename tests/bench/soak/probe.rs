//! What a client of the broker waits for: metadata, a produce, a fetch and
//! a group join, each timed on its own small request. A request that fails
//! or outlasts `TIMEOUT` is counted as such, not as a time.

use std::time::{Duration, Instant};

use intake_adapters::kafka::KafkaConfig;
use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;

/// Longer than any healthy answer by far; what a service would give up at.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Milliseconds per request; `None` when it failed or timed out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub metadata_ms: Option<f64>,
    pub produce_ms: Option<f64>,
    pub fetch_ms: Option<f64>,
    pub join_ms: Option<f64>,
}

impl Latency {
    pub fn failures(&self) -> usize {
        [
            self.metadata_ms,
            self.produce_ms,
            self.fetch_ms,
            self.join_ms,
        ]
        .iter()
        .filter(|v| v.is_none())
        .count()
    }
}

pub struct Probe {
    kafka: KafkaConfig,
    topic: String,
    producer: FutureProducer,
}

impl Probe {
    pub fn new(kafka: &KafkaConfig, topic: String) -> Self {
        let producer = kafka
            .producer()
            .set("message.timeout.ms", TIMEOUT.as_millis().to_string())
            .create()
            .expect("probe producer");
        Self {
            kafka: kafka.clone(),
            topic,
            producer,
        }
    }

    pub async fn measure(&self) -> Latency {
        let metadata_ms = self.blocking(metadata).await;
        let started = Instant::now();
        let delivered = self
            .producer
            .send(
                FutureRecord::to(&self.topic).key("probe").payload("probe"),
                TIMEOUT,
            )
            .await;
        let (produce_ms, fetch_ms) = match delivered {
            Ok(delivery) => {
                let produce = millis(started);
                let offset = delivery.offset;
                let partition = delivery.partition;
                let fetch = self
                    .blocking(move |kafka, topic| fetch(kafka, topic, partition, offset))
                    .await;
                (Some(produce), fetch)
            }
            Err(_) => (None, None),
        };
        let join_ms = self.blocking(join).await;
        Latency {
            metadata_ms,
            produce_ms,
            fetch_ms,
            join_ms,
        }
    }

    /// librdkafka's consumer calls block: each runs on a blocking thread.
    async fn blocking(
        &self,
        request: impl FnOnce(&KafkaConfig, &str) -> Option<f64> + Send + 'static,
    ) -> Option<f64> {
        let kafka = self.kafka.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || request(&kafka, &topic))
            .await
            .expect("probe task")
    }
}

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn metadata(kafka: &KafkaConfig, topic: &str) -> Option<f64> {
    let client: BaseConsumer = kafka.admin().create().ok()?;
    let started = Instant::now();
    client.fetch_metadata(Some(topic), TIMEOUT).ok()?;
    Some(millis(started))
}

/// From assignment to the probe record in hand.
fn fetch(kafka: &KafkaConfig, topic: &str, partition: i32, offset: i64) -> Option<f64> {
    let consumer: BaseConsumer = kafka.consumer("soak-probe-fetch").create().ok()?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(offset))
        .ok()?;
    let started = Instant::now();
    consumer.assign(&assignment).ok()?;
    while started.elapsed() < TIMEOUT {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            return Some(millis(started));
        }
    }
    None
}

/// A member joining the same group each time, as a restarted service
/// does: from subscribing to holding an assignment (JoinGroup, SyncGroup).
fn join(kafka: &KafkaConfig, topic: &str) -> Option<f64> {
    let consumer: BaseConsumer = kafka.member("soak-probe-join", None).create().ok()?;
    let started = Instant::now();
    consumer.subscribe(&[topic]).ok()?;
    let mut joined = None;
    while started.elapsed() < TIMEOUT {
        let _ = consumer.poll(Duration::from_millis(50));
        if consumer.assignment().is_ok_and(|a| a.count() > 0) {
            joined = Some(millis(started));
            break;
        }
    }
    // Leaves the group, so the next join does not wait for this member.
    consumer.unsubscribe();
    joined
}
