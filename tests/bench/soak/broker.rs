//! The broker as the machine sees it: CPU, memory and the size of its
//! store, whichever engine holds it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use intake_tests::rss_kib;
use serde::Serialize;
use sqlx::PgPool;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// Share of one core since the previous sample.
    pub broker_cpu_percent: Option<f64>,
    pub broker_rss_mib: Option<f64>,
    pub store_mib: Option<f64>,
}

/// Where the broker's store is, to measure it.
pub enum Store {
    /// SQLite files (the database, its WAL and shared memory).
    Files(PathBuf),
    /// A PostgreSQL database.
    Database { pool: PgPool, name: String },
}

impl Store {
    async fn mib(&self) -> Option<f64> {
        match self {
            Store::Files(dir) => {
                let bytes: u64 = std::fs::read_dir(dir)
                    .ok()?
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("tansu.db"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum();
                Some(bytes as f64 / 1_048_576.0)
            }
            Store::Database { pool, name } => {
                let bytes: i64 = sqlx::query_scalar("select pg_database_size($1)")
                    .bind(name)
                    .fetch_one(pool)
                    .await
                    .ok()?;
                Some(bytes as f64 / 1_048_576.0)
            }
        }
    }
}

/// Reads the broker process named by the stack's pid file (read again
/// each time: a restart changes it).
pub struct Sampler {
    pid_file: PathBuf,
    store: Store,
    last: Option<(u32, u64, Instant)>,
}

impl Sampler {
    pub fn new(stack_dir: &Path, store: Store) -> Self {
        Self {
            pid_file: stack_dir.join("run/kafka.pid"),
            store,
            last: None,
        }
    }

    pub async fn sample(&mut self) -> Usage {
        let pid: Option<u32> = std::fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let now = Instant::now();
        let ticks = pid.and_then(cpu_ticks);
        let cpu = match (self.last, pid, ticks) {
            (Some((last_pid, last_ticks, at)), Some(pid), Some(ticks)) if last_pid == pid => {
                let seconds = now.duration_since(at).as_secs_f64();
                Some((ticks.saturating_sub(last_ticks)) as f64 / TICKS_PER_SECOND / seconds * 100.0)
            }
            _ => None,
        };
        self.last = pid.zip(ticks).map(|(p, t)| (p, t, now));
        Usage {
            broker_cpu_percent: cpu,
            broker_rss_mib: pid.and_then(rss_kib).map(|k| k as f64 / 1024.0),
            store_mib: self.store.mib().await,
        }
    }
}

/// Linux's USER_HZ, which every current kernel keeps at 100.
const TICKS_PER_SECOND: f64 = 100.0;

/// User and system time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}
