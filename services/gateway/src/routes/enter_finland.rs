//! `POST /v1/enterfinland/submissions`: `multipart/form-data` with a first
//! part `metadata` (JSON: submission id, customer number, application id,
//! optional request id, language, message text), then one `attachment`
//! part per file.

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::stream;
use intake_core::decide::{clean_text, normalise_name};
use intake_core::events::{AttachmentRef, Channel, EnterFinlandReceived};
use intake_core::ingest::parse_submission;
use intake_core::topics;

use super::{accepted, begin, finish, idempotency_key};
use crate::App;
use crate::auth::require_bearer;
use crate::claims::Claimed;
use crate::error::ApiError;
use crate::upload::Uploads;

const MAX_METADATA_BYTES: usize = 1024 * 1024;

fn malformed(error: impl std::fmt::Display) -> ApiError {
    ApiError::field("body", format!("is not valid multipart/form-data: {error}"))
}

async fn read_metadata(mut field: Field<'_>) -> Result<Bytes, ApiError> {
    let mut json = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        json.extend_from_slice(&chunk);
        if json.len() > MAX_METADATA_BYTES {
            return Err(ApiError::field("metadata", "is larger than 1 MiB"));
        }
    }
    Ok(json.freeze())
}

/// Longest declared content type kept (RFC 6838 allows 127 + 127).
const MAX_TYPE_BYTES: usize = 255;

pub async fn receive(
    State(app): State<App>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    // Arrival is when the request came, not when a long upload finished.
    let arrived_at = Utc::now();
    require_bearer(&headers, &app.config.enterfinland_token)?;
    let mut multipart = multipart.map_err(|e| malformed(e.body_text()))?;
    let first = multipart
        .next_field()
        .await
        .map_err(malformed)?
        .ok_or_else(|| ApiError::field("metadata", "is required as the first part"))?;
    if first.name() != Some("metadata") {
        return Err(ApiError::field("metadata", "must be the first part"));
    }
    let submission = parse_submission(&read_metadata(first).await?).map_err(ApiError::Invalid)?;

    let key = idempotency_key(&headers)?.unwrap_or_else(|| submission.submission_id.clone());
    let lease = match begin(
        &app,
        Channel::EnterFinland,
        &key,
        arrived_at,
        Some(submission.application_id.as_str()),
        None,
    )
    .await?
    {
        Claimed::Proceed(lease) => lease,
        Claimed::Replay(id) => return Ok(accepted(id, true)),
        Claimed::Busy => return Err(ApiError::Busy),
    };
    let supplement_id = lease.supplement_id;

    let mut uploads = Uploads::new(app.clone(), supplement_id);
    let built = async {
        let text = Bytes::from(submission.message.clone().into_bytes());
        let limit = app.config.max_message_bytes;
        let message_text = uploads
            .put(
                "text",
                stream::iter([Ok::<_, std::io::Error>(text)]),
                limit,
                "the message text",
            )
            .await?;
        let mut attachments = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            let index = attachments.len();
            if field.name() != Some("attachment") {
                return Err(ApiError::field(
                    &format!("part {}", index + 1),
                    "only parts named attachment may follow metadata",
                ));
            }
            if index == app.config.max_attachments {
                return Err(ApiError::field(
                    "attachment",
                    format!(
                        "at most {} files may be sent at once",
                        app.config.max_attachments
                    ),
                ));
            }
            // Names and types travel in the event: cleaned and capped, so
            // no event can outgrow the broker's limit or the schema.
            let filename = field
                .file_name()
                .map(|n| normalise_name(n).name)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    ApiError::field(&format!("attachment[{index}].filename"), "is required")
                })?;
            let declared_content_type = field
                .content_type()
                .map(|t| clean_text(t, MAX_TYPE_BYTES))
                .filter(|t| !t.is_empty());
            let remaining = app.config.max_message_bytes.saturating_sub(uploads.total);
            let limit = app.config.max_attachment_bytes.min(remaining);
            let what = format!("attachment {filename:?}");
            let object = uploads
                .put(&format!("attachment-{index}"), field, limit, &what)
                .await?;
            attachments.push(AttachmentRef {
                filename,
                declared_content_type,
                object,
            });
        }
        Ok(EnterFinlandReceived {
            supplement_id,
            submission_id: submission.submission_id.clone(),
            customer_number: submission.customer_number.clone(),
            application_id: submission.application_id.clone(),
            request_id: submission.request_id.clone(),
            language: submission.language,
            arrived_at,
            message_text,
            attachments,
        })
    }
    .await;
    finish(
        &app,
        Channel::EnterFinland,
        Some((&key, lease)),
        &topics::ENTER_FINLAND,
        supplement_id,
        uploads,
        built,
    )
    .await
}
