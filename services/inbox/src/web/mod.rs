//! The web page: the same queue, detail and download as the API, signed in
//! through the identity provider, rendered on the server.

pub mod forms;
pub mod login;
mod operations;
pub mod pages;
mod quarantine;
pub mod session;
pub mod texts;
mod triage;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use axum_extra::extract::{CookieJar, PrivateCookieJar};
use intake_adapters::sealing::open_object;
use serde::Deserialize;
use uuid::Uuid;

use self::forms::{CheckedForm, NoFields};
use self::pages::{DetailView, Frame, QueueView};
use self::session::{WebUser, local_path};
use self::texts::{Lang, Texts};
use crate::App;
use crate::api::QueueParams;
use crate::error::ApiError;
use crate::queue;

/// What the web page needs besides the API's state.
pub struct WebSettings {
    pub cookie_key: Key,
    pub rp: login::RelyingParty,
    /// Cookies marked Secure: everywhere but plain HTTP on loopback.
    pub secure_cookies: bool,
    /// `scheme://host[:port]` of `public_url`, for the Origin check.
    pub origin: String,
    pub session_ttl: std::time::Duration,
}

/// The longest message text shown on a page; the rest is cut, with a note.
const TEXT_SHOWN: usize = 256 * 1024;
const LANG_COOKIE: &str = "intake_lang";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::start))
        .route("/auth/callback", get(login::callback))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(set_language))
        .route("/queue", get(queue_page))
        .route("/queue/take-next", post(take_next))
        .route("/supplements/{id}", get(detail_page))
        .route("/supplements/{id}/handled", post(mark_handled))
        .route("/supplements/{id}/attach", post(triage::attach))
        .route("/supplements/{id}/dismiss", post(triage::dismiss))
        .route("/triage", get(triage::list))
        .route("/quarantine", get(quarantine::list))
        .route("/quarantine/{id}", get(quarantine::file_page))
        .route("/quarantine/{id}/analysis", post(quarantine::analysis))
        .route(
            "/quarantine/{id}/release-requests",
            post(quarantine::request_release),
        )
        .route("/release-requests/{id}/approve", post(quarantine::approve))
        .route("/release-requests/{id}/reject", post(quarantine::reject))
        .route("/files/{id}", get(download))
        .route("/operations", get(operations::page))
        .route("/static/inbox.css", get(stylesheet))
}

/// The page's language: the one chosen, else the browser's.
pub struct PageLang(pub Texts);

impl FromRequestParts<App> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        let chosen = CookieJar::from_headers(&parts.headers)
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()));
        let lang = chosen.unwrap_or_else(|| {
            let accept = parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Lang::from_accept_language(accept)
        });
        Ok(PageLang(Texts::new(lang)))
    }
}

async fn home(
    State(app): State<App>,
    PageLang(t): PageLang,
    jar: PrivateCookieJar<Key>,
) -> Response {
    if let Some(session) = session::current(&jar, app.web.secure_cookies) {
        let landing = pages::sections(t, &session.principal)
            .first()
            .map_or("/queue", |(path, _)| *path);
        return Redirect::to(landing).into_response();
    }
    pages::sign_in_page(&Frame {
        t,
        session: None,
        here: "/",
    })
    .into_response()
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn set_language(Path(code): Path<String>, Query(back): Query<Back>) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cookie = Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .build();
    let jar = CookieJar::new().add(cookie);
    let back = local_path(back.back.as_deref().unwrap_or("/"));
    (jar, Redirect::to(&back)).into_response()
}

#[derive(Deserialize)]
struct QueuePageParams {
    unit: Option<String>,
    channel: Option<String>,
    flag: Option<String>,
    handled: Option<String>,
    after: Option<String>,
    empty: Option<String>,
}

