//! intake-gateway: takes supplements from Securemail and Enter Finland over HTTP.
//!
//! Today it prepares its dependencies (migrations, topics, S3 client) and waits; the HTTP ingest arrives with the gateway issue.

use anyhow::Context;
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::{kafka, pg};
use intake_core::topics;

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    s3: S3Config,
    postgres: pg::PostgresConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-gateway", &config.telemetry);
    let _pool = pg::connect_and_migrate(&config.postgres)
        .await
        .context("failed to prepare PostgreSQL")?;
    kafka::ensure_topics(&config.kafka, &topics::ALL)
        .await
        .context("failed to create Kafka topics")?;
    let _store = ObjectStore::connect(&config.s3)
        .await
        .context("failed to configure S3")?;
    tracing::info!("ready");
    intake_adapters::shutdown::signal().await;
    tracing::info!("shutting down");
    telemetry.shutdown();
    Ok(())
}
