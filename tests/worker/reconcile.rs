//! Class 9 of the hardening review: a retry that takes over a stalled
//! request must never overwrite or remove parts an earlier attempt's event
//! may name, the worker must not record the retry's copy of the event as a
//! duplicate, and `intake reconcile` removes only the attempt no outcome
//! names.

use std::collections::BTreeSet;
use std::time::Duration;

use intake_generator::plan::Request;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN, TestGateway};
use intake_tests::process::{intake_command, succeeds};
use intake_tests::worker::TestWorker;
use serde_json::json;
use uuid::Uuid;

use crate::support::{gateway, publish_registry, wait_until_done};

fn attempts(keys: &[String], supplement: Uuid) -> BTreeSet<Uuid> {
    keys.iter()
        .filter_map(|k| intake_core::ingest::attempt_of(k))
        .filter(|(s, _)| *s == supplement)
        .map(|(_, a)| a)
        .collect()
}

async fn reconcile(stack: &Stack, gateway: &TestGateway, dry_run: bool) -> String {
    let mut command = intake_command(stack, &gateway.db);
    command.arg("reconcile").args(["--bucket", &gateway.bucket]);
    for key in [
        "INTAKE_S3__ENDPOINT",
        "INTAKE_S3__REGION",
        "INTAKE_S3__ACCESS_KEY_ID",
        "INTAKE_S3__SECRET_ACCESS_KEY",
        "INTAKE_S3__FORCE_PATH_STYLE",
    ] {
        command.env(key, stack.get(key));
    }
    if dry_run {
        command.arg("--dry-run");
    }
    succeeds(command).await
}

#[tokio::test]
async fn a_takeover_keeps_what_an_earlier_event_names_and_reconcile_removes_only_orphans() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(91, 2);
    publish_registry(&gateway, &population).await;
    let record = &population.applications[0];
    // Each submission its own words and file, so none is a resend of another.
    let submission = |id: &str| Request::EnterFinland {
        metadata: json!({
            "submission_id": format!("EF-takeover-{id}"),
            "customer_number": record.customer_number.as_str(),
            "application_id": record.application_id.to_string(),
            "request_id": null,
            "language": "en",
            "message": format!("The certificate you asked for ({id})."),
        }),
        files: vec![intake_generator::mail::Attachment {
            filename: "certificate.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: intake_generator::files::pdf(
                &["Certificate", id],
                intake_generator::files::PdfAction::None,
            ),
        }],
    };
    let run = Uuid::new_v4();
    let first = submission(&format!("{run}-a"));
    let worker = TestWorker::start(&stack, &gateway, None).await;
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    let pool = &gateway.db.pool;

    let sent = send(&client, &gateway.url, &tokens, &first)
        .await
        .expect("send");
    assert_eq!(sent.status, 202);
    let id = sent.supplement_id.expect("id");
    wait_until_done(pool, 1, &worker, Duration::from_secs(120)).await;

    // The gateway published, but never learned it had (a timeout): its
    // claim stays in progress until a retry takes over.
    sqlx::query(
        "update ingest_claims set state = 'in_progress', accepted_at = null,
             claimed_at = now() - interval '1 hour'
         where supplement_id = $1",
    )
    .bind(id)
    .execute(pool)
    .await
    .expect("stall the claim");
    let before = gateway.stored_keys().await;
    let retried = send(&client, &gateway.url, &tokens, &first)
        .await
        .expect("retry");
    assert_eq!(retried.status, 202);
    assert_eq!(
        retried.supplement_id,
        Some(id),
        "the retry takes the same supplement over"
    );
    let after = gateway.stored_keys().await;
    for key in &before {
        assert!(
            after.contains(key),
            "the retry removed {key}, which a published event names"
        );
    }
    let both = attempts(&after, id);
    assert_eq!(
        both.len(),
        2,
        "each attempt stores under its own prefix: {after:?}"
    );

    // A later supplement on the same application (same key, same
    // partition): once it is recorded, the retry's event has been handled.
    let later = send(
        &client,
        &gateway.url,
        &tokens,
        &submission(&format!("{run}-b")),
    )
    .await
    .expect("send");
    assert_eq!(later.status, 202);
    wait_until_done(pool, 2, &worker, Duration::from_secs(120)).await;
    let (outcome, read): (String, Option<Uuid>) =
        sqlx::query_as("select outcome, inbound_attempt from supplements where supplement_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("exactly one outcome");
    assert_eq!(outcome, "routed");
    let read = read.expect("the outcome says which attempt it read");
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from supplements where duplicate_of = $1 or possible_resend_of = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("count");
    assert_eq!(
        duplicates, 0,
        "the retry's copy of the event is not a duplicate"
    );

    let listed = gateway.stored_keys().await;
    let dry = reconcile(&stack, &gateway, true).await;
    assert!(dry.contains("1 orphaned"), "{dry}");
    assert_eq!(
        gateway.stored_keys().await,
        listed,
        "a dry run removes nothing"
    );
    let done = reconcile(&stack, &gateway, false).await;
    assert!(done.contains("1 orphaned"), "{done}");
    let remaining = gateway.stored_keys().await;
    assert_eq!(
        attempts(&remaining, id),
        BTreeSet::from([read]),
        "only the attempt the outcome names is kept"
    );
    let named: Vec<String> = sqlx::query_scalar(
        "select object_key from attachments union all
         select text_key from supplements where text_key is not null",
    )
    .fetch_all(pool)
    .await
    .expect("keys");
    for key in named {
        assert!(
            remaining.contains(&key),
            "{key} is recorded but was removed"
        );
    }
    let again = reconcile(&stack, &gateway, false).await;
    assert!(again.contains("0 orphaned"), "{again}");
}
