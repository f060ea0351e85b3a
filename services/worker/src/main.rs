//! intake-worker: decrypts, inspects, scans, matches, deduplicates and routes supplements.
//!
//! Today it prepares its dependencies and checks clamd answers; the pipeline arrives with the worker issue.

use anyhow::Context;
use intake_adapters::clamav::{ClamavConfig, Scanner};
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::{kafka, pg};
use intake_core::topics;

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    s3: S3Config,
    postgres: pg::PostgresConfig,
    clamav: ClamavConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-worker", &config.telemetry);
    let _pool = pg::connect_and_migrate(&config.postgres)
        .await
        .context("failed to prepare PostgreSQL")?;
    kafka::ensure_topics(&config.kafka, &topics::ALL)
        .await
        .context("failed to create Kafka topics")?;
    let _store = ObjectStore::connect(&config.s3)
        .await
        .context("failed to configure S3")?;
    let scanner = Scanner::new(&config.clamav);
    let version = scanner.version().await.context("clamd does not answer")?;
    tracing::info!(clamd = %version, "scanner answers");
    tracing::info!("ready");
    intake_adapters::shutdown::signal().await;
    tracing::info!("shutting down");
    telemetry.shutdown();
    Ok(())
}
