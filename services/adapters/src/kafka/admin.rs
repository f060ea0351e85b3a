//! Creating intake's topics from the catalogue in `intake_core::topics`.
//! Safe to run at every start: existing topics are left as they are, and
//! the partition count and configs the broker reports can be compared with
//! the catalogue so a drift can be seen.

use std::time::Duration;

use intake_core::topics::{ConfigDrift, TopicSpec};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::KafkaConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicState {
    pub name: String,
    pub created: bool,
    /// What the catalogue asks for.
    pub expected_partitions: i32,
    /// What the broker has.
    pub partitions: i32,
}

pub async fn ensure_topics(
    config: &KafkaConfig,
    specs: &[TopicSpec],
) -> Result<Vec<TopicState>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.admin().create()?;
    let names: Vec<String> = specs.iter().map(|s| config.topics().name(s)).collect();
    let configs: Vec<_> = specs.iter().map(|s| s.cleanup.configs()).collect();
    let requests: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&names)
        .zip(&configs)
        .map(|((spec, name), configs)| {
            configs.iter().fold(
                NewTopic::new(
                    name,
                    spec.partitions,
                    TopicReplication::Fixed(config.replication_factor),
                ),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let mut created = Vec::with_capacity(specs.len());
    for result in admin.create_topics(&requests, &options).await? {
        match result {
            Ok(_) => created.push(true),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => created.push(false),
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    let actual = partition_counts(config, names.clone()).await?;
    Ok(specs
        .iter()
        .zip(names)
        .zip(created)
        .zip(actual)
        .map(|(((spec, name), created), partitions)| TopicState {
            name,
            created,
            expected_partitions: spec.partitions,
            partitions,
        })
        .collect())
}

/// Partition counts as the broker reports them (0 for a topic it lacks).
async fn partition_counts(
    config: &KafkaConfig,
    names: Vec<String>,
) -> Result<Vec<i32>, KafkaError> {
    let client: BaseConsumer = config.admin().create()?;
    // Metadata requests block; keep them off the async workers.
    tokio::task::spawn_blocking(move || {
        let metadata = client.fetch_metadata(None, Duration::from_secs(10))?;
        Ok(names
            .iter()
            .map(|name| {
                metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map_or(0, |t| t.partitions().len() as i32)
            })
            .collect())
    })
    .await
    // Only a panic in the task gets here.
    .map_err(|_| KafkaError::Canceled)?
}

/// For each of `specs` (an existing topic), the configs the broker has that
/// differ from the catalogue, or why the broker did not describe them.
pub async fn config_drift(
    config: &KafkaConfig,
    specs: &[TopicSpec],
) -> Result<Vec<Result<Vec<ConfigDrift>, RDKafkaErrorCode>>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.admin().create()?;
    let names: Vec<String> = specs.iter().map(|s| config.topics().name(s)).collect();
    let resources: Vec<ResourceSpecifier<'_>> =
        names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let described = admin.describe_configs(&resources, &options).await?;
    Ok(specs
        .iter()
        .zip(described)
        .map(|(spec, result)| {
            let resource = result?;
            let entries = resource.entry_map();
            Ok(spec
                .cleanup
                .drift(|key| entries.get(key).and_then(|e| e.value.as_deref())))
        })
        .collect())
}
