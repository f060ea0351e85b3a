//! The analyse stage: one record from its bytes to a proposed outcome.
//! It decodes the event, skips one already recorded (a redelivery),
//! analyses the content (decrypt, unpack, inspect, scan) and matches it
//! against the in-memory registry, retrying what may pass; then hands the
//! record to the order stage, whatever became of it.
//!
//! The redelivery check costs a query per record, and the recorder's
//! insert into `processed_events` would keep a redelivery from being
//! recorded twice anyway; it stays because analysing an event again
//! writes its derived objects again under the same keys, and a verdict
//! that changed in between (new signatures) must not touch what the first
//! analysis delivered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::Utc;
use intake_adapters::pg::is_transient;
use intake_adapters::retry::{Backoff, Retry, retry};
use intake_adapters::telemetry;
use intake_core::dead_letter::ReplayTag;
use intake_core::decide::{Decision, Explicit, NonPartyPolicy, Proposal, match_supplement};
use intake_core::events::{
    EnterFinlandReceived, Event, ReceiptRecipient, SecuremailReceived, TriageReason,
};
use intake_core::receipt::{NoReceipt, no_receipt};
use intake_core::topics::{self, TopicNames};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tracing::Instrument;
use uuid::Uuid;

use super::{Ack, Decided, End, InboundRecord};
use crate::analyse::{AnalyseError, Analyser, Analysis, Inbound};
use crate::content::ContentError;
use crate::metrics::{Stage, WorkerMetrics};
use crate::registry::RegistryView;
use crate::store::Registered;

/// Why a step of analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Analyse(#[from] AnalyseError),
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
    #[error("matched an application that is not in the registry")]
    NotInRegistry,
}

impl StepError {
    /// A database or object store that does not answer is waited out,
    /// however long (an outage must not turn supplements into dead
    /// letters); content that fails to read is tried a few times.
    fn classified(self, content_failures: &AtomicUsize, limit: usize) -> Retry<Self> {
        match &self {
            StepError::Database(e) if is_transient(e) => Retry::Transient(self),
            StepError::Analyse(AnalyseError::Content(ContentError::Store(_))) => {
                Retry::Transient(self)
            }
            StepError::Analyse(AnalyseError::Content(c)) if c.is_transient() => {
                if content_failures.fetch_add(1, Ordering::Relaxed) + 1 < limit {
                    Retry::Transient(self)
                } else {
                    Retry::Permanent(self)
                }
            }
            StepError::Database(_) | StepError::Analyse(_) | StepError::NotInRegistry => {
                Retry::Permanent(self)
            }
        }
    }
}

/// A record's event that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("record without a payload")]
    NoPayload,
    #[error("unexpected topic {0}")]
    Topic(String),
    #[error(transparent)]
    Event(#[from] intake_core::events::DecodeError),
}

pub struct AnalyseStage {
    pool: PgPool,
    registry: RegistryView,
    topics: TopicNames,
    analyser: Analyser,
    non_party: NonPartyPolicy,
    /// Pauses between retries of a failing step.
    backoff: Backoff,
    /// Attempts at content that fails to read before it is given up.
    max_attempts: usize,
    metrics: WorkerMetrics,
    /// The consumer group, named in each record's span.
    group_id: String,
    order: mpsc::Sender<Decided>,
}

pub struct AnalyseSettings {
    pub non_party: NonPartyPolicy,
    pub backoff: Backoff,
    pub max_attempts: usize,
    pub group_id: String,
}

impl AnalyseStage {
    pub fn new(
        pool: PgPool,
        registry: RegistryView,
        topics: TopicNames,
        analyser: Analyser,
        settings: AnalyseSettings,
        metrics: WorkerMetrics,
        order: mpsc::Sender<Decided>,
    ) -> Self {
        Self {
            pool,
            registry,
            topics,
            analyser,
            non_party: settings.non_party,
            backoff: settings.backoff,
            max_attempts: settings.max_attempts.max(1),
            metrics,
            group_id: settings.group_id,
            order,
        }
    }

    pub async fn handle(&self, record: InboundRecord, ack: Ack) {
        let span = telemetry::consumer_span(
            &record.topic,
            &self.group_id,
            record.partition,
            record.offset,
            telemetry::traceparent_header(record.headers()),
        );
        self.handle_in_span(record, ack).instrument(span).await
    }

