//! The generator's full mix, every kind, through the gateway: each accepted
//! supplement is one event whose sealed bytes open to exactly what was
//! sent; each refused one left nothing.

use std::collections::HashMap;

use intake_core::events::{EnterFinlandReceived, SecuremailReceived};
use intake_core::topics;
use intake_generator::manifest::Expected;
use intake_generator::plan::{Kind, Options, Request, plan};
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, Limits, MIB, SECUREMAIL_TOKEN, TestGateway};

#[tokio::test]
async fn every_kind_of_supplement_lands_whole_or_is_refused_cleanly() {
    let limits = Limits {
        max_attachment_bytes: 2 * MIB,
        max_message_bytes: 4 * MIB,
        max_attachments: 10,
    };
    let gateway = TestGateway::start(&Stack::new(), limits).await;
    let population = Population::generate(11, 40);
    let supplements = plan(
        &population,
        &Options {
            seed: 11,
            count: Kind::ALL.len() * 2,
            oversized_bytes: (2 * MIB + 1) as usize,
            kinds: vec![],
        },
    );
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();

    let mut accepted = HashMap::new();
    for supplement in &supplements {
        let sent = send(&client, &gateway.url, &tokens, &supplement.request)
            .await
            .expect("gateway answers");
        match &supplement.entry.expected {
            Expected::Rejected { status, .. } => {
                assert_eq!(sent.status, *status, "{:?}", supplement.entry)
            }
            _ => {
                assert_eq!(sent.status, 202, "{:?}", supplement.entry);
                accepted.insert(sent.supplement_id.expect("an id with 202"), supplement);
            }
        }
    }
    let kinds: std::collections::HashSet<_> = supplements.iter().map(|s| s.entry.kind).collect();
    assert_eq!(kinds.len(), Kind::ALL.len(), "the mix covers every kind");

    let mails = accepted
        .values()
        .filter(|s| matches!(s.request, Request::Securemail { .. }))
        .count();
    let submissions = accepted.len() - mails;
    let mut expected_objects = mails;
    for (key, event) in gateway
        .events::<SecuremailReceived>(&topics::SECUREMAIL, mails)
        .await
    {
        let supplement = accepted[&event.data.supplement_id];
        let Request::Securemail { raw, sender, .. } = &supplement.request else {
            panic!("a mail event for {:?}", supplement.entry)
        };
        assert_eq!(key, sender.to_lowercase());
        assert_eq!(
            &gateway.open(&event.data.message).await,
            raw,
            "{:?}",
            supplement.entry.kind
        );
    }
    for (key, event) in gateway
        .events::<EnterFinlandReceived>(&topics::ENTER_FINLAND, submissions)
        .await
    {
        let supplement = accepted[&event.data.supplement_id];
        let Request::EnterFinland { metadata, files } = &supplement.request else {
            panic!("a submission event for {:?}", supplement.entry)
        };
        assert_eq!(key, metadata["application_id"].as_str().expect("id"));
        let text = gateway.open(&event.data.message_text).await;
        assert_eq!(
            text,
            metadata["message"].as_str().expect("message").as_bytes()
        );
        assert_eq!(event.data.attachments.len(), files.len());
        for (stored, sent) in event.data.attachments.iter().zip(files) {
            assert_eq!(stored.filename, sent.filename);
            assert_eq!(gateway.open(&stored.object).await, sent.bytes);
        }
        expected_objects += 1 + files.len();
    }
    assert_eq!(
        gateway.record_count(&topics::SECUREMAIL).await as usize,
        mails,
        "one event per mail"
    );
    assert_eq!(
        gateway.record_count(&topics::ENTER_FINLAND).await as usize,
        submissions
    );
    assert_eq!(
        gateway.stored_keys().await.len(),
        expected_objects,
        "refused ones stored nothing"
    );
}
