//! `make soak`: does the local broker stay responsive under weeks of
//! traffic? Produces `SOAK_EVENTS` events (a million by default) at a
//! steady rate through the project's topics while the services run, then
//! deletes those topics, restarts every service a few times and restarts
//! the broker, sampling the broker's request latencies, CPU, memory and
//! store size all along. Figures go to `target/soak/<storage>-<broker>/`
//! (`sqlite-fixed`, or `sqlite-release` with `STACK_TANSU_FIXES=off`).
//!
//! Needs the local stack and the services running (`make soak` starts
//! both); not part of `make test` or `make bench`.

mod soak;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use intake_adapters::kafka::{KafkaConfig, ensure_topics};
use intake_core::topics::{Cleanup, TopicSpec};
use intake_tests::{Stack, unique};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use soak::broker::{Sampler, Store};
use soak::load::{self, Counters};
use soak::probe::Probe;
use soak::report::{self, Summary};
use soak::{Phase, Plan, Sample};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The probes' own topic, under the soak's prefix.
const PROBE_TOPIC: TopicSpec = TopicSpec {
    name: "soak.probe",
    partitions: 1,
    cleanup: Cleanup::Delete(Duration::from_secs(600)),
};

/// The services' health endpoints (their default ops ports).
const SERVICES_READY: [&str; 2] = [
    "http://127.0.0.1:9461/health/ready",
    "http://127.0.0.1:9462/health/ready",
];

#[tokio::main]
async fn main() {
    let plan = Plan::from_env();
    let stack = Stack::new();
    let mut kafka = KafkaConfig::local(stack.get("INTAKE_KAFKA__BROKERS"));
    kafka.topic_prefix = format!("{}.", unique("soak"));
    println!("soak: {plan:?}, topics under {}", kafka.topic_prefix);
    let mut specs = load::specs(plan.retention);
    specs.push(PROBE_TOPIC);
    ensure_topics(&kafka, &specs).await.expect("soak topics");

    let store = match plan.storage.as_str() {
        "postgres" => Store::Database {
            pool: sqlx::PgPool::connect(&stack.get("INTAKE_POSTGRES__URL"))
                .await
                .expect("PostgreSQL"),
            name: "tansu".into(),
        },
        _ => Store::Files(stack.repo_dir().join(".stack/kafka")),
    };
    let counters = Arc::new(Counters::default());
    let incidents = Mutex::new(Vec::new());
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let (phase, phase_rx) = watch::channel(Phase::Load);
    let stop_sampling = CancellationToken::new();
    let sampling = tokio::spawn(sample(
        plan.probe_every,
        Probe::new(&kafka, kafka.topics().name(&PROBE_TOPIC)),
        Sampler::new(&stack.repo_dir().join(".stack"), store),
        phase_rx,
        counters.clone(),
        samples.clone(),
        stop_sampling.clone(),
    ));

    let stop_consuming = CancellationToken::new();
    let consuming = tokio::spawn({
        let (kafka, counters, stop) = (kafka.clone(), counters.clone(), stop_consuming.clone());
        async move { load::consume(&kafka, &unique("soak-consumers"), counters, stop).await }
    });
    let started = Instant::now();
    load::produce(
        &kafka,
        plan.events,
        plan.rate_per_second,
        plan.event_bytes,
        counters.clone(),
    )
    .await;
    let load_seconds = started.elapsed().as_secs_f64();
    println!(
        "soak: produced {} in {load_seconds:.0} s",
        counters.produced.load(Ordering::Relaxed)
    );

    phase.send_replace(Phase::Drain);
    let deadline = Instant::now() + plan.settle * 2;
    while counters.consumed.load(Ordering::Relaxed) < counters.produced.load(Ordering::Relaxed)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop_consuming.cancel();
    consuming.await.expect("consumer task");

    phase.send_replace(Phase::Delete);
    delete_topics(&kafka, &load::topic_names(&kafka)).await;
    tokio::time::sleep(plan.settle).await;

    phase.send_replace(Phase::Churn);
    for _ in 0..plan.service_restarts {
        run_script(&stack, "services.sh", &["restart"], &incidents).await;
        tokio::time::sleep(Duration::from_secs(20)).await;
    }

    phase.send_replace(Phase::Restart);
    run_script(&stack, "stack.sh", &["down", "kafka"], &incidents).await;
    run_script(&stack, "stack.sh", &["up", "kafka"], &incidents).await;
    tokio::time::sleep(plan.settle).await;

    phase.send_replace(Phase::Idle);
    tokio::time::sleep(plan.settle).await;
    stop_sampling.cancel();
    sampling.await.expect("sampling task");
    delete_topics(&kafka, &[kafka.topics().name(&PROBE_TOPIC)]).await;

    let samples = std::mem::take(&mut *samples.lock().expect("samples"));
    let summary = Summary {
        produced: counters.produced.load(Ordering::Relaxed),
        produce_failed: counters.failed.load(Ordering::Relaxed),
        consumed: counters.consumed.load(Ordering::Relaxed),
        load_seconds,
        phases: report::phases(&samples),
        incidents: incidents.into_inner().expect("incidents"),
        plan,
    };
    let dir = stack
        .repo_dir()
        .join("target/soak")
        .join(format!("{}-{}", summary.plan.storage, summary.plan.broker));
    report::write(&dir, &summary, &samples);
    print!(
        "{}",
        std::fs::read_to_string(dir.join("summary.md")).unwrap_or_default()
    );
}

