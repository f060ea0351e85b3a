//! Each channel has its own bearer token; a token opens only its channel's
//! endpoint. Compared in constant time so the token cannot be guessed byte
//! by byte from response times.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

pub fn require_bearer(headers: &HeaderMap, expected: &SecretString) -> Result<(), ApiError> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let expected = expected.expose_secret().as_bytes();
    if !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn only_the_exact_token_passes() {
        let token = SecretString::from("s3cret".to_owned());
        assert!(require_bearer(&headers("Bearer s3cret"), &token).is_ok());
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "bearer s3cret",
            "Basic s3cret",
            "s3cret",
            "Bearer ",
        ] {
            assert!(require_bearer(&headers(wrong), &token).is_err(), "{wrong}");
        }
        assert!(require_bearer(&HeaderMap::new(), &token).is_err());
    }

    #[test]
    fn an_empty_configured_token_opens_nothing() {
        let token = SecretString::from(String::new());
        assert!(require_bearer(&headers("Bearer "), &token).is_err());
    }
}
