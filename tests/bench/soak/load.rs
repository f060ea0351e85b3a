//! Steady traffic: events of the planned size produced at the planned rate
//! across the catalogue's topics (under a prefix of the soak's own), in
//! the proportions the product makes them, and a group consuming them all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use intake_adapters::kafka::KafkaConfig;
use intake_core::topics::{self, Cleanup, TopicSpec};
use rand::{Rng, SeedableRng};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

/// How many of every hundred events each topic gets: both inbound topics
/// carry the supplements, the rest follow from them.
const SHARES: [(TopicSpec, u32); 8] = [
    (topics::SECUREMAIL, 30),
    (topics::ENTER_FINLAND, 30),
    (topics::ROUTED, 15),
    (topics::RECEIPTS, 14),
    (topics::APPLICATIONS, 5),
    (topics::TRIAGE, 3),
    (topics::QUARANTINE, 2),
    (topics::DEAD_LETTER, 1),
];

/// Keys of the compacted registry repeat, as applications are updated.
const APPLICATIONS: u32 = 5_000;

#[derive(Default)]
pub struct Counters {
    pub produced: AtomicU64,
    pub failed: AtomicU64,
    pub consumed: AtomicU64,
}

pub fn topic_names(kafka: &KafkaConfig) -> Vec<String> {
    SHARES
        .iter()
        .map(|(spec, _)| kafka.topics().name(spec))
        .collect()
}

/// Produces `events` at `rate` per second, in ticks of 10 ms; a tick that
/// falls behind is made up in the next, so the average rate holds.
pub async fn produce(
    kafka: &KafkaConfig,
    events: u64,
    rate: u64,
    event_bytes: usize,
    counters: Arc<Counters>,
) {
    let producer: FutureProducer = kafka.producer().create().expect("load producer");
    let names = topic_names(kafka);
    let mut random = rand::rngs::StdRng::seed_from_u64(15);
    let payload: Vec<u8> = (0..event_bytes).map(|_| random.random()).collect();
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0u64;
    let mut deliveries = futures::stream::FuturesUnordered::new();
    while sent < events {
        tokio::select! {
            _ = tick.tick() => {}
            Some(delivered) = deliveries.next() => {
                count(&counters, delivered);
                continue;
            }
        }
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due.min(events) {
            let (topic, key) = pick(&names, &mut random);
            let record = FutureRecord::to(topic).key(&key).payload(&payload);
            match producer.send_result(record) {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    sent += 1;
                }
                // The local queue is full: the broker is behind.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => break,
                Err((error, _)) => panic!("cannot produce to {topic}: {error}"),
            }
        }
    }
    while let Some(delivered) = deliveries.next().await {
        count(&counters, delivered);
    }
}

fn count(
    counters: &Counters,
    delivered: Result<
        rdkafka::producer::future_producer::OwnedDeliveryResult,
        futures::channel::oneshot::Canceled,
    >,
) {
    match delivered {
        Ok(Ok(_)) => counters.produced.fetch_add(1, Ordering::Relaxed),
        _ => counters.failed.fetch_add(1, Ordering::Relaxed),
    };
}

fn pick<'a>(names: &'a [String], random: &mut impl Rng) -> (&'a str, String) {
    let mut roll = random.random_range(0..100);
    for ((spec, share), name) in SHARES.iter().zip(names) {
        if roll < *share {
            let key = if spec.cleanup == Cleanup::Compact {
                format!("application-{}", random.random_range(0..APPLICATIONS))
            } else {
                format!("key-{}", random.random::<u32>())
            };
            return (name, key);
        }
        roll -= share;
    }
    unreachable!("the shares add up to 100")
}

/// Consumes every soak topic in one group, committing as it goes, until
/// `stop`; topics deleted under it are not an error.
pub async fn consume(
    kafka: &KafkaConfig,
    group: &str,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let consumer: StreamConsumer = kafka
        .consumer(group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "true")
        .set("auto.commit.interval.ms", "1000")
        .create()
        .expect("load consumer");
    let names = topic_names(kafka);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    consumer.subscribe(&names).expect("subscribe");
    let mut stream = consumer.stream();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            next = stream.next() => match next {
                Some(Ok(_)) => {
                    counters.consumed.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(_)) | None => tokio::time::sleep(Duration::from_millis(100)).await,
            },
        }
    }
}

/// Every share is a catalogue topic, once, with `retention` for those
/// whose records expire: the catalogue's days, compressed into the soak.
pub fn specs(retention: Duration) -> Vec<TopicSpec> {
    SHARES
        .iter()
        .map(|(spec, _)| match spec.cleanup {
            Cleanup::Delete(_) => TopicSpec {
                cleanup: Cleanup::Delete(retention),
                ..*spec
            },
            Cleanup::Compact => *spec,
        })
        .collect()
}