async fn sample(
    every: Duration,
    probe: Probe,
    mut sampler: Sampler,
    phase: watch::Receiver<Phase>,
    counters: Arc<Counters>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: CancellationToken,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("HTTP client");
    let started = Instant::now();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut printed = u64::MAX;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        // The phase the probes start in: they can take a while.
        let in_phase = *phase.borrow();
        let latency = probe.measure().await;
        let broker = sampler.sample().await;
        let mut services_ready = true;
        for url in SERVICES_READY {
            let ok = client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            services_ready &= ok;
        }
        let sample = Sample {
            seconds: started.elapsed().as_secs_f64(),
            phase: in_phase,
            latency,
            broker,
            produced: counters.produced.load(Ordering::Relaxed),
            consumed: counters.consumed.load(Ordering::Relaxed),
            services_ready,
        };
        // A line a minute, so a long run shows it is alive.
        let minute = sample.seconds as u64 / 60;
        if printed != minute {
            printed = minute;
            println!("soak: {}", serde_json::to_string(&sample).expect("json"));
        }
        samples.lock().expect("samples").push(sample);
    }
}

async fn delete_topics(kafka: &KafkaConfig, names: &[String]) {
    let admin: AdminClient<DefaultClientContext> = kafka.admin().create().expect("admin client");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    match admin.delete_topics(&names, &options).await {
        Ok(results) => {
            for result in results {
                if let Err((topic, code)) = result {
                    // The release of the local broker deleted every topic
                    // with the first: the others are gone already.
                    println!("soak: deleting {topic}: {code}");
                }
            }
        }
        Err(error) => println!("soak: deleting topics: {error}"),
    }
}

/// Runs one of the local stack's scripts, as an operator would. A step
/// that fails (a service that does not come up on a broker that does not
/// answer) is a finding of the soak, recorded, not the end of it.
async fn run_script(stack: &Stack, script: &str, args: &[&str], incidents: &Mutex<Vec<String>>) {
    let status = tokio::process::Command::new("bash")
        .arg(stack.repo_dir().join("infra/local").join(script))
        .args(args)
        .status()
        .await
        .expect("run the stack script");
    if !status.success() {
        let incident = format!("`{script} {}` failed ({status})", args.join(" "));
        println!("soak: {incident}");
        incidents.lock().expect("incidents").push(incident);
    }
}
