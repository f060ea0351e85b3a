//! The operations port: `/metrics`, `/health/live`, `/health/ready`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

use super::Health;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, thiserror::Error)]
#[error("cannot listen for /metrics and /health on {addr}: {source}")]
pub struct OpsError {
    addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

#[derive(Clone)]
struct Ops {
    registry: Arc<Registry>,
    health: Health,
}

/// Binds `listen` and serves in the background for the life of the
/// process; returns the address bound. The registry is complete by now:
/// nothing registers later.
pub async fn serve(
    listen: SocketAddr,
    registry: Registry,
    health: Health,
) -> Result<SocketAddr, OpsError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| OpsError {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| OpsError {
        addr: listen,
        source,
    })?;
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/health/live", get(|| async { "live" }))
        .route("/health/ready", get(ready))
        .with_state(Ops {
            registry: Arc::new(registry),
            health,
        });
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the operations port stopped serving");
        }
    });
    tracing::info!(ops_address = %addr, "serving /metrics and /health");
    Ok(addr)
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        super::encode(&ops.registry),
    )
}

async fn ready(State(ops): State<Ops>) -> impl IntoResponse {
    let down = ops.health.down();
    let status = if down.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "ready": down.is_empty(), "down": down })),
    )
}
