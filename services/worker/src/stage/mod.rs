//! The worker's stages. Each holds only the next one and is built after
//! it, from the last to the first:
//!
//! ```text
//! consume ──▶ analyse ──▶ order ──▶ record ──▶ publish
//!  Kafka       decrypt,    arrival    group      outbox
//!  offsets     scan,       order per  commit     to Kafka
//!              match       application
//! ```
//!
//! Nothing calls back up the chain. A record's end reaches the consumer
//! through the [`Ack`] it carries (its offset may then be committed), and
//! the recorder's commits reach every worker's order stage as a database
//! notification on `store::ARRIVALS_CHANNEL`.

pub mod analyse;
pub mod consume;
pub mod order;
pub mod publish;
pub mod record;

use std::time::Instant;

use chrono::{DateTime, Utc};
use intake_core::decide::Proposal;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::analyse::Analysis;
use crate::store::Registered;

/// A record as read from Kafka.
#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub payload: Option<Vec<u8>>,
}

impl InboundRecord {
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// Where a record was read: what the consumer commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Carried by a record to its end: `done` tells the consumer its effects
/// are durable, so its offset may be committed. Dropped without `done`
/// (work abandoned), the offset stays uncommitted and the record comes
/// again after a restart or to the partition's next owner.
#[derive(Debug)]
pub struct Ack {
    position: Position,
    to: mpsc::UnboundedSender<Position>,
    /// Cancelled when the partition is taken away by a rebalance.
    revoked: CancellationToken,
}

impl Ack {
    pub fn new(
        position: Position,
        to: mpsc::UnboundedSender<Position>,
        revoked: CancellationToken,
    ) -> Self {
        Self {
            position,
            to,
            revoked,
        }
    }

    pub fn done(self) {
        let _ = self.to.send(self.position);
    }

    /// Its partition now belongs to another member, which will process
    /// the record again: work not yet recorded may stop here.
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_cancelled()
    }

    pub fn revoked(&self) -> &CancellationToken {
        &self.revoked
    }
}

/// How a record ends.
#[derive(Debug)]
pub enum End {
    /// Analysis and matching proposed an outcome.
    Outcome {
        analysis: Analysis,
        proposal: Proposal,
        /// The registry entry of the application a `Route` proposal names.
        registered: Option<Registered>,
    },
    /// Processing failed for good: recorded as unprocessable from what the
    /// event alone says, and the record goes to the dead-letter topic.
    Failed { unread: Analysis, error: String },
    /// Not even the event could be read: only the dead letter, and the
    /// end of its arrival claim when its supplement id could be made out.
    Undecodable {
        error: String,
        supplement_id: Option<Uuid>,
    },
}

/// A record on its way from analysis to its recorded end.
#[derive(Debug)]
pub struct Decided {
    pub record: InboundRecord,
    pub event_id: Option<Uuid>,
    pub end: End,
    /// The record's span: its outcome is recorded in the same trace.
    pub span: tracing::Span,
    pub ack: Ack,
    /// When it was ready to be recorded, on the clock that times stages
    /// and on the wall clock that the hold limit counts from.
    pub ready_at: Instant,
    pub ready_since: DateTime<Utc>,
}

impl Decided {
    pub fn supplement_id(&self) -> Option<Uuid> {
        match &self.end {
            End::Outcome { analysis, .. } => Some(analysis.supplement_id),
            End::Failed { unread, .. } => Some(unread.supplement_id),
            End::Undecodable { supplement_id, .. } => *supplement_id,
        }
    }
}
