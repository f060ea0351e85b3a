//! intake-gateway: takes supplements from Securemail and Enter Finland over
//! HTTP, seals them into S3 and produces one event per supplement.

use std::time::Duration;

use anyhow::Context;
use intake_adapters::kafka::{self, EventProducer};
use intake_adapters::local_secrets::refuse_committed;
use intake_adapters::ops::{OpsConfig, probes};
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::sealing::Recipients;
use intake_adapters::{pg, telemetry};
use intake_gateway::metrics::GatewayMetrics;
use intake_gateway::{App, GatewayConfig, Inner};
use secrecy::ExposeSecret;

#[derive(Debug, serde::Deserialize)]
struct Config {
    gateway: GatewayConfig,
    kafka: kafka::KafkaConfig,
    s3: S3Config,
    postgres: pg::PostgresConfig,
    #[serde(default)]
    telemetry: telemetry::TelemetryConfig,
    #[serde(default)]
    ops: OpsConfig,
    /// Runs the local stack, whose committed secrets it may then use.
    #[serde(default)]
    local_stack: bool,
}

/// The local stack's port for the gateway's `/metrics` and `/health`.
const OPS_PORT: u16 = 9460;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = telemetry::init("intake-gateway", &config.telemetry)?;
    let s3_secret = config
        .s3
        .secret_access_key
        .as_ref()
        .map(|s| s.expose_secret().as_bytes());
    let recipient_keys = config.gateway.recipient_keys();
    refuse_committed(
        config.local_stack,
        [
            (
                "gateway.securemail_token",
                config.gateway.securemail_token.expose_secret().as_bytes(),
            ),
            (
                "gateway.enterfinland_token",
                config.gateway.enterfinland_token.expose_secret().as_bytes(),
            ),
        ]
        .into_iter()
        .chain(s3_secret.map(|s| ("s3.secret_access_key", s)))
        .chain(
            recipient_keys
                .iter()
                .map(|r| ("gateway.recipients", r.as_bytes())),
        ),
    )?;
    let recipients = Recipients::parse(&recipient_keys).context("invalid gateway.recipients")?;
    let (metrics, health) =
        intake_adapters::ops::start(&config.ops, OPS_PORT, GatewayMetrics::new).await?;
    let pool = intake_adapters::startup::prepare(&config.postgres, &config.kafka).await?;
    let store = ObjectStore::connect(&config.s3)
        .await
        .context("failed to configure S3")?;
    store
        .ensure_bucket(&config.gateway.inbound_bucket)
        .await
        .context("failed to create the inbound bucket")?;
    let producer =
        EventProducer::new(&config.kafka).context("failed to create the Kafka producer")?;
    probes::postgres(&health, pool.clone());
    probes::s3(
        &health,
        store.clone(),
        config.gateway.inbound_bucket.clone(),
    );
    probes::kafka(&health, producer.clone(), intake_core::topics::SECUREMAIL);
    let listener = tokio::net::TcpListener::bind(config.gateway.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.gateway.listen))?;
    health.started();
    tracing::info!(listen = %config.gateway.listen, "ready");

    let app = App::new(Inner {
        config: config.gateway,
        store,
        producer: producer.clone(),
        pool,
        recipients,
        metrics,
    });
    intake_gateway::serve(listener, app, intake_adapters::shutdown::signal())
        .await
        .context("server failed")?;
    tracing::info!("shutting down");
    if let Err(error) = producer.flush(Duration::from_secs(10)) {
        tracing::warn!(%error, "events still in flight at shutdown");
    }
    telemetry.shutdown();
    Ok(())
}
