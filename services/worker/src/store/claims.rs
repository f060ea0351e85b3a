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

/// Notified (by a trigger on `ingest_claims`) whenever arrivals are
/// finished or withdrawn, so each worker's arrival gate looks again at
/// once instead of on a timer.
pub const ARRIVALS_CHANNEL: &str = "intake_arrivals";

/// Records which application each waiting supplement belongs to, so that
/// it holds only that application's later supplements in other workers.
/// Only supplements that must wait are marked: one numbered at once never
/// needs it.
pub async fn mark_applications(
    pool: &PgPool,
    marks: &[(Uuid, &ApplicationId)],
) -> Result<(), sqlx::Error> {
    if marks.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = marks.iter().map(|(id, _)| *id).collect();
    let applications: Vec<&str> = marks.iter().map(|(_, a)| a.as_str()).collect();
    sqlx::query(
        "update ingest_claims c set application_id = u.application_id
         from unnest($1::uuid[], $2::text[]) as u (supplement_id, application_id)
         where c.supplement_id = u.supplement_id",
    )
    .bind(&ids)
    .bind(&applications)
    .execute(pool)
    .await?;
    Ok(())
}

/// For supplements finished without an outcome (dead-lettered before
/// anything could be recorded).
pub async fn mark_finished(pool: &PgPool, supplement_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update ingest_claims set finished_at = now()
         where supplement_id = $1 and finished_at is null",
    )
    .bind(supplement_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// What the arrival gate learned: the earliest unfinished arrival that may
/// belong to each application asked about (and the earliest that may
/// belong to any), and when the next abandoned upload stops counting.
#[derive(Debug, Default)]
pub struct Blockers {
    pub blockers: Vec<Blocker>,
    pub next_lapse: Option<DateTime<Utc>>,
}

/// Asks, for the applications of the supplements waiting here, for the
/// earliest unfinished arrival (up to `until`) that may still be routed to
/// each, leaving out the supplements this worker already holds (`ours`):
/// a bounded number of index look-ups, however many arrivals are
/// unfinished. Abandoned gateway requests (older than `stale_after` and
/// never accepted) do not count.
pub async fn blockers(
    pool: &PgPool,
    applications: &[&ApplicationId],
    ours: &[Uuid],
    until: DateTime<Utc>,
    stale_after: Duration,
    non_party: NonPartyPolicy,
) -> Result<Blockers, sqlx::Error> {
    /// Application (none: any), arrival, supplement, when it stops counting.
    type Row = (Option<String>, DateTime<Utc>, Uuid, Option<DateTime<Utc>>);
    let applications: Vec<&str> = applications.iter().map(|a| a.as_str()).collect();
    // Where only a party's mail can be routed, an unmatched e-mail can only
    // belong to its sender's applications.
    let sender_scoped = non_party == NonPartyPolicy::Triage;
    let rows: Vec<Row> = sqlx::query_as(
        "with params as (select now() - $2::interval as live_since)
         (select null::text, c.arrived_at, c.supplement_id,
                 case when c.state <> 'accepted' then c.claimed_at + $2::interval end
          from ingest_claims c, params
          where c.finished_at is null and c.application_id is null
            and c.arrived_at <= $1
            and (c.sender is null or not $5)
            and (c.state = 'accepted' or c.claimed_at > params.live_since)
            and c.supplement_id <> all($3)
          order by c.arrived_at, c.supplement_id limit 1)
         union all
         (select q.application_id, b.arrived_at, b.supplement_id, b.lapses_at
          from unnest($4::text[]) as q (application_id), params
          cross join lateral (
              select c.arrived_at, c.supplement_id,
                     case when c.state <> 'accepted' then c.claimed_at + $2::interval end
                         as lapses_at
              from ingest_claims c
              where c.finished_at is null and c.application_id = q.application_id
                and c.arrived_at <= $1
                and (c.state = 'accepted' or c.claimed_at > params.live_since)
                and c.supplement_id <> all($3)
              order by c.arrived_at, c.supplement_id limit 1) b)
         union all
         (select a.application_id, b.arrived_at, b.supplement_id, b.lapses_at
          from applications a, params
          cross join lateral (
              select c.arrived_at, c.supplement_id,
                     case when c.state <> 'accepted' then c.claimed_at + $2::interval end
                         as lapses_at
              from ingest_claims c
              where $5 and c.finished_at is null and c.application_id is null
                and c.sender = any(a.contact_addresses)
                and c.arrived_at <= $1
                and (c.state = 'accepted' or c.claimed_at > params.live_since)
                and c.supplement_id <> all($3)
              order by c.arrived_at, c.supplement_id limit 1) b
          where a.application_id = any($4))",
    )
    .bind(until)
    .bind(format!("{} seconds", stale_after.as_secs()))
    .bind(ours)
    .bind(&applications)
    .bind(sender_scoped)
    .fetch_all(pool)
    .await?;
    let next_lapse = rows.iter().filter_map(|r| r.3).min();
    let blockers = rows
        .into_iter()
        .map(|(application, arrived_at, supplement_id, _)| Blocker {
            supplement_id,
            arrived_at,
            scope: match application.and_then(|a| ApplicationId::parse(&a).ok()) {
                Some(application) => Scope::Only(vec![application]),
                None => Scope::Any,
            },
        })
        .collect();
    Ok(Blockers {
        blockers,
        next_lapse,
    })
}
