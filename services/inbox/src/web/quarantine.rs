//! The quarantine pages and the answers to their forms.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::CheckedForm;
use super::pages::{self, Frame, QuarantineView};
use super::session::WebUser;
use super::{PageLang, web_error};
use crate::App;
use crate::api::PageParams;
use crate::error::ApiError;
use crate::quarantine;

#[derive(Deserialize)]
pub struct ListParams {
    after: Option<String>,
    /// What the last action did: asked, released, still_infected, rejected.
    done: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    PageLang(t): PageLang,
    user: WebUser,
    Query(p): Query<ListParams>,
) -> Response {
    let frame = Frame {
        t,
        session: Some(&user.session),
        here: "/quarantine",
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
    let page = match quarantine::page(&app.store, user.principal(), after, limit).await {
        Ok(page) => page,
        Err(e) => return web_error(&frame, e.into()),
    };
    // Only the fixed words of a known outcome: nothing from the address
    // reaches the page.
    let done = match p.done.as_deref() {
        Some("asked") => Some(t.get("release_asked_done")),
        Some("released") => Some(t.get("release_released_done")),
        Some("still_infected") => Some(t.get("release_infected_done")),
        Some("rejected") => Some(t.get("release_rejected_done")),
        _ => None,
    };
    pages::quarantine_page(
        &frame,
        &QuarantineView {
            page: &page,
            paged: after.is_some(),
            done,
        },
    )
    .into_response()
}

pub async fn file_page(
    State(app): State<App>,
    PageLang(t): PageLang,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let here = format!("/quarantine/{id}");
    let frame = Frame {
        t,
        session: Some(&user.session),
        here: &here,
    };
    match quarantine::one(&app.store, user.principal(), id).await {
        Ok(Some(entry)) => {
            pages::quarantined_file_page(&frame, &entry, user.principal().sub()).into_response()
        }
        Ok(None) => web_error(&frame, ApiError::NotFound),
        Err(e) => web_error(&frame, e.into()),
    }
}

#[derive(Deserialize)]
pub struct ReasonField {
    reason: String,
}

pub async fn analysis(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<ReasonField>,
) -> Response {
    let here = format!("/quarantine/{id}");
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: &here,
    };
    let file = match quarantine::open_for_analysis(
        &app.store,
        form.user.principal(),
        id,
        &form.fields.reason,
    )
    .await
    {
        Ok(file) => file,
        Err(e) => return web_error(&frame, e.into()),
    };
    match crate::download::serve(&app.objects, app.keys.clone(), file).await {
        Ok(r) => r,
        Err(e) => web_error(&frame, e),
    }
}

pub async fn request_release(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<ReasonField>,
) -> Response {
    let here = format!("/quarantine/{id}");
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: &here,
    };
    match quarantine::request_release(&app.store, form.user.principal(), id, &form.fields.reason)
        .await
    {
        Ok(_) => Redirect::to("/quarantine?done=asked").into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}

pub async fn approve(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<super::forms::NoFields>,
) -> Response {
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: "/quarantine",
    };
    match quarantine::approve(
        &app.store,
        &app.scanner,
        &app.objects,
        app.keys.clone(),
        form.user.principal(),
        id,
    )
    .await
    {
        Ok(a) if a.decision == "released" => {
            Redirect::to("/quarantine?done=released").into_response()
        }
        Ok(_) => Redirect::to("/quarantine?done=still_infected").into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}

#[derive(Deserialize)]
pub struct NoteField {
    note: String,
}

pub async fn reject(
    State(app): State<App>,
    PageLang(t): PageLang,
    Path(id): Path<Uuid>,
    form: CheckedForm<NoteField>,
) -> Response {
    let frame = Frame {
        t,
        session: Some(&form.user.session),
        here: "/quarantine",
    };
    match quarantine::reject(&app.store, form.user.principal(), id, &form.fields.note).await {
        Ok(()) => Redirect::to("/quarantine?done=rejected").into_response(),
        Err(e) => web_error(&frame, e.into()),
    }
}
