//! The triage pages: the list, and the attach and close forms' answers.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::CheckedForm;
use super::pages::{self, Frame, TriageView};
use super::session::{WebUser, urlencoding};
use super::{PageLang, web_error};
use crate::App;
use crate::api::PageParams;
use crate::error::ApiError;
use crate::triage;
use intake_core::ids::ApplicationId;

#[derive(Deserialize)]
pub struct TriageParams {
    after: Option<String>,
    /// What the last decision did: `attached` (with `to` and `n`) or `closed`.
    done: Option<String>,
    to: Option<String>,
    n: Option<u32>,
}

pub async fn list(
    State(app): State<App>,
    PageLang(t): PageLang,
    user: WebUser,
    Query(p): Query<TriageParams>,
) -> Response {
    let frame = Frame {
        t,
        session: Some(&user.session),
        here: "/triage",
    };
    // The API's paging rules; an empty cursor is the first page here.
    let bounds = PageParams {
        after: p.after.clone().filter(|a| !a.is_empty()),
        limit: None,
    }
    .bounds(app.config.page_size);
    let (after, limit) = match bounds {
        Ok(bounds) => bounds,
        Err(e) => return web_error(&frame, e),
    };
    let page = match triage::page(&app.store, user.principal(), after, limit).await {
        Ok(page) => page,
        Err(e) => return web_error(&frame, e.into()),
    };
    // Only what the inbox itself put in the address is repeated, and only
    // as text the page escapes.
    let done = match (p.done.as_deref(), p.to.as_deref(), p.n) {
        (Some("attached"), Some(to), Some(n)) if ApplicationId::parse(to).is_ok() => Some(t.fill(
            "attached_done",
            &[("application", to), ("number", &n.to_string())],
        )),
        (Some("closed"), _, _) => Some(t.get("dismissed_done").to_owned()),
        _ => None,
    };
    pages::triage_page(
        &frame,
        &TriageView {
            page: &page,
            paged: after.is_some(),
            done: done.as_deref(),
        },
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct AttachFields {
    application_id: String,
    note: Option<String>,
}

pub async fn attach(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<AttachFields>,
) -> Response {
    let here = format!("/supplements/{id}");
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: &here,
    };
    let Ok(application) = ApplicationId::parse(form.fields.application_id.trim()) else {
        return web_error(&frame, ApiError::Invalid(t.get("attach_bad_id").to_owned()));
    };
    let note = form
        .fields
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match triage::attach(
        &app.store,
        form.user.principal(),
        &app.topics,
        id,
        application.as_str(),
        note,
    )
    .await
    {
        Ok(done) => Redirect::to(&format!(
            "/triage?done=attached&to={}&n={}",
            urlencoding(&done.application_id),
            done.sequence
        ))
        .into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}

#[derive(Deserialize)]
pub struct DismissFields {
    reason: String,
}

pub async fn dismiss(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<DismissFields>,
) -> Response {
    let here = format!("/supplements/{id}");
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: &here,
    };
    match triage::dismiss(&app.store, form.user.principal(), id, &form.fields.reason).await {
        Ok(()) => Redirect::to("/triage?done=closed").into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}
