//! `make bench`: the worker's throughput on the generator's full mix. The
//! supplements are sent through a gateway first while no worker runs, then
//! the release worker binary is started and timed until every one has its
//! outcome and every event is published. Three pairs of runs, one with
//! telemetry on (metrics, stage spans, spans exported over OTLP to a
//! receiver in this process) and one with it off, alternating so both see
//! the same machine; the medians, their ratio and the worker's peak
//! resident memory (VmHWM) go to `target/bench/worker_throughput.json`.
//! Measured, not asserted.

#[allow(dead_code)]
#[path = "../worker/support.rs"]
mod support;

use std::time::{Duration, Instant};

use intake_generator::population::Population;
use intake_tests::otlp::OtlpReceiver;
use intake_tests::worker::TestWorker;
use intake_tests::{Stack, peak_rss_kib};

const RUNS: usize = 3;
const SUPPLEMENTS: usize = 480;

struct Run {
    telemetry: bool,
    supplements: usize,
    seconds: f64,
    peak_rss_mib: f64,
}

/// `otlp`: where spans go with telemetry on; `None` turns it off.
async fn run(stack: &Stack, seed: u64, otlp: Option<&str>) -> Run {
    let gateway = support::gateway(stack).await;
    let population = Population::generate(seed, 200);
    support::publish_registry(&gateway, &population).await;
    let supplements = support::supplements(&population, seed, SUPPLEMENTS);
    let ids = support::send_all(&gateway, &supplements, |_| async {}).await;

    let started = Instant::now();
    let telemetry: Vec<(String, String)> = match otlp {
        Some(endpoint) => vec![("INTAKE_TELEMETRY__OTLP_ENDPOINT".into(), endpoint.into())],
        None => vec![
            ("INTAKE_OPS__METRICS".into(), "false".into()),
            ("INTAKE_TELEMETRY__TRACES".into(), "false".into()),
        ],
    };
    let worker = TestWorker::start_with(stack, &gateway, None, "release", telemetry).await;
    let pid = worker.pid().expect("worker pid");
    let mut peak = 0;
    let pool = &gateway.db.pool;
    loop {
        peak = peak.max(peak_rss_kib(pid));
        let (recorded, unsent): (i64, i64) = sqlx::query_as(
            "select (select count(*) from supplements), (select count(*) from outbox where sent_at is null)",
        )
        .fetch_one(pool)
        .await
        .expect("count");
        if recorded as usize == ids.len() && unsent == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    peak = peak.max(peak_rss_kib(pid));
    Run {
        telemetry: otlp.is_some(),
        supplements: ids.len(),
        seconds,
        peak_rss_mib: peak as f64 / 1024.0,
    }
}

fn median(runs: &[Run], telemetry: bool) -> f64 {
    let mut rates: Vec<f64> = runs
        .iter()
        .filter(|r| r.telemetry == telemetry)
        .map(|r| r.supplements as f64 / r.seconds)
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

#[tokio::main]
async fn main() {
    let stack = Stack::new();
    let otlp = OtlpReceiver::start().await;
    let mut runs = Vec::new();
    for i in 0..RUNS * 2 {
        let on = i % 2 == 0;
        let r = run(&stack, 100 + i as u64, on.then_some(otlp.endpoint.as_str())).await;
        println!(
            "run {} (telemetry {}): {} supplements in {:.2} s = {:.1}/s (start-up included), worker peak RSS {:.1} MiB",
            i + 1,
            if on { "on" } else { "off" },
            r.supplements,
            r.seconds,
            r.supplements as f64 / r.seconds,
            r.peak_rss_mib
        );
        runs.push(r);
    }
    let (on, off) = (median(&runs, true), median(&runs, false));
    let peak = runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
    println!(
        "worker: median {on:.1} supplements/s with telemetry, {off:.1}/s without ({:.1}% cost) over {RUNS} runs each; peak RSS {peak:.1} MiB; {} spans received",
        (1.0 - on / off) * 100.0,
        otlp.spans().len()
    );
    let dir = stack.repo_dir().join("target/bench");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let json = serde_json::json!({
        "benchmark": "worker_throughput",
        "supplements_per_run": SUPPLEMENTS,
        "runs": runs.iter().map(|r| serde_json::json!({
            "telemetry": r.telemetry,
            "supplements": r.supplements,
            "seconds": r.seconds,
            "per_second": r.supplements as f64 / r.seconds,
            "peak_rss_mib": r.peak_rss_mib,
        })).collect::<Vec<_>>(),
        "median_per_second": on,
        "median_per_second_telemetry_off": off,
        "telemetry_cost_ratio": 1.0 - on / off,
        "spans_received": otlp.spans().len(),
        "peak_rss_mib": peak,
    });
    std::fs::write(
        dir.join("worker_throughput.json"),
        serde_json::to_string_pretty(&json).expect("json"),
    )
    .expect("write figures");
}
