//! The record stage with a batch that holds supplements of one
//! application from both channels and one the database refuses (a poison
//! item: a trigger in the real PostgreSQL refuses its routed row). The
//! rest are recorded in arrival order with consecutive numbers; the
//! poison is recorded alone as unprocessable and parked on the real
//! dead-letter topic; every record is acknowledged once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use intake_adapters::kafka::{EventProducer, ensure_topics, record_headers};
use intake_adapters::retry::Backoff;
use intake_core::decide::{Candidate, Proposal};
use intake_core::events::{Channel, Language};
use intake_core::ids::{ApplicationId, CustomerNumber};
use intake_core::topics;
use intake_tests::Stack;
use intake_tests::process::{intake_command, succeeds};
use intake_worker::metrics::WorkerMetrics;
use intake_worker::stage::record::{RecordSettings, RecordStage};
use intake_worker::stage::{Ack, Decided, End, InboundRecord, Position};
use intake_worker::store::Registered;
use rdkafka::Message;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::analysis;

#[tokio::test]
async fn a_poison_item_is_isolated_and_the_rest_of_its_batch_recorded_in_order() {
    let stack = Stack::new();
    let db = stack.database().await;
    let pool = db.pool.clone();
    let kafka = stack.kafka();
    ensure_topics(&kafka, &[topics::DEAD_LETTER])
        .await
        .expect("topics");
    let (objects, _bucket) = stack.bucket().await;

    let application = ApplicationId::from_parts(2026, 77).expect("valid");
    let customer = CustomerNumber::from_serial(77).expect("valid");
    sqlx::query(
        "insert into applications (application_id, customer_number, status, unit, confidential,
             language, version, updated_at)
         values ($1, $2, 'pending', 'unit-a', false, 'sv', 1, now())",
    )
    .bind(application.as_str())
    .bind(customer.as_str())
    .execute(&pool)
    .await
    .expect("application");
    let registered = Registered {
        candidate: Candidate {
            application_id: application.clone(),
            customer_number: customer,
            contact_addresses: vec![],
            open_requests: vec![],
        },
        unit: "unit-a".into(),
        confidential: false,
        language: Language::Sv,
    };
    // The poison: PostgreSQL refuses supplement 3 as routed (as it would a
    // value out of range), but takes it as anything else.
    let poison = Uuid::from_u128(3);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create function refuse_poison() returns trigger language plpgsql as $$
         begin
             if new.supplement_id = '{poison}' and new.outcome = 'routed' then
                 raise exception 'poison' using errcode = '22023';
             end if;
             return new;
         end $$;
         create trigger refuse_poison before insert on supplements
             for each row execute function refuse_poison();"
    )))
    .execute(&pool)
    .await
    .expect("trigger");

    let (acks_to, mut acks) = mpsc::unbounded_channel();
    let channels = [
        Channel::EnterFinland,
        Channel::Securemail,
        Channel::Securemail,
        Channel::EnterFinland,
        Channel::Securemail,
    ];
    let (to_record, inbox) = mpsc::channel(16);
    for (i, channel) in channels.into_iter().enumerate() {
        let n = i as u128 + 1;
        let position = Position {
            topic: "in".into(),
            partition: 0,
            offset: n as i64,
        };
        let item = Decided {
            record: InboundRecord {
                topic: position.topic.clone(),
                partition: 0,
                offset: position.offset,
                key: Some(application.as_str().as_bytes().to_vec()),
                headers: vec![],
                payload: Some(b"{}".to_vec()),
            },
            event_id: Some(Uuid::from_u128(100 + n)),
            end: End::Outcome {
                analysis: analysis(n, n as i64, channel, &format!("supplement {n}"), &[]),
                proposal: Proposal::Route {
                    application_id: application.clone(),
                    flags: vec![],
                },
                registered: Some(registered.clone()),
            },
            span: tracing::Span::none(),
            ack: Ack::new(position, acks_to.clone(), CancellationToken::new()),
            ready_at: Instant::now(),
            ready_since: Utc::now(),
        };
        to_record.send(item).await.expect("queued");
    }
    // All five wait in the inbox before the stage starts: one batch.
    let stage = record_stage(&pool, &kafka, objects, 256);
    tokio::spawn(stage.run(inbox));

    let mut acked = Vec::new();
    while acked.len() < 5 {
        let ack = tokio::time::timeout(Duration::from_secs(30), acks.recv())
            .await
            .expect("every record is acknowledged")
            .expect("ack");
        acked.push(ack.offset);
    }
    acked.sort_unstable();
    assert_eq!(acked, vec![1, 2, 3, 4, 5], "each once");

    let rows: Vec<(Uuid, String, Option<i64>, String)> = sqlx::query_as(
        "select supplement_id, outcome, sequence, channel from supplements order by arrived_at",
    )
    .fetch_all(&pool)
    .await
    .expect("rows");
    let summary: Vec<(u128, &str, Option<i64>)> = rows
        .iter()
        .map(|(id, outcome, sequence, _)| (id.as_u128(), outcome.as_str(), *sequence))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "routed", Some(1)),
            (2, "routed", Some(2)),
            (3, "unprocessable", None),
            (4, "routed", Some(3)),
            (5, "routed", Some(4)),
        ]
    );
    let channels: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    assert_eq!(
        channels,
        [
            "enter_finland",
            "securemail",
            "securemail",
            "enter_finland",
            "securemail"
        ]
    );
    let receipts: i64 = sqlx::query_scalar(
        "select count(distinct payload->>'supplement_id') from outbox where topic like '%receipts.v1'",
    )
    .fetch_one(&pool)
    .await
    .expect("receipts");
    assert_eq!(
        receipts, 5,
        "one receipt request each, the poison's included"
    );

    // The poison's record is on the dead-letter topic with the reason.
    let reader: rdkafka::consumer::StreamConsumer = kafka
        .consumer(&intake_tests::unique("dlq"))
        .create()
        .expect("consumer");
    rdkafka::consumer::Consumer::subscribe(&reader, &[&kafka.topics().name(&topics::DEAD_LETTER)])
        .expect("subscribe");
    let message = tokio::time::timeout(Duration::from_secs(30), reader.recv())
        .await
        .expect("a dead letter arrives")
        .expect("receive");
    let headers = record_headers(&message);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(header("intake_origin").as_deref(), Some("in/0/3"));
    assert!(
        header("intake_error").is_some_and(|e| e.contains("poison")),
        "{headers:?}"
    );
    assert_eq!(message.offset(), 0, "only the poison is dead-lettered");

    // And on record in PostgreSQL, with its outcome's transaction.
    type Letter = (
        Uuid,
        String,
        String,
        String,
        i64,
        Option<Uuid>,
        Vec<u8>,
        i32,
    );
    let letters: Vec<Letter> = sqlx::query_as(
        "select id, service, reason, origin_topic, origin_offset, supplement_id, payload,
                    attempts
               from dead_letters",
    )
    .fetch_all(&pool)
    .await
    .expect("letters");
    assert_eq!(letters.len(), 1, "{letters:?}");
    let (id, service, reason, topic, offset, supplement, payload, attempts) = &letters[0];
    assert_eq!(
        (service.as_str(), reason.as_str(), topic.as_str(), *offset),
        ("worker", "failed", "in", 3)
    );
    assert_eq!(*supplement, Some(poison));
    assert_eq!(payload, b"{}");
    assert_eq!(*attempts, 1);

    // What an operator sees: the letter listed without its payload, and
    // shown with its error, the look audited.
    let listed = intake(&stack, &db, &["dlq", "list"]).await;
    assert!(listed.contains(&id.to_string()), "{listed}");
    assert!(
        listed.contains("open") && listed.contains("failed 1"),
        "{listed}"
    );
    let shown = intake(
        &stack,
        &db,
        &["dlq", "show", &id.to_string(), "--operator", "olli"],
    )
    .await;
    assert!(shown.contains("poison"), "{shown}");
    assert!(shown.contains("in/0/3"), "{shown}");
    assert!(shown.contains("2 bytes (not shown)"), "{shown}");
    let audited: Vec<(String, String, Option<Uuid>)> = sqlx::query_as(
        "select actor, action, supplement_id from audit_log where action like 'dlq.%'",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(
        audited,
        [(
            "operator:olli".to_owned(),
            "dlq.show".to_owned(),
            Some(poison)
        )]
    );
    let unknown = Uuid::from_u128(1).to_string();
    let output = intake_command(&stack, &db)
        .args(["dlq", "show", &unknown])
        .output()
        .await
        .expect("run intake");
    assert!(!output.status.success(), "an unknown letter is an error");
    assert!(String::from_utf8_lossy(&output.stderr).contains("no dead letter"));
}

