//! Materialising the compacted applications topic into PostgreSQL and
//! into this worker's in-memory view. The view starts from the table; the
//! whole topic is then read from the start at every boot (it holds one
//! record per application; upserts by version make rereading harmless),
//! and the worker takes supplements only once it has caught up, so
//! matching never sees a registry older than the supplements it matches.
//! Each change reaches the view only once it is stored.

use std::collections::HashMap;
use std::time::Duration;

use intake_adapters::kafka::watch::{self, CutOffs, WatchedContext};
use intake_adapters::kafka::{KafkaConfig, record_headers};
use intake_adapters::ops::Health;
use intake_adapters::retry::{Backoff, Retry, retry};
use intake_core::events::{ApplicationRecord, Event};
use intake_core::ids::ApplicationId;
use intake_core::topics;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use sqlx::PgPool;
use tokio::sync::oneshot;

use super::RegistryView;
use crate::store::{RegistryChange, apply_registry, registered_all};

const STORE_RETRY: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("the registry topic {0} has no partitions")]
    NoPartitions(String),
    #[error("reading the stored registry: {0}")]
    Load(#[from] sqlx::Error),
}

/// Starts following the registry; `caught_up` fires once everything that
/// was in the topic at start is in PostgreSQL. The reader is watched: it is
/// `kafka_registry` in `health`, down when it has not been fetching for
/// longer than the consumers' stall limit (matching then runs against a
/// registry that may be behind).
pub async fn follow(
    kafka: &KafkaConfig,
    group: &str,
    pool: PgPool,
    view: RegistryView,
    caught_up: oneshot::Sender<()>,
    health: &Health,
    cut_offs: &CutOffs,
) -> Result<tokio::task::JoinHandle<()>, RegistryError> {
    for (version, registered) in registered_all(&pool).await? {
        view.upsert(version, registered);
    }
    tracing::info!(applications = view.len(), "stored registry loaded");
    let topic = kafka.topics().name(&topics::APPLICATIONS);
    // A group id is required, but offsets are never committed here.
    let mut client = kafka.consumer(&format!("{group}-registry"));
    let watched = watch::watch_reader(
        &mut client,
        health,
        "kafka_registry",
        cut_offs,
        kafka.consumer_stall_after,
    );
    let consumer: StreamConsumer<WatchedContext> = client.create_with_context(watched)?;
    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(RegistryError::NoPartitions(topic));
    }
    let mut assignment = TopicPartitionList::new();
    let mut pending: HashMap<i32, i64> = HashMap::new();
    for &p in &partitions {
        assignment.add_partition_offset(&topic, p, Offset::Beginning)?;
        let (low, high) = consumer.fetch_watermarks(&topic, p, Duration::from_secs(10))?;
        if high > low {
            pending.insert(p, high);
        }
    }
    consumer.assign(&assignment)?;
    Ok(tokio::spawn(async move {
        let mut caught_up = Some(caught_up);
        if pending.is_empty()
            && let Some(tx) = caught_up.take()
        {
            let _ = tx.send(());
        }
        loop {
            let message = match consumer.recv().await {
                Ok(m) => m,
                Err(error) => {
                    tracing::warn!(error = %error, "registry consumer error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let (partition, offset) = (message.partition(), message.offset());
            match change(&message) {
                Ok(change) => {
                    // Stored or retried for ever: matching must not run
                    // against a registry with a hole in it.
                    let held = retry(STORE_RETRY, "storing a registry record", || async {
                        apply_registry(&pool, &change, partition, offset)
                            .await
                            .map_err(Retry::Transient)
                    })
                    .await;
                    match (&change, held) {
                        (RegistryChange::Upsert(record), Ok(_)) => {
                            view.upsert_record(record);
                        }
                        (RegistryChange::Delete(id), Ok(false)) => view.remove(id),
                        (RegistryChange::Delete(_), Ok(true)) | (_, Err(_)) => {}
                    }
                }
                Err(error) => {
                    tracing::error!(
                        partition,
                        offset,
                        error,
                        "skipping a malformed registry record"
                    );
                }
            }
            if pending
                .get(&partition)
                .is_some_and(|high| offset + 1 >= *high)
            {
                pending.remove(&partition);
                if pending.is_empty()
                    && let Some(tx) = caught_up.take()
                {
                    let _ = tx.send(());
                }
            }
        }
    }))
}

fn change(message: &rdkafka::message::BorrowedMessage<'_>) -> Result<RegistryChange, String> {
    let Some(payload) = message.payload() else {
        let key = message
            .key()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        return ApplicationId::parse(&key)
            .map(RegistryChange::Delete)
            .map_err(|e| format!("tombstone with a bad key: {e}"));
    };
    Event::<ApplicationRecord>::decode(record_headers(message), payload)
        .map(|event| RegistryChange::Upsert(event.data))
        .map_err(|e| format!("{e:#}"))
}
