//! `intake rescan` on the real stack: a file the worker delivered clean
//! is found infected once clamd has a signature for it (added to a
//! clamd of the test's own, as freshclam would). It is moved to the
//! quarantine bucket, its caseworkers see the finding and can no longer
//! download it, the audit log and the quarantine topic record it, and the
//! exporter's count an alert watches grows. A file still clean stays
//! delivered, and without clamd nothing changes.

use std::time::Duration;

use intake_adapters::pg::rescan;
use intake_generator::population::Population;
use intake_tests::Stack;
use intake_tests::gateway::TestGateway;
use intake_tests::process::{intake_command, succeeds};
use intake_tests::worker::{TestClamd, TestWorker};
use sqlx::PgPool;
use tokio::process::Command;
use uuid::Uuid;

use crate::support::{gateway, publish_registry, submit, wait_until_done};

fn rescan_command(
    stack: &Stack,
    gateway: &TestGateway,
    worker: &TestWorker,
    clamd: &str,
) -> Command {
    let mut command = intake_command(stack, &gateway.db);
    command
        .envs(stack.s3_and_kafka_env())
        .env("INTAKE_KAFKA__TOPIC_PREFIX", &gateway.kafka.topic_prefix)
        .env("INTAKE_CLAMAV__ADDRESS", clamd)
        .env("INTAKE_WORKER__IDENTITIES", {
            use secrecy::ExposeSecret;
            gateway.identity.expose_secret().to_owned()
        })
        .env(
            "INTAKE_WORKER__QUARANTINE_BUCKET",
            &worker.quarantine_bucket,
        )
        .args([
            "rescan",
            "--since",
            "1h",
            "--files-per-second",
            "100",
            "--operator",
            "olli",
        ]);
    command
}

/// The delivered file of `supplement`: id, verdict, where it is.
async fn file_of(pool: &PgPool, supplement: Uuid) -> (Uuid, String, String, String) {
    sqlx::query_as(
        "select attachment_id, verdict, bucket, object_key from attachments where supplement_id = $1",
    )
    .bind(supplement)
    .fetch_one(pool)
    .await
    .expect("one file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_delivered_before_its_signature_existed_is_found_and_taken_out_of_reach() {
    let stack = Stack::new();
    let mut clamd = TestClamd::start_with_own_signatures(&stack).await;
    let gateway = gateway(&stack).await;
    let population = Population::generate(8, 5);
    publish_registry(&gateway, &population).await;
    let worker = TestWorker::start(&stack, &gateway, Some(&clamd.address)).await;
    let pool = &gateway.db.pool;

    // What no signature knows yet.
    let marker = format!("intake-rescan-marker-{}", Uuid::new_v4().simple());
    let application = &population.applications[0];
    let app = application.application_id.to_string();
    let customer = application.customer_number.as_str();
    let infected = submit(
        &gateway,
        &app,
        customer,
        &[(
            "notes.txt",
            format!("Muistiinpanot\n{marker}\n").into_bytes(),
        )],
    )
    .await;
    let clean = submit(
        &gateway,
        &app,
        customer,
        &[("other.txt", b"Toinen liite, puhdas.\n".to_vec())],
    )
    .await;
    wait_until_done(pool, 2, &worker, Duration::from_secs(120)).await;
    let (file, verdict, bucket, key) = file_of(pool, infected).await;
    assert_eq!(verdict, "clean", "delivered before the signature existed");
    let unit: String = sqlx::query_scalar("select unit from supplements where supplement_id = $1")
        .bind(infected)
        .fetch_one(pool)
        .await
        .expect("routed to a unit");
    assert!(
        caseworker_sees(&stack, &gateway, &unit, file).await.0,
        "downloadable before"
    );

    // Nothing changes without a verdict.
    clamd.stop().await;
    let output = rescan_command(&stack, &gateway, &worker, &clamd.address)
        .output()
        .await
        .expect("run intake");
    assert!(!output.status.success(), "no clamd, no rescan");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("clamd gave no verdict"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(file_of(pool, infected).await.1, "clean");

    clamd
        .add_signature("Intake.Test.Rescan", marker.as_bytes())
        .await;
    let printed = succeeds(rescan_command(&stack, &gateway, &worker, &clamd.address)).await;
    assert!(
        printed.contains("1 still clean, 1 infected, 0 unreadable"),
        "{printed}"
    );

    // Quarantined: the verdict says so and the bytes moved.
    let (_, verdict, now_bucket, now_key) = file_of(pool, infected).await;
    assert_eq!(verdict, "infected");
    assert_eq!(now_bucket, worker.quarantine_bucket);
    assert!(
        gateway
            .store
            .size(&bucket, &key)
            .await
            .expect("asked")
            .is_none(),
        "the delivered copy is gone"
    );
    assert!(
        gateway
            .store
            .size(&now_bucket, &now_key)
            .await
            .expect("asked")
            .is_some(),
        "the quarantined copy is there"
    );
    let (other, verdict, ..) = file_of(pool, clean).await;
    assert_eq!(verdict, "clean", "a clean file stays delivered");
    let rescanned: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select rescanned_at from attachments where attachment_id = $1")
            .bind(other)
            .fetch_one(pool)
            .await
            .expect("row");
    assert!(rescanned.is_some(), "and its rescan is on record");

    // The caseworkers see the finding and cannot download the file.
    let (downloadable, flags) = caseworker_sees(&stack, &gateway, &unit, file).await;
    assert!(!downloadable);
    assert!(
        flags.to_string().contains("infected_after_delivery"),
        "{flags}"
    );

    // On record, announced, and counted for the alert.
    let audited: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select actor, detail from audit_log where action = 'attachment.infected_after_delivery'",
    )
    .fetch_all(pool)
    .await
    .expect("audit");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "operator:olli");
    assert_eq!(
        audited[0].1["reason"]["signature"],
        "Intake.Test.Rescan.UNOFFICIAL"
    );
    let announced: i64 = sqlx::query_scalar(
        "select count(*) from outbox where topic like '%supplements.quarantine.v1'
            and payload->>'supplement_id' = $1",
    )
    .bind(infected.to_string())
    .fetch_one(pool)
    .await
    .expect("outbox");
    assert_eq!(announced, 1);
    assert_eq!(
        rescan::infected_after_delivery(pool).await.expect("count"),
        1
    );

    // Again: nothing new to find, nothing counted twice.
    let again = succeeds(rescan_command(&stack, &gateway, &worker, &clamd.address)).await;
    assert!(again.contains("1 still clean, 0 infected"), "{again}");
}

/// What a caseworker of `unit` sees of `file` through the inbox's own
/// view: whether it may be downloaded, and its supplement's flags.
async fn caseworker_sees(
    stack: &Stack,
    gateway: &TestGateway,
    unit: &str,
    file: Uuid,
) -> (bool, serde_json::Value) {
    let url = stack.database_url(&gateway.db).replacen(
        "://intake:intake@",
        "://intake_inbox:intake_inbox@",
        1,
    );
    let inbox = PgPool::connect(&url).await.expect("the inbox's role");
    let mut tx = inbox.begin().await.expect("begin");
    sqlx::query("select inbox.act_as($1, $2, $3)")
        .bind("carla")
        .bind(vec!["caseworker"])
        .bind(vec![unit])
        .execute(&mut *tx)
        .await
        .expect("act as a caseworker");
    sqlx::query_as(
        "select f.downloadable, s.flags from inbox.files f
           join inbox.supplements s on s.supplement_id = f.supplement_id
          where f.attachment_id = $1",
    )
    .bind(file)
    .fetch_one(&mut *tx)
    .await
    .expect("the caseworker sees the file")
}
