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
    worker: Group,
    #[serde(default)]
    receipts: Group,
}

/// A service's consumer group; its other settings are not read here.
#[derive(Debug, Default, serde::Deserialize)]
struct Group {
    #[serde(default)]
    group_id: Option<String>,
}

impl Group {
    fn name(&self, default: &str) -> String {
        self.group_id.clone().unwrap_or_else(|| default.to_owned())
    }
}

struct Pending {
    unfinished: i64,
    unsent: i64,
    /// Supplements whose receipt is not yet stored, or stored and not yet
    /// sent (or suppressed, or failed).
    receipts: i64,
}

async fn pending(pool: &PgPool) -> anyhow::Result<Pending> {
    let (unfinished, unsent, receipts): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from ingest_claims where state = 'accepted' and finished_at is null),
                (select count(*) from outbox where sent_at is null),
                (select count(*) from supplements s
                 where not exists (select 1 from receipts r where r.supplement_id = s.supplement_id))
                + (select count(*) from receipts where state in ('pending', 'sending', 'held'))",
    )
    .fetch_one(pool)
    .await?;
    Ok(Pending {
        unfinished,
        unsent,
        receipts,
    })
}

pub async fn run(wait: Option<Duration>) -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let pool = pg::connect(&config.postgres).await?;
    if let Some(limit) = wait {
        let deadline = Instant::now() + limit;
        loop {
            let p = pending(&pool).await?;
            if p.unfinished == 0 && p.unsent == 0 && p.receipts == 0 {
                break;
            }
            if Instant::now() > deadline {
                println!(
                    "still waiting after {limit:?}: {} supplements without an outcome, {} events unsent, \
                     {} receipts not yet sent",
                    p.unfinished, p.unsent, p.receipts
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
    print_counts(
        &pool,
        "Receipts by state:",
        "select state, count(*) from receipts group by state order by state",
    )
    .await?;
    print_counts(
        &pool,
        "Receipts not sent, by reason:",
        "select coalesce(r.reason, '?'), count(*) from receipts r
         where r.state in ('suppressed', 'failed')
         group by 1
         union all
         -- Answered only by a combined receipt that failed: owed too.
         select 'its combined receipt failed', count(*) from receipts c
         join receipts carrier on carrier.receipt_id = c.combined_into
         where carrier.state = 'failed' or carrier.delivery_failed_at is not null
         having count(*) > 0
         order by 2 desc, 1 limit 12",
    )
    .await?;
    let failed: Vec<(String, String, String, String)> = sqlx::query_as(
        "select reference, channel, recipient, coalesce(reason, '') from receipts
         where state = 'failed' order by updated_at desc limit 10",
    )
    .fetch_all(&pool)
    .await?;
    if !failed.is_empty() {
        println!("Failed receipts (newest 10; operations decide what to do):");
        for (reference, channel, recipient, reason) in failed {
            println!("  {reference} {channel} {recipient}: {reason}");
        }
    }
    let p = pending(&pool).await?;
    println!(
        "In flight: {} accepted but without an outcome, {} events waiting in the outbox, \
         {} receipts not yet sent",
        p.unfinished, p.unsent, p.receipts
    );

    for (group, specs) in [
        (
            config.worker.name("intake-worker"),
            &[topics::SECUREMAIL, topics::ENTER_FINLAND][..],
        ),
        (
            config.receipts.name("intake-receipts"),
            &[topics::RECEIPTS][..],
        ),
    ] {
        println!("Consumer lag of group {group}:");
        for (topic, partitions) in consumer_lag(&config.kafka, &group, specs)? {
            let total: i64 = partitions.iter().sum();
            println!("  {topic:<40} {total} ({partitions:?} per partition)");
        }
    }
    Ok(())
}

async fn print_counts(pool: &PgPool, title: &str, sql: &'static str) -> anyhow::Result<()> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
    println!("{title}");
    for (name, count) in &rows {
        println!("  {name:<24} {count}");
    }
    Ok(())
}

/// Per inbound topic, per partition: high watermark minus committed offset.
fn consumer_lag(
    config: &kafka::KafkaConfig,
    group: &str,
    specs: &[topics::TopicSpec],
) -> anyhow::Result<Vec<(String, Vec<i64>)>> {
    let consumer: BaseConsumer = config.consumer(group).create()?;
    let names = config.topics();
    let timeout = Duration::from_secs(10);
    let mut out = Vec::new();
    for spec in specs {
        let topic = names.name(spec);
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
