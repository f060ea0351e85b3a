//! `intake status`: what the pipeline has done and what is still on its
//! way, for operators and for `make run`'s summary. With `--wait`, first
//! waits until every accepted supplement has an outcome and every event is
//! published.

use std::time::{Duration, Instant};

use anyhow::Context;
use intake_adapters::{kafka, pg};
use intake_core::topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;

#[derive(Debug, serde::Deserialize)]
struct Config {
    postgres: pg::PostgresConfig,
    kafka: kafka::KafkaConfig,
    #[serde(default)]
    worker: WorkerGroup,
}

#[derive(Debug, serde::Deserialize)]
struct WorkerGroup {
    #[serde(default = "default_group")]
    group_id: String,
}

impl Default for WorkerGroup {
    fn default() -> Self {
        Self {
            group_id: default_group(),
        }
    }
}

fn default_group() -> String {
    "intake-worker".into()
}

struct Pending {
    unfinished: i64,
    unsent: i64,
}

async fn pending(pool: &PgPool) -> anyhow::Result<Pending> {
    let (unfinished, unsent): (i64, i64) = sqlx::query_as(
        "select (select count(*) from ingest_claims where state = 'accepted' and finished_at is null),
                (select count(*) from outbox where sent_at is null)",
    )
    .fetch_one(pool)
    .await?;
    Ok(Pending { unfinished, unsent })
}

pub async fn run(wait: Option<Duration>) -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let pool = pg::connect(&config.postgres).await?;
    if let Some(limit) = wait {
        let deadline = Instant::now() + limit;
        loop {
            let p = pending(&pool).await?;
            if p.unfinished == 0 && p.unsent == 0 {
                break;
            }
            if Instant::now() > deadline {
                println!(
                    "still waiting after {limit:?}: {} supplements without an outcome, {} events unsent",
                    p.unfinished, p.unsent
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    print_counts(
        &pool,
        "Supplements by outcome:",
        "select outcome, count(*) from supplements group by outcome order by outcome",
    )
    .await?;
    print_counts(
        &pool,
        "Files by verdict:",
        "select verdict, count(*) from attachments group by verdict order by verdict",
    )
    .await?;
    let p = pending(&pool).await?;
    println!(
        "In flight: {} accepted but without an outcome, {} events waiting in the outbox",
        p.unfinished, p.unsent
    );

    let lag = consumer_lag(&config.kafka, &config.worker.group_id)?;
    println!("Consumer lag of group {}:", config.worker.group_id);
    for (topic, partitions) in lag {
        let total: i64 = partitions.iter().sum();
        println!("  {topic:<40} {total} ({partitions:?} per partition)");
    }
    Ok(())
}

async fn print_counts(pool: &PgPool, title: &str, sql: &'static str) -> anyhow::Result<()> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
    println!("{title}");
    for (name, count) in &rows {
        println!("  {name:<12} {count}");
    }
    Ok(())
}

/// Per inbound topic, per partition: high watermark minus committed offset.
fn consumer_lag(
    config: &kafka::KafkaConfig,
    group: &str,
) -> anyhow::Result<Vec<(String, Vec<i64>)>> {
    let consumer: BaseConsumer = config.consumer(group).create()?;
    let names = config.topics();
    let timeout = Duration::from_secs(10);
    let mut out = Vec::new();
    for spec in [topics::SECUREMAIL, topics::ENTER_FINLAND] {
        let topic = names.name(&spec);
        let mut list = TopicPartitionList::new();
        for p in 0..spec.partitions {
            list.add_partition(&topic, p);
        }
        let committed = consumer.committed_offsets(list, timeout)?;
        let mut lags = Vec::new();
        for p in 0..spec.partitions {
            let (low, high) = consumer.fetch_watermarks(&topic, p, timeout)?;
            let at = match committed.find_partition(&topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => low,
            };
            lags.push((high - at).max(0));
        }
        out.push((topic, lags));
    }
    Ok(out)
}
