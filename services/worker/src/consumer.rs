//! The consumer loop: reads both inbound topics in one group, hands each
//! record to a lane chosen by its key (one key strictly in order,
//! different keys in parallel), and commits each partition's offset only
//! below its lowest unfinished record.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use intake_core::decide::OffsetTracker;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::pipeline::{Finished, Job, Pipeline};

/// Queue depth of each lane: enough to keep it busy, small enough that a
/// stalled lane (scanner down) soon stops the consumer reading ahead.
const LANE_DEPTH: usize = 4;
const COMMIT_EVERY: Duration = Duration::from_millis(500);

pub async fn run(
    consumer: StreamConsumer,
    pipeline: Arc<Pipeline>,
    lanes: usize,
    mut finished: mpsc::UnboundedReceiver<Finished>,
    in_flight: Arc<std::sync::atomic::AtomicI64>,
) {
    let senders: Vec<mpsc::Sender<Job>> = (0..lanes.max(1))
        .map(|_| {
            let (tx, mut rx) = mpsc::channel::<Job>(LANE_DEPTH);
            let pipeline = pipeline.clone();
            tokio::spawn(async move {
                while let Some(job) = rx.recv().await {
                    pipeline.handle(job).await;
                }
            });
            tx
        })
        .collect();
    let mut tracker = OffsetTracker::default();
    let mut tick = tokio::time::interval(COMMIT_EVERY);
    loop {
        tokio::select! {
            message = consumer.recv() => {
                let message = match message {
                    Ok(m) => m,
                    Err(error) => {
                        tracing::warn!(error = %error, "consumer error");
                        continue;
                    }
                };
                let job = Job {
                    topic: message.topic().to_owned(),
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    headers: message
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    payload: message.payload().map(<[u8]>::to_vec),
                };
                drop(message);
                tracker.started(&job.topic, job.partition, job.offset);
                let lane = lane_of(job.key.as_deref(), senders.len());
                // Waits while the lane is full: back-pressure on reading.
                if senders[lane].send(job).await.is_err() {
                    return;
                }
            }
            Some(done) = finished.recv() => {
                tracker.finished(&done.topic, done.partition, done.offset);
            }
            _ = tick.tick() => {
                while let Ok(done) = finished.try_recv() {
                    tracker.finished(&done.topic, done.partition, done.offset);
                }
                in_flight.store(tracker.in_flight() as i64, std::sync::atomic::Ordering::Relaxed);
                commit(&consumer, tracker.to_commit());
            }
        }
    }
}

fn lane_of(key: Option<&[u8]>, lanes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

fn commit(consumer: &StreamConsumer, offsets: Vec<(String, i32, i64)>) {
    if offsets.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in &offsets {
        if let Err(error) = list.add_partition_offset(topic, *partition, Offset::Offset(*offset)) {
            tracing::warn!(error = %error, "bad offset to commit");
        }
    }
    // A failed commit (e.g. after a rebalance) only means redelivery,
    // which the processed-event table absorbs.
    if let Err(error) = consumer.commit(&list, CommitMode::Async) {
        tracing::warn!(error = %error, "offset commit failed");
    }
}
