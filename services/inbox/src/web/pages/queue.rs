//! The queue page: one unit's supplements in arrival order, filters, "take
//! next", and confidential ones as placeholders in their place.

use axum::response::Html;
use maud::{Markup, html};

use super::{Frame, channel_name, flag_names, layout, local_time};
use crate::queue::{QueueEntry, QueuePage};
use crate::web::session::urlencoding;

pub struct QueueView<'a> {
    pub page: &'a QueuePage,
    pub units: Vec<String>,
    pub channel: Option<&'a str>,
    pub flag: Option<&'a str>,
    pub handled: Option<bool>,
    /// The page started after a cursor (not the first page).
    pub paged: bool,
    /// "Take next" found nothing.
    pub nothing_to_take: bool,
}

const CHANNELS: [&str; 2] = ["securemail", "enter_finland"];
const FLAGS: [&str; 5] = [
    "possible_resend",
    "sender_not_party",
    "type_mismatch",
    "other_application_mentioned",
    "parts_refused",
];

pub fn queue_page(frame: &Frame<'_>, view: &QueueView<'_>) -> Html<String> {
    let t = frame.t;
    let unit = &view.page.unit;
    let csrf = frame.session.map(|s| s.csrf.as_str()).unwrap_or("");
    let title = t.fill("queue_title", &[("unit", unit)]);
    let body = html! {
        h1 { (title) }
        p { (t.get("queue_intro")) }
        @if view.units.len() > 1 {
            nav aria-label=(t.get("nav_queue")) {
                ul.units {
                    @for u in &view.units {
                        li {
                            @if u == unit { span aria-current="page" { (u) } }
                            @else { a href={ "/queue?unit=" (urlencoding(u)) } { (u) } }
                        }
                    }
                }
            }
        }
        form.take method="post" action="/queue/take-next" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="unit" value=(unit);
            button type="submit" { (t.get("take_next")) }
        }
        @if view.nothing_to_take {
            p.notice role="status" { (t.get("nothing_to_take")) }
        }
        (filters(frame, view))
        p role="status" { (t.fill("queue_total", &[("count", &view.page.total.to_string())])) }
        @if view.page.entries.is_empty() {
            p { (t.get("queue_empty")) }
        } @else {
            table.queue {
                caption.visually-hidden { (title) }
                thead {
                    tr {
                        th scope="col" { (t.get("col_arrived")) }
                        th scope="col" { (t.get("col_application")) }
                        th scope="col" { (t.get("col_sequence")) }
                        th scope="col" { (t.get("col_channel")) }
                        th scope="col" { (t.get("col_sender")) }
                        th scope="col" { (t.get("col_flags")) }
                        th scope="col" { (t.get("col_files")) }
                        th scope="col" { (t.get("col_state")) }
                    }
                }
                tbody {
                    @for e in &view.page.entries { (row(frame, e)) }
                }
            }
        }
        nav.pages aria-label=(t.get("pages")) {
            @if view.paged {
                a href={ "/queue?" (filter_query(view, None)) } { (t.get("first_page")) }
            }
            @if let Some(next) = &view.page.next {
                a href={ "/queue?" (filter_query(view, Some(next))) } rel="next" { (t.get("next_page")) }
            }
        }
    };
    layout(frame, &title, body)
}

fn row(frame: &Frame<'_>, e: &QueueEntry) -> Markup {
    let t = frame.t;
    let arrived = local_time(e.arrived_at);
    html! {
        @if e.readable {
            tr {
                td { a href={ "/supplements/" (e.supplement_id) } { (arrived) } }
                td { (e.application_id.as_deref().unwrap_or("")) }
                td { (e.sequence.map(|s| s.to_string()).unwrap_or_default()) }
                td { (channel_name(t, e.channel.as_deref().unwrap_or(""))) }
                td { (e.sender.as_deref().unwrap_or("")) }
                td { (flag_names(t, e.flags.as_ref()).join(", ")) }
                td { (e.files.unwrap_or(0)) }
                td { (state(frame, e)) }
            }
        } @else {
            tr.placeholder {
                td { (arrived) }
                td colspan="6" {
                    @match &e.assigned_to {
                        Some(who) => (t.fill("confidential_placeholder", &[("who", who)])),
                        None => (t.get("confidential_unassigned")),
                    }
                }
                td { (state(frame, e)) }
            }
        }
    }
}

fn state(frame: &Frame<'_>, e: &QueueEntry) -> String {
    let t = frame.t;
    if let Some(who) = &e.handled_by {
        return t.fill("handled_by", &[("who", who)]);
    }
    match (&e.leased_by, e.lease_expires_at) {
        (Some(who), Some(until)) if until > chrono::Utc::now() => {
            t.fill("held_by", &[("who", who), ("until", &local_time(until))])
        }
        _ => t.get("waiting").to_owned(),
    }
}

fn filters(frame: &Frame<'_>, view: &QueueView<'_>) -> Markup {
    let t = frame.t;
    let handled = match view.handled {
        None => "",
        Some(false) => "false",
        Some(true) => "true",
    };
    html! {
        form.filters method="get" action="/queue" {
            fieldset {
                legend { (t.get("filters")) }
                input type="hidden" name="unit" value=(view.page.unit);
                label for="f-channel" { (t.get("filter_channel")) }
                select #f-channel name="channel" {
                    option value="" { (t.get("filter_any")) }
                    @for c in CHANNELS {
                        option value=(c) selected[view.channel == Some(c)] { (channel_name(t, c)) }
                    }
                }
                label for="f-flag" { (t.get("filter_flag")) }
                select #f-flag name="flag" {
                    option value="" { (t.get("filter_any")) }
                    @for f in FLAGS {
                        option value=(f) selected[view.flag == Some(f)] {
                            (flag_names(t, Some(&serde_json::json!([{ "kind": f }]))).join(""))
                        }
                    }
                }
                label for="f-state" { (t.get("filter_state")) }
                select #f-state name="handled" {
                    option value="" selected[handled.is_empty()] { (t.get("filter_any")) }
                    option value="false" selected[handled == "false"] { (t.get("state_waiting")) }
                    option value="true" selected[handled == "true"] { (t.get("state_handled")) }
                }
                button type="submit" { (t.get("filter_apply")) }
            }
        }
    }
}

fn filter_query(view: &QueueView<'_>, after: Option<&str>) -> String {
    let mut q = format!("unit={}", urlencoding(&view.page.unit));
    if let Some(c) = view.channel {
        q.push_str(&format!("&channel={c}"));
    }
    if let Some(f) = view.flag {
        q.push_str(&format!("&flag={f}"));
    }
    if let Some(h) = view.handled {
        q.push_str(&format!("&handled={h}"));
    }
    if let Some(a) = after {
        q.push_str(&format!("&after={}", urlencoding(a)));
    }
    q
}
