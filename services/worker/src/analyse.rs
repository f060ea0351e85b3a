//! Everything done to one supplement before its outcome is decided:
//! decrypt, unpack, inspect and scan each part, store what caseworkers or
//! security staff will need, and collect the identifiers. What an e-mail's
//! analysis stores is under keys of its own run: a second run (after a
//! crash, or a redelivery racing the first) never touches the first's
//! objects, and the recorder removes a run's objects when its event turns
//! out recorded already (`Analysis::own_objects`).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use intake_core::decide::{
    Explicit, Finding, Identifiers, PartVerdict, classify, clean_text, extract_identifiers,
    normalise_name, scanner_finding,
};
use intake_core::events::{
    Channel, EnterFinlandReceived, Language, MailSignals, ObjectRef, QuarantineReason,
    ReceiptRecipient, RefusalReason, SecuremailReceived, Transport,
};
use intake_core::ids::{CustomerNumber, RequestId};
use intake_core::ingest::MAX_ADDRESS_BYTES;
use intake_core::receipt::{FailedDelivery, dmarc_result, failed_delivery};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::content::{Content, ContentError, Plain, bytes_stream};
use crate::inspect::{self, FileBytes, InspectLimits, Inspection, MimeLimits};
use crate::mail_read::{MailPart, MailReader, ReadError, Spill};
use crate::metrics::{Stage, WorkerMetrics};
use crate::sandbox;
use crate::scan::{Scanned, Scanning};

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

impl Analysis {
    /// The objects this analysis stored that nothing else refers to: an
    /// e-mail's (its run's own keys), none for Enter Finland (its accepted
    /// files are the gateway's objects; its quarantine copies have one key
    /// per file).
    pub fn own_objects(&self) -> Vec<ObjectRef> {
        if self.channel != Channel::Securemail {
            return Vec::new();
        }
        self.files
            .iter()
            .flat_map(|f| std::iter::once(&f.object).chain(&f.remove_after))
            .chain(&self.text_object)
            .cloned()
            .collect()
    }
}

/// What the worker learned about a supplement.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub supplement_id: Uuid,
    /// The gateway attempt whose stored parts the event named: its parts
    /// are kept, other attempts' are orphans.
    pub inbound_attempt: Option<Uuid>,
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
    /// A bounce of one of our receipts: which, for whom, and why.
    pub bounce: Option<FailedDelivery>,
}

impl Analysis {
    /// What the event alone says, before any content is read: enough to
    /// record an outcome and answer the applicant when the content cannot
    /// be processed.
    pub fn unread(inbound: &Inbound) -> Self {
        match inbound {
            Inbound::Securemail(event) => {
                let sender = intake_core::ingest::envelope_sender(&event.sender);
                let address = sender.clone().unwrap_or_default();
                Analysis {
                    supplement_id: event.supplement_id,
                    inbound_attempt: inbound_attempt(&event.message),
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
                        message_id: event
                            .message_id
                            .as_deref()
                            .map(|m| clean_text(m, MAX_HEADER_BYTES)),
                        ..MailSignals::default()
                    }),
                    recipient: ReceiptRecipient::Email {
                        address: address.clone(),
                    },
                    identifiers: Identifiers::default(),
                    explicit: Explicit::Sender { address },
                    bounce: None,
                }
            }
            Inbound::EnterFinland(event) => Analysis {
                supplement_id: event.supplement_id,
                inbound_attempt: inbound_attempt(&event.message_text),
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
                bounce: None,
            },
        }
    }
}

impl Analysis {
    /// Only what identifies the supplement and its sender: what is recorded
    /// when the rest could not be.
    pub fn stripped(&self) -> Self {
        Analysis {
            decrypted_with: None,
            text: String::new(),
            text_object: None,
            files: Vec::new(),
            whole: None,
            identifiers: Identifiers::default(),
            ..self.clone()
        }
    }
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
    pub metrics: WorkerMetrics,
    pub scanning: Scanning,
    pub mime: MimeLimits,
    pub limits: InspectLimits,
    pub inbound_bucket: String,
    pub quarantine_bucket: String,
    pub max_mail_bytes: u64,
    pub inspect_max_bytes: u64,
    /// Time and memory of the child that parses one PDF, ZIP or Office file.
    pub sandbox: sandbox::Budget,
    /// Our receiving mail server's name in `Authentication-Results`.
    pub authserv_id: Option<String>,
    /// Bytes of e-mail held in memory across all lanes, in KiB permits
    /// (see `MAIL_MEMORY_FACTOR`).
    pub mail_memory: Arc<Semaphore>,
}