async fn intake(stack: &Stack, db: &intake_tests::TestDb, args: &[&str]) -> String {
    let mut command = intake_command(stack, db);
    command.args(args);
    succeeds(command).await
}

/// A record stage on the real database, broker and object store.
fn record_stage(
    pool: &sqlx::PgPool,
    kafka: &intake_adapters::kafka::KafkaConfig,
    objects: intake_adapters::s3::ObjectStore,
    max_batch: usize,
) -> RecordStage {
    RecordStage::new(
        pool.clone(),
        kafka.topics(),
        RecordSettings {
            dedup_window: Duration::from_secs(3600),
            max_batch,
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(1)),
        },
        EventProducer::new(kafka).expect("producer"),
        objects,
        Arc::new(Notify::new()),
        WorkerMetrics::new(&mut Default::default()),
    )
}

/// A commit whose answer was lost is tried again and finds its event
/// recorded: the objects its rows refer to must stay. Only what no row
/// refers to (here a text object of another run) is removed.
#[tokio::test]
async fn a_commit_retried_after_its_answer_was_lost_keeps_what_it_delivered() {
    let stack = Stack::new();
    let db = stack.database().await;
    let pool = db.pool.clone();
    let kafka = stack.kafka();
    let (objects, bucket) = stack.bucket().await;

    let mut delivered = analysis(41, 1, Channel::Securemail, "text", &["a", "b"]);
    for file in &mut delivered.files {
        file.object.bucket = bucket.clone();
        file.object.key = format!(
            "supplements/{}/file-{}.run1.age",
            delivered.supplement_id, file.ordinal
        );
        objects
            .put_stream(&bucket, &file.object.key, &b"sealed"[..])
            .await
            .expect("stored");
    }
    let stray_key = format!("supplements/{}/text.run2.age", delivered.supplement_id);
    objects
        .put_stream(&bucket, &stray_key, &b"sealed"[..])
        .await
        .expect("stored");
    let mut again = delivered.clone();
    again.text_object = Some(intake_core::events::ObjectRef {
        bucket: bucket.clone(),
        key: stray_key.clone(),
        size: 6,
        sha256: "0".repeat(64),
        encryption: intake_core::events::PayloadEncryption::Age,
    });

    let (acks_to, mut acks) = mpsc::unbounded_channel();
    let (to_record, inbox) = mpsc::channel(4);
    let stage = record_stage(&pool, &kafka, objects.clone(), 1);
    tokio::spawn(stage.run(inbox));
    for analysis in [delivered.clone(), again] {
        let position = Position {
            topic: "in".into(),
            partition: 0,
            offset: 1,
        };
        to_record
            .send(Decided {
                record: InboundRecord {
                    topic: "in".into(),
                    partition: 0,
                    offset: 1,
                    key: None,
                    headers: vec![],
                    payload: Some(b"{}".to_vec()),
                },
                event_id: Some(Uuid::from_u128(4100)),
                end: End::Outcome {
                    analysis,
                    proposal: Proposal::Triage {
                        reasons: vec![],
                        candidates: vec![],
                    },
                    registered: None,
                },
                span: tracing::Span::none(),
                ack: Ack::new(position, acks_to.clone(), CancellationToken::new()),
                ready_at: Instant::now(),
                ready_since: Utc::now(),
            })
            .await
            .expect("queued");
        tokio::time::timeout(Duration::from_secs(30), acks.recv())
            .await
            .expect("acknowledged")
            .expect("ack");
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    while objects
        .size(&bucket, &stray_key)
        .await
        .expect("head")
        .is_some()
    {
        assert!(
            Instant::now() < deadline,
            "the unreferenced object was not removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for file in &delivered.files {
        assert!(
            objects
                .size(&bucket, &file.object.key)
                .await
                .expect("head")
                .is_some(),
            "{} is referenced by the recorded rows and must stay",
            file.object.key
        );
    }
}
