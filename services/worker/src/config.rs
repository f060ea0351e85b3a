//! The worker's own settings (`INTAKE_WORKER__*`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::inspect::{InspectLimits, MimeLimits, ZipBudget};

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// age secret keys (`AGE-SECRET-KEY-1...`), comma-separated, newest
    /// first: the current identity and those still needed during a rotation.
    pub identities: SecretString,
    /// age public keys that content the worker extracts (files inside an
    /// e-mail, its text) is sealed to; comma-separated.
    pub recipients: String,
    #[serde(default = "default_group")]
    pub group_id: String,
    /// A stable name for this replica (e.g. the pod name of a StatefulSet):
    /// Kafka static membership, so a restarted worker takes its partitions
    /// back at once instead of waiting for its old session to expire.
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default = "default_inbound_bucket")]
    pub inbound_bucket: String,
    /// Where refused and infected content is kept, apart from what
    /// caseworkers can reach.
    #[serde(default = "default_quarantine_bucket")]
    pub quarantine_bucket: String,
    /// Supplements analysed at the same time (by different keys).
    #[serde(default = "default_lanes")]
    pub lanes: usize,
    /// Largest e-mail read (it is read as a stream; this is a policy
    /// limit, not a memory one).
    #[serde(default = "default_max_mail")]
    pub max_mail_bytes: u64,
    /// Memory all e-mails being analysed may take together; a mail waits
    /// for its share (`inspect_max_bytes` and 16 MiB, whatever its size).
    #[serde(default = "default_mail_memory")]
    pub mail_memory_bytes: u64,
    #[serde(default = "default_max_file")]
    pub max_file_bytes: u64,
    #[serde(default = "default_max_parts")]
    pub max_parts: usize,
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Files up to this size are held in memory for deep inspection.
    #[serde(default = "default_inspect_max")]
    pub inspect_max_bytes: u64,
    #[serde(default = "default_pdf_max")]
    pub pdf_max_bytes: u64,
    /// Time one PDF, ZIP or Office file's inspection may take (CPU and
    /// wall clock); its child process is killed past it.
    #[serde(default = "default_pdf_time", with = "humantime_serde")]
    pub pdf_time_budget: Duration,
    /// Memory (heap) of the child process that inspects one file.
    #[serde(default = "default_inspect_memory")]
    pub inspect_memory_bytes: u64,
    #[serde(default = "default_zip_entries")]
    pub zip_max_entries: usize,
    #[serde(default = "default_zip_total")]
    pub zip_max_total_bytes: u64,
    #[serde(default = "default_zip_ratio")]
    pub zip_max_ratio: u64,
    #[serde(default = "default_zip_depth")]
    pub zip_max_depth: usize,
    /// Media types delivered to caseworkers, comma-separated.
    #[serde(default = "default_allowed_types")]
    pub allowed_types: String,
    /// The authserv-id our receiving mail server writes into
    /// `Authentication-Results`; only its DMARC verdict is believed, and a
    /// failed one gets no receipt. Unset: DMARC is not read.
    #[serde(default)]
    pub authserv_id: Option<String>,
    /// E-mail naming an application its sender is not a party to:
    /// `triage` (a person looks first) or `route` (flagged).
    #[serde(default)]
    pub non_party: intake_core::decide::NonPartyPolicy,
    /// How far back an applicant's resend is recognised.
    #[serde(default = "default_dedup_window", with = "humantime_serde")]
    pub dedup_window: Duration,
    /// How long a supplement waits for an earlier one of its application
    /// before going ahead (with an alert).
    #[serde(default = "default_hold_limit", with = "humantime_serde")]
    pub hold_limit: Duration,
    /// Longest pause between retries of a failing step.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Attempts before a supplement whose content keeps failing to read
    /// goes to the dead-letter topic. Waiting for the virus scanner, the
    /// database or the object store is never counted: an outage is waited
    /// out.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Gateway requests unfinished for longer are abandoned and no longer
    /// hold later supplements; as the gateway's `claim_stale_after`.
    #[serde(default = "default_claim_stale_after", with = "humantime_serde")]
    pub claim_stale_after: Duration,
    /// Most outcomes recorded in one transaction (group commit): as many
    /// as are ready, up to this.
    #[serde(default = "default_record_batch")]
    pub record_batch: usize,
}

