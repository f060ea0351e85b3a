//! The scanner: one TCP connection to clamd per scan.

use bytes::Bytes;
use clamav_client::tokio::Tcp;
use futures::Stream;
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

use super::ClamavConfig;
use super::reply::{ScanError, Verdict, parse_reply};

#[derive(Debug, Clone)]
pub struct Scanner {
    address: String,
    chunk_size: usize,
}

impl Scanner {
    pub fn new(config: &ClamavConfig) -> Self {
        Self {
            address: config.address.clone(),
            chunk_size: config.chunk_size,
        }
    }

    fn connection(&self) -> Tcp<&str> {
        Tcp {
            host_address: self.address.as_str(),
        }
    }

    fn unreachable(&self, source: std::io::Error) -> ScanError {
        ScanError::Unreachable {
            address: self.address.clone(),
            source,
        }
    }

    /// Whether clamd answers `PONG`.
    pub async fn ping(&self) -> Result<(), ScanError> {
        let reply = clamav_client::tokio::ping(self.connection())
            .await
            .map_err(|e| self.unreachable(e))?;
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
        let reply = clamav_client::tokio::get_version(self.connection())
            .await
            .map_err(|e| self.unreachable(e))?;
        Ok(String::from_utf8_lossy(&reply)
            .trim_end_matches(['\0', '\n'])
            .to_owned())
    }

    pub async fn scan_stream<S>(&self, stream: S) -> Result<Verdict, ScanError>
    where
        S: Stream<Item = std::io::Result<Bytes>>,
    {
        let reply =
            clamav_client::tokio::scan_stream(stream, self.connection(), Some(self.chunk_size))
                .await
                .map_err(|e| self.unreachable(e))?;
        parse_reply(&reply)
    }

    pub async fn scan_reader(&self, reader: impl AsyncRead) -> Result<Verdict, ScanError> {
        self.scan_stream(ReaderStream::with_capacity(reader, self.chunk_size))
            .await
    }
}
