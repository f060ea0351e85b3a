//! Building receipt requests, and checking a delivered receipt against
//! the request it answers.

use std::collections::HashMap;

use chrono::Utc;
use intake_core::events::{
    Channel, DuplicateOf, FileKind, FileOutcome, Language, MailSignals, ReceiptOutcome,
    ReceiptRecipient, ReceiptRequested, RefusalReason, Transport,
};
use intake_core::ids::{ApplicationId, CustomerNumber};
use intake_core::receipt::{Template, mask_application_id, receipt_message_id};
use intake_tests::receipts::{DOMAIN, Requests, TestEservice, TestReceipts, TestSmtp};
use intake_tests::{Stack, StoredMail, TestDb};
use mailparse::MailHeaderMap;
use uuid::Uuid;

pub fn template(language: Language) -> Template {
    let text = match language {
        Language::Fi => include_str!("../../services/receipts/templates/fi.toml"),
        Language::Sv => include_str!("../../services/receipts/templates/sv.toml"),
        Language::En => include_str!("../../services/receipts/templates/en.toml"),
    };
    toml::from_str(text).expect("template parses")
}

/// A request as the worker makes it; `n` makes it unique.
pub fn email_request(n: u32, address: &str, language: Option<Language>) -> ReceiptRequested {
    let supplement_id = Uuid::new_v4();
    ReceiptRequested {
        receipt_id: Uuid::new_v5(&supplement_id, b"receipt"),
        supplement_id,
        reference: format!(
            "R-{:05}-{}",
            n % 100_000,
            &supplement_id.simple().to_string()[..5].to_uppercase()
        ),
        channel: Channel::Securemail,
        transport: Some(Transport::Securemail),
        recipient: ReceiptRecipient::Email {
            address: address.to_owned(),
        },
        language,
        arrived_at: Utc::now(),
        application_id: ApplicationId::from_parts(2026, 4217 + n % 1000),
        outcome: ReceiptOutcome::Received,
        files: vec![
            FileOutcome {
                position: 1,
                kind: FileKind::Pdf,
                size: 1_234_567 + u64::from(n),
                refusal: None,
            },
            FileOutcome {
                position: 2,
                kind: FileKind::Archive,
                size: 800,
                refusal: Some(RefusalReason::ALL[(n as usize) % RefusalReason::ALL.len()]),
            },
        ],
        message_refused: None,
        mail: Some(MailSignals {
            message_id: Some(format!(
                "<applicant.{n}.{}@example.org>",
                supplement_id.simple()
            )),
            ..MailSignals::default()
        }),
    }
}

pub fn eservice_request(n: u32, language: Option<Language>) -> ReceiptRequested {
    let mut request = email_request(n, "unused@example.org", language);
    request.channel = Channel::EnterFinland;
    request.transport = None;
    request.recipient = ReceiptRecipient::EnterFinland {
        customer_number: CustomerNumber::from_serial(10_000_000 + n).expect("customer number"),
    };
    request.mail = None;
    request
}

pub fn resend_of(mut request: ReceiptRequested, original: &ReceiptRequested) -> ReceiptRequested {
    request.outcome = ReceiptOutcome::AlreadyReceived(DuplicateOf {
        original_reference: original.reference.clone(),
        original_received_at: original.arrived_at,
    });
    request
}

/// Stored mail by its Message-ID.
pub fn by_message_id(mails: Vec<StoredMail>) -> HashMap<String, Vec<StoredMail>> {
    let mut map: HashMap<String, Vec<StoredMail>> = HashMap::new();
    for mail in mails {
        let parsed = mailparse::parse_mail(&mail.raw).expect("stored mail parses");
        let id = parsed
            .headers
            .get_first_value("Message-ID")
            .unwrap_or_default()
            .trim()
            .to_owned();
        map.entry(id).or_default().push(mail);
    }
    map
}

pub fn message_id(request: &ReceiptRequested) -> String {
    receipt_message_id(request.receipt_id, DOMAIN)
}

/// Everything a receipt e-mail must be, for this request.
pub fn check_mail(mail: &StoredMail, request: &ReceiptRequested) {
    let ReceiptRecipient::Email { address } = &request.recipient else {
        panic!("an e-mail receipt for an Enter Finland request");
    };
    let parsed = mailparse::parse_mail(&mail.raw).expect("receipt parses");
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    assert_eq!(mail.dkim, "pass", "DKIM must verify: {}", mail.text());
    assert_eq!(
        mail.mail_from, "<>",
        "sent with a null return path (RFC 3834)"
    );
    assert_eq!(mail.rcpt_tos, vec![address.clone()]);
    assert!(
        header("From").contains(&format!("<no-reply@{DOMAIN}>")),
        "{}",
        header("From")
    );
    assert!(header("To").contains(address.as_str()));
    assert_eq!(header("Auto-Submitted"), "auto-replied");
    assert_eq!(header("Message-ID"), message_id(request));
    let original = request.mail.as_ref().and_then(|m| m.message_id.clone());
    match original {
        Some(original) => {
            assert_eq!(header("In-Reply-To"), original);
            assert_eq!(header("References"), original);
        }
        None => assert!(parsed.headers.get_first_value("In-Reply-To").is_none()),
    }
    if let Some(language) = request.language {
        assert_eq!(header("Content-Language"), language.as_str());
    }
    assert!(
        header("Subject").contains(&request.reference),
        "{}",
        header("Subject")
    );
    let body = parsed.get_body().expect("receipt body decodes");
    check_words(&body, request);
}

