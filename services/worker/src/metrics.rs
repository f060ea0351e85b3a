//! What the worker counts and times, for Prometheus. Cheap to clone (every
//! metric is a shared handle) and cheap to update (atomics), so each stage
//! holds its own copy.

use std::time::Instant;

use intake_adapters::kafka::watch::CutOffs;
use intake_adapters::ops::{Registry, latency_histogram, wait_histogram};
use intake_core::decide::PartVerdict;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use tracing::Instrument;

/// The steps a record goes through, as the stage histogram names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// From the request to S3 to the payload's first bytes.
    Fetch,
    /// Reading the rest: decrypting, hashing, holding what is inspected;
    /// an e-mail is split into its parts as it streams, and timed up to
    /// each file it holds and to its end.
    Decrypt,
    /// File type, structure and text of one file.
    Inspect,
    /// The virus scan of one part, including any wait for clamd.
    Scan,
    /// Sealing and storing one extracted part.
    Store,
    /// Matching to an application against the registry.
    Match,
    /// Held for arrival order until nothing earlier is unfinished.
    WaitForTurn,
    /// The outcome's database transaction.
    Commit,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Decrypt => "decrypt",
            Stage::Inspect => "inspect",
            Stage::Scan => "scan",
            Stage::Store => "store",
            Stage::Match => "match",
            Stage::WaitForTurn => "wait_for_turn",
            Stage::Commit => "commit",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabel {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    channel: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone)]
pub struct WorkerMetrics {
    /// Off only to measure what counting and stage spans cost.
    enabled: bool,
    records: Family<TopicLabel, Counter>,
    stages: Histograms<StageLabel>,
    outcomes: Family<OutcomeLabel, Counter>,
    to_outcome: Histograms<OutcomeLabel>,
    files: Family<VerdictLabel, Counter>,
    dead_letters: Family<ReasonLabel, Counter>,
    redeliveries: Counter,
    pub in_flight: Gauge,
    pub held: Gauge,
    pub scans_waiting: Gauge,
    pub published: Counter,
    /// Times each consumer was cut off from its group or the broker.
    pub cut_offs: CutOffs,
}

