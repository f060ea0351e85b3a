//! Events that cross Kafka. Each payload type has a JSON Schema in
//! `schemas/` with the same name; a test serialises an example of every type
//! and validates it against its schema, so the two cannot drift apart.

mod common;
mod envelope;
mod inbound;
mod outcome;
mod receipt;
mod registry;

pub use common::{
    AttachmentRef, Channel, FileKind, Language, ObjectRef, PayloadEncryption, Transport,
};
pub use envelope::{DecodeError, Envelope, Event, EventData, SPEC_VERSION};
pub use inbound::{EnterFinlandReceived, SecuremailReceived};
pub use outcome::{
    PartRef, QuarantineReason, RoutedAttachment, RoutingFlag, SupplementQuarantined,
    SupplementRouted, SupplementTriaged, TriageReason,
};
pub use receipt::{
    DuplicateOf, FileOutcome, MailSignals, ReceiptOutcome, ReceiptRecipient, ReceiptRequested,
    RefusalReason,
};
pub use registry::{ApplicationRecord, ApplicationStatus};

/// Schema file names (under `schemas/`) of every event payload type.
pub const SCHEMA_FILES: [&str; 7] = [
    SecuremailReceived::SCHEMA,
    EnterFinlandReceived::SCHEMA,
    ApplicationRecord::SCHEMA,
    SupplementRouted::SCHEMA,
    SupplementTriaged::SCHEMA,
    SupplementQuarantined::SCHEMA,
    ReceiptRequested::SCHEMA,
];

#[cfg(test)]
mod examples;
#[cfg(test)]
mod schema_tests;