/// An e-mail being read holds one file up to the inspection budget, and
/// besides it its texts and the splitter's and an upload's buffers,
/// whatever the size of the mail.
const MAIL_OVERHEAD: u64 = 16 << 20;

/// Permits (KiB) an e-mail needs from `mail_memory` when files up to
/// `inspect_max_bytes` are held whole.
pub fn mail_permits(inspect_max_bytes: u64) -> u32 {
    u32::try_from((inspect_max_bytes + MAIL_OVERHEAD).div_ceil(1024)).unwrap_or(u32::MAX)
}

/// Bounds on what the MIME splitter holds: one header block, and a
/// preamble before a multipart's first part.
const MAX_HEADER_BLOCK: usize = 1 << 20;
const MAX_PREAMBLE: usize = 1 << 20;

fn too_large(limit: u64) -> QuarantineReason {
    QuarantineReason::Malformed {
        detail: format!("e-mail larger than {limit} bytes"),
    }
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
        let mut analysis = Analysis::unread(&Inbound::Securemail(event.clone()));
        let sender = analysis.sender.clone();
        // Waits while other lanes hold the memory budget: a mail is read as
        // a stream and holds at most its share, whatever its size.
        let _memory = match self
            .mail_memory
            .clone()
            .acquire_many_owned(mail_permits(self.inspect_max_bytes))
            .await
        {
            Ok(permit) => permit,
            Err(_) => {
                return Err(ContentError::Read(std::io::Error::other("worker stopping")).into());
            }
        };
        if event.message.size > self.max_mail_bytes {
            analysis.whole = Some(too_large(self.max_mail_bytes));
            return Ok(analysis);
        }
        let opening = self.content.open(&event.message);
        let (key, chunks) = match self.metrics.timed(Stage::Fetch, opening).await {
            Ok(opened) => opened,
            Err(e) if e.is_unopenable() => {
                analysis.whole = Some(QuarantineReason::Undecryptable);
                return Ok(analysis);
            }
            Err(e) => return Err(e.into()),
        };
        analysis.decrypted_with = Some(key);
        let id = event.supplement_id;
        // Every object this run stores is its own: a second analysis of the
        // same event (a redelivery racing the first) can neither overwrite
        // nor delete what the first delivered.
        let run = Run::new();
        let mut reader = MailReader::new(
            chunks,
            event.message.clone(),
            self.stream_limits(),
            self.max_mail_bytes,
            self.inspect_max_bytes,
            Spill {
                content: self.content.clone(),
                bucket: self.inbound_bucket.clone(),
                key: Box::new(move |ordinal| run.file_key(id, ordinal)),
            },
        );
        let mut found = Identifiers::default();
        let read = loop {
            match self.metrics.timed(Stage::Decrypt, reader.next_file()).await {
                Ok(Some(part)) => match self.mail_file(id, run, part, &mut found).await {
                    Ok(file) => analysis.files.push(file),
                    Err(e) => {
                        self.discard(&mut analysis).await;
                        return Err(e.into());
                    }
                },
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if let Err(error) = read {
            // Nothing of a mail that cannot be read whole is kept apart
            // from it: its sealed original stays for security staff.
            self.discard(&mut analysis).await;
            analysis.whole = Some(match error {
                ReadError::Content(e) if e.is_unopenable() => QuarantineReason::Undecryptable,
                ReadError::Content(e) => return Err(e.into()),
                ReadError::TooLarge { limit } => too_large(limit),
                ReadError::Mime(e) => QuarantineReason::Malformed {
                    detail: e.to_string(),
                },
            });
            return Ok(analysis);
        }
        let mail = reader.finish();
        let from = sender
            .clone()
            .or(mail
                .from
                .as_deref()
                .map(|f| clean_text(f, MAX_ADDRESS_BYTES)))
            .unwrap_or_default();
        analysis.recipient = ReceiptRecipient::Email {
            address: from.clone(),
        };
        let dmarc = self
            .authserv_id
            .as_deref()
            .and_then(|id| dmarc_result(&mail.auth_results, id));
        let forged = dmarc.as_deref() == Some("fail");
        // A sender our mail server found forged is nobody's party: what it
        // names goes to triage, never to a queue as the applicant's.
        analysis.explicit = Explicit::Sender {
            address: if forged { String::new() } else { from },
        };
        analysis.language = mail.language;
        analysis.bounce = failed_delivery(&mail.delivery);
        if let Some(signals) = analysis.mail.as_mut() {
            let empty = signals.empty_return_path;
            *signals = mail.signals.clone();
            signals.empty_return_path |= empty;
            signals.message_id = signals.message_id.take().or(event.message_id.clone());
            signals.dmarc = dmarc;
            // Before any early return: these facts go into rows and events.
            sanitise_signals(signals);
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
        if text.contains("-----BEGIN PGP MESSAGE-----") && analysis.files.is_empty() {
            analysis.whole = Some(QuarantineReason::ForeignEncryption {
                scheme: "PGP".to_owned(),
            });
            return Ok(analysis);
        }
        let whole = match self.scan_text(id, &text).await {
            Ok(whole) => whole,
            Err(e) => {
                self.discard(&mut analysis).await;
                return Err(e.into());
            }
        };
        if let Some(reason) = whole {
            self.discard(&mut analysis).await;
            analysis.whole = Some(reason);
            return Ok(analysis);
        }
        if !text.is_empty() {
            let key = run.text_key(id);
            let sealing = self.content.seal_and_put(
                &self.inbound_bucket,
                &key,
                Bytes::from(text.clone().into_bytes()),
            );
            match self.metrics.timed(Stage::Store, sealing).await {
                Ok(object) => analysis.text_object = Some(object),
                // Retried from the start, by a run of its own.
                Err(e) => {
                    self.discard(&mut analysis).await;
                    return Err(e.into());
                }
            }
        }
        found.merge(extract_identifiers(&mail.subject));
        found.merge(extract_identifiers(&mail.text));
        found.merge(extract_identifiers(&mail.html_text));
        analysis.text = text;
        analysis.identifiers = found;
        Ok(analysis)
    }

    /// A file from an e-mail inspected, scanned and stored: where it
    /// belongs when it was held, moved to quarantine when it was sealed
    /// while it streamed and is refused.
    async fn mail_file(
        &self,
        id: Uuid,
        run: Run,
        part: MailPart,
        found: &mut Identifiers,
    ) -> Result<FileResult, ContentError> {
        let ordinal = part.ordinal;
        let (inspection, verdict) = self
            .inspect_and_scan(
                id,
                ordinal,
                (&part.filename, Some(&part.declared_type)),
                &part.plain,
                part.stored.as_ref(),
            )
            .await?;
        if verdict.refusal() != Some(RefusalReason::Infected) {
            found.merge(extract_identifiers(&inspection.text));
        }
        let accepted = verdict == PartVerdict::Accept;
        let (object, remove_after) = match (part.stored, &part.plain.whole) {
            (Some(stored), _) if accepted => (stored, None),
            (Some(stored), _) => {
                let key = run.quarantine_key(id, ordinal);
                let moving = self.content.copy(&stored, &self.quarantine_bucket, &key);
                (
                    self.metrics.timed(Stage::Store, moving).await?,
                    Some(stored),
                )
            }
            (None, whole) => {
                let bytes = whole.clone().unwrap_or_default();
                let (bucket, key) = if accepted {
                    (&self.inbound_bucket, run.file_key(id, ordinal))
                } else {
                    (&self.quarantine_bucket, run.quarantine_key(id, ordinal))
                };
                let sealing = self.content.seal_and_put(bucket, &key, bytes);
                (self.metrics.timed(Stage::Store, sealing).await?, None)
            }
        };
        Ok(FileResult {
            attachment_id: attachment_id(id, ordinal),
            ordinal,
            filename: stored_name(&part.filename, ordinal),
            declared_type: Some(clean_text(&part.declared_type, MAX_HEADER_BYTES)),
            detected_type: inspection.detected_type,
            size: part.plain.size,
            sha256: part.plain.sha256,
            verdict,
            object,
            remove_after,
            scanned_at: Utc::now(),
        })
    }

    /// Deletes what was stored of a mail's files, when the mail as a whole
    /// ends otherwise (unreadable, infected text, or a failed step to be
    /// retried, which stores them again).
    async fn discard(&self, analysis: &mut Analysis) {
        for file in analysis.files.drain(..) {
            for object in std::iter::once(&file.object).chain(&file.remove_after) {
                if let Err(error) = self.content.delete(object).await {
                    tracing::warn!(
                        key = %object.key,
                        %error,
                        "could not delete a part of a mail given up; it stays as an orphan"
                    );
                }
            }
        }
    }

    fn stream_limits(&self) -> inspect::StreamLimits {
        inspect::StreamLimits {
            mime: self.mime,
            max_header_bytes: MAX_HEADER_BLOCK,
            max_preamble_bytes: MAX_PREAMBLE,
        }
    }

    async fn enter_finland(&self, event: &EnterFinlandReceived) -> Result<Analysis, AnalyseError> {
        let id = event.supplement_id;
        let mut analysis = Analysis::unread(&Inbound::EnterFinland(event.clone()));
        let (key, text) = match self
            .content
            .read_all(&event.message_text, MAX_TEXT_BYTES)
            .await
        {
            Ok(opened) => opened,
            Err(e) if e.is_unopenable() => {
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
                Err(e) if e.is_unopenable() => {
                    analysis.whole = Some(QuarantineReason::Undecryptable);
                    return Ok(analysis);
                }
                Err(e) => return Err(e.into()),
            };
            let (inspection, verdict) = self
                .inspect_and_scan(
                    id,
                    ordinal,
                    (
                        &attachment.filename,
                        attachment.declared_content_type.as_deref(),
                    ),
                    &plain,
                    Some(&attachment.object),
                )
                .await?;
            if verdict == PartVerdict::Accept {
                found.merge(extract_identifiers(&inspection.text));
            }
            let (object, remove_after) = match verdict {
                PartVerdict::Accept => (attachment.object.clone(), None),
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
                filename: stored_name(&attachment.filename, ordinal),
                declared_type: attachment
                    .declared_content_type
                    .as_deref()
                    .map(|t| clean_text(t, MAX_HEADER_BYTES)),
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
        let what = format!("{id}/text");
        let scanning = self.scanning.scan(&what, bytes.len() as u64, || {
            let bytes = bytes.clone();
            async move { Ok(bytes_stream(bytes)) }
        });
        let verdict = self.metrics.timed(Stage::Scan, scanning).await?;
        let finding = match verdict {
            Scanned::Clean => return Ok(None),
            Scanned::Infected { signature } => scanner_finding(&signature),
            Scanned::Unscannable { detail } => Finding::Unscannable { detail },
        };
        Ok(match classify(&[finding]) {
            PartVerdict::Refuse { quarantine, .. } => Some(quarantine),
            PartVerdict::Accept => None,
        })
    }

    /// Inspection (in a blocking task under the time budget) and the virus
    /// scan (from memory, or streamed again from S3 for large files).
    async fn inspect_and_scan(
        &self,
        id: Uuid,
        ordinal: u32,
        (filename, declared): (&str, Option<&str>),
        plain: &Plain,
        stored: Option<&ObjectRef>,
    ) -> Result<(Inspection, PartVerdict), ContentError> {
        let file = FileBytes {
            filename,
            declared_type: declared,
            size: plain.size,
            head: &plain.head,
            tail: &plain.tail,
            whole: plain.whole.as_deref(),
        };
        // Parsers of complex formats run in a child that can be killed;
        // the rest (sniffing, names, text) is linear and runs here.
        let quick = inspect::detect_type(&plain.head, None);
        let inspecting = async {
            if plain.whole.is_some()
                && (quick == "application/pdf"
                    || inspect::is_zip_family(&quick)
                    || inspect::is_ole(&quick)
                    || plain.head.starts_with(b"PK"))
            {
                sandbox::inspect_in_child(file, &self.limits, &self.sandbox).await
            } else {
                inspect::inspect_file(file, &self.limits)
            }
        };
        let inspection = self.metrics.timed(Stage::Inspect, inspecting).await;
        let what = format!("{id}/{ordinal}");
        let scanning = async {
            Ok::<_, ContentError>(match (&plain.whole, stored) {
                (Some(bytes), _) => {
                    self.scanning
                        .scan(&what, plain.size, || {
                            let bytes = bytes.clone();
                            async move { Ok(bytes_stream(bytes)) }
                        })
                        .await?
                }
                (None, Some(obj)) => {
                    self.scanning
                        .scan(&what, plain.size, || self.content.stream(obj))
                        .await?
                }
                // Files from e-mails are always in memory; this would be a bug.
                (None, None) => {
                    return Err(ContentError::Mismatch(format!("{what}: nothing to scan")));
                }
            })
        };
        let verdict = self.metrics.timed(Stage::Scan, scanning).await?;
        let mut findings = inspection.findings.clone();
        match verdict {
            Scanned::Clean => {}
            Scanned::Infected { signature } => findings.push(scanner_finding(&signature)),
            Scanned::Unscannable { detail } => findings.push(Finding::Unscannable { detail }),
        }
        let verdict = classify(&findings);
        Ok((inspection, verdict))
    }
}

/// Header values kept in rows and events: RFC 5322's line limit.
const MAX_HEADER_BYTES: usize = 998;

/// The name kept for a file: cleaned of what PostgreSQL refuses and what
/// hides an extension, capped; a file without one is named by position.
fn stored_name(raw: &str, ordinal: u32) -> String {
    let name = normalise_name(raw).name;
    if name.is_empty() {
        format!("file-{}", ordinal + 1)
    } else {
        name
    }
}

/// Header facts travel in events and rows: no NUL, no control
/// characters, no unbounded lengths.
fn sanitise_signals(signals: &mut MailSignals) {
    for value in [
        &mut signals.auto_submitted,
        &mut signals.precedence,
        &mut signals.message_id,
        &mut signals.dmarc,
    ] {
        if let Some(v) = value.as_mut() {
            *v = clean_text(v, MAX_HEADER_BYTES);
        }
    }
}

/// Where the worker stores what it extracts from a supplement.
pub fn object_key(supplement_id: Uuid, part: &str) -> String {
    intake_core::ingest::derived_key(supplement_id, part)
}

/// The gateway attempt whose parts an inbound event names.
fn inbound_attempt(object: &ObjectRef) -> Option<Uuid> {
    intake_core::ingest::attempt_of(&object.key).map(|(_, attempt)| attempt)
}

/// One analysis of an e-mail, named in the keys of what it stores.
#[derive(Debug, Clone, Copy)]
struct Run(Uuid);

impl Run {
    fn new() -> Self {
        Run(Uuid::new_v4())
    }

    fn tag(self) -> String {
        self.0.simple().to_string()[..12].to_owned()
    }

    fn file_key(self, supplement_id: Uuid, ordinal: u32) -> String {
        object_key(supplement_id, &format!("file-{ordinal}.{}", self.tag()))
    }

    fn text_key(self, supplement_id: Uuid) -> String {
        object_key(supplement_id, &format!("text.{}", self.tag()))
    }

    fn quarantine_key(self, supplement_id: Uuid, ordinal: u32) -> String {
        format!(
            "quarantine/{supplement_id}/file-{ordinal}.{}.age",
            self.tag()
        )
    }
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
