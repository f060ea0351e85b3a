//! The detail page: what arrived, its text as plain text (never rendered
//! as HTML), its files with their verdicts, links and gaps.

use axum::response::Html;
use maud::html;

use super::{Frame, channel_name, flag_names, human_size, layout, local_time};
use crate::detail::Detail;

pub struct DetailView<'a> {
    pub detail: &'a Detail,
    /// The message text, decoded; `None` when there is none.
    pub text: Option<&'a str>,
    pub text_cut: bool,
}

pub fn detail_page(frame: &Frame<'_>, view: &DetailView<'_>) -> Html<String> {
    let t = frame.t;
    let s = &view.detail.supplement;
    let csrf = frame.session.map(|s| s.csrf.as_str()).unwrap_or("");
    let title = match (&s.application_id, s.sequence) {
        (Some(app), Some(n)) => t.fill(
            "detail_title",
            &[("number", &n.to_string()), ("application", app)],
        ),
        _ => t.get("detail_title_plain").to_owned(),
    };
    let in_triage = matches!(s.outcome.as_str(), "triage" | "unprocessable");
    let (back, back_text) = match &s.unit {
        _ if in_triage => ("/triage".to_owned(), t.get("back_to_triage")),
        Some(unit) => (
            format!("/queue?unit={}", crate::web::session::urlencoding(unit)),
            t.get("back_to_queue"),
        ),
        None => ("/queue".to_owned(), t.get("back_to_queue")),
    };
    let body = html! {
        p { a href=(back) { (back_text) } }
        h1 { (title) }
        @if !view.detail.gaps.is_empty() {
            div.gaps role="note" {
                p { (t.get("gaps")) }
                ul {
                    @for g in &view.detail.gaps {
                        li {
                            @let at = local_time(g.arrived_at);
                            @match g.stage.as_str() {
                                "quarantined" => (t.fill("gap_quarantined", &[("at", &at)])),
                                "unprocessable" => (t.fill("gap_unprocessable", &[("at", &at)])),
                                _ => (t.fill("gap_processing", &[("at", &at)])),
                            }
                        }
                    }
                }
            }
        }
        dl.meta {
            dt { (t.get("field_arrived")) } dd { (local_time(s.arrived_at)) }
            dt { (t.get("field_channel")) } dd { (channel_name(t, s.channel.as_deref().unwrap_or(""))) }
            dt { (t.get("field_sender")) } dd { (s.sender.as_deref().unwrap_or("")) }
            dt { (t.get("field_application")) } dd { (s.application_id.as_deref().unwrap_or("")) }
            @if let Some(n) = s.sequence {
                dt { (t.get("field_sequence")) } dd { (n) }
            }
            @if let Some(r) = &s.request_id {
                dt { (t.get("field_request")) } dd { (r) }
            }
            @if let Some(r) = &s.receipt_reference {
                dt { (t.get("field_receipt")) } dd { (r) }
            }
            dt { (t.get("field_state")) }
            dd {
                @if let Some(who) = &s.handled_by { (t.fill("handled_by", &[("who", who)])) }
                @else if let (Some(who), Some(until)) = (&s.leased_by, s.lease_expires_at) {
                    @if until > chrono::Utc::now() {
                        (t.fill("held_by", &[("who", who), ("until", &local_time(until))]))
                    } @else { (t.get("waiting")) }
                }
                @else { (t.get("waiting")) }
            }
        }
        @let flags = flag_names(t, s.flags.as_ref());
        @if !flags.is_empty() {
            h2 { (t.get("flags")) }
            ul.flags { @for f in flags { li { (f) } } }
        }
        @if let Some(original) = s.possible_resend_of {
            p { (t.get("resend_of")) " " a href={ "/supplements/" (original) } { (original) } }
        }
        @if !view.detail.duplicates.is_empty() {
            h2 { (t.get("duplicates")) }
            ul { @for d in &view.detail.duplicates { li { a href={ "/supplements/" (d) } { (d) } } } }
        }
        h2 { (t.get("message_text")) }
        @match view.text {
            Some(text) => {
                pre.text { (text) }
                @if view.text_cut { p.notice { (t.get("text_cut")) } }
            }
            None => p { (t.get("no_text")) },
        }
        h2 { (t.get("files")) }
        @if view.detail.files.is_empty() {
            p { (t.get("no_files")) }
        } @else {
            table.files {
                thead {
                    tr {
                        th scope="col" { (t.get("file_name")) }
                        th scope="col" { (t.get("file_type")) }
                        th scope="col" { (t.get("file_size")) }
                        th scope="col" { (t.get("file_verdict")) }
                        th scope="col" { (t.get("download")) }
                    }
                }
                tbody {
                    @for f in &view.detail.files {
                        tr {
                            td { (f.filename) }
                            td { (f.detected_type.as_deref().unwrap_or("")) }
                            td { (human_size(f.size)) }
                            td {
                                (verdict(frame, &f.verdict))
                                @if let Some(why) = &f.verdict_detail { ": " (why) }
                                @if f.released { " (" (t.get("released")) ")" }
                            }
                            td {
                                @if f.downloadable {
                                    a href={ "/files/" (f.attachment_id) } download {
                                        (t.get("download"))
                                        span.visually-hidden { ": " (f.filename) }
                                    }
                                } @else {
                                    (t.get("not_downloadable"))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if in_triage {
            (super::decide_forms(frame, s))
        }
        @if s.handled_at.is_none() && s.outcome == "routed" {
            form method="post" action={ "/supplements/" (s.supplement_id) "/handled" } {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { (t.get("mark_handled")) }
            }
        }
    };
    layout(frame, &title, body)
}

fn verdict(frame: &Frame<'_>, verdict: &str) -> &'static str {
    let t = frame.t;
    match verdict {
        "clean" => t.get("verdict_clean"),
        "infected" => t.get("verdict_infected"),
        "dangerous" => t.get("verdict_dangerous"),
        "refused" => t.get("verdict_refused"),
        _ => "?",
    }
}
