//! The worker's three outcomes for a supplement: routed to a caseworker
//! queue, sent to manual triage, or (in whole or part) quarantined.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{Channel, ObjectRef};
use super::envelope::EventData;
use crate::ids::{ApplicationId, RequestId};

/// An attachment as delivered to the caseworker: scanned clean, typed by
/// its content rather than its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutedAttachment {
    pub attachment_id: Uuid,
    pub filename: String,
    /// Media type found from the content's magic bytes.
    pub detected_type: String,
    pub object: ObjectRef,
}

/// Something the caseworker should know about a routed supplement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RoutingFlag {
    /// The text names another application than the one chosen or matched.
    OtherApplicationMentioned { application_id: ApplicationId },
    /// The sender is not a known party to the application.
    SenderNotParty,
    /// Same attachments as an earlier supplement, with new text.
    PossibleResend { original_supplement_id: Uuid },
    /// A file's name claims another type than its content.
    TypeMismatch {
        attachment_id: Uuid,
        claimed: String,
        detected: String,
    },
    /// Some parts were refused; the receipt told the applicant.
    PartsRefused { count: u32 },
    /// A file delivered clean was found infected when scanned again with
    /// newer signatures (`intake rescan`), and taken out of reach.
    InfectedAfterDelivery { attachment_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplementRouted {
    pub supplement_id: Uuid,
    pub application_id: ApplicationId,
    /// Position in the application's queue, from 1, in arrival order.
    pub sequence: u64,
    pub unit: String,
    pub confidential: bool,
    pub channel: Channel,
    pub arrived_at: DateTime<Utc>,
    pub request_id: Option<RequestId>,
    /// The message text (body), decrypted and stored for the caseworker.
    pub text: Option<ObjectRef>,
    pub attachments: Vec<RoutedAttachment>,
    pub flags: Vec<RoutingFlag>,
}

impl EventData for SupplementRouted {
    const TYPE: &'static str = "fi.intake.supplement.routed.v1";
    const SCHEMA: &'static str = "supplement.routed.v1.json";

    fn key(&self) -> String {
        self.application_id.to_string()
    }

    fn subject(&self) -> Option<String> {
        Some(self.supplement_id.to_string())
    }
}

/// Why no single application could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriageReason {
    /// No application id anywhere in subject, body or attachments.
    NoIdentifier,
    /// A well-formed id that the registry does not know.
    UnknownApplication { application_id: ApplicationId },
    /// More than one known application is named.
    Ambiguous,
    /// The e-mail names an application its sender is not a party to;
    /// by policy, a person decides before it reaches the caseworker.
    SenderNotParty { application_id: ApplicationId },
    /// An auto-reply, bounce or list mail: no applicant wrote it, so it
    /// is kept out of the caseworkers' queues.
    AutomaticMessage { what: String },
    /// Processing failed for good (see the dead-letter topic); the
    /// applicant was asked to send it again.
    Unprocessable { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplementTriaged {
    pub supplement_id: Uuid,
    pub channel: Channel,
    pub arrived_at: DateTime<Utc>,
    pub reasons: Vec<TriageReason>,
    /// Known applications the supplement might belong to.
    pub candidates: Vec<ApplicationId>,
}

impl EventData for SupplementTriaged {
    const TYPE: &'static str = "fi.intake.supplement.triaged.v1";
    const SCHEMA: &'static str = "supplement.triage.v1.json";

    fn key(&self) -> String {
        self.supplement_id.to_string()
    }

    fn subject(&self) -> Option<String> {
        Some(self.supplement_id.to_string())
    }
}

/// Which part of a supplement, when not the whole of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRef {
    /// Position among the supplement's parts, from 0.
    pub index: u32,
    pub filename: Option<String>,
}

/// Why content was kept away from caseworkers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum QuarantineReason {
    /// The virus scanner found a signature.
    Infected { signature: String },
    /// Active content: PDF JavaScript, launch actions, embedded executables.
    Dangerous { detail: String },
    /// Encrypted at rest with none of our keys.
    Undecryptable,
    /// Encrypted with another service (PGP, S/MIME, password protection).
    ForeignEncryption { scheme: String },
    /// Not what it claims to be, or not parseable within the budgets.
    Malformed { detail: String },
    /// The virus scanner can never check it (over its limits, a format it
    /// refuses): neither clean nor infected.
    Unscannable { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplementQuarantined {
    pub supplement_id: Uuid,
    pub channel: Channel,
    pub arrived_at: DateTime<Utc>,
    /// The part concerned; `None` when the whole supplement is.
    pub part: Option<PartRef>,
    pub reason: QuarantineReason,
    /// The quarantined copy, for security staff only.
    pub object: Option<ObjectRef>,
}

impl EventData for SupplementQuarantined {
    const TYPE: &'static str = "fi.intake.supplement.quarantined.v1";
    const SCHEMA: &'static str = "supplement.quarantine.v1.json";

    fn key(&self) -> String {
        self.supplement_id.to_string()
    }

    fn subject(&self) -> Option<String> {
        Some(self.supplement_id.to_string())
    }
}
