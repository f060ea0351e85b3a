//! `intake check`: one line per dependency, saying whether it answers and
//! what it is, so a newcomer sees at once which part of the stack is down.

use std::time::Duration;

use anyhow::Context;
use intake_adapters::clamav::{ClamavConfig, Scanner};
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::smtp::{self, SmtpConfig};
use intake_adapters::{kafka, pg};
use rdkafka::consumer::{BaseConsumer, Consumer};

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    s3: S3Config,
    postgres: pg::PostgresConfig,
    clamav: ClamavConfig,
    smtp: SmtpConfig,
}

pub async fn run() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let results = [
        ("kafka", check_kafka(&config.kafka).await),
        ("s3", check_s3(&config.s3).await),
        ("postgres", check_postgres(&config.postgres).await),
        ("clamd", check_clamd(&config.clamav).await),
        ("smtp", check_smtp(&config.smtp).await),
    ];
    let mut failed = 0;
    for (name, result) in &results {
        match result {
            Ok(detail) => println!("ok    {name:<9} {detail}"),
            Err(error) => {
                failed += 1;
                println!("FAIL  {name:<9} {error:#}");
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} dependencies do not answer",
        results.len()
    );
    Ok(())
}

async fn check_kafka(config: &kafka::KafkaConfig) -> anyhow::Result<String> {
    let client: BaseConsumer = config.admin().create()?;
    let brokers = config.brokers.clone();
    tokio::task::spawn_blocking(move || {
        let metadata = client.fetch_metadata(None, Duration::from_secs(5))?;
        Ok(format!(
            "{brokers}: {} broker(s), {} topic(s)",
            metadata.brokers().len(),
            metadata.topics().len()
        ))
    })
    .await?
}

async fn check_s3(config: &S3Config) -> anyhow::Result<String> {
    let store = ObjectStore::connect(config).await?;
    // A HEAD of a key that cannot exist proves we reach the server and our
    // signature is accepted (a wrong key or secret is a 403, not a 404).
    let probe = store.size("intake-healthcheck", "probe").await;
    match probe {
        Ok(_) => Ok(format!(
            "{} answers",
            config.endpoint.as_deref().unwrap_or("AWS")
        )),
        Err(e) if e.is_not_found() => Ok(format!(
            "{} answers",
            config.endpoint.as_deref().unwrap_or("AWS")
        )),
        Err(e) => Err(e.into()),
    }
}

async fn check_postgres(config: &pg::PostgresConfig) -> anyhow::Result<String> {
    let pool = pg::connect(config).await?;
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(&pool)
        .await?;
    Ok(version.split(" on ").next().unwrap_or(&version).to_owned())
}

async fn check_clamd(config: &ClamavConfig) -> anyhow::Result<String> {
    let scanner = Scanner::new(config);
    scanner.ping().await?;
    Ok(scanner.version().await?)
}

async fn check_smtp(config: &SmtpConfig) -> anyhow::Result<String> {
    let transport = smtp::transport(config)?;
    anyhow::ensure!(transport.test_connection().await?, "server did not greet");
    Ok(format!(
        "{}:{} accepts connections",
        config.host, config.port
    ))
}
