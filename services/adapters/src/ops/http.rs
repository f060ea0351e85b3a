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

/// The status counted for a request whose caller went away before the
/// answer (an upload cut off midway), as nginx logs it.
const CLIENT_CLOSED: u16 = 499;

/// Middleware (a route layer, so every request has its matched route):
/// counts and times every request, also one dropped because its caller
/// went away.
pub async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut pending = Pending {
        metrics,
        route,
        start: Instant::now(),
        status: CLIENT_CLOSED,
    };
    let response = next.run(request).await;
    pending.status = response.status().as_u16();
    if let Some(Refusal(reason)) = response.extensions().get::<Refusal>() {
        pending
            .metrics
            .refusals
            .get_or_create(&RefusalLabels {
                route: pending.route.clone(),
                reason,
            })
            .inc();
    }
    response
}

/// Records the request when dropped: after the answer, or when the
/// request's future is dropped because the connection closed.
struct Pending {
    metrics: HttpMetrics,
    route: String,
    start: Instant,
    status: u16,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.metrics
            .durations
            .get_or_create(&RouteLabel {
                route: self.route.clone(),
            })
            .observe(self.start.elapsed().as_secs_f64());
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                route: std::mem::take(&mut self.route),
                status: self.status,
            })
            .inc();
    }
}
