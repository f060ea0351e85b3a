//! Dead letters on record (`dead_letters`): parked by the services, listed,
//! shown and replayed by operators. A listing never carries the payload.

use chrono::{DateTime, Utc};
use intake_core::dead_letter::{
    MAX_ERROR_BYTES, MAX_REPLAYS, ReplayTag, State, after_failure, storable,
};
use sqlx::{PgExecutor, PgPool};

use super::is_transient;
use crate::retry::Backoff;
use uuid::Uuid;

/// Where a record was read.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// A record a service gives up on, as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Parked<'a> {
    pub service: &'a str,
    pub reason: &'a str,
    pub error: &'a str,
    pub origin: Origin<'a>,
    pub supplement_id: Option<Uuid>,
    pub key: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub payload: &'a [u8],
}

/// What [`park`] did with a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    /// Put on record, or (a redelivery) one more attempt counted on it.
    Parked(Uuid),
    /// A replayed copy failed again: its letter is open again, or
    /// quarantined once its replays are spent.
    Returned(Uuid),
    /// A copy of a replay already settled, or a second delivery of one:
    /// nothing changed.
    Stale(Uuid),
}

impl Filed {
    pub fn id(self) -> Uuid {
        match self {
            Filed::Parked(id) | Filed::Returned(id) | Filed::Stale(id) => id,
        }
    }
}

/// Puts a dead letter on record. A record parked before (a redelivery)
/// counts one more attempt on its row. A replayed copy (its tag naming a
/// letter of the topic it was read from) comes back to the letter it was
/// replayed from: open again, or quarantined once its replays are spent
/// ([`MAX_REPLAYS`]); a copy of a replay already settled changes nothing.
pub async fn park(db: impl PgExecutor<'_>, letter: &Parked<'_>) -> Result<Filed, sqlx::Error> {
    let tag = ReplayTag::find(letter.headers.iter().copied());
    let names: Vec<String> = letter
        .headers
        .iter()
        .map(|(n, _)| storable(n, MAX_ERROR_BYTES))
        .collect();
    let error = storable(letter.error, MAX_ERROR_BYTES);
    let values: Vec<&[u8]> = letter.headers.iter().map(|(_, v)| *v).collect();
    // Both branches in one statement, so a caller inside a transaction
    // and one with a pool write the same way.
    let (returned, known, parked): (Option<Uuid>, Option<Uuid>, Option<Uuid>) = sqlx::query_as(
        "with replayed as (
             update dead_letters
                set attempts = attempts + 1, last_failed_at = now(), error = $4,
                    state = $13,
                    replay_sent_at = null
              where id = $14 and state = 'replaying' and replays = $15 and origin_topic = $5
          returning id
         ), known as (
             select id from dead_letters where id = $14 and origin_topic = $5
         ), parked as (
             insert into dead_letters (id, service, reason, error, origin_topic,
                 origin_partition, origin_offset, supplement_id, record_key, header_names,
                 header_values, payload)
             select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
              where not exists (select 1 from known)
             on conflict (origin_topic, origin_partition, origin_offset, payload_sha256) do update
                set attempts = dead_letters.attempts + 1, last_failed_at = now(),
                    error = excluded.error
          returning id
         )
         select (select id from replayed), (select id from known), (select id from parked)",
    )
    .bind(Uuid::now_v7())
    .bind(letter.service)
    .bind(letter.reason)
    .bind(&error)
    .bind(letter.origin.topic)
    .bind(letter.origin.partition)
    .bind(letter.origin.offset)
    .bind(letter.supplement_id)
    .bind(letter.key)
    .bind(&names)
    .bind(&values)
    .bind(letter.payload)
    // Only the letter waiting for this very replay is changed, so its
    // replays are the tag's.
    .bind(tag.map(|t| after_failure(t.replay, MAX_REPLAYS).as_str()))
    .bind(tag.map(|t| t.dead_letter))
    .bind(tag.map(|t| i32::try_from(t.replay).unwrap_or(i32::MAX)))
    .fetch_one(db)
    .await?;
    match (returned, known, parked) {
        (Some(id), _, _) => Ok(Filed::Returned(id)),
        (None, Some(id), _) => Ok(Filed::Stale(id)),
        (None, None, Some(id)) => Ok(Filed::Parked(id)),
        (None, None, None) => Err(sqlx::Error::RowNotFound),
    }
}

