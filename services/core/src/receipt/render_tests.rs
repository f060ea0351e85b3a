//! The shipped templates rendered for every outcome and language.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::render::{Templates, render};
use crate::events::{
    Channel, DuplicateOf, FileKind, FileOutcome, Language, MailSignals, ReceiptOutcome,
    ReceiptRecipient, ReceiptRequested, RefusalReason, Transport,
};
use crate::ids::ApplicationId;

fn templates() -> Templates {
    let parse = |text: &str| toml::from_str(text).expect("template parses");
    Templates {
        fi: parse(include_str!("../../../receipts/templates/fi.toml")),
        sv: parse(include_str!("../../../receipts/templates/sv.toml")),
        en: parse(include_str!("../../../receipts/templates/en.toml")),
    }
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("time")
        .with_timezone(&Utc)
}

const ALL_REASONS: [RefusalReason; 9] = RefusalReason::ALL;

fn request(language: Option<Language>, outcome: ReceiptOutcome) -> ReceiptRequested {
    let mut files = vec![FileOutcome {
        position: 1,
        kind: FileKind::Pdf,
        size: 1_234_567,
        refusal: None,
    }];
    files.extend(ALL_REASONS.iter().enumerate().map(|(i, r)| FileOutcome {
        position: i as u32 + 2,
        kind: FileKind::Image,
        size: 999,
        refusal: Some(*r),
    }));
    ReceiptRequested {
        receipt_id: Uuid::from_u128(1),
        supplement_id: Uuid::from_u128(2),
        reference: "R-7Q2MK-8TD4W".into(),
        channel: Channel::Securemail,
        transport: Some(Transport::Securemail),
        recipient: ReceiptRecipient::Email {
            address: "matti@example.org".into(),
        },
        language,
        // 07:31 UTC is 09:31 in Helsinki in November (EET).
        arrived_at: at("2026-11-24T07:31:00Z"),
        application_id: Some(ApplicationId::from_parts(2026, 4217).expect("valid")),
        outcome,
        message_refused: None,
        files,
        mail: Some(MailSignals::default()),
    }
}

const LANGUAGES: [Option<Language>; 4] = [
    Some(Language::Fi),
    Some(Language::Sv),
    Some(Language::En),
    None,
];

fn outcomes() -> [ReceiptOutcome; 2] {
    [
        ReceiptOutcome::Received,
        ReceiptOutcome::AlreadyReceived(DuplicateOf {
            original_reference: "R-AAAAA-BBBBB".into(),
            original_received_at: at("2026-06-01T21:15:00Z"),
        }),
    ]
}

#[test]
fn every_placeholder_is_filled_and_no_link_ever_appears() {
    let t = templates();
    for language in LANGUAGES {
        for outcome in outcomes() {
            let r = render(&request(language, outcome), &t, "migri.fi");
            for text in [&r.subject, &r.text] {
                assert!(!text.contains('{') && !text.contains('}'), "{text}");
                for link in ["http", "www.", "://", "href"] {
                    assert!(!text.to_lowercase().contains(link), "{link} in {text}");
                }
            }
            assert!(r.subject.contains("R-7Q2MK-8TD4W"));
            assert!(r.text.contains("R-7Q2MK-8TD4W"));
            assert!(r.text.contains("migri.fi"), "names the genuine domain");
            assert!(!r.text.contains("004217"), "never the full id");
            if is_first_arrival(&r.text) {
                assert!(r.text.contains("MIG-2026-••••17-5"), "masked");
            }
        }
    }
}

#[test]
fn arrival_is_in_helsinki_time_in_each_language() {
    let t = templates();
    let fi = render(
        &request(Some(Language::Fi), ReceiptOutcome::Received),
        &t,
        "migri.fi",
    );
    assert!(fi.text.contains("24.11.2026 klo 9.31"), "{}", fi.text);
    let sv = render(
        &request(Some(Language::Sv), ReceiptOutcome::Received),
        &t,
        "migri.fi",
    );
    assert!(sv.text.contains("24.11.2026 kl. 9.31"), "{}", sv.text);
    let en = render(
        &request(Some(Language::En), ReceiptOutcome::Received),
        &t,
        "migri.fi",
    );
    assert!(en.text.contains("24 November 2026 at 09:31"), "{}", en.text);
}

fn is_first_arrival(text: &str) -> bool {
    !["already", "redan", "jo vastaanotettu"]
        .iter()
        .any(|w| text.contains(w))
}

#[test]
fn a_resend_says_when_and_under_which_reference_it_first_came() {
    let [_, again] = outcomes();
    let r = render(
        &request(Some(Language::En), again),
        &templates(),
        "migri.fi",
    );
    // 21:15 UTC on 1 June is 00:15 on 2 June in Helsinki (EEST).
    assert!(
        r.text.contains("already received on 2 June 2026 at 00:15"),
        "{}",
        r.text
    );
    assert!(r.text.contains("R-AAAAA-BBBBB"));
    assert!(
        !r.text.contains("File 1") && !r.text.contains("was added"),
        "{}",
        r.text
    );
}

