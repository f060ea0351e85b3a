//! Reading and settling the outbox for the relay.

use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub message_key: String,
    pub headers: sqlx::types::Json<Vec<(String, String)>>,
    pub payload: sqlx::types::Json<serde_json::Value>,
}

/// The oldest unsent rows, in order, leaving out rows set aside and every
/// later row of their topic and key. Publishing one twice (a crash before
/// `mark_sent`) is harmless: events carry derived CloudEvents ids that
/// consumers deduplicate on.
pub async fn next_unsent(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, topic, message_key, headers, payload from outbox o
         where sent_at is null and set_aside_at is null
           and not exists (
               select 1 from outbox p
               where p.set_aside_at is not null and p.sent_at is null
                 and p.topic = o.topic and p.message_key = o.message_key and p.id < o.id)
         order by id limit $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn mark_sent(conn: &mut PgConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("update outbox set sent_at = now(), attempts = attempts + 1 where id = any($1)")
        .bind(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts a failed attempt; after `max_attempts` the row is set aside.
/// Returns whether it was.
pub async fn record_failure(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
    max_attempts: i32,
) -> Result<bool, sqlx::Error> {
    let set_aside: bool = sqlx::query_scalar(
        "update outbox set attempts = attempts + 1, last_error = $2,
             set_aside_at = case when attempts + 1 >= $3 then now() end
         where id = $1
         returning set_aside_at is not null",
    )
    .bind(id)
    .bind(error)
    .bind(max_attempts)
    .fetch_one(conn)
    .await?;
    Ok(set_aside)
}
