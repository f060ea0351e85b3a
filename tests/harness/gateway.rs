//! A gateway started in-process for one test, on a random port, with its
//! own bucket, topic prefix, database and age key pair, and limits small
//! enough that "too large" costs megabytes, not gigabytes.

use std::io::Read;
use std::time::Duration;

use age::secrecy::ExposeSecret;
use intake_adapters::kafka::{EventProducer, KafkaConfig, ensure_topics, record_headers};
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::{KeyRing, Recipients};
use intake_core::events::{Event, EventData, ObjectRef};
use intake_core::topics::{self, TopicSpec};
use intake_gateway::{App, GatewayConfig, Inner};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::{Stack, TestDb, unique};

pub const SECUREMAIL_TOKEN: &str = "test-securemail-token";
pub const ENTERFINLAND_TOKEN: &str = "test-enterfinland-token";
pub const MIB: u64 = 1024 * 1024;

pub struct Limits {
    pub max_attachment_bytes: u64,
    pub max_message_bytes: u64,
    pub max_attachments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attachment_bytes: 2 * MIB,
            max_message_bytes: 3 * MIB,
            max_attachments: 5,
        }
    }
}

pub struct TestGateway {
    pub url: String,
    pub store: ObjectStore,
    pub bucket: String,
    pub kafka: KafkaConfig,
    pub db: TestDb,
    /// The age key pair payloads are sealed to, for a worker to open them.
    pub identity: SecretString,
    pub recipient: String,
    keys: KeyRing,
    registry: intake_adapters::ops::Registry,
    _server: tokio::task::JoinHandle<()>,
}

impl TestGateway {
    pub async fn start(stack: &Stack, limits: Limits) -> Self {
        Self::start_with_kafka(stack, limits, stack.kafka()).await
    }

