//! The one transaction that records a supplement's outcome: the
//! processed-event id, supplement and attachment rows, sequence number,
//! dedup fingerprints and links, audit rows, outbox rows for every event
//! and the one receipt request, and the end of its arrival claim. Either
//! all of it is there or none.

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_core::decide::{
    Candidate, PartVerdict, fingerprints, outbox_event_id, receipt_reference,
};
use intake_core::events::{
    Event, EventData, Language, QuarantineReason, ReceiptRequested, RoutedAttachment, RoutingFlag,
    SupplementQuarantined, SupplementRouted, SupplementTriaged, TriageReason,
};
use intake_core::events::{ObjectRef, PartRef};
use intake_core::ids::ApplicationId;
use intake_core::topics::{self, TopicNames, TopicSpec};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::receipt::{ReceiptFacts, receipt_request};
use crate::analyse::Analysis;

const SOURCE: &str = "/intake/worker";
const ACTOR: &str = "system:worker";

/// A registry entry with what routing needs besides matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub candidate: Candidate,
    pub unit: String,
    pub confidential: bool,
    pub language: Language,
}

#[derive(Debug, Clone)]
pub enum Disposition {
    Quarantine(QuarantineReason),
    Triage {
        reasons: Vec<TriageReason>,
        candidates: Vec<ApplicationId>,
    },
    Route {
        application: Registered,
        flags: Vec<RoutingFlag>,
    },
    /// Processing failed for good: recorded from the event alone.
    Unprocessable(String),
}

/// Where the inbound event was read.
#[derive(Debug, Clone)]
pub struct Source {
    pub event_id: Uuid,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Recorded {
        outcome: &'static str,
        sequence: Option<i64>,
    },
    /// The event was processed before (a redelivery): nothing was written.
    AlreadyProcessed,
}

pub async fn commit(
    pool: &PgPool,
    topics: &TopicNames,
    dedup_window: Duration,
    source: &Source,
    analysis: &Analysis,
    disposition: &Disposition,
) -> Result<Committed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let fresh = sqlx::query(
        r#"insert into processed_events (event_id, topic, partition, "offset")
           values ($1, $2, $3, $4) on conflict (event_id) do nothing"#,
    )
    .bind(source.event_id)
    .bind(&source.topic)
    .bind(source.partition)
    .bind(source.offset)
    .execute(&mut *tx)
    .await?;
    if fresh.rows_affected() == 0 {
        return Ok(Committed::AlreadyProcessed);
    }
    let mut record = Record::new(analysis);
    match disposition {
        Disposition::Quarantine(reason) => record.quarantined(reason.clone()),
        Disposition::Unprocessable(error) => record.unprocessable(error),
        Disposition::Triage {
            reasons,
            candidates,
        } => record.triaged(reasons.clone(), candidates.clone()),
        Disposition::Route { application, flags } => {
            record
                .route(&mut tx, dedup_window, application, flags.clone())
                .await?
        }
    }
    record.write(&mut tx, topics).await?;
    if let Some(bounce) = &analysis.bounce {
        // Only a receipt whose Message-ID the report quotes and whose
        // recipient it names: a forged report can mark nothing else.
        let marked = sqlx::query(
            "update receipts set delivery_failed_at = now(), delivery_failure = $3
             where message_id = any($1) and lower(recipient) = any($2)
               and delivery_failed_at is null",
        )
        .bind(&bounce.message_ids)
        .bind(&bounce.recipients)
        .bind(&bounce.reason)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() > 0 {
            tracing::warn!(
                supplement_id = %analysis.supplement_id,
                receipts = marked.rows_affected(),
                "a receipt bounced; its delivery is marked failed"
            );
        }
    }
    sqlx::query("update ingest_claims set finished_at = now() where supplement_id = $1")
        .bind(analysis.supplement_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Committed::Recorded {
        outcome: record.outcome,
        sequence: record.sequence,
    })
}

/// What the transaction writes, assembled before writing.
struct Record<'a> {
    analysis: &'a Analysis,
    outcome: &'static str,
    application: Option<Registered>,
    sequence: Option<i64>,
    duplicate_of: Option<(Uuid, String, DateTime<Utc>)>,
    possible_resend_of: Option<Uuid>,
    flags: Vec<RoutingFlag>,
    triage: Option<(Vec<TriageReason>, Vec<ApplicationId>)>,
    whole: Option<QuarantineReason>,
    /// Full and files-only fingerprints of a routed supplement.
    prints: Option<([u8; 32], Option<[u8; 32]>)>,
}

