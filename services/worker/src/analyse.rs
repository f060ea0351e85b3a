//! Everything done to one supplement before its outcome is decided:
//! decrypt, unpack, inspect and scan each part, store what caseworkers or
//! security staff will need, and collect the identifiers. Idempotent: a
//! second run after a crash writes the same objects under the same keys.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use intake_adapters::clamav::Verdict;
use intake_core::decide::{
    Explicit, Finding, Identifiers, PartVerdict, classify, extract_identifiers,
};
use intake_core::events::{
    Channel, EnterFinlandReceived, Language, MailSignals, ObjectRef, QuarantineReason,
    ReceiptRecipient, SecuremailReceived, Transport,
};
use intake_core::ids::{CustomerNumber, RequestId};
use uuid::Uuid;

use crate::content::{Content, ContentError, Plain, bytes_stream};
use crate::inspect::{self, InspectLimits, Inspection, MimeLimits};
use crate::scan::Scanning;

/// An inbound event, from either channel.
#[derive(Debug, Clone)]
pub enum Inbound {
    Securemail(SecuremailReceived),
    EnterFinland(EnterFinlandReceived),
}

impl Inbound {
    pub fn supplement_id(&self) -> Uuid {
        match self {
            Inbound::Securemail(e) => e.supplement_id,
            Inbound::EnterFinland(e) => e.supplement_id,
        }
    }

    pub fn arrived_at(&self) -> DateTime<Utc> {
        match self {
            Inbound::Securemail(e) => e.arrived_at,
            Inbound::EnterFinland(e) => e.arrived_at,
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Inbound::Securemail(_) => Channel::Securemail,
            Inbound::EnterFinland(_) => Channel::EnterFinland,
        }
    }
}

/// One file of a supplement after inspection and scan.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub attachment_id: Uuid,
    pub ordinal: u32,
    pub filename: String,
    pub declared_type: Option<String>,
    pub detected_type: String,
    pub size: u64,
    pub sha256: String,
    pub verdict: PartVerdict,
    /// Where caseworkers (accepted) or security staff (refused) find it.
    pub object: ObjectRef,
    /// An inbound object to delete once the refusal is recorded (the file
    /// was moved to quarantine).
    pub remove_after: Option<ObjectRef>,
    pub scanned_at: DateTime<Utc>,
}

/// What the worker learned about a supplement.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub supplement_id: Uuid,
    pub channel: Channel,
    pub transport: Option<Transport>,
    /// The e-mail address it came from (envelope sender, else From).
    pub sender: Option<String>,
    pub customer_number: Option<CustomerNumber>,
    pub arrived_at: DateTime<Utc>,
    pub language: Option<Language>,
    pub request_id: Option<RequestId>,
    /// The public key of the identity that opened the payload.
    pub decrypted_with: Option<String>,
    /// The message text, as the dedup fingerprint reads it.
    pub text: String,
    pub text_object: Option<ObjectRef>,
    pub files: Vec<FileResult>,
    /// Set when the supplement as a whole is kept from caseworkers.
    pub whole: Option<QuarantineReason>,
    pub mail: Option<MailSignals>,
    pub recipient: ReceiptRecipient,
    pub identifiers: Identifiers,
    pub explicit: Explicit,
}

/// Why analysis stopped.
#[derive(Debug, thiserror::Error)]
pub enum AnalyseError {
    #[error(transparent)]
    Content(#[from] ContentError),
}

#[derive(Clone)]
pub struct Analyser {
    pub content: Content,
    pub scanning: Scanning,
    pub mime: MimeLimits,
    pub limits: InspectLimits,
    pub inbound_bucket: String,
    pub quarantine_bucket: String,
    pub max_mail_bytes: u64,
    pub inspect_max_bytes: u64,
    pub pdf_time_budget: Duration,
}

/// Message texts larger than this are stored but not read for ids.
const MAX_TEXT_BYTES: u64 = 16 << 20;

impl Analyser {
    pub async fn analyse(&self, inbound: &Inbound) -> Result<Analysis, AnalyseError> {
        match inbound {
            Inbound::Securemail(event) => self.securemail(event).await,
            Inbound::EnterFinland(event) => self.enter_finland(event).await,
        }
    }

