//! `intake dlq replay`: sends dead letters back through their origin
//! topics. Replays an earlier run began and did not finish are sent first;
//! then open letters, oldest failure first, each begun (counted, its
//! arrival reopened, audited) before its copy goes out. Safe to stop at
//! any point and run again: a copy sent twice is processed once.

use std::time::Duration;

use anyhow::Context;
use intake_adapters::kafka::{EventProducer, KafkaConfig};
use intake_adapters::pg::replays::{self, Copy, Operator, Selection};
use intake_adapters::pg::{self, PostgresConfig};
use intake_adapters::retry::{Backoff, Retry, retry};
use intake_core::dead_letter::{MAX_REPLAYS, Plan};
use uuid::Uuid;

pub struct ReplayArgs {
    pub ids: Vec<Uuid>,
    pub reason: Option<String>,
    pub max: usize,
    pub dry_run: bool,
    pub operator: String,
    pub why: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Config {
    postgres: PostgresConfig,
    kafka: KafkaConfig,
}

/// How long a copy is tried before the run stops: the broker may be down.
const SEND: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
const SEND_ATTEMPTS_FOR: Duration = Duration::from_secs(60);

pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let pool = pg::connect(&config.postgres).await?;
    let unsent = replays::unsent(&pool).await?;
    let open = replays::open(
        &pool,
        &Selection {
            ids: &args.ids,
            reason: args.reason.as_deref(),
        },
    )
    .await?;
    for id in &args.ids {
        if !open.iter().any(|o| o.id == *id) {
            println!("{id}: not an open letter; left as it is");
        }
    }
    let candidates: Vec<_> = open.iter().map(|o| o.candidate()).collect();
    let plan = Plan::of(&candidates, MAX_REPLAYS, args.max);
    if args.dry_run {
        print_plan(&plan, unsent.len());
        return Ok(());
    }
    let why = args
        .why
        .as_deref()
        .filter(|w| !w.trim().is_empty())
        .context("say why with --why: the audit log keeps it with each replay")?;
    let operator = Operator {
        name: &args.operator,
        why,
    };
    let producer = EventProducer::new(&config.kafka)?;
    for copy in &unsent {
        send(&producer, &pool, copy)
            .await
            .with_context(|| format!("resuming the replay of {}", copy.id))?;
        println!(
            "{}: interrupted replay {} sent again",
            copy.id, copy.replays
        );
    }
    let mut sent = 0;
    for letter in open
        .iter()
        .filter(|o| Plan::takes(&o.candidate(), MAX_REPLAYS))
        .take(args.max)
    {
        let Some(copy) = replays::begin(&pool, letter.id, operator).await? else {
            println!("{}: taken meanwhile; left as it is", letter.id);
            continue;
        };
        send(&producer, &pool, &copy).await.with_context(|| {
            format!(
                "replay {} of {} begun, not sent: run the replay again to send it",
                copy.replays, copy.id
            )
        })?;
        sent += 1;
        println!(
            "{}: replay {} of {MAX_REPLAYS} sent to {}",
            copy.id, copy.replays, copy.origin_topic
        );
    }
    let skipped: usize = plan.by_reason.values().map(|g| g.spent + g.settled).sum();
    println!(
        "replayed {sent}, resumed {}, skipped {skipped} (replays spent or settled in triage)",
        unsent.len()
    );
    Ok(())
}

fn print_plan(plan: &Plan, unsent: usize) {
    println!("dry run: nothing is sent or changed");
    if unsent > 0 {
        println!("{unsent} interrupted replays would be sent again first");
    }
    println!(
        "{:<12} {:>8} {:>11} {:>6} {:>8}",
        "reason", "replayed", "last chance", "spent", "settled"
    );
    for (reason, g) in &plan.by_reason {
        println!(
            "{:<12} {:>8} {:>11} {:>6} {:>8}",
            reason.escape_debug().to_string(),
            g.replayed,
            g.last_chance,
            g.spent,
            g.settled
        );
    }
    println!(
        "{} would be replayed; last chance: quarantined if they fail once more",
        plan.replayed()
    );
}

/// Sends a copy with the headers it arrived with (its trace context
/// among them) and its tag, then marks it sent.
async fn send(producer: &EventProducer, pool: &sqlx::PgPool, copy: &Copy) -> anyhow::Result<()> {
    let tag = copy.tag().header_value();
    let headers = copy.headers(&tag);
    let deadline = tokio::time::Instant::now() + SEND_ATTEMPTS_FOR;
    retry(SEND, "sending a replayed copy", || async {
        let result = producer
            .send_bytes(
                &copy.origin_topic,
                copy.record_key.as_deref(),
                &headers,
                &copy.payload,
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => Err(Retry::Transient(error)),
            Err(error) => Err(Retry::Permanent(error)),
        }
    })
    .await
    .map_err(Retry::into_inner)?;
    replays::mark_sent(pool, copy).await?;
    Ok(())
}
