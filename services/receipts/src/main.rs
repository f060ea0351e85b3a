//! intake-receipts: sends exactly one automatic receipt per supplement.
//!
//! Today it prepares its dependencies and builds its SMTP transport; sending arrives with the receipts issue.

use anyhow::Context;
use intake_adapters::smtp::{self, SmtpConfig};
use intake_adapters::{kafka, pg};

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    postgres: pg::PostgresConfig,
    smtp: SmtpConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-receipts", &config.telemetry);
    let _pool = intake_adapters::startup::prepare(&config.postgres, &config.kafka).await?;
    let _mailer = smtp::transport(&config.smtp).context("failed to configure SMTP")?;
    tracing::info!("ready");
    intake_adapters::shutdown::signal().await;
    tracing::info!("shutting down");
    telemetry.shutdown();
    Ok(())
}