    async fn securemail(&self, event: &SecuremailReceived) -> Result<Analysis, AnalyseError> {
        let sender = (!event.sender.trim().is_empty()).then(|| event.sender.trim().to_lowercase());
        let mut analysis = Analysis {
            supplement_id: event.supplement_id,
            channel: Channel::Securemail,
            transport: Some(event.transport),
            sender: sender.clone(),
            customer_number: None,
            arrived_at: event.arrived_at,
            language: None,
            request_id: None,
            decrypted_with: None,
            text: String::new(),
            text_object: None,
            files: Vec::new(),
            whole: None,
            mail: Some(MailSignals {
                empty_return_path: sender.is_none(),
                message_id: event.message_id.clone(),
                ..MailSignals::default()
            }),
            recipient: ReceiptRecipient::Email {
                address: sender.clone().unwrap_or_default(),
            },
            identifiers: Identifiers::default(),
            explicit: Explicit::Sender {
                address: sender.clone().unwrap_or_default(),
            },
        };
        let (key, raw) = match self
            .content
            .read_all(&event.message, self.max_mail_bytes)
            .await
        {
            Ok(opened) => opened,
            Err(ContentError::Sealed(_)) => {
                analysis.whole = Some(QuarantineReason::Undecryptable);
                return Ok(analysis);
            }
            Err(ContentError::TooLarge { limit }) => {
                analysis.whole = Some(QuarantineReason::Malformed {
                    detail: format!("e-mail larger than {limit} bytes"),
                });
                return Ok(analysis);
            }
            Err(e) => return Err(e.into()),
        };
        analysis.decrypted_with = Some(key);
        let mime = self.mime;
        let unpacked = tokio::task::spawn_blocking(move || inspect::unpack(&raw, mime))
            .await
            .map_err(|e| ContentError::Read(std::io::Error::other(e)))?;
        let mail = match unpacked {
            Ok(mail) => mail,
            Err(e) => {
                analysis.whole = Some(QuarantineReason::Malformed {
                    detail: e.to_string(),
                });
                return Ok(analysis);
            }
        };
        let from = sender.clone().or(mail.from.clone()).unwrap_or_default();
        analysis.recipient = ReceiptRecipient::Email {
            address: from.clone(),
        };
        analysis.explicit = Explicit::Sender { address: from };
        analysis.language = mail.language;
        if let Some(signals) = analysis.mail.as_mut() {
            let empty = signals.empty_return_path;
            *signals = mail.signals.clone();
            signals.empty_return_path |= empty;
            signals.message_id = signals.message_id.take().or(event.message_id.clone());
        }
        if let Some(scheme) = mail.encrypted_as {
            analysis.whole = Some(QuarantineReason::ForeignEncryption {
                scheme: scheme.to_owned(),
            });
            return Ok(analysis);
        }
        let text = if mail.text.trim().is_empty() {
            mail.html_text.clone()
        } else {
            mail.text.clone()
        };
        if text.contains("-----BEGIN PGP MESSAGE-----") && mail.files.is_empty() {
            analysis.whole = Some(QuarantineReason::ForeignEncryption {
                scheme: "PGP".to_owned(),
            });
            return Ok(analysis);
        }
        let id = event.supplement_id;
        if let Some(reason) = self.scan_text(id, &text).await? {
            analysis.whole = Some(reason);
            return Ok(analysis);
        }
        if !text.is_empty() {
            let key = object_key(id, "text");
            analysis.text_object = Some(
                self.content
                    .seal_and_put(
                        &self.inbound_bucket,
                        &key,
                        Bytes::from(text.clone().into_bytes()),
                    )
                    .await?,
            );
        }
        let mut found = extract_identifiers(&mail.subject);
        found.merge(extract_identifiers(&mail.text));
        found.merge(extract_identifiers(&mail.html_text));
        for (ordinal, file) in mail.files.into_iter().enumerate() {
            let ordinal = ordinal as u32;
            let bytes = Bytes::from(file.bytes);
            let plain = Plain::from_bytes(bytes.clone());
            let (inspection, verdict) = self
                .inspect_and_scan(id, ordinal, &file.filename, &plain, None)
                .await?;
            if !matches!(
                verdict,
                PartVerdict::Refuse {
                    refusal: intake_core::events::RefusalReason::Infected,
                    ..
                }
            ) {
                found.merge(extract_identifiers(&inspection.text));
            }
            let (bucket, key) = match verdict {
                PartVerdict::Accept { .. } => (
                    &self.inbound_bucket,
                    object_key(id, &format!("file-{ordinal}")),
                ),
                PartVerdict::Refuse { .. } => {
                    (&self.quarantine_bucket, quarantine_key(id, ordinal))
                }
            };
            let object = self.content.seal_and_put(bucket, &key, bytes).await?;
            analysis.files.push(FileResult {
                attachment_id: attachment_id(id, ordinal),
                ordinal,
                filename: file.filename,
                declared_type: Some(file.declared_type),
                detected_type: inspection.detected_type,
                size: plain.size,
                sha256: plain.sha256,
                verdict,
                object,
                remove_after: None,
                scanned_at: Utc::now(),
            });
        }
        analysis.text = text;
        analysis.identifiers = found;
        Ok(analysis)
    }

