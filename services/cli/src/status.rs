//! `intake status`: what the pipeline has done and what is still on its
//! way, for operators and for `make run`'s summary. With `--wait`, first
//! waits until every accepted supplement has an outcome and every event is
//! published.

use std::time::{Duration, Instant};

use anyhow::Context;
use intake_adapters::pg::dead_letters;
use intake_adapters::{kafka, pg};
use intake_core::dead_letter::State;
use sqlx::PgPool;

use crate::lag::Group;

#[derive(Debug, serde::Deserialize)]
struct Config {
    postgres: pg::PostgresConfig,
    kafka: kafka::KafkaConfig,
    #[serde(default)]
    worker: Group,
    #[serde(default)]
    receipts: Group,
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

/// How long `intake status` waits for the broker before saying it does not
/// answer.
const BROKER_PATIENCE: Duration = Duration::from_secs(20);

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
    println!("Dead letters by state (intake dlq list):");
    for (state, reason, count) in dead_letters::counts(&pool).await? {
        if state != State::Replayed.as_str() {
            println!("  {:<24} {count}", format!("{state} {reason}"));
        }
    }
    let p = pending(&pool).await?;
    println!(
        "In flight: {} accepted but without an outcome, {} events waiting in the outbox, \
         {} receipts not yet sent",
        p.unfinished, p.unsent, p.receipts
    );

    let groups = crate::lag::catalogue(&config.worker, &config.receipts);
    // A broker that does not answer is news, not a failure of this command:
    // everything above came from PostgreSQL.
    let looks = tokio::time::timeout(
        BROKER_PATIENCE,
        crate::lag::look_all(&config.kafka, &groups),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no answer within {BROKER_PATIENCE:?}"))
    .and_then(|looked| looked);
    let looks = match looks {
        Ok(looks) => looks,
        Err(e) => {
            println!(
                "Consumer lag: the broker at {} does not answer ({e:#}).",
                config.kafka.brokers
            );
            return Ok(());
        }
    };
    for look in looks {
        println!("Consumer lag of group {}:", look.group);
        let mut topics: Vec<(String, Vec<i64>)> = Vec::new();
        for p in &look.partitions {
            match topics.last_mut() {
                Some((topic, lags)) if *topic == p.topic => lags.push(p.sample.lag()),
                _ => topics.push((p.topic.clone(), vec![p.sample.lag()])),
            }
        }
        for (topic, partitions) in topics {
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
