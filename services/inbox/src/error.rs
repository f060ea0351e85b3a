//! How the API says no: a status, a stable code and a sentence. Denials
//! say why (a caseworker needs to know a supplement is confidential and
//! whose it is), never more than the person may know.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("sign in first: {0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden {
        reason: String,
        message: String,
        assigned_to: Option<String>,
    },
    #[error("not found")]
    NotFound,
    /// Not found, with what was missing (an application named by the
    /// request, say).
    #[error("not found: {0}")]
    NoSuch(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("a dependency is unavailable; retry later")]
    Unavailable(#[source] anyhow::Error),
}

impl ApiError {
    /// Why a supplement may not be read, in words.
    pub fn denied(why: &str, assigned_to: Option<String>) -> Self {
        let message = match why {
            "confidential" => match &assigned_to {
                Some(who) => {
                    format!("confidential: only the assigned caseworker ({who}) may read it")
                }
                None => "confidential: only the assigned caseworker may read it".to_owned(),
            },
            "verdict_infected" | "verdict_dangerous" | "verdict_refused" => {
                "this file was refused by inspection and is never downloadable here".to_owned()
            }
            other => format!("not allowed: {other}"),
        };
        ApiError::Forbidden {
            reason: why.to_owned(),
            message,
            assigned_to,
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound | Self::NoSuch(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NoSuch(what),
            StoreError::Forbidden(why) => ApiError::denied(&why, None),
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Invalid(what) => ApiError::Invalid(what),
            StoreError::Database(e) => ApiError::Unavailable(e.into()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
    /// For a refusal: the reason code (`confidential`, `not_your_unit`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
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
        let (reason, assigned_to) = match &self {
            Self::Forbidden {
                reason,
                assigned_to,
                ..
            } => (Some(reason.clone()), assigned_to.clone()),
            _ => (None, None),
        };
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
            reason,
            assigned_to,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"intake-inbox\""),
            );
        }
        response
    }
}
