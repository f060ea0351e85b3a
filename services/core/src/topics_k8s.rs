//! The topic catalogue as Strimzi `KafkaTopic` resources, so a cluster's
//! topics are declared from the same catalogue `intake topics` creates
//! them from. `infra/k8s/kafka-topics.yaml` is this output, committed;
//! a test keeps the two equal.

use std::fmt::Write;

use crate::topics::{ALL, TopicSpec};

/// What the resources need to know of the cluster.
#[derive(Debug, Clone, Copy)]
pub struct StrimziCluster<'a> {
    /// The `Kafka` resource's name (`strimzi.io/cluster`).
    pub cluster: &'a str,
    /// The namespace its topic operator watches.
    pub namespace: &'a str,
    pub replicas: i32,
    /// Writes wait for this many in-sync replicas.
    pub min_insync_replicas: i32,
}

/// The production cluster of `infra/k8s`.
pub const PRODUCTION: StrimziCluster<'static> = StrimziCluster {
    cluster: "intake",
    namespace: "kafka",
    replicas: 3,
    min_insync_replicas: 2,
};

/// Every topic of the catalogue as YAML documents, `prefix` before each
/// topic's name.
pub fn kafka_topics(cluster: &StrimziCluster<'_>, prefix: &str) -> String {
    let mut out = String::from(
        "# Generated from services/core/src/topics.rs by `intake topics --k8s`: do\n\
         # not edit by hand (a test compares the two).\n",
    );
    for spec in &ALL {
        out.push_str("---\n");
        write_topic(&mut out, cluster, prefix, spec);
    }
    out
}

fn write_topic(out: &mut String, cluster: &StrimziCluster<'_>, prefix: &str, spec: &TopicSpec) {
    let topic = format!("{prefix}{}", spec.name);
    // Resource names are DNS labels: the topic's own name goes in topicName.
    let name = topic.replace(['.', '_'], "-").to_ascii_lowercase();
    let _ = writeln!(out, "apiVersion: kafka.strimzi.io/v1beta2");
    let _ = writeln!(out, "kind: KafkaTopic");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {name}");
    let _ = writeln!(out, "  namespace: {}", cluster.namespace);
    let _ = writeln!(out, "  labels:");
    let _ = writeln!(out, "    strimzi.io/cluster: {}", cluster.cluster);
    let _ = writeln!(out, "    app.kubernetes.io/part-of: intake");
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  topicName: {topic}");
    let _ = writeln!(out, "  partitions: {}", spec.partitions);
    let _ = writeln!(out, "  replicas: {}", cluster.replicas);
    let _ = writeln!(out, "  config:");
    let _ = writeln!(
        out,
        "    min.insync.replicas: {}",
        cluster.min_insync_replicas
    );
    for (key, value) in spec.cleanup.configs() {
        // Quoted: a YAML number would not be the string Kafka takes.
        let _ = writeln!(out, "    {key}: \"{value}\"");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_is_declared_with_its_partitions_and_cleanup() {
        let yaml = kafka_topics(&PRODUCTION, "");
        assert_eq!(yaml.matches("kind: KafkaTopic").count(), ALL.len());
        for spec in &ALL {
            let declared = format!(
                "  topicName: {}\n  partitions: {}\n",
                spec.name, spec.partitions
            );
            assert!(yaml.contains(&declared), "{declared}");
        }
        assert!(yaml.contains("name: supplements-deadletter-v1\n"));
        assert!(yaml.contains("    retention.ms: \"2419200000\"\n"));
        assert!(yaml.contains("    cleanup.policy: \"compact\"\n"));
    }

    #[test]
    fn the_committed_manifest_is_the_catalogue() {
        let committed = include_str!("../../../infra/k8s/kafka-topics.yaml");
        assert_eq!(
            committed,
            kafka_topics(&PRODUCTION, ""),
            "infra/k8s/kafka-topics.yaml differs from the catalogue: \
             run `intake topics --k8s > infra/k8s/kafka-topics.yaml`"
        );
    }
}