    /// On another broker than the stack's (one a test can freeze).
    pub async fn start_with_kafka(stack: &Stack, limits: Limits, kafka: KafkaConfig) -> Self {
        ensure_topics(&kafka, &[topics::SECUREMAIL, topics::ENTER_FINLAND])
            .await
            .expect("create inbound topics");
        let (store, bucket) = stack.bucket().await;
        let db = stack.database().await;
        let identity = age::x25519::Identity::generate();
        let config = GatewayConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            securemail_token: SecretString::from(SECUREMAIL_TOKEN.to_owned()),
            enterfinland_token: SecretString::from(ENTERFINLAND_TOKEN.to_owned()),
            recipients: identity.to_public().to_string(),
            inbound_bucket: bucket.clone(),
            max_attachment_bytes: limits.max_attachment_bytes,
            max_message_bytes: limits.max_message_bytes,
            max_attachments: limits.max_attachments,
            claim_stale_after: Duration::from_secs(60),
        };
        let mut registry = intake_adapters::ops::Registry::default();
        let app = App::new(Inner {
            recipients: Recipients::parse(&config.recipient_keys()).expect("recipients"),
            config,
            store: store.clone(),
            producer: EventProducer::new(&kafka).expect("producer"),
            pool: db.pool.clone(),
            metrics: intake_gateway::metrics::GatewayMetrics::new(&mut registry),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let _ = intake_gateway::serve(listener, app, std::future::pending()).await;
        });
        let keys = KeyRing::parse(&[SecretString::from(
            identity.to_string().expose_secret().to_owned(),
        )])
        .expect("key ring");
        Self {
            url,
            store,
            bucket,
            kafka,
            db,
            identity: SecretString::from(identity.to_string().expose_secret().to_owned()),
            recipient: identity.to_public().to_string(),
            keys,
            registry,
            _server: server,
        }
    }

    /// The gateway binary as its own process on this gateway's topics,
    /// bucket, database and keys, with `extra` settings; returns it and
    /// its URL. For what only a process has: its telemetry set-up.
    pub async fn start_process(
        &self,
        stack: &Stack,
        extra: Vec<(String, String)>,
    ) -> (crate::process::ServiceProcess, String) {
        let listen = format!("127.0.0.1:{}", crate::free_port());
        let mut env = stack.s3_and_kafka_env();
        env.extend([
            ("INTAKE_GATEWAY__LISTEN".into(), listen.clone()),
            (
                "INTAKE_GATEWAY__SECUREMAIL_TOKEN".into(),
                SECUREMAIL_TOKEN.into(),
            ),
            (
                "INTAKE_GATEWAY__ENTERFINLAND_TOKEN".into(),
                ENTERFINLAND_TOKEN.into(),
            ),
            ("INTAKE_GATEWAY__RECIPIENTS".into(), self.recipient.clone()),
            ("INTAKE_GATEWAY__INBOUND_BUCKET".into(), self.bucket.clone()),
            (
                "INTAKE_KAFKA__TOPIC_PREFIX".into(),
                self.kafka.topic_prefix.clone(),
            ),
            ("INTAKE_POSTGRES__URL".into(), stack.database_url(&self.db)),
            ("INTAKE_TELEMETRY__LOG_FORMAT".into(), "json".into()),
        ]);
        env.extend(extra);
        let name = crate::unique("gateway");
        let process =
            crate::process::ServiceProcess::start(stack, "intake-gateway", &name, env, "debug")
                .await;
        (process, format!("http://{listen}"))
    }

    /// The gateway's metrics, as `/metrics` would serve them.
    pub fn metrics(&self) -> String {
        intake_adapters::ops::encode(&self.registry)
    }

    /// Downloads and opens a sealed object; checks its size and SHA-256
    /// against the claim check, and returns the plaintext.
    pub async fn open(&self, object: &ObjectRef) -> Vec<u8> {
        assert_eq!(object.bucket, self.bucket);
        let mut sealed = Vec::new();
        self.store
            .get_stream(&object.bucket, &object.key)
            .await
            .expect("stored object")
            .read_to_end(&mut sealed)
            .await
            .expect("read object");
        let mut plaintext = Vec::new();
        self.keys
            .open(&sealed[..])
            .expect("sealed to the gateway's recipient")
            .reader
            .read_to_end(&mut plaintext)
            .expect("authentic ciphertext");
        assert_eq!(plaintext.len() as u64, object.size, "size in the event");
        assert_eq!(
            hex::encode(Sha256::digest(&plaintext)),
            object.sha256,
            "SHA-256 in the event"
        );
        plaintext
    }

    /// Every object key in the gateway's bucket.
    pub async fn stored_keys(&self) -> Vec<String> {
        self.store
            .list(&self.bucket, "")
            .await
            .expect("list bucket")
    }

    /// How many records a topic holds, from its partitions' watermarks.
    pub async fn record_count(&self, spec: &TopicSpec) -> i64 {
        let name = self.kafka.topics().name(spec);
        let consumer: BaseConsumer = self
            .kafka
            .consumer(&unique("count"))
            .create()
            .expect("consumer");
        let partitions = spec.partitions;
        tokio::task::spawn_blocking(move || {
            (0..partitions)
                .map(|p| {
                    let (low, high) = consumer
                        .fetch_watermarks(&name, p, Duration::from_secs(10))
                        .expect("watermarks");
                    high - low
                })
                .sum()
        })
        .await
        .expect("watermark task")
    }

    /// A consumer of its own group reading a topic of this test from the start.
    pub fn reader(&self, spec: &TopicSpec) -> StreamConsumer {
        let consumer: StreamConsumer = self
            .kafka
            .consumer(&unique("read"))
            .create()
            .expect("consumer");
        consumer
            .subscribe(&[&self.kafka.topics().name(spec)])
            .expect("subscribe");
        consumer
    }

    /// Reads `count` events of type `T` from a topic, with their keys.
    pub async fn events<T: EventData>(
        &self,
        spec: &TopicSpec,
        count: usize,
    ) -> Vec<(String, Event<T>)> {
        let consumer = self.reader(spec);
        let mut events = Vec::new();
        while events.len() < count {
            let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
                .await
                .expect("an event within 30 s")
                .expect("receive");
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            let event = Event::<T>::decode(
                record_headers(&message),
                message.payload().unwrap_or_default(),
            )
            .expect("a CloudEvent of the expected type");
            events.push((key, event));
        }
        events
    }

    /// Waits until the bucket is empty (cleanup after a failed request runs
    /// after the response, or after the client has gone).
    pub async fn wait_until_empty(&self) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let keys = self.stored_keys().await;
            if keys.is_empty() || tokio::time::Instant::now() >= deadline {
                return keys;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
