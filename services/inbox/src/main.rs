//! intake-inbox: the caseworkers' queue over PostgreSQL and S3.
//!
//! Today it prepares its dependencies and waits; the web page and API arrive with the inbox issue.

use anyhow::Context;
use intake_adapters::pg;
use intake_adapters::s3::{ObjectStore, S3Config};

#[derive(Debug, serde::Deserialize)]
struct Config {
    s3: S3Config,
    postgres: pg::PostgresConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-inbox", &config.telemetry);
    let _pool = pg::connect_and_migrate(&config.postgres)
        .await
        .context("failed to prepare PostgreSQL")?;
    let _store = ObjectStore::connect(&config.s3)
        .await
        .context("failed to configure S3")?;
    tracing::info!("ready");
    intake_adapters::shutdown::signal().await;
    tracing::info!("shutting down");
    telemetry.shutdown();
    Ok(())
}
