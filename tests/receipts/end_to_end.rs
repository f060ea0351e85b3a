//! The generator's mix through gateway, worker and receipt service: each
//! supplement's receipt is the one its manifest entry expects, in the
//! applicant's language, as e-mail or as an e-service notification.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use intake_core::events::{ReceiptOutcome, ReceiptRecipient, ReceiptRequested};
use intake_generator::manifest::ExpectedReceipt;
use intake_generator::plan::Kind;
use intake_generator::population::Population;
use intake_tests::Stack;
use intake_tests::receipts::{TestEservice, TestReceipts, TestSmtp, wait_until_settled};
use intake_tests::worker::TestWorker;
use uuid::Uuid;

use crate::support::{by_message_id, check_mail, check_notification, message_id};
use crate::worker_support::{gateway, publish_registry, send_all, supplements, wait_until_done};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_gets_the_right_receipt_in_the_applicants_language() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(5, 60);
    publish_registry(&gateway, &population).await;
    let supplements = supplements(&population, 5, Kind::ALL.len() * 3);
    let worker = TestWorker::start(&stack, &gateway, None).await;
    let smtp = TestSmtp::start(&stack, None).await;
    let eservice = TestEservice::start(&stack, &[]).await;
    let database_url = stack.database_url(&gateway.db);
    // Generated applicants write several times an hour; the limit has a
    // test of its own.
    let _receipts = TestReceipts::start(
        &stack,
        &gateway.kafka,
        &database_url,
        &smtp,
        &eservice,
        &[("INTAKE_RECEIPTS__RATE_LIMIT", "1000")],
    )
    .await;

    let ids = send_all(&gateway, &supplements, |_| async {}).await;
    let pool = &gateway.db.pool;
    wait_until_done(pool, ids.len(), &worker, Duration::from_secs(300)).await;
    wait_until_settled(pool, ids.len() as i64, Duration::from_secs(120)).await;

    let rows: HashMap<Uuid, (String, Option<String>, ReceiptRequested)> =
        sqlx::query_as::<_, (Uuid, String, Option<String>, serde_json::Value)>(
            "select supplement_id, state, reason, request from receipts",
        )
        .fetch_all(pool)
        .await
        .expect("receipts")
        .into_iter()
        .map(|(id, state, reason, request)| {
            (
                id,
                (
                    state,
                    reason,
                    serde_json::from_value(request).expect("request"),
                ),
            )
        })
        .collect();
    assert_eq!(
        rows.len(),
        ids.len(),
        "one receipt record per accepted supplement"
    );
    let mails = by_message_id(smtp.mailbox.find(|_| true));
    let notifications: HashMap<String, serde_json::Value> = eservice
        .notifications()
        .into_iter()
        .map(|n| (n["notification_id"].as_str().expect("id").to_owned(), n))
        .collect();

    let mut covered = BTreeSet::new();
    for supplement in &supplements {
        let Some(id) = ids.get(&supplement.entry.index) else {
            continue;
        };
        let (state, reason, request) = &rows[id];
        let context = format!("{:?} #{}", supplement.entry.kind, supplement.entry.index);
        match &supplement.entry.receipt {
            ExpectedReceipt::None { why } => {
                assert_eq!(state, "suppressed", "{context}: {why}");
                assert!(reason.is_some(), "{context}: a suppressed receipt says why");
                assert!(
                    !mails.contains_key(&message_id(request)),
                    "{context}: mailed"
                );
                continue;
            }
            ExpectedReceipt::Received => {
                assert_eq!(request.outcome, ReceiptOutcome::Received, "{context}");
            }
            ExpectedReceipt::AlreadyReceived { of } => {
                let original = &rows[&ids[of]].2;
                let ReceiptOutcome::AlreadyReceived(duplicate) = &request.outcome else {
                    panic!(
                        "{context}: expected already received, got {:?}",
                        request.outcome
                    );
                };
                assert_eq!(
                    duplicate.original_reference, original.reference,
                    "{context}"
                );
            }
        }
        assert_eq!(state, "sent", "{context}: {reason:?}");
        match &request.recipient {
            ReceiptRecipient::Email { .. } => {
                let copies = &mails[&message_id(request)];
                assert_eq!(copies.len(), 1, "{context}: exactly one mail");
                check_mail(&copies[0], request);
            }
            ReceiptRecipient::EnterFinland { .. } => {
                check_notification(&notifications[&request.receipt_id.to_string()], request);
            }
        }
        covered.insert((
            request.channel.as_str(),
            request.language.map_or("all", |l| l.as_str()),
            matches!(request.outcome, ReceiptOutcome::Received),
        ));
    }
    let sent = rows.values().filter(|(state, ..)| state == "sent").count();
    assert_eq!(
        mails.len() + notifications.len(),
        sent,
        "nothing sent besides the receipts"
    );
    // The generated applicants decide which combinations occur; every
    // combination is covered by the exactly-once test's own requests.
    for language in ["fi", "sv", "en"] {
        assert!(
            covered.iter().any(|(_, l, _)| *l == language),
            "none in {language}: {covered:?}"
        );
    }
    assert!(
        covered.iter().any(|(c, ..)| *c == "enter_finland"),
        "no e-service receipt"
    );
    assert!(
        covered.iter().any(|(_, _, received)| !received),
        "no resend receipt"
    );
}