    async fn enter_finland(&self, event: &EnterFinlandReceived) -> Result<Analysis, AnalyseError> {
        let id = event.supplement_id;
        let mut analysis = Analysis {
            supplement_id: id,
            channel: Channel::EnterFinland,
            transport: None,
            sender: None,
            customer_number: Some(event.customer_number.clone()),
            arrived_at: event.arrived_at,
            language: Some(event.language),
            request_id: event.request_id.clone(),
            decrypted_with: None,
            text: String::new(),
            text_object: Some(event.message_text.clone()),
            files: Vec::new(),
            whole: None,
            mail: None,
            recipient: ReceiptRecipient::EnterFinland {
                customer_number: event.customer_number.clone(),
            },
            identifiers: Identifiers::default(),
            explicit: Explicit::Chosen {
                application_id: event.application_id.clone(),
                customer_number: event.customer_number.clone(),
            },
        };
        let (key, text) = match self
            .content
            .read_all(&event.message_text, MAX_TEXT_BYTES)
            .await
        {
            Ok(opened) => opened,
            Err(ContentError::Sealed(_)) => {
                analysis.whole = Some(QuarantineReason::Undecryptable);
                return Ok(analysis);
            }
            Err(e) => return Err(e.into()),
        };
        analysis.decrypted_with = Some(key);
        let text = String::from_utf8_lossy(&text).into_owned();
        if let Some(reason) = self.scan_text(id, &text).await? {
            analysis.whole = Some(reason);
            return Ok(analysis);
        }
        let mut found = extract_identifiers(&text);
        for (ordinal, attachment) in event.attachments.iter().enumerate() {
            let ordinal = ordinal as u32;
            let plain = match self
                .content
                .read(&attachment.object, self.inspect_max_bytes)
                .await
            {
                Ok((_, plain)) => plain,
                Err(ContentError::Sealed(_)) => {
                    analysis.whole = Some(QuarantineReason::Undecryptable);
                    return Ok(analysis);
                }
                Err(e) => return Err(e.into()),
            };
            let (inspection, verdict) = self
                .inspect_and_scan(
                    id,
                    ordinal,
                    &attachment.filename,
                    &plain,
                    Some(&attachment.object),
                )
                .await?;
            if matches!(verdict, PartVerdict::Accept { .. }) {
                found.merge(extract_identifiers(&inspection.text));
            }
            let (object, remove_after) = match verdict {
                PartVerdict::Accept { .. } => (attachment.object.clone(), None),
                PartVerdict::Refuse { .. } => (
                    self.content
                        .copy(
                            &attachment.object,
                            &self.quarantine_bucket,
                            &quarantine_key(id, ordinal),
                        )
                        .await?,
                    Some(attachment.object.clone()),
                ),
            };
            analysis.files.push(FileResult {
                attachment_id: attachment_id(id, ordinal),
                ordinal,
                filename: attachment.filename.clone(),
                declared_type: attachment.declared_content_type.clone(),
                detected_type: inspection.detected_type,
                size: plain.size,
                sha256: plain.sha256,
                verdict,
                object,
                remove_after,
                scanned_at: Utc::now(),
            });
        }
        analysis.text = text;
        analysis.identifiers = found;
        Ok(analysis)
    }

