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
    Proceed(Lease),
    /// Already done: answer with this supplement id and do nothing.
    Replay(Uuid),
    /// Another request is doing it now.
    Busy,
}

/// The claim a request holds. `claimed_at` fences it: once a retry has
/// taken the claim over, the earlier attempt can no longer release it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub supplement_id: Uuid,
    pub claimed_at: DateTime<Utc>,
    /// Taken over from an earlier attempt whose event may be out: such a
    /// claim is never released, only left to go stale for the next retry,
    /// which must reuse the same supplement id.
    pub took_over: bool,
}

/// When the request arrived, and the application if the channel says.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub arrived_at: DateTime<Utc>,
    pub application_id: Option<&'a str>,
    /// An e-mail's envelope sender, as `ingest::envelope_sender` has it.
    pub sender: Option<&'a str>,
}

pub async fn claim(
    pool: &PgPool,
    channel: Channel,
    key: &str,
    arrival: Arrival<'_>,
    stale_after: Duration,
) -> Result<Claimed, sqlx::Error> {
    let fresh = Uuid::now_v7();
    let inserted: Option<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "insert into ingest_claims (channel, idempotency_key, supplement_id, state, arrived_at, application_id, sender)
         values ($1, $2, $3, 'in_progress', $4, $5, $6)
         on conflict (channel, idempotency_key) do nothing
         returning supplement_id, claimed_at",
    )
    .bind(channel.as_str())
    .bind(key)
    .bind(fresh)
    .bind(arrival.arrived_at)
    .bind(arrival.application_id)
    .bind(arrival.sender)
    .fetch_optional(pool)
    .await?;
    if let Some((supplement_id, claimed_at)) = inserted {
        return Ok(Claimed::Proceed(Lease {
            supplement_id,
            claimed_at,
            took_over: false,
        }));
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
            let taken: Option<DateTime<Utc>> = sqlx::query_scalar(
                "update ingest_claims set claimed_at = clock_timestamp(), arrived_at = $4, sender = $5
                 where channel = $1 and idempotency_key = $2 and state = 'in_progress' and claimed_at = $3
                 returning claimed_at",
            )
            .bind(channel.as_str())
            .bind(key)
            .bind(claimed_at)
            .bind(arrival.arrived_at)
            .bind(arrival.sender)
            .fetch_optional(pool)
            .await?;
            match taken {
                Some(claimed_at) => Claimed::Proceed(Lease {
                    supplement_id,
                    claimed_at,
                    took_over: true,
                }),
                None => Claimed::Busy,
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

/// Forgets a claim whose request failed, so a corrected retry can proceed;
/// only while this request still holds it (not after a takeover).
pub async fn release(
    pool: &PgPool,
    channel: Channel,
    key: &str,
    held: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from ingest_claims
         where channel = $1 and idempotency_key = $2 and state = 'in_progress' and claimed_at = $3",
    )
    .bind(channel.as_str())
    .bind(key)
    .bind(held)
    .execute(pool)
    .await?;
    Ok(())
}
