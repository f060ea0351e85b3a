//! The local broker's own faults, fixed in `infra/local/tansu/fixes.patch`,
//! stay fixed: each test runs a broker of its own, so a regression cannot
//! take down the shared one.
//! - deleting one topic deletes that topic only (the release deleted every
//!   topic of the cluster with it);
//! - records past their topic's `retention.ms` are deleted, a backlog
//!   larger than one retention batch too, and `retention.ms=-1` keeps them;
//! - compaction keeps the newest record per key (through an index: it was
//!   quadratic in the partition's size);
//! - a topic whose configs differ from the catalogue is reported;
//! - a fetch waiting on an empty partition answers when a record arrives
//!   (the release polled, and slept after finding records).

use std::time::{Duration, Instant};

use intake_adapters::kafka::{KafkaConfig, config_drift, ensure_topics};
use intake_core::topics::{Cleanup, TopicSpec};
use intake_tests::Stack;
use intake_tests::broker::TestBroker;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::FromClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

const KEPT: TopicSpec = TopicSpec {
    name: "kept.v1",
    partitions: 1,
    cleanup: Cleanup::Delete(Duration::from_secs(3600)),
};

const DELETED: TopicSpec = TopicSpec {
    name: "deleted.v1",
    ..KEPT
};

/// A broker of the test's own, so that a regression cannot take down the
/// shared one, and a client config for it. `maintenance`: how often it
/// deletes expired records (tansu's default if `None`).
async fn own_broker(stack: &Stack, maintenance: Option<Duration>) -> (TestBroker, KafkaConfig) {
    let broker = match maintenance {
        Some(every) => TestBroker::start_with_maintenance(stack, every).await,
        None => TestBroker::start(stack).await,
    };
    let mut config = KafkaConfig::local(broker.address.clone());
    config.topic_prefix = "smoke.".into();
    (broker, config)
}

