//! The stream of supplements: every kind the channels deliver, in a seeded
//! order, each with its expected outcome.

use intake_core::events::{Channel, RefusalReason, Transport};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::files::{self, PdfAction};
use crate::mail::{self, Attachment, Mail};
use crate::manifest::{Entry, Expected, ExpectedReceipt, RefusedFile};
use crate::population::Population;

pub const AGENCY_MAILBOX: &str = "supplements@intake.invalid";
const PDF: &str = "application/pdf";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    EnterFinlandSubmission,
    EnterFinlandAnswer,
    MailIdInSubject,
    MailIdInBody,
    MailIdInPdf,
    MailNoId,
    MailTwoIds,
    MailUnknownId,
    MailOffice,
    MailImage,
    MailLatin1,
    EicarPlain,
    EicarInZip,
    PdfJavascript,
    PdfLaunch,
    PasswordPdf,
    PasswordZip,
    PgpArmoured,
    SmimeEnveloped,
    ExactResend,
    ResendNewText,
    Oversized,
    AutoReply,
    Bounce,
    /// An e-mail with its id in the subject and no attachment: the
    /// smallest unit of work, for the throughput benchmark (not in `ALL`).
    MailTextOnly,
}

impl Kind {
    pub const ALL: [Kind; 24] = [
        Kind::EnterFinlandSubmission,
        Kind::EnterFinlandAnswer,
        Kind::MailIdInSubject,
        Kind::MailIdInBody,
        Kind::MailIdInPdf,
        Kind::MailNoId,
        Kind::MailTwoIds,
        Kind::MailUnknownId,
        Kind::MailOffice,
        Kind::MailImage,
        Kind::MailLatin1,
        Kind::EicarPlain,
        Kind::EicarInZip,
        Kind::PdfJavascript,
        Kind::PdfLaunch,
        Kind::PasswordPdf,
        Kind::PasswordZip,
        Kind::PgpArmoured,
        Kind::SmimeEnveloped,
        Kind::ExactResend,
        Kind::ResendNewText,
        Kind::Oversized,
        Kind::AutoReply,
        Kind::Bounce,
    ];
}

/// One request as a channel would make it.
#[derive(Debug, Clone)]
pub enum Request {
    Securemail {
        transport: Transport,
        sender: String,
        raw: Vec<u8>,
    },
    EnterFinland {
        metadata: serde_json::Value,
        files: Vec<Attachment>,
    },
}

#[derive(Debug, Clone)]
pub struct Supplement {
    pub entry: Entry,
    pub request: Request,
}

pub struct Options {
    pub seed: u64,
    pub count: usize,
    /// Size of the file in the `Oversized` kind: just over the gateway's
    /// per-file limit.
    pub oversized_bytes: usize,
    /// The kinds to mix, each once per round; empty means all of them.
    pub kinds: Vec<Kind>,
}

/// `count` supplements; every chosen kind appears once in each round (in
/// shuffled order), so a count of at least one round covers them all.
/// Resends need an earlier original to resend: until one was planned, a
/// resend becomes an original.
pub fn plan(population: &Population, options: &Options) -> Vec<Supplement> {
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5eed);
    let mut planner = Planner {
        population,
        oversized_bytes: options.oversized_bytes,
        originals: Vec::new(),
    };
    let mut kinds = Vec::new();
    (0..options.count)
        .map(|index| {
            if kinds.is_empty() {
                kinds = if options.kinds.is_empty() {
                    Kind::ALL.to_vec()
                } else {
                    options.kinds.clone()
                };
                kinds.shuffle(&mut rng);
            }
            let kind = kinds.pop().expect("refilled above");
            planner.make(index, kind, &mut rng)
        })
        .collect()
}

struct Planner<'a> {
    population: &'a Population,
    oversized_bytes: usize,
    /// Routed e-mails that a later supplement can resend: (index, mail).
    originals: Vec<(usize, Mail)>,
}

