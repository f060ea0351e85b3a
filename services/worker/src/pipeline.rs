//! One inbound record from decoding to its recorded outcome, or to the
//! sequencer when it must wait for its turn. Failures are retried with
//! backoff; one that cannot succeed (a broken event, a missing payload)
//! goes to the dead-letter topic instead of blocking its partition.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use intake_adapters::kafka::EventProducer;
use intake_adapters::telemetry;
use intake_core::decide::{Decision, Explicit, NonPartyPolicy, match_supplement};
use intake_core::events::{
    EnterFinlandReceived, Event, ReceiptRecipient, SecuremailReceived, TriageReason,
};
use intake_core::receipt::{NoReceipt, no_receipt};
use intake_core::topics::{self, TopicNames};
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};
use tracing::Instrument;
use uuid::Uuid;

use crate::analyse::{AnalyseError, Analyser, Analysis, Inbound};
use crate::content::ContentError;
use crate::metrics::{Stage, WorkerMetrics};
use crate::sequencer::Ready;
use crate::store::{self, Committed, Disposition, Source};

/// A record as read from Kafka.
#[derive(Debug, Clone)]
pub struct Job {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub payload: Option<Vec<u8>>,
}

/// A record whose offset may now be committed.
#[derive(Debug, Clone)]
pub struct Finished {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Job {
    pub fn finished(&self) -> Finished {
        Finished {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
        }
    }
}

pub struct Pipeline {
    pub pool: PgPool,
    pub topics: TopicNames,
    pub producer: EventProducer,
    pub analyser: Analyser,
    pub dedup_window: Duration,
    pub non_party: NonPartyPolicy,
    pub max_backoff: Duration,
    pub max_attempts: u32,
    pub relay: Arc<Notify>,
    pub sequencer: mpsc::Sender<Ready>,
    pub finished: mpsc::Sender<Finished>,
    pub metrics: WorkerMetrics,
    /// The consumer group, named in each record's span.
    pub group_id: String,
}

enum Failure {
    /// Retrying cannot help.
    Permanent(String),
    Transient(String),
}

impl From<AnalyseError> for Failure {
    fn from(e: AnalyseError) -> Self {
        match e {
            AnalyseError::Content(c) if c.is_transient() => Failure::Transient(format!("{c:#}")),
            AnalyseError::Content(c @ ContentError::Read(_)) => {
                Failure::Transient(format!("{c:#}"))
            }
            AnalyseError::Content(c) => Failure::Permanent(format!("{c:#}")),
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Transient(format!("PostgreSQL: {e:#}"))
    }
}

impl Pipeline {
    pub async fn handle(&self, job: Job) {
        let headers = job.headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        let span = telemetry::consumer_span(
            &job.topic,
            &self.group_id,
            job.partition,
            job.offset,
            telemetry::traceparent_header(headers),
        );
        self.handle_in_span(job).instrument(span).await
    }

