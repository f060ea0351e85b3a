//! intake-worker: decrypts, inspects, scans, matches, deduplicates and routes supplements.
//!
//! Today it prepares its dependencies and checks clamd answers; the pipeline arrives with the worker issue.

use anyhow::Context;
use intake_adapters::clamav::{ClamavConfig, Scanner};
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::{kafka, pg};

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
    let _pool = intake_adapters::startup::prepare(&config.postgres, &config.kafka).await?;
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
