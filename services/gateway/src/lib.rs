//! The ingest gateway: the two channels hand supplements over HTTP; the
//! gateway seals them into S3 as they stream in, then produces exactly one
//! event per supplement and answers 202 with its id.

pub mod config;

mod auth;
mod claims;
mod error;
pub mod metrics;
mod routes;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use intake_adapters::kafka::EventProducer;
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::Recipients;
use sqlx::PgPool;

pub use config::GatewayConfig;

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

pub struct Inner {
    pub config: GatewayConfig,
    pub store: ObjectStore,
    pub producer: EventProducer,
    pub pool: PgPool,
    pub recipients: Recipients,
    pub metrics: metrics::GatewayMetrics,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl App {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

pub fn router(app: App) -> Router {
    // The gateway enforces its own, finer limits while streaming; this only
    // keeps axum's 2 MB default from cutting large uploads short.
    let body_limit =
        usize::try_from(app.config.max_message_bytes.saturating_add(1 << 20)).unwrap_or(usize::MAX);
    Router::new()
        .route("/v1/securemail/messages", post(routes::securemail::receive))
        .route(
            "/v1/enterfinland/submissions",
            post(routes::enter_finland::receive),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .route_layer(axum::middleware::from_fn_with_state(
            app.metrics.http.clone(),
            intake_adapters::ops::track,
        ))
        .with_state(app)
}

/// Serves until `shutdown` completes, then finishes requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
