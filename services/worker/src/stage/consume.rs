//! The consume stage: reads both inbound topics in one group, hands each
//! record to its key's lane (one key strictly in order, different keys in
//! parallel, see `lanes`), and commits each partition's offset only below
//! its lowest unfinished record. It never waits for a lane: a partition
//! with too many unfinished records is paused, and only that partition.
//!
//! On a rebalance, before a partition is given up, what is finished in it
//! is committed and its unfinished work is abandoned (its next owner
//! processes those records again; the processed-event table makes that
//! harmless), so no acknowledgement from the old assignment can move a
//! later owner's offsets.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use intake_adapters::kafka::watch::WatchedContext;
use intake_core::decide::OffsetTracker;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::statistics::Statistics;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::analyse::AnalyseStage;
use super::{Ack, InboundRecord, Position};
use crate::lanes::KeyLanes;
use crate::metrics::WorkerMetrics;

const COMMIT_EVERY: Duration = Duration::from_millis(500);

/// Unfinished records of one partition at which reading it pauses, and
/// the number it resumes at. Records are small claim checks (payloads are
/// in S3), so this bounds memory while letting other keys of the same
/// partition get well ahead of one that is stuck.
const PAUSE_AT: usize = 2_000;
const RESUME_AT: usize = 1_000;

type Partition = (String, i32);

/// What the consumer loop and the rebalance callback share: the offsets,
/// the acknowledgements not yet counted, and per partition the token that
/// abandons its work when it is taken away.
pub struct Tracking {
    tracker: OffsetTracker,
    acks: mpsc::UnboundedReceiver<Position>,
    partitions: HashMap<Partition, CancellationToken>,
}

impl Tracking {
    fn new(acks: mpsc::UnboundedReceiver<Position>) -> Self {
        Self {
            tracker: OffsetTracker::default(),
            acks,
            partitions: HashMap::new(),
        }
    }

    fn count_acks(&mut self) {
        while let Ok(done) = self.acks.try_recv() {
            self.tracker
                .finished(&done.topic, done.partition, done.offset);
        }
    }

    fn token(&mut self, topic: &str, partition: i32) -> CancellationToken {
        self.partitions
            .entry((topic.to_owned(), partition))
            .or_default()
            .clone()
    }

    /// Offsets safe to commit now, then forgets the partitions in `list`
    /// and abandons their work.
    fn revoke(&mut self, list: &TopicPartitionList) -> Vec<(String, i32, i64)> {
        self.count_acks();
        let commits = self.tracker.to_commit();
        for element in list.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            self.tracker.revoke(topic, partition);
            if let Some(token) = self.partitions.remove(&(topic.to_owned(), partition)) {
                token.cancel();
            }
        }
        commits
    }
}

/// The consumer's context: watches its health (see `kafka::watch`) and
/// settles partitions before they are revoked.
pub struct ConsumeContext {
    watched: WatchedContext,
    tracking: Arc<Mutex<Tracking>>,
}

impl ClientContext for ConsumeContext {
    fn stats(&self, statistics: Statistics) {
        self.watched.stats(statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.watched.error(error, reason);
    }
}

impl ConsumerContext for ConsumeContext {
    /// Runs inside the consumer's poll, so nothing else touches the
    /// tracking meanwhile. The commit is not waited for: during a broker
    /// outage that would hold this thread for the socket time-out, and a
    /// commit that misses the partition's move only means redelivery,
    /// which the processed-event table absorbs.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let commits = self
            .tracking
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .revoke(list);
        let revoked: Vec<String> = list
            .elements()
            .iter()
            .map(|e| format!("{}/{}", e.topic(), e.partition()))
            .collect();
        tracing::info!(
            ?revoked,
            "partitions revoked: finished work committed, the rest abandoned"
        );
        commit(consumer, commits, CommitMode::Async);
    }
}

