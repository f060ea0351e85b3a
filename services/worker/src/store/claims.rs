//! The gateway's claims as the record of arrivals: each holds a
//! supplement's arrival time from the moment its request came in, so the
//! worker can tell whether anything earlier is still unfinished, wherever
//! it is (uploading, in Kafka, in another worker).

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_core::decide::Blocker;
use intake_core::ids::ApplicationId;
use sqlx::PgPool;
use uuid::Uuid;

/// Records which application an analysed supplement belongs to, so that
/// it holds only that application's later supplements.
pub async fn mark_application(
    pool: &PgPool,
    supplement_id: Uuid,
    application_id: &ApplicationId,
) -> Result<(), sqlx::Error> {
    sqlx::query("update ingest_claims set application_id = $2 where supplement_id = $1")
        .bind(supplement_id)
        .bind(application_id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// For supplements finished outside the routing transaction (dead-lettered).
pub async fn mark_finished(pool: &PgPool, supplement_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update ingest_claims set finished_at = now() where supplement_id = $1 and finished_at is null")
        .bind(supplement_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Unfinished arrivals before `until`; abandoned gateway requests (older
/// than `stale_after` and never accepted) do not count.
pub async fn blockers(
    pool: &PgPool,
    until: DateTime<Utc>,
    stale_after: Duration,
) -> Result<Vec<Blocker>, sqlx::Error> {
    let rows: Vec<(Uuid, DateTime<Utc>, Option<String>)> = sqlx::query_as(
        "select supplement_id, arrived_at, application_id from ingest_claims
         where finished_at is null and arrived_at <= $1
           and (state = 'accepted' or claimed_at > now() - $2::interval)",
    )
    .bind(until)
    .bind(format!("{} seconds", stale_after.as_secs()))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(supplement_id, arrived_at, application)| Blocker {
            supplement_id,
            arrived_at,
            application_id: application.and_then(|a| ApplicationId::parse(&a).ok()),
        })
        .collect())
}
