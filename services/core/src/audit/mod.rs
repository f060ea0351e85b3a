//! The audit log's integrity: the hash chain PostgreSQL keeps, checked
//! independently, and signed checkpoints of its head kept outside the
//! database, which a rewrite of the whole chain cannot match.

mod canonical;
mod chain;
mod checkpoint;

pub use canonical::AuditColumns;
pub use chain::{ChainBreak, ChainRow, ChainVerifier, GENESIS, row_hash};
pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, key_id};
