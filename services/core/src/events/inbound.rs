//! What the gateway produces: one event per supplement as it arrived.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{AttachmentRef, Language, ObjectRef, Transport};
use super::envelope::EventData;
use crate::ids::{ApplicationId, CustomerNumber, RequestId};

/// A raw RFC 5322 message from Securemail or plain e-mail. Its attachments
/// are inside the MIME and are unpacked by the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuremailReceived {
    pub supplement_id: Uuid,
    pub transport: Transport,
    /// The envelope sender (SMTP `MAIL FROM`, or Securemail's authenticated
    /// sender); empty for bounces.
    pub sender: String,
    /// The agency mailbox it was sent to.
    pub recipient: String,
    /// When the gateway accepted it: the order that FIFO follows.
    pub arrived_at: DateTime<Utc>,
    /// The message's own `Message-ID`, if it had one.
    pub message_id: Option<String>,
    pub message: ObjectRef,
}

impl EventData for SecuremailReceived {
    const TYPE: &'static str = "fi.intake.supplement.securemail.received.v1";
    const SCHEMA: &'static str = "supplement.securemail.v1.json";

    /// By sender: one applicant's e-mails stay in order. Application order
    /// across channels is restored by the worker.
    fn key(&self) -> String {
        self.sender.to_lowercase()
    }

    fn subject(&self) -> Option<String> {
        Some(self.supplement_id.to_string())
    }
}

/// A submission through Enter Finland, where the applicant chose the
/// application (and possibly the request it answers) themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterFinlandReceived {
    pub supplement_id: Uuid,
    /// The e-service's own id for the submission.
    pub submission_id: String,
    pub customer_number: CustomerNumber,
    pub application_id: ApplicationId,
    /// The caseworker's request for supplement this answers, if any.
    pub request_id: Option<RequestId>,
    pub language: Language,
    pub arrived_at: DateTime<Utc>,
    /// The message text, stored like any attachment.
    pub message_text: ObjectRef,
    pub attachments: Vec<AttachmentRef>,
}

impl EventData for EnterFinlandReceived {
    const TYPE: &'static str = "fi.intake.supplement.enterfinland.received.v1";
    const SCHEMA: &'static str = "supplement.enterfinland.v1.json";

    fn key(&self) -> String {
        self.application_id.to_string()
    }

    fn subject(&self) -> Option<String> {
        Some(self.supplement_id.to_string())
    }
}
