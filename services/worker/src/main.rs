//! intake-worker: see the library for the pipeline; this binary wires it
//! to its configuration and runs it until SIGTERM or Ctrl-C.

use anyhow::Context;
use intake_adapters::clamav::{ClamavConfig, Scanner};
use intake_adapters::local_secrets::refuse_committed;
use intake_adapters::ops::OpsConfig;
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::{kafka, pg};
use intake_worker::config::WorkerConfig;
use intake_worker::metrics::WorkerMetrics;
use secrecy::ExposeSecret;

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    s3: S3Config,
    postgres: pg::PostgresConfig,
    clamav: ClamavConfig,
    worker: WorkerConfig,
    #[serde(default)]
    telemetry: intake_adapters::telemetry::TelemetryConfig,
    #[serde(default)]
    ops: OpsConfig,
    /// Runs the local stack, whose committed secrets it may then use.
    #[serde(default)]
    local_stack: bool,
}

/// The local stack's port for the worker's `/metrics` and `/health`.
const OPS_PORT: u16 = 9461;

fn main() -> anyhow::Result<std::process::ExitCode> {
    // The child that parses one hostile file: no runtime, no configuration.
    if std::env::args().nth(1).as_deref() == Some(intake_worker::sandbox::SUBCOMMAND) {
        return Ok(intake_worker::sandbox::serve());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the runtime")?
        .block_on(run())?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = intake_adapters::telemetry::init("intake-worker", &config.telemetry)?;
    let identities = config.worker.identity_secrets();
    let recipients = config.worker.recipient_keys();
    let s3_secret = config
        .s3
        .secret_access_key
        .as_ref()
        .map(|s| s.expose_secret().as_bytes());
    refuse_committed(
        config.local_stack,
        identities
            .iter()
            .map(|i| ("worker.identities", i.expose_secret().as_bytes()))
            .chain(s3_secret.map(|s| ("s3.secret_access_key", s)))
            .chain(
                recipients
                    .iter()
                    .map(|r| ("worker.recipients", r.as_bytes())),
            ),
    )?;
    let (metrics, health) =
        intake_adapters::ops::start(&config.ops, OPS_PORT, WorkerMetrics::new).await?;
    let metrics = if config.ops.metrics {
        metrics
    } else {
        metrics.disabled()
    };
    let pool = intake_adapters::startup::prepare(&config.postgres, &config.kafka).await?;
    let store = ObjectStore::connect(&config.s3)
        .await
        .context("failed to configure S3")?;
    let scanner = Scanner::new(&config.clamav);
    match scanner.version().await {
        Ok(version) => tracing::info!(clamd = %version, "scanner answers"),
        // Not fatal: every scan waits for clamd anyway (fail closed).
        Err(error) => tracing::warn!(error = format!("{error:#}"), "clamd does not answer yet"),
    }
    let mut worker = intake_worker::Worker::start(intake_worker::Parts {
        kafka: config.kafka,
        pool,
        store,
        scanner,
        config: config.worker,
        metrics,
        health: health.clone(),
    })
    .await?;
    health.started();
    tracing::info!("ready");
    tokio::select! {
        () = intake_adapters::shutdown::signal() => tracing::info!("shutting down"),
        result = worker.finished() => {
            result.context("a stage of the worker failed")?;
            anyhow::bail!("a stage of the worker ended");
        }
    }
    worker.leave().await;
    telemetry.shutdown();
    Ok(())
}
