//! The applications registry, as case management publishes it on the
//! compacted `applications.v1` topic (a null value deletes the key).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::Language;
use super::envelope::EventData;
use crate::ids::{ApplicationId, CustomerNumber, RequestId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Pending,
    Decided,
    Withdrawn,
}

/// The current state of one application: enough to match a supplement to
/// it, route it to the owning unit and answer the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRecord {
    pub application_id: ApplicationId,
    pub customer_number: CustomerNumber,
    pub status: ApplicationStatus,
    /// The caseworking unit that owns the application.
    pub unit: String,
    /// Confidential applications are readable by the assigned caseworker
    /// only, never by delegates.
    pub confidential: bool,
    /// The caseworker (the identity provider's subject id) the application
    /// is assigned to: the only one who reads it when it is confidential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_caseworker: Option<String>,
    /// The applicant's language for correspondence.
    pub language: Language,
    /// Addresses the applicant (or their representative) writes from.
    pub contact_addresses: Vec<String>,
    /// Requests for supplement still waiting for an answer.
    pub open_requests: Vec<RequestId>,
    /// Registry version: a record older than the stored one is ignored.
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

impl EventData for ApplicationRecord {
    const TYPE: &'static str = "fi.intake.application.v1";
    const SCHEMA: &'static str = "application.v1.json";

    fn key(&self) -> String {
        self.application_id.to_string()
    }

    fn subject(&self) -> Option<String> {
        Some(self.application_id.to_string())
    }
}