    /// A message text is scanned like a file; an infected text keeps the
    /// whole supplement away.
    async fn scan_text(
        &self,
        id: Uuid,
        text: &str,
    ) -> Result<Option<QuarantineReason>, ContentError> {
        let bytes = Bytes::from(text.as_bytes().to_vec());
        let verdict = self
            .scanning
            .scan(&format!("{id}/text"), || {
                let bytes = bytes.clone();
                async move { Ok(bytes_stream(bytes)) }
            })
            .await?;
        Ok(match verdict {
            Verdict::Clean => None,
            Verdict::Infected { signature } => Some(QuarantineReason::Infected { signature }),
        })
    }

    /// Inspection (in a blocking task under the time budget) and the virus
    /// scan (from memory, or streamed again from S3 for large files).
    async fn inspect_and_scan(
        &self,
        id: Uuid,
        ordinal: u32,
        filename: &str,
        plain: &Plain,
        stored: Option<&ObjectRef>,
    ) -> Result<(Inspection, PartVerdict), ContentError> {
        let inspection = {
            let (name, size, head, whole, limits) = (
                filename.to_owned(),
                plain.size,
                plain.head.clone(),
                plain.whole.clone(),
                self.limits.clone(),
            );
            let task = tokio::task::spawn_blocking(move || {
                inspect::inspect_file(&name, size, &head, whole.as_deref(), &limits)
            });
            match tokio::time::timeout(self.pdf_time_budget, task).await {
                Ok(Ok(inspection)) => inspection,
                Ok(Err(panicked)) => Inspection {
                    detected_type: inspect::detect_type(&plain.head),
                    findings: vec![Finding::Malformed {
                        detail: format!("inspection failed: {panicked}"),
                    }],
                    text: String::new(),
                },
                // The blocking thread finishes on its own; its result is dropped.
                Err(_) => Inspection {
                    detected_type: inspect::detect_type(&plain.head),
                    findings: vec![Finding::Malformed {
                        detail: format!("inspection took longer than {:?}", self.pdf_time_budget),
                    }],
                    text: String::new(),
                },
            }
        };
        let what = format!("{id}/{ordinal}");
        let verdict = match (&plain.whole, stored) {
            (Some(bytes), _) => {
                self.scanning
                    .scan(&what, || {
                        let bytes = bytes.clone();
                        async move { Ok(bytes_stream(bytes)) }
                    })
                    .await?
            }
            (None, Some(obj)) => {
                self.scanning
                    .scan(&what, || self.content.stream(obj))
                    .await?
            }
            // Files from e-mails are always in memory; this would be a bug.
            (None, None) => {
                return Err(ContentError::Mismatch(format!("{what}: nothing to scan")));
            }
        };
        let mut findings = inspection.findings.clone();
        if let Verdict::Infected { signature } = verdict {
            findings.push(Finding::Infected { signature });
        }
        let verdict = classify(&findings);
        Ok((inspection, verdict))
    }
}

/// Where the worker stores what it extracts from a supplement.
pub fn object_key(supplement_id: Uuid, part: &str) -> String {
    intake_core::ingest::object_key(supplement_id, part)
}

fn quarantine_key(supplement_id: Uuid, ordinal: u32) -> String {
    format!("quarantine/{supplement_id}/file-{ordinal}.age")
}

pub fn attachment_id(supplement_id: Uuid, ordinal: u32) -> Uuid {
    Uuid::new_v5(
        &supplement_id,
        format!("intake.attachment.{ordinal}").as_bytes(),
    )
}
