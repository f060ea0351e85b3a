//! The gateway's claims as the record of arrivals: each holds a
//! supplement's arrival time from the moment its request came in, so the
//! worker can tell whether anything earlier is still unfinished, wherever
//! it is (uploading, in Kafka, in another worker).

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_core::decide::{Blocker, NonPartyPolicy, Scope};
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

/// Unfinished arrivals before `until`, each with where it may still be
/// routed; abandoned gateway requests (older than `stale_after` and never
/// accepted) do not count.
pub async fn blockers(
    pool: &PgPool,
    until: DateTime<Utc>,
    stale_after: Duration,
    non_party: NonPartyPolicy,
) -> Result<Vec<Blocker>, sqlx::Error> {
    /// Supplement, arrival, application, applications its sender is a party to.
    type Row = (Uuid, DateTime<Utc>, Option<String>, Option<Vec<String>>);
    let rows: Vec<Row> = sqlx::query_as(
        "select c.supplement_id, c.arrived_at, c.application_id,
                case when c.sender is not null and c.application_id is null then
                    array(select a.application_id from applications a
                          where a.contact_addresses @> array[c.sender])
                end
         from ingest_claims c
         where c.finished_at is null and c.arrived_at <= $1
           and (c.state = 'accepted' or c.claimed_at > now() - $2::interval)",
    )
    .bind(until)
    .bind(format!("{} seconds", stale_after.as_secs()))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(supplement_id, arrived_at, application, parties)| Blocker {
                supplement_id,
                arrived_at,
                scope: Scope::of(
                    application.and_then(|a| ApplicationId::parse(&a).ok()),
                    parties.map(|p| {
                        p.iter()
                            .filter_map(|a| ApplicationId::parse(a).ok())
                            .collect()
                    }),
                    non_party,
                ),
            },
        )
        .collect())
}
