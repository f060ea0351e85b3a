//! The record stage: the one place outcomes and dead letters are written.
//! It takes every record that is ready, as many as are waiting (up to a
//! batch), and commits their outcomes in one transaction (group commit),
//! then wakes the publisher and acknowledges each record to the consumer.
//!
//! A batch the database refuses for a reason of its own (a connection
//! lost, a server restarting) is tried again whole, for as long as it
//! takes: a database outage must not send anything to the dead-letter
//! topic. A batch refused for its contents is split: each record is
//! recorded alone, in order, and the one that fails alone is recorded as
//! unprocessable and dead-lettered, without holding up the rest.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use intake_adapters::kafka::EventProducer;
use intake_adapters::pg::dead_letters::{self, Origin, Parked};
use intake_adapters::pg::is_transient;
use intake_adapters::retry::Backoff;
use intake_adapters::s3::ObjectStore;
use intake_adapters::telemetry;
use intake_core::dead_letter::ReplayTag;
use intake_core::decide::Proposal;
use intake_core::events::ObjectRef;
use intake_core::topics::TopicNames;
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use super::{Decided, End, InboundRecord};
use crate::analyse::Analysis;
use crate::metrics::{Stage, WorkerMetrics};
use crate::store::{self, Pending, Recorded};

/// Transient failures of one batch after which it is halved.
const SPLIT_AFTER: u32 = 3;

pub struct RecordStage {
    pool: PgPool,
    topics: TopicNames,
    dedup_window: Duration,
    max_batch: usize,
    backoff: Backoff,
    /// For dead letters.
    producer: EventProducer,
    /// For inbound copies of files moved to quarantine.
    objects: ObjectStore,
    /// The next stage: publishes what was committed.
    publish: Arc<Notify>,
    metrics: WorkerMetrics,
}

pub struct RecordSettings {
    pub dedup_window: Duration,
    pub max_batch: usize,
    pub backoff: Backoff,
}

