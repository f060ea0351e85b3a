//! The rows a batch of outcomes writes, gathered column by column and
//! written with one multi-row insert per table: supplement, attachment,
//! fingerprint, audit and outbox rows, the applications' new last numbers
//! and the end of each supplement's arrival claim.

use chrono::{DateTime, Utc};
use intake_core::decide::{Announce, Outcome, PartVerdict, outbox_event_id};
use intake_core::events::{
    Event, EventData, ObjectRef, PartRef, QuarantineReason, RoutedAttachment,
    SupplementQuarantined, SupplementRouted, SupplementTriaged, Transport,
};
use intake_core::ids::ApplicationId;
use intake_core::topics::{self, TopicNames, TopicSpec};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::outcomes::{Pending, PrintKey};
use super::receipt::{ReceiptFacts, receipt_request};
use crate::analyse::Analysis;

const SOURCE: &str = "/intake/worker";
const ACTOR: &str = "system:worker";

#[derive(Default)]
pub(super) struct Rows {
    supplements: Supplements,
    attachments: Attachments,
    prints: Prints,
    audit: Audit,
    outbox: Outbox,
    sequences: (Vec<String>, Vec<i64>),
    finished: Vec<Uuid>,
}

#[derive(Default)]
struct Supplements {
    id: Vec<Uuid>,
    event_id: Vec<Uuid>,
    channel: Vec<&'static str>,
    transport: Vec<Option<&'static str>>,
    sender: Vec<Option<String>>,
    customer_number: Vec<Option<String>>,
    arrived_at: Vec<DateTime<Utc>>,
    language: Vec<Option<&'static str>>,
    outcome: Vec<&'static str>,
    application_id: Vec<Option<String>>,
    sequence: Vec<Option<i64>>,
    unit: Vec<Option<String>>,
    confidential: Vec<bool>,
    request_id: Vec<Option<String>>,
    duplicate_of: Vec<Option<Uuid>>,
    possible_resend_of: Vec<Option<Uuid>>,
    flags: Vec<Value>,
    triage_reasons: Vec<Option<Value>>,
    text_bucket: Vec<Option<String>>,
    text_key: Vec<Option<String>>,
    decrypted_with: Vec<Option<String>>,
    reference: Vec<String>,
    inbound_attempt: Vec<Option<Uuid>>,
    candidates: Vec<Option<Value>>,
    text_size: Vec<Option<i64>>,
    text_sha256: Vec<Option<String>>,
    /// Supplements recorded over their unprocessable outcome (a dead
    /// letter's replayed copy).
    replacing: Vec<Uuid>,
}

#[derive(Default)]
struct Attachments {
    id: Vec<Uuid>,
    supplement_id: Vec<Uuid>,
    ordinal: Vec<i32>,
    filename: Vec<String>,
    declared_type: Vec<Option<String>>,
    detected_type: Vec<String>,
    size: Vec<i64>,
    sha256: Vec<String>,
    bucket: Vec<String>,
    key: Vec<String>,
    verdict: Vec<&'static str>,
    detail: Vec<Option<String>>,
    scanned_at: Vec<DateTime<Utc>>,
}

#[derive(Default)]
struct Prints {
    application_id: Vec<String>,
    kind: Vec<&'static str>,
    print: Vec<Vec<u8>>,
    supplement_id: Vec<Uuid>,
    received_at: Vec<DateTime<Utc>>,
}

#[derive(Default)]
struct Audit {
    action: Vec<String>,
    supplement_id: Vec<Uuid>,
    application_id: Vec<Option<String>>,
    unit: Vec<Option<String>>,
    detail: Vec<Value>,
}

#[derive(Default)]
struct Outbox {
    topic: Vec<String>,
    key: Vec<String>,
    headers: Vec<Value>,
    payload: Vec<Value>,
}

impl Rows {
    pub fn fingerprint(&mut self, key: &PrintKey, analysis: &Analysis) {
        let p = &mut self.prints;
        p.application_id.push(key.application_id.clone());
        p.kind.push(key.kind);
        p.print.push(key.print.to_vec());
        p.supplement_id.push(analysis.supplement_id);
        p.received_at.push(analysis.arrived_at);
    }

