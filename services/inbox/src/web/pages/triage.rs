//! Triage: the list of what waits, and the attach and close forms shown
//! on a triaged supplement's detail page.

use axum::response::Html;
use maud::{Markup, html};

use super::{Frame, channel_name, layout, local_time};
use crate::detail::Supplement;
use crate::triage::TriagePage;
use crate::web::texts::Texts;

pub struct TriageView<'a> {
    pub page: &'a TriagePage,
    pub paged: bool,
    /// What the last decision did, to say so at the top.
    pub done: Option<&'a str>,
}

pub fn triage_page(frame: &Frame<'_>, view: &TriageView<'_>) -> Html<String> {
    let t = frame.t;
    let title = t.get("triage_title");
    let body = html! {
        h1 { (title) }
        p { (t.get("triage_intro")) }
        @if let Some(done) = view.done {
            p.notice role="status" { (done) }
        }
        p { (t.fill("queue_total", &[("count", &view.page.total.to_string())])) }
        @if view.page.entries.is_empty() {
            p { (t.get("triage_empty")) }
        } @else {
            table {
                thead {
                    tr {
                        th scope="col" { (t.get("col_arrived")) }
                        th scope="col" { (t.get("col_channel")) }
                        th scope="col" { (t.get("col_sender")) }
                        th scope="col" { (t.get("col_reasons")) }
                        th scope="col" { (t.get("col_candidates")) }
                        th scope="col" { (t.get("col_files")) }
                    }
                }
                tbody {
                    @for e in &view.page.entries {
                        tr {
                            td {
                                a href={ "/supplements/" (e.supplement_id) } {
                                    (local_time(e.arrived_at))
                                    span.visually-hidden { ": " (t.get("open")) }
                                }
                            }
                            td { (channel_name(t, e.channel.as_deref().unwrap_or(""))) }
                            td { (e.sender.as_deref().unwrap_or("")) }
                            td { (reasons(t, e.triage_reasons.as_ref())) }
                            td { (e.triage_candidates.as_deref().unwrap_or_default().join(", ")) }
                            td { (e.files.unwrap_or(0)) }
                        }
                    }
                }
            }
        }
        nav.pages aria-label=(t.get("pages")) {
            @if view.paged { a href="/triage" { (t.get("first_page")) } }
            @if let Some(next) = &view.page.next {
                a href={ "/triage?after=" (next) } { (t.get("next_page")) }
            }
        }
    };
    layout(frame, title, body)
}

/// The worker's reasons in words.
pub fn reasons(t: Texts, reasons: Option<&serde_json::Value>) -> Markup {
    let items: Vec<String> = reasons
        .and_then(|r| r.as_array())
        .map(|items| items.iter().map(|r| reason(t, r)).collect())
        .unwrap_or_default();
    html! {
        @if !items.is_empty() {
            ul.reasons { @for r in &items { li { (r) } } }
        }
    }
}

fn reason(t: Texts, r: &serde_json::Value) -> String {
    let field = |name: &str| r.get(name).and_then(|v| v.as_str()).unwrap_or("");
    match r.get("kind").and_then(|k| k.as_str()).unwrap_or("") {
        "no_identifier" => t.get("reason_no_identifier").to_owned(),
        "unknown_application" => t.fill(
            "reason_unknown_application",
            &[("application", field("application_id"))],
        ),
        "ambiguous" => t.get("reason_ambiguous").to_owned(),
        "sender_not_party" => t.fill(
            "reason_sender_not_party",
            &[("application", field("application_id"))],
        ),
        "automatic_message" => t.fill("reason_automatic_message", &[("what", field("what"))]),
        "unprocessable" => t.get("reason_unprocessable").to_owned(),
        _ => "?".to_owned(),
    }
}

/// The triage officer's two decisions, under a triaged supplement.
pub fn decide_forms(frame: &Frame<'_>, s: &Supplement) -> Markup {
    let t = frame.t;
    let csrf = frame.session.map(|s| s.csrf.as_str()).unwrap_or("");
    let candidates = s.triage_candidates.as_deref().unwrap_or_default();
    let suggested = match candidates {
        [one] => one.as_str(),
        _ => "",
    };
    html! {
        h2 { (t.get("triage_decide")) }
        (reasons(t, s.triage_reasons.as_ref()))
        @if s.outcome == "triage" {
            form.decide method="post" action={ "/supplements/" (s.supplement_id) "/attach" } {
                input type="hidden" name="csrf" value=(csrf);
                @if candidates.len() > 1 {
                    p { (t.get("col_candidates")) ": " (candidates.join(", ")) }
                }
                p {
                    label for="application_id" { (t.get("attach_application")) }
                    input #application_id type="text" name="application_id" required
                        pattern="MIG-[0-9]{4}-[0-9]{6}-[0-9]" autocomplete="off"
                        value=(suggested) aria-describedby="application_id_hint";
                    span #application_id_hint.hint { (t.get("attach_hint")) }
                }
                p {
                    label for="attach_note" { (t.get("attach_note")) }
                    textarea #attach_note name="note" maxlength="2000" rows="2" {}
                }
                button type="submit" { (t.get("attach")) }
            }
        }
        h3 { (t.get("dismiss_heading")) }
        form.decide method="post" action={ "/supplements/" (s.supplement_id) "/dismiss" } {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="dismiss_reason" { (t.get("dismiss_reason")) }
                textarea #dismiss_reason name="reason" required maxlength="2000" rows="2" {}
            }
            button.secondary type="submit" { (t.get("dismiss")) }
        }
    }
}
