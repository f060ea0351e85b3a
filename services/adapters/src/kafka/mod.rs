//! Kafka through rdkafka: client settings, topic creation, and publishing
//! intake's CloudEvents.

mod admin;
mod config;
mod headers;
mod producer;
pub mod watch;

pub use admin::{TopicState, config_drift, ensure_topics};
pub use config::KafkaConfig;
pub use headers::{owned_headers, record_headers};
pub use producer::{EventProducer, PublishError};