    async fn handle_in_span(&self, job: Job) {
        let (event_id, inbound) = match self.decode(&job) {
            Ok(decoded) => decoded,
            Err(error) => {
                self.metrics.dead_lettered("undecodable");
                self.dead_letter(&job, None, &error).await;
                return;
            }
        };
        let supplement_id = inbound.supplement_id();
        let source = Source {
            event_id,
            topic: job.topic.clone(),
            partition: job.partition,
            offset: job.offset,
        };
        let outcome = self
            .retrying(supplement_id, || async {
                if self.already_processed(event_id).await? {
                    return Ok(None);
                }
                let analysis = self.analyser.analyse(&inbound).await?;
                let disposition = self
                    .metrics
                    .timed(Stage::Match, self.decide(&analysis))
                    .await?;
                Ok(Some((analysis, disposition)))
            })
            .await;
        let (analysis, disposition) = match outcome {
            Ok(Some(decided)) => decided,
            Ok(None) => {
                tracing::info!(%supplement_id, "already processed; redelivery skipped");
                self.metrics.redelivered();
                let _ = self.finished.send(job.finished()).await;
                return;
            }
            Err(error) => {
                self.give_up(&job, &source, &Analysis::unread(&inbound), &error)
                    .await;
                return;
            }
        };
        if let Disposition::Route { application, .. } = &disposition {
            let app = application.candidate.application_id.clone();
            let marked = self
                .retrying(supplement_id, || async {
                    store::mark_application(&self.pool, supplement_id, &app).await?;
                    Ok(())
                })
                .await;
            if let Err(error) = marked {
                self.give_up(&job, &source, &Analysis::unread(&inbound), &error)
                    .await;
                return;
            }
            let _ = self
                .sequencer
                .send(Ready {
                    job,
                    source,
                    analysis,
                    disposition,
                    held_since: Utc::now(),
                    held_at: std::time::Instant::now(),
                    span: tracing::Span::current(),
                    attempts: 0,
                })
                .await;
            return;
        }
        let committed = self
            .retrying(supplement_id, || async {
                Ok(self.record(&source, &analysis, &disposition).await?)
            })
            .await;
        match committed {
            Ok(_) => {
                let _ = self.finished.send(job.finished()).await;
            }
            Err(error) => {
                self.give_up(&job, &source, &Analysis::unread(&inbound), &error)
                    .await
            }
        }
    }

    /// A supplement that cannot be processed still ends with an outcome:
    /// recorded as `unprocessable` from what its event alone says (visible
    /// in triage, the applicant asked to send it again), and the record
    /// goes to the dead-letter topic for operators. Only when even that
    /// cannot be recorded is the dead letter all there is.
    pub async fn give_up(&self, job: &Job, source: &Source, unread: &Analysis, error: &str) {
        let analysis = unread.stripped();
        let disposition = Disposition::Unprocessable(error.to_owned());
        let recorded = self
            .retrying(analysis.supplement_id, || async {
                Ok(self.record(source, &analysis, &disposition).await?)
            })
            .await;
        if let Err(failed) = &recorded {
            tracing::error!(
                supplement_id = %analysis.supplement_id,
                error = failed,
                "could not record the supplement as unprocessable either"
            );
        }
        self.metrics.dead_lettered("failed");
        self.dead_letter(job, Some(analysis.supplement_id), error)
            .await;
    }

    /// Records an outcome and cleans up after it.
    pub async fn record(
        &self,
        source: &Source,
        analysis: &Analysis,
        disposition: &Disposition,
    ) -> Result<Committed, sqlx::Error> {
        let committed = self
            .metrics
            .timed(
                Stage::Commit,
                store::commit(
                    &self.pool,
                    &self.topics,
                    self.dedup_window,
                    source,
                    analysis,
                    disposition,
                ),
            )
            .await?;
        if let Committed::Recorded { outcome, sequence } = &committed {
            let waited = (Utc::now() - analysis.arrived_at).as_seconds_f64();
            self.metrics
                .recorded(analysis.channel.as_str(), outcome, waited);
            // Counted once on record: an analysis retried after a
            // transient failure scans its files again.
            for file in &analysis.files {
                self.metrics.file(&file.verdict);
            }
            tracing::info!(
                supplement_id = %analysis.supplement_id,
                outcome,
                sequence,
                "supplement recorded"
            );
            self.relay.notify_one();
            // Moved to quarantine: the inbound copy goes once that is on record.
            for file in &analysis.files {
                if let Some(original) = &file.remove_after
                    && let Err(error) = self
                        .analyser
                        .content
                        .store()
                        .delete(&original.bucket, &original.key)
                        .await
                {
                    tracing::warn!(error = %error, key = %original.key, "could not remove a quarantined file's inbound copy");
                }
            }
        }
        Ok(committed)
    }

