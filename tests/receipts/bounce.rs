//! Class 15 of the hardening review: a bounce of one of our receipts is an
//! automatic message (triage, no receipt, no caseworker queue) that marks
//! that receipt's delivery as failed with the bounce's reason; a report
//! naming a recipient the receipt did not go to marks nothing.

use std::time::Duration;

use intake_core::events::Transport;
use intake_generator::mail::bounce_report;
use intake_generator::plan::Request;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN};
use intake_tests::receipts::{TestEservice, TestReceipts, TestSmtp, wait_until_settled};
use intake_tests::worker::TestWorker;
use uuid::Uuid;

use crate::worker_support::{gateway, publish_registry, wait_until_done};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_of_our_receipt_marks_its_delivery_failed_and_reaches_no_queue() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(15, 3);
    publish_registry(&gateway, &population).await;
    let worker = TestWorker::start(&stack, &gateway, None).await;
    let smtp = TestSmtp::start(&stack, None).await;
    let eservice = TestEservice::start(&stack, &[]).await;
    let _receipts = TestReceipts::start(
        &stack,
        &gateway.kafka,
        &stack.database_url(&gateway.db),
        &smtp,
        &eservice,
        &[],
    )
    .await;
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    let pool = &gateway.db.pool;
    let record = &population.applications[0];
    let party = record.contact_addresses[0].clone();
    let mail = |sender: &str, raw: Vec<u8>| Request::Securemail {
        transport: Transport::Email,
        sender: sender.to_owned(),
        raw,
    };

    let supplement = format!(
        "From: {party}\r\nTo: supplements@agency.example\r\nSubject: Hakemus {}\r\nMessage-ID: <{}@example.fi>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLiitteena selvitys.\r\n",
        record.application_id,
        Uuid::new_v4()
    );
    let sent = send(
        &client,
        &gateway.url,
        &tokens,
        &mail(&party, supplement.into_bytes()),
    )
    .await
    .expect("send");
    assert_eq!(sent.status, 202);
    wait_until_done(pool, 1, &worker, Duration::from_secs(60)).await;
    wait_until_settled(pool, 1, Duration::from_secs(60)).await;
    let (message_id, state): (String, String) =
        sqlx::query_as("select message_id, state from receipts")
            .fetch_one(pool)
            .await
            .expect("the receipt");
    assert_eq!(state, "sent");

    let failed = || async {
        sqlx::query_as::<_, (Option<chrono::DateTime<chrono::Utc>>, Option<String>)>(
            "select delivery_failed_at, delivery_failure from receipts where message_id = $1",
        )
        .bind(&message_id)
        .fetch_one(pool)
        .await
        .expect("the receipt")
    };
    // A report quoting our Message-ID for someone the receipt never went to.
    let forged = bounce_report(
        &message_id,
        "someone@elsewhere.example",
        &format!("<dsn.{}@mx.example.fi>", Uuid::new_v4()),
    );
    assert_eq!(
        send(&client, &gateway.url, &tokens, &mail("", forged))
            .await
            .expect("send")
            .status,
        202
    );
    wait_until_done(pool, 2, &worker, Duration::from_secs(60)).await;
    assert_eq!(
        failed().await,
        (None, None),
        "a report for someone else marks nothing"
    );

    let real = bounce_report(
        &message_id,
        &party,
        &format!("<dsn.{}@mx.example.fi>", Uuid::new_v4()),
    );
    let bounce = send(&client, &gateway.url, &tokens, &mail("", real))
        .await
        .expect("send");
    assert_eq!(bounce.status, 202);
    wait_until_done(pool, 3, &worker, Duration::from_secs(60)).await;
    let (at, reason) = failed().await;
    assert!(
        at.is_some(),
        "the bounced receipt's delivery is marked failed"
    );
    let reason = reason.expect("a reason");
    assert!(reason.contains("5.1.1"), "{reason}");

    let (outcome, kind): (String, String) = sqlx::query_as(
        "select outcome, triage_reasons->0->>'kind' from supplements where supplement_id = $1",
    )
    .bind(bounce.supplement_id.expect("id"))
    .fetch_one(pool)
    .await
    .expect("the bounce's outcome");
    assert_eq!(
        (outcome.as_str(), kind.as_str()),
        ("triage", "automatic_message")
    );
    wait_until_settled(pool, 3, Duration::from_secs(60)).await;
    let sent: i64 = sqlx::query_scalar("select count(*) from receipts where state = 'sent'")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(sent, 1, "no receipt answers a bounce");
}
