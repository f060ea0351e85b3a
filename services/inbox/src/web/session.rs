//! The web page's session: who signed in, until when, and the CSRF token
//! of their forms, in one encrypted and authenticated cookie (AES-GCM,
//! `cookie`'s private jar). HttpOnly, SameSite=Lax (the identity provider
//! redirects back with a top-level GET), Secure unless the inbox is served
//! on loopback.

use axum::extract::{FromRef, FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use chrono::Utc;
use intake_core::access::Principal;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::App;

/// Names with the `__Host-` prefix when Secure: a browser then takes them
/// only from this exact origin over HTTPS, never from a sibling subdomain.
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-intake_session"
    } else {
        "intake_session"
    }
}

pub fn login_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-intake_login"
    } else {
        "intake_login"
    }
}

/// The largest session cookie a browser keeps with room to spare (4 KB
/// per cookie, after encryption and encoding).
pub const MAX_SESSION_JSON: usize = 2800;

impl FromRef<App> for Key {
    fn from_ref(app: &App) -> Key {
        app.web.cookie_key.clone()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub principal: Principal,
    /// Every form carries it back; compared in constant time.
    pub csrf: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl Session {
    pub fn new(principal: Principal, ttl: std::time::Duration) -> Self {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Self {
            principal,
            csrf: random_token(),
            expires_at: Utc::now().timestamp().saturating_add(ttl),
        }
    }
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A browser-session cookie: gone when the browser closes; the session
/// inside carries its own expiry, checked on every request.
pub fn cookie<'a>(name: &'a str, value: String, secure: bool) -> Cookie<'a> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build()
}

pub fn removal(name: &str) -> Cookie<'_> {
    Cookie::build((name, "")).path("/").build()
}

/// A page request from a signed-in person; others are sent to sign in and
/// brought back to where they were going.
pub struct WebUser {
    pub session: Session,
}

impl WebUser {
    pub fn principal(&self) -> &Principal {
        &self.session.principal
    }
}

pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let target = format!("/login?return_to={}", urlencoding(&self.0));
        Redirect::to(&target).into_response()
    }
}

impl FromRequestParts<App> for WebUser {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, SignInFirst> {
        let here = OriginalUri::from_request_parts(parts, app)
            .await
            .map(|u| {
                u.0.path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_else(|_| "/".to_owned());
        let jar = PrivateCookieJar::<Key>::from_request_parts(parts, app)
            .await
            .map_err(|_| SignInFirst(here.clone()))?;
        let session = current(&jar, app.web.secure_cookies).ok_or(SignInFirst(here))?;
        Ok(WebUser { session })
    }
}

/// The session the cookie holds, if it opens and has not expired.
pub fn current(jar: &PrivateCookieJar<Key>, secure: bool) -> Option<Session> {
    jar.get(session_cookie(secure))
        .and_then(|c| serde_json::from_str::<Session>(c.value()).ok())
        .filter(|s| s.expires_at > Utc::now().timestamp())
}

/// A path on this site to return to after signing in: never another site
/// (`//host`, `/\host`), never a scheme.
pub fn local_path(candidate: &str) -> String {
    let ok = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.starts_with("/\\")
        && candidate.bytes().all(|b| b.is_ascii_graphic())
        && candidate.len() <= 2000;
    if ok {
        candidate.to_owned()
    } else {
        "/".to_owned()
    }
}

pub fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path("/queue?unit=u1"), "/queue?unit=u1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "queue",
            "/a\nb",
            "/ä",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_long_and_different() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
