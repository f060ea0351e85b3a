//! Quarantine over the API: refused files' metadata, opening one for
//! analysis, and the two-person release.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PageParams;
use crate::App;
use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::SignedIn;
use crate::error::{ApiError, ErrorBody};
use crate::quarantine::{self, Approval, ApproveError, QuarantinePage};

impl From<ApproveError> for ApiError {
    fn from(e: ApproveError) -> Self {
        match e {
            ApproveError::Store(e) => e.into(),
            // A retry could never give a verdict (over clamd's limits).
            ApproveError::Scan(e) if e.can_never_succeed() => {
                ApiError::Conflict(format!("the file cannot be scanned: {e}"))
            }
            ApproveError::Mismatch => ApiError::Conflict(e.to_string()),
            other => ApiError::Unavailable(other.into()),
        }
    }
}

/// Refused files, oldest first: metadata only. Empty for anyone but a
/// security officer.
#[utoipa::path(get, path = "/api/v1/quarantine", params(PageParams), responses(
    (status = 200, body = QuarantinePage),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
pub async fn list(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<QuarantinePage>, ApiError> {
    let (after, limit) = params.bounds(app.config.page_size)?;
    Ok(Json(
        quarantine::page(&app.store, &who, after, limit).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why, for the audit log and the other officer.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub reason: String,
}

/// A quarantined file's bytes, for analysis: recorded with the reason
/// before anything is sent. Sent as an attachment, never to be rendered.
#[utoipa::path(post, path = "/api/v1/quarantine/{id}/analysis", params(("id" = Uuid, Path)), request_body = Reason, responses(
    (status = 200, content_type = "application/octet-stream"),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn analysis(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Response, ApiError> {
    let file = quarantine::open_for_analysis(&app.store, &who, id, &body.reason).await?;
    crate::download::serve(&app.objects, app.keys.clone(), file).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Requested {
    pub request_id: Uuid,
}

/// Asks for a quarantined file's release; a different security officer
/// must approve it.
#[utoipa::path(post, path = "/api/v1/quarantine/{id}/release-requests", params(("id" = Uuid, Path)), request_body = Reason, responses(
    (status = 201, body = Requested),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "asked for already, or the whole message is kept out"),
))]
pub async fn request_release(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<(StatusCode, Json<Requested>), ApiError> {
    let request_id = quarantine::request_release(&app.store, &who, id, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(Requested { request_id })))
}

/// Approves a release someone else asked for. The file is scanned again
/// first: clean, it joins its supplement; not, it stays. 503 when the
/// scanner cannot answer, with nothing changed.
#[utoipa::path(post, path = "/api/v1/release-requests/{id}/approve", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Approval),
    (status = 403, body = ErrorBody, description = "the person who asked cannot approve"),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "someone is deciding it right now, the file is over the scanner's limits, or its stored bytes differ from what was inspected"),
    (status = 503, body = ErrorBody, description = "the scanner did not answer; nothing released"),
))]
pub async fn approve(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Approval>, ApiError> {
    let approval = quarantine::approve(
        &app.store,
        &app.scanner,
        &app.objects,
        app.keys.clone(),
        &who,
        id,
    )
    .await?;
    Ok(Json(approval))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// Why not.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub note: String,
}

/// Turns a release request down; the officer who asked withdraws it so.
#[utoipa::path(post, path = "/api/v1/release-requests/{id}/reject", params(("id" = Uuid, Path)), request_body = Note, responses(
    (status = 204),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn reject(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Note>,
) -> Result<StatusCode, ApiError> {
    quarantine::reject(&app.store, &who, id, &body.note).await?;
    Ok(StatusCode::NO_CONTENT)
}
