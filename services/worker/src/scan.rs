//! Virus scanning that fails closed: an unreachable clamd, an `ERROR`
//! reply or anything unexpected is never a clean verdict. The file waits,
//! retried with backoff, for as long as clamd is away; operations see the
//! wait in the log and the `scans_waiting` gauge.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use intake_adapters::clamav::{Scanner, Verdict};

use crate::content::ContentError;

#[derive(Clone)]
pub struct Scanning {
    scanner: Scanner,
    max_backoff: Duration,
    /// Files currently waiting for the scanner to come back.
    pub waiting: Arc<AtomicI64>,
}

impl Scanning {
    pub fn new(scanner: Scanner, max_backoff: Duration) -> Self {
        Self {
            scanner,
            max_backoff,
            waiting: Arc::default(),
        }
    }

    /// Scans what `source` yields, opening it afresh for every attempt.
    pub async fn scan<F, Fut, S>(&self, what: &str, mut source: F) -> Result<Verdict, ContentError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<S, ContentError>>,
        S: Stream<Item = io::Result<Bytes>>,
    {
        let mut backoff = Duration::from_millis(250);
        let mut waiting = false;
        let result = loop {
            let stream = match source().await {
                Ok(stream) => stream,
                Err(e) => break Err(e),
            };
            match self.scanner.scan_stream(stream).await {
                Ok(verdict) => break Ok(verdict),
                Err(error) => {
                    if !waiting {
                        waiting = true;
                        self.waiting.fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::warn!(
                        file = what,
                        error = format!("{error:#}"),
                        retry_in = ?backoff,
                        "virus scan failed; the file waits (fail closed)"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        };
        if waiting {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        result
    }
}
