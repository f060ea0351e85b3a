//! `intake`: the operator's command line. Applies migrations, creates topics
//! and checks that every service intake depends on answers.

mod audit;
mod business;
mod check;
mod checkpoint;
mod dlq;
mod lag;
mod lag_metrics;
mod reconcile;
mod replay;
mod rescan;
mod status;

use anyhow::Context;
use clap::{Parser, Subcommand};
use intake_adapters::{kafka, pg};
use intake_core::topics;

#[derive(Parser)]
#[command(name = "intake", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply database migrations (services also do this at start).
    Migrate,
    /// Create the Kafka topics of the catalogue; existing ones are kept.
    Topics {
        /// Print the catalogue as Strimzi KafkaTopic resources instead
        /// (infra/k8s/kafka-topics.yaml); no broker is asked.
        #[arg(long)]
        k8s: bool,
    },
    /// Check that Kafka, S3, PostgreSQL, clamd and SMTP answer.
    Check,
    /// Outcomes so far, work in flight and the worker's consumer lag.
    Status {
        /// First wait (up to this long, e.g. `5m`) until everything
        /// accepted has an outcome and every event is published.
        #[arg(long, value_parser = humantime::parse_duration)]
        wait: Option<std::time::Duration>,
    },
    /// Every consumer group's lag per partition, in records and seconds, and
    /// its status (ok, warning, stalled, stopped, no members).
    Lag {
        /// Look again this often (e.g. `10s`) and judge over the window.
        #[arg(long, value_parser = humantime::parse_duration)]
        watch: Option<std::time::Duration>,
        /// Keep looking (every `--watch`, else 15 s) and serve Prometheus
        /// metrics on this address at /metrics.
        #[arg(long)]
        serve: Option<std::net::SocketAddr>,
        /// How long a partition's looks must span before a lack of progress
        /// counts as stalled or a growing lag as a warning.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "2m")]
        min_window: std::time::Duration,
    },
    /// Remove stored parts that no event can name any more: other attempts
    /// of a recorded supplement, and parts never recorded once older than
    /// `--unrecorded-after`.
    Reconcile {
        /// The gateway's inbound bucket.
        #[arg(long, env = "INTAKE_GATEWAY__INBOUND_BUCKET")]
        bucket: String,
        /// Keep unrecorded parts this long; must exceed the inbound topics'
        /// retention, so no event still waiting can name them.
        #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
        unrecorded_after: std::time::Duration,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The audit log: `verify` checks its hash chain and signed checkpoints,
    /// `checkpoint` signs its head into S3.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print a new age key pair for sealing payloads: the public key goes to
    /// the gateway's recipients, the secret key to the worker's key ring.
    Keygen,
    /// Scan files delivered clean again with clamd's current signatures,
    /// paced so live traffic keeps priority; a file now found infected is
    /// quarantined, flagged in its supplement and audited.
    Rescan {
        /// Files delivered since this date (2026-11-01, RFC 3339), or this
        /// long ago (30d: for a schedule).
        #[arg(long)]
        since: rescan::Since,
        /// At most this many files per second.
        #[arg(long, default_value_t = 5)]
        files_per_second: u32,
        /// At most this many bytes per second (e.g. 20MB).
        #[arg(long, default_value = "20MB", value_parser = parse_bytes)]
        bytes_per_second: u64,
        /// Keep running, once every this long (e.g. 24h), the first now.
        #[arg(long, value_parser = humantime::parse_duration)]
        every: Option<std::time::Duration>,
        /// Count what would be scanned; scan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Who runs it, for the audit log.
        #[arg(long, env = "INTAKE_OPERATOR", default_value_t = default_operator())]
        operator: String,
    },
    /// Dead letters: records the worker or the receipt service gave up on.
    /// Nothing here prints a payload.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Counts per state and reason, then the letters, oldest failure first.
    List {
        /// open, replaying, replayed or quarantined.
        #[arg(long)]
        state: Option<intake_core::dead_letter::State>,
        /// undecodable, failed (worker) or refused (receipt service).
        #[arg(long)]
        reason: Option<String>,
        /// The next page: letters after this one.
        #[arg(long)]
        after: Option<uuid::Uuid>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One letter: its error, origin, attempts, replays and the names of
    /// its headers (the look is audited).
    Show {
        id: uuid::Uuid,
        /// Who looks, for the audit log.
        #[arg(long, env = "INTAKE_OPERATOR", default_value_t = default_operator())]
        operator: String,
    },
    /// Send open letters back through their origin topics, oldest failure
    /// first, after resending replays an interrupted run left unsent. A
    /// letter whose copy fails again is open again, and quarantined once
    /// its replays are spent. Each replay is audited.
    Replay {
        /// Only these letters (default: every open one).
        #[arg(long = "id")]
        ids: Vec<uuid::Uuid>,
        /// Only letters of this reason.
        #[arg(long)]
        reason: Option<String>,
        /// Replay at most this many letters (interrupted ones aside).
        #[arg(long, default_value_t = 100)]
        max: usize,
        /// Say what would be replayed, per reason; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Who replays, for the audit log.
        #[arg(long, env = "INTAKE_OPERATOR", default_value_t = default_operator())]
        operator: String,
        /// Why (e.g. the fix deployed), for the audit log. Required unless
        /// --dry-run.
        #[arg(long)]
        why: Option<String>,
    },
}

/// `20MB`, `512KiB`, `1000`: a byte count.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let number: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count (20MB, 512KiB, 1000)"))?;
    let unit = match &s[digits.len()..] {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} in {s:?}")),
    };
    number
        .checked_mul(unit)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// The login name, when no operator is given.