impl RecordStage {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pool: PgPool,
        topics: TopicNames,
        settings: RecordSettings,
        producer: EventProducer,
        objects: ObjectStore,
        publish: Arc<Notify>,
        metrics: WorkerMetrics,
    ) -> Self {
        Self {
            pool,
            topics,
            dedup_window: settings.dedup_window,
            max_batch: settings.max_batch.max(1),
            backoff: settings.backoff,
            producer,
            objects,
            publish,
            metrics,
        }
    }

    pub async fn run(self, mut inbox: mpsc::Receiver<Decided>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            if inbox.recv_many(&mut batch, self.max_batch).await == 0 {
                return;
            }
            self.record(std::mem::take(&mut batch)).await;
        }
    }

    async fn record(&self, batch: Vec<Decided>) {
        let (undecodable, batch): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|d| matches!(d.end, End::Undecodable { .. }));
        for item in undecodable {
            // Only the gateway writes the inbound topics: the id a record
            // that does not decode names is its own, and its arrival must
            // stop holding later supplements.
            if let Some(id) = item.supplement_id() {
                self.finish_claim(id).await;
            }
            self.dead_letter(item, "undecodable");
        }
        if batch.is_empty() {
            return;
        }
        let mut delays = self.backoff.delays();
        let mut failures = 0;
        loop {
            match self.commit(&batch).await {
                Ok(results) => return self.after(batch, results),
                // The database's state, not the batch's contents: waited
                // out. A batch that keeps failing so is halved, in case
                // its size is the trouble (a statement time-out).
                Err(error) if is_transient(&error) => {
                    failures += 1;
                    if failures >= SPLIT_AFTER && batch.len() > 1 {
                        tracing::warn!(%error, supplements = batch.len(),
                            "a batch of outcomes keeps failing; recording it in halves");
                        return self.record_halves(batch).await;
                    }
                    let retry_in = delays.next().unwrap_or(self.backoff.max);
                    tracing::warn!(%error, supplements = batch.len(), ?retry_in,
                        "could not record outcomes; trying again");
                    tokio::time::sleep(retry_in).await;
                }
                // Refused for what one of them holds: halved until the one
                // is alone, each half in order, so the rest are recorded.
                Err(error) if batch.len() > 1 => {
                    tracing::warn!(%error, supplements = batch.len(),
                        "a batch of outcomes was refused; recording it in halves");
                    return self.record_halves(batch).await;
                }
                Err(error) => {
                    if let Some(item) = batch.into_iter().next() {
                        self.give_up(item, &error).await;
                    }
                    return;
                }
            }
        }
    }

    async fn record_halves(&self, mut batch: Vec<Decided>) {
        let second = batch.split_off(batch.len() / 2);
        Box::pin(self.record(batch)).await;
        Box::pin(self.record(second)).await;
    }

    async fn commit(&self, batch: &[Decided]) -> Result<Vec<Recorded>, sqlx::Error> {
        let unprocessable: Vec<Option<Proposal>> = batch
            .iter()
            .map(|d| match &d.end {
                End::Failed { error, .. } => Some(Proposal::Unprocessable {
                    detail: error.clone(),
                }),
                _ => None,
            })
            .collect();
        let headers: Vec<Vec<(&str, &[u8])>> = batch
            .iter()
            .map(|d| match d.end {
                End::Failed { .. } => d.record.headers().collect(),
                _ => Vec::new(),
            })
            .collect();
        let pending: Vec<Pending<'_>> = batch
            .iter()
            .zip(&unprocessable)
            .zip(&headers)
            .filter_map(|((d, failed), headers)| {
                let (analysis, proposal, registered) = match (&d.end, failed) {
                    (
                        End::Outcome {
                            analysis,
                            proposal,
                            registered,
                        },
                        _,
                    ) => (analysis, proposal, registered.as_ref()),
                    (End::Failed { unread, .. }, Some(proposal)) => (unread, proposal, None),
                    _ => return None,
                };
                let dead_letter = match &d.end {
                    End::Failed { error, unread } => Some(parked(
                        &d.record,
                        "failed",
                        error,
                        Some(unread.supplement_id),
                        headers,
                    )),
                    _ => None,
                };
                Some(Pending {
                    event_id: d.event_id?,
                    topic: &d.record.topic,
                    partition: d.record.partition,
                    offset: d.record.offset,
                    analysis,
                    proposal,
                    registered,
                    traceparent: d.span.in_scope(telemetry::current_traceparent),
                    dead_letter,
                    replay: ReplayTag::find(d.record.headers()),
                })
            })
            .collect();
        let spans: Vec<&tracing::Span> = batch
            .iter()
            .filter(|d| !matches!(d.end, End::Undecodable { .. }))
            .map(|d| &d.span)
            .collect();
        self.metrics
            .timed_together(
                Stage::Commit,
                &spans,
                store::record(&self.pool, &self.topics, self.dedup_window, &pending),
            )
            .await
    }

    /// After the commit: count, log in each record's trace, wake the
    /// publisher, clean up, dead-letter the failed ones, acknowledge.
    fn after(&self, batch: Vec<Decided>, results: Vec<Recorded>) {
        self.publish.notify_one();
        for (item, recorded) in batch.into_iter().zip(results) {
            let analysis = match &item.end {
                End::Outcome { analysis, .. }
                | End::Failed {
                    unread: analysis, ..
                } => analysis,
                End::Undecodable { .. } => continue,
            };
            match recorded {
                Recorded::Written { kind, sequence } => {
                    let waited = (Utc::now() - analysis.arrived_at).as_seconds_f64();
                    self.metrics
                        .recorded(analysis.channel.as_str(), kind.as_str(), waited);
                    for file in &analysis.files {
                        self.metrics.file(&file.verdict);
                    }
                    tracing::info!(
                        parent: &item.span,
                        supplement_id = %analysis.supplement_id,
                        outcome = kind.as_str(),
                        sequence,
                        "supplement recorded"
                    );
                    self.remove_inbound_copies(analysis);
                }
                Recorded::Returned => {
                    tracing::warn!(parent: &item.span, supplement_id = %analysis.supplement_id,
                        "a replayed copy failed again; back to its dead letter");
                    self.remove_unreferenced(analysis);
                }
                Recorded::AlreadyProcessed => {
                    tracing::info!(parent: &item.span, supplement_id = %analysis.supplement_id,
                        "already processed; redelivery skipped");
                    self.metrics.redelivered();
                    self.remove_unreferenced(analysis);
                }
            }
            // A failed one is dead-lettered once: with the outcome that
            // records its failure, not again on its redelivery.
            if matches!(item.end, End::Failed { .. }) && recorded != Recorded::AlreadyProcessed {
                self.dead_letter(item, "failed");
            } else {
                item.ack.done();
            }
        }
    }

    /// One record the database refuses even alone: recorded as
    /// unprocessable from what its event says, and dead-lettered.
    async fn give_up(&self, item: Decided, error: &sqlx::Error) {
        tracing::error!(parent: &item.span, %error, supplement_id = ?item.supplement_id(),
            "the database refuses this outcome; recording it as unprocessable");
        let stripped = match &item.end {
            End::Outcome { analysis, .. } => Some(analysis.stripped()),
            // Even its unprocessable outcome was refused.
            End::Failed { .. } | End::Undecodable { .. } => None,
        };
        let error = format!("recording the outcome failed: {error}");
        match stripped {
            Some(unread) => {
                let failed = Decided {
                    end: End::Failed { unread, error },
                    ..item
                };
                Box::pin(self.record(vec![failed])).await;
            }
            None => {
                if let Some(id) = item.supplement_id() {
                    self.finish_claim(id).await;
                }
                let supplement_id = item.supplement_id();
                let item = Decided {
                    end: End::Undecodable {
                        error,
                        supplement_id,
                    },
                    ..item
                };
                self.dead_letter(item, "failed");
            }
        }
    }

    /// Its arrival stops holding later supplements even without an outcome.
    async fn finish_claim(&self, supplement_id: Uuid) {
        let mut delays = self.backoff.delays();
        while let Err(error) = store::mark_finished(&self.pool, supplement_id).await {
            let retry_in = delays.next().unwrap_or(self.backoff.max);
            tracing::warn!(%error, %supplement_id, ?retry_in,
                "could not mark a dead-lettered arrival finished; retrying");
            tokio::time::sleep(retry_in).await;
        }
    }

    /// Parks the record on the dead-letter topic with the reason, off this
    /// task (it retries until the broker has it), then acknowledges it. A
    /// failed record's letter was put on record with its outcome; an
    /// undecodable one's is put on record here first, retried while the
    /// database is away.
    fn dead_letter(&self, item: Decided, reason: &'static str) {
        let error = match &item.end {
            End::Failed { error, .. } | End::Undecodable { error, .. } => error.clone(),
            End::Outcome { .. } => return item.ack.done(),
        };
        self.metrics.dead_lettered(reason);
        tracing::error!(parent: &item.span, supplement_id = ?item.supplement_id(), error,
            "record sent to the dead-letter topic");
        let producer = self.producer.clone();
        let pool = self.pool.clone();
        let backoff = self.backoff;
        tokio::spawn(async move {
            let record = &item.record;
            let headers: Vec<(&str, &[u8])> = record.headers().collect();
            if let End::Undecodable { supplement_id, .. } = &item.end {
                let letter = parked(record, reason, &error, *supplement_id, &headers);
                dead_letters::park_durably(&pool, &letter, backoff).await;
            }
            let origin = format!("{}/{}/{}", record.topic, record.partition, record.offset);
            let key = String::from_utf8_lossy(record.key.as_deref().unwrap_or_default());
            producer
                .dead_letter(
                    &origin,
                    &key,
                    &headers,
                    record.payload.as_deref().unwrap_or_default(),
                    &error,
                    backoff.max,
                )
                .await;
            item.ack.done();
        });
    }

    /// Files moved to quarantine: their inbound copies go once that is on
    /// record.
    fn remove_inbound_copies(&self, analysis: &Analysis) {
        let copies = analysis
            .files
            .iter()
            .filter_map(|f| f.remove_after.clone())
            .collect();
        self.remove(copies, "a quarantined file's inbound copy");
    }

    /// A run whose event was recorded already removes what it stored,
    /// but never an object the recorded rows refer to: "already recorded"
    /// may be this very run's own commit, retried after its answer was
    /// lost. If the rows cannot be read, nothing is removed.
    fn remove_unreferenced(&self, analysis: &Analysis) {
        let own = analysis.own_objects();
        if own.is_empty() {
            return;
        }
        let pool = self.pool.clone();
        let store = self.objects.clone();
        let supplement_id = analysis.supplement_id;
        tokio::spawn(async move {
            match store::referenced_objects(&pool, supplement_id).await {
                Ok(referenced) => {
                    let unreferenced = own
                        .into_iter()
                        .filter(|o| !referenced.contains(&(o.bucket.clone(), o.key.clone())))
                        .collect();
                    delete_all(&store, unreferenced, "a redelivery's own copy").await;
                }
                Err(error) => tracing::warn!(%error, %supplement_id,
                    "could not tell which objects the recorded supplement refers to; keeping them"),
            }
        });
    }

    fn remove(&self, objects: Vec<ObjectRef>, what: &'static str) {
        if objects.is_empty() {
            return;
        }
        let store = self.objects.clone();
        tokio::spawn(async move { delete_all(&store, objects, what).await });
    }
}

async fn delete_all(store: &ObjectStore, objects: Vec<ObjectRef>, what: &'static str) {
    for object in objects {
        if let Err(error) = store.delete(&object.bucket, &object.key).await {
            tracing::warn!(%error, key = %object.key, "could not remove {what}");
        }
    }
}

/// A record the worker gives up on, as its dead letter.
fn parked<'a>(
    record: &'a InboundRecord,
    reason: &'a str,
    error: &'a str,
    supplement_id: Option<Uuid>,
    headers: &'a [(&'a str, &'a [u8])],
) -> Parked<'a> {
    Parked {
        service: "worker",
        reason,
        error,
        origin: Origin {
            topic: &record.topic,
            partition: record.partition,
            offset: record.offset,
        },
        supplement_id,
        key: record.key.as_deref(),
        headers,
        payload: record.payload.as_deref().unwrap_or_default(),
    }
}
