//! The operations page: consumer lag, business lag, readiness, failures,
//! and charts of the last hours drawn as inline SVG (no script; the
//! content security policy allows none).

use axum::response::Html;
use maud::{Markup, html};

use super::{Frame, channel_name, layout};
use crate::operations::{CHART_SPAN, Chart, Overview, PartitionRow};
use crate::web::texts::Texts;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;
/// Colours that stay apart for the common colour-vision deficiencies
/// (Okabe and Ito's palette).
const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

pub fn operations_page(frame: &Frame<'_>, o: &Overview) -> Html<String> {
    let t = frame.t;
    layout(
        frame,
        t.get("ops_title"),
        html! {
            h1 { (t.get("ops_title")) }
            p { (t.get("ops_intro")) }
            (health(t, o))
            h2 { (t.get("ops_groups")) }
            @if o.groups.is_empty() {
                p { (t.get("ops_no_figures")) }
            } @else {
                ul.groups {
                    @for g in &o.groups {
                        li { strong { (g.label("group")) } ": " (status_name(t, g.label("status"))) }
                    }
                }
            }
            h2 { (t.get("ops_partitions")) }
            @let behind: Vec<&PartitionRow> = o.partitions.iter().filter(|p| p.needs_attention()).collect();
            @if o.partitions.is_empty() {
                p { (t.get("ops_no_figures")) }
            } @else {
                @if behind.is_empty() {
                    p { (t.fill("ops_all_caught_up", &[("count", &o.partitions.len().to_string())])) }
                } @else {
                    (partition_table(t, &behind))
                }
                details {
                    summary { (t.fill("ops_all_partitions", &[("count", &o.partitions.len().to_string())])) }
                    (partition_table(t, &o.partitions.iter().collect::<Vec<_>>()))
                }
            }
            h2 { (t.get("ops_business")) }
            p { (t.get("ops_business_intro")) }
            @if o.business.is_empty() {
                p { (t.get("ops_nothing_waits")) }
            } @else {
                table {
                    (head(t, &["ops_col_stage", "ops_col_unit", "col_channel", "ops_col_waiting", "ops_col_oldest"]))
                    tbody {
                        @for b in &o.business {
                            tr {
                                td { (stage_name(t, &b.stage)) }
                                td { (b.unit) }
                                td { (channel_name(t, &b.channel)) }
                                td.num { (b.waiting) }
                                td.num { (duration(b.oldest_seconds)) }
                            }
                        }
                    }
                }
            }
            h2 { (t.get("ops_failures")) }
            ul {
                li { (t.fill("ops_receipts_failed", &[("count", &o.receipts_failed.to_string())])) }
                @if o.dead_letters.is_empty() {
                    li { (t.get("ops_no_dead_letters")) }
                }
                @for d in &o.dead_letters {
                    li { (t.fill("ops_dead_letters", &[("reason", d.label("reason")), ("count", &format!("{:.0}", d.value))])) }
                }
            }
            h2 { (t.fill("ops_last_hours", &[("hours", &(CHART_SPAN.as_secs() / 3600).to_string())])) }
            div.charts {
                @for chart in &o.charts { (chart_figure(t, chart)) }
            }
        },
    )
}

/// A table's header row, from the keys of its column names.
fn head(t: Texts, columns: &[&str]) -> Markup {
    html! {
        thead { tr {
            @for column in columns { th scope="col" { (t.get(column)) } }
        } }
    }
}

fn partition_table(t: Texts, rows: &[&PartitionRow]) -> Markup {
    html! {
        table {
            (head(t, &["ops_col_group", "ops_col_topic", "ops_col_partition", "ops_col_records", "ops_col_seconds", "ops_col_status"]))
            tbody {
                @for p in rows {
                    tr {
                        td { (p.group) }
                        td { (p.topic) }
                        td.num { (p.partition) }
                        td.num { (p.records) }
                        td.num { (duration(p.seconds)) }
                        td { (status_name(t, &p.status)) }
                    }
                }
            }
        }
    }
}

/// When Prometheus is not configured or does not answer.
pub fn operations_unavailable(frame: &Frame<'_>) -> Html<String> {
    let t = frame.t;
    layout(
        frame,
        t.get("ops_title"),
        html! {
            h1 { (t.get("ops_title")) }
            p.error role="alert" { (t.get("ops_unavailable")) }
        },
    )
}

