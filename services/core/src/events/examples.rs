//! Example payloads, one or more per event type, covering every enum
//! variant, for the schema and envelope tests.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::{ApplicationId, CustomerNumber, RequestId};

pub fn time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0)
        .single()
        .expect("valid date")
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn app(serial: u32) -> ApplicationId {
    ApplicationId::from_parts(2026, serial).expect("in range")
}

fn object(key: &str) -> ObjectRef {
    ObjectRef {
        bucket: "intake-inbound".into(),
        key: key.into(),
        size: 1234,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        encryption: PayloadEncryption::Age,
    }
}

pub fn securemail() -> Vec<SecuremailReceived> {
    let first = SecuremailReceived {
        supplement_id: uuid(1),
        transport: Transport::Securemail,
        sender: "applicant@example.org".into(),
        recipient: "supplements@intake.invalid".into(),
        arrived_at: time(),
        message_id: Some("<abc@example.org>".into()),
        message: object("securemail/1/message.eml.age"),
    };
    let bounce = SecuremailReceived {
        supplement_id: uuid(2),
        transport: Transport::Email,
        sender: String::new(),
        message_id: None,
        ..first.clone()
    };
    vec![first, bounce]
}

pub fn enter_finland() -> Vec<EnterFinlandReceived> {
    let answer = EnterFinlandReceived {
        supplement_id: uuid(3),
        submission_id: "EF-88231".into(),
        customer_number: CustomerNumber::from_serial(12_345_678).expect("in range"),
        application_id: app(4217),
        request_id: Some(RequestId::from_serial(77).expect("in range")),
        language: Language::Sv,
        arrived_at: time(),
        message_text: object("enterfinland/3/text.age"),
        attachments: vec![AttachmentRef {
            filename: "passport ÄÖ.pdf".into(),
            declared_content_type: Some("application/pdf".into()),
            object: object("enterfinland/3/0.age"),
        }],
    };
    let plain = EnterFinlandReceived {
        supplement_id: uuid(4),
        request_id: None,
        language: Language::Fi,
        attachments: vec![AttachmentRef {
            declared_content_type: None,
            ..answer.attachments[0].clone()
        }],
        ..answer.clone()
    };
    vec![answer, plain]
}

pub fn application() -> Vec<ApplicationRecord> {
    let pending = ApplicationRecord {
        application_id: app(4217),
        customer_number: CustomerNumber::from_serial(12_345_678).expect("in range"),
        status: ApplicationStatus::Pending,
        unit: "residence-permits-helsinki".into(),
        confidential: true,
        assigned_caseworker: Some("aino.virtanen".into()),
        language: Language::En,
        contact_addresses: vec!["applicant@example.org".into()],
        open_requests: vec![RequestId::from_serial(77).expect("in range")],
        version: 3,
        updated_at: time(),
    };
    let others = [ApplicationStatus::Decided, ApplicationStatus::Withdrawn].map(|status| {
        ApplicationRecord {
            status,
            confidential: false,
            assigned_caseworker: None,
            open_requests: vec![],
            ..pending.clone()
        }
    });
    std::iter::once(pending).chain(others).collect()
}

pub fn routed() -> SupplementRouted {
    SupplementRouted {
        supplement_id: uuid(5),
        application_id: app(4217),
        sequence: 7,
        unit: "residence-permits-helsinki".into(),
        confidential: false,
        channel: Channel::EnterFinland,
        arrived_at: time(),
        request_id: Some(RequestId::from_serial(77).expect("in range")),
        text: Some(object("routed/5/text.age")),
        attachments: vec![RoutedAttachment {
            attachment_id: uuid(6),
            filename: "scan.jpg".into(),
            detected_type: "image/jpeg".into(),
            object: object("routed/5/6.age"),
        }],
        flags: vec![
            RoutingFlag::OtherApplicationMentioned {
                application_id: app(4218),
            },
            RoutingFlag::SenderNotParty,
            RoutingFlag::PossibleResend {
                original_supplement_id: uuid(1),
            },
            RoutingFlag::TypeMismatch {
                attachment_id: uuid(6),
                claimed: "application/pdf".into(),
                detected: "image/jpeg".into(),
            },
            RoutingFlag::PartsRefused { count: 1 },
            RoutingFlag::InfectedAfterDelivery {
                attachment_id: uuid(6),
            },
        ],
    }
}

