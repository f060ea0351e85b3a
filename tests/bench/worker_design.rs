//! `make bench`: what the worker's design allows, on this machine, in one
//! run. Measured, not asserted; figures go to `target/bench/results.json`,
//! `results.md` and a chart, `results.png` (`results.svg` if no browser is
//! there to draw it).
//!
//! (a) text-only supplements, events and objects preloaded through a
//!     gateway while no worker runs, timed from the first record consumed
//!     to the last outcome committed (start-up reported apart), beside a
//!     bare consumer reading the same topics with the same settings;
//! (b) CPU seconds per supplement of each process in (a), and PostgreSQL
//!     commits and WAL bytes per supplement;
//! (c) arrival at the gateway to outcome committed, p50/p95/p99, at an
//!     offered open-loop rate through the gateway;
//! (d) the generator's full mix (attachments, PDFs, ZIPs);
//! (e) peak RSS of the worker with large attachments, e-mail and Enter
//!     Finland;
//! (f) one worker process against two in one group, on the text-only load.

#[allow(dead_code)]
#[path = "../worker/support.rs"]
mod support;

#[path = "design/mod.rs"]
mod design;

use design::{Figures, report};
use intake_tests::Stack;

#[tokio::main]
async fn main() {
    let stack = Stack::new();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p == part);
    let mut figures = Figures::default();
    if wanted("a") {
        figures.text_only = Some(design::text_only::run(&stack).await);
    }
    if wanted("c") {
        figures.latency = Some(design::latency::run(&stack).await);
    }
    if wanted("d") {
        figures.full_mix = Some(design::full_mix::run(&stack).await);
    }
    if wanted("e") {
        figures.memory = Some(design::memory::run(&stack).await);
    }
    if wanted("f") {
        figures.two_workers = Some(design::text_only::two_workers(&stack).await);
    }
    report::write(&stack, &figures);
}