async fn queue_page(
    State(app): State<App>,
    PageLang(t): PageLang,
    user: WebUser,
    Query(p): Query<QueuePageParams>,
) -> Response {
    let who = user.principal();
    let units = who.unit_names();
    let here = "/queue";
    let frame = Frame {
        t,
        session: Some(&user.session),
        here,
    };
    let Some(unit) = p.unit.clone().or_else(|| units.first().cloned()) else {
        // Someone without a unit lands where their roles take them.
        if let Some((path, _)) = pages::sections(t, who).first()
            && *path != "/queue"
        {
            return Redirect::to(path).into_response();
        }
        return pages::message_page(&frame, "error_title", t.get("no_units")).into_response();
    };
    let empty_is_none = |v: Option<String>| v.filter(|s| !s.is_empty());
    let channel = empty_is_none(p.channel);
    let flag = empty_is_none(p.flag);
    let handled = empty_is_none(p.handled);
    let params = QueueParams {
        unit,
        channel: channel.as_deref().and_then(serde_plain),
        flag: flag.as_deref().and_then(serde_plain),
        handled: handled.as_deref().and_then(|h| h.parse().ok()),
        after: p.after.clone().filter(|a| !a.is_empty()),
        limit: None,
    };
    let handled = params.handled;
    let query = match params.into_query(app.config.page_size) {
        Ok(q) => q,
        Err(e) => return web_error(&frame, e),
    };
    let page = match queue::page(&app.store, who, &query).await {
        Ok(page) => page,
        Err(e) => return web_error(&frame, e.into()),
    };
    let here = format!("/queue?unit={}", session::urlencoding(&query.unit));
    let frame = Frame {
        here: &here,
        ..frame
    };
    pages::queue_page(
        &frame,
        &QueueView {
            page: &page,
            units,
            channel: query.channel.map(|c| c.as_str()),
            flag: query.flag.map(|f| f.as_str()),
            handled,
            paged: query.after.is_some(),
            nothing_to_take: p.empty.is_some(),
        },
    )
    .into_response()
}

/// A filter value as the API's enums spell it.
fn serde_plain<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

#[derive(Deserialize)]
struct UnitField {
    unit: String,
}

async fn take_next(
    State(app): State<App>,
    PageLang(t): PageLang,
    form: CheckedForm<UnitField>,
) -> Response {
    let unit = form.fields.unit;
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: "/queue",
    };
    match queue::take_next(&app.store, form.user.principal(), &unit, app.config.lease).await {
        Ok(Some(id)) => Redirect::to(&format!("/supplements/{id}")).into_response(),
        Ok(None) => Redirect::to(&format!(
            "/queue?unit={}&empty=1",
            session::urlencoding(&unit)
        ))
        .into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}

async fn detail_page(
    State(app): State<App>,
    PageLang(t): PageLang,
    user: WebUser,
    Path(id): Path<Uuid>,
    headers: axum::http::HeaderMap,
) -> Response {
    let here = format!("/supplements/{id}");
    let frame = Frame {
        t,
        session: Some(&user.session),
        here: &here,
    };
    if let Some(refused) = from_elsewhere(&frame, &headers) {
        return refused;
    }
    let detail = match crate::detail::open(&app.store, user.principal(), id).await {
        Ok(Some(d)) => d,
        Ok(None) => return web_error(&frame, ApiError::NotFound),
        Err(e) => return web_error(&frame, e.into()),
    };
    if let Some(why) = &detail.supplement.why_not {
        return web_error(
            &frame,
            ApiError::denied(why, detail.supplement.assigned_to.clone()),
        );
    }
    let (text, text_cut) = match (&detail.supplement.text_bucket, &detail.supplement.text_key) {
        (Some(bucket), Some(key)) => match read_text(&app, bucket, key).await {
            Ok((text, cut)) => (Some(text), cut),
            Err(e) => return web_error(&frame, e),
        },
        _ => (None, false),
    };
    pages::detail_page(
        &frame,
        &DetailView {
            detail: &detail,
            text: text.as_deref(),
            text_cut,
        },
    )
    .into_response()
}

