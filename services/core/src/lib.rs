//! The domain of intake, free of I/O: identifiers, the events that cross Kafka,
//! the topic catalogue, and (as the pipeline grows) the pure decisions the
//! services carry out.

pub mod access;
pub mod audit;
pub mod dead_letter;
pub mod decide;
pub mod events;
pub mod ids;
pub mod ingest;
pub mod lag;
pub mod receipt;
pub mod rescan;
pub mod topics;
pub mod topics_k8s;

pub use ids::{ApplicationId, CustomerNumber, IdError, RequestId};
