//! Running a generated load through a gateway and a worker process, and
//! checking every recorded outcome against the generator's manifest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use intake_adapters::kafka::EventProducer;
use intake_core::events::{Event, ReceiptOutcome, ReceiptRequested};
use intake_core::topics;
use intake_generator::manifest::{Entry, Expected, ExpectedReceipt};
use intake_generator::plan::{Options, Request, Supplement, plan};
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, Limits, MIB, SECUREMAIL_TOKEN, TestGateway};
use intake_tests::worker::TestWorker;
use sqlx::PgPool;
use uuid::Uuid;

pub const ONE_MIB: u64 = MIB;

/// What a hostile-corpus worker may hold for mail at once, the largest
/// mail it takes, and the largest file it holds whole for inspection (a
/// mail's share of the budget is that and 16 MiB, whatever its size).
pub const MAIL_MEMORY_BYTES: u64 = 24 * MIB;
const MAX_MAIL_BYTES: u64 = 8 * MIB;
const INSPECT_MAX_BYTES: u64 = 2 * MIB;
/// The process without mail: runtime, clients, pools, other stages (a
/// debug build measured 35 MiB after the hostile corpus, 74 MiB with the
/// heavy mails of the sealed test and 115 MiB with no mail budget).
pub const BASELINE_BYTES: u64 = 70 * MIB;

/// Settings that put the worker's mail memory under the budget above.
pub fn memory_budget() -> Vec<(String, String)> {
    vec![
        (
            "INTAKE_WORKER__MAIL_MEMORY_BYTES".into(),
            MAIL_MEMORY_BYTES.to_string(),
        ),
        (
            "INTAKE_WORKER__MAX_MAIL_BYTES".into(),
            MAX_MAIL_BYTES.to_string(),
        ),
        (
            "INTAKE_WORKER__INSPECT_MAX_BYTES".into(),
            INSPECT_MAX_BYTES.to_string(),
        ),
    ]
}

/// The worker's peak resident memory so far, checked against the budget.
pub fn assert_within_memory_budget(worker: &TestWorker) {
    let peak = intake_tests::peak_rss_kib(worker.process.pid().expect("running")) * 1024;
    eprintln!(
        "worker peak RSS {:.1} MiB (budget {} MiB for mail + {} MiB baseline)",
        peak as f64 / MIB as f64,
        MAIL_MEMORY_BYTES / MIB,
        BASELINE_BYTES / MIB
    );
    assert!(peak > 0, "peak RSS is readable");
    assert!(
        peak <= MAIL_MEMORY_BYTES + BASELINE_BYTES,
        "worker peak RSS {peak} bytes is over its budget"
    );
}

/// The gateway limits these tests send within.
pub fn limits() -> Limits {
    Limits {
        max_attachment_bytes: ONE_MIB,
        max_message_bytes: 4 * ONE_MIB,
        max_attachments: 10,
    }
}

pub async fn gateway(stack: &Stack) -> TestGateway {
    TestGateway::start(stack, limits()).await
}

pub async fn publish_registry(gateway: &TestGateway, population: &Population) {
    intake_adapters::kafka::ensure_topics(&gateway.kafka, &topics::ALL)
        .await
        .expect("topics");
    let producer = EventProducer::new(&gateway.kafka).expect("producer");
    for record in &population.applications {
        producer
            .publish(
                &topics::APPLICATIONS,
                &Event::new("/tests/case-management", Utc::now(), record.clone()),
            )
            .await
            .expect("publish an application");
    }
}

pub fn supplements(population: &Population, seed: u64, count: usize) -> Vec<Supplement> {
    plan(
        population,
        &Options {
            seed,
            count,
            oversized_bytes: (ONE_MIB + 1) as usize,
            kinds: vec![],
        },
    )
}

