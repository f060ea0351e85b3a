//! The caseworkers' inbox: a unit's supplements in arrival order, "take
//! next", detail and download, over an HTTP API and web pages served by the
//! same service. What a signed-in person may see or do is decided in one
//! place, the `inbox` schema in PostgreSQL; this crate only asks it.

pub mod config;

mod api;
mod auth;
mod detail;
mod download;
mod error;
mod operations;
mod quarantine;
mod queue;
mod store;
mod text;
mod triage;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use intake_adapters::clamav::Scanner;
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::KeyRing;
use intake_core::topics::TopicNames;
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::bearer::TokenVerifier;
pub use auth::jwks::KeyCache;
pub use config::{InboxConfig, OidcConfig};
pub use operations::Prometheus;
pub use store::{ACCESS_ROLE, Store};
pub use web::WebSettings;
pub use web::login::RelyingParty;

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

pub struct Inner {
    pub config: InboxConfig,
    pub store: Store,
    pub objects: ObjectStore,
    pub keys: Arc<KeyRing>,
    pub tokens: TokenVerifier,
    pub web: WebSettings,
    /// Where attached supplements are announced (the worker's topic names).
    pub topics: TopicNames,
    /// Scans a file again before a release; without an answer nothing is
    /// released.
    pub scanner: Scanner,
    pub http_metrics: intake_adapters::ops::HttpMetrics,
    /// Where the operations page reads its figures; none, no page.
    pub prometheus: Option<operations::Prometheus>,
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
    // No script at all. Forms post to the inbox itself, and the sign-out
    // form is answered with a redirect to the identity provider, which
    // Chromium checks against form-action too.
    let csp = HeaderValue::try_from(format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {}; \
         frame-ancestors 'none'; base-uri 'none'",
        origin_of(&app.config.oidc.issuer)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; form-action 'self'"));
    let api = Router::new()
        .route("/me", get(api::me))
        .route("/queue", get(api::list_queue))
        .route("/queue/take-next", post(api::take_next))
        .route("/supplements/{id}", get(api::supplement))
        .route("/supplements/{id}/handled", post(api::mark_handled))
        .route("/supplements/{id}/access-log", get(api::access_log))
        .route("/supplements/{id}/attach", post(api::triage::attach))
        .route("/supplements/{id}/dismiss", post(api::triage::dismiss))
        .route("/triage", get(api::triage::list))
        .route("/quarantine", get(api::quarantine::list))
        .route("/quarantine/{id}/analysis", post(api::quarantine::analysis))
        .route(
            "/quarantine/{id}/release-requests",
            post(api::quarantine::request_release),
        )
        .route(
            "/release-requests/{id}/approve",
            post(api::quarantine::approve),
        )
        .route(
            "/release-requests/{id}/reject",
            post(api::quarantine::reject),
        )
        .route("/files/{id}", get(api::download))
        .route("/openapi.json", get(api::openapi));
    Router::new()
        .nest("/api/v1", api)
        .merge(web::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            app.http_metrics.clone(),
            intake_adapters::ops::track,
        ))
        .with_state(app)
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        // Not `no-referrer`: with it Chromium sends `Origin: null` on the
        // page's own form posts, which the Origin check must refuse.
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
}

/// `scheme://host[:port]` of a URL: what an Origin header and CSP name.
pub fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{authority}")
}

/// Plain HTTP on this machine only: the one case cookies go without Secure.
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
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

#[cfg(test)]
mod tests {
    use super::{is_loopback_http, origin_of};

    #[test]
    fn only_loopback_http_goes_without_secure_cookies() {
        assert!(is_loopback_http("http://127.0.0.1:8790"));
        assert!(is_loopback_http("http://localhost/"));
        for other in [
            "https://127.0.0.1:8790",
            "http://127.0.0.1.nip.io",
            "http://localhost.example:80",
            "http://inbox.agency.example",
        ] {
            assert!(!is_loopback_http(other), "{other}");
        }
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://login.example/tenant/v2.0"),
            "https://login.example"
        );
        assert_eq!(origin_of("http://127.0.0.1:8780"), "http://127.0.0.1:8780");
        assert_eq!(
            origin_of("http://127.0.0.1:8790/?x"),
            "http://127.0.0.1:8790"
        );
    }
}
