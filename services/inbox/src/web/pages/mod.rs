//! Pages rendered on the server (maud escapes every value), in the
//! signed-in person's language, with no script at all.

mod detail;
mod operations;
mod quarantine;
mod queue;
mod triage;

pub use detail::{DetailView, detail_page};
pub use operations::{operations_page, operations_unavailable};
pub use quarantine::{QuarantineView, quarantine_page, quarantined_file_page};
pub use queue::{QueueView, queue_page};
pub use triage::{TriageView, decide_forms, triage_page};

use axum::response::Html;
use chrono::{DateTime, Utc};
use intake_core::access::{Principal, Role};
use maud::{DOCTYPE, Markup, html};

use super::session::{Session, urlencoding};
use super::texts::{Lang, Texts};

/// What every page knows about who is looking.
pub struct Frame<'a> {
    pub t: Texts,
    pub session: Option<&'a Session>,
    /// The path of this page, to come back to after switching language.
    pub here: &'a str,
}

pub fn layout(frame: &Frame<'_>, title: &str, body: Markup) -> Html<String> {
    let t = frame.t;
    let markup = html! {
        (DOCTYPE)
        html lang=(t.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (t.get("app_name")) }
                link rel="stylesheet" href="/static/inbox.css";
            }
            body {
                a.skip href="#main" { (t.get("skip_to_content")) }
                header.top {
                    p.brand { a href="/" { (t.get("app_name")) } }
                    nav aria-label=(t.get("language")) {
                        ul.langs {
                            @for lang in Lang::ALL {
                                li {
                                    @if lang == t.lang {
                                        span aria-current="true" lang=(lang.code()) { (lang.native_name()) }
                                    } @else {
                                        a href={ "/lang/" (lang.code()) "?back=" (urlencoding(frame.here)) }
                                            lang=(lang.code()) hreflang=(lang.code()) { (lang.native_name()) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(session) = frame.session {
                        @let sections = sections(t, &session.principal);
                        @if sections.len() > 1 {
                            nav aria-label=(t.get("nav_main")) {
                                ul.sections {
                                    @for (path, name) in &sections {
                                        li {
                                            @if frame.here.split('?').next() == Some(*path) {
                                                span aria-current="page" { (name) }
                                            } @else {
                                                a href=(path) { (name) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            span { (t.fill("signed_in_as", &[("name", session.principal.display_name())])) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button type="submit" { (t.get("sign_out")) }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    };
    Html(markup.into_string())
}

/// The parts of the inbox a person's roles open, first the one they land on.
pub fn sections(t: Texts, who: &Principal) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if who.works_queues() {
        out.push(("/queue", t.get("nav_queue")));
    }
    if who.has(Role::TriageOfficer) {
        out.push(("/triage", t.get("nav_triage")));
    }
    if who.has(Role::SecurityOfficer) {
        out.push(("/quarantine", t.get("nav_quarantine")));
    }
    if who.has(Role::Operations) {
        out.push(("/operations", t.get("nav_operations")));
    }
    out
}

/// A page for when nothing else can be shown (before the language is
/// known, or the sign-in itself failed).
pub fn plain_error(title: &str, message: &str) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { (title) }
                    link rel="stylesheet" href="/static/inbox.css";
                }
                body { main #main { h1 { (title) } p { (message) } p { a href="/" { "intake inbox" } } } }
            }
        }
        .into_string(),
    )
}

pub fn sign_in_page(frame: &Frame<'_>) -> Html<String> {
    let t = frame.t;
    layout(
        frame,
        t.get("sign_in"),
        html! {
            h1 { (t.get("app_name")) }
            p { (t.get("sign_in_intro")) }
            p { a.button href="/login" { (t.get("sign_in")) } }
        },
    )
}

pub fn message_page(frame: &Frame<'_>, title_key: &str, message: &str) -> Html<String> {
    let t = frame.t;
    layout(
        frame,
        t.get(title_key),
        html! {
            h1 { (t.get(title_key)) }
            p { (message) }
            p { a href="/queue" { (t.get("back_to_queue")) } }
        },
    )
}

/// Times as people in Finland read them.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Helsinki)
        .format("%-d.%-m.%Y %H.%M")
        .to_string()
}

pub fn channel_name(t: Texts, channel: &str) -> &'static str {
    match channel {
        "securemail" => t.get("channel_securemail"),
        "enter_finland" => t.get("channel_enter_finland"),
        _ => "",
    }
}

/// A flag's words; flags are `{"kind": ...}` objects from the worker.
pub fn flag_names(t: Texts, flags: Option<&serde_json::Value>) -> Vec<&'static str> {
    flags
        .and_then(|f| f.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|f| f.get("kind").and_then(|k| k.as_str()))
                .map(|kind| match kind {
                    "possible_resend" => t.get("flag_possible_resend"),
                    "sender_not_party" => t.get("flag_sender_not_party"),
                    "type_mismatch" => t.get("flag_type_mismatch"),
                    "other_application_mentioned" => t.get("flag_other_application_mentioned"),
                    "parts_refused" => t.get("flag_parts_refused"),
                    "infected_after_delivery" => t.get("flag_infected_after_delivery"),
                    _ => "?",
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_expect() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(400_000_000), "400.0 MB");
    }

    #[test]
    fn times_are_shown_in_helsinki() {
        let at = DateTime::parse_from_rfc3339("2026-06-01T09:05:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(local_time(at), "1.6.2026 12.05");
    }
}
