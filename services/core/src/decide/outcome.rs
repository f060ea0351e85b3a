//! How a supplement ends, from what analysis and matching proposed and
//! what the record already holds: routed with the next number, a
//! duplicate of an earlier one, routed but flagged as a possible resend,
//! sent to triage, or quarantined; which flags it carries, which events
//! announce it and what its one receipt may say. The store reads the
//! facts, calls [`outcome`] and writes what it returns.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::events::{QuarantineReason, RefusalReason, RoutingFlag, TriageReason};
use crate::ids::ApplicationId;

use super::file_name::clean_text;

/// Longest failure text kept in a triage reason.
const MAX_DETAIL_BYTES: usize = 2000;

/// What analysis and matching proposed, before the record was consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// The supplement as a whole is kept from caseworkers.
    Quarantine(QuarantineReason),
    Triage {
        reasons: Vec<TriageReason>,
        candidates: Vec<ApplicationId>,
    },
    Route {
        application_id: ApplicationId,
        flags: Vec<RoutingFlag>,
    },
    /// Processing failed for good; recorded from the event alone.
    Unprocessable { detail: String },
}

/// An earlier supplement of the same application, within the dedup window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    pub supplement_id: Uuid,
    pub reference: String,
    pub arrived_at: DateTime<Utc>,
}

/// What the record holds that the outcome depends on.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub proposal: &'a Proposal,
    /// The earliest with the same text and files (full fingerprint).
    pub same_content: Option<&'a Earlier>,
    /// The earliest with the same files (attachments fingerprint).
    pub same_files: Option<&'a Earlier>,
    /// The application's last sequence number (0 before its first).
    pub last_sequence: i64,
    /// Ordinals of the parts refused, in part order.
    pub refused_parts: &'a [u32],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Routed,
    Duplicate,
    Triage,
    Quarantined,
    Unprocessable,
}

impl Kind {
    /// The name stored in `supplements.outcome` and used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Routed => "routed",
            Kind::Duplicate => "duplicate",
            Kind::Triage => "triage",
            Kind::Quarantined => "quarantined",
            Kind::Unprocessable => "unprocessable",
        }
    }
}

/// An event that announces the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    Routed,
    Triaged,
    /// The supplement as a whole.
    Quarantined,
    /// One refused part.
    PartQuarantined {
        ordinal: u32,
    },
    /// The one receipt request.
    Receipt,
}

impl Announce {
    /// What the event's derived id is made from (see `outbox_event_id`).
    pub fn what(self) -> String {
        match self {
            Announce::Routed => "routed".into(),
            Announce::Triaged => "triaged".into(),
            Announce::Quarantined => "quarantined".into(),
            Announce::PartQuarantined { ordinal } => format!("quarantined.{ordinal}"),
            Announce::Receipt => "receipt".into(),
        }
    }
}

/// What the receipt may say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptTerms {
    /// Whether it names the application (never to a sender who is not a
    /// party to it: a stranger learns nothing about the id they wrote).
    pub names_application: bool,
    /// The original, when this one was received before.
    pub already_received: Option<Earlier>,
    /// Why nothing of the message reached a caseworker; then the receipt
    /// lists no files.
    pub message_refused: Option<RefusalReason>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub kind: Kind,
    /// The application recorded on the supplement (routed or duplicate).
    pub application: Option<ApplicationId>,
    pub sequence: Option<i64>,
    pub duplicate_of: Option<Earlier>,
    pub possible_resend_of: Option<Uuid>,
    pub flags: Vec<RoutingFlag>,
    pub triage: Option<(Vec<TriageReason>, Vec<ApplicationId>)>,
    pub whole: Option<QuarantineReason>,
    /// Whether its fingerprints are stored for later ones to match.
    pub keeps_fingerprints: bool,
    /// In the order they are written, the receipt last.
    pub announces: Vec<Announce>,
    pub receipt: ReceiptTerms,
}

pub fn outcome(facts: &Facts<'_>) -> Outcome {
    let mut out = Outcome {
        kind: Kind::Triage,
        application: None,
        sequence: None,
        duplicate_of: None,
        possible_resend_of: None,
        flags: Vec::new(),
        triage: None,
        whole: None,
        keeps_fingerprints: false,
        announces: Vec::new(),
        receipt: ReceiptTerms {
            names_application: false,
            already_received: None,
            message_refused: None,
        },
    };
    match facts.proposal {
        Proposal::Quarantine(reason) => {
            out.kind = Kind::Quarantined;
            out.whole = Some(reason.clone());
            out.receipt.message_refused = Some(message_refusal(reason));
        }
        Proposal::Unprocessable { detail } => {
            out.kind = Kind::Unprocessable;
            out.triage = Some((
                vec![TriageReason::Unprocessable {
                    detail: clean_text(detail, MAX_DETAIL_BYTES),
                }],
                vec![],
            ));
            out.receipt.message_refused = Some(RefusalReason::Unprocessable);
        }
        Proposal::Triage {
            reasons,
            candidates,
        } => out.triage = Some((reasons.clone(), candidates.clone())),
        Proposal::Route {
            application_id,
            flags,
        } => {
            out.application = Some(application_id.clone());
            out.receipt.names_application = !flags.contains(&RoutingFlag::SenderNotParty);
            if let Some(original) = facts.same_content {
                out.kind = Kind::Duplicate;
                out.duplicate_of = Some(original.clone());
                out.receipt.already_received = Some(original.clone());
            } else {
                out.kind = Kind::Routed;
                out.sequence = Some(facts.last_sequence + 1);
                out.keeps_fingerprints = true;
                out.flags = flags.clone();
                if let Some(original) = facts.same_files {
                    out.possible_resend_of = Some(original.supplement_id);
                    out.flags.push(RoutingFlag::PossibleResend {
                        original_supplement_id: original.supplement_id,
                    });
                }
                if !facts.refused_parts.is_empty() {
                    out.flags.push(RoutingFlag::PartsRefused {
                        count: facts.refused_parts.len() as u32,
                    });
                }
            }
        }
    }
    match out.kind {
        Kind::Routed => out.announces.push(Announce::Routed),
        Kind::Triage | Kind::Unprocessable => out.announces.push(Announce::Triaged),
        Kind::Quarantined => out.announces.push(Announce::Quarantined),
        Kind::Duplicate => {}
    }
    out.announces.extend(
        facts
            .refused_parts
            .iter()
            .map(|&ordinal| Announce::PartQuarantined { ordinal }),
    );
    out.announces.push(Announce::Receipt);
    out
}

/// What the applicant is told when the whole message was kept away.
fn message_refusal(reason: &QuarantineReason) -> RefusalReason {
    match reason {
        QuarantineReason::Infected { .. } => RefusalReason::Infected,
        QuarantineReason::Dangerous { .. } => RefusalReason::Dangerous,
        QuarantineReason::ForeignEncryption { .. } | QuarantineReason::Undecryptable => {
            RefusalReason::ForeignEncryption
        }
        QuarantineReason::Unscannable { .. } => RefusalReason::Unscannable,
        QuarantineReason::Malformed { .. } => RefusalReason::UnsupportedType,
    }
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
