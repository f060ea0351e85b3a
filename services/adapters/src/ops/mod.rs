//! What operations read off every service, on a port of its own so that a
//! flood on the public port cannot hide it and the public port never
//! exposes it: `/metrics` (Prometheus text exposition), `/health/live`
//! (the process answers) and `/health/ready` (every dependency it needs
//! answers; the `intake_dependency_up` gauge says which does not).
//!
//! Metric names follow Prometheus's conventions: base units, `_total` on
//! counters (added by the encoder), `_seconds` and `_bytes` suffixes. No
//! label ever carries an application id, a person or an address.

mod health;
mod http;
pub mod members;
pub mod probes;
mod server;

use std::net::SocketAddr;

pub use health::{Dependency, Health};
pub use http::{HttpMetrics, Refusal, track};
pub use prometheus_client::registry::Registry;
pub use server::{OpsError, serve};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// Where `/metrics` and `/health/*` listen. Each service has its own
    /// default so that the local stack runs them side by side.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Whether the worker counts and times its stages (for measuring what
    /// that costs; `/metrics` then shows the readiness gauges only).
    #[serde(default = "on")]
    pub metrics: bool,
}

fn on() -> bool {
    true
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            listen: None,
            metrics: true,
        }
    }
}

impl OpsConfig {
    /// The configured address, else this machine's loopback on `port`.
    pub fn listen_or(&self, port: u16) -> SocketAddr {
        self.listen
            .unwrap_or(SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), port))
    }
}

/// Starts a service's operations port before anything else, so that it is
/// live (and not yet ready) while the service connects: `metrics`
/// registers the service's own metrics beside the readiness gauge.
pub async fn start<M>(
    config: &OpsConfig,
    default_port: u16,
    metrics: impl FnOnce(&mut Registry) -> M,
) -> Result<(M, Health), OpsError> {
    let mut registry = Registry::default();
    let health = Health::new(&mut registry);
    let metrics = metrics(&mut registry);
    serve(config.listen_or(default_port), registry, health.clone()).await?;
    Ok((metrics, health))
}

/// Buckets for a step that takes from a millisecond to a few minutes (a
/// database write, a virus scan, a wait for the scanner).
pub fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 14))
}

/// Buckets for an end-to-end wait measured in seconds to days (arrival to
/// routed, while supplements may wait for the scanner or a hold).
pub fn wait_histogram() -> Histogram {
    Histogram::new([
        0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
        86400.0,
    ])
}

/// Buckets for sizes from a kilobyte to the largest upload.
pub fn size_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1024.0, 4.0, 11))
}

/// The text exposition of `registry`.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_span_what_they_measure() {
        let text = |h: Histogram| {
            let mut registry = Registry::default();
            registry.register("h", "h", h);
            encode(&registry)
        };
        let latency = text(latency_histogram());
        assert!(latency.contains(r#"le="0.001""#), "{latency}");
        assert!(latency.contains(r#"le="59.6"#), "{latency}");
        let wait = text(wait_histogram());
        assert!(wait.contains(r#"le="86400.0""#), "{wait}");
        let size = text(size_histogram());
        assert!(size.contains(r#"le="1073741824.0""#), "{size}");
    }
}
