//! The virus scanner stopped mid-run: nothing reaches a caseworker
//! unscanned; supplements wait, and all go through once clamd is back.

use std::time::Duration;

use intake_generator::plan::Kind;
use intake_generator::population::Population;
use intake_tests::Stack;
use intake_tests::worker::{TestClamd, TestWorker};
use sqlx::PgPool;

use crate::support::{
    check_against_manifest, gateway, publish_registry, send_all, supplements, wait_until_done,
};

async fn delivered(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from supplements where outcome in ('routed', 'triage', 'duplicate')",
    )
    .fetch_one(pool)
    .await
    .expect("count")
}

/// `/health/ready` once it says `ready` (the probes run every 5 s).
async fn readiness(ops: &str, ready: bool) -> (u16, serde_json::Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = reqwest::get(format!("{ops}/health/ready"))
            .await
            .expect("the operations port answers");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("JSON");
        if body["ready"] == ready || std::time::Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn metrics(ops: &str) -> String {
    reqwest::get(format!("{ops}/metrics"))
        .await
        .expect("the operations port answers")
        .text()
        .await
        .expect("text")
}

/// The value of an unlabelled gauge in an exposition.
fn gauge(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_passes_unscanned_while_clamd_is_down() {
    let stack = Stack::new();
    let mut clamd = TestClamd::start(&stack).await;
    let gateway = gateway(&stack).await;
    let population = Population::generate(5, 60);
    publish_registry(&gateway, &population).await;
    let all = supplements(&population, 5, Kind::ALL.len() * 3);
    let (before, during) = all.split_at(Kind::ALL.len());
    let worker = TestWorker::start(&stack, &gateway, Some(&clamd.address)).await;
    let pool = &gateway.db.pool;

    let mut ids = send_all(&gateway, before, |_| async {}).await;
    wait_until_done(pool, ids.len(), &worker, Duration::from_secs(120)).await;

    clamd.stop().await;
    let delivered_before = delivered(pool).await;
    ids.extend(send_all(&gateway, during, |_| async {}).await);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        delivered(pool).await,
        delivered_before,
        "nothing is routed or triaged while the scanner is down"
    );
    assert!(
        worker.log().contains("the file waits (fail closed)"),
        "the wait is visible in the log"
    );
    // Operations see it too: not ready, which dependency, and files waiting.
    let ops = worker.process.ops_url();
    let (status, body) = readiness(&ops, false).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["down"], serde_json::json!(["clamd"]), "{body}");
    let metrics = metrics(&ops).await;
    assert!(
        metrics.contains(r#"intake_dependency_up{dependency="clamd"} 0"#),
        "{metrics}"
    );
    let waiting = gauge(&metrics, "intake_worker_scans_waiting");
    assert!(waiting >= 1.0, "files wait for the scanner: {waiting}");

    clamd.resume().await;
    let (status, body) = readiness(&ops, true).await;
    assert_eq!(status, 200, "ready again once clamd answers: {body}");
    wait_until_done(pool, ids.len(), &worker, Duration::from_secs(180)).await;
    let entries: Vec<_> = all.iter().map(|s| &s.entry).collect();
    check_against_manifest(pool, &entries, &ids).await;
    assert!(delivered(pool).await > delivered_before);
}
