//! Every state change from the web page is a form post that proves it came
//! from this site: the Origin header names the inbox (or, without one, the
//! browser says `Sec-Fetch-Site: same-origin`), and the form carries the
//! session's CSRF token.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::session::WebUser;
use crate::App;

/// A checked form post from a signed-in person.
pub struct CheckedForm<T> {
    pub user: WebUser,
    pub fields: T,
}

/// For forms whose only field is the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct Envelope<T> {
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + Send> FromRequest<App> for CheckedForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        if !same_origin(&parts.headers, &app.web.origin) {
            tracing::warn!("form post from another origin refused");
            return Err(refused());
        }
        let req = Request::from_parts(parts, body);
        let Form(envelope) = Form::<Envelope<T>>::from_request(req, app)
            .await
            .map_err(|_| refused())?;
        if !bool::from(envelope.csrf.as_bytes().ct_eq(user.session.csrf.as_bytes())) {
            tracing::warn!("form post with a wrong CSRF token refused");
            return Err(refused());
        }
        Ok(CheckedForm {
            user,
            fields: envelope.fields,
        })
    }
}

/// `origin` is the inbox's own, `scheme://host[:port]`.
pub fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    match headers.get("origin").map(|v| v.to_str()) {
        Some(Ok(given)) => given == origin,
        Some(Err(_)) => false,
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin"),
    }
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        super::pages::plain_error(
            "Refused",
            "The form was stale or came from another site. Go back, reload the page and try again.",
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_the_inbox_itself_may_post() {
        let me = "https://inbox.agency.example";
        assert!(same_origin(
            &headers(&[("origin", "https://inbox.agency.example")]),
            me
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            me
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), me));
        assert!(!same_origin(
            &headers(&[("origin", "http://inbox.agency.example")]),
            me
        ));
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            me
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            me
        ));
        assert!(!same_origin(&headers(&[]), me));
        // An Origin that disagrees wins over a same-origin fetch header.
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            me
        ));
    }
}
