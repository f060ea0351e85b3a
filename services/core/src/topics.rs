//! The Kafka topic catalogue: every topic intake reads or writes, with its
//! partition count and retention, in one place. Deployments add a prefix
//! (an environment name, or a per-test namespace) but never rename topics.

use std::time::Duration;

/// How Kafka may discard records of a topic. Every topic is bounded: the
/// broker's store (and a local broker's disk) must not grow with time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Records expire after this long. PostgreSQL and S3 hold what must
    /// last; a topic only carries events to consumers, which lag by
    /// seconds (an alert fires long before a day).
    Delete(Duration),
    /// Only the newest record per key is kept: the topic is a table.
    Compact,
}

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Long enough for a consumer down over a long weekend to catch up.
const TRANSPORT: Cleanup = Cleanup::Delete(Duration::from_secs(7 * DAY.as_secs()));

impl Cleanup {
    /// The value of the `cleanup.policy` topic config.
    pub fn policy(self) -> &'static str {
        match self {
            Cleanup::Delete(_) => "delete",
            Cleanup::Compact => "compact",
        }
    }

    /// The topic configs that say so, as the broker takes them.
    pub fn configs(self) -> Vec<(&'static str, String)> {
        match self {
            Cleanup::Delete(after) => vec![
                ("cleanup.policy", self.policy().into()),
                ("retention.ms", after.as_millis().to_string()),
            ],
            Cleanup::Compact => vec![("cleanup.policy", self.policy().into())],
        }
    }

    /// The configs an existing topic has that differ from these, given a
    /// lookup of what the broker reports. A topic created by an older
    /// catalogue keeps its configs (creation sets them, nothing alters
    /// them later): this is how an operator finds out.
    /// A config the broker has no value for counts as Kafka's default.
    pub fn drift<'a>(self, actual: impl Fn(&str) -> Option<&'a str>) -> Vec<ConfigDrift> {
        self.configs()
            .into_iter()
            .filter_map(|(key, expected)| {
                let found = actual(key);
                let effective = found.or_else(|| kafka_default(key));
                (effective != Some(expected.as_str())).then(|| ConfigDrift {
                    key,
                    expected,
                    actual: found.map(str::to_owned),
                })
            })
            .collect()
    }
}

/// What Kafka applies to a topic without the config.
fn kafka_default(key: &str) -> Option<&'static str> {
    match key {
        "cleanup.policy" => Some("delete"),
        "retention.ms" => Some("604800000"),
        _ => None,
    }
}

/// A topic config that is not what the catalogue says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDrift {
    pub key: &'static str,
    pub expected: String,
    /// `None`: the broker has no value (its own default applies).
    pub actual: Option<String>,
}

impl std::fmt::Display for ConfigDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.actual {
            Some(actual) => write!(f, "{}={actual} (catalogue: {})", self.key, self.expected),
            None => write!(
                f,
                "{} unset, the broker's default (catalogue: {})",
                self.key, self.expected
            ),
        }
    }
}

/// One topic as intake expects to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSpec {
    /// Name without any deployment prefix.
    pub name: &'static str,
    /// Partitions are the unit of parallelism; per-key order holds within one.
    pub partitions: i32,
    pub cleanup: Cleanup,
}

/// Supplements from Securemail and plain e-mail, keyed by sender address.
pub const SECUREMAIL: TopicSpec = TopicSpec {
    name: "supplements.securemail.v1",
    partitions: 6,
    cleanup: TRANSPORT,
};

/// Supplements from Enter Finland, keyed by application id.
pub const ENTER_FINLAND: TopicSpec = TopicSpec {
    name: "supplements.enterfinland.v1",
    partitions: 6,
    cleanup: TRANSPORT,
};

/// The applications registry published by case management, keyed by
/// application id; a null value removes the application.
pub const APPLICATIONS: TopicSpec = TopicSpec {
    name: "applications.v1",
    partitions: 3,
    cleanup: Cleanup::Compact,
};

/// Supplements routed to a caseworker queue, keyed by application id.
pub const ROUTED: TopicSpec = TopicSpec {
    name: "supplements.routed.v1",
    partitions: 6,
    cleanup: TRANSPORT,
};

/// Supplements that need a person to find their application.
pub const TRIAGE: TopicSpec = TopicSpec {
    name: "supplements.triage.v1",
    partitions: 3,
    cleanup: TRANSPORT,
};

