//! The worker's request for exactly one automatic receipt per supplement.
//! It carries facts, not text: the receipt service renders the words.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{Channel, FileKind, Language, Transport};
use super::envelope::EventData;
use crate::ids::{ApplicationId, CustomerNumber};

/// Where the receipt goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReceiptRecipient {
    Email { address: String },
    EnterFinland { customer_number: CustomerNumber },
}

/// Header facts of the incoming mail that decide whether answering it would
/// start a mail loop (RFC 3834) or answer a bounce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSignals {
    /// `Auto-Submitted` as received, if present.
    pub auto_submitted: Option<String>,
    /// `Precedence` as received, if present.
    pub precedence: Option<String>,
    pub has_list_id: bool,
    /// The envelope sender was empty (`MAIL FROM:<>`).
    pub empty_return_path: bool,
    /// The incoming `Message-ID`, for `In-Reply-To` and `References`.
    pub message_id: Option<String>,
    /// DMARC's result (`pass`, `fail`, `none`, ...) as our own receiving
    /// mail server recorded it in `Authentication-Results`; `None` when it
    /// recorded none.
    pub dmarc: Option<String>,
}

/// A first arrival, or a resend of something already received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReceiptOutcome {
    Received,
    AlreadyReceived(DuplicateOf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateOf {
    pub original_reference: String,
    pub original_received_at: DateTime<Utc>,
}

/// Why a file was not accepted, in categories the receipt can explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Encrypted with another service: send it through Securemail instead.
    ForeignEncryption,
    /// Protected by a password: send it unprotected.
    PasswordProtected,
    /// Over the size limit: split it.
    TooLarge,
    /// The virus scan found something.
    Infected,
    /// Active or dangerous content.
    Dangerous,
    /// A type the agency does not accept, or a broken file.
    UnsupportedType,
    /// The name says another type than the content is.
    TypeMismatch,
    /// The virus scanner cannot check it (too large or too complex).
    Unscannable,
    /// The message could not be processed at all: send it again.
    Unprocessable,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 9] = [
        RefusalReason::ForeignEncryption,
        RefusalReason::PasswordProtected,
        RefusalReason::TooLarge,
        RefusalReason::Infected,
        RefusalReason::Dangerous,
        RefusalReason::UnsupportedType,
        RefusalReason::TypeMismatch,
        RefusalReason::Unscannable,
        RefusalReason::Unprocessable,
    ];

    /// The serialised name, for rows and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::ForeignEncryption => "foreign_encryption",
            RefusalReason::PasswordProtected => "password_protected",
            RefusalReason::TooLarge => "too_large",
            RefusalReason::Infected => "infected",
            RefusalReason::Dangerous => "dangerous",
            RefusalReason::UnsupportedType => "unsupported_type",
            RefusalReason::TypeMismatch => "type_mismatch",
            RefusalReason::Unscannable => "unscannable",
            RefusalReason::Unprocessable => "unprocessable",
        }
    }
}

/// One file as the receipt describes it: by position, kind and size,
/// never by the name the applicant (or an impostor) gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutcome {
    /// Position among the supplement's files, from 1.
    pub position: u32,
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    pub refusal: Option<RefusalReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRequested {
    /// Unique per supplement: the receipt service sends at most one per id.
    pub receipt_id: Uuid,
    pub supplement_id: Uuid,
    /// The reference the applicant can quote, e.g. `R-7Q2M-K8TD`.
    pub reference: String,
    pub channel: Channel,
    /// For Securemail: whether it came through Securemail or plain e-mail.
    pub transport: Option<Transport>,
    pub recipient: ReceiptRecipient,
    /// The registry's language for the application, else the message's;
    /// `None` means all three.
    pub language: Option<Language>,
    pub arrived_at: DateTime<Utc>,
    /// The application it was joined to; shown masked.
    pub application_id: Option<ApplicationId>,
    pub outcome: ReceiptOutcome,
    /// Set when the message as a whole could not be received (encrypted
    /// for someone else, infected, unreadable); `files` is then empty.
    pub message_refused: Option<RefusalReason>,
    pub files: Vec<FileOutcome>,
    /// Present for e-mail; absent for Enter Finland.
    pub mail: Option<MailSignals>,
}

impl EventData for ReceiptRequested {
    const TYPE: &'static str = "fi.intake.receipt.requested.v1";
    const SCHEMA: &'static str = "receipt.requested.v1.json";

    fn key(&self) -> String {
        self.supplement_id.to_string()
    }

    fn subject(&self) -> Option<String> {
        Some(self.supplement_id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::RefusalReason;

    #[test]
    fn a_refusal_reason_names_itself_as_serde_does() {
        for reason in RefusalReason::ALL {
            let serialised = serde_json::to_value(reason).expect("serialises");
            assert_eq!(serialised, reason.as_str(), "{reason:?}");
        }
    }
}
