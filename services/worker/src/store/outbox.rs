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

/// The oldest unsent rows, in order. Publishing one twice (a crash before
/// `mark_sent`) is harmless: events carry derived CloudEvents ids that
/// consumers deduplicate on.
pub async fn next_unsent(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, topic, message_key, headers, payload from outbox
         where sent_at is null order by id limit $1",
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

pub async fn record_failure(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update outbox set attempts = attempts + 1, last_error = $2 where id = $1")
        .bind(id)
        .bind(error)
        .execute(conn)
        .await?;
    Ok(())
}
