//! The scanner: one TCP connection to clamd per scan, every call under a
//! timeout.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use clamav_client::tokio::Tcp;
use futures::Stream;
use tokio_util::io::ReaderStream;

use super::ClamavConfig;
use super::reply::{ScanError, Verdict, parse_reply};

#[derive(Debug, Clone)]
pub struct Scanner {
    config: ClamavConfig,
}

impl Scanner {
    pub fn new(config: &ClamavConfig) -> Self {
        Self {
            config: config.clone(),
        }
    }

    pub fn config(&self) -> &ClamavConfig {
        &self.config
    }

    fn connection(&self) -> Tcp<&str> {
        Tcp {
            host_address: self.config.address.as_str(),
        }
    }

    async fn within<T>(
        &self,
        limit: Duration,
        call: impl Future<Output = std::io::Result<T>>,
    ) -> Result<T, ScanError> {
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(|e| self.unreachable(e)),
            Err(_) => Err(ScanError::Timeout(limit)),
        }
    }

    fn unreachable(&self, source: std::io::Error) -> ScanError {
        ScanError::Unreachable {
            address: self.config.address.clone(),
            source,
        }
    }

    /// Whether clamd answers `PONG`.
    pub async fn ping(&self) -> Result<(), ScanError> {
        let reply = self
            .within(
                self.config.timeout,
                clamav_client::tokio::ping(self.connection()),
            )
            .await?;
        if reply == clamav_client::PONG {
            Ok(())
        } else {
            Err(ScanError::Protocol(
                String::from_utf8_lossy(&reply).into_owned(),
            ))
        }
    }

    /// clamd's version and signature database date.
    pub async fn version(&self) -> Result<String, ScanError> {
        let reply = self
            .within(
                self.config.timeout,
                clamav_client::tokio::get_version(self.connection()),
            )
            .await?;
        Ok(String::from_utf8_lossy(&reply)
            .trim_end_matches(['\0', '\n'])
            .to_owned())
    }

    /// Scans a stream of `size` bytes (which sets how long it may take).
    pub async fn scan_stream<S>(&self, stream: S, size: u64) -> Result<Verdict, ScanError>
    where
        S: Stream<Item = std::io::Result<Bytes>>,
    {
        if size > self.config.max_stream_bytes {
            return Err(ScanError::OverLimit {
                size,
                limit: self.config.max_stream_bytes,
            });
        }
        let reply = self
            .within(
                self.config.scan_timeout(size),
                clamav_client::tokio::scan_stream(
                    stream,
                    self.connection(),
                    Some(self.config.chunk_size),
                ),
            )
            .await?;
        parse_reply(&reply)
    }

    pub async fn scan_bytes(&self, bytes: &[u8]) -> Result<Verdict, ScanError> {
        let size = bytes.len() as u64;
        let reader = ReaderStream::with_capacity(bytes, self.config.chunk_size);
        self.scan_stream(reader, size).await
    }
}
