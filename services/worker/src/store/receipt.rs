//! The one receipt request of a supplement, from what the worker decided.
//! It carries facts the agency produced (positions, kinds, sizes, reasons,
//! the reference), never words the sender chose: no file name, subject or
//! text can reach an applicant in a message signed by the agency.

use intake_core::decide::{Earlier, file_kind, receipt_id};
use intake_core::events::{
    DuplicateOf, FileOutcome, ReceiptOutcome, ReceiptRequested, RefusalReason,
};

use super::Registered;
use crate::analyse::Analysis;

/// How the supplement ended, as far as the receipt is concerned (the
/// domain's `ReceiptTerms`, with the registry entry it may name).
pub struct ReceiptFacts<'a> {
    pub reference: &'a str,
    /// The application it joined, when the receipt may say so.
    pub application: Option<&'a Registered>,
    /// The original, when this one was received before.
    pub already_received: Option<&'a Earlier>,
    /// Why nothing of the message reached a caseworker.
    pub message_refused: Option<RefusalReason>,
}

pub fn receipt_request(analysis: &Analysis, facts: &ReceiptFacts<'_>) -> ReceiptRequested {
    let outcome = match facts.already_received {
        Some(original) => ReceiptOutcome::AlreadyReceived(DuplicateOf {
            original_reference: original.reference.clone(),
            original_received_at: original.arrived_at,
        }),
        None => ReceiptOutcome::Received,
    };
    let message_refused = facts.message_refused;
    let files = if message_refused.is_some() {
        Vec::new()
    } else {
        analysis
            .files
            .iter()
            .enumerate()
            .map(|(index, f)| FileOutcome {
                position: index as u32 + 1,
                kind: file_kind(&f.detected_type),
                size: f.size,
                refusal: f.verdict.refusal(),
            })
            .collect()
    };
    ReceiptRequested {
        receipt_id: receipt_id(analysis.supplement_id),
        supplement_id: analysis.supplement_id,
        reference: facts.reference.to_owned(),
        channel: analysis.channel,
        transport: analysis.transport,
        recipient: analysis.recipient.clone(),
        language: facts.application.map(|r| r.language).or(analysis.language),
        arrived_at: analysis.arrived_at,
        application_id: facts
            .application
            .map(|r| r.candidate.application_id.clone()),
        outcome,
        message_refused,
        files,
        mail: analysis.mail.clone(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use intake_core::decide::{Candidate, Explicit, Identifiers, PartVerdict};
    use intake_core::events::{
        Channel, Language, MailSignals, ObjectRef, PayloadEncryption, QuarantineReason,
        ReceiptRecipient, Transport,
    };
    use intake_core::ids::{ApplicationId, CustomerNumber};
    use intake_core::receipt::{Templates, render};
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::analyse::FileResult;

    fn templates() -> Templates {
        let parse = |text: &str| toml::from_str(text).expect("template parses");
        Templates {
            fi: parse(include_str!("../../../receipts/templates/fi.toml")),
            sv: parse(include_str!("../../../receipts/templates/sv.toml")),
            en: parse(include_str!("../../../receipts/templates/en.toml")),
        }
    }

    fn object() -> ObjectRef {
        ObjectRef {
            bucket: "b".into(),
            key: "k".into(),
            size: 1,
            sha256: "0".repeat(64),
            encryption: PayloadEncryption::Age,
        }
    }

    fn file(name: &str, detected: &str, size: u64, refused: bool) -> FileResult {
        FileResult {
            attachment_id: Uuid::from_u128(9),
            ordinal: 0,
            filename: name.to_owned(),
            declared_type: Some(detected.to_owned()),
            detected_type: detected.to_owned(),
            size,
            sha256: "0".repeat(64),
            verdict: if refused {
                PartVerdict::Refuse {
                    refusal: RefusalReason::TypeMismatch,
                    quarantine: QuarantineReason::Malformed {
                        detail: name.to_owned(),
                    },
                }
            } else {
                PartVerdict::Accept
            },
            object: object(),
            remove_after: None,
            scanned_at: Utc::now(),
        }
    }

    fn analysis(sender: &str, text: &str, message_id: &str, files: Vec<FileResult>) -> Analysis {
        Analysis {
            supplement_id: Uuid::from_u128(1),
            inbound_attempt: None,
            channel: Channel::Securemail,
            transport: Some(Transport::Email),
            sender: Some(sender.to_owned()),
            customer_number: None,
            arrived_at: Utc::now(),
            language: None,
            request_id: None,
            decrypted_with: None,
            text: text.to_owned(),
            text_object: None,
            files,
            whole: None,
            mail: Some(MailSignals {
                message_id: Some(message_id.to_owned()),
                ..MailSignals::default()
            }),
            recipient: ReceiptRecipient::Email {
                address: sender.to_owned(),
            },
            identifiers: Identifiers::default(),
            explicit: Explicit::Sender {
                address: sender.to_owned(),
            },
            bounce: None,
        }
    }

    fn registered() -> Registered {
        Registered {
            candidate: Candidate {
                application_id: ApplicationId::from_parts(2026, 4217).expect("valid"),
                customer_number: CustomerNumber::from_serial(42).expect("valid"),
                contact_addresses: vec![],
                open_requests: vec![],
            },
            unit: "unit".into(),
            confidential: false,
            language: Language::En,
        }
    }

    /// Everything in `text` that looks like a link, a domain, an address
    /// or a phone number.
    fn contact_like(text: &str) -> Vec<String> {
        let pattern = regex::Regex::new(
            r"(?i)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}|[^\s]+@[^\s]+|://|\+?\d[\d \-]{6,}\d",
        )
        .expect("pattern");
        pattern
            .find_iter(text)
            .map(|m| m.as_str().to_owned())
            .collect()
    }

    fn rendered(a: &Analysis, whole: Option<&QuarantineReason>) -> String {
        let app = registered();
        let request = receipt_request(
            a,
            &ReceiptFacts {
                reference: "R-7Q2M-K8TD",
                application: Some(&app),
                already_received: None,
                message_refused: whole.map(|reason| {
                    intake_core::decide::outcome(&intake_core::decide::Facts {
                        proposal: &intake_core::decide::Proposal::Quarantine(reason.clone()),
                        same_content: None,
                        same_files: None,
                        last_sequence: 0,
                        refused_parts: &[],
                    })
                    .receipt
                    .message_refused
                    .expect("a whole quarantine refuses the message")
                }),
            },
        );
        let r = render(&request, &templates(), "migri.fi");
        format!("{}\n{}", r.subject, r.text)
    }

    /// Hostile words of every kind a fraudster would want in a message
    /// signed by the agency.
    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{3,12}\\.(com|fi|net|ru)(/[a-z]{1,8})?",
            "https?://[a-z]{3,10}\\.[a-z]{2,3}/[a-z]{0,8}",
            "[a-z]{2,8}@[a-z]{2,8}\\.(fi|com)",
            "\\+358 ?[0-9]{2} ?[0-9]{3} ?[0-9]{4}",
            "www\\.[a-z]{3,10}\\.[a-z]{2,3}",
            "[a-z]{1,6}\u{202E}[a-z]{1,6}\\.(exe|pdf)",
            "\\PC{0,60}",
        ]
    }

    proptest! {
        #[test]
        fn no_contact_like_words_of_the_sender_reach_the_receipt(
            names in proptest::collection::vec(hostile(), 0..4),
            text in hostile(),
            sender in hostile(),
            message_id in hostile(),
            detected in hostile(),
            size in 0u64..5_000_000_000,
        ) {
            let files = names
                .iter()
                .enumerate()
                .map(|(i, n)| file(n, &detected, size, i % 2 == 1))
                .collect();
            let a = analysis(&sender, &text, &message_id, files);
            let whole = QuarantineReason::Malformed { detail: text.clone() };
            // What the templates say on their own (the genuine domain).
            let baseline_text = rendered(&analysis("", "", "", vec![]), None);
            let baseline = contact_like(&baseline_text);
            for out in [rendered(&a, None), rendered(&a, Some(&whole))] {
                for found in contact_like(&out) {
                    prop_assert!(baseline.contains(&found), "{found:?} in:\n{out}");
                }
                for word in names.iter().chain([&text, &sender, &message_id, &detected]) {
                    let word = word.trim();
                    if word.chars().count() >= 4 && !baseline_text.contains(word) {
                        prop_assert!(!out.contains(word), "{word:?} echoed:\n{out}");
                    }
                }
            }
        }
    }

    #[test]
    fn files_are_described_by_position_kind_and_size() {
        let a = analysis(
            "a@b.fi",
            "",
            "<x@y>",
            vec![
                file("passi.pdf", "application/pdf", 1_234_567, false),
                file("kuva.png", "image/png", 800, true),
            ],
        );
        let out = rendered(&a, None);
        assert!(out.contains("- File 1 (PDF, 1.2 MB): received"), "{out}");
        assert!(
            out.contains("- File 2 (image, 800 B): not received"),
            "{out}"
        );
        assert!(!out.contains("passi") && !out.contains("kuva"));
        assert!(
            out.contains("(e-mail)"),
            "plain e-mail is not called Securemail"
        );
    }

    #[test]
    fn a_whole_message_refusal_lists_no_files() {
        let a = analysis(
            "a@b.fi",
            "",
            "<x@y>",
            vec![file("x.pdf", "application/pdf", 5, false)],
        );
        let out = rendered(
            &a,
            Some(&QuarantineReason::ForeignEncryption {
                scheme: "PGP".into(),
            }),
        );
        assert!(
            out.contains("Your message was not received, because it could not be opened"),
            "{out}"
        );
        assert!(!out.contains("File 1"), "{out}");
        assert!(!out.contains("message:"), "{out}");
    }

    #[test]
    fn a_resend_does_not_claim_its_files_were_added() {
        let a = analysis(
            "a@b.fi",
            "",
            "<x@y>",
            vec![file("x.pdf", "application/pdf", 5, false)],
        );
        let app = registered();
        let request = receipt_request(
            &a,
            &ReceiptFacts {
                reference: "R-7Q2M-K8TD",
                application: Some(&app),
                already_received: Some(&Earlier {
                    supplement_id: Uuid::nil(),
                    reference: "R-AAAA-BBBB".into(),
                    arrived_at: Utc::now(),
                }),
                message_refused: None,
            },
        );
        let r = render(&request, &templates(), "migri.fi");
        assert!(r.text.contains("already received"), "{}", r.text);
        assert!(
            !r.text.contains("File 1") && !r.text.contains("was added"),
            "{}",
            r.text
        );
    }
}
