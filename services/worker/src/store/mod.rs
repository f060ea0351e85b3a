//! PostgreSQL, the system of record: the materialised registry, the
//! gateway's arrival claims (for ordering), and the one transaction that
//! records a supplement's outcome with its outbox events.

mod claims;
mod commit;
mod outbox;
mod registry;

pub use claims::{blockers, mark_application, mark_finished};
pub use commit::{Committed, Disposition, Registered, Source, commit};
pub use outbox::{OutboxRow, mark_sent, next_unsent, record_failure};
pub use registry::{RegistryChange, apply_registry, candidates};

pub(crate) fn channel_name(channel: intake_core::events::Channel) -> &'static str {
    match channel {
        intake_core::events::Channel::Securemail => "securemail",
        intake_core::events::Channel::EnterFinland => "enter_finland",
    }
}

pub(crate) fn language_name(language: intake_core::events::Language) -> &'static str {
    match language {
        intake_core::events::Language::Fi => "fi",
        intake_core::events::Language::Sv => "sv",
        intake_core::events::Language::En => "en",
    }
}