    async fn handle_in_span(&self, record: InboundRecord, ack: Ack) {
        let (event_id, inbound) = match self.decode(&record) {
            Ok(decoded) => decoded,
            Err(error) => {
                let end = End::Undecodable {
                    error: error.to_string(),
                    supplement_id: loose_supplement_id(record.payload.as_deref()),
                };
                return self.pass_on(record, None, end, ack).await;
            }
        };
        let supplement_id = inbound.supplement_id();
        // A dead letter's replayed copy carries an event recorded once as
        // unprocessable: whether it is processed again is the store's to
        // decide, in the transaction of what it records.
        let replayed = ReplayTag::find(record.headers()).is_some();
        let content_failures = AtomicUsize::new(0);
        let classified = |error: StepError| error.classified(&content_failures, self.max_attempts);
        let attempt = retry(self.backoff, "analysis", || async {
            let seen = !replayed
                && self
                    .already_processed(event_id)
                    .await
                    .map_err(|e| classified(e.into()))?;
            if seen {
                return Ok::<_, Retry<StepError>>(None);
            }
            let analysis = self
                .analyser
                .analyse(&inbound)
                .await
                .map_err(|e| classified(e.into()))?;
            let decided = self
                .metrics
                .timed(Stage::Match, self.decide(&analysis))
                .await
                .map_err(classified)?;
            Ok(Some((analysis, decided)))
        });
        let result = tokio::select! {
            result = attempt => result,
            () = ack.revoked().cancelled() => {
                tracing::info!(%supplement_id, "partition revoked: analysis abandoned to its next owner");
                return;
            }
        };
        let end = match result {
            Ok(None) => {
                tracing::info!(%supplement_id, "already processed; redelivery skipped");
                self.metrics.redelivered();
                ack.done();
                return;
            }
            Ok(Some((analysis, (proposal, registered)))) => End::Outcome {
                analysis,
                proposal,
                registered,
            },
            Err(error) => End::Failed {
                unread: Analysis::unread(&inbound).stripped(),
                error: format!("{:#}", error.into_inner()),
            },
        };
        self.pass_on(record, Some(event_id), end, ack).await
    }

    async fn pass_on(&self, record: InboundRecord, event_id: Option<Uuid>, end: End, ack: Ack) {
        let decided = Decided {
            record,
            event_id,
            end,
            span: tracing::Span::current(),
            ack,
            ready_at: Instant::now(),
            ready_since: Utc::now(),
        };
        // Fails only when the worker is stopping.
        let _ = self.order.send(decided).await;
    }

    fn decode(&self, record: &InboundRecord) -> Result<(Uuid, Inbound), DecodeError> {
        let payload = record.payload.as_deref().ok_or(DecodeError::NoPayload)?;
        if record.topic == self.topics.name(&topics::SECUREMAIL) {
            let event = Event::<SecuremailReceived>::decode(record.headers(), payload)?;
            Ok((event.envelope.id, Inbound::Securemail(event.data)))
        } else if record.topic == self.topics.name(&topics::ENTER_FINLAND) {
            let event = Event::<EnterFinlandReceived>::decode(record.headers(), payload)?;
            Ok((event.envelope.id, Inbound::EnterFinland(event.data)))
        } else {
            Err(DecodeError::Topic(record.topic.clone()))
        }
    }

    async fn already_processed(&self, event_id: Uuid) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("select exists (select 1 from processed_events where event_id = $1)")
            .bind(event_id)
            .fetch_one(&self.pool)
            .await
    }

    /// Matching against the registry, unless the whole supplement is kept
    /// away or no person wrote it.
    async fn decide(
        &self,
        analysis: &Analysis,
    ) -> Result<(Proposal, Option<Registered>), StepError> {
        if let Some(reason) = &analysis.whole {
            return Ok((Proposal::Quarantine(reason.clone()), None));
        }
        // No person wrote it: kept out of the queues, visible in triage.
        if let (Some(signals), ReceiptRecipient::Email { address }) =
            (&analysis.mail, &analysis.recipient)
            && let Some(why) = no_receipt(signals, address).filter(NoReceipt::is_automatic)
        {
            let proposal = Proposal::Triage {
                reasons: vec![TriageReason::AutomaticMessage {
                    what: why.kind().to_owned(),
                }],
                candidates: vec![],
            };
            return Ok((proposal, None));
        }
        let explicit = match &analysis.explicit {
            Explicit::Chosen { application_id, .. } => Some(application_id),
            Explicit::Sender { .. } => None,
        };
        let registered = self.registry.candidates(explicit, &analysis.identifiers);
        let candidates: Vec<_> = registered.iter().map(|r| r.candidate.clone()).collect();
        Ok(
            match match_supplement(
                &analysis.explicit,
                &analysis.identifiers,
                &candidates,
                self.non_party,
            ) {
                Decision::Route {
                    application_id,
                    flags,
                } => {
                    let application = registered
                        .into_iter()
                        .find(|r| r.candidate.application_id == application_id)
                        .ok_or(StepError::NotInRegistry)?;
                    (
                        Proposal::Route {
                            application_id,
                            flags,
                        },
                        Some(application),
                    )
                }
                Decision::Triage {
                    reasons,
                    candidates,
                } => (
                    Proposal::Triage {
                        reasons,
                        candidates,
                    },
                    None,
                ),
            },
        )
    }
}

/// The supplement id of an event that does not decode, if its data still
/// has one.
fn loose_supplement_id(payload: Option<&[u8]>) -> Option<Uuid> {
    let value: serde_json::Value = serde_json::from_slice(payload?).ok()?;
    value.get("supplement_id")?.as_str()?.parse().ok()
}
