//! The parts of the design benchmark, and what they share: preloading a
//! load through a gateway, watching a worker work it off, and reading the
//! CPU time of the stack's processes.

pub mod full_mix;
pub mod latency;
pub mod memory;
pub mod report;
pub mod text_only;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use intake_generator::plan::{Kind, Options, Supplement, plan};
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN, TestGateway};
use serde::Serialize;
use sqlx::PgPool;

#[derive(Debug, Default, Serialize)]
pub struct Figures {
    pub text_only: Option<text_only::TextOnly>,
    pub latency: Option<latency::Latency>,
    pub full_mix: Option<full_mix::FullMix>,
    pub memory: Option<Vec<memory::Peak>>,
    pub two_workers: Option<text_only::TwoWorkers>,
}

/// Supplements of the given kinds for `population`.
pub fn load(population: &Population, seed: u64, count: usize, kinds: Vec<Kind>) -> Vec<Supplement> {
    plan(
        population,
        &Options {
            seed,
            count,
            oversized_bytes: (crate::support::ONE_MIB + 1) as usize,
            kinds,
        },
    )
}

/// Sends every supplement through the gateway, `concurrency` at a time;
/// returns how many were accepted and the rate.
pub async fn preload(
    gateway: &TestGateway,
    supplements: &[Supplement],
    concurrency: usize,
) -> (usize, f64) {
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    let accepted = futures::stream::iter(supplements)
        .map(|s| send(&client, &gateway.url, &tokens, &s.request))
        .buffer_unordered(concurrency)
        .filter(|sent| std::future::ready(matches!(sent, Ok(s) if s.status == 202)))
        .count()
        .await;
    (accepted, accepted as f64 / started.elapsed().as_secs_f64())
}

/// Supplements recorded so far.
pub async fn recorded(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from supplements")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// What watching the supplements table saw.
pub struct Watched {
    /// When it first saw a supplement recorded.
    pub first: Instant,
    /// When it saw the last one.
    pub last: Instant,
    /// Its own queries, each a transaction of the database it watches:
    /// they are not the worker's, and are taken off the worker's count.
    pub polls: i64,
}

/// How often the watch counts: fine enough against runs of a minute,
/// coarse enough that its own queries stay a small share of the
/// database's work.
const POLL: Duration = Duration::from_millis(100);

/// Waits until `expected` supplements are recorded.
pub async fn watch_until_recorded(pool: &PgPool, expected: i64, limit: Duration) -> Watched {
    let deadline = Instant::now() + limit;
    let mut first = None;
    let mut polls = 0;
    loop {
        let n = recorded(pool).await;
        polls += 1;
        let now = Instant::now();
        if n > 0 && first.is_none() {
            first = Some(now);
        }
        if n >= expected {
            return Watched {
                first: first.unwrap_or(now),
                last: now,
                polls,
            };
        }
        assert!(now < deadline, "{n} of {expected} recorded after {limit:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// CPU seconds (user + system) used so far by the processes whose name
/// is `comm`, or by one pid.
pub fn cpu_seconds(comm: &str, pid: Option<u32>) -> f64 {
    let ticks_per_second = 100.0;
    let mut total = 0u64;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(this) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid.is_some_and(|p| p != this) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{this}/stat")) else {
            continue;
        };
        // The name is in parentheses and may hold spaces.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if pid.is_none() && &stat[open + 1..close] != comm {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat, 12 and 13 here.
        let used: u64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0);
        total += used;
    }
    total as f64 / ticks_per_second
}

/// The stack's processes whose CPU time is reported.
pub const PROCESSES: [&str; 4] = ["postgres", "tansu", "s3s-fs", "clamd"];

/// CPU seconds of the worker (by pid) and of each stack process.
pub fn cpu_snapshot(worker_pids: &[u32]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert(
        "intake-worker".to_owned(),
        worker_pids.iter().map(|p| cpu_seconds("", Some(*p))).sum(),
    );
    for comm in PROCESSES {
        out.insert(comm.to_owned(), cpu_seconds(comm, None));
    }
    out
}

/// PostgreSQL's commits in this database and the WAL position.
pub async fn commits_and_wal(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select (select xact_commit from pg_stat_database where datname = current_database()),
                pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint",
    )
    .fetch_one(pool)
    .await
    .expect("statistics")
}
