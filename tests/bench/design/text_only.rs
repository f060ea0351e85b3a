//! (a), (b) and (f): text-only supplements through the release worker,
//! against a bare consumer of the same topics.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use intake_generator::plan::Kind;
use intake_generator::population::Population;
use intake_tests::worker::TestWorker;
use intake_tests::{Stack, peak_rss_kib, unique};
use rdkafka::consumer::{Consumer, StreamConsumer};
use serde::Serialize;

use super::{commits_and_wal, cpu_snapshot, load, preload, watch_until_recorded};
use crate::support;

/// The load is sized so the timed part lasts at least this long.
const AT_LEAST: Duration = Duration::from_secs(60);
const CALIBRATION: usize = 3_000;
const MOST: usize = 200_000;

#[derive(Debug, Serialize)]
pub struct TextOnly {
    pub supplements: usize,
    pub preload_per_second: f64,
    /// From starting the worker to its first outcome.
    pub startup_seconds: f64,
    /// From the first outcome to the last.
    pub seconds: f64,
    pub per_second: f64,
    pub raw_consume_per_second: f64,
    /// `per_second` over the bare consumer's rate.
    pub ratio_to_raw: f64,
    pub cpu_seconds_per_supplement: BTreeMap<String, f64>,
    pub commits_per_supplement: f64,
    pub wal_bytes_per_supplement: f64,
    pub worker_peak_rss_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct TwoWorkers {
    pub supplements: usize,
    pub one_worker_per_second: f64,
    pub two_workers_per_second: f64,
}

pub async fn run(stack: &Stack) -> TextOnly {
    let calibration = once(stack, CALIBRATION, 1, 1).await;
    println!(
        "(a) calibration: {:.0} text-only supplements/s",
        calibration.per_second
    );
    let count = ((calibration.per_second * (AT_LEAST.as_secs_f64() + 5.0)) as usize)
        .clamp(CALIBRATION, MOST);
    let figures = once(stack, count, 2, 1).await;
    println!(
        "(a) {} text-only supplements in {:.1} s = {:.0}/s (start-up {:.1} s apart); bare consumer {:.0}/s; ratio {:.3}",
        figures.supplements,
        figures.seconds,
        figures.per_second,
        figures.startup_seconds,
        figures.raw_consume_per_second,
        figures.ratio_to_raw
    );
    println!(
        "(b) CPU s per supplement: {:?}; commits {:.3} and WAL {:.0} bytes per supplement",
        figures.cpu_seconds_per_supplement,
        figures.commits_per_supplement,
        figures.wal_bytes_per_supplement
    );
    figures
}

pub async fn two_workers(stack: &Stack) -> TwoWorkers {
    let count = 30_000;
    let one = once(stack, count, 3, 1).await;
    let two = once(stack, count, 4, 2).await;
    println!(
        "(f) {count} text-only supplements: one worker {:.0}/s, two in one group {:.0}/s",
        one.per_second, two.per_second
    );
    TwoWorkers {
        supplements: count,
        one_worker_per_second: one.per_second,
        two_workers_per_second: two.per_second,
    }
}

async fn once(stack: &Stack, count: usize, seed: u64, workers: usize) -> TextOnly {
    let gateway = support::gateway(stack).await;
    let population = Population::generate(seed, 2_000);
    support::publish_registry(&gateway, &population).await;
    let supplements = load(&population, seed, count, vec![Kind::MailTextOnly]);
    let (accepted, preload_per_second) = preload(&gateway, &supplements, 32).await;
    drop(supplements);
    let pool = &gateway.db.pool;

    let started = Instant::now();
    let mut running = Vec::new();
    let first = TestWorker::start_with(stack, &gateway, None, "release", vec![]).await;
    if workers > 1 {
        let group = first.group.clone();
        for n in 1..workers {
            running.push(
                TestWorker::start_with(
                    stack,
                    &gateway,
                    None,
                    "release",
                    vec![
                        ("INTAKE_WORKER__GROUP_ID".into(), group.clone()),
                        ("INTAKE_WORKER__INSTANCE_ID".into(), format!("{group}-{n}")),
                    ],
                )
                .await,
            );
        }
    }
    running.insert(0, first);
    let pids: Vec<u32> = running.iter().filter_map(TestWorker::pid).collect();
    // From a ready worker on, like the CPU figures: its start-up (the
    // registry loaded into an empty database) is reported apart.
    let (commits_before, wal_before) = commits_and_wal(pool).await;
    let cpu_before = cpu_snapshot(&pids);
    let watched = watch_until_recorded(pool, accepted as i64, Duration::from_secs(1800)).await;
    let cpu_after = cpu_snapshot(&pids);
    let (commits_after, wal_after) = commits_and_wal(pool).await;
    let (first_outcome, last_outcome) = (watched.first, watched.last);
    let peak = pids.iter().map(|p| peak_rss_kib(*p)).max().unwrap_or(0);
    let seconds = (last_outcome - first_outcome).as_secs_f64().max(1e-3);
    let per_second = accepted as f64 / seconds;
    drop(running);

    let raw = raw_consume(&gateway.kafka, accepted).await;
    let per = |v: f64| v / accepted as f64;
    TextOnly {
        supplements: accepted,
        preload_per_second,
        startup_seconds: (first_outcome - started).as_secs_f64(),
        seconds,
        per_second,
        raw_consume_per_second: raw,
        ratio_to_raw: per_second / raw,
        cpu_seconds_per_supplement: cpu_after
            .iter()
            .map(|(name, after)| (name.clone(), per(after - cpu_before[name])))
            .collect(),
        // Less the watch's own queries and the one that read the counters
        // before (the one after is not in its own count).
        commits_per_supplement: per((commits_after - commits_before - watched.polls - 1) as f64),
        wal_bytes_per_supplement: per((wal_after - wal_before) as f64),
        worker_peak_rss_mib: peak as f64 / 1024.0,
    }
}

/// A bare consumer with the worker's settings reads both inbound topics
/// from the start: records per second from its first to its last.
async fn raw_consume(kafka: &intake_adapters::kafka::KafkaConfig, count: usize) -> f64 {
    let consumer: StreamConsumer = kafka
        .member(&unique("raw"), None)
        .create()
        .expect("consumer");
    let names = kafka.topics();
    consumer
        .subscribe(&[
            &names.name(&intake_core::topics::SECUREMAIL),
            &names.name(&intake_core::topics::ENTER_FINLAND),
        ])
        .expect("subscribe");
    let mut first = None;
    let mut read = 0;
    while read < count {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await
        else {
            break;
        };
        message.expect("record");
        first.get_or_insert_with(Instant::now);
        read += 1;
    }
    let seconds = first.map_or(1.0, |f| f.elapsed().as_secs_f64().max(1e-3));
    read as f64 / seconds
}
