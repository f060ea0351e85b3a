//! Keyed events through the real broker: CloudEvents headers survive, one
//! key stays on one partition in order, and offsets committed by one
//! consumer are where the next consumer of the group resumes.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use intake_adapters::kafka::{EventProducer, KafkaConfig, ensure_topics, record_headers};
use intake_core::events::{ApplicationRecord, ApplicationStatus, Event, Language};
use intake_core::topics::{APPLICATIONS, TopicSpec};
use intake_core::{ApplicationId, CustomerNumber};
use intake_tests::Stack;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};

const KEYS: u32 = 3;
const PER_KEY: u64 = 10;

fn record(serial: u32, version: u64) -> ApplicationRecord {
    ApplicationRecord {
        application_id: ApplicationId::from_parts(2026, serial).expect("in range"),
        customer_number: CustomerNumber::from_serial(serial).expect("in range"),
        status: ApplicationStatus::Pending,
        unit: "unit-a".into(),
        confidential: false,
        assigned_caseworker: None,
        language: Language::Fi,
        contact_addresses: vec![],
        open_requests: vec![],
        version,
        updated_at: chrono::Utc::now(),
    }
}

/// (partition, offset, key, version) of one consumed record.
type Seen = (i32, i64, String, u64);

/// Reads `count` records, storing each offset after "processing" it, then
/// commits synchronously, as a worker does after its database commit.
async fn consume(config: &KafkaConfig, group: &str, topic: &str, count: usize) -> Vec<Seen> {
    let consumer: StreamConsumer = config.consumer(group).create().expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut seen = Vec::new();
    while seen.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a record within 30 s")
            .expect("receive");
        let event = Event::<ApplicationRecord>::decode(
            record_headers(&message),
            message.payload().unwrap_or_default(),
        )
        .expect("a CloudEvent of the registry type");
        let key = String::from_utf8(message.key().expect("keyed").to_vec()).expect("utf-8 key");
        assert_eq!(
            key,
            event.data.application_id.as_str(),
            "key is the application id"
        );
        seen.push((
            message.partition(),
            message.offset(),
            key,
            event.data.version,
        ));
        consumer
            .store_offset_from_message(&message)
            .expect("store offset");
    }
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");
    seen
}

#[tokio::test]
async fn committed_offsets_survive_a_consumer_restart() {
    let stack = Stack::new();
    let config = stack.kafka();
    let spec = TopicSpec {
        partitions: 3,
        ..APPLICATIONS
    };
    let states = ensure_topics(&config, &[spec]).await.expect("create topic");
    assert_eq!(states[0].partitions, 3);
    let topic = config.topics().name(&spec);

    let producer = EventProducer::new(&config).expect("producer");
    for version in 1..=PER_KEY {
        for serial in 0..KEYS {
            let event = Event::new("/intake/tests", chrono::Utc::now(), record(serial, version));
            producer.publish(&spec, &event).await.expect("publish");
        }
    }

    let group = intake_tests::unique("group");
    let total = (u64::from(KEYS) * PER_KEY) as usize;
    let first = consume(&config, &group, &topic, 12).await;
    // A new consumer in the same group: it must start exactly where the
    // first one committed, neither re-reading nor skipping.
    let second = consume(&config, &group, &topic, total - first.len()).await;

    let positions = |seen: &[Seen]| {
        seen.iter()
            .map(|(p, o, ..)| (*p, *o))
            .collect::<HashSet<_>>()
    };
    assert!(
        positions(&first).is_disjoint(&positions(&second)),
        "records re-delivered after commit"
    );
    let mut all: Vec<Seen> = first.into_iter().chain(second).collect();
    assert_eq!(positions(&all).len(), total);

    // One key, one partition, versions in the order they were produced.
    all.sort_by_key(|(p, o, ..)| (*p, *o));
    let mut by_key: BTreeMap<String, (HashSet<i32>, Vec<u64>)> = BTreeMap::new();
    for (partition, _, key, version) in all {
        let entry = by_key.entry(key).or_default();
        entry.0.insert(partition);
        entry.1.push(version);
    }
    assert_eq!(by_key.len(), KEYS as usize);
    for (key, (partitions, versions)) in by_key {
        assert_eq!(
            partitions.len(),
            1,
            "{key} spread over partitions {partitions:?}"
        );
        assert_eq!(
            versions,
            (1..=PER_KEY).collect::<Vec<_>>(),
            "{key} out of order"
        );
    }
}

#[tokio::test]
async fn topic_creation_is_idempotent() {
    let config = Stack::new().kafka();
    let specs = [TopicSpec {
        partitions: 2,
        ..APPLICATIONS
    }];
    let first = ensure_topics(&config, &specs).await.expect("create");
    let again = ensure_topics(&config, &specs).await.expect("create again");
    assert!(first[0].created);
    assert!(!again[0].created);
    assert_eq!(again[0].partitions, 2);
}
