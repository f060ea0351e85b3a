//! What an HTTP service counts: requests by route and status, refusals by
//! their stable error code, and how long requests take. Routes are the
//! matched patterns, so a scan of random paths cannot create a label per
//! path.

use std::time::Instant;

use super::{Registry, latency_histogram};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// Put on an error response so the middleware can count it by reason.
#[derive(Clone, Copy, Debug)]
pub struct Refusal(pub &'static str);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    route: String,
    reason: &'static str,
}

#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabel, Histogram, fn() -> Histogram>,
    refusals: Family<RefusalLabels, Counter>,
}

impl HttpMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            refusals: Family::default(),
        };
        registry.register(
            "intake_http_requests",
            "HTTP requests answered, by route and status",
            metrics.requests.clone(),
        );
        registry.register(
            "intake_http_request_duration_seconds",
            "From the request's arrival to its answer, by route",
            metrics.durations.clone(),
        );
        registry.register(
            "intake_http_refusals",
            "Requests refused, by route and reason (the error code the caller sees)",
            metrics.refusals.clone(),
        );
        metrics
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let start = Instant::now();
    let response = next.run(request).await;
    metrics
        .durations
        .get_or_create(&RouteLabel {
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    if let Some(Refusal(reason)) = response.extensions().get::<Refusal>() {
        metrics
            .refusals
            .get_or_create(&RefusalLabels {
                route: route.clone(),
                reason,
            })
            .inc();
    }
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
