//! Writes the figures: `results.json`, a markdown table and a chart.

use std::fmt::Write as _;

use intake_tests::Stack;
use intake_tests::chart::render_png;

use super::Figures;

pub fn write(stack: &Stack, figures: &Figures) {
    let dir = stack.repo_dir().join("target/bench");
    std::fs::create_dir_all(&dir).expect("bench directory");
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(figures).expect("json"),
    )
    .expect("results.json");
    std::fs::write(dir.join("results.md"), markdown(figures)).expect("results.md");
    let svg = chart(figures);
    let svg_path = dir.join("results.svg");
    std::fs::write(&svg_path, svg).expect("results.svg");
    match render_png(&svg_path, &dir.join("results.png"), 900, 300) {
        Ok(()) => println!("figures in {}/results.{{json,md,png}}", dir.display()),
        Err(why) => println!(
            "figures in {}/results.{{json,md,svg}} (no PNG: {why})",
            dir.display()
        ),
    }
}

fn markdown(f: &Figures) -> String {
    let mut out = String::from("# Worker benchmark\n\n");
    if let Some(a) = &f.text_only {
        let _ = writeln!(
            out,
            "## (a) Text-only supplements\n\n| supplements | timed s | supplements/s | bare consumer/s | ratio | start-up s | worker peak RSS MiB |\n|---:|---:|---:|---:|---:|---:|---:|\n| {} | {:.1} | {:.0} | {:.0} | {:.3} | {:.1} | {:.1} |\n",
            a.supplements,
            a.seconds,
            a.per_second,
            a.raw_consume_per_second,
            a.ratio_to_raw,
            a.startup_seconds,
            a.worker_peak_rss_mib
        );
        let _ = writeln!(
            out,
            "## (b) Cost per supplement\n\n| process | CPU ms per supplement |\n|---|---:|"
        );
        for (process, seconds) in &a.cpu_seconds_per_supplement {
            let _ = writeln!(out, "| {process} | {:.3} |", seconds * 1000.0);
        }
        let _ = writeln!(
            out,
            "\nPostgreSQL: {:.3} commits and {:.0} WAL bytes per supplement.\n",
            a.commits_per_supplement, a.wal_bytes_per_supplement
        );
    }
    if let Some(c) = &f.latency {
        let _ = writeln!(
            out,
            "## (c) Arrival to outcome at {}/s offered for {} s\n\n| accepted | p50 ms | p95 ms | p99 ms | max ms | sent late |\n|---:|---:|---:|---:|---:|---:|\n| {} | {:.0} | {:.0} | {:.0} | {:.0} | {} |\n",
            c.offered_per_second,
            c.seconds,
            c.accepted,
            c.p50_ms,
            c.p95_ms,
            c.p99_ms,
            c.max_ms,
            c.sent_late
        );
    }
    if let Some(d) = &f.full_mix {
        let _ = writeln!(
            out,
            "## (d) Full mix\n\n| supplements | s (start-up included) | supplements/s | worker peak RSS MiB |\n|---:|---:|---:|---:|\n| {} | {:.1} | {:.1} | {:.1} |\n",
            d.supplements, d.seconds, d.per_second, d.worker_peak_rss_mib
        );
    }
    if let Some(e) = &f.memory {
        let _ = writeln!(
            out,
            "## (e) Worker peak RSS with one large attachment\n\n| channel | attachment MB | peak RSS MiB | outcome |\n|---|---:|---:|---|"
        );
        for p in e {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {} |",
                p.channel, p.attachment_mb, p.worker_peak_rss_mib, p.outcome
            );
        }
        out.push('\n');
    }
    if let Some(t) = &f.two_workers {
        let _ = writeln!(
            out,
            "## (f) One worker process against two in one group (2 cores)\n\n| supplements | one worker/s | two workers/s |\n|---:|---:|---:|\n| {} | {:.0} | {:.0} |\n",
            t.supplements, t.one_worker_per_second, t.two_workers_per_second
        );
    }
    out
}

/// Horizontal bars, one per figure that is a rate, each labelled.
fn chart(f: &Figures) -> String {
    let mut bars: Vec<(String, f64)> = Vec::new();
    if let Some(a) = &f.text_only {
        bars.push(("(a) text-only, worker".into(), a.per_second));
        bars.push(("(a) bare consumer".into(), a.raw_consume_per_second));
    }
    if let Some(d) = &f.full_mix {
        bars.push(("(d) full mix".into(), d.per_second));
    }
    if let Some(t) = &f.two_workers {
        bars.push(("(f) one worker".into(), t.one_worker_per_second));
        bars.push(("(f) two workers".into(), t.two_workers_per_second));
    }
    let max = bars.iter().map(|(_, v)| *v).fold(1.0, f64::max);
    let (width, row, left) = (900.0, 34.0, 230.0);
    let height = 60.0 + row * bars.len() as f64;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="14"><rect width="100%" height="100%" fill="white"/><text x="10" y="24" font-size="16" font-weight="bold">intake worker: supplements (or records) per second, log scale</text>"#
    );
    let scale = |v: f64| (v.max(1.0).log10() / max.log10().max(1.0)) * (width - left - 120.0);
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 44.0 + row * i as f64;
        let w = scale(*value);
        let _ = write!(
            svg,
            r##"<text x="10" y="{ty}">{label}</text><rect x="{left}" y="{y}" width="{w}" height="22" fill="#3b6ea8"/><text x="{tx}" y="{ty}">{value:.0}/s</text>"##,
            ty = y + 16.0,
            tx = left + w + 8.0
        );
    }
    svg.push_str("</svg>");
    svg
}
