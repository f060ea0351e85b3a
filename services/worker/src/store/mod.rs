//! PostgreSQL, the system of record: the materialised registry, the
//! gateway's arrival claims (for ordering), and the one transaction that
//! records a supplement's outcome with its outbox events.

mod claims;
mod commit;
mod outbox;
mod receipt;
mod registry;

pub use claims::{blockers, mark_application, mark_finished};
pub use commit::{Committed, Disposition, Registered, Source, commit};
pub use outbox::{OutboxRow, mark_sent, next_unsent, record_failure};
pub use registry::{RegistryChange, apply_registry, candidates};