    pub fn sequence(&mut self, application_id: &str, last: i64) {
        self.sequences.0.push(application_id.to_owned());
        self.sequences.1.push(last);
    }

    /// A supplement's arrival ends without a new outcome.
    pub fn finish(&mut self, supplement_id: Uuid) {
        self.finished.push(supplement_id);
    }

    /// Everything one supplement's outcome writes but its fingerprints;
    /// `replacing` its unprocessable outcome, for a replayed copy.
    pub fn supplement(
        &mut self,
        pending: &Pending<'_>,
        decided: &Outcome,
        reference: &str,
        topics: &TopicNames,
        replacing: bool,
    ) {
        let a = pending.analysis;
        if replacing {
            self.supplements.replacing.push(a.supplement_id);
        }
        // Only a routed or duplicate supplement names its application's unit.
        let registered = pending.registered.filter(|_| decided.application.is_some());
        let s = &mut self.supplements;
        s.id.push(a.supplement_id);
        s.event_id
            .push(intake_core::ingest::inbound_event_id(a.supplement_id));
        s.channel.push(a.channel.as_str());
        s.transport.push(a.transport.map(|t| match t {
            Transport::Securemail => "securemail",
            Transport::Email => "email",
        }));
        s.sender.push(a.sender.clone());
        s.customer_number
            .push(a.customer_number.as_ref().map(|c| c.as_str().to_owned()));
        s.arrived_at.push(a.arrived_at);
        s.language.push(a.language.map(|l| l.as_str()));
        s.outcome.push(decided.kind.as_str());
        s.application_id
            .push(decided.application.as_ref().map(|a| a.as_str().to_owned()));
        s.sequence.push(decided.sequence);
        s.unit.push(registered.map(|r| r.unit.clone()));
        s.confidential
            .push(registered.is_some_and(|r| r.confidential));
        s.request_id
            .push(a.request_id.as_ref().map(|r| r.as_str().to_owned()));
        s.duplicate_of
            .push(decided.duplicate_of.as_ref().map(|d| d.supplement_id));
        s.possible_resend_of.push(decided.possible_resend_of);
        s.flags.push(json!(decided.flags));
        s.triage_reasons
            .push(decided.triage.as_ref().map(|(reasons, _)| json!(reasons)));
        s.text_bucket
            .push(a.text_object.as_ref().map(|o| o.bucket.clone()));
        s.text_key
            .push(a.text_object.as_ref().map(|o| o.key.clone()));
        s.decrypted_with.push(a.decrypted_with.clone());
        s.reference.push(reference.to_owned());
        s.inbound_attempt.push(a.inbound_attempt);
        s.candidates.push(
            decided
                .triage
                .as_ref()
                .map(|(_, candidates)| json!(candidates)),
        );
        s.text_size
            .push(a.text_object.as_ref().map(|o| o.size as i64));
        s.text_sha256
            .push(a.text_object.as_ref().map(|o| o.sha256.clone()));

        for f in &a.files {
            let (verdict, detail) = match &f.verdict {
                PartVerdict::Accept => ("clean", None),
                PartVerdict::Refuse { quarantine, .. } => (
                    match quarantine {
                        QuarantineReason::Infected { .. } => "infected",
                        QuarantineReason::Dangerous { .. } => "dangerous",
                        _ => "refused",
                    },
                    Some(json!(quarantine).to_string()),
                ),
            };
            let t = &mut self.attachments;
            t.id.push(f.attachment_id);
            t.supplement_id.push(a.supplement_id);
            t.ordinal.push(f.ordinal as i32);
            t.filename.push(f.filename.clone());
            t.declared_type.push(f.declared_type.clone());
            t.detected_type.push(f.detected_type.clone());
            t.size.push(f.size as i64);
            t.sha256.push(f.sha256.clone());
            t.bucket.push(f.object.bucket.clone());
            t.key.push(f.object.key.clone());
            t.verdict.push(verdict);
            t.detail.push(detail);
            t.scanned_at.push(f.scanned_at);
        }

        let app = decided.application.as_ref();
        let unit = registered.map(|r| r.unit.as_str());
        self.audit_row(
            a.supplement_id,
            app,
            unit,
            format!("supplement.{}", decided.kind.as_str()),
            json!({
                "outcome": decided.kind.as_str(),
                "sequence": decided.sequence,
                "duplicate_of": decided.duplicate_of.as_ref().map(|d| d.supplement_id),
                "decrypted_with": a.decrypted_with,
                "flags": decided.flags,
            }),
        );
        for f in &a.files {
            if let PartVerdict::Refuse { quarantine, .. } = &f.verdict {
                self.audit_row(
                    a.supplement_id,
                    app,
                    unit,
                    "attachment.quarantined".into(),
                    json!({
                        "attachment_id": f.attachment_id,
                        "filename": f.filename,
                        "reason": quarantine,
                        "object": format!("{}/{}", f.object.bucket, f.object.key),
                    }),
                );
            }
        }

        let events = Announcer {
            pending,
            decided,
            reference,
            topics,
            now: Utc::now(),
        };
        for announce in &decided.announces {
            let Some((topic, key, headers, payload)) = events.event(*announce) else {
                continue;
            };
            let o = &mut self.outbox;
            o.topic.push(topic);
            o.key.push(key);
            o.headers.push(headers);
            o.payload.push(payload);
        }
        self.finished.push(a.supplement_id);
    }

