//! intake-receipts: see the library; this binary wires it to its
//! configuration and runs it until SIGTERM or Ctrl-C.

use anyhow::Context;
use intake_adapters::local_secrets::refuse_committed;
use intake_adapters::smtp::SmtpConfig;
use intake_adapters::{kafka, pg};
use intake_receipts::config::ReceiptsConfig;
use intake_receipts::metrics::ReceiptMetrics;
use secrecy::ExposeSecret;

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    postgres: pg::PostgresConfig,
    smtp: SmtpConfig,
    receipts: ReceiptsConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
    #[serde(default)]
    ops: intake_adapters::ops::OpsConfig,
    /// Runs the local stack, whose committed secrets it may then use.
    #[serde(default)]
    local_stack: bool,
}

/// The local stack's port for the receipt service's `/metrics` and `/health`.
const OPS_PORT: u16 = 9462;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-receipts", &config.telemetry)?;
    let dkim_key = std::fs::read(&config.receipts.dkim_key_file).with_context(|| {
        format!(
            "cannot read receipts.dkim_key_file {}",
            config.receipts.dkim_key_file.display()
        )
    })?;
    refuse_committed(
        config.local_stack,
        [
            ("receipts.dkim_key_file", dkim_key.as_slice()),
            (
                "receipts.eservice_token",
                config.receipts.eservice_token.expose_secret().as_bytes(),
            ),
        ],
    )?;
    let (metrics, health) =
        intake_adapters::ops::start(&config.ops, OPS_PORT, ReceiptMetrics::new).await?;
    let pool = intake_adapters::startup::prepare(&config.postgres, &config.kafka).await?;
    let within = config.smtp.timeout.max(config.receipts.eservice_timeout);
    let mut receipts = intake_receipts::Receipts::start(intake_receipts::Parts {
        kafka: config.kafka,
        pool,
        smtp: config.smtp,
        config: config.receipts,
        metrics,
        health: health.clone(),
    })
    .await?;
    health.started();
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