/// The words of a receipt, whichever way it went.
pub fn check_words(text: &str, request: &ReceiptRequested) {
    let all = [Language::Fi, Language::Sv, Language::En];
    let shown: Vec<Language> = request.language.map_or(all.to_vec(), |l| vec![l]);
    for language in all {
        let t = template(language);
        let genuine = t.genuine.replace("{domain}", DOMAIN);
        assert_eq!(
            text.contains(&genuine),
            shown.contains(&language),
            "{language:?} text present only when it is the applicant's language:\n{text}"
        );
        if !shown.contains(&language) {
            continue;
        }
        assert!(text.contains(&t.reference.replace("{reference}", &request.reference)));
        // A resend says only that; the files were received the first time.
        let files = match request.outcome {
            ReceiptOutcome::Received => request.files.as_slice(),
            ReceiptOutcome::AlreadyReceived(_) => &[],
        };
        for file in files {
            let line = if file.refusal.is_some() {
                &t.refused
            } else {
                &t.accepted
            };
            let start = line
                .replace("{position}", &file.position.to_string())
                .replace("{kind}", t.kind_text(file.kind));
            let start = &start[..start.find("{size}").unwrap_or(start.len())];
            assert!(text.contains(start), "{start:?} missing:\n{text}");
            if let Some(reason) = file.refusal {
                assert!(
                    text.contains(t.reasons_text(reason)),
                    "{reason:?} reason missing:\n{text}"
                );
                assert!(
                    text.contains(t.next_text(reason)),
                    "{reason:?} next step missing:\n{text}"
                );
            }
        }
    }
    if let ReceiptOutcome::AlreadyReceived(original) = &request.outcome {
        assert!(
            text.contains(&original.original_reference),
            "original reference missing:\n{text}"
        );
    }
    let first_arrival =
        request.outcome == ReceiptOutcome::Received && request.message_refused.is_none();
    if let Some(application) = &request.application_id {
        assert_eq!(
            text.contains(&mask_application_id(application)),
            first_arrival,
            "the masked application is named on a first arrival only:\n{text}"
        );
        assert!(
            !text.contains(application.as_str()),
            "the full application id is never shown"
        );
    }
    let lower = text.to_lowercase();
    for link in ["http", "www.", "://"] {
        assert!(
            !lower.contains(link),
            "a receipt never carries a link:\n{text}"
        );
    }
}

/// Everything an Enter Finland notification must be, for this request.
pub fn check_notification(notification: &serde_json::Value, request: &ReceiptRequested) {
    let ReceiptRecipient::EnterFinland { customer_number } = &request.recipient else {
        panic!("a notification for an e-mail request");
    };
    assert_eq!(
        notification["notification_id"],
        request.receipt_id.to_string()
    );
    assert_eq!(notification["customer_number"], customer_number.as_str());
    assert_eq!(notification["reference"], request.reference.as_str());
    let subject = notification["subject"].as_str().expect("subject");
    assert!(subject.contains(&request.reference));
    check_words(notification["text"].as_str().expect("text"), request);
}

/// The receipt service alone on its own topics and database, with its own
/// SMTP server and e-service stand-in.
pub struct Alone {
    pub stack: Stack,
    pub db: TestDb,
    pub kafka: intake_adapters::kafka::KafkaConfig,
    pub requests: Requests,
    pub smtp: TestSmtp,
    pub eservice: TestEservice,
}

impl Alone {
    pub async fn new(reject_domain: Option<&str>, refuse_customers: &[&str]) -> Self {
        let stack = Stack::new();
        let db = stack.database().await;
        let kafka = stack.kafka();
        let requests = Requests::new(&kafka).await;
        let smtp = TestSmtp::start(&stack, reject_domain).await;
        let eservice = TestEservice::start(&stack, refuse_customers).await;
        Self {
            stack,
            db,
            kafka,
            requests,
            smtp,
            eservice,
        }
    }

    pub async fn receipts(&self, overrides: &[(&str, &str)]) -> TestReceipts {
        self.receipts_profile(overrides, "debug").await
    }

    /// `release` for benchmarks.
    pub async fn receipts_profile(
        &self,
        overrides: &[(&str, &str)],
        profile: &'static str,
    ) -> TestReceipts {
        let url = self.stack.database_url(&self.db);
        TestReceipts::start_profile(
            &self.stack,
            &self.kafka,
            &url,
            &self.smtp,
            &self.eservice,
            overrides,
            profile,
        )
        .await
    }

    /// Seeds each supplement and publishes its request.
    pub async fn send(&self, requests: &[ReceiptRequested]) {
        for request in requests {
            Requests::seed(&self.db.pool, request).await;
            self.requests.publish(request).await;
        }
    }

    pub async fn state(&self, request: &ReceiptRequested) -> (String, Option<String>, i32) {
        sqlx::query_as("select state, reason, attempts from receipts where supplement_id = $1")
            .bind(request.supplement_id)
            .fetch_one(&self.db.pool)
            .await
            .expect("the receipt record")
    }
}
