//! Publishing events: one idempotent producer per process, each send
//! awaited until the broker has it on all in-sync replicas.

use std::time::Duration;

use intake_core::events::{Event, EventData};
use intake_core::topics::{TopicNames, TopicSpec};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use super::KafkaConfig;
use super::headers::owned_headers;
use crate::retry::{Backoff, Retry, retry};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("could not create the Kafka producer")]
    Client(#[source] KafkaError),
    #[error("publishing to {topic} failed")]
    Send {
        topic: String,
        #[source]
        source: KafkaError,
    },
}

impl PublishError {
    /// Whether the broker may hold the record although the send reported
    /// failure (a timeout, a broken connection): only a refusal of the
    /// record itself proves it was not written. Whoever sent it must then
    /// keep everything the record may point to.
    pub fn outcome_unknown(&self) -> bool {
        use rdkafka::types::RDKafkaErrorCode as Code;
        match self {
            PublishError::Client(_) => false,
            PublishError::Send { source, .. } => !matches!(
                source.rdkafka_error_code(),
                Some(
                    Code::MessageSizeTooLarge
                        | Code::InvalidMessage
                        | Code::InvalidRecord
                        | Code::InvalidTopic
                        | Code::TopicAuthorizationFailed
                )
            ),
        }
    }
}

#[derive(Clone)]
pub struct EventProducer {
    producer: FutureProducer,
    topics: TopicNames,
}

impl EventProducer {
    pub fn new(config: &KafkaConfig) -> Result<Self, PublishError> {
        let producer = config.producer().create().map_err(PublishError::Client)?;
        Ok(Self {
            producer,
            topics: config.topics(),
        })
    }

    /// Sends one event and returns its (partition, offset).
    pub async fn publish<T: EventData>(
        &self,
        topic: &TopicSpec,
        event: &Event<T>,
    ) -> Result<(i32, i64), PublishError> {
        let name = self.topics.name(topic);
        let key = event.key();
        let payload = event.payload();
        let record = FutureRecord::to(&name)
            .key(&key)
            .payload(&payload)
            .headers(owned_headers(&event.headers()));
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(source, _)| PublishError::Send {
                topic: name,
                source,
            })
    }

    /// Sends an already-encoded record (an outbox row, a dead letter) to a
    /// full topic name.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: &str,
        headers: &[(&str, &[u8])],
        payload: &[u8],
    ) -> Result<(i32, i64), PublishError> {
        self.send_bytes(topic, Some(key.as_bytes()), headers, payload)
            .await
    }

    /// Sends a record as it was read (a dead letter's copy going back to
    /// its origin topic): its key, which places it on the partition of its
    /// application, may be any bytes, or none.
    pub async fn send_bytes(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        headers: &[(&str, &[u8])],
        payload: &[u8],
    ) -> Result<(i32, i64), PublishError> {
        let mut owned = rdkafka::message::OwnedHeaders::new_with_capacity(headers.len());
        for (name, value) in headers {
            owned = owned.insert(rdkafka::message::Header {
                key: name,
                value: Some(*value),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).payload(payload).headers(owned);
        if let Some(key) = key {
            record = record.key(key);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(source, _)| PublishError::Send {
                topic: topic.to_owned(),
                source,
            })
    }

    /// Parks a record that cannot be processed on the dead-letter topic,
    /// with its original headers, the reason and where it came from
    /// (`topic/partition/offset`). Retried until the broker has it: the
    /// caller moves past the record only after this returns.
    pub async fn dead_letter(
        &self,
        origin: &str,
        key: &str,
        headers: &[(&str, &[u8])],
        payload: &[u8],
        error: &str,
        max_backoff: Duration,
    ) {
        let topic = self.topics.name(&intake_core::topics::DEAD_LETTER);
        let mut headers = headers.to_vec();
        headers.push(("intake_error", error.as_bytes()));
        headers.push(("intake_origin", origin.as_bytes()));
        let forever = Backoff::new(Duration::from_millis(200), max_backoff);
        let _ = retry(forever, "publishing a dead letter", || async {
            self.send_raw(&topic, key, &headers, payload)
                .await
                .map_err(Retry::Transient)
        })
        .await;
    }

    /// The full name of `spec` (with the configured prefix).
    pub fn topic_name(&self, spec: &TopicSpec) -> String {
        self.topics.name(spec)
    }

    /// Whether a broker answers a metadata request for one topic within
    /// `timeout` (a readiness probe: the whole cluster's metadata would
    /// cost the broker more than the question is worth). librdkafka's call
    /// blocks: off the runtime.
    pub async fn reachable(&self, spec: &TopicSpec, timeout: Duration) -> Result<(), KafkaError> {
        let producer = self.producer.clone();
        let topic = self.topics.name(spec);
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map(|_| ())
        })
        .await
        .unwrap_or(Err(KafkaError::Canceled))
    }

    /// Waits for everything in flight, e.g. before shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}

#[cfg(test)]
mod outcome_tests {
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;

    use super::PublishError;

    fn send(code: RDKafkaErrorCode) -> PublishError {
        PublishError::Send {
            topic: "t".into(),
            source: KafkaError::MessageProduction(code),
        }
    }

    #[test]
    fn only_a_refused_record_is_known_not_to_be_written() {
        assert!(send(RDKafkaErrorCode::MessageTimedOut).outcome_unknown());
        assert!(send(RDKafkaErrorCode::BrokerTransportFailure).outcome_unknown());
        assert!(send(RDKafkaErrorCode::RequestTimedOut).outcome_unknown());
        assert!(!send(RDKafkaErrorCode::MessageSizeTooLarge).outcome_unknown());
        assert!(!send(RDKafkaErrorCode::TopicAuthorizationFailed).outcome_unknown());
    }
}