#[test]
fn each_refusal_has_its_reason_and_next_step() {
    let t = templates();
    let r = render(
        &request(Some(Language::En), ReceiptOutcome::Received),
        &t,
        "migri.fi",
    );
    assert!(
        r.text.contains("- File 1 (PDF, 1.2 MB): received"),
        "{}",
        r.text
    );
    for (i, reason) in ALL_REASONS.iter().enumerate() {
        let line = format!(
            "- File {} (image, 999 B): not received, {}",
            i + 2,
            t.en.reasons_text(*reason)
        );
        assert!(r.text.contains(&line), "{line}");
        assert!(r.text.contains(t.en.next_text(*reason)));
    }
    assert!(r.text.contains("Securemail"));
    assert!(r.text.contains("400 MB"));
}

#[test]
fn without_a_language_all_three_are_given() {
    let r = render(
        &request(None, ReceiptOutcome::Received),
        &templates(),
        "migri.fi",
    );
    assert!(
        r.subject.contains("Vastaanottokuittaus")
            && r.subject.contains("Mottagningskvitto")
            && r.subject.contains("Receipt")
    );
    let (fi, sv, en) = (
        r.text.find("Hei,").expect("fi"),
        r.text.find("Hej,").expect("sv"),
        r.text.find("Hello,").expect("en"),
    );
    assert!(fi < sv && sv < en);
}

#[test]
fn an_unjoined_supplement_says_a_caseworker_will_join_it() {
    let mut req = request(Some(Language::Fi), ReceiptOutcome::Received);
    req.application_id = None;
    req.channel = Channel::EnterFinland;
    let r = render(&req, &templates(), "migri.fi");
    assert!(r.text.contains("Käsittelijä liittää"));
    assert!(r.text.contains("(Enter Finland)"));
}

#[test]
fn sizes_are_written_as_each_language_writes_them() {
    let mut req = request(Some(Language::Fi), ReceiptOutcome::Received);
    req.files.truncate(1);
    let r = render(&req, &templates(), "migri.fi");
    assert!(
        r.text.contains("- Tiedosto 1 (PDF, 1,2 Mt): vastaanotettu"),
        "{}",
        r.text
    );
}

#[test]
fn plain_email_is_not_called_securemail() {
    let mut req = request(Some(Language::En), ReceiptOutcome::Received);
    req.transport = Some(Transport::Email);
    let r = render(&req, &templates(), "migri.fi");
    assert!(
        r.text.contains("(e-mail)") && !r.text.contains("(Securemail)"),
        "{}",
        r.text
    );
}

#[test]
fn a_refused_message_says_so_without_listing_files() {
    let mut req = request(Some(Language::En), ReceiptOutcome::Received);
    req.message_refused = Some(RefusalReason::Infected);
    req.files.clear();
    let r = render(&req, &templates(), "migri.fi");
    assert!(
        r.text
            .contains("Your message was not received, because the virus scan"),
        "{}",
        r.text
    );
    assert!(
        !r.text.contains("File 1") && !r.text.contains("was added"),
        "{}",
        r.text
    );
}

#[test]
fn a_combined_receipt_says_what_became_of_each_supplement_it_answers() {
    let t = templates();
    for language in [Language::Fi, Language::Sv, Language::En] {
        let mut refused = request(Some(language), ReceiptOutcome::Received);
        refused.reference = "R-AAAAA-BBBBB".into();
        refused.message_refused = Some(RefusalReason::Infected);
        let mut other = request(Some(language), ReceiptOutcome::Received);
        other.reference = "R-CCCCC-DDDDD".into();
        let req = request(Some(language), ReceiptOutcome::Received);
        let also = [refused.clone(), other];
        let r = super::render::render_combined(&req, &also, &t, "agency.example");
        assert!(
            r.text.contains("R-AAAAA-BBBBB, R-CCCCC-DDDDD"),
            "{language:?}: {}",
            r.text
        );
        assert!(r.text.contains("R-7Q2MK-8TD4W"), "its own reference too");
        assert!(!r.text.contains('{'), "every placeholder filled");
        let tmpl = match language {
            Language::Fi => &t.fi,
            Language::Sv => &t.sv,
            Language::En => &t.en,
        };
        assert!(
            r.text.contains(tmpl.reasons_text(RefusalReason::Infected)),
            "the refused one says it was refused: {}",
            r.text
        );
        let alone = render(&req, &t, "agency.example");
        assert!(!alone.text.contains("R-AAAAA-BBBBB"));
    }
}