impl<'a> Record<'a> {
    fn new(analysis: &'a Analysis) -> Self {
        Self {
            analysis,
            outcome: "triage",
            application: None,
            sequence: None,
            duplicate_of: None,
            possible_resend_of: None,
            flags: Vec::new(),
            triage: None,
            whole: None,
            prints: None,
        }
    }

    fn refused_count(&self) -> u32 {
        self.analysis
            .files
            .iter()
            .filter(|f| matches!(f.verdict, PartVerdict::Refuse { .. }))
            .count() as u32
    }

    fn quarantined(&mut self, reason: QuarantineReason) {
        self.outcome = "quarantined";
        self.whole = Some(reason);
    }

    fn unprocessable(&mut self, error: &str) {
        self.outcome = "unprocessable";
        self.triage = Some((
            vec![TriageReason::Unprocessable {
                detail: intake_core::decide::clean_text(error, 2000),
            }],
            vec![],
        ));
    }

    fn triaged(&mut self, reasons: Vec<TriageReason>, candidates: Vec<ApplicationId>) {
        self.outcome = "triage";
        self.triage = Some((reasons, candidates));
    }

    /// Dedup and sequence, under a lock on the application's sequence row
    /// so two supplements of one application are decided one at a time.
    async fn route(
        &mut self,
        tx: &mut PgConnection,
        window: Duration,
        application: &Registered,
        mut flags: Vec<RoutingFlag>,
    ) -> Result<(), sqlx::Error> {
        let app = application.candidate.application_id.as_str();
        sqlx::query(
            "insert into application_sequences (application_id) values ($1)
             on conflict (application_id) do nothing",
        )
        .bind(app)
        .execute(&mut *tx)
        .await?;
        let last: i64 = sqlx::query_scalar(
            "select last_sequence from application_sequences where application_id = $1 for update",
        )
        .bind(app)
        .fetch_one(&mut *tx)
        .await?;

        let hashes: Vec<String> = self
            .analysis
            .files
            .iter()
            .map(|f| f.sha256.clone())
            .collect();
        let prints = fingerprints(&self.analysis.text, &hashes);
        let since = self.analysis.arrived_at
            - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        let earliest = |kind: &'static str, print: [u8; 32]| {
            sqlx::query_as::<_, (Uuid, String, DateTime<Utc>)>(
                "select s.supplement_id, s.receipt_reference, s.arrived_at
                 from dedup_fingerprints f join supplements s using (supplement_id)
                 where f.application_id = $1 and f.kind = $2 and f.fingerprint = $3
                   and f.received_at >= $4
                 order by f.received_at, s.supplement_id limit 1",
            )
            .bind(app)
            .bind(kind)
            .bind(print.to_vec())
            .bind(since)
        };
        self.application = Some(application.clone());
        if let Some(original) = earliest("full", prints.full)
            .fetch_optional(&mut *tx)
            .await?
        {
            self.outcome = "duplicate";
            self.duplicate_of = Some(original);
            return Ok(());
        }
        if let Some(files) = prints.attachments
            && let Some((original, _, _)) = earliest("attachments", files)
                .fetch_optional(&mut *tx)
                .await?
        {
            self.possible_resend_of = Some(original);
            flags.push(RoutingFlag::PossibleResend {
                original_supplement_id: original,
            });
        }
        let refused = self.refused_count();
        if refused > 0 {
            flags.push(RoutingFlag::PartsRefused { count: refused });
        }
        let sequence = last + 1;
        sqlx::query(
            "update application_sequences set last_sequence = $2 where application_id = $1",
        )
        .bind(app)
        .bind(sequence)
        .execute(&mut *tx)
        .await?;
        self.outcome = "routed";
        self.sequence = Some(sequence);
        self.flags = flags;
        // Written after the supplement row (foreign key), in `write`.
        self.prints = Some((prints.full, prints.attachments));
        Ok(())
    }
}

