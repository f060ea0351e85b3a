//! Who is asking. The API takes bearer JWTs from the identity provider;
//! either way the result is a `Principal`, and what it may do is decided
//! by the database.

pub mod bearer;
pub mod jwks;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use intake_core::access::Principal;

use crate::App;
use crate::error::ApiError;

/// A request from a signed-in person.
pub struct SignedIn(pub Principal);

impl FromRequestParts<App> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized("no bearer token".into()));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header is not a bearer token".into())
            })?;
        match app.tokens.verify(token).await {
            Ok(principal) => Ok(SignedIn(principal)),
            Err(e) if e.is_unavailable() => Err(ApiError::Unavailable(e.into())),
            Err(e) => {
                tracing::info!(reason = %e, "bearer token refused");
                Err(ApiError::Unauthorized(e.to_string()))
            }
        }
    }
}
