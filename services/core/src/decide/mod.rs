//! The worker's decisions, each a pure function of what it was given:
//! which identifiers a text names, which application a supplement joins,
//! whether a part may reach a caseworker, whether it repeats an earlier
//! one, when its turn in the application's queue has come, and the
//! derived ids that make every effect repeatable.

mod classify;
mod derived;
mod file_name;
mod file_types;
mod fingerprint;
mod identifiers;
mod matching;
mod offsets;
mod outcome;
mod release;

pub use classify::{Finding, PartVerdict, classify, scanner_finding};
pub use derived::{outbox_event_id, receipt_id, receipt_reference};
pub use file_name::{FileName, MAX_NAME_BYTES, cap_bytes, clean_text, is_hidden, normalise_name};
pub use file_types::{
    FILE_TYPES, FileType, file_kind, file_type, is_executable_extension, judge_name,
};
pub use fingerprint::{Fingerprints, fingerprints, normalise_text};
pub use identifiers::{Identifiers, extract_identifiers};
pub use matching::{Candidate, Decision, Explicit, NonPartyPolicy, match_supplement};
pub use offsets::OffsetTracker;
pub use outcome::{Announce, Earlier, Facts, Kind, Outcome, Proposal, ReceiptTerms, outcome};
pub use release::{Blocker, Held, Release, Scope, release};
