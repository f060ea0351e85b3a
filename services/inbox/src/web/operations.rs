//! The operations page's handler: for the operations role only; it reads
//! Prometheus, never a supplement.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use intake_core::access::Role;

use super::pages::{self, Frame};
use super::session::WebUser;
use super::{PageLang, web_error};
use crate::App;
use crate::error::ApiError;
use crate::operations;

pub async fn page(State(app): State<App>, PageLang(t): PageLang, user: WebUser) -> Response {
    let frame = Frame {
        t,
        session: Some(&user.session),
        here: "/operations",
    };
    if !user.principal().has(Role::Operations) {
        return web_error(&frame, ApiError::denied("role", None));
    }
    let Some(prometheus) = &app.prometheus else {
        tracing::warn!("the operations page has no figures: inbox.prometheus_url is not set");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            pages::operations_unavailable(&frame),
        )
            .into_response();
    };
    match operations::overview(prometheus, Utc::now()).await {
        Ok(overview) => pages::operations_page(&frame, &overview).into_response(),
        // The detail (addresses, queries) goes to the log, not the page.
        Err(error) => {
            tracing::warn!(%error, "the operations page cannot read Prometheus");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                pages::operations_unavailable(&frame),
            )
                .into_response()
        }
    }
}
