//! What every service does before taking work: apply pending migrations
//! and make sure the topics of the catalogue exist.

use intake_core::topics;
use rdkafka::error::KafkaError;
use sqlx::PgPool;

use crate::{kafka, pg};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("failed to prepare PostgreSQL")]
    Postgres(#[from] pg::PgError),
    #[error("failed to create Kafka topics")]
    Topics(#[from] KafkaError),
}

/// Connects to PostgreSQL, migrates, and creates missing topics.
pub async fn prepare(
    postgres: &pg::PostgresConfig,
    kafka: &kafka::KafkaConfig,
) -> Result<PgPool, StartupError> {
    let pool = pg::connect_and_migrate(postgres).await?;
    kafka::ensure_topics(kafka, &topics::ALL).await?;
    Ok(pool)
}
