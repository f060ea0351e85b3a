//! The receipts table: one row per supplement, the state machine
//! pending -> sending -> sent / failed (or suppressed from the start), and
//! the sender's lease. Every write after the claim is fenced by the attempt
//! number, so a sender that lost its lease cannot overwrite a newer one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_core::events::{ReceiptRecipient, ReceiptRequested};
use intake_core::receipt::{Admission, Next, RateLimit, ReceiptState, RecipientHistory};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored receipt request {0} does not decode: {1}")]
    Request(Uuid, #[source] serde_json::Error),
}

impl StoreError {
    /// A request the database refuses by its rules (a supplement it does
    /// not know, a value out of range) will be refused every time.
    pub fn is_permanent(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("23503" | "23514" | "22001"))
            }
            StoreError::Db(_) => false,
            StoreError::Request(..) => true,
        }
    }
}

/// What storing a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Admitted,
    Suppressed(String),
    /// A redelivered request: the receipt already exists.
    AlreadyKnown,
}

/// Stores a request once per supplement and decides, under a lock on its
/// recipient, whether it will be sent: concurrent requests to one address
/// are counted one after the other, so the rate limit holds across
/// partitions and replicas.
pub async fn store(
    pool: &PgPool,
    request: &ReceiptRequested,
    message_id: &str,
    limit: RateLimit,
) -> Result<Stored, StoreError> {
    let key = intake_core::receipt::recipient_key(&request.recipient);
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 7411))")
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    let known: Option<(Uuid,)> =
        sqlx::query_as("select receipt_id from receipts where supplement_id = $1")
            .bind(request.supplement_id)
            .fetch_optional(&mut *tx)
            .await?;
    if known.is_some() {
        return Ok(Stored::AlreadyKnown);
    }
    let listed: Option<(String,)> =
        sqlx::query_as("select reason from receipt_suppressions where address = $1")
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
    let (recent,): (i64,) = sqlx::query_as(
        "select count(*) from receipts
         where recipient_key = $1 and state <> 'suppressed' and created_at > now() - $2::interval",
    )
    .bind(&key)
    .bind(interval(limit.window))
    .fetch_one(&mut *tx)
    .await?;
    let history = RecipientHistory {
        listed: listed.map(|(reason,)| reason),
        recent: u32::try_from(recent).unwrap_or(u32::MAX),
    };
    let admission = intake_core::receipt::admit(request, &history, limit);
    let (state, reason) = match &admission {
        Admission::Send => (ReceiptState::Pending, None),
        Admission::Suppress(why) => (ReceiptState::Suppressed, Some(why.clone())),
    };
    let recipient = match &request.recipient {
        ReceiptRecipient::Email { address } => address.clone(),
        ReceiptRecipient::EnterFinland { customer_number } => customer_number.to_string(),
    };
    let json = serde_json::to_value(request)
        .unwrap_or_else(|e| unreachable!("a receipt request serialises: {e}"));
    sqlx::query(
        "insert into receipts (receipt_id, supplement_id, reference, channel, recipient,
                               recipient_key, language, message_id, state, reason, request)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(request.receipt_id)
    .bind(request.supplement_id)
    .bind(&request.reference)
    .bind(request.channel.as_str())
    .bind(recipient)
    .bind(&key)
    .bind(request.language.map(intake_core::events::Language::as_str))
    .bind(message_id)
    .bind(state.as_str())
    .bind(&reason)
    .bind(json)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match admission {
        Admission::Send => Stored::Admitted,
        Admission::Suppress(why) => Stored::Suppressed(why),
    })
}

/// A receipt this sender holds the lease for.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub request: ReceiptRequested,
    /// The fencing token: this claim's attempt number.
    pub attempt: i32,
    pub created_at: DateTime<Utc>,
    /// The previous attempt was still `sending` when its lease ran out: its
    /// sender died mid-send, and may or may not have delivered.
    pub interrupted: bool,
}

/// Takes up to `limit` due receipts (new, due for a retry, or abandoned
/// mid-send) and marks them `sending` until `lease` from now.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, StoreError> {
    let rows: Vec<(serde_json::Value, i32, DateTime<Utc>, bool, Uuid)> = sqlx::query_as(
        "with due as (
             select receipt_id, state = 'sending' as interrupted from receipts
             where state in ('pending', 'sending') and next_attempt_at <= now()
             order by next_attempt_at, created_at
             limit $1
             for update skip locked
         )
         update receipts r
         set state = 'sending', attempts = r.attempts + 1,
             next_attempt_at = now() + $2::interval, updated_at = now()
         from due where r.receipt_id = due.receipt_id
         returning r.request, r.attempts, r.created_at, due.interrupted, r.receipt_id",
    )
    .bind(limit)
    .bind(interval(lease))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(request, attempt, created_at, interrupted, id)| {
            Ok(Claimed {
                request: serde_json::from_value(request).map_err(|e| StoreError::Request(id, e))?,
                attempt,
                created_at,
                interrupted,
            })
        })
        .collect()
}

/// Records the outcome of an attempt. False when the claim had been taken
/// over (the lease ran out first): the newer claim decides.
pub async fn finish(
    pool: &PgPool,
    receipt_id: Uuid,
    attempt: i32,
    next: &Next,
) -> Result<bool, StoreError> {
    let retry_in = next.retry_in.map(interval);
    let done = sqlx::query(
        "update receipts
         set state = $3, reason = $4, updated_at = now(),
             sent_at = case when $3 = 'sent' then now() end,
             next_attempt_at = coalesce(now() + $5::interval, next_attempt_at)
         where receipt_id = $1 and attempts = $2 and state = 'sending'",
    )
    .bind(receipt_id)
    .bind(attempt)
    .bind(next.state.as_str())
    .bind(&next.reason)
    .bind(retry_in)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A Postgres interval literal; sqlx binds `Duration` only with extra features.
fn interval(d: Duration) -> String {
    format!("{} milliseconds", d.as_millis())
}
