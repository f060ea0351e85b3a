//! Triage: the supplements the worker could not match to one application
//! (and those it could not process at all), for triage officers to attach
//! to an application or close as not a supplement. The `inbox` schema
//! decides who may and writes the audit rows; attaching is announced on
//! the routed topic through the outbox, in the same transaction.

use chrono::{DateTime, Utc};
use intake_core::access::Principal;
use intake_core::decide::outbox_event_id;
use intake_core::events::{
    Channel, Event, ObjectRef, RoutedAttachment, RoutingFlag, SupplementRouted,
};
use intake_core::ids::{ApplicationId, RequestId};
use intake_core::topics::{self, TopicNames};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use crate::queue::Cursor;
use crate::store::{Store, StoreError};

const SOURCE: &str = "/intake/inbox";

/// A supplement waiting for a triage officer.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TriageEntry {
    pub supplement_id: Uuid,
    /// `triage`, or `unprocessable` (nothing of it could be read).
    pub outcome: String,
    pub arrived_at: DateTime<Utc>,
    pub channel: Option<String>,
    pub sender: Option<String>,
    /// Why the worker could not decide (`TriageReason`s).
    #[schema(value_type = Option<Vec<Object>>)]
    pub triage_reasons: Option<serde_json::Value>,
    /// Applications the texts pointed at.
    pub triage_candidates: Option<Vec<String>>,
    pub files: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TriagePage {
    pub total: i64,
    pub entries: Vec<TriageEntry>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// A page of what waits for triage, oldest first; the look is audited.
pub async fn page(
    store: &Store,
    who: &Principal,
    after: Option<Cursor>,
    limit: u32,
) -> Result<TriagePage, StoreError> {
    let mut tx = store.act_as(who).await?;
    let total: i64 = sqlx::query_scalar(
        "select count(*) from inbox.supplements where outcome in ('triage', 'unprocessable')",
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut entries: Vec<TriageEntry> = sqlx::query_as(
        "select supplement_id, outcome, arrived_at, channel, sender, triage_reasons,
                triage_candidates, files
         from inbox.supplements
         where outcome in ('triage', 'unprocessable')
           and ($1::timestamptz is null or (arrived_at, supplement_id) > ($1, $2))
         order by arrived_at, supplement_id
         limit $3",
    )
    .bind(after.map(|c| c.arrived_at))
    .bind(after.map(|c| c.supplement_id))
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *tx)
    .await?;
    let next = Cursor::next_page(&mut entries, limit, |e| Cursor {
        arrived_at: e.arrived_at,
        supplement_id: e.supplement_id,
    });
    sqlx::query("select inbox.record_triage_list($1)")
        .bind(serde_json::json!({
            "after": after.map(|c| c.encode()),
            "shown": entries.len(),
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(TriagePage {
        total,
        entries,
        next,
    })
}

/// Where an attached supplement went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attached {
    pub supplement_id: Uuid,
    pub application_id: String,
    pub sequence: i64,
    pub unit: String,
}

#[derive(sqlx::FromRow)]
struct AttachFacts {
    application_id: String,
    sequence: i64,
    unit: String,
    confidential: bool,
    channel: String,
    arrived_at: DateTime<Utc>,
    request_id: Option<String>,
    flags: Json<Vec<RoutingFlag>>,
    text_object: Option<Json<ObjectRef>>,
    attachments: Json<Vec<RoutedAttachment>>,
}

/// Attaches a triaged supplement to `application`: numbered, queued in
/// the application's unit and announced on the routed topic, or nothing.
pub async fn attach(
    store: &Store,
    who: &Principal,
    topics: &TopicNames,
    id: Uuid,
    application: &str,
    note: Option<&str>,
) -> Result<Attached, StoreError> {
    let note = note.map(|n| crate::text::text("note", n)).transpose()?;
    let mut tx = store.act_as(who).await?;
    let facts: AttachFacts = sqlx::query_as(
        "select application_id, sequence, unit, confidential, channel, arrived_at, request_id,
                flags, text_object, attachments
         from inbox.attach($1, $2, $3)",
    )
    .bind(id)
    .bind(application)
    .bind(note)
    .fetch_one(&mut *tx)
    .await?;
    let event = routed_event(id, &facts).map_err(StoreError::Invalid)?;
    let headers: Vec<(String, String)> = event
        .headers()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let payload = serde_json::to_value(&event.data)
        .map_err(|e| StoreError::Invalid(format!("cannot encode the routed event: {e}")))?;
    sqlx::query("select inbox.announce_routed($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(topics.name(&topics::ROUTED))
        .bind(event.key())
        .bind(Json(headers))
        .bind(payload)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Attached {
        supplement_id: id,
        application_id: facts.application_id,
        sequence: facts.sequence,
        unit: facts.unit,
    })
}

/// The same event the worker publishes when it routes a supplement itself,
/// with the same id, so a consumer cannot tell the paths apart.
fn routed_event(id: Uuid, f: &AttachFacts) -> Result<Event<SupplementRouted>, String> {
    let application_id = ApplicationId::parse(&f.application_id)
        .map_err(|e| format!("registry holds an invalid application id: {e}"))?;
    let channel: Channel = serde_json::from_value(serde_json::Value::String(f.channel.clone()))
        .map_err(|e| format!("unknown channel {}: {e}", f.channel))?;
    let request_id = f
        .request_id
        .as_deref()
        .map(RequestId::parse)
        .transpose()
        .map_err(|e| format!("invalid request id: {e}"))?;
    let sequence = u64::try_from(f.sequence).map_err(|_| "negative sequence".to_owned())?;
    Ok(Event::new(
        SOURCE,
        Utc::now(),
        SupplementRouted {
            supplement_id: id,
            application_id,
            sequence,
            unit: f.unit.clone(),
            confidential: f.confidential,
            channel,
            arrived_at: f.arrived_at,
            request_id,
            text: f.text_object.as_ref().map(|t| t.0.clone()),
            attachments: f.attachments.0.clone(),
            flags: f.flags.0.clone(),
        },
    )
    .with_id(outbox_event_id(id, "routed")))
}

/// Closes a triaged or unprocessable supplement as not a supplement.
pub async fn dismiss(
    store: &Store,
    who: &Principal,
    id: Uuid,
    reason: &str,
) -> Result<(), StoreError> {
    let reason = crate::text::reason("reason", reason)?;
    let mut tx = store.act_as(who).await?;
    sqlx::query("select inbox.dismiss($1, $2)")
        .bind(id)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
