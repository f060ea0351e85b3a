//! PostgreSQL, the system of record: the materialised registry, the
//! gateway's arrival claims (for ordering), and the transaction that
//! records a batch of outcomes with their outbox events.

mod claims;
mod outbox;
mod outcomes;
mod receipt;
mod registry;
mod rows;

pub use claims::{ARRIVALS_CHANNEL, Blockers, Question, blockers, mark_finished};
pub use outbox::{OutboxRow, mark_sent, next_unsent, record_failure};
pub use outcomes::{Pending, Recorded, record, referenced_objects};
pub use registry::{RegistryChange, apply_registry, registered_all};

use intake_core::decide::Candidate;
use intake_core::events::Language;

/// A registry entry with what routing needs besides matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub candidate: Candidate,
    pub unit: String,
    pub confidential: bool,
    pub language: Language,
}
