//! Triage over the API: what waits, attaching, closing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::App;
use crate::auth::SignedIn;
use crate::error::{ApiError, ErrorBody};
use crate::queue::Cursor;
use crate::triage::{self, Attached, TriagePage};
use intake_core::ids::ApplicationId;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TriageParams {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most 200.
    pub limit: Option<u32>,
}

impl TriageParams {
    pub fn cursor_and_limit(&self, default_limit: u32) -> Result<(Option<Cursor>, u32), ApiError> {
        let after = match self.after.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                Cursor::decode(s)
                    .ok_or_else(|| ApiError::Invalid("after: not a page cursor".into()))?,
            ),
        };
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::Invalid("limit: between 1 and 200".into()));
        }
        Ok((after, limit))
    }
}

/// What waits for a triage officer, oldest first. Empty for anyone else.
#[utoipa::path(get, path = "/api/v1/triage", params(TriageParams), responses(
    (status = 200, body = TriagePage),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
pub async fn list(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    Query(params): Query<TriageParams>,
) -> Result<Json<TriagePage>, ApiError> {
    let (after, limit) = params.cursor_and_limit(app.config.page_size)?;
    Ok(Json(triage::page(&app.store, &who, after, limit).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// `MIG-YYYY-NNNNNN-C`; must be in the registry.
    pub application_id: String,
    /// Why this application, for the audit log (at most 2000 characters).
    pub note: Option<String>,
}

/// Attaches a supplement in triage to an application: it is numbered
/// next, joins the unit's queue and is announced on the routed topic.
#[utoipa::path(post, path = "/api/v1/supplements/{id}/attach", request_body = Attach, responses(
    (status = 200, body = Attached),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "not waiting in triage (decided already)"),
    (status = 409, body = ErrorBody, description = "unprocessable: nothing to attach; close it"),
))]
pub async fn attach(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    Path(id): Path<Uuid>,
    Json(body): Json<Attach>,
) -> Result<Json<Attached>, ApiError> {
    let application = ApplicationId::parse(body.application_id.trim())
        .map_err(|e| ApiError::Invalid(format!("application_id: {e}")))?;
    let attached = triage::attach(
        &app.store,
        &who,
        &app.topics,
        id,
        &application,
        body.note.as_deref(),
    )
    .await?;
    Ok(Json(attached))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dismiss {
    /// Why it is not a supplement (1 to 2000 characters).
    pub reason: String,
}

/// Closes a supplement in triage as not a supplement, with a reason.
#[utoipa::path(post, path = "/api/v1/supplements/{id}/dismiss", request_body = Dismiss, responses(
    (status = 204),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "not waiting in triage (decided already)"),
))]
pub async fn dismiss(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    Path(id): Path<Uuid>,
    Json(body): Json<Dismiss>,
) -> Result<StatusCode, ApiError> {
    triage::dismiss(&app.store, &who, id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
