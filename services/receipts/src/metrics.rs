//! What the receipt service counts: requests taken in by decision, send
//! attempts by result, failures by reason, and how long sends take.

use intake_adapters::kafka::watch::CutOffs;
use intake_adapters::ops::{Registry, latency_histogram, wait_histogram};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    channel: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    channel: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

type Histograms = Family<ChannelLabel, Histogram, fn() -> Histogram>;

#[derive(Clone)]
pub struct ReceiptMetrics {
    requests: Family<DecisionLabel, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    send_seconds: Histograms,
    to_sent_seconds: Histograms,
    pub interrupted: Counter,
    pub dead_letters: Counter,
    /// Times the consumer was cut off from its group or the broker.
    pub cut_offs: CutOffs,
}

impl ReceiptMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            attempts: Family::default(),
            failures: Family::default(),
            send_seconds: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            to_sent_seconds: Family::new_with_constructor(wait_histogram as fn() -> Histogram),
            interrupted: Counter::default(),
            dead_letters: Counter::default(),
            cut_offs: CutOffs::register(registry),
        };
        let r = registry;
        r.register(
            "intake_receipts_requests",
            "Receipt requests taken in, by decision (admitted, held, suppressed, already_known)",
            metrics.requests.clone(),
        );
        r.register(
            "intake_receipts_attempts",
            "Send attempts, by channel and result (sent, retrying, failed)",
            metrics.attempts.clone(),
        );
        r.register(
            "intake_receipts_failures",
            "Failed attempts, by channel and reason (transient, rejected, retries_exhausted)",
            metrics.failures.clone(),
        );
        r.register(
            "intake_receipts_send_duration_seconds",
            "One send attempt to the mail server or the e-service",
            metrics.send_seconds.clone(),
        );
        r.register(
            "intake_receipts_request_to_sent_seconds",
            "From the receipt request stored to the receipt sent",
            metrics.to_sent_seconds.clone(),
        );
        r.register(
            "intake_receipts_interrupted",
            "Sends found interrupted by a crash and sent again as the same message",
            metrics.interrupted.clone(),
        );
        r.register(
            "intake_receipts_dead_letters",
            "Receipt requests parked on the dead-letter topic",
            metrics.dead_letters.clone(),
        );
        metrics
    }

    pub fn request(&self, decision: &'static str) {
        self.requests
            .get_or_create(&DecisionLabel { decision })
            .inc();
    }

    pub fn attempt(&self, channel: &'static str, result: &'static str, send_seconds: f64) {
        self.attempts
            .get_or_create(&AttemptLabels { channel, result })
            .inc();
        self.send_seconds
            .get_or_create(&ChannelLabel { channel })
            .observe(send_seconds);
    }

    pub fn failure(&self, channel: &'static str, reason: &'static str) {
        self.failures
            .get_or_create(&FailureLabels { channel, reason })
            .inc();
    }

    pub fn sent_after(&self, channel: &'static str, seconds: f64) {
        self.to_sent_seconds
            .get_or_create(&ChannelLabel { channel })
            .observe(seconds.max(0.0));
    }

    /// Sent, retrying and failed attempts so far, for the status line.
    pub fn totals(&self) -> (u64, u64, u64) {
        let sum = |result: &'static str| {
            ["securemail", "enter_finland"]
                .into_iter()
                .map(|channel| {
                    self.attempts
                        .get(&AttemptLabels { channel, result })
                        .map_or(0, |c| c.get())
                })
                .sum()
        };
        (sum("sent"), sum("retrying"), sum("failed"))
    }
}
