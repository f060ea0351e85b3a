//! One trace per supplement, from the gateway's request to the receipt
//! service, as a tracing backend would receive it: every service exports
//! its spans over OTLP to a receiver of the test's own.

use std::time::{Duration, Instant};

use intake_generator::plan::Kind;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN};
use intake_tests::otlp::{OtlpReceiver, ReceivedSpan};
use intake_tests::receipts::{TestEservice, TestReceipts, TestSmtp, wait_until_settled};
use intake_tests::worker::TestWorker;

use crate::worker_support::{gateway, publish_registry, supplements, wait_until_done};

const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;

/// Whether `span` is `ancestor` or lies under it.
fn descends(spans: &[ReceivedSpan], span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
    let mut at = span;
    for _ in 0..spans.len() {
        if at.span_id == ancestor.span_id {
            return true;
        }
        match spans.iter().find(|s| s.span_id == at.parent_span_id) {
            Some(parent) => at = parent,
            None => return false,
        }
    }
    false
}

fn find<'a>(
    spans: &'a [ReceivedSpan],
    service: &str,
    name: &str,
    parent: &ReceivedSpan,
) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| {
        s.service == service
            && s.name == name
            && s.trace_id == parent.trace_id
            && s.parent_span_id == parent.span_id
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplements_trace_runs_from_gateway_through_worker_and_relay_to_receipts() {
    let stack = Stack::new();
    let otlp = OtlpReceiver::start().await;
    let exporting = vec![(
        "INTAKE_TELEMETRY__OTLP_ENDPOINT".to_owned(),
        otlp.endpoint.clone(),
    )];
    let gateway = gateway(&stack).await;
    let population = Population::generate(9, 20);
    publish_registry(&gateway, &population).await;
    let (_process, url) = gateway.start_process(&stack, exporting.clone()).await;
    let worker = TestWorker::start_with(&stack, &gateway, None, "debug", exporting.clone()).await;
    let smtp = TestSmtp::start(&stack, None).await;
    let eservice = TestEservice::start(&stack, &[]).await;
    let _receipts = TestReceipts::start(
        &stack,
        &gateway.kafka,
        &stack.database_url(&gateway.db),
        &smtp,
        &eservice,
        &[("INTAKE_TELEMETRY__OTLP_ENDPOINT", &otlp.endpoint)],
    )
    .await;

    // One of each channel.
    let planned = supplements(&population, 9, Kind::ALL.len() * 2);
    let chosen: Vec<_> = [Kind::EnterFinlandSubmission, Kind::MailIdInSubject]
        .into_iter()
        .map(|kind| {
            planned
                .iter()
                .find(|s| s.entry.kind == kind)
                .expect("the plan has one of each kind")
        })
        .collect();
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    for supplement in chosen.iter() {
        let sent = send(&client, &url, &tokens, &supplement.request)
            .await
            .expect("gateway answers");
        assert_eq!(sent.status, 202);
    }
    let pool = &gateway.db.pool;
    wait_until_done(pool, chosen.len(), &worker, Duration::from_secs(120)).await;
    wait_until_settled(pool, chosen.len() as i64, Duration::from_secs(60)).await;

    // Spans leave in batches every few seconds.
    let prefix = &gateway.kafka.topic_prefix;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spans = otlp.spans();
        let sends: Vec<&ReceivedSpan> = spans
            .iter()
            .filter(|s| s.service == "intake-gateway" && s.kind == PRODUCER)
            .collect();
        let complete = sends
            .iter()
            .filter_map(|send| {
                let topic = send.name.strip_prefix("send ")?;
                let process = find(&spans, "intake-worker", &format!("process {topic}"), send)?;
                // The relay continues the trace the outcome was recorded in.
                let relay = spans.iter().find(|s| {
                    s.service == "intake-worker"
                        && s.name == format!("send {prefix}receipts.v1")
                        && descends(&spans, s, process)
                })?;
                let receipt = find(
                    &spans,
                    "intake-receipts",
                    &format!("process {prefix}receipts.v1"),
                    relay,
                )?;
                Some((*send, process, relay, receipt))
            })
            .collect::<Vec<_>>();
        if complete.len() == chosen.len() {
            for (send, process, relay, receipt) in complete {
                assert_eq!(send.attributes["messaging.system"], "kafka");
                assert_eq!(process.kind, CONSUMER);
                assert_eq!(process.attributes["messaging.system"], "kafka");
                assert_eq!(
                    process.attributes["messaging.consumer.group.name"],
                    worker.group
                );
                assert!(process.attributes.contains_key("messaging.kafka.offset"));
                assert!(
                    process
                        .attributes
                        .contains_key("messaging.destination.partition.id")
                );
                assert_eq!(relay.kind, PRODUCER);
                assert_eq!(receipt.kind, CONSUMER);
                // The worker's stages are children of its process span.
                for stage in ["fetch", "decrypt", "scan", "match", "commit"] {
                    assert!(
                        find(&spans, "intake-worker", stage, process).is_some(),
                        "no {stage} span under {process:?}"
                    );
                }
            }
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} traces complete; spans received: {:#?}",
            complete.len(),
            chosen.len(),
            spans
                .iter()
                .map(|s| (&s.service, &s.name, &s.trace_id))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
