//! Triage over the API: what waits, attaching, closing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::App;
use crate::api::PageParams;
use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::SignedIn;
use crate::error::{ApiError, ErrorBody};
use crate::triage::{self, Attached, TriagePage};
use intake_core::ids::{ApplicationId, IdError};

/// What waits for a triage officer, oldest first. Empty for anyone else.
#[utoipa::path(get, path = "/api/v1/triage", params(PageParams), responses(
    (status = 200, body = TriagePage),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
pub async fn list(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<TriagePage>, ApiError> {
    let (after, limit) = params.bounds(app.config.page_size)?;
    Ok(Json(triage::page(&app.store, &who, after, limit).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// `MIG-YYYY-NNNNNN-C`; must be in the registry.
    #[schema(pattern = r"^\s*MIG-[0-9]{4}-[0-9]{6}-[0-9]\s*$")]
    pub application_id: String,
    /// Why this application, for the audit log.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*$")]
    pub note: Option<String>,
}

/// Attaches a supplement in triage to an application: it is numbered
/// next, joins the unit's queue and is announced on the routed topic.
#[utoipa::path(post, path = "/api/v1/supplements/{id}/attach", params(("id" = Uuid, Path)), request_body = Attach, responses(
    (status = 200, body = Attached),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "not waiting in triage (decided already), or no such application in the registry"),
    (status = 409, body = ErrorBody, description = "unprocessable: nothing to attach; close it"),
))]
pub async fn attach(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Attach>,
) -> Result<Json<Attached>, ApiError> {
    let application = body.application_id.trim_matches(crate::text::is_space);
    // A wrong check digit is a well-formed id the registry cannot hold:
    // not found there, like any other it does not hold.
    if let Err(e @ IdError::Format { .. }) = ApplicationId::parse(application) {
        return Err(ApiError::Invalid(format!("application_id: {e}")));
    }
    let attached = triage::attach(
        &app.store,
        &who,
        &app.topics,
        id,
        application,
        body.note.as_deref(),
    )
    .await?;
    Ok(Json(attached))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dismiss {
    /// Why it is not a supplement.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub reason: String,
}

/// Closes a supplement in triage as not a supplement, with a reason.
#[utoipa::path(post, path = "/api/v1/supplements/{id}/dismiss", params(("id" = Uuid, Path)), request_body = Dismiss, responses(
    (status = 204),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "not waiting in triage (decided already)"),
))]
pub async fn dismiss(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Dismiss>,
) -> Result<StatusCode, ApiError> {
    triage::dismiss(&app.store, &who, id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
