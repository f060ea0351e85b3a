//! intake-receipts: see the library; this binary wires it to its
//! configuration and runs it until SIGTERM or Ctrl-C.

use anyhow::Context;
use intake_adapters::smtp::SmtpConfig;
use intake_adapters::{kafka, pg};
use intake_receipts::config::ReceiptsConfig;

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    postgres: pg::PostgresConfig,
    smtp: SmtpConfig,
    receipts: ReceiptsConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-receipts", &config.telemetry);
    let pool = intake_adapters::startup::prepare(&config.postgres, &config.kafka).await?;
    let within = config.smtp.timeout.max(config.receipts.eservice_timeout);
    let mut receipts = intake_receipts::Receipts::start(intake_receipts::Parts {
        kafka: config.kafka,
        pool,
        smtp: config.smtp,
        config: config.receipts,
    })
    .await?;
    tracing::info!("ready");
    tokio::select! {
        () = intake_adapters::shutdown::signal() => {
            tracing::info!("shutting down");
            receipts.stop(within).await;
        }
        result = receipts.finished() => result.context("the receipt service stopped")?,
    }
    telemetry.shutdown();
    Ok(())
}