pub fn triaged() -> SupplementTriaged {
    SupplementTriaged {
        supplement_id: uuid(7),
        channel: Channel::Securemail,
        arrived_at: time(),
        reasons: vec![
            TriageReason::NoIdentifier,
            TriageReason::UnknownApplication {
                application_id: app(999),
            },
            TriageReason::Ambiguous,
            TriageReason::SenderNotParty {
                application_id: app(4217),
            },
            TriageReason::AutomaticMessage {
                what: "bounce".into(),
            },
            TriageReason::Unprocessable {
                detail: "PostgreSQL refused a value".into(),
            },
        ],
        candidates: vec![app(4217), app(4218)],
    }
}

pub fn quarantined() -> Vec<SupplementQuarantined> {
    let reasons = [
        QuarantineReason::Infected {
            signature: "Eicar-Test-Signature".into(),
        },
        QuarantineReason::Dangerous {
            detail: "PDF with JavaScript".into(),
        },
        QuarantineReason::Undecryptable,
        QuarantineReason::ForeignEncryption {
            scheme: "pgp".into(),
        },
        QuarantineReason::Malformed {
            detail: "PDF does not parse".into(),
        },
        QuarantineReason::Unscannable {
            detail: "over the scanner's size limit".into(),
        },
    ];
    reasons
        .into_iter()
        .enumerate()
        .map(|(i, reason)| SupplementQuarantined {
            supplement_id: uuid(8),
            channel: Channel::Securemail,
            arrived_at: time(),
            part: (i % 2 == 0).then(|| PartRef {
                index: 1,
                filename: Some("invoice.pdf".into()),
            }),
            reason,
            object: (i != 2).then(|| object("quarantine/8/1.age")),
        })
        .collect()
}

pub fn receipt() -> Vec<ReceiptRequested> {
    let email = ReceiptRequested {
        receipt_id: uuid(9),
        supplement_id: uuid(1),
        reference: "R-7Q2M-K8TD".into(),
        channel: Channel::Securemail,
        transport: Some(Transport::Email),
        recipient: ReceiptRecipient::Email {
            address: "applicant@example.org".into(),
        },
        language: None,
        arrived_at: time(),
        application_id: Some(app(4217)),
        outcome: ReceiptOutcome::Received,
        message_refused: None,
        files: vec![FileOutcome {
            position: 1,
            kind: FileKind::Pdf,
            size: 1_234_567,
            refusal: None,
        }],
        mail: Some(MailSignals {
            auto_submitted: Some("auto-replied".into()),
            precedence: Some("bulk".into()),
            has_list_id: true,
            empty_return_path: false,
            message_id: Some("<abc@example.org>".into()),
            dmarc: Some("pass".into()),
        }),
    };
    let refusals = RefusalReason::ALL;
    let resend = ReceiptRequested {
        receipt_id: uuid(10),
        supplement_id: uuid(3),
        channel: Channel::EnterFinland,
        transport: None,
        recipient: ReceiptRecipient::EnterFinland {
            customer_number: CustomerNumber::from_serial(12_345_678).expect("in range"),
        },
        language: Some(Language::Fi),
        application_id: None,
        outcome: ReceiptOutcome::AlreadyReceived(DuplicateOf {
            original_reference: "R-AAAA-BBBB".into(),
            original_received_at: time(),
        }),
        files: refusals
            .into_iter()
            .enumerate()
            .map(|(i, r)| FileOutcome {
                position: i as u32 + 1,
                kind: FileKind::Other,
                size: 0,
                refusal: Some(r),
            })
            .collect(),
        mail: None,
        ..email.clone()
    };
    let whole = ReceiptRequested {
        receipt_id: uuid(11),
        supplement_id: uuid(4),
        message_refused: Some(RefusalReason::ForeignEncryption),
        files: vec![],
        ..email.clone()
    };
    vec![email, resend, whole]
}
