//! Virus scanning that fails closed: an unreachable clamd, an `ERROR`
//! reply or anything unexpected is never a clean verdict. The file waits,
//! retried with backoff, for as long as clamd is away; operations see the
//! wait in the log and the `scans_waiting` gauge. A file clamd can never
//! scan (over its limits, or failing again and again while clamd answers
//! everything else) is `Unscannable`: refused, never delivered, and never
//! retried for ever.

use std::future::Future;
use std::io;

use bytes::Bytes;
use futures::Stream;
use intake_adapters::clamav::{Scanner, Verdict};
use intake_adapters::retry::Backoff;
use prometheus_client::metrics::gauge::Gauge;

use crate::content::ContentError;

/// Failures of one file while clamd answers `PING` after which the file,
/// not the scanner, is taken to be the problem.
const FAILURES_WHILE_CLAMD_ANSWERS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    Clean,
    Infected {
        signature: String,
    },
    /// clamd cannot give a verdict on this file, ever.
    Unscannable {
        detail: String,
    },
}

#[derive(Clone)]
pub struct Scanning {
    scanner: Scanner,
    backoff: Backoff,
    /// Files currently waiting for the scanner to come back.
    waiting: Gauge,
}

impl Scanning {
    pub fn new(scanner: Scanner, backoff: Backoff, waiting: Gauge) -> Self {
        Self {
            scanner,
            backoff,
            waiting,
        }
    }

    /// Scans the `size` bytes `source` yields, opening it afresh for every
    /// attempt.
    pub async fn scan<F, Fut, S>(
        &self,
        what: &str,
        size: u64,
        mut source: F,
    ) -> Result<Scanned, ContentError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<S, ContentError>>,
        S: Stream<Item = io::Result<Bytes>>,
    {
        let mut delays = self.backoff.delays();
        let mut waiting = false;
        let mut failures_while_up = 0;
        let result = loop {
            let stream = match source().await {
                Ok(stream) => stream,
                Err(e) => break Err(e),
            };
            match self.scanner.scan_stream(stream, size).await {
                Ok(Verdict::Clean) => break Ok(Scanned::Clean),
                Ok(Verdict::Infected { signature }) => break Ok(Scanned::Infected { signature }),
                Err(error) if error.can_never_succeed() => {
                    break Ok(Scanned::Unscannable {
                        detail: format!("{error:#}"),
                    });
                }
                Err(error) => {
                    if self.scanner.ping().await.is_ok() {
                        failures_while_up += 1;
                        if failures_while_up >= FAILURES_WHILE_CLAMD_ANSWERS {
                            break Ok(Scanned::Unscannable {
                                detail: format!(
                                    "failed {failures_while_up} times while clamd answered: {error:#}"
                                ),
                            });
                        }
                    }
                    if !waiting {
                        waiting = true;
                        self.waiting.inc();
                    }
                    let retry_in = delays.next().unwrap_or(self.backoff.max);
                    tracing::warn!(
                        file = what,
                        error = format!("{error:#}"),
                        ?retry_in,
                        "virus scan failed; the file waits (fail closed)"
                    );
                    tokio::time::sleep(retry_in).await;
                }
            }
        };
        if waiting {
            self.waiting.dec();
        }
        result
    }
}