    fn decode(&self, job: &Job) -> Result<(Uuid, Inbound), String> {
        let payload = job.payload.as_deref().ok_or("record without a payload")?;
        let headers = job.headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        if job.topic == self.topics.name(&topics::SECUREMAIL) {
            let event = Event::<SecuremailReceived>::decode(headers, payload)
                .map_err(|e| format!("{e:#}"))?;
            Ok((event.envelope.id, Inbound::Securemail(event.data)))
        } else if job.topic == self.topics.name(&topics::ENTER_FINLAND) {
            let event = Event::<EnterFinlandReceived>::decode(headers, payload)
                .map_err(|e| format!("{e:#}"))?;
            Ok((event.envelope.id, Inbound::EnterFinland(event.data)))
        } else {
            Err(format!("unexpected topic {}", job.topic))
        }
    }

    async fn already_processed(&self, event_id: Uuid) -> Result<bool, Failure> {
        Ok(
            sqlx::query_scalar(
                "select exists (select 1 from processed_events where event_id = $1)",
            )
            .bind(event_id)
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// Matching against the registry, unless the whole supplement is kept away.
    async fn decide(&self, analysis: &Analysis) -> Result<Disposition, Failure> {
        if let Some(reason) = &analysis.whole {
            return Ok(Disposition::Quarantine(reason.clone()));
        }
        // No person wrote it: kept out of the queues, visible in triage.
        if let (Some(signals), ReceiptRecipient::Email { address }) =
            (&analysis.mail, &analysis.recipient)
            && let Some(why) = no_receipt(signals, address).filter(NoReceipt::is_automatic)
        {
            return Ok(Disposition::Triage {
                reasons: vec![TriageReason::AutomaticMessage {
                    what: why.kind().to_owned(),
                }],
                candidates: vec![],
            });
        }
        let explicit = match &analysis.explicit {
            Explicit::Chosen { application_id, .. } => Some(application_id),
            Explicit::Sender { .. } => None,
        };
        let registered = store::candidates(&self.pool, explicit, &analysis.identifiers).await?;
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
                        .ok_or_else(|| {
                            Failure::Permanent("matched an application not in the registry".into())
                        })?;
                    Disposition::Route { application, flags }
                }
                Decision::Triage {
                    reasons,
                    candidates,
                } => Disposition::Triage {
                    reasons,
                    candidates,
                },
            },
        )
    }

    /// Runs `step` until it succeeds, a permanent failure, or the attempts
    /// run out. (Waiting for the virus scanner happens inside the step and
    /// is never counted here: that wait has no limit.)
    async fn retrying<T, F, Fut>(&self, supplement_id: Uuid, mut step: F) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut backoff = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match step().await {
                Ok(value) => return Ok(value),
                Err(Failure::Permanent(error)) => return Err(error),
                Err(Failure::Transient(error)) if attempt >= self.max_attempts => {
                    return Err(error);
                }
                Err(Failure::Transient(error)) => {
                    tracing::warn!(%supplement_id, attempt, error, retry_in = ?backoff, "step failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                    attempt += 1;
                }
            }
        }
    }

    /// Parks a record that cannot be processed on the dead-letter topic
    /// with the reason, and lets its partition move on. Its arrival stops
    /// holding later supplements. Retried until the broker has it: losing
    /// it is not an option.
    pub async fn dead_letter(&self, job: &Job, supplement_id: Option<Uuid>, error: &str) {
        tracing::error!(
            ?supplement_id,
            error,
            "supplement sent to the dead-letter topic"
        );
        let headers: Vec<(&str, &[u8])> = job
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        let origin = format!("{}/{}/{}", job.topic, job.partition, job.offset);
        let key = String::from_utf8_lossy(job.key.as_deref().unwrap_or_default()).into_owned();
        self.producer
            .dead_letter(
                &origin,
                &key,
                &headers,
                job.payload.as_deref().unwrap_or_default(),
                error,
                self.max_backoff,
            )
            .await;
        let backoff = Duration::from_millis(200);
        if let Some(id) = supplement_id {
            while let Err(e) = store::mark_finished(&self.pool, id).await {
                tracing::warn!(error = %e, "could not mark a dead-lettered arrival finished; retrying");
                tokio::time::sleep(backoff).await;
            }
        }
        let _ = self.finished.send(job.finished()).await;
    }
}
