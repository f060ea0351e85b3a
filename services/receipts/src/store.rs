//! The receipts table: one row per supplement, the state machine
//! pending -> sending -> sent / failed (or suppressed from the start, or
//! held over the rate limit and later combined into one carrier receipt),
//! and the sender's lease. Every write after the claim is fenced by the attempt
//! number, so a sender that lost its lease cannot overwrite a newer one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_adapters::retry::Retry;
use intake_core::events::{ReceiptRecipient, ReceiptRequested};
use intake_core::receipt::{Admission, Next, RateLimit, ReceiptState, RecipientHistory};
use sqlx::{PgConnection, PgPool};
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

    /// Whether another try may succeed.
    pub fn classified(self) -> Retry<Self> {
        if self.is_permanent() {
            Retry::Permanent(self)
        } else {
            Retry::Transient(self)
        }
    }
}

/// What storing a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Admitted,
    Suppressed(String),
    Held(String),
    /// A redelivered request: the receipt already exists.
    AlreadyKnown,
}

impl Stored {
    /// The decision's name, for metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Stored::Admitted => "admitted",
            Stored::Suppressed(_) => "suppressed",
            Stored::Held(_) => "held",
            Stored::AlreadyKnown => "already_known",
        }
    }
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
    lock_recipient(&mut tx, &key).await?;
    let known: Option<(Uuid,)> =
        sqlx::query_as("select receipt_id from receipts where supplement_id = $1")
            .bind(request.supplement_id)
            .fetch_optional(&mut *tx)
            .await?;
    if known.is_some() {
        return Ok(Stored::AlreadyKnown);
    }
    let history = recipient_history(&mut tx, &key, limit.window).await?;
    let admission = intake_core::receipt::admit(request, &history, limit);
    let (state, reason) = match &admission {
        Admission::Send => (ReceiptState::Pending, None),
        Admission::Suppress(why) => (ReceiptState::Suppressed, Some(why.clone())),
        Admission::Hold(why) => (ReceiptState::Held, Some(why.clone())),
    };
    let recipient = match &request.recipient {
        ReceiptRecipient::Email { address } => address.clone(),
        ReceiptRecipient::EnterFinland { customer_number } => customer_number.to_string(),
    };
    let json = serde_json::to_value(request)
        .unwrap_or_else(|e| unreachable!("a receipt request serialises: {e}"));
    sqlx::query(
        "insert into receipts (receipt_id, supplement_id, reference, channel, recipient,
                               recipient_key, language, message_id, state, reason, request,
                               admitted_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 case when $9 = 'pending' then now() end)",
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
        Admission::Hold(why) => Stored::Held(why),
    })
}