impl WorkerMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            enabled: true,
            records: Family::default(),
            stages: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            outcomes: Family::default(),
            to_outcome: Family::new_with_constructor(wait_histogram as fn() -> Histogram),
            files: Family::default(),
            dead_letters: Family::default(),
            redeliveries: Counter::default(),
            in_flight: Gauge::default(),
            held: Gauge::default(),
            scans_waiting: Gauge::default(),
            published: Counter::default(),
            cut_offs: CutOffs::register(registry),
        };
        let r = registry;
        r.register(
            "intake_worker_records_consumed",
            "Records read from the inbound topics",
            metrics.records.clone(),
        );
        r.register(
            "intake_worker_stage_duration_seconds",
            "Time one record, file or supplement spent in each stage",
            metrics.stages.clone(),
        );
        r.register(
            "intake_worker_outcomes",
            "Supplements recorded, by channel and outcome",
            metrics.outcomes.clone(),
        );
        r.register(
            "intake_supplement_arrival_to_outcome_seconds",
            "From arrival at the gateway to the outcome recorded",
            metrics.to_outcome.clone(),
        );
        r.register(
            "intake_worker_files",
            "Files inspected and scanned, by verdict (accepted or the refusal reason)",
            metrics.files.clone(),
        );
        r.register(
            "intake_worker_dead_letters",
            "Records parked on the dead-letter topic, by reason",
            metrics.dead_letters.clone(),
        );
        r.register(
            "intake_worker_redeliveries",
            "Records skipped because their event was already processed",
            metrics.redeliveries.clone(),
        );
        r.register(
            "intake_worker_in_flight_records",
            "Records read and not yet finished",
            metrics.in_flight.clone(),
        );
        r.register(
            "intake_worker_held_supplements",
            "Matched supplements waiting for their turn in arrival order",
            metrics.held.clone(),
        );
        r.register(
            "intake_worker_scans_waiting",
            "Files waiting for the virus scanner to answer",
            metrics.scans_waiting.clone(),
        );
        r.register(
            "intake_outbox_published",
            "Outbox events published to Kafka by the relay",
            metrics.published.clone(),
        );
        metrics
    }

    /// Counts and times nothing, and opens no stage spans.
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }

    pub fn consumed(&self, topic: &str) {
        if !self.enabled {
            return;
        }
        self.records
            .get_or_create(&TopicLabel {
                topic: topic.to_owned(),
            })
            .inc();
    }

    pub fn observe(&self, stage: Stage, since: Instant) {
        if !self.enabled {
            return;
        }
        self.stages
            .get_or_create(&StageLabel {
                stage: stage.as_str(),
            })
            .observe(since.elapsed().as_secs_f64());
    }

    /// Runs `step` in a span named for `stage` and records its time under
    /// `stage`, whatever it returns.
    pub async fn timed<T>(&self, stage: Stage, step: impl Future<Output = T>) -> T {
        if !self.enabled {
            return step.await;
        }
        let start = Instant::now();
        let span = tracing::info_span!("stage", otel.name = stage.as_str());
        let value = step.instrument(span).await;
        self.observe(stage, start);
        value
    }

    /// Runs `step` for several records at once (one transaction for a
    /// batch): each record's trace gets a span named for `stage` under its
    /// own span, lasting the whole step, and each is timed.
    pub async fn timed_together<T>(
        &self,
        stage: Stage,
        parents: &[&tracing::Span],
        step: impl Future<Output = T>,
    ) -> T {
        if !self.enabled {
            return step.await;
        }
        let start = Instant::now();
        let spans: Vec<tracing::Span> = parents
            .iter()
            .map(|parent| {
                tracing::info_span!(parent: *parent, "stage", otel.name = stage.as_str(), batch = parents.len())
            })
            .collect();
        let value = step.await;
        for _ in &spans {
            self.observe(stage, start);
        }
        drop(spans);
        value
    }

    pub fn recorded(&self, channel: &'static str, outcome: &'static str, waited_seconds: f64) {
        if !self.enabled {
            return;
        }
        let label = OutcomeLabel { channel, outcome };
        self.outcomes.get_or_create(&label).inc();
        self.to_outcome
            .get_or_create(&label)
            .observe(waited_seconds.max(0.0));
    }

    pub fn file(&self, verdict: &PartVerdict) {
        if !self.enabled {
            return;
        }
        let verdict = match verdict {
            PartVerdict::Accept => "accepted",
            PartVerdict::Refuse { refusal, .. } => refusal.as_str(),
        };
        self.files.get_or_create(&VerdictLabel { verdict }).inc();
    }

    pub fn dead_lettered(&self, reason: &'static str) {
        if !self.enabled {
            return;
        }
        self.dead_letters
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    pub fn redelivered(&self) {
        if !self.enabled {
            return;
        }
        self.redeliveries.inc();
    }
}

#[cfg(test)]
mod tests {
    use intake_core::events::{QuarantineReason, RefusalReason};

    use super::*;

    #[test]
    fn labels_name_kinds_never_applications() {
        let mut registry = Registry::default();
        let metrics = WorkerMetrics::new(&mut registry);
        metrics.consumed("supplements.securemail.v1");
        metrics.observe(Stage::WaitForTurn, Instant::now());
        metrics.recorded("securemail", "routed", 1.5);
        metrics.file(&PartVerdict::Refuse {
            refusal: RefusalReason::Infected,
            quarantine: QuarantineReason::Undecryptable,
        });
        metrics.dead_lettered("undecodable");
        let text = intake_adapters::ops::encode(&registry);
        for line in [
            r#"intake_worker_records_consumed_total{topic="supplements.securemail.v1"} 1"#,
            r#"intake_worker_stage_duration_seconds_count{stage="wait_for_turn"} 1"#,
            r#"intake_worker_outcomes_total{channel="securemail",outcome="routed"} 1"#,
            r#"intake_supplement_arrival_to_outcome_seconds_bucket{le="2.5",channel="securemail",outcome="routed"} 1"#,
            r#"intake_worker_files_total{verdict="infected"} 1"#,
            r#"intake_worker_dead_letters_total{reason="undecodable"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        // Every label is one of these kinds, so none can carry an
        // application, a person or an address.
        let allowed = [
            "topic", "stage", "channel", "outcome", "verdict", "reason", "le",
        ];
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((_, labels)) = line.split_once('{') else {
                continue;
            };
            for pair in labels.split('}').next().unwrap_or_default().split(',') {
                let name = pair.split('=').next().unwrap_or_default();
                assert!(allowed.contains(&name), "label {name} in {line}");
            }
        }
    }
}
