//! The generator's full mix, every kind many times over, through gateway
//! and worker while the worker is killed with SIGKILL and restarted: the
//! final state is exactly the manifest, nothing lost, nothing twice.

use std::time::Duration;

use intake_generator::plan::Kind;
use intake_generator::population::Population;
use intake_tests::Stack;
use intake_tests::worker::TestWorker;
use tokio::sync::Mutex;

use crate::support::{
    check_against_manifest, gateway, publish_registry, send_all, supplements, wait_until_done,
};

/// At least 2,000 (84 rounds of every kind); `INTAKE_TEST_SUPPLEMENTS`
/// changes it for a quicker local run.
fn count() -> usize {
    std::env::var("INTAKE_TEST_SUPPLEMENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(Kind::ALL.len() * 84)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_matches_the_manifest_across_worker_kills() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(21, 300);
    publish_registry(&gateway, &population).await;
    let supplements = supplements(&population, 21, count());
    let worker = Mutex::new(TestWorker::start(&stack, &gateway, None).await);

    let total = supplements.len();
    let kill_at = [total / 5, total * 2 / 5, total * 3 / 5, total * 4 / 5];
    let ids = send_all(&gateway, &supplements, |sent| {
        let worker = &worker;
        let stack = &stack;
        async move {
            if kill_at.contains(&sent) {
                let mut worker = worker.lock().await;
                // Killed only once it has its partitions and works: kills
                // in the middle of joining the group test the broker's
                // group protocol under churn, which is not what this is.
                wait_until_working(&worker).await;
                worker.kill().await;
                // Let the gateway run ahead while the worker is gone.
                tokio::time::sleep(Duration::from_millis(300)).await;
                worker.restart(stack).await;
            }
        }
    })
    .await;

    let worker = worker.into_inner();
    assert_eq!(worker.process.starts, 5, "killed four times");
    wait_until_done(
        &gateway.db.pool,
        ids.len(),
        &worker,
        Duration::from_secs(600),
    )
    .await;
    let entries: Vec<_> = supplements.iter().map(|s| &s.entry).collect();
    let checked = check_against_manifest(&gateway.db.pool, &entries, &ids).await;
    assert!(checked >= total * 9 / 10, "{checked} of {total} checked");

    let kinds: std::collections::HashSet<Kind> = supplements.iter().map(|s| s.entry.kind).collect();
    assert_eq!(kinds.len(), Kind::ALL.len(), "every kind was sent");

    let misplaced: i64 = sqlx::query_scalar(
        "select count(*) from attachments where verdict <> 'clean' and bucket <> $1",
    )
    .bind(&worker.quarantine_bucket)
    .fetch_one(&gateway.db.pool)
    .await
    .expect("count");
    assert_eq!(
        misplaced, 0,
        "refused files are in the quarantine bucket only"
    );

    // Published: every receipt request is on the topic (the relay may have
    // sent one twice across a kill; the CloudEvents id is then the same).
    let distinct =
        crate::support::distinct_event_ids(&gateway, &intake_core::topics::RECEIPTS, ids.len())
            .await;
    assert_eq!(distinct, ids.len());

    // No applicant's address, name, or file name in the worker's log.
    let log = worker.log();
    let mut personal: Vec<String> = Vec::new();
    for applicant in &population.applicants {
        personal.extend([applicant.email.clone(), applicant.name.clone()]);
    }
    personal.extend(
        supplements
            .iter()
            .flat_map(crate::support::attachment_names),
    );
    let leaked: Vec<&String> = personal
        .iter()
        .filter(|p| p.len() >= 5 && log.contains(p.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "personal data in the worker log: {leaked:?}"
    );
}

/// Waits until the worker has recorded a supplement since it last started.
async fn wait_until_working(worker: &TestWorker) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let log = worker.log();
        let since_start = log
            .lines()
            .rev()
            .take_while(|line| !line.contains("\"ready\""))
            .any(|line| line.contains("supplement recorded"));
        if since_start {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted worker recorded nothing within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
