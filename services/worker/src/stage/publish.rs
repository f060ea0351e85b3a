//! The publish stage, the outbox relay: woken by the recorder right after
//! each commit, it publishes committed events in batches in the order they
//! were written, with the idempotent producer, and marks them sent. A crash
//! between publishing and marking publishes a row again; its CloudEvents
//! id is the same, so consumers drop the copy.

use std::sync::Arc;
use std::time::Duration;

use intake_adapters::kafka::EventProducer;
use intake_adapters::retry::Backoff;
use intake_adapters::telemetry;
use prometheus_client::metrics::counter::Counter;
use sqlx::PgPool;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::store::{OutboxRow, mark_sent, next_unsent, record_failure};

const BATCH: i64 = 200;
/// Failed attempts after which a row is set aside.
pub const SET_ASIDE_AFTER: i32 = 10;
/// Advisory lock key of the relay ("intake-o" in ASCII).
const RELAY_LOCK: i64 = 0x696e_7461_6b65_2d6f;

pub async fn run(
    pool: PgPool,
    producer: EventProducer,
    wake: Arc<Notify>,
    backoff: Backoff,
    published: Counter,
) {
    let mut delays = backoff.delays();
    loop {
        match relay_once(&pool, &producer, &published).await {
            // A short batch took every row there was: the next is due only
            // when a commit wakes the relay (one during this round left
            // its wake-up waiting), or on the poll for rows another
            // process wrote.
            Ok(sent) if sent < BATCH as usize => {
                delays = backoff.delays();
                let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
            }
            Ok(_) => delays = backoff.delays(),
            Err(error) => {
                let retry_in = delays.next().unwrap_or(backoff.max);
                tracing::warn!(error, ?retry_in, "outbox relay failed");
                tokio::time::sleep(retry_in).await;
            }
        }
    }
}

/// Publishes one batch. Rows of one topic and key go one after another
/// and stop at the first failure, so a key's events never overtake each
/// other; different keys go side by side. Returns how many were sent, and
/// counts them in `published` (also when another key's row failed).
pub async fn relay_once(
    pool: &PgPool,
    producer: &EventProducer,
    published: &Counter,
) -> Result<usize, String> {
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let ours: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(RELAY_LOCK)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    if !ours {
        return Ok(0);
    }
    let rows = next_unsent(&mut tx, BATCH)
        .await
        .map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut by_key: Vec<Vec<&OutboxRow>> = Vec::new();
    for row in &rows {
        match by_key
            .iter_mut()
            .find(|g| g[0].topic == row.topic && g[0].message_key == row.message_key)
        {
            Some(group) => group.push(row),
            None => by_key.push(vec![row]),
        }
    }
    let sends = by_key.into_iter().map(|group| async move {
        let mut sent = Vec::new();
        for row in group {
            if let Err(failure) = publish(producer, row).await {
                return (sent, Some((row.id, failure)));
            }
            sent.push(row.id);
        }
        (sent, None)
    });
    let mut sent = Vec::new();
    let mut first_error = None;
    for (ids, failed) in futures::future::join_all(sends).await {
        sent.extend(ids);
        if let Some((id, Failure { error, of_the_row })) = failed {
            // A broker outage fails every row; only a row the broker
            // refuses for itself counts towards setting it aside.
            let limit = if of_the_row {
                SET_ASIDE_AFTER
            } else {
                i32::MAX
            };
            match record_failure(&mut tx, id, &error, limit).await {
                Ok(true) => tracing::error!(
                    outbox_id = id,
                    error,
                    "outbox row set aside after failing {SET_ASIDE_AFTER} times; later events of its key wait behind it"
                ),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(outbox_id = id, error = %e, "could not count a failed publish")
                }
            }
            first_error.get_or_insert(error);
        }
    }
    mark_sent(&mut tx, &sent).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    published.inc_by(sent.len() as u64);
    match first_error {
        Some(error) => Err(error),
        None => Ok(sent.len()),
    }
}

struct Failure {
    error: String,
    /// The broker refused this record (too large, invalid), rather than
    /// being unreachable or slow.
    of_the_row: bool,
}

/// Sends one row in a producer span that continues the trace the row was
/// written in; the record carries the span's own `traceparent`, so its
/// consumers see the relay's hop.
async fn publish(producer: &EventProducer, row: &OutboxRow) -> Result<(), Failure> {
    let stored =
        telemetry::traceparent_header(row.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
    let span = telemetry::producer_span(&row.topic);
    telemetry::follow(&span, stored);
    // Without spans of our own (traces off, or filtered out), the stored
    // context goes on as it came.
    let traceparent = span
        .in_scope(telemetry::current_traceparent)
        .or_else(|| stored.map(str::to_owned));
    let headers: Vec<(&str, &[u8])> = row
        .headers
        .iter()
        .filter(|(k, _)| k != "traceparent")
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .chain(
            traceparent
                .as_deref()
                .map(|t| ("traceparent", t.as_bytes())),
        )
        .collect();
    let payload = serde_json::to_vec(&row.payload.0).map_err(|e| Failure {
        error: e.to_string(),
        of_the_row: true,
    })?;
    producer
        .send_raw(&row.topic, &row.message_key, &headers, &payload)
        .instrument(span)
        .await
        .map(|_| ())
        .map_err(|e| Failure {
            error: format!("{e:#}"),
            of_the_row: !e.outcome_unknown(),
        })
}
