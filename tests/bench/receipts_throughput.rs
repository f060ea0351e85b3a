//! `make bench`: receipts sent per second. 1,000 requests (two in three by
//! e-mail, DKIM-signed, to the local SMTP server; one in three to the
//! e-service stand-in) are queued on `receipts.v1` while no receipt service
//! runs; then the release binary is started and timed until every receipt
//! is recorded sent. Three runs; the median rate and the service's peak
//! resident memory go to `target/bench/receipts_throughput.json`.
//! Measured, not asserted.

#[allow(dead_code)]
#[path = "../receipts/support.rs"]
mod support;

use std::time::{Duration, Instant};

use intake_core::events::Language;
use intake_tests::peak_rss_kib;

const RUNS: usize = 3;
const RECEIPTS: u32 = 1000;

struct Run {
    seconds: f64,
    peak_rss_mib: f64,
}

async fn run() -> Run {
    let alone = support::Alone::new(None, &[]).await;
    let requests: Vec<_> = (0..RECEIPTS)
        .map(|n| {
            if n % 3 == 0 {
                support::eservice_request(n, Some(Language::Fi))
            } else {
                support::email_request(n, &format!("bench{n}@example.org"), Some(Language::Sv))
            }
        })
        .collect();
    alone.send(&requests).await;

    let started = Instant::now();
    let receipts = alone.receipts_profile(&[], "release").await;
    let pid = receipts.process.pid().expect("pid");
    let mut peak = 0;
    loop {
        peak = peak.max(peak_rss_kib(pid));
        let (sent,): (i64,) = sqlx::query_as("select count(*) from receipts where state = 'sent'")
            .fetch_one(&alone.db.pool)
            .await
            .expect("count");
        if sent == i64::from(RECEIPTS) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Run {
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: peak.max(peak_rss_kib(pid)) as f64 / 1024.0,
    }
}

#[tokio::main]
async fn main() {
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let r = run().await;
        println!(
            "run {}: {RECEIPTS} receipts in {:.2} s = {:.1}/s (start-up included), peak RSS {:.1} MiB",
            i + 1,
            r.seconds,
            f64::from(RECEIPTS) / r.seconds,
            r.peak_rss_mib
        );
        runs.push(r);
    }
    let mut rates: Vec<f64> = runs
        .iter()
        .map(|r| f64::from(RECEIPTS) / r.seconds)
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[RUNS / 2];
    let peak = runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
    println!("receipts: median {median:.1} receipts/s over {RUNS} runs; peak RSS {peak:.1} MiB");
    let dir = intake_tests::Stack::new().repo_dir().join("target/bench");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let json = serde_json::json!({
        "benchmark": "receipts_throughput",
        "receipts_per_run": RECEIPTS,
        "runs": runs.iter().map(|r| serde_json::json!({
            "seconds": r.seconds,
            "per_second": f64::from(RECEIPTS) / r.seconds,
            "peak_rss_mib": r.peak_rss_mib,
        })).collect::<Vec<_>>(),
        "median_per_second": median,
        "peak_rss_mib": peak,
    });
    std::fs::write(
        dir.join("receipts_throughput.json"),
        serde_json::to_string_pretty(&json).expect("json"),
    )
    .expect("write figures");
}