fn default_group() -> String {
    "intake-worker".into()
}
fn default_inbound_bucket() -> String {
    "intake-inbound".into()
}
fn default_quarantine_bucket() -> String {
    "intake-quarantine".into()
}
fn default_lanes() -> usize {
    8
}
fn default_max_mail() -> u64 {
    600 * MIB
}
fn default_mail_memory() -> u64 {
    // Eight lanes' shares at the default inspection budget.
    8 * (64 + 16) * MIB
}
fn default_max_file() -> u64 {
    400 * MIB
}
fn default_max_parts() -> usize {
    200
}
fn default_max_depth() -> usize {
    10
}
fn default_inspect_max() -> u64 {
    64 * MIB
}
fn default_pdf_max() -> u64 {
    64 * MIB
}
fn default_pdf_time() -> Duration {
    Duration::from_secs(20)
}
fn default_inspect_memory() -> u64 {
    1024 * MIB
}
fn default_zip_entries() -> usize {
    1000
}
fn default_zip_total() -> u64 {
    512 * MIB
}
fn default_zip_ratio() -> u64 {
    100
}
fn default_zip_depth() -> usize {
    3
}
fn default_allowed_types() -> String {
    [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/heif",
        "image/heic",
        "image/gif",
        "image/webp",
        "text/plain",
        // Not RTF: its embedded OLE objects (objdata) are a classic
        // exploit carrier and nothing here looks inside it.
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
    ]
    .join(",")
}
fn default_dedup_window() -> Duration {
    Duration::from_secs(90 * 24 * 3600)
}
fn default_hold_limit() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(30)
}
fn default_max_attempts() -> u32 {
    12
}
fn default_record_batch() -> usize {
    256
}
fn default_claim_stale_after() -> Duration {
    Duration::from_secs(30 * 60)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error(
    "INTAKE_WORKER__MAIL_MEMORY_BYTES ({memory}) must hold one mail's share, \
     INTAKE_WORKER__INSPECT_MAX_BYTES ({inspect_max}) and 16 MiB, and fit 4 TiB"
)]
pub struct MemoryBudgetError {
    pub memory: u64,
    pub inspect_max: u64,
}

impl WorkerConfig {
    /// Retries of a failing step: doubling pauses from 200 ms up to
    /// `max_backoff`, with jitter.
    pub fn backoff(&self) -> intake_adapters::retry::Backoff {
        intake_adapters::retry::Backoff::new(Duration::from_millis(200), self.max_backoff)
    }

    /// The mail memory budget in KiB permits, checked to hold one mail's
    /// share (else every mail would wait for ever).
    pub fn mail_memory_permits(&self) -> Result<usize, MemoryBudgetError> {
        let error = MemoryBudgetError {
            memory: self.mail_memory_bytes,
            inspect_max: self.inspect_max_bytes,
        };
        let permits = self.mail_memory_bytes / 1024;
        let needed = u64::from(crate::analyse::mail_permits(self.inspect_max_bytes));
        if permits < needed || permits > u64::from(u32::MAX) {
            return Err(error);
        }
        Ok(permits as usize)
    }

    pub fn identity_secrets(&self) -> Vec<SecretString> {
        list(self.identities.expose_secret())
            .into_iter()
            .map(SecretString::from)
            .collect()
    }

    pub fn recipient_keys(&self) -> Vec<String> {
        list(&self.recipients)
    }

    pub fn mime_limits(&self) -> MimeLimits {
        MimeLimits {
            max_parts: self.max_parts,
            max_depth: self.max_depth,
        }
    }

    pub fn inspect_limits(&self) -> InspectLimits {
        InspectLimits {
            allowed_types: list(&self.allowed_types),
            max_file_bytes: self.max_file_bytes,
            pdf_max_bytes: self.pdf_max_bytes.min(self.inspect_max_bytes),
            zip: ZipBudget {
                max_entries: self.zip_max_entries,
                max_total_bytes: self.zip_max_total_bytes,
                max_ratio: self.zip_max_ratio,
                max_depth: self.zip_max_depth,
            },
        }
    }
}
