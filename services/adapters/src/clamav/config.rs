//! Where clamd listens and how the stream is cut.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClamavConfig {
    /// clamd's TCP address, `host:port`.
    pub address: String,
    /// INSTREAM chunk size in bytes; 1 MiB measured up to twice as fast as
    /// the client's 4 KiB default.
    #[serde(default = "default_chunk")]
    pub chunk_size: usize,
    /// Longest wait for any clamd call, before the time a scan needs for
    /// its bytes is added: a clamd that hangs is a failed scan, not a stuck
    /// worker.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The slowest rate a scan is allowed: a 400 MB file gets 80 s more
    /// than `timeout` at the default 5 MiB/s.
    #[serde(default = "default_min_rate")]
    pub min_bytes_per_second: u64,
    /// clamd's `StreamMaxLength`: a longer stream can never be scanned, so
    /// it is not sent (clamd would drop the connection part way).
    #[serde(default = "default_max_stream")]
    pub max_stream_bytes: u64,
}

fn default_chunk() -> usize {
    1024 * 1024
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_min_rate() -> u64 {
    5 * 1024 * 1024
}
fn default_max_stream() -> u64 {
    450 * 1024 * 1024
}

impl ClamavConfig {
    /// Settings for clamd at `address`, everything else as by default.
    pub fn at(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            chunk_size: default_chunk(),
            timeout: default_timeout(),
            min_bytes_per_second: default_min_rate(),
            max_stream_bytes: default_max_stream(),
        }
    }

    /// How long scanning `size` bytes may take.
    pub fn scan_timeout(&self, size: u64) -> Duration {
        self.timeout + Duration::from_secs(size / self.min_bytes_per_second.max(1))
    }
}