impl Planner<'_> {
    fn make(&mut self, index: usize, kind: Kind, rng: &mut StdRng) -> Supplement {
        let who = rng.random_range(0..self.population.applicants.len());
        let applicant = &self.population.applicants[who];
        let application = &self.population.applications[who];
        let app = application.application_id.to_string();
        let other = {
            let n = self.population.applications.len();
            self.population.applications[(who + 1 + rng.random_range(0..n.max(2) - 1)) % n]
                .application_id
                .to_string()
        };
        let transport = if rng.random_bool(0.25) {
            Transport::Email
        } else {
            Transport::Securemail
        };
        let message_id = format!("<gen-{index}-{}@example.org>", rng.random::<u32>());
        let letter = |lines: &[&str]| files::pdf(lines, PdfAction::None);
        let statement = format!("Työtodistus / employment certificate no. {index}");
        let mut base = Mail {
            from_name: applicant.name.clone(),
            from: applicant.email.clone(),
            to: AGENCY_MAILBOX.to_owned(),
            subject: format!("Hakemus {app}: lisäselvitys"),
            text: format!(
                "Hei,\n\nliitteenä pyydetty selvitys ({index}).\n\nTerveisin\n{}",
                applicant.name
            ),
            message_id: message_id.clone(),
            date: 1_790_000_000 + index as i64 * 60,
            attachments: vec![attachment(
                PDF,
                &format!("selvitys {index} ÄÖ.pdf"),
                letter(&[&statement]),
            )],
            headers: vec![],
        };
        let routed = |refused: Vec<RefusedFile>| Expected::Routed {
            application_id: app.clone(),
            refused,
            possible_resend_of: None,
        };
        let refused = |filename: &str, reason| {
            vec![RefusedFile {
                filename: filename.to_owned(),
                reason,
            }]
        };
        let triage = |reason: &str| Expected::Triage {
            reasons: vec![reason.to_owned()],
        };
        let received = ExpectedReceipt::Received;

        let (expected, receipt, request) = match kind {
            Kind::EnterFinlandSubmission | Kind::EnterFinlandAnswer => {
                let request_id = match kind {
                    Kind::EnterFinlandAnswer => {
                        application.open_requests.first().map(|r| r.to_string())
                    }
                    _ => None,
                };
                let metadata = json!({
                    "submission_id": format!("EF-{index}-{}", rng.random::<u32>()),
                    "customer_number": applicant.customer_number.as_str(),
                    "application_id": app,
                    "request_id": request_id,
                    "language": language(applicant.language),
                    "message": format!("Lähetän pyydetyt asiakirjat ({index})."),
                });
                let files = vec![
                    attachment(
                        PDF,
                        &format!("passport-{index}.pdf"),
                        letter(&["Passport copy", &statement]),
                    ),
                    attachment("image/png", "valokuva.png", files::png(index as u8, 16, 16)),
                ];
                (
                    routed(vec![]),
                    received,
                    Request::EnterFinland { metadata, files },
                )
            }
            Kind::Oversized => {
                let metadata = json!({
                    "submission_id": format!("EF-{index}-big"),
                    "customer_number": applicant.customer_number.as_str(),
                    "application_id": app,
                    "language": language(applicant.language),
                    "message": "Video of the interview.",
                });
                let files = vec![attachment(
                    "video/mp4",
                    "interview.mp4",
                    vec![0x42; self.oversized_bytes],
                )];
                let expected = Expected::Rejected {
                    status: 413,
                    error: "too_large".into(),
                };
                let receipt = ExpectedReceipt::None {
                    why: "refused by the gateway, which told the e-service".into(),
                };
                (expected, receipt, Request::EnterFinland { metadata, files })
            }
            Kind::MailIdInSubject => {
                self.originals.push((index, base.clone()));
                (routed(vec![]), received, mail_request(transport, &base))
            }
            Kind::MailTextOnly => {
                base.attachments.clear();
                (routed(vec![]), received, mail_request(transport, &base))
            }
            Kind::MailIdInBody => {
                base.subject = "Lisäselvitys".into();
                base.text = format!("Hei,\n\nhakemukseni numero on {app}. Liitteenä selvitys.\n");
                (routed(vec![]), received, mail_request(transport, &base))
            }
            Kind::MailIdInPdf => {
                base.subject = "Liitteet".into();
                // The index keeps two of these from one applicant distinct:
                // without it they would be a genuine resend.
                base.text = format!("Hei, liitteenä pyytämänne asiakirja ({index}).");
                base.attachments = vec![attachment(
                    PDF,
                    "hakemus.pdf",
                    letter(&["Hakemuksen numero", &app, &statement]),
                )];
                (routed(vec![]), received, mail_request(transport, &base))
            }
            Kind::MailNoId => {
                base.subject = "Kysymys".into();
                base.text = "Hei, milloin saan päätöksen?".into();
                (
                    triage("no_identifier"),
                    received,
                    mail_request(transport, &base),
                )
            }
            Kind::MailTwoIds => {
                base.subject = format!("Hakemukset {app} ja {other}");
                (
                    triage("ambiguous"),
                    received,
                    mail_request(transport, &base),
                )
            }
            Kind::MailUnknownId => {
                base.subject = format!("Hakemus {}", self.population.unknown_id(index as u32));
                (
                    triage("unknown_application"),
                    received,
                    mail_request(transport, &base),
                )
            }
            Kind::MailOffice => {
                base.attachments = vec![attachment(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "vuokrasopimus.docx",
                    files::docx(&format!("Vuokrasopimus {index}")),
                )];
                (routed(vec![]), received, mail_request(transport, &base))
            }
            Kind::MailImage => {
                base.attachments = vec![attachment(
                    "image/png",
                    "passi.png",
                    // The seed repeats every 256; the width keeps images distinct.
                    files::png(index as u8, 64 + (index / 256) as u32 % 64, 48),
                )];
                (routed(vec![]), received, mail_request(transport, &base))
            }
            Kind::MailLatin1 => {
                let raw = mail::latin1(
                    &applicant.email,
                    AGENCY_MAILBOX,
                    "Lisätieto",
                    &format!("Hakemukseni {app}: työpaikka vaihtui, päivämäärä 1.12. ({index})"),
                    &message_id,
                );
                (
                    routed(vec![]),
                    received,
                    securemail(transport, &applicant.email, raw),
                )
            }
            Kind::EicarPlain | Kind::EicarInZip => {
                let (name, bytes) = match kind {
                    Kind::EicarPlain => ("eicar.com", files::EICAR.to_vec()),
                    _ => (
                        "asiakirjat.zip",
                        files::zip(&[("eicar.com", files::EICAR)], None),
                    ),
                };
                base.attachments
                    .push(attachment("application/octet-stream", name, bytes));
                let expected = routed(refused(name, RefusalReason::Infected));
                (expected, received, mail_request(transport, &base))
            }
            Kind::PdfJavascript | Kind::PdfLaunch => {
                let action = if kind == Kind::PdfJavascript {
                    PdfAction::JavaScript
                } else {
                    PdfAction::Launch
                };
                base.attachments.push(attachment(
                    PDF,
                    "lasku.pdf",
                    files::pdf(&["Invoice"], action),
                ));
                let expected = routed(refused("lasku.pdf", RefusalReason::Dangerous));
                (expected, received, mail_request(transport, &base))
            }
            Kind::PasswordPdf | Kind::PasswordZip => {
                let (name, content_type, bytes) = match kind {
                    Kind::PasswordPdf => (
                        "tiliote.pdf",
                        PDF,
                        files::pdf_password_protected(&["Bank statement"]),
                    ),
                    _ => (
                        "palkat.zip",
                        "application/zip",
                        files::zip(&[("palkat.pdf", b"%PDF-1.4")], Some("salasana")),
                    ),
                };
                base.attachments.push(attachment(content_type, name, bytes));
                let expected = routed(refused(name, RefusalReason::PasswordProtected));
                (expected, received, mail_request(transport, &base))
            }
            Kind::PgpArmoured | Kind::SmimeEnveloped => {
                let (from, subject) = (&applicant.email, &base.subject);
                let raw = if kind == Kind::PgpArmoured {
                    mail::pgp(
                        from,
                        AGENCY_MAILBOX,
                        subject,
                        &files::pgp_armoured(index as u8),
                        &message_id,
                    )
                } else {
                    mail::smime(
                        from,
                        AGENCY_MAILBOX,
                        subject,
                        &files::smime_enveloped(index as u8),
                        &message_id,
                    )
                };
                let expected = Expected::Quarantined {
                    reason: "foreign_encryption".into(),
                };
                (expected, received, securemail(Transport::Email, from, raw))
            }
            Kind::ExactResend | Kind::ResendNewText => match self.originals.pop() {
                // Resending needs something sent before; until then, send an original.
                None => return self.make(index, Kind::MailIdInSubject, rng),
                Some((of, mut original)) => {
                    original.message_id = message_id.clone();
                    original.date = base.date;
                    if kind == Kind::ExactResend {
                        let request = mail_request(transport, &original);
                        (
                            Expected::Duplicate { of },
                            ExpectedReceipt::AlreadyReceived { of },
                            request,
                        )
                    } else {
                        original.text =
                            format!("{}\n\nPS. Lisäsin vielä tämän ({index}).", original.text);
                        let expected = Expected::Routed {
                            application_id: app_of(self.population, &original.from),
                            refused: vec![],
                            possible_resend_of: Some(of),
                        };
                        (expected, received, mail_request(transport, &original))
                    }
                }
            },
            Kind::AutoReply => {
                base.subject = "Automatic reply: Out of office / Poissa".into();
                base.text = "I am out of office until Monday.".into();
                base.attachments.clear();
                base.headers
                    .push(("Auto-Submitted".into(), "auto-replied".into()));
                let receipt = ExpectedReceipt::None {
                    why: "auto-reply (RFC 3834)".into(),
                };
                (
                    triage("automatic_message"),
                    receipt,
                    mail_request(Transport::Email, &base),
                )
            }
            Kind::Bounce => {
                base.from_name = "Mail Delivery System".into();
                base.from = "MAILER-DAEMON@mail.example.org".into();
                base.subject = "Undelivered Mail Returned to Sender".into();
                base.text = "This is the mail system. Your message could not be delivered.".into();
                base.attachments.clear();
                let raw = base.to_bytes();
                let receipt = ExpectedReceipt::None {
                    why: "bounce (empty return path)".into(),
                };
                (
                    triage("automatic_message"),
                    receipt,
                    securemail(Transport::Email, "", raw),
                )
            }
        };
        let (channel, idempotency_key) = match &request {
            Request::Securemail { .. } => (Channel::Securemail, message_id),
            Request::EnterFinland { metadata, .. } => (
                Channel::EnterFinland,
                metadata["submission_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        };
        Supplement {
            entry: Entry {
                index,
                kind,
                channel,
                idempotency_key,
                expected,
                receipt,
            },
            request,
        }
    }
}

fn attachment(content_type: &str, filename: &str, bytes: Vec<u8>) -> Attachment {
    Attachment {
        content_type: content_type.to_owned(),
        filename: filename.to_owned(),
        bytes,
    }
}

fn securemail(transport: Transport, sender: &str, raw: Vec<u8>) -> Request {
    Request::Securemail {
        transport,
        sender: sender.to_owned(),
        raw,
    }
}

fn mail_request(transport: Transport, mail: &Mail) -> Request {
    securemail(transport, &mail.from, mail.to_bytes())
}

fn language(language: intake_core::events::Language) -> &'static str {
    match language {
        intake_core::events::Language::Fi => "fi",
        intake_core::events::Language::Sv => "sv",
        intake_core::events::Language::En => "en",
    }
}

fn app_of(population: &Population, email: &str) -> String {
    population
        .applicants
        .iter()
        .position(|a| a.email == email)
        .map(|i| population.applications[i].application_id.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use intake_core::ingest::{head_end, parse_mail_head};

    use super::*;

    fn sample(seed: u64, count: usize) -> (Population, Vec<Supplement>) {
        let population = Population::generate(seed, 60);
        let supplements = plan(
            &population,
            &Options {
                seed,
                count,
                oversized_bytes: 2048,
                kinds: vec![],
            },
        );
        (population, supplements)
    }

    #[test]
    fn every_kind_appears_in_each_round() {
        let (_, supplements) = sample(1, Kind::ALL.len() * 3);
        let kinds: HashSet<_> = supplements.iter().map(|s| s.entry.kind).collect();
        // A resend planned before any original becomes an original, so
        // count rounds, not exact multiples.
        assert_eq!(
            kinds.len(),
            Kind::ALL.len(),
            "missing: {:?}",
            Kind::ALL
                .iter()
                .filter(|k| !kinds.contains(k))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_chosen_mix_is_kept() {
        let population = Population::generate(9, 20);
        let kinds = vec![Kind::MailNoId, Kind::EnterFinlandSubmission];
        let supplements = plan(
            &population,
            &Options {
                seed: 9,
                count: 10,
                oversized_bytes: 1,
                kinds: kinds.clone(),
            },
        );
        assert!(supplements.iter().all(|s| kinds.contains(&s.entry.kind)));
        assert_eq!(
            supplements
                .iter()
                .filter(|s| s.entry.kind == Kind::MailNoId)
                .count(),
            5
        );
    }

    #[test]
    fn the_same_seed_plans_the_same_supplements() {
        let entries = |seed| {
            sample(seed, 100)
                .1
                .into_iter()
                .map(|s| s.entry)
                .collect::<Vec<_>>()
        };
        assert_eq!(entries(5), entries(5));
        assert_ne!(entries(5), entries(6));
    }

    #[test]
    fn expectations_point_at_real_things() {
        let (population, supplements) = sample(2, 200);
        let known: HashSet<String> = population
            .applications
            .iter()
            .map(|a| a.application_id.to_string())
            .collect();
        for s in &supplements {
            match &s.entry.expected {
                Expected::Routed {
                    application_id,
                    possible_resend_of,
                    ..
                } => {
                    assert!(known.contains(application_id), "{:?}", s.entry);
                    if let Some(of) = possible_resend_of {
                        assert!(*of < s.entry.index);
                    }
                }
                Expected::Duplicate { of } => {
                    assert!(*of < s.entry.index);
                    assert_eq!(supplements[*of].entry.kind, Kind::MailIdInSubject);
                    assert_eq!(
                        s.entry.receipt,
                        ExpectedReceipt::AlreadyReceived { of: *of }
                    );
                }
                _ => {}
            }
        }
        let keys: HashSet<_> = supplements
            .iter()
            .map(|s| &s.entry.idempotency_key)
            .collect();
        assert_eq!(
            keys.len(),
            supplements.len(),
            "idempotency keys must be unique"
        );
    }

    #[test]
    fn every_e_mail_passes_the_gateways_head_check() {
        let (_, supplements) = sample(3, 120);
        for s in &supplements {
            if let Request::Securemail { raw, .. } = &s.request {
                let end =
                    head_end(raw).unwrap_or_else(|| panic!("{:?}: no header end", s.entry.kind));
                let head = parse_mail_head(&raw[..end])
                    .unwrap_or_else(|e| panic!("{:?}: {e}", s.entry.kind));
                assert_eq!(
                    head.message_id.as_deref(),
                    Some(s.entry.idempotency_key.as_str())
                );
            }
        }
    }

    #[test]
    fn no_receipt_for_auto_replies_bounces_or_refusals() {
        let (_, supplements) = sample(4, 96);
        for s in &supplements {
            let silent = matches!(
                s.entry.kind,
                Kind::AutoReply | Kind::Bounce | Kind::Oversized
            );
            assert_eq!(
                matches!(s.entry.receipt, ExpectedReceipt::None { .. }),
                silent,
                "{:?}",
                s.entry.kind
            );
        }
    }
}
