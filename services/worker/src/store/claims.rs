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

/// What the order stage tells and asks in one round trip.
#[derive(Debug)]
pub struct Question<'a> {
    /// Waiting supplements not yet marked with their application: each
    /// then holds only that application's later supplements in other
    /// workers. Only supplements that wait are marked; one numbered at
    /// once never needs it.
    pub marks: &'a [(Uuid, &'a ApplicationId)],
    /// The applications of the supplements waiting here.
    pub applications: &'a [&'a ApplicationId],
    /// The supplements this worker holds, which are not blockers.
    pub ours: &'a [Uuid],
    /// Arrivals after this do not count.
    pub until: DateTime<Utc>,
    /// Gateway requests older than this and never accepted (abandoned
    /// uploads) do not count.
    pub stale_after: Duration,
    pub non_party: NonPartyPolicy,
}

/// Marks `question.marks`, and asks for the earliest unfinished arrival
/// that may still be routed to each application asked about: a bounded
/// number of index look-ups, however many arrivals are unfinished. The
/// marks are not seen by the answer (one snapshot), which leaves the
/// marked supplements out anyway.
pub async fn blockers(pool: &PgPool, question: &Question<'_>) -> Result<Blockers, sqlx::Error> {
    /// Application (none: any), arrival, supplement, when it stops counting.
    type Row = (Option<String>, DateTime<Utc>, Uuid, Option<DateTime<Utc>>);
    let applications: Vec<&str> = question.applications.iter().map(|a| a.as_str()).collect();
    // In one order, so two workers marking the same claims (during a
    // rebalance) lock them in the same order and never deadlock.
    let mut marks: Vec<(Uuid, &str)> = question
        .marks
        .iter()
        .map(|(id, a)| (*id, a.as_str()))
        .collect();
    marks.sort_unstable();
    let (marked, marked_as): (Vec<Uuid>, Vec<&str>) = marks.into_iter().unzip();
    // Where only a party's mail can be routed, an unmatched e-mail can only
    // belong to its sender's applications.
    let sender_scoped = question.non_party == NonPartyPolicy::Triage;
    let rows: Vec<Row> = sqlx::query_as(
        "with params as (select now() - $2::interval as live_since),
         marked as (
             update ingest_claims c set application_id = u.application_id
             from unnest($6::uuid[], $7::text[]) as u (supplement_id, application_id)
             where c.supplement_id = u.supplement_id)
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
    .bind(question.until)
    .bind(format!("{} seconds", question.stale_after.as_secs()))
    .bind(question.ours)
    .bind(&applications)
    .bind(sender_scoped)
    .bind(&marked)
    .bind(&marked_as)
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
