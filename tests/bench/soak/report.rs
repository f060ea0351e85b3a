//! Writes the soak's figures under `target/soak/<storage>-<broker>/`: every sample
//! as JSON lines, a markdown table per phase and a chart over time.

use std::fmt::Write as _;
use std::path::Path;

use intake_tests::chart::{escape, render_png};
use serde::Serialize;

use super::{Phase, Plan, Sample};

#[derive(Debug, Serialize)]
pub struct Summary {
    pub plan: Plan,
    pub produced: u64,
    pub produce_failed: u64,
    pub consumed: u64,
    pub load_seconds: f64,
    pub phases: Vec<PhaseFigures>,
    /// Steps of the soak that failed (a service that did not come up).
    pub incidents: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PhaseFigures {
    pub phase: Phase,
    pub seconds: f64,
    pub samples: usize,
    pub failed_requests: usize,
    pub metadata: Spread,
    pub produce: Spread,
    pub fetch: Spread,
    pub join: Spread,
    pub broker_cpu_percent_median: Option<f64>,
    pub broker_rss_mib_max: Option<f64>,
    pub store_mib_at_end: Option<f64>,
    pub services_not_ready_samples: usize,
}

/// Median and worst of the requests that answered, in milliseconds.
#[derive(Debug, Default, Serialize)]
pub struct Spread {
    pub median: Option<f64>,
    pub max: Option<f64>,
}

fn spread(values: impl Iterator<Item = Option<f64>>) -> Spread {
    let mut answered: Vec<f64> = values.flatten().collect();
    answered.sort_by(f64::total_cmp);
    Spread {
        median: answered.get(answered.len() / 2).copied(),
        max: answered.last().copied(),
    }
}

pub fn phases(samples: &[Sample]) -> Vec<PhaseFigures> {
    Phase::ALL
        .iter()
        .filter_map(|phase| {
            let of: Vec<&Sample> = samples.iter().filter(|s| s.phase == *phase).collect();
            let (first, last) = (of.first()?, of.last()?);
            Some(PhaseFigures {
                phase: *phase,
                seconds: last.seconds - first.seconds,
                samples: of.len(),
                failed_requests: of.iter().map(|s| s.latency.failures()).sum(),
                metadata: spread(of.iter().map(|s| s.latency.metadata_ms)),
                produce: spread(of.iter().map(|s| s.latency.produce_ms)),
                fetch: spread(of.iter().map(|s| s.latency.fetch_ms)),
                join: spread(of.iter().map(|s| s.latency.join_ms)),
                broker_cpu_percent_median: spread(of.iter().map(|s| s.broker.broker_cpu_percent))
                    .median,
                broker_rss_mib_max: spread(of.iter().map(|s| s.broker.broker_rss_mib)).max,
                store_mib_at_end: last.broker.store_mib,
                services_not_ready_samples: of.iter().filter(|s| !s.services_ready).count(),
            })
        })
        .collect()
}

pub fn write(dir: &Path, summary: &Summary, samples: &[Sample]) {
    std::fs::create_dir_all(dir).expect("soak directory");
    let lines: String = samples
        .iter()
        .map(|s| serde_json::to_string(s).expect("json") + "\n")
        .collect();
    std::fs::write(dir.join("samples.jsonl"), lines).expect("samples.jsonl");
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(summary).expect("json"),
    )
    .expect("summary.json");
    std::fs::write(dir.join("summary.md"), markdown(summary)).expect("summary.md");
    let svg = dir.join("soak.svg");
    std::fs::write(&svg, chart(&summary.plan, samples)).expect("soak.svg");
    match render_png(&svg, &dir.join("soak.png"), WIDTH as u32, HEIGHT as u32) {
        Ok(()) => println!(
            "soak figures in {}/summary.{{json,md}}, soak.png",
            dir.display()
        ),
        Err(why) => println!("soak figures in {} (no PNG: {why})", dir.display()),
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

fn incidents(incidents: &[String]) -> String {
    if incidents.is_empty() {
        return String::new();
    }
    let list: String = incidents.iter().map(|i| format!("- {i}\n")).collect();
    format!("Steps that failed:\n\n{list}\n")
}

fn markdown(s: &Summary) -> String {
    let mut out = format!(
        "# Broker soak ({} store, {} broker)\n\n{} of {} events of {} bytes produced ({} failed) in {:.0} s \
         ({:.0}/s offered), {} consumed.\n\nLatencies in ms (median / max of the requests that \
         answered); a request that failed or took over {} s counts in *failed*.\n\n{}\
         | phase | s | samples | failed | metadata | produce | fetch | join group | broker CPU % (median) | broker RSS MiB (max) | store MiB (end) | services not ready |\n\
         |---|---:|---:|---:|---|---|---|---|---:|---:|---:|---:|\n",
        s.plan.storage,
        s.plan.broker,
        s.produced,
        s.plan.events,
        s.plan.event_bytes,
        s.produce_failed,
        s.load_seconds,
        s.plan.rate_per_second,
        s.consumed,
        super::probe::TIMEOUT.as_secs(),
        incidents(&s.incidents),
    );
    for p in &s.phases {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} | {} | {} | {} |",
            p.phase.label(),
            p.seconds,
            p.samples,
            p.failed_requests,
            ms(p.metadata.median),
            ms(p.metadata.max),
            ms(p.produce.median),
            ms(p.produce.max),
            ms(p.fetch.median),
            ms(p.fetch.max),
            ms(p.join.median),
            ms(p.join.max),
            ms(p.broker_cpu_percent_median),
            ms(p.broker_rss_mib_max),
            ms(p.store_mib_at_end),
            p.services_not_ready_samples,
        );
    }
    out
}

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 760.0;
const LEFT: f64 = 70.0;
const PANEL: f64 = 200.0;