/// Sends each supplement in order (a resend must come after its
/// original); calls `between` after each with the number sent. Returns the
/// supplement id of every accepted one, by manifest index.
pub async fn send_all<F, Fut>(
    gateway: &TestGateway,
    supplements: &[Supplement],
    mut between: F,
) -> BTreeMap<usize, Uuid>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    let mut ids = BTreeMap::new();
    for (n, supplement) in supplements.iter().enumerate() {
        let sent = send(&client, &gateway.url, &tokens, &supplement.request)
            .await
            .expect("gateway answers");
        match &supplement.entry.expected {
            Expected::Rejected { status, .. } => assert_eq!(sent.status, *status),
            _ => {
                assert_eq!(sent.status, 202, "{:?}", supplement.entry);
                ids.insert(supplement.entry.index, sent.supplement_id.expect("id"));
            }
        }
        between(n + 1).await;
    }
    ids
}

/// Waits until every accepted supplement has an outcome and every outbox
/// row is published.
pub async fn wait_until_done(pool: &PgPool, expected: usize, worker: &TestWorker, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (recorded, unsent): (i64, i64) = sqlx::query_as(
            "select (select count(*) from supplements), (select count(*) from outbox where sent_at is null)",
        )
        .fetch_one(pool)
        .await
        .expect("count");
        if recorded as usize == expected && unsent == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {limit:?}: {recorded} of {expected} supplements recorded, {unsent} events unsent; worker log tail:\n{}",
            tail(&worker.log())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    supplement_id: Uuid,
    outcome: String,
    application_id: Option<String>,
    sequence: Option<i64>,
    duplicate_of: Option<Uuid>,
    possible_resend_of: Option<Uuid>,
    triage_reasons: Option<serde_json::Value>,
    arrived_at: DateTime<Utc>,
    receipt_reference: String,
}