pub struct ConsumeStage {
    analyse: Arc<AnalyseStage>,
    lanes: KeyLanes,
    tracking: Arc<Mutex<Tracking>>,
    acks: mpsc::UnboundedSender<Position>,
    metrics: WorkerMetrics,
}

impl ConsumeStage {
    /// The stage and the context to create its consumer with.
    pub fn new(
        analyse: AnalyseStage,
        lanes: usize,
        watched: WatchedContext,
        metrics: WorkerMetrics,
    ) -> (Self, ConsumeContext) {
        let (acks, received) = mpsc::unbounded_channel();
        let tracking = Arc::new(Mutex::new(Tracking::new(received)));
        let context = ConsumeContext {
            watched,
            tracking: tracking.clone(),
        };
        let stage = Self {
            analyse: Arc::new(analyse),
            lanes: KeyLanes::new(lanes),
            tracking,
            acks,
            metrics,
        };
        (stage, context)
    }

    pub async fn run(mut self, consumer: StreamConsumer<ConsumeContext>) {
        let mut paused: BTreeSet<Partition> = BTreeSet::new();
        let mut tick = tokio::time::interval(COMMIT_EVERY);
        loop {
            tokio::select! {
                message = consumer.recv() => {
                    let message = match message {
                        Ok(m) => m,
                        Err(error) => {
                            tracing::warn!(%error, "consumer error");
                            continue;
                        }
                    };
                    let record = InboundRecord {
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
                    self.start(&consumer, &mut paused, record);
                }
                _ = tick.tick() => {
                    let commits = {
                        let mut tracking = self.tracking.lock().unwrap_or_else(PoisonError::into_inner);
                        tracking.count_acks();
                        paused.retain(|partition| {
                            let still = tracking.tracker.in_flight_in(&partition.0, partition.1) > RESUME_AT;
                            if !still {
                                pause(&consumer, partition, false);
                            }
                            still
                        });
                        self.metrics.in_flight.set(tracking.tracker.in_flight() as i64);
                        tracking.tracker.to_commit()
                    };
                    self.lanes.sweep();
                    commit(&consumer, commits, CommitMode::Async);
                }
            }
        }
    }

    fn start(
        &mut self,
        consumer: &StreamConsumer<ConsumeContext>,
        paused: &mut BTreeSet<Partition>,
        record: InboundRecord,
    ) {
        self.metrics.consumed(&record.topic);
        let (topic, partition) = (record.topic.clone(), record.partition);
        let revoked = {
            let mut tracking = self.tracking.lock().unwrap_or_else(PoisonError::into_inner);
            tracking.tracker.started(&topic, partition, record.offset);
            if tracking.tracker.in_flight_in(&topic, partition) >= PAUSE_AT
                && paused.insert((topic.clone(), partition))
            {
                pause(consumer, &(topic.clone(), partition), true);
            }
            tracking.token(&topic, partition)
        };
        let ack = Ack::new(
            Position {
                topic,
                partition,
                offset: record.offset,
            },
            self.acks.clone(),
            revoked,
        );
        let analyse = self.analyse.clone();
        self.lanes.spawn(record.key.clone(), async move {
            analyse.handle(record, ack).await
        });
    }
}

fn pause(consumer: &StreamConsumer<ConsumeContext>, (topic, partition): &Partition, stop: bool) {
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
        Err(error) => tracing::warn!(topic, partition, %error, "pause or resume failed"),
    }
}

fn commit<C: ConsumerContext + 'static>(
    consumer: &impl Consumer<C>,
    offsets: Vec<(String, i32, i64)>,
    mode: CommitMode,
) {
    if offsets.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in &offsets {
        if let Err(error) = list.add_partition_offset(topic, *partition, Offset::Offset(*offset)) {
            tracing::warn!(%error, "bad offset to commit");
        }
    }
    // A failed commit (e.g. after a rebalance) only means redelivery,
    // which the processed-event table absorbs.
    if let Err(error) = consumer.commit(&list, mode) {
        tracing::warn!(%error, "offset commit failed");
    }
}
