//! Connection settings and the client profiles intake uses.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use intake_core::topics::TopicNames;
use rdkafka::ClientConfig;
use serde::Deserialize;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma-separated `host:port`.
    pub brokers: String,
    /// Prepended to every topic name, e.g. `staging.`; empty by default.
    #[serde(default)]
    pub topic_prefix: String,
    /// Replication factor of topics intake creates (3 in production).
    #[serde(default = "default_replication")]
    pub replication_factor: i32,
    /// How long a fetch that finds nothing may wait for records, in ms.
    /// A broker answers as soon as records arrive, so this sets how often
    /// an idle consumer asks again: lower costs the broker reads for
    /// nothing; higher delays, by up to this much, the first fetch of a
    /// partition assigned or resumed while an idle fetch is in flight.
    #[serde(default = "default_fetch_wait")]
    pub fetch_wait_max_ms: u32,
    /// How long a consumer may be out of its group, or without a broker,
    /// before it reports not ready and says so at ERROR.
    #[serde(default = "default_stall_after", with = "humantime_serde")]
    pub consumer_stall_after: Duration,
    /// Further librdkafka properties (`security.protocol`, `sasl.*`, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_stall_after() -> Duration {
    Duration::from_secs(60)
}

fn default_replication() -> i32 {
    1
}

fn default_fetch_wait() -> u32 {
    500
}

impl fmt::Debug for KafkaConfig {
    /// Property values may hold SASL passwords: only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("topic_prefix", &self.topic_prefix)
            .field("replication_factor", &self.replication_factor)
            .field("fetch_wait_max_ms", &self.fetch_wait_max_ms)
            .field("consumer_stall_after", &self.consumer_stall_after)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KafkaConfig {
    pub fn local(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: String::new(),
            replication_factor: default_replication(),
            fetch_wait_max_ms: default_fetch_wait(),
            consumer_stall_after: default_stall_after(),
            properties: BTreeMap::new(),
        }
    }

    pub fn topics(&self) -> TopicNames {
        TopicNames::new(self.topic_prefix.clone())
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// A producer that never duplicates or reorders on retry and waits for
    /// all in-sync replicas.
    pub fn producer(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000");
        config
    }

    /// A consumer whose offsets move only when the caller says the effects
    /// of a record are durable.
    pub fn consumer(&self, group_id: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", self.fetch_wait_max_ms.to_string());
        config
    }

    /// A group member that comes back quickly after a crash: a rebalance
    /// waits up to max.poll.interval.ms for members that may be gone, so it
    /// is kept short; with an instance id (static membership) a restarted
    /// process takes its partitions back at once instead of waiting for its
    /// old session to expire. Properties from configuration still win.
    pub fn member(&self, group_id: &str, instance_id: Option<&str>) -> ClientConfig {
        let mut config = self.consumer(group_id);
        for (key, value) in [
            ("max.poll.interval.ms", "30000"),
            ("session.timeout.ms", "10000"),
        ] {
            if !self.properties.contains_key(key) {
                config.set(key, value);
            }
        }
        if let Some(instance) = instance_id {
            config.set("group.instance.id", instance);
        }
        config
    }

    pub fn admin(&self) -> ClientConfig {
        self.base()
    }
}
