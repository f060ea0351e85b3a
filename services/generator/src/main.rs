//! intake-generate: publishes a seeded population to the registry topic and
//! sends a stream of supplements of every kind through the gateway, writing
//! the expected outcome of each to a manifest (one JSON line each).

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use intake_adapters::kafka::{EventProducer, KafkaConfig};
use intake_core::events::Event;
use intake_core::topics;
use intake_generator::manifest::Expected;
use intake_generator::plan::{Kind, Options, plan};
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};

#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The same seed gives the same population and supplements.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Applicants, one application each.
    #[arg(long, default_value_t = 200)]
    applications: usize,
    /// Supplements to send; every kind appears at least once from 24 on.
    #[arg(long, default_value_t = 240)]
    supplements: usize,
    /// Supplements per second; 0 sends as fast as the gateway answers.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    #[arg(
        long,
        env = "INTAKE_GENERATE_GATEWAY",
        default_value = "http://127.0.0.1:8080"
    )]
    gateway: String,
    #[arg(long, env = "INTAKE_GATEWAY__SECUREMAIL_TOKEN", hide_env_values = true)]
    securemail_token: String,
    #[arg(
        long,
        env = "INTAKE_GATEWAY__ENTERFINLAND_TOKEN",
        hide_env_values = true
    )]
    enterfinland_token: String,
    /// Size of the oversized file: just over the gateway's per-file limit.
    #[arg(long, default_value_t = 400 * 1024 * 1024 + 1)]
    oversized_bytes: usize,
    /// Kinds to mix, comma-separated (e.g. mail_no_id,eicar_plain); all by default.
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    kinds: Vec<Kind>,
    /// Where to write the manifest of expected outcomes.
    #[arg(long, default_value = "target/generated/manifest.jsonl")]
    manifest: std::path::PathBuf,
    /// Do not publish the applications to the registry topic.
    #[arg(long)]
    no_registry: bool,
}

fn parse_kind(name: &str) -> Result<Kind, String> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        let known: Vec<String> = Kind::ALL
            .iter()
            .filter_map(|k| serde_json::to_value(k).ok())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        format!("unknown kind {name:?}; known: {}", known.join(", "))
    })
}

#[derive(serde::Deserialize)]
struct Config {
    kafka: KafkaConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let population = Population::generate(args.seed, args.applications);
    if !args.no_registry {
        let config: Config =
            intake_adapters::config::load().context("failed to load configuration")?;
        let producer = EventProducer::new(&config.kafka)?;
        for record in &population.applications {
            let event = Event::new("/intake/generator", Utc::now(), record.clone());
            producer.publish(&topics::APPLICATIONS, &event).await?;
        }
        println!(
            "published {} applications to the registry",
            population.applications.len()
        );
    }

    let supplements = plan(
        &population,
        &Options {
            seed: args.seed,
            count: args.supplements,
            oversized_bytes: args.oversized_bytes,
            kinds: args.kinds,
        },
    );
    if let Some(dir) = args.manifest.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut manifest = std::io::BufWriter::new(
        std::fs::File::create(&args.manifest)
            .with_context(|| format!("cannot write {}", args.manifest.display()))?,
    );
    let tokens = Tokens {
        securemail: args.securemail_token,
        enterfinland: args.enterfinland_token,
    };
    let client = reqwest::Client::new();
    let progress = ProgressBar::new(supplements.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} supplements, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut pace =
        (args.rate > 0.0).then(|| tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate)));
    let mut unexpected = 0;
    for supplement in &supplements {
        if let Some(pace) = pace.as_mut() {
            pace.tick().await;
        }
        let sent = send(&client, &args.gateway, &tokens, &supplement.request)
            .await
            .with_context(|| format!("cannot reach the gateway at {}", args.gateway))?;
        let expected_status = match &supplement.entry.expected {
            Expected::Rejected { status, .. } => *status,
            _ => 202,
        };
        if sent.status != expected_status {
            unexpected += 1;
            progress.println(format!(
                "supplement {} ({:?}): gateway answered {}, expected {expected_status}",
                supplement.entry.index, supplement.entry.kind, sent.status
            ));
        }
        let line = serde_json::json!({
            "entry": supplement.entry,
            "status": sent.status,
            "supplement_id": sent.supplement_id,
        });
        writeln!(manifest, "{line}")?;
        progress.inc(1);
    }
    manifest.flush()?;
    progress.finish();
    println!(
        "sent {} supplements; manifest in {}",
        supplements.len(),
        args.manifest.display()
    );
    anyhow::ensure!(
        unexpected == 0,
        "{unexpected} supplements got an unexpected answer from the gateway"
    );
    Ok(())
}
