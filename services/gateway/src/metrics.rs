//! What the gateway counts beside its requests: the bytes it stores.

use intake_adapters::ops::{HttpMetrics, Registry};
use prometheus_client::metrics::counter::Counter;

#[derive(Clone)]
pub struct GatewayMetrics {
    pub http: HttpMetrics,
    received: Counter,
}

impl GatewayMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let received = Counter::default();
        registry.register(
            "intake_gateway_received_bytes",
            "Bytes of messages and files sealed into storage (also of requests refused later)",
            received.clone(),
        );
        Self {
            http: HttpMetrics::new(registry),
            received,
        }
    }

    pub fn received(&self, bytes: u64) {
        self.received.inc_by(bytes);
    }
}
