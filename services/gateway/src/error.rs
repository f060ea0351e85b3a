//! How the gateway says no: a status code, a stable error code, a sentence,
//! and for invalid input, one reason per field.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use intake_core::ingest::FieldError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong credentials")]
    Unauthorized,
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("a request with this idempotency key is still in progress; retry later")]
    Busy,
    #[error("the request body ended before it was complete")]
    Aborted,
    #[error("storage or messaging is unavailable; retry later")]
    Unavailable(#[source] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.to_owned(),
            reason: reason.into(),
        }])
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Busy => (StatusCode::CONFLICT, "in_progress"),
            Self::Aborted => (StatusCode::BAD_REQUEST, "incomplete_body"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    fields: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Unavailable(cause) = &self {
            tracing::error!(
                error = format!("{cause:#}"),
                "request failed on a dependency"
            );
        }
        let fields = match &self {
            Self::Invalid(fields) => fields.as_slice(),
            _ => &[],
        };
        let mut response = (
            status,
            Json(Body {
                error: code,
                message: self.to_string(),
                fields,
            }),
        )
            .into_response();
        response
            .extensions_mut()
            .insert(intake_adapters::ops::Refusal(code));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