fn default_operator() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every row's hash; fails at the first changed, removed or
    /// unlinked row, and where checkpoints are configured, at a checkpoint
    /// that is forged or pins another row than the one stored.
    Verify,
    /// Sign the chain's head and store it in S3 (audit.checkpoint_bucket).
    Checkpoint {
        /// Keep running and take one this often (e.g. `24h`), the first now.
        #[arg(long, value_parser = humantime::parse_duration)]
        every: Option<std::time::Duration>,
    },
    /// Print a new checkpoint signing key and its public half.
    Keygen,
}

#[derive(Debug, serde::Deserialize)]
struct PostgresOnly {
    postgres: pg::PostgresConfig,
}

#[derive(Debug, serde::Deserialize)]
struct KafkaOnly {
    kafka: kafka::KafkaConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Migrate => {
            let config: PostgresOnly =
                intake_adapters::config::load().context("failed to load configuration")?;
            let pool = pg::connect(&config.postgres).await?;
            pg::migrate(&pool).await?;
            let applied = pg::MIGRATOR.iter().count();
            println!("migrations: {applied} known, all applied");
        }
        Command::Topics { k8s: true } => {
            use intake_core::topics_k8s::{PRODUCTION, kafka_topics};
            print!("{}", kafka_topics(&PRODUCTION, ""));
        }
        Command::Topics { k8s: false } => {
            let config: KafkaOnly =
                intake_adapters::config::load().context("failed to load configuration")?;
            let states = kafka::ensure_topics(&config.kafka, &topics::ALL)
                .await
                .with_context(|| format!("cannot create topics on {}", config.kafka.brokers))?;
            let mut drift = false;
            for state in &states {
                let verb = if state.created { "created" } else { "exists " };
                let note = if state.partitions != state.expected_partitions {
                    drift = true;
                    format!(" (catalogue says {})", state.expected_partitions)
                } else {
                    String::new()
                };
                println!(
                    "{verb} {:<40} {} partitions{note}",
                    state.name, state.partitions
                );
            }
            report_config_drift(&config.kafka).await;
            if drift {
                anyhow::bail!(
                    "some topics differ from the catalogue in services/core/src/topics.rs"
                );
            }
        }
        Command::Check => check::run().await?,
        Command::Status { wait } => status::run(wait).await?,
        Command::Lag {
            watch,
            serve,
            min_window,
        } => lag::run(watch, serve, min_window).await?,
        Command::Reconcile {
            bucket,
            unrecorded_after,
            dry_run,
        } => reconcile::run(&bucket, unrecorded_after, dry_run).await?,
        Command::Audit { command } => match command {
            AuditCommand::Verify => audit::verify().await?,
            AuditCommand::Checkpoint { every } => checkpoint::take(every).await?,
            AuditCommand::Keygen => checkpoint::keygen(),
        },
        Command::Rescan {
            since,
            files_per_second,
            bytes_per_second,
            every,
            dry_run,
            operator,
        } => {
            rescan::run(rescan::RescanArgs {
                since,
                pace: intake_core::rescan::Pace {
                    files_per_second,
                    bytes_per_second,
                },
                every,
                dry_run,
                operator,
            })
            .await?
        }
        Command::Dlq { command } => match command {
            DlqCommand::List {
                state,
                reason,
                after,
                limit,
            } => {
                dlq::list(dlq::ListArgs {
                    state,
                    reason,
                    after,
                    limit,
                })
                .await?
            }
            DlqCommand::Show { id, operator } => dlq::show(id, &operator).await?,
            DlqCommand::Replay {
                ids,
                reason,
                max,
                dry_run,
                operator,
                why,
            } => {
                replay::run(replay::ReplayArgs {
                    ids,
                    reason,
                    max,
                    dry_run,
                    operator,
                    why,
                })
                .await?
            }
        },
        Command::Keygen => {
            use age::secrecy::ExposeSecret;
            let identity = age::x25519::Identity::generate();
            println!(
                "# public key (gateway.recipients): {}",
                identity.to_public()
            );
            println!("{}", identity.to_string().expose_secret());
        }
    }
    Ok(())
}

/// Configs are set when a topic is created only: one made by an older
/// catalogue keeps its retention until an operator changes it. Said, not
/// fatal: the services work either way.
async fn report_config_drift(config: &kafka::KafkaConfig) {
    let drifts = match kafka::config_drift(config, &topics::ALL).await {
        Ok(drifts) => drifts,
        Err(error) => {
            println!("configs not checked: the broker did not describe them ({error})");
            return;
        }
    };
    let mut any = false;
    for (spec, drift) in topics::ALL.iter().zip(drifts) {
        let name = config.topics().name(spec);
        match drift {
            Ok(drift) => {
                for d in drift {
                    any = true;
                    println!("drift   {name:<40} {d}");
                }
            }
            Err(code) => println!("configs of {name} not checked: {code}"),
        }
    }
    if any {
        println!(
            "topics keep the configs they were created with: alter these with the broker's tools \
             (kafka-configs.sh --alter), or recreate the topic once it is drained"
        );
    }
}