    fn audit_row(
        &mut self,
        supplement_id: Uuid,
        app: Option<&ApplicationId>,
        unit: Option<&str>,
        action: String,
        detail: Value,
    ) {
        let r = &mut self.audit;
        r.action.push(action);
        r.supplement_id.push(supplement_id);
        r.application_id.push(app.map(|a| a.as_str().to_owned()));
        r.unit.push(unit.map(str::to_owned));
        r.detail.push(detail);
    }

    pub async fn write(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        let s = &self.supplements;
        if !s.id.is_empty() {
            let written = sqlx::query(
                "insert into supplements (supplement_id, event_id, channel, transport, sender,
                     customer_number, arrived_at, language, outcome, application_id, sequence,
                     unit, confidential, request_id, duplicate_of, possible_resend_of, flags,
                     triage_reasons, text_bucket, text_key, decrypted_with, receipt_reference,
                     inbound_attempt, triage_candidates, text_size, text_sha256)
                 select u.id, u.event_id, u.channel, u.transport, u.sender, u.customer_number,
                     u.arrived_at, u.language, u.outcome, u.application_id, u.sequence, u.unit,
                     u.confidential, u.request_id, u.duplicate_of, u.possible_resend_of, u.flags,
                     u.triage_reasons, u.text_bucket, u.text_key, u.decrypted_with, u.reference,
                     u.inbound_attempt,
                     case when u.candidates is not null
                          then array(select jsonb_array_elements_text(u.candidates)) end,
                     u.text_size, u.text_sha256
                 from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[],
                     $11::bigint[], $12::text[], $13::bool[], $14::text[], $15::uuid[],
                     $16::uuid[], $17::jsonb[], $18::jsonb[], $19::text[], $20::text[],
                     $21::text[], $22::text[], $23::uuid[], $24::jsonb[], $25::bigint[],
                     $26::text[])
                 as u (id, event_id, channel, transport, sender, customer_number, arrived_at,
                     language, outcome, application_id, sequence, unit, confidential,
                     request_id, duplicate_of, possible_resend_of, flags, triage_reasons,
                     text_bucket, text_key, decrypted_with, reference, inbound_attempt,
                     candidates, text_size, text_sha256)
                 on conflict (supplement_id) do update set
                     (event_id, channel, transport, sender, customer_number, arrived_at,
                      language, outcome, application_id, sequence, unit, confidential,
                      request_id, duplicate_of, possible_resend_of, flags, triage_reasons,
                      text_bucket, text_key, decrypted_with, receipt_reference,
                      inbound_attempt, triage_candidates, text_size, text_sha256) =
                     (excluded.event_id, excluded.channel, excluded.transport,
                      excluded.sender, excluded.customer_number, excluded.arrived_at,
                      excluded.language, excluded.outcome, excluded.application_id,
                      excluded.sequence, excluded.unit, excluded.confidential,
                      excluded.request_id, excluded.duplicate_of, excluded.possible_resend_of,
                      excluded.flags, excluded.triage_reasons, excluded.text_bucket,
                      excluded.text_key, excluded.decrypted_with, excluded.receipt_reference,
                      excluded.inbound_attempt, excluded.triage_candidates, excluded.text_size,
                      excluded.text_sha256)
                 where supplements.outcome = 'unprocessable'
                   and excluded.supplement_id = any($27)",
            )
            .bind(&s.id)
            .bind(&s.event_id)
            .bind(&s.channel)
            .bind(&s.transport)
            .bind(&s.sender)
            .bind(&s.customer_number)
            .bind(&s.arrived_at)
            .bind(&s.language)
            .bind(&s.outcome)
            .bind(&s.application_id)
            .bind(&s.sequence)
            .bind(&s.unit)
            .bind(&s.confidential)
            .bind(&s.request_id)
            .bind(&s.duplicate_of)
            .bind(&s.possible_resend_of)
            .bind(&s.flags)
            .bind(&s.triage_reasons)
            .bind(&s.text_bucket)
            .bind(&s.text_key)
            .bind(&s.decrypted_with)
            .bind(&s.reference)
            .bind(&s.inbound_attempt)
            .bind(&s.candidates)
            .bind(&s.text_size)
            .bind(&s.text_sha256)
            .bind(&s.replacing)
            .execute(&mut *tx)
            .await?;
            // A conflict not replaced: an outcome exists that is not
            // unprocessable (settled in triage while the copy was on its
            // way). The batch is refused, so its copy goes back to its
            // letter; the person's decision stands.
            if written.rows_affected() != s.id.len() as u64 {
                tracing::error!(
                    written = written.rows_affected(),
                    supplements = s.id.len(),
                    "a replayed copy's supplement has an outcome already; not recorded over it"
                );
                return Err(sqlx::Error::RowNotFound);
            }
        }
        let t = &self.attachments;
        if !t.id.is_empty() {
            sqlx::query(
                "insert into attachments (attachment_id, supplement_id, ordinal, filename,
                     declared_type, detected_type, size, sha256, bucket, object_key, verdict,
                     verdict_detail, scanned_at)
                 select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[],
                     $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::timestamptz[])",
            )
            .bind(&t.id)
            .bind(&t.supplement_id)
            .bind(&t.ordinal)
            .bind(&t.filename)
            .bind(&t.declared_type)
            .bind(&t.detected_type)
            .bind(&t.size)
            .bind(&t.sha256)
            .bind(&t.bucket)
            .bind(&t.key)
            .bind(&t.verdict)
            .bind(&t.detail)
            .bind(&t.scanned_at)
            .execute(&mut *tx)
            .await?;
        }
        let p = &self.prints;
        if !p.supplement_id.is_empty() {
            sqlx::query(
                "insert into dedup_fingerprints
                     (application_id, kind, fingerprint, supplement_id, received_at)
                 select * from unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[],
                     $5::timestamptz[])",
            )
            .bind(&p.application_id)
            .bind(&p.kind)
            .bind(&p.print)
            .bind(&p.supplement_id)
            .bind(&p.received_at)
            .execute(&mut *tx)
            .await?;
        }
        if !self.sequences.0.is_empty() {
            sqlx::query(
                "update application_sequences s set last_sequence = u.last
                 from unnest($1::text[], $2::bigint[]) as u (application_id, last)
                 where s.application_id = u.application_id",
            )
            .bind(&self.sequences.0)
            .bind(&self.sequences.1)
            .execute(&mut *tx)
            .await?;
        }
        let r = &self.audit;
        if !r.action.is_empty() {
            sqlx::query(
                "insert into audit_log (actor, action, supplement_id, application_id, unit, detail)
                 select $1, u.action, u.supplement_id, u.application_id, u.unit, u.detail
                 from unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[])
                     with ordinality as u (action, supplement_id, application_id, unit, detail, n)
                 order by u.n",
            )
            .bind(ACTOR)
            .bind(&r.action)
            .bind(&r.supplement_id)
            .bind(&r.application_id)
            .bind(&r.unit)
            .bind(&r.detail)
            .execute(&mut *tx)
            .await?;
        }
        let o = &self.outbox;
        if !o.topic.is_empty() {
            // Ids follow the order written: the relay publishes in id order.
            sqlx::query(
                "insert into outbox (topic, message_key, headers, payload)
                 select u.topic, u.key, u.headers, u.payload
                 from unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[])
                     with ordinality as u (topic, key, headers, payload, n)
                 order by u.n",
            )
            .bind(&o.topic)
            .bind(&o.key)
            .bind(&o.headers)
            .bind(&o.payload)
            .execute(&mut *tx)
            .await?;
        }
        if !self.finished.is_empty() {
            // Its trigger wakes every worker's arrival gate (ARRIVALS_CHANNEL).
            sqlx::query(
                "update ingest_claims set finished_at = now() where supplement_id = any($1)",
            )
            .bind(&self.finished)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// Builds the events that announce one outcome, with ids derived from the
/// supplement id so a repeat is recognisable downstream.
struct Announcer<'a> {
    pending: &'a Pending<'a>,
    decided: &'a Outcome,
    reference: &'a str,
    topics: &'a TopicNames,
    now: DateTime<Utc>,
}

