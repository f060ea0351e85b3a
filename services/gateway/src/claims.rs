//! Idempotency claims in PostgreSQL: one row per (channel, key), holding the
//! supplement id that every retry of the request reuses.

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_core::events::Channel;
use intake_core::ingest::{Claim, ClaimDecision, ClaimState, decide_claim};
use sqlx::PgPool;
use uuid::Uuid;

/// What the request should do after claiming its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// Do the work under this supplement id (new, or taken over).
    Proceed(Uuid),
    /// Already done: answer with this supplement id and do nothing.
    Replay(Uuid),
    /// Another request is doing it now.
    Busy,
}

/// When the request arrived, and the application if the channel says.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub arrived_at: DateTime<Utc>,
    pub application_id: Option<&'a str>,
}

pub async fn claim(
    pool: &PgPool,
    channel: Channel,
    key: &str,
    arrival: Arrival<'_>,
    stale_after: Duration,
) -> Result<Claimed, sqlx::Error> {
    let fresh = Uuid::now_v7();
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into ingest_claims (channel, idempotency_key, supplement_id, state, arrived_at, application_id)
         values ($1, $2, $3, 'in_progress', $4, $5)
         on conflict (channel, idempotency_key) do nothing
         returning supplement_id",
    )
    .bind(channel.as_str())
    .bind(key)
    .bind(fresh)
    .bind(arrival.arrived_at)
    .bind(arrival.application_id)
    .fetch_optional(pool)
    .await?;
    if let Some(id) = inserted {
        return Ok(Claimed::Proceed(id));
    }
    let row: Option<(Uuid, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "select supplement_id, state, claimed_at, now() from ingest_claims
         where channel = $1 and idempotency_key = $2",
    )
    .bind(channel.as_str())
    .bind(key)
    .fetch_optional(pool)
    .await?;
    // Released between our insert and select: the caller may simply retry.
    let Some((supplement_id, state, claimed_at, now)) = row else {
        return Ok(Claimed::Busy);
    };
    let existing = Claim {
        supplement_id,
        state: if state == "accepted" {
            ClaimState::Accepted
        } else {
            ClaimState::InProgress
        },
        claimed_at,
    };
    Ok(match decide_claim(&existing, now, stale_after) {
        ClaimDecision::Replay { supplement_id } => Claimed::Replay(supplement_id),
        ClaimDecision::Busy => Claimed::Busy,
        ClaimDecision::TakeOver { supplement_id } => {
            // Only one of several retries may take over.
            let taken = sqlx::query(
                "update ingest_claims set claimed_at = now(), arrived_at = $4
                 where channel = $1 and idempotency_key = $2 and state = 'in_progress' and claimed_at = $3",
            )
            .bind(channel.as_str())
            .bind(key)
            .bind(claimed_at)
            .bind(arrival.arrived_at)
            .execute(pool)
            .await?;
            if taken.rows_affected() == 1 {
                Claimed::Proceed(supplement_id)
            } else {
                Claimed::Busy
            }
        }
    })
}

pub async fn accept(pool: &PgPool, channel: Channel, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update ingest_claims set state = 'accepted', accepted_at = now()
         where channel = $1 and idempotency_key = $2",
    )
    .bind(channel.as_str())
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a claim whose request failed, so a corrected retry can proceed.
pub async fn release(pool: &PgPool, channel: Channel, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from ingest_claims where channel = $1 and idempotency_key = $2 and state = 'in_progress'")
        .bind(channel.as_str())
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
