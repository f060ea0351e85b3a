//! (c) From arrival at the gateway to the outcome committed, at a fixed
//! offered rate (open loop: each request leaves at its time, whether or
//! not earlier ones were answered), text-only supplements.

use std::sync::Arc;
use std::time::Duration;

use intake_generator::plan::Kind;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN};
use intake_tests::worker::TestWorker;
use serde::Serialize;

use super::{load, watch_until_recorded};
use crate::support;

const OFFERED_PER_SECOND: u64 = 1_000;
const SECONDS: u64 = 30;

#[derive(Debug, Serialize)]
pub struct Latency {
    pub offered_per_second: u64,
    pub seconds: u64,
    pub accepted: usize,
    /// Requests that left late, because the sender itself fell behind.
    pub sent_late: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub async fn run(stack: &Stack) -> Latency {
    let gateway = support::gateway(stack).await;
    let population = Population::generate(5, 2_000);
    support::publish_registry(&gateway, &population).await;
    let count = (OFFERED_PER_SECOND * SECONDS) as usize;
    let supplements = load(&population, 5, count, vec![Kind::MailTextOnly]);
    let worker = TestWorker::start_with(stack, &gateway, None, "release", vec![]).await;

    let client = reqwest::Client::new();
    let tokens = Arc::new(Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    });
    let interval = Duration::from_secs(1) / OFFERED_PER_SECOND as u32;
    let start = tokio::time::Instant::now();
    let mut sends = Vec::with_capacity(count);
    let mut late = 0;
    for (i, supplement) in supplements.into_iter().enumerate() {
        let due = start + interval * i as u32;
        if tokio::time::Instant::now() > due + Duration::from_millis(5) {
            late += 1;
        }
        tokio::time::sleep_until(due).await;
        let (client, tokens, url) = (client.clone(), tokens.clone(), gateway.url.clone());
        sends.push(tokio::spawn(async move {
            send(&client, &url, &tokens, &supplement.request)
                .await
                .is_ok_and(|s| s.status == 202)
        }));
    }
    let mut accepted = 0;
    for send in sends {
        accepted += usize::from(send.await.unwrap_or(false));
    }
    let pool = &gateway.db.pool;
    watch_until_recorded(pool, accepted as i64, Duration::from_secs(600)).await;
    let (p50, p95, p99, max): (f64, f64, f64, f64) = sqlx::query_as(
        "select percentile_cont(0.5) within group (order by ms),
                percentile_cont(0.95) within group (order by ms),
                percentile_cont(0.99) within group (order by ms),
                max(ms)
         from (select (extract(epoch from (created_at - arrived_at)) * 1000)::float8 as ms
               from supplements) l",
    )
    .fetch_one(pool)
    .await
    .expect("latencies");
    drop(worker);
    let figures = Latency {
        offered_per_second: OFFERED_PER_SECOND,
        seconds: SECONDS,
        accepted,
        sent_late: late,
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p99,
        max_ms: max,
    };
    println!(
        "(c) {accepted} text-only supplements offered at {OFFERED_PER_SECOND}/s: arrival to outcome p50 {p50:.0} ms, p95 {p95:.0} ms, p99 {p99:.0} ms, max {max:.0} ms ({late} sent late)"
    );
    figures
}