async fn produce(config: &KafkaConfig, spec: &TopicSpec, count: usize) {
    let producer: FutureProducer = config.producer().create().expect("producer");
    let topic = config.topics().name(spec);
    for i in 0..count {
        producer
            .send(
                FutureRecord::to(&topic)
                    .key(&format!("k{i}"))
                    .payload("record")
                    .headers(intake_adapters::kafka::owned_headers(&[(
                        "ce_id",
                        i.to_string(),
                    )])),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
}

/// Low and high watermark of partition 0, as the broker reports them.
fn watermarks(config: &KafkaConfig, spec: &TopicSpec) -> Result<(i64, i64), String> {
    let client: BaseConsumer = config.consumer("watermarks").create().expect("client");
    client
        .fetch_watermarks(&config.topics().name(spec), 0, Duration::from_secs(10))
        .map_err(|e| e.to_string())
}

fn topic_names(config: &KafkaConfig) -> Result<Vec<String>, String> {
    let client: BaseConsumer = config.admin().create().expect("client");
    let metadata = client
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    Ok(metadata
        .topics()
        .iter()
        .map(|t| t.name().to_owned())
        .collect())
}

#[tokio::test]
async fn deleting_a_topic_deletes_that_topic_only() {
    let stack = Stack::new();
    let (_broker, config) = own_broker(&stack, None).await;
    ensure_topics(&config, &[KEPT, DELETED])
        .await
        .expect("topics");
    produce(&config, &KEPT, 20).await;
    produce(&config, &DELETED, 20).await;

    let admin: AdminClient<DefaultClientContext> = config.admin().create().expect("admin");
    let results = admin
        .delete_topics(
            &[&config.topics().name(&DELETED)],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("delete topics");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let names = tokio::task::spawn_blocking({
        let config = config.clone();
        move || topic_names(&config)
    })
    .await
    .expect("task")
    .expect("metadata");
    assert!(names.contains(&config.topics().name(&KEPT)), "{names:?}");
    assert!(
        !names.contains(&config.topics().name(&DELETED)),
        "{names:?}"
    );
    let kept = tokio::task::spawn_blocking({
        let config = config.clone();
        move || watermarks(&config, &KEPT)
    })
    .await
    .expect("task")
    .expect("watermarks of the kept topic");
    assert_eq!(kept, (0, 20), "the other topic keeps every record");
    // And it still takes new ones.
    produce(&config, &KEPT, 1).await;
}

/// A client reading partition 0 of `topic` from its first record.
fn reader_from_start<C>(config: &KafkaConfig, group: &str, topic: &str) -> C
where
    C: FromClientConfig + Consumer,
{
    let reader: C = config.consumer(group).create().expect("reader");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    reader.assign(&assignment).expect("assign");
    reader
}

/// The offset of the first record of `topic`, once it is `expected` (or
/// whatever it is after a minute).
fn first_offset(config: &KafkaConfig, topic: &str, expected: i64) -> Option<i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reader: BaseConsumer = reader_from_start(config, "retention", topic);
        let first = (0..50)
            .find_map(|_| reader.poll(Duration::from_millis(200)))
            .map(|m| rdkafka::Message::offset(&m.expect("a record")));
        if first == Some(expected) || Instant::now() > deadline {
            return first;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `count` records stamped `stamp` (ms since the epoch), then one stamped now.
async fn old_then_new(config: &KafkaConfig, topic: &str, count: usize, stamp: i64) {
    let producer: FutureProducer = config.producer().create().expect("producer");
    let old = (0..count).map(|_| {
        producer.send(
            FutureRecord::to(topic)
                .key("k")
                .payload("record")
                .timestamp(stamp),
            Duration::from_secs(30),
        )
    });
    for delivery in futures::future::join_all(old).await {
        delivery.expect("delivered");
    }
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("record"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
}

#[tokio::test]
async fn records_past_their_retention_are_deleted() {
    let stack = Stack::new();
    let (_broker, config) = own_broker(&stack, Some(Duration::from_secs(1))).await;
    let ten_minutes = TopicSpec {
        cleanup: Cleanup::Delete(Duration::from_secs(600)),
        ..KEPT
    };
    ensure_topics(&config, &[ten_minutes]).await.expect("topic");
    // A topic that keeps records for ever, as Kafka reads retention.ms=-1.
    let forever = config.topics().name(&DELETED);
    let admin: AdminClient<DefaultClientContext> = config.admin().create().expect("admin");
    let created = admin
        .create_topics(
            &[NewTopic::new(&forever, 1, TopicReplication::Fixed(1))
                .set("cleanup.policy", "delete")
                .set("retention.ms", "-1")],
            &AdminOptions::new(),
        )
        .await
        .expect("create");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    // Written first, so every run that deletes the backlog below sees them.
    let an_hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    old_then_new(&config, &forever, 20, an_hour_ago).await;
    // More records than the broker deletes in one batch (5,000), stamped to
    // expire all at once a few seconds after they are written, so one run
    // finds a backlog of several batches.
    let topic = config.topics().name(&ten_minutes);
    let soon = chrono::Utc::now().timestamp_millis() - 600_000 + 8_000;
    old_then_new(&config, &topic, 12_000, soon).await;

    let (first, kept) = tokio::task::spawn_blocking(move || {
        let first = first_offset(&config, &topic, 12_000);
        (first, first_offset(&config, &forever, 0))
    })
    .await
    .expect("task");
    assert_eq!(
        first,
        Some(12_000),
        "the 12,000 expired records are gone; the new one is first"
    );
    assert_eq!(kept, Some(0), "retention.ms=-1 keeps every record");
}

#[tokio::test]
async fn compaction_keeps_the_newest_record_per_key() {
    let stack = Stack::new();
    let (_broker, config) = own_broker(&stack, Some(Duration::from_secs(1))).await;
    let registry = TopicSpec {
        name: "registry.v1",
        partitions: 1,
        cleanup: Cleanup::Compact,
    };
    ensure_topics(&config, &[registry]).await.expect("topic");
    let topic = config.topics().name(&registry);
    let producer: FutureProducer = config.producer().create().expect("producer");
    // Offsets 0..=4 hold a, a, b, a, b: the newest of each are 3 and 4.
    for (i, key) in ["a", "a", "b", "a", "b"].into_iter().enumerate() {
        producer
            .send(
                FutureRecord::to(&topic).key(key).payload(&format!("v{i}")),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    let kept = tokio::task::spawn_blocking(move || {
        let first = first_offset(&config, &topic, 3);
        let reader: BaseConsumer = reader_from_start(&config, "compaction", &topic);
        let mut kept = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while kept.len() < 2 && Instant::now() < deadline {
            if let Some(message) = reader.poll(Duration::from_millis(200)) {
                let message = message.expect("a record");
                let key =
                    String::from_utf8_lossy(rdkafka::Message::key(&message).unwrap_or_default());
                kept.push((rdkafka::Message::offset(&message), key.into_owned()));
            }
        }
        (first, kept)
    })
    .await
    .expect("task");
    assert_eq!(
        kept,
        (Some(3), vec![(3, "a".to_owned()), (4, "b".to_owned())]),
        "only the newest record of each key is left"
    );
}

#[tokio::test]
async fn configs_that_differ_from_the_catalogue_are_reported() {
    let stack = Stack::new();
    let (_broker, config) = own_broker(&stack, None).await;
    ensure_topics(&config, &[KEPT]).await.expect("topic");
    let as_created = config_drift(&config, &[KEPT]).await.expect("describe");
    assert_eq!(
        as_created,
        [Ok(vec![])],
        "just created: as the catalogue says"
    );

    // A newer catalogue keeps the same topic for a day.
    let a_day = TopicSpec {
        cleanup: Cleanup::Delete(Duration::from_secs(86_400)),
        ..KEPT
    };
    let drift = config_drift(&config, &[a_day]).await.expect("describe");
    let lines: Vec<String> = drift[0]
        .as_ref()
        .expect("described")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(lines, ["retention.ms=3600000 (catalogue: 86400000)"]);
}

/// A consumer's fetch waits up to `fetch.wait.max.ms` for records; one
/// that arrives meanwhile must end the wait. The release re-read the store
/// at half the remaining wait and then slept half of what was left even
/// with the record in hand, so with a 30 s wait this record came back
/// after some 20 s (21 s measured). Nothing here needs to be fast: the
/// bound is half of that.
#[tokio::test]
async fn a_waiting_fetch_answers_when_a_record_arrives() {
    let stack = Stack::new();
    let (_broker, mut config) = own_broker(&stack, None).await;
    config.fetch_wait_max_ms = 30_000;
    let spec = TopicSpec {
        name: "waiting.v1",
        ..KEPT
    };
    ensure_topics(&config, &[spec]).await.expect("topic");
    let reader: StreamConsumer =
        reader_from_start(&config, "waiting", &config.topics().name(&spec));
    let waiting = tokio::spawn(async move {
        let record = reader.recv().await.map(|m| m.detach());
        (record, Instant::now())
    });
    // Time for the reader's first fetch to find the partition empty and
    // start waiting; if it starts later, it finds the record at once.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let sent = Instant::now();
    produce(&config, &spec, 1).await;
    let (record, received) = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("the record within the fetch's wait")
        .expect("task");
    record.expect("a record");
    let took = received.duration_since(sent);
    assert!(
        took < Duration::from_secs(10),
        "the record came back {took:?} after it was sent"
    );
}
