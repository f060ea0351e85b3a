//! The right answer for every generated supplement, written one JSON line
//! per supplement so tests and benchmarks compare outcome by outcome.

use intake_core::events::{Channel, RefusalReason};
use serde::{Deserialize, Serialize};

use crate::plan::Kind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedFile {
    pub filename: String,
    pub reason: RefusalReason,
}

/// What the pipeline must do with a supplement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Expected {
    /// Routed to this application's queue; some files may be refused.
    Routed {
        application_id: String,
        refused: Vec<RefusedFile>,
        /// Index of an earlier supplement with the same files and other text.
        possible_resend_of: Option<usize>,
    },
    /// To manual triage, for these reasons (`no_identifier`,
    /// `unknown_application`, `ambiguous`, `sender_not_party`,
    /// `automatic_message`).
    Triage { reasons: Vec<String> },
    /// The whole supplement is kept from caseworkers, for this reason.
    Quarantined { reason: String },
    /// A resend of supplement `of`: linked, not routed again.
    Duplicate { of: usize },
    /// The gateway refuses it with this status; nothing is stored.
    Rejected { status: u16, error: String },
}

/// The automatic receipt the applicant must get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "receipt", rename_all = "snake_case")]
pub enum ExpectedReceipt {
    Received,
    AlreadyReceived {
        of: usize,
    },
    /// No receipt: auto-replies, bounces, and requests the gateway refused.
    None {
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub index: usize,
    pub kind: Kind,
    pub channel: Channel,
    /// The key the gateway deduplicates retries by.
    pub idempotency_key: String,
    pub expected: Expected,
    pub receipt: ExpectedReceipt,
}
