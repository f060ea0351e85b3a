//! Structured logs through `tracing`, and W3C trace context through
//! OpenTelemetry so a supplement can be followed from gateway to receipt.
//! Spans are exported over OTLP/HTTP when `telemetry.otlp_endpoint` names
//! a collector; without it they only carry ids into the logs and events.

use std::collections::HashMap;

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Deserialize;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Without `RUST_LOG`: info, minus PostgreSQL's notices about migrations
/// already applied and lopdf's warning for every protected PDF (the worker
/// records those itself, as refusals).
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn,lopdf=error";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    #[default]
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default)]
    pub log_format: LogFormat,
    /// Spans and trace context at all. Off, records carry no
    /// `traceparent` of this service and nothing is exported.
    #[serde(default = "on")]
    pub traces: bool,
    /// An OTLP/HTTP traces endpoint, used as given, e.g.
    /// `http://127.0.0.1:4318/v1/traces` (a collector beside the service).
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
}

fn on() -> bool {
    true
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::default(),
            traces: true,
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("telemetry.otlp_endpoint {endpoint}: {source}")]
pub struct TelemetryError {
    endpoint: String,
    #[source]
    source: opentelemetry_otlp::ExporterBuildError,
}

/// Keeps the tracer provider alive; call `shutdown` before exit.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "telemetry shutdown failed");
        }
    }
}

/// Installs the global subscriber. Log levels come from `RUST_LOG`.
pub fn init(service: &'static str, config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service).build());
    if let Some(endpoint) = &config.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|source| TelemetryError {
                endpoint: endpoint.clone(),
                source,
            })?;
        // Batches leave from the SDK's own thread; a collector that is
        // away costs dropped spans, never a stalled supplement.
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    let otel = config
        .traces
        .then(|| tracing_opentelemetry::layer().with_tracer(provider.tracer(service)));
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer()).try_init(),
    };
    Ok(Telemetry { provider })
}

mod messaging;

pub use messaging::{consumer_span, producer_span, traceparent_header};

/// The `traceparent` of the current span, to put on an outgoing event.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut carrier));
    carrier.remove("traceparent")
}

/// Makes `span` a child of the trace an incoming event carried.
pub fn follow(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(parent);
}