/// [`park`], retried while the database is away. Should PostgreSQL refuse
/// the letter itself, a letter without the record (its error saying why)
/// is put on record instead, and if even that is refused the failure is
/// logged and the caller goes on: its record still reaches the dead-letter
/// topic, and a letter that can never be stored must not hold its
/// partition for ever.
pub async fn park_durably(pool: &PgPool, letter: &Parked<'_>, backoff: Backoff) {
    let mut delays = backoff.delays();
    let mut stripped_error: Option<String> = None;
    loop {
        let attempt = match &stripped_error {
            None => *letter,
            Some(error) => Parked {
                error: error.as_str(),
                key: None,
                headers: &[],
                payload: &[],
                ..*letter
            },
        };
        match park(pool, &attempt).await {
            Ok(_) => return,
            Err(error) if is_transient(&error) => {
                let retry_in = delays.next().unwrap_or(backoff.max);
                tracing::warn!(%error, ?retry_in, "could not put a dead letter on record; retrying");
                tokio::time::sleep(retry_in).await;
            }
            Err(error) if stripped_error.is_none() => {
                tracing::error!(%error, "PostgreSQL refuses a dead letter; keeping it without its record");
                stripped_error = Some(format!(
                    "{} (the record itself could not be kept: {error})",
                    letter.error
                ));
            }
            Err(error) => {
                tracing::error!(%error, origin_topic = letter.origin.topic,
                    origin_partition = letter.origin.partition, origin_offset = letter.origin.offset,
                    "PostgreSQL refuses even a letter without its record; it is on the dead-letter topic only");
                return;
            }
        }
    }
}

/// One letter as a listing shows it: no payload, no error text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    pub id: Uuid,
    pub service: String,
    pub reason: String,
    pub state: String,
    pub origin_topic: String,
    pub origin_partition: i32,
    pub origin_offset: i64,
    pub supplement_id: Option<Uuid>,
    pub attempts: i32,
    pub replays: i32,
    pub first_failed_at: DateTime<Utc>,
    pub last_failed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub state: Option<State>,
    pub reason: Option<&'a str>,
    /// Only letters after this one (in listing order): the next page.
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// Letters oldest failure first.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &Filter<'_>,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as(
        "select id, service, reason, state, origin_topic, origin_partition, origin_offset,
                supplement_id, attempts, replays, first_failed_at, last_failed_at
           from dead_letters d
          where ($1::text is null or state = $1)
            and ($2::text is null or reason = $2)
            and ($3::uuid is null or (first_failed_at, id) >
                 (select first_failed_at, id from dead_letters where id = $3))
          order by first_failed_at, id
          limit $4",
    )
    .bind(filter.state.map(State::as_str))
    .bind(filter.reason)
    .bind(filter.after)
    .bind(filter.limit)
    .fetch_all(db)
    .await
}

/// Letters per state and reason, ordered by both.
pub async fn counts(db: impl PgExecutor<'_>) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select state, reason, count(*) from dead_letters group by state, reason
          order by state, reason",
    )
    .fetch_all(db)
    .await
}

/// One letter in full but for its payload, of which only the size shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Shown {
    #[sqlx(flatten)]
    pub listed: Listed,
    pub error: String,
    pub header_names: Vec<String>,
    pub payload_bytes: i32,
    pub replay_sent_at: Option<DateTime<Utc>>,
}

pub async fn show(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Shown>, sqlx::Error> {
    sqlx::query_as(
        "select id, service, reason, state, origin_topic, origin_partition, origin_offset,
                supplement_id, attempts, replays, first_failed_at, last_failed_at, error,
                header_names, octet_length(payload) as payload_bytes, replay_sent_at
           from dead_letters where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}