fn health(t: Texts, o: &Overview) -> Markup {
    html! {
        @if o.down.is_empty() && o.not_ready.is_empty() {
            p.ok { (t.get("ops_all_ready")) }
        } @else {
            div.problems role="alert" {
                h2 { (t.get("ops_problems")) }
                ul {
                    @for d in &o.down {
                        li { (t.fill("ops_service_down", &[("service", d.label("job"))])) }
                    }
                    @for n in &o.not_ready {
                        li { (t.fill("ops_dependency_down", &[("service", n.label("job")), ("dependency", n.label("dependency"))])) }
                    }
                }
            }
        }
    }
}

fn status_name(t: Texts, status: &str) -> &'static str {
    match status {
        "ok" => t.get("ops_status_ok"),
        "warning" => t.get("ops_status_warning"),
        "stalled" => t.get("ops_status_stalled"),
        "stopped" => t.get("ops_status_stopped"),
        "no_members" => t.get("ops_status_no_members"),
        _ => t.get("ops_status_unknown"),
    }
}

fn stage_name(t: Texts, stage: &str) -> &'static str {
    match stage {
        "processing" => t.get("ops_stage_processing"),
        "triage" => t.get("ops_stage_triage"),
        "quarantine" => t.get("ops_stage_quarantine"),
        "receipt" => t.get("ops_stage_receipt"),
        "caseworker" => t.get("ops_stage_caseworker"),
        _ => t.get("ops_status_unknown"),
    }
}

/// Seconds as people read a wait: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

fn chart_figure(t: Texts, chart: &Chart) -> Markup {
    let title = t.get(chart.title);
    html! {
        figure.chart {
            figcaption { (title) " (" (chart.unit) ")" }
            @if chart.series.iter().all(|(_, points)| points.is_empty()) {
                p { (t.get("ops_no_figures")) }
            } @else {
                (svg(title, chart))
                ul.legend {
                    @for (i, (name, _)) in chart.series.iter().enumerate() {
                        li {
                            svg width="12" height="12" aria-hidden="true" {
                                rect width="12" height="12" fill=(PALETTE[i % PALETTE.len()]) {}
                            }
                            " " (if name.is_empty() { title } else { name.as_str() })
                        }
                    }
                }
            }
        }
    }
}

/// The chart's lines: time across, zero at the bottom, the largest value
/// at the top, labelled.
fn svg(title: &str, chart: &Chart) -> Markup {
    let points = chart.series.iter().flat_map(|(_, p)| p.iter());
    let (mut t0, mut t1, mut top) = (f64::MAX, f64::MIN, 0.0f64);
    for &(t, v) in points {
        t0 = t0.min(t);
        t1 = t1.max(t);
        top = top.max(v);
    }
    if top <= 0.0 {
        top = 1.0;
    }
    let span = (t1 - t0).max(1.0);
    let x = |t: f64| LEFT + (t - t0) / span * (WIDTH - LEFT - 8.0);
    let y = |v: f64| 8.0 + (1.0 - v / top) * (HEIGHT - BOTTOM - 8.0);
    html! {
        svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(title) {
            line x1=(LEFT) y1=(y(0.0)) x2=(WIDTH - 8.0) y2=(y(0.0)) stroke="#767676" {}
            line x1=(LEFT) y1="8" x2=(LEFT) y2=(y(0.0)) stroke="#767676" {}
            text x=(LEFT - 4.0) y=(y(top) + 4.0) text-anchor="end" font-size="11" { (axis_value(top)) }
            text x=(LEFT - 4.0) y=(y(0.0)) text-anchor="end" font-size="11" { "0" }
            @for (i, (_, series)) in chart.series.iter().enumerate() {
                polyline fill="none" stroke-width="2" stroke=(PALETTE[i % PALETTE.len()])
                    points=(series.iter().map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v))).collect::<Vec<_>>().join(" ")) {}
            }
        }
    }
}

fn axis_value(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(duration(0.4), "0 s");
        assert_eq!(duration(59.0), "59 s");
        assert_eq!(duration(600.0), "10 min");
        assert_eq!(duration(3.0 * 3600.0 + 300.0), "3 h 5 min");
        assert_eq!(duration(2.0 * 86400.0 + 4.0 * 3600.0), "2 d 4 h");
        assert_eq!(duration(-5.0), "0 s");
    }

    #[test]
    fn a_chart_spans_its_points_from_zero_to_the_largest() {
        let chart = Chart {
            title: "ops_chart_lag",
            unit: "s",
            series: vec![("w".into(), vec![(0.0, 0.0), (100.0, 50.0)])],
        };
        let markup = svg("lag", &chart).into_string();
        // First point at the left edge and the bottom, last at the right
        // edge and the top.
        assert!(
            markup.contains(r#"points="56.0,156.0 632.0,8.0""#),
            "{markup}"
        );
        assert!(markup.contains(">50<"), "{markup}");
    }
}