/// Infected, dangerous, foreign-encrypted or undecryptable content.
pub const QUARANTINE: TopicSpec = TopicSpec {
    name: "supplements.quarantine.v1",
    partitions: 3,
    cleanup: TRANSPORT,
};

/// One receipt request per supplement, keyed by supplement id.
pub const RECEIPTS: TopicSpec = TopicSpec {
    name: "receipts.v1",
    partitions: 3,
    cleanup: TRANSPORT,
};

/// Events that failed permanently, kept for inspection and replay.
pub const DEAD_LETTER: TopicSpec = TopicSpec {
    name: "supplements.deadletter.v1",
    partitions: 1,
    // Kept for an operator to inspect and replay after a holiday.
    cleanup: Cleanup::Delete(Duration::from_secs(28 * DAY.as_secs())),
};

/// Every topic, in the order an operator would read about them.
pub const ALL: [TopicSpec; 8] = [
    SECUREMAIL,
    ENTER_FINLAND,
    APPLICATIONS,
    ROUTED,
    TRIAGE,
    QUARANTINE,
    RECEIPTS,
    DEAD_LETTER,
];

/// Topic names as one deployment sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicNames {
    prefix: String,
}

impl TopicNames {
    /// `prefix` is prepended verbatim; use something like `"staging."` or `""`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn name(&self, spec: &TopicSpec) -> String {
        format!("{}{}", self.prefix, spec.name)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_versioned() {
        let names: HashSet<_> = ALL.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), ALL.len());
        assert!(ALL.iter().all(|t| t.name.ends_with(".v1")));
        assert!(ALL.iter().all(|t| t.partitions >= 1));
    }

    #[test]
    fn only_the_registry_is_compacted() {
        let compacted: Vec<_> = ALL
            .iter()
            .filter(|t| t.cleanup == Cleanup::Compact)
            .collect();
        assert_eq!(compacted, [&APPLICATIONS]);
    }

    #[test]
    fn every_topic_is_bounded_by_time_or_by_key() {
        for topic in ALL {
            let configs = topic.cleanup.configs();
            match topic.cleanup {
                Cleanup::Delete(after) => {
                    assert!(after >= DAY && after <= 31 * DAY, "{}", topic.name);
                    assert!(configs.contains(&("retention.ms", after.as_millis().to_string())));
                }
                Cleanup::Compact => assert_eq!(configs, [("cleanup.policy", "compact".into())]),
            }
        }
        assert_eq!(
            TRANSPORT.configs(),
            [
                ("cleanup.policy", "delete".to_owned()),
                ("retention.ms", "604800000".to_owned())
            ]
        );
    }

    #[test]
    fn drift_names_each_config_that_differs_or_is_missing() {
        let dead_letters = Cleanup::Delete(28 * DAY);
        // What an older catalogue created: a policy and no retention.
        let older = |key: &str| (key == "cleanup.policy").then_some("delete");
        assert_eq!(
            dead_letters.drift(older),
            [ConfigDrift {
                key: "retention.ms",
                expected: "2419200000".into(),
                actual: None
            }]
        );
        let shorter = |key: &str| match key {
            "cleanup.policy" => Some("delete"),
            "retention.ms" => Some("604800000"),
            _ => None,
        };
        let drift = dead_letters.drift(shorter);
        assert_eq!(drift.len(), 1);
        assert_eq!(
            drift[0].to_string(),
            "retention.ms=604800000 (catalogue: 2419200000)"
        );
        assert!(TRANSPORT.drift(shorter).is_empty(), "as the catalogue says");
        assert!(
            TRANSPORT.drift(older).is_empty(),
            "unset is Kafka's default of 7 days, which is the catalogue's"
        );
        assert!(
            TRANSPORT.drift(|_| None).is_empty(),
            "nothing set: Kafka's defaults are delete and 7 days"
        );
        let compacted_as_delete = |key: &str| (key == "cleanup.policy").then_some("delete");
        assert_eq!(
            Cleanup::Compact.drift(compacted_as_delete)[0].to_string(),
            "cleanup.policy=delete (catalogue: compact)"
        );
    }

    #[test]
    fn prefix_is_applied_verbatim() {
        assert_eq!(TopicNames::new("t1.").name(&RECEIPTS), "t1.receipts.v1");
        assert_eq!(TopicNames::default().name(&RECEIPTS), "receipts.v1");
    }
}
