//! The consumer loop: reads both inbound topics in one group, hands each
//! record to its key's lane (one key strictly in order, different keys in
//! parallel, see `lanes`), and commits each partition's offset only below
//! its lowest unfinished record. It never waits for a lane: a partition
//! with too many unfinished records is paused, and only that partition.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use intake_core::decide::OffsetTracker;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::lanes::KeyLanes;
use crate::pipeline::{Finished, Job, Pipeline};

const COMMIT_EVERY: Duration = Duration::from_millis(500);

/// Unfinished records of one partition at which reading it pauses, and
/// the number it resumes at. Records are small claim checks (payloads are
/// in S3), so this bounds memory while letting other keys of the same
/// partition get well ahead of one that is stuck.
const PAUSE_AT: usize = 2_000;
const RESUME_AT: usize = 1_000;

pub async fn run(
    consumer: StreamConsumer,
    pipeline: Arc<Pipeline>,
    lanes: usize,
    mut finished: mpsc::Receiver<Finished>,
    metrics: crate::metrics::WorkerMetrics,
) {
    let mut lanes = KeyLanes::new(lanes);
    let mut paused: BTreeSet<(String, i32)> = BTreeSet::new();
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
                metrics.consumed(&job.topic);
                tracker.started(&job.topic, job.partition, job.offset);
                let partition = (job.topic.clone(), job.partition);
                if tracker.in_flight_in(&partition.0, partition.1) >= PAUSE_AT
                    && paused.insert(partition.clone())
                {
                    pause(&consumer, &partition, true);
                }
                let pipeline = pipeline.clone();
                lanes.spawn(job.key.clone(), async move { pipeline.handle(job).await });
            }
            Some(done) = finished.recv() => {
                tracker.finished(&done.topic, done.partition, done.offset);
            }
            _ = tick.tick() => {
                while let Ok(done) = finished.try_recv() {
                    tracker.finished(&done.topic, done.partition, done.offset);
                }
                paused.retain(|partition| {
                    let still = tracker.in_flight_in(&partition.0, partition.1) > RESUME_AT;
                    if !still {
                        pause(&consumer, partition, false);
                    }
                    still
                });
                lanes.sweep();
                metrics.in_flight.set(tracker.in_flight() as i64);
                commit(&consumer, tracker.to_commit());
            }
        }
    }
}

fn pause(consumer: &StreamConsumer, (topic, partition): &(String, i32), stop: bool) {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, *partition);
    let result = if stop {
        consumer.pause(&list)
    } else {
        consumer.resume(&list)
    };
    match result {
        Ok(()) if stop => {
            tracing::warn!(
                topic,
                partition,
                "partition paused: too many unfinished records"
            )
        }
        Ok(()) => tracing::info!(topic, partition, "partition resumed"),
        Err(error) => tracing::warn!(topic, partition, error = %error, "pause or resume failed"),
    }
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
