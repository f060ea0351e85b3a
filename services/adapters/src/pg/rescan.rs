//! Delivered files scanned again with newer signatures (`intake rescan`):
//! which files a rescan walks, and what a file found infected changes, in
//! one transaction: its verdict and object (now in the quarantine bucket),
//! its supplement's flags, the audit log and an announcement on the
//! quarantine topic.

use chrono::{DateTime, Utc};
use intake_core::decide::outbox_event_id;
use intake_core::events::{
    Event, ObjectRef, PartRef, QuarantineReason, RoutingFlag, SupplementQuarantined,
};
use intake_core::topics::{self, TopicNames};
use serde_json::json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// A file delivered clean.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivered {
    pub attachment_id: Uuid,
    pub supplement_id: Uuid,
    pub ordinal: i32,
    pub filename: String,
    pub bucket: String,
    pub object_key: String,
    pub size: i64,
    pub sha256: String,
    pub scanned_at: DateTime<Utc>,
}

/// Where a walk stands: the last file seen, in walking order.
pub type Position = (DateTime<Utc>, Uuid);

/// Up to `limit` files delivered clean and scanned at or after `since`,
/// after `after`, oldest scan first.
pub async fn delivered(
    db: impl PgExecutor<'_>,
    since: DateTime<Utc>,
    after: Option<Position>,
    limit: i64,
) -> Result<Vec<Delivered>, sqlx::Error> {
    sqlx::query_as(
        "select attachment_id, supplement_id, ordinal, filename, bucket, object_key, size, sha256,
                scanned_at
           from attachments
          where verdict = 'clean' and scanned_at >= $1
            and ($2::timestamptz is null or (scanned_at, attachment_id) > ($2, $3))
          order by scanned_at, attachment_id
          limit $4",
    )
    .bind(since)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Files still clean with today's signatures.
pub async fn still_clean(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update attachments set rescanned_at = now()
          where attachment_id = any($1) and verdict = 'clean'",
    )
    .bind(ids)
    .execute(db)
    .await?;
    Ok(())
}

/// A delivered file found infected, its bytes already copied to
/// `quarantined` (the quarantine bucket).
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub file: &'a Delivered,
    pub signature: &'a str,
    pub quarantined: ObjectRef,
    /// Who ran the rescan, for the audit log.
    pub actor: &'a str,
}

/// Records a finding. False if the file is no longer clean (a rescan
/// running beside this one got there first): nothing changed, and the
/// caller removes its own copy.
pub async fn record_infected(
    pool: &PgPool,
    topics: &TopicNames,
    finding: &Finding<'_>,
) -> Result<bool, sqlx::Error> {
    let file = finding.file;
    let reason = QuarantineReason::Infected {
        signature: finding.signature.to_owned(),
    };
    let mut tx = pool.begin().await?;
    let updated: Option<(Uuid,)> = sqlx::query_as(
        "update attachments
            set verdict = 'infected', verdict_detail = $2, bucket = $3, object_key = $4,
                rescanned_at = now(), infected_after_delivery_at = now()
          where attachment_id = $1 and verdict = 'clean'
          returning supplement_id",
    )
    .bind(file.attachment_id)
    .bind(json!(reason).to_string())
    .bind(&finding.quarantined.bucket)
    .bind(&finding.quarantined.key)
    .fetch_optional(&mut *tx)
    .await?;
    if updated.is_none() {
        return Ok(false);
    }
    let flag = RoutingFlag::InfectedAfterDelivery {
        attachment_id: file.attachment_id,
    };
    let (application_id, unit, channel, arrived_at): (Option<String>, Option<String>, String, DateTime<Utc>) =
        sqlx::query_as(
            "update supplements set flags = coalesce(flags, '[]'::jsonb) || jsonb_build_array($2::jsonb)
              where supplement_id = $1
          returning application_id, unit, channel, arrived_at",
        )
        .bind(file.supplement_id)
        .bind(json!(flag))
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "insert into audit_log (actor, action, supplement_id, application_id, unit, detail)
         values ($1, 'attachment.infected_after_delivery', $2, $3, $4, $5)",
    )
    .bind(finding.actor)
    .bind(file.supplement_id)
    .bind(&application_id)
    .bind(&unit)
    .bind(json!({
        "attachment_id": file.attachment_id,
        "filename": file.filename,
        "reason": reason,
        "delivered_at": file.scanned_at,
        "from": format!("{}/{}", file.bucket, file.object_key),
        "object": format!("{}/{}", finding.quarantined.bucket, finding.quarantined.key),
    }))
    .execute(&mut *tx)
    .await?;
    let channel =
        serde_json::from_value(json!(channel)).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let event = Event::new(
        "/intake/rescan",
        Utc::now(),
        SupplementQuarantined {
            supplement_id: file.supplement_id,
            channel,
            arrived_at,
            part: Some(PartRef {
                index: u32::try_from(file.ordinal).unwrap_or_default(),
                filename: Some(file.filename.clone()),
            }),
            reason,
            object: Some(finding.quarantined.clone()),
        },
    )
    .with_id(outbox_event_id(
        file.supplement_id,
        &format!("rescan/{}", file.attachment_id),
    ));
    let headers: Vec<(String, String)> = event
        .headers()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    sqlx::query(
        "insert into outbox (topic, message_key, headers, payload) values ($1, $2, $3, $4)",
    )
    .bind(topics.name(&topics::QUARANTINE))
    .bind(event.key())
    .bind(json!(headers))
    .bind(serde_json::to_value(&event.data).map_err(|e| sqlx::Error::Encode(e.into()))?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Files found infected after delivery, ever: the exporter's gauge, which
/// an alert watches for growth.
pub async fn infected_after_delivery(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from attachments where infected_after_delivery_at is not null",
    )
    .fetch_one(db)
    .await
}
