//! Quarantine pages: the list of refused files and one file with the
//! analysis and release forms.

use axum::response::Html;
use maud::html;

use super::{Frame, channel_name, human_size, layout, local_time};
use crate::quarantine::{QuarantineEntry, QuarantinePage};

pub struct QuarantineView<'a> {
    pub page: &'a QuarantinePage,
    pub paged: bool,
    pub done: Option<&'a str>,
}

pub fn quarantine_page(frame: &Frame<'_>, view: &QuarantineView<'_>) -> Html<String> {
    let t = frame.t;
    let title = t.get("quarantine_title");
    let body = html! {
        h1 { (title) }
        p { (t.get("quarantine_intro")) }
        @if let Some(done) = view.done {
            p.notice role="status" { (done) }
        }
        p { (t.fill("quarantine_total", &[("count", &view.page.total.to_string())])) }
        @if view.page.entries.is_empty() {
            p { (t.get("quarantine_empty")) }
        } @else {
            table {
                thead {
                    tr {
                        th scope="col" { (t.get("file_name")) }
                        th scope="col" { (t.get("file_verdict")) }
                        th scope="col" { (t.get("file_type")) }
                        th scope="col" { (t.get("file_size")) }
                        th scope="col" { (t.get("col_arrived")) }
                        th scope="col" { (t.get("col_release")) }
                    }
                }
                tbody {
                    @for e in &view.page.entries {
                        tr {
                            td { a href={ "/quarantine/" (e.attachment_id) } { (file_name(frame, e)) } }
                            td { (verdict_text(frame, e)) }
                            td { (e.detected_type.as_deref().unwrap_or("")) }
                            td { (human_size(e.size)) }
                            td { (local_time(e.arrived_at)) }
                            td {
                                @if let Some(by) = &e.requested_by {
                                    (t.fill("release_asked_by", &[("who", by)]))
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pages aria-label=(t.get("pages")) {
            @if view.paged { a href="/quarantine" { (t.get("first_page")) } }
            @if let Some(next) = &view.page.next {
                a href={ "/quarantine?after=" (next) } { (t.get("next_page")) }
            }
        }
    };
    layout(frame, title, body)
}

/// The name, or for a confidential application's file only that it is one.
fn file_name(frame: &Frame<'_>, e: &QuarantineEntry) -> String {
    match &e.filename {
        Some(name) => name.clone(),
        None => frame.t.get("confidential_file").to_owned(),
    }
}

fn verdict_text(frame: &Frame<'_>, e: &QuarantineEntry) -> String {
    let t = frame.t;
    let word = match e.verdict.as_str() {
        "infected" => t.get("verdict_infected"),
        "dangerous" => t.get("verdict_dangerous"),
        _ => t.get("verdict_refused"),
    };
    match &e.verdict_detail {
        Some(detail) => format!("{word}: {detail}"),
        None => word.to_owned(),
    }
}

pub fn quarantined_file_page(frame: &Frame<'_>, e: &QuarantineEntry, me: &str) -> Html<String> {
    let t = frame.t;
    let csrf = frame.session.map(|s| s.csrf.as_str()).unwrap_or("");
    let title = t.fill("quarantined_file_title", &[("name", &file_name(frame, e))]);
    let body = html! {
        p { a href="/quarantine" { (t.get("back_to_quarantine")) } }
        h1 { (title) }
        dl.meta {
            dt { (t.get("file_verdict")) } dd { (verdict_text(frame, e)) }
            dt { (t.get("file_declared_type")) } dd { (e.declared_type.as_deref().unwrap_or("")) }
            dt { (t.get("file_type")) } dd { (e.detected_type.as_deref().unwrap_or("")) }
            dt { (t.get("file_size")) } dd { (human_size(e.size)) }
            dt { "SHA-256" } dd { code { (e.sha256) } }
            dt { (t.get("field_arrived")) } dd { (local_time(e.arrived_at)) }
            dt { (t.get("field_channel")) } dd { (channel_name(t, &e.channel)) }
            dt { (t.get("field_unit")) } dd { (e.unit.as_deref().unwrap_or("")) }
        }
        h2 { (t.get("analysis")) }
        p { (t.get("analysis_intro")) }
        form.decide method="post" action={ "/quarantine/" (e.attachment_id) "/analysis" } {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="analysis_reason" { (t.get("analysis_reason")) }
                textarea #analysis_reason name="reason" required maxlength="2000" rows="2" {}
            }
            button.secondary type="submit" { (t.get("analysis_open")) }
        }
        h2 { (t.get("release")) }
        @match (&e.request_id, &e.requested_by) {
            (Some(request), Some(by)) => {
                p.notice {
                    (t.fill("release_asked_by", &[("who", by)]))
                    @if let Some(at) = e.requested_at { " (" (local_time(at)) ")" }
                    ": " (e.request_reason.as_deref().unwrap_or(""))
                }
                @if by != me {
                    p { (t.get("release_approve_intro")) }
                    form.decide method="post" action={ "/release-requests/" (request) "/approve" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (t.get("release_approve")) }
                    }
                } @else {
                    p { (t.get("release_needs_second")) }
                }
                form.decide method="post" action={ "/release-requests/" (request) "/reject" } {
                    input type="hidden" name="csrf" value=(csrf);
                    p {
                        label for="reject_note" {
                            @if by == me { (t.get("release_withdraw_note")) } @else { (t.get("release_reject_note")) }
                        }
                        textarea #reject_note name="note" required maxlength="2000" rows="2" {}
                    }
                    button.secondary type="submit" {
                        @if by == me { (t.get("release_withdraw")) } @else { (t.get("release_reject")) }
                    }
                }
            }
            _ => {
                @if matches!(e.supplement_outcome.as_str(), "routed" | "duplicate") {
                    form.decide method="post" action={ "/quarantine/" (e.attachment_id) "/release-requests" } {
                        input type="hidden" name="csrf" value=(csrf);
                        p {
                            label for="release_reason" { (t.get("release_reason")) }
                            textarea #release_reason name="reason" required maxlength="2000" rows="3" {}
                        }
                        button type="submit" { (t.get("release_ask")) }
                    }
                } @else {
                    p { (t.get("release_whole_message")) }
                }
            }
        }
    };
    layout(frame, &title, body)
}