/// Serialises everything decided about one recipient (admission, release)
/// across partitions and replicas, until the transaction ends.
async fn lock_recipient(tx: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 7411))")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// What the rate limit and the suppression list say of a recipient; read
/// under `lock_recipient`.
async fn recipient_history(
    tx: &mut PgConnection,
    key: &str,
    window: Duration,
) -> Result<RecipientHistory, sqlx::Error> {
    let listed: Option<(String,)> =
        sqlx::query_as("select reason from receipt_suppressions where address = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    // Two counts, each served by its own partial index.
    let (recent,): (i64,) = sqlx::query_as(
        "select count(*) from receipts
         where recipient_key = $1 and admitted_at > now() - $2::interval",
    )
    .bind(key)
    .bind(interval(window))
    .fetch_one(&mut *tx)
    .await?;
    let (held,): (i64,) =
        sqlx::query_as("select count(*) from receipts where recipient_key = $1 and state = 'held'")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
    Ok(RecipientHistory {
        listed: listed.map(|(reason,)| reason),
        recent: u32::try_from(recent).unwrap_or(u32::MAX),
        held: u32::try_from(held).unwrap_or(u32::MAX),
    })
}

/// The most references one combined receipt lists; more wait for the next.
const MAX_COMBINED: i64 = 100;

/// Releases held receipts where the rate limit now allows one more mail:
/// the oldest held one becomes a pending carrier, and the others held for
/// the same address are combined into it. Returns how many carriers.
pub async fn release_held(pool: &PgPool, limit: RateLimit) -> Result<u64, StoreError> {
    // Oldest held first, a bounded number per round: no address can keep
    // the others waiting, and one round stays short.
    let keys: Vec<(String,)> = sqlx::query_as(
        "select recipient_key from receipts where state = 'held'
         group by recipient_key order by min(created_at) limit 100",
    )
    .fetch_all(pool)
    .await?;
    let mut carriers = 0;
    for (key,) in keys {
        let mut tx = pool.begin().await?;
        // The same lock `store` counts under: no admission in between.
        lock_recipient(&mut tx, &key).await?;
        let history = recipient_history(&mut tx, &key, limit.window).await?;
        // Listed while held, or receipts turned off: nothing is sent.
        let stop = match history.listed {
            Some(reason) => Some(format!("on the suppression list ({reason})")),
            None if limit.per_window == 0 => {
                Some("e-mail receipts turned off (rate limit 0)".into())
            }
            None => None,
        };
        if let Some(reason) = stop {
            sqlx::query(
                "update receipts set state = 'suppressed', reason = $2, updated_at = now()
                 where recipient_key = $1 and state = 'held'",
            )
            .bind(&key)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            continue;
        }
        if !intake_core::receipt::within_rate(history.recent, limit.per_window) {
            continue;
        }
        let held: Vec<(Uuid,)> = sqlx::query_as(
            "select receipt_id from receipts where recipient_key = $1 and state = 'held'
             order by created_at, receipt_id limit $2",
        )
        .bind(&key)
        .bind(MAX_COMBINED + 1)
        .fetch_all(&mut *tx)
        .await?;
        let Some(((carrier,), others)) = held.split_first() else {
            continue;
        };
        let others: Vec<Uuid> = others.iter().map(|(id,)| *id).collect();
        sqlx::query(
            "update receipts set state = 'pending', admitted_at = now(), next_attempt_at = now(),
                 reason = case when $2 then null else 'combined with ' || $3 || ' held receipts' end,
                 updated_at = now()
             where receipt_id = $1",
        )
        .bind(carrier)
        .bind(others.is_empty())
        .bind(others.len().to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "update receipts set state = 'combined', combined_into = $2,
                 reason = 'answered by a combined receipt', updated_at = now()
             where receipt_id = any($1)",
        )
        .bind(&others)
        .bind(carrier)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        carriers += 1;
    }
    Ok(carriers)
}

/// A receipt this sender holds the lease for.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub request: ReceiptRequested,
    /// The fencing token: this claim's attempt number.
    pub attempt: i32,
    pub created_at: DateTime<Utc>,
    /// The held receipts this one answers too, oldest first.
    pub also: Vec<ReceiptRequested>,
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
    type Row = (
        serde_json::Value,
        i32,
        DateTime<Utc>,
        bool,
        Uuid,
        Vec<serde_json::Value>,
    );
    let rows: Vec<Row> = sqlx::query_as(
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
         returning r.request, r.attempts, r.created_at, due.interrupted, r.receipt_id,
             array(select c.request from receipts c where c.combined_into = r.receipt_id
                   order by c.created_at, c.receipt_id)",
    )
    .bind(limit)
    .bind(interval(lease))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(request, attempt, created_at, interrupted, id, also)| {
            Ok(Claimed {
                request: serde_json::from_value(request).map_err(|e| StoreError::Request(id, e))?,
                attempt,
                created_at,
                also: also
                    .into_iter()
                    .map(serde_json::from_value)
                    .collect::<Result<_, _>>()
                    .map_err(|e| StoreError::Request(id, e))?,
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