type OutboxRow = (String, String, Value, Value);

impl Announcer<'_> {
    /// `None` only for an announcement the outcome cannot make (a routed
    /// event without an application, a part that is not refused).
    fn event(&self, announce: Announce) -> Option<OutboxRow> {
        let a = self.pending.analysis;
        let d = self.decided;
        let id = a.supplement_id;
        let what = announce.what();
        match announce {
            Announce::Routed => Some(
                self.row(
                    &topics::ROUTED,
                    &what,
                    SupplementRouted {
                        supplement_id: id,
                        application_id: d.application.clone()?,
                        sequence: d.sequence.unwrap_or_default() as u64,
                        unit: self
                            .pending
                            .registered
                            .map(|r| r.unit.clone())
                            .unwrap_or_default(),
                        confidential: self.pending.registered.is_some_and(|r| r.confidential),
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
                        flags: d.flags.clone(),
                    },
                ),
            ),
            Announce::Triaged => {
                let (reasons, candidates) = d.triage.clone().unwrap_or_default();
                Some(self.row(
                    &topics::TRIAGE,
                    &what,
                    SupplementTriaged {
                        supplement_id: id,
                        channel: a.channel,
                        arrived_at: a.arrived_at,
                        reasons,
                        candidates,
                    },
                ))
            }
            Announce::Quarantined => Some(self.quarantined(&what, None, d.whole.clone()?, None)),
            Announce::PartQuarantined { ordinal } => {
                let file = a.files.iter().find(|f| f.ordinal == ordinal)?;
                let PartVerdict::Refuse { quarantine, .. } = &file.verdict else {
                    return None;
                };
                let part = PartRef {
                    index: file.ordinal,
                    filename: Some(file.filename.clone()),
                };
                Some(self.quarantined(
                    &what,
                    Some(part),
                    quarantine.clone(),
                    Some(file.object.clone()),
                ))
            }
            Announce::Receipt => {
                let terms = &d.receipt;
                let request = receipt_request(
                    a,
                    &ReceiptFacts {
                        reference: self.reference,
                        application: self.pending.registered.filter(|_| terms.names_application),
                        already_received: terms.already_received.as_ref(),
                        message_refused: terms.message_refused,
                    },
                );
                Some(self.row(&topics::RECEIPTS, &what, request))
            }
        }
    }

    fn quarantined(
        &self,
        what: &str,
        part: Option<PartRef>,
        reason: QuarantineReason,
        object: Option<ObjectRef>,
    ) -> OutboxRow {
        let a = self.pending.analysis;
        self.row(
            &topics::QUARANTINE,
            what,
            SupplementQuarantined {
                supplement_id: a.supplement_id,
                channel: a.channel,
                arrived_at: a.arrived_at,
                part,
                reason,
                object,
            },
        )
    }

    /// An event in the trace of the record it announces: the relay and
    /// the event's consumers continue it.
    fn row<T: EventData>(&self, spec: &TopicSpec, what: &str, data: T) -> OutboxRow {
        let event = Event::new(SOURCE, self.now, data)
            .with_id(outbox_event_id(self.pending.analysis.supplement_id, what))
            .with_traceparent(self.pending.traceparent.clone());
        let headers: Vec<(String, String)> = event
            .headers()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let payload = serde_json::to_value(&event.data).unwrap_or_default();
        (self.topics.name(spec), event.key(), json!(headers), payload)
    }
}