impl Record<'_> {
    async fn write(&self, tx: &mut PgConnection, topics: &TopicNames) -> Result<(), sqlx::Error> {
        let a = self.analysis;
        let id = a.supplement_id;
        let reference = receipt_reference(id);
        let app = self.application.as_ref();
        let flags = serde_json::to_value(&self.flags).unwrap_or_default();
        let triage = self
            .triage
            .as_ref()
            .map(|(reasons, _)| serde_json::to_value(reasons).unwrap_or_default());
        let candidates: Option<Vec<&str>> = self
            .triage
            .as_ref()
            .map(|(_, candidates)| candidates.iter().map(ApplicationId::as_str).collect());
        sqlx::query(
            "insert into supplements (supplement_id, event_id, channel, transport, sender,
                 customer_number, arrived_at, language, outcome, application_id, sequence, unit,
                 confidential, request_id, duplicate_of, possible_resend_of, flags, triage_reasons,
                 text_bucket, text_key, decrypted_with, receipt_reference, inbound_attempt,
                 triage_candidates, text_size, text_sha256)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22, $23, $24, $25, $26)",
        )
        .bind(id)
        .bind(intake_core::ingest::inbound_event_id(id))
        .bind(a.channel.as_str())
        .bind(a.transport.map(|t| match t {
            intake_core::events::Transport::Securemail => "securemail",
            intake_core::events::Transport::Email => "email",
        }))
        .bind(a.sender.as_deref())
        .bind(a.customer_number.as_ref().map(|c| c.as_str()))
        .bind(a.arrived_at)
        .bind(a.language.map(intake_core::events::Language::as_str))
        .bind(self.outcome)
        .bind(app.map(|r| r.candidate.application_id.as_str()))
        .bind(self.sequence)
        .bind(app.map(|r| r.unit.as_str()))
        .bind(app.is_some_and(|r| r.confidential))
        .bind(a.request_id.as_ref().map(|r| r.as_str()))
        .bind(self.duplicate_of.as_ref().map(|d| d.0))
        .bind(self.possible_resend_of)
        .bind(&flags)
        .bind(&triage)
        .bind(a.text_object.as_ref().map(|o| o.bucket.as_str()))
        .bind(a.text_object.as_ref().map(|o| o.key.as_str()))
        .bind(a.decrypted_with.as_deref())
        .bind(&reference)
        .bind(a.inbound_attempt)
        .bind(candidates)
        .bind(a.text_object.as_ref().map(|o| o.size as i64))
        .bind(a.text_object.as_ref().map(|o| o.sha256.as_str()))
        .execute(&mut *tx)
        .await?;

        for f in &a.files {
            let (verdict, detail) = match &f.verdict {
                PartVerdict::Accept => ("clean", None),
                PartVerdict::Refuse { quarantine, .. } => (
                    match quarantine {
                        QuarantineReason::Infected { .. } => "infected",
                        QuarantineReason::Dangerous { .. } => "dangerous",
                        _ => "refused",
                    },
                    Some(serde_json::to_string(quarantine).unwrap_or_default()),
                ),
            };
            sqlx::query(
                "insert into attachments (attachment_id, supplement_id, ordinal, filename,
                     declared_type, detected_type, size, sha256, bucket, object_key, verdict,
                     verdict_detail, scanned_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(f.attachment_id)
            .bind(id)
            .bind(f.ordinal as i32)
            .bind(&f.filename)
            .bind(f.declared_type.as_deref())
            .bind(&f.detected_type)
            .bind(f.size as i64)
            .bind(&f.sha256)
            .bind(&f.object.bucket)
            .bind(&f.object.key)
            .bind(verdict)
            .bind(detail)
            .bind(f.scanned_at)
            .execute(&mut *tx)
            .await?;
        }

        if let (Some((full, files)), Some(app)) = (self.prints, app) {
            for (kind, print) in [("full", Some(full)), ("attachments", files)] {
                let Some(print) = print else { continue };
                sqlx::query(
                    "insert into dedup_fingerprints (application_id, kind, fingerprint, supplement_id, received_at)
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(app.candidate.application_id.as_str())
                .bind(kind)
                .bind(print.to_vec())
                .bind(id)
                .bind(a.arrived_at)
                .execute(&mut *tx)
                .await?;
            }
        }

        let detail = serde_json::json!({
            "outcome": self.outcome,
            "sequence": self.sequence,
            "duplicate_of": self.duplicate_of.as_ref().map(|d| d.0),
            "decrypted_with": a.decrypted_with,
            "flags": self.flags,
        });
        audit(tx, id, app, &format!("supplement.{}", self.outcome), detail).await?;
        for f in &a.files {
            if let PartVerdict::Refuse { quarantine, .. } = &f.verdict {
                let detail = serde_json::json!({
                    "attachment_id": f.attachment_id,
                    "filename": f.filename,
                    "reason": quarantine,
                    "object": format!("{}/{}", f.object.bucket, f.object.key),
                });
                audit(tx, id, app, "attachment.quarantined", detail).await?;
            }
        }

        for (topic, key, headers, payload) in self.events(topics, &reference) {
            sqlx::query(
                "insert into outbox (topic, message_key, headers, payload) values ($1, $2, $3, $4)",
            )
            .bind(topic)
            .bind(key)
            .bind(sqlx::types::Json(headers))
            .bind(payload)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Every event the outcome announces, with ids derived from the
    /// supplement id so a repeat is recognisable downstream.
    fn events(&self, topics: &TopicNames, reference: &str) -> Vec<OutboxEvent> {
        let a = self.analysis;
        let id = a.supplement_id;
        let now = Utc::now();
        let mut out = Vec::new();
        match (self.outcome, &self.application) {
            ("routed", Some(app)) => out.push(outbox(
                topics,
                &topics::ROUTED,
                Event::new(
                    SOURCE,
                    now,
                    SupplementRouted {
                        supplement_id: id,
                        application_id: app.candidate.application_id.clone(),
                        sequence: self.sequence.unwrap_or_default() as u64,
                        unit: app.unit.clone(),
                        confidential: app.confidential,
                        channel: a.channel,
                        arrived_at: a.arrived_at,
                        request_id: a.request_id.clone(),
                        text: a.text_object.clone(),
                        attachments: a
                            .files
                            .iter()
                            .filter(|f| matches!(f.verdict, PartVerdict::Accept))
                            .map(|f| RoutedAttachment {
                                attachment_id: f.attachment_id,
                                filename: f.filename.clone(),
                                detected_type: f.detected_type.clone(),
                                object: f.object.clone(),
                            })
                            .collect(),
                        flags: self.flags.clone(),
                    },
                )
                .with_id(outbox_event_id(id, "routed")),
            )),
            ("triage" | "unprocessable", _) => {
                let (reasons, candidates) = self.triage.clone().unwrap_or_default();
                out.push(outbox(
                    topics,
                    &topics::TRIAGE,
                    Event::new(
                        SOURCE,
                        now,
                        SupplementTriaged {
                            supplement_id: id,
                            channel: a.channel,
                            arrived_at: a.arrived_at,
                            reasons,
                            candidates,
                        },
                    )
                    .with_id(outbox_event_id(id, "triaged")),
                ));
            }
            _ => {}
        }
        let quarantined = |part: Option<PartRef>,
                           reason: &QuarantineReason,
                           object: Option<ObjectRef>,
                           what: &str| {
            outbox(
                topics,
                &topics::QUARANTINE,
                Event::new(
                    SOURCE,
                    now,
                    SupplementQuarantined {
                        supplement_id: id,
                        channel: a.channel,
                        arrived_at: a.arrived_at,
                        part,
                        reason: reason.clone(),
                        object,
                    },
                )
                .with_id(outbox_event_id(id, what)),
            )
        };
        if let Some(reason) = &self.whole {
            out.push(quarantined(None, reason, None, "quarantined"));
        }
        for f in &a.files {
            if let PartVerdict::Refuse { quarantine, .. } = &f.verdict {
                let part = PartRef {
                    index: f.ordinal,
                    filename: Some(f.filename.clone()),
                };
                let what = format!("quarantined.{}", f.ordinal);
                out.push(quarantined(
                    Some(part),
                    quarantine,
                    Some(f.object.clone()),
                    &what,
                ));
            }
        }
        out.push(outbox(
            topics,
            &topics::RECEIPTS,
            Event::new(SOURCE, now, self.receipt(reference))
                .with_id(outbox_event_id(id, "receipt")),
        ));
        out
    }

    fn receipt(&self, reference: &str) -> ReceiptRequested {
        // A stranger learns nothing about the application they named.
        let stranger = self.flags.contains(&RoutingFlag::SenderNotParty);
        receipt_request(
            self.analysis,
            &ReceiptFacts {
                reference,
                application: self.application.as_ref().filter(|_| !stranger),
                duplicate_of: self
                    .duplicate_of
                    .as_ref()
                    .map(|(_, reference, at)| (reference.as_str(), *at)),
                whole: self.whole.as_ref(),
                unprocessable: self.outcome == "unprocessable",
            },
        )
    }
}

type OutboxEvent = (String, String, Vec<(String, String)>, serde_json::Value);

/// An event for the outbox, in the trace of the record being recorded:
/// the relay and the event's consumers continue it.
fn outbox<T: EventData>(topics: &TopicNames, spec: &TopicSpec, event: Event<T>) -> OutboxEvent {
    let event = event.with_traceparent(intake_adapters::telemetry::current_traceparent());
    let headers = event
        .headers()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let payload = serde_json::to_value(&event.data).unwrap_or_default();
    (topics.name(spec), event.key(), headers, payload)
}

async fn audit(
    tx: &mut PgConnection,
    supplement_id: Uuid,
    app: Option<&Registered>,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_log (actor, action, supplement_id, application_id, unit, detail)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ACTOR)
    .bind(action)
    .bind(supplement_id)
    .bind(app.map(|r| r.candidate.application_id.as_str()))
    .bind(app.map(|r| r.unit.as_str()))
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