/// Compares what the worker recorded with the manifest, entry by entry,
/// and checks the invariants: one receipt request per supplement, routed
/// supplements numbered 1..n per application in arrival order, every
/// quarantined file kept out of caseworkers' reach. Returns the number of
/// supplements checked.
pub async fn check_against_manifest(
    pool: &PgPool,
    entries: &[&Entry],
    ids: &BTreeMap<usize, Uuid>,
) -> usize {
    let rows: Vec<Row> = sqlx::query_as(
        "select supplement_id, outcome, application_id, sequence, duplicate_of,
                possible_resend_of, triage_reasons, arrived_at, receipt_reference
         from supplements",
    )
    .fetch_all(pool)
    .await
    .expect("supplements");
    let by_id: HashMap<Uuid, &Row> = rows.iter().map(|r| (r.supplement_id, r)).collect();
    assert_eq!(rows.len(), ids.len(), "one outcome per accepted supplement");

    let receipts: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(
        "select (payload->>'supplement_id')::uuid, payload from outbox where topic like '%receipts.v1'",
    )
    .fetch_all(pool)
    .await
    .expect("receipt requests");
    let mut receipt_of: HashMap<Uuid, ReceiptRequested> = HashMap::new();
    for (id, payload) in receipts {
        let request: ReceiptRequested = serde_json::from_value(payload).expect("a receipt request");
        assert!(
            receipt_of.insert(id, request).is_none(),
            "two receipt requests for {id}"
        );
    }
    assert_eq!(
        receipt_of.len(),
        ids.len(),
        "one receipt request per supplement"
    );

    // Receipts describe files by position; the names are in the rows.
    let names: HashMap<(Uuid, i32), String> = {
        let rows: Vec<(Uuid, i32, String)> =
            sqlx::query_as("select supplement_id, ordinal, filename from attachments")
                .fetch_all(pool)
                .await
                .expect("attachments");
        rows.into_iter().map(|(s, o, f)| ((s, o), f)).collect()
    };

    let quarantined: HashMap<Uuid, Vec<String>> = {
        let rows: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(
            "select (payload->>'supplement_id')::uuid, payload->'reason' from outbox
             where topic like '%quarantine.v1' and payload->'part' = 'null'::jsonb",
        )
        .fetch_all(pool)
        .await
        .expect("quarantine events");
        let mut map: HashMap<Uuid, Vec<String>> = HashMap::new();
        for (id, reason) in rows {
            map.entry(id)
                .or_default()
                .push(reason["kind"].as_str().unwrap_or_default().to_owned());
        }
        map
    };

    let mut mismatches = Vec::new();
    for entry in entries {
        let Some(id) = ids.get(&entry.index) else {
            continue;
        };
        let row = by_id.get(id).expect("recorded");
        let receipt = &receipt_of[id];
        let id_of = |index: &usize| ids.get(index).copied();
        let ok = match &entry.expected {
            Expected::Routed {
                application_id,
                refused,
                possible_resend_of,
            } => {
                let refused_now: HashSet<(String, String)> = receipt
                    .files
                    .iter()
                    .filter_map(|f| {
                        let name = names.get(&(*id, f.position as i32 - 1)).cloned();
                        f.refusal
                            .map(|r| (name.unwrap_or_default(), format!("{r:?}")))
                    })
                    .collect();
                let refused_expected: HashSet<(String, String)> = refused
                    .iter()
                    .map(|f| (f.filename.clone(), format!("{:?}", f.reason)))
                    .collect();
                row.outcome == "routed"
                    && row.application_id.as_deref() == Some(application_id.as_str())
                    && refused_now == refused_expected
                    && row.possible_resend_of == possible_resend_of.as_ref().and_then(id_of)
            }
            Expected::Triage { reasons } => {
                let kinds: Vec<String> = row
                    .triage_reasons
                    .as_ref()
                    .and_then(|r| r.as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|r| r["kind"].as_str().unwrap_or_default().to_owned())
                    .collect();
                row.outcome == "triage" && &kinds == reasons
            }
            Expected::Quarantined { reason } => {
                row.outcome == "quarantined"
                    && quarantined
                        .get(id)
                        .is_some_and(|r| r == &vec![reason.clone()])
            }
            Expected::Duplicate { of } => {
                row.outcome == "duplicate" && row.duplicate_of == id_of(of)
            }
            Expected::Rejected { .. } => false,
        };
        let receipt_ok = match &entry.receipt {
            ExpectedReceipt::Received => receipt.outcome == ReceiptOutcome::Received,
            ExpectedReceipt::AlreadyReceived { of } => match &receipt.outcome {
                ReceiptOutcome::AlreadyReceived(original) => id_of(of)
                    .and_then(|o| by_id.get(&o))
                    .is_some_and(|o| o.receipt_reference == original.original_reference),
                ReceiptOutcome::Received => false,
            },
            // The receipt service decides not to answer, from these facts.
            ExpectedReceipt::None { .. } => receipt.mail.as_ref().is_some_and(|m| {
                m.empty_return_path || m.auto_submitted.as_deref().is_some_and(|a| a != "no")
            }),
        };
        if !ok || !receipt_ok {
            mismatches.push(format!(
                "#{} {:?}: expected {:?} / {:?}, got {} app={:?} dup={:?} resend={:?} triage={:?} receipt={:?}",
                entry.index,
                entry.kind,
                entry.expected,
                entry.receipt,
                row.outcome,
                row.application_id,
                row.duplicate_of,
                row.possible_resend_of,
                row.triage_reasons,
                receipt
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from the manifest:\n{}",
        mismatches.len(),
        ids.len(),
        mismatches.join("\n")
    );
    check_sequences(&rows);
    check_nothing_refused_is_delivered(pool).await;
    ids.len()
}

/// Per application: numbers 1..n with no gap, in arrival order.
fn check_sequences(rows: &[Row]) {
    let mut by_app: HashMap<&str, Vec<&Row>> = HashMap::new();
    for row in rows.iter().filter(|r| r.outcome == "routed") {
        by_app
            .entry(
                row.application_id
                    .as_deref()
                    .expect("routed has an application"),
            )
            .or_default()
            .push(row);
    }
    for (app, mut routed) in by_app {
        routed.sort_by_key(|r| r.sequence);
        let numbers: Vec<i64> = routed.iter().filter_map(|r| r.sequence).collect();
        assert_eq!(
            numbers,
            (1..=routed.len() as i64).collect::<Vec<_>>(),
            "{app}"
        );
        for pair in routed.windows(2) {
            assert!(
                pair[0].arrived_at <= pair[1].arrived_at,
                "{app}: #{:?} arrived {} but #{:?} arrived {}",
                pair[0].sequence,
                pair[0].arrived_at,
                pair[1].sequence,
                pair[1].arrived_at
            );
        }
    }
}

/// Refused files live only in the quarantine bucket and are absent from
/// the routed events; routed files were all scanned clean.
async fn check_nothing_refused_is_delivered(pool: &PgPool) {
    let leaks: i64 = sqlx::query_scalar(
        "select count(*) from attachments a join outbox o
           on o.topic like '%routed.v1' and o.payload->>'supplement_id' = a.supplement_id::text
         where a.verdict <> 'clean'
           and o.payload->'attachments' @> jsonb_build_array(jsonb_build_object('attachment_id', a.attachment_id::text))",
    )
    .fetch_one(pool)
    .await
    .expect("leak check");
    assert_eq!(leaks, 0, "a refused file was delivered");
    let unscanned: i64 = sqlx::query_scalar(
        "select count(*) from attachments where verdict = 'clean' and scanned_at is null",
    )
    .fetch_one(pool)
    .await
    .expect("scan check");
    assert_eq!(unscanned, 0);
}

/// Reads a topic from the start until `expected` distinct CloudEvents ids
/// were seen (or nothing new comes for 10 s); returns how many.
pub async fn distinct_event_ids(
    gateway: &TestGateway,
    spec: &intake_core::topics::TopicSpec,
    expected: usize,
) -> usize {
    let consumer = gateway.reader(spec);
    let mut seen = HashSet::new();
    let mut read = 0;
    while seen.len() < expected {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(10), consumer.recv()).await
        else {
            eprintln!(
                "{read} records read ({} distinct) of {} on the topic, then 10 s of nothing",
                seen.len(),
                gateway.record_count(spec).await
            );
            break;
        };
        read += 1;
        let message = message.expect("receive");
        let id = intake_adapters::kafka::record_headers(&message)
            .into_iter()
            .find(|(k, _)| *k == "ce_id")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .expect("ce_id header");
        seen.insert(id);
    }
    seen.len()
}

/// The file names a supplement carries, as the applicant gave them.
pub fn attachment_names(supplement: &Supplement) -> Vec<String> {
    match &supplement.request {
        Request::EnterFinland { files, .. } => files.iter().map(|f| f.filename.clone()).collect(),
        Request::Securemail { raw, .. } => {
            fn walk(part: &mailparse::ParsedMail<'_>, out: &mut Vec<String>) {
                if let Some(name) = part.get_content_disposition().params.get("filename") {
                    out.push(name.clone());
                }
                for sub in &part.subparts {
                    walk(sub, out);
                }
            }
            let mut out = Vec::new();
            if let Ok(mail) = mailparse::parse_mail(raw) {
                walk(&mail, &mut out);
            }
            out
        }
    }
}

/// Text that does not repeat, so no scanner cache or compression helps.
pub fn long_text(bytes: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut n: u64 = 1;
    while out.len() < bytes {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push_str(&format!("rivi {n:x}\n"));
    }
    out.into_bytes()
}

pub fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An Enter Finland submission to `application_id` with `files` (name,
/// bytes) attached; returns its supplement id.
pub async fn submit(
    gateway: &TestGateway,
    application_id: &str,
    customer: &str,
    files: &[(&str, Vec<u8>)],
) -> Uuid {
    let metadata = serde_json::json!({
        "submission_id": format!("EF-test-{}", Uuid::new_v4()),
        "customer_number": customer,
        "application_id": application_id,
        "language": "fi",
        "message": "Liitteenä pyydetty selvitys.",
    });
    let mut form = reqwest::multipart::Form::new().part(
        "metadata",
        reqwest::multipart::Part::text(metadata.to_string())
            .mime_str("application/json")
            .expect("mime"),
    );
    for (name, bytes) in files {
        form = form.part(
            "attachment",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let submitted = reqwest::Client::new()
        .post(format!("{}/v1/enterfinland/submissions", gateway.url))
        .bearer_auth(ENTERFINLAND_TOKEN)
        .multipart(form)
        .send()
        .await
        .expect("submission");
    assert_eq!(submitted.status(), 202);
    submitted.json::<serde_json::Value>().await.expect("json")["supplement_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("supplement id")
}