/// The stored message text, decrypted, at most `TEXT_SHOWN` bytes of it.
async fn read_text(app: &App, bucket: &str, key: &str) -> Result<(String, bool), ApiError> {
    let mut opened = open_object(&app.objects, app.keys.clone(), bucket, key)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let mut bytes = Vec::new();
    let mut cut = false;
    while let Some(chunk) = opened.chunks.recv().await {
        let chunk = chunk.map_err(|e| ApiError::Unavailable(e.into()))?;
        let room = TEXT_SHOWN - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            cut = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((String::from_utf8_lossy(&bytes).into_owned(), cut))
}

async fn mark_handled(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<NoFields>,
) -> Response {
    let here = format!("/supplements/{id}");
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: &here,
    };
    match queue::mark_handled(&app.store, form.user.principal(), id).await {
        Ok(unit) => Redirect::to(&format!(
            "/queue?unit={}",
            session::urlencoding(unit.as_deref().unwrap_or(""))
        ))
        .into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}

async fn download(
    State(app): State<App>,
    PageLang(t): PageLang,
    user: WebUser,
    Path(id): Path<Uuid>,
    headers: axum::http::HeaderMap,
) -> Response {
    let frame = Frame {
        t,
        session: Some(&user.session),
        here: "/queue",
    };
    if let Some(refused) = from_elsewhere(&frame, &headers) {
        return refused;
    }
    let file = match crate::detail::open_file(&app.store, user.principal(), id).await {
        Ok(Some(f)) => f,
        Ok(None) => return web_error(&frame, ApiError::NotFound),
        Err(e) => return web_error(&frame, e.into()),
    };
    if let Some(why) = &file.refused {
        return web_error(&frame, ApiError::denied(why, None));
    }
    match crate::download::serve(&app.objects, app.keys.clone(), file).await {
        Ok(r) => r,
        Err(e) => web_error(&frame, e),
    }
}

/// A link on another site must not make a signed-in browser open an
/// applicant's supplement or file (and leave an audit row the person never
/// meant): refused when the browser says the request came from elsewhere.
fn from_elsewhere(frame: &Frame<'_>, headers: &axum::http::HeaderMap) -> Option<Response> {
    let site = headers.get("sec-fetch-site")?.as_bytes();
    (site == b"cross-site" || site == b"same-site").then(|| {
        (
            StatusCode::FORBIDDEN,
            pages::message_page(frame, "denied_title", frame.t.get("csrf_failed")),
        )
            .into_response()
    })
}

/// An API error as a page in the person's language.
fn web_error(frame: &Frame<'_>, e: ApiError) -> Response {
    let t = frame.t;
    match e {
        ApiError::NotFound | ApiError::NoSuch(_) => (
            StatusCode::NOT_FOUND,
            pages::message_page(frame, "not_found_title", t.get("not_found")),
        )
            .into_response(),
        ApiError::Forbidden {
            reason,
            assigned_to,
            ..
        } => {
            let message = if reason == "confidential" {
                t.fill(
                    "denied_confidential",
                    &[("who", assigned_to.as_deref().unwrap_or("?"))],
                )
            } else {
                t.get("denied_other").to_owned()
            };
            (
                StatusCode::FORBIDDEN,
                pages::message_page(frame, "denied_title", &message),
            )
                .into_response()
        }
        ApiError::Invalid(_) | ApiError::Conflict(_) => (
            StatusCode::BAD_REQUEST,
            pages::message_page(frame, "error_title", &e.to_string()),
        )
            .into_response(),
        ApiError::Unauthorized(_) => Redirect::to("/login").into_response(),
        ApiError::Unavailable(cause) => {
            tracing::error!(error = format!("{cause:#}"), "page failed on a dependency");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                pages::message_page(frame, "error_title", t.get("error_retry")),
            )
                .into_response()
        }
    }
}

async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../static/inbox.css"),
    )
        .into_response()
}
