//! Reading `receipts.v1`: each request is stored (once per supplement,
//! admitted or suppressed) before its offset may be committed; a record
//! that cannot be decoded goes to the dead-letter topic. Sending is the
//! sender's job, woken here.

use std::sync::Arc;
use std::time::Duration;

use intake_adapters::kafka::watch::WatchedContext;
use intake_adapters::kafka::{EventProducer, record_headers};
use intake_adapters::pg::dead_letters::{self, Origin, Parked};
use intake_adapters::pg::{is_transient, replays};
use intake_adapters::retry::{Backoff, Retry, retry};
use intake_adapters::telemetry;
use intake_core::dead_letter::ReplayTag;
use intake_core::events::{Event, ReceiptRequested};
use intake_core::receipt::RateLimit;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use sqlx::PgPool;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::store::{self, StoreError, Stored};

pub struct Intake {
    pub consumer: StreamConsumer<WatchedContext>,
    pub producer: EventProducer,
    pub pool: PgPool,
    pub domain: String,
    pub limit: RateLimit,
    pub wake: Arc<Notify>,
    pub metrics: crate::metrics::ReceiptMetrics,
    /// The consumer group, named in each record's span.
    pub group_id: String,
}

/// Why a request is given up on.
struct Failure<'a> {
    reason: &'static str,
    error: &'a str,
    supplement_id: Option<uuid::Uuid>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A request is stored before its offset moves on: retried until it is,
/// unless the database refuses it by its rules.
const STORE_RETRY: Backoff = Backoff::new(Duration::from_millis(200), MAX_BACKOFF);

impl Intake {
    pub async fn run(self) {
        loop {
            let message = match self.consumer.recv().await {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(error = %error, "consumer error");
                    continue;
                }
            };
            let headers = record_headers(&message);
            let payload = message.payload().unwrap_or_default();
            let span = telemetry::consumer_span(
                message.topic(),
                &self.group_id,
                message.partition(),
                message.offset(),
                telemetry::traceparent_header(headers.iter().copied()),
            );
            let taking = async {
                match Event::<ReceiptRequested>::decode(headers.iter().copied(), payload) {
                    Ok(event) => match self.store(&event.data).await {
                        Ok(()) => self.settle_replay(message.topic(), &headers).await,
                        Err(error) => {
                            let failure = Failure {
                                reason: "refused",
                                error: &error.to_string(),
                                supplement_id: Some(event.data.supplement_id),
                            };
                            self.park(&message, &headers, payload, failure).await
                        }
                    },
                    Err(error) => {
                        let failure = Failure {
                            reason: "undecodable",
                            error: &error.to_string(),
                            supplement_id: None,
                        };
                        self.park(&message, &headers, payload, failure).await
                    }
                }
            };
            taking.instrument(span).await;
            if let Err(error) = self.consumer.store_offset_from_message(&message) {
                tracing::warn!(error = %error, "could not store the consumer offset");
            }
        }
    }

    async fn park(
        &self,
        message: &rdkafka::message::BorrowedMessage<'_>,
        headers: &[(&str, &[u8])],
        payload: &[u8],
        failure: Failure<'_>,
    ) {
        let Failure {
            reason,
            error,
            supplement_id,
        } = failure;
        let letter = Parked {
            service: "receipts",
            reason,
            error,
            origin: Origin {
                topic: message.topic(),
                partition: message.partition(),
                offset: message.offset(),
            },
            supplement_id,
            key: message.key(),
            headers,
            payload,
        };
        // On record before the topic: the record's offset moves on after
        // this.
        dead_letters::park_durably(&self.pool, &letter, STORE_RETRY).await;
        let origin = format!(
            "{}/{}/{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        let key = String::from_utf8_lossy(message.key().unwrap_or_default());
        tracing::error!(
            error,
            origin,
            "receipt request sent to the dead-letter topic"
        );
        self.metrics.dead_letters.inc();
        self.producer
            .dead_letter(&origin, &key, headers, payload, error, MAX_BACKOFF)
            .await;
    }

    /// A dead letter's replayed copy, stored: its letter is replayed (if
    /// it waits for this very copy; a second delivery changes nothing).
    /// Stored first and settled after, so a crash between the two
    /// redelivers a copy whose request is already known, and settles it.
    async fn settle_replay(&self, topic: &str, headers: &[(&str, &[u8])]) {
        let Some(tag) = ReplayTag::find(headers.iter().copied()) else {
            return;
        };
        let settled = retry(STORE_RETRY, "settling a replayed copy", || async {
            replays::take(&self.pool, tag, topic).await.map_err(|e| {
                if is_transient(&e) {
                    Retry::Transient(e)
                } else {
                    Retry::Permanent(e)
                }
            })
        })
        .await;
        match settled {
            Ok(true) => tracing::info!(dead_letter = %tag.dead_letter, replay = tag.replay,
                "replayed copy stored; its dead letter is replayed"),
            Ok(false) => tracing::info!(dead_letter = %tag.dead_letter, replay = tag.replay,
                "replayed copy seen before; nothing to settle"),
            Err(error) => {
                tracing::error!(dead_letter = %tag.dead_letter, error = %error.into_inner(),
                "could not settle a replayed copy; its letter stays replaying")
            }
        }
    }

    /// Retried until stored (the offset must not pass a request that is
    /// not); a request the database refuses by its rules is returned.
    async fn store(&self, request: &ReceiptRequested) -> Result<(), StoreError> {
        let message_id = intake_core::receipt::receipt_message_id(request.receipt_id, &self.domain);
        let stored = retry(STORE_RETRY, "storing the receipt request", || async {
            store::store(&self.pool, request, &message_id, self.limit)
                .await
                .map_err(StoreError::classified)
        })
        .await
        .map_err(|e| e.into_inner())?;
        self.metrics.request(stored.as_str());
        match stored {
            Stored::Admitted => self.wake.notify_one(),
            Stored::Suppressed(reason) => tracing::info!(
                receipt_id = %request.receipt_id,
                supplement_id = %request.supplement_id,
                reason,
                "no receipt will be sent"
            ),
            Stored::Held(reason) => tracing::info!(
                receipt_id = %request.receipt_id,
                supplement_id = %request.supplement_id,
                reason,
                "receipt held to be combined with others to the same address"
            ),
            // Counted by tests and worth seeing: redelivery is normal
            // after a rebalance, a storm of it is not.
            Stored::AlreadyKnown => tracing::info!(
                receipt_id = %request.receipt_id,
                "receipt request redelivered; already stored"
            ),
        }
        Ok(())
    }
}
