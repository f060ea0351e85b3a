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

    clamd.resume().await;
    wait_until_done(pool, ids.len(), &worker, Duration::from_secs(180)).await;
    let entries: Vec<_> = all.iter().map(|s| &s.entry).collect();
    check_against_manifest(pool, &entries, &ids).await;
    assert!(delivered(pool).await > delivered_before);
}