/// Three panels over the same time axis: request latencies (log scale,
/// failures drawn at the top), broker CPU, broker memory and store size;
/// phases are bands with their names.
fn chart(plan: &Plan, samples: &[Sample]) -> String {
    let end = samples.last().map_or(1.0, |s| s.seconds).max(1.0);
    let x = |t: f64| LEFT + t / end * (WIDTH - LEFT - 20.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">Broker soak, {} store, {} broker: {} events of {} B at {}/s, then topic deletion, service restarts, broker restart</text>"#,
        escape(&plan.storage),
        escape(&plan.broker),
        plan.events,
        plan.event_bytes,
        plan.rate_per_second
    );
    let tops = [40.0, 40.0 + PANEL + 40.0, 40.0 + 2.0 * (PANEL + 40.0)];
    // Phase bands.
    let mut start = 0usize;
    for (i, shade) in Phase::ALL.iter().zip(["#f4f4f4", "#ffffff"].iter().cycle()) {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.phase == *i).collect();
        let (Some(first), Some(last)) = (of.first(), of.last()) else {
            continue;
        };
        let (x0, x1) = (
            x(first.seconds),
            x(last.seconds).max(x(first.seconds) + 2.0),
        );
        let _ = write!(
            svg,
            r##"<rect x="{x0}" y="30" width="{w}" height="{h}" fill="{shade}"/><text x="{tx}" y="{ty}" font-size="11" fill="#555">{label}</text>"##,
            w = x1 - x0,
            h = HEIGHT - 50.0,
            tx = x0 + 2.0,
            ty = HEIGHT - 8.0 - 12.0 * (start % 2) as f64,
            label = i.label()
        );
        start += 1;
    }
    // Latencies, log scale from 1 ms to 30 s.
    let top = tops[0];
    let log_y = |ms: f64| {
        let f = (ms.clamp(1.0, 30_000.0).log10()) / 30_000f64.log10();
        top + PANEL - f * PANEL
    };
    axis(
        &mut svg,
        top,
        "request ms (log)",
        &[
            (1.0, "1"),
            (10.0, "10"),
            (100.0, "100"),
            (1000.0, "1 s"),
            (10_000.0, "10 s"),
        ]
        .map(|(v, l)| (log_y(v), l.to_string())),
    );
    let series: [(&str, &str, fn(&Sample) -> Option<f64>); 4] = [
        ("metadata", "#3b6ea8", |s| s.latency.metadata_ms),
        ("produce", "#c0392b", |s| s.latency.produce_ms),
        ("fetch", "#27ae60", |s| s.latency.fetch_ms),
        ("join group", "#8e44ad", |s| s.latency.join_ms),
    ];
    for (i, (name, colour, value)) in series.iter().enumerate() {
        for s in samples {
            let (cx, cy, r) = match value(s) {
                Some(v) => (x(s.seconds), log_y(v), 1.6),
                None => (x(s.seconds), top + 2.0 + 6.0 * i as f64, 3.0),
            };
            let _ = write!(
                svg,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r}" fill="{colour}"/>"#
            );
        }
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour}"/><text x="{tx}" y="{ty}">{name}</text>"#,
            lx = LEFT + 10.0 + 110.0 * i as f64,
            ly = top - 12.0,
            tx = LEFT + 24.0 + 110.0 * i as f64,
            ty = top - 3.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" fill="#555">failed or over 10 s: dots along the top edge</text>"##,
        LEFT + 460.0,
        top - 3.0
    );
    // Broker CPU.
    let top = tops[1];
    let cpu_max = samples
        .iter()
        .filter_map(|s| s.broker.broker_cpu_percent)
        .fold(100.0, f64::max);
    let lin = |v: f64, max: f64| top + PANEL - v / max * PANEL;
    axis(
        &mut svg,
        top,
        "broker CPU % of a core",
        &[0.0, cpu_max / 2.0, cpu_max].map(|v| (lin(v, cpu_max), format!("{v:.0}"))),
    );
    line(
        &mut svg,
        samples,
        &x,
        |s| s.broker.broker_cpu_percent.map(|v| lin(v, cpu_max)),
        "#d35400",
    );
    // Memory and store.
    let top = tops[2];
    let mib_max = samples
        .iter()
        .flat_map(|s| [s.broker.broker_rss_mib, s.broker.store_mib])
        .flatten()
        .fold(64.0, f64::max);
    let lin = |v: f64| top + PANEL - v / mib_max * PANEL;
    axis(
        &mut svg,
        top,
        "MiB",
        &[0.0, mib_max / 2.0, mib_max].map(|v| (lin(v), format!("{v:.0}"))),
    );
    line(
        &mut svg,
        samples,
        &x,
        |s| s.broker.broker_rss_mib.map(lin),
        "#2c3e50",
    );
    line(
        &mut svg,
        samples,
        &x,
        |s| s.broker.store_mib.map(lin),
        "#16a085",
    );
    let _ = write!(
        svg,
        r##"<rect x="{a}" y="{y}" width="10" height="10" fill="#2c3e50"/><text x="{b}" y="{t}">broker RSS</text><rect x="{c}" y="{y}" width="10" height="10" fill="#16a085"/><text x="{d}" y="{t}">store size</text>"##,
        a = LEFT + 10.0,
        b = LEFT + 24.0,
        c = LEFT + 120.0,
        d = LEFT + 134.0,
        y = top - 12.0,
        t = top - 3.0
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" fill="#555">seconds: 0 … {end:.0}</text>"##,
        WIDTH - 200.0,
        HEIGHT - 34.0
    );
    svg.push_str("</svg>");
    svg
}

fn axis(svg: &mut String, top: f64, title: &str, ticks: &[(f64, String)]) {
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{b}" stroke="#999"/><line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/><text x="10" y="{ty}" font-size="11" transform="rotate(-90 10 {ty})" text-anchor="middle">{t}</text>"##,
        b = top + PANEL,
        r = WIDTH - 20.0,
        ty = top + PANEL / 2.0,
        t = escape(title)
    );
    for (y, label) in ticks {
        let _ = write!(
            svg,
            r##"<line x1="{a}" y1="{y:.1}" x2="{LEFT}" y2="{y:.1}" stroke="#999"/><text x="{tx}" y="{ly:.1}" text-anchor="end" font-size="10">{label}</text>"##,
            a = LEFT - 4.0,
            tx = LEFT - 6.0,
            ly = y + 3.0
        );
    }
}

fn line(
    svg: &mut String,
    samples: &[Sample],
    x: &impl Fn(f64) -> f64,
    y: impl Fn(&Sample) -> Option<f64>,
    colour: &str,
) {
    let points: String = samples
        .iter()
        .filter_map(|s| y(s).map(|y| format!("{:.1},{:.1} ", x(s.seconds), y)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#
    );
}
