//! The broker soak: steady traffic through the project's topics while the
//! services run, then topic deletion, consumer group churn and a broker
//! restart, with the broker's health sampled all along.

pub mod broker;
pub mod load;
pub mod probe;
pub mod report;

use std::time::Duration;

use serde::Serialize;

/// What the soak does, from `SOAK_*` variables (defaults: the issue's
/// floor of a million 2 KiB events).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub events: u64,
    pub rate_per_second: u64,
    pub event_bytes: usize,
    #[serde(with = "seconds")]
    pub probe_every: Duration,
    #[serde(with = "seconds")]
    pub settle: Duration,
    pub service_restarts: u32,
    /// How long the soak's topics keep records (the catalogue keeps days).
    #[serde(with = "seconds")]
    pub retention: Duration,
    /// The broker's store, as `STACK_KAFKA_STORAGE` names it.
    pub storage: String,
    /// `fixed` (the stack's broker) or `release` (`STACK_TANSU_FIXES=off`).
    pub broker: String,
}

impl Plan {
    pub fn from_env() -> Self {
        Self {
            events: number("SOAK_EVENTS", 1_000_000),
            rate_per_second: number("SOAK_RATE", 2_000),
            event_bytes: number("SOAK_EVENT_BYTES", 2048) as usize,
            probe_every: Duration::from_secs(number("SOAK_PROBE_EVERY_SECONDS", 5)),
            settle: Duration::from_secs(number("SOAK_SETTLE_SECONDS", 60)),
            service_restarts: number("SOAK_SERVICE_RESTARTS", 3) as u32,
            retention: Duration::from_secs(number("SOAK_RETENTION_SECONDS", 120)),
            storage: std::env::var("STACK_KAFKA_STORAGE").unwrap_or_else(|_| "sqlite".into()),
            broker: match std::env::var("STACK_TANSU_FIXES").as_deref() {
                Ok("off") => "release".into(),
                _ => "fixed".into(),
            },
        }
    }
}

fn number(key: &str, default: u64) -> u64 {
    match std::env::var(key) {
        Ok(value) => value
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{key}={value} is not a whole number")),
        Err(_) => default,
    }
}

/// The parts of a soak, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Events produced at the planned rate and consumed by a group.
    Load,
    /// The consumers catch up; nothing new is produced.
    Drain,
    /// Every soak topic deleted.
    Delete,
    /// Every service restarted, one after another, several times.
    Churn,
    /// The broker stopped and started again.
    Restart,
    /// Nothing but the probes and the services' own traffic.
    Idle,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Load,
        Phase::Drain,
        Phase::Delete,
        Phase::Churn,
        Phase::Restart,
        Phase::Idle,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Load => "load",
            Phase::Drain => "drain",
            Phase::Delete => "delete topics",
            Phase::Churn => "restart services",
            Phase::Restart => "restart broker",
            Phase::Idle => "idle",
        }
    }
}

/// One look at the broker, every `probe_every`.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub seconds: f64,
    pub phase: Phase,
    #[serde(flatten)]
    pub latency: probe::Latency,
    #[serde(flatten)]
    pub broker: broker::Usage,
    pub produced: u64,
    pub consumed: u64,
    /// The worker's and the receipt service's readiness.
    pub services_ready: bool,
}

mod seconds {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}
