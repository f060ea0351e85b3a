use intake_core::events::{EnterFinlandReceived, Language};
use intake_core::ingest::inbound_event_id;
use intake_core::topics;
use intake_tests::Stack;
use intake_tests::gateway::{Limits, TestGateway};

use crate::support::*;

#[tokio::test]
async fn a_submission_with_files_lands_as_one_event_and_sealed_parts() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let passport = random_bytes(1_500_000);
    let letter = b"%PDF-1.7\n...".to_vec();
    let form = form(
        &metadata("EF-100"),
        &[
            ("passi skannaus ÄÖ.pdf", passport.clone()),
            ("työtodistus.pdf", letter.clone()),
        ],
    );

    let id = accepted_id(
        post_enterfinland(&gateway, form)
            .send()
            .await
            .expect("request"),
    )
    .await;

    let events = gateway
        .events::<EnterFinlandReceived>(&topics::ENTER_FINLAND, 1)
        .await;
    let (key, event) = &events[0];
    assert_eq!(key, "MIG-2026-004217-5", "keyed by application id");
    assert_eq!(event.envelope.id, inbound_event_id(id));
    let data = &event.data;
    assert_eq!(data.supplement_id, id);
    assert_eq!(data.submission_id, "EF-100");
    assert_eq!(data.language, Language::Fi);
    assert_eq!(
        data.request_id.as_ref().map(|r| r.as_str()),
        Some("RFI-000077-1")
    );
    assert_eq!(
        gateway.open(&data.message_text).await,
        "Lähetän pyydetyt liitteet.".as_bytes()
    );
    let names: Vec<_> = data
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, ["passi skannaus ÄÖ.pdf", "työtodistus.pdf"]);
    assert_eq!(gateway.open(&data.attachments[0].object).await, passport);
    assert_eq!(gateway.open(&data.attachments[1].object).await, letter);
    assert_eq!(
        gateway.stored_keys().await.len(),
        3,
        "text and two files, nothing else"
    );
}

#[tokio::test]
async fn a_submission_without_files_or_text_is_still_a_supplement() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let mut meta = metadata("EF-101");
    meta.as_object_mut().expect("object").remove("message");
    meta.as_object_mut().expect("object").remove("request_id");
    accepted_id(
        post_enterfinland(&gateway, form(&meta, &[]))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let events = gateway
        .events::<EnterFinlandReceived>(&topics::ENTER_FINLAND, 1)
        .await;
    assert!(events[0].1.data.attachments.is_empty());
    assert_eq!(events[0].1.data.request_id, None);
    assert_eq!(gateway.open(&events[0].1.data.message_text).await, b"");
}

#[tokio::test]
async fn overlong_and_hostile_names_are_capped_and_cleaned_before_the_event() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let long = format!("{}.pdf", "ä".repeat(5000));
    let hidden = "lasku\u{202E}fdp.exe".to_owned();
    let form = form(
        &metadata("EF-300"),
        &[
            (long.as_str(), b"%PDF-1.4".to_vec()),
            (hidden.as_str(), b"x".to_vec()),
        ],
    );
    accepted_id(
        post_enterfinland(&gateway, form)
            .send()
            .await
            .expect("request"),
    )
    .await;
    let events = gateway
        .events::<EnterFinlandReceived>(&topics::ENTER_FINLAND, 1)
        .await;
    let names: Vec<&str> = events[0]
        .1
        .data
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert!(
        names[0].len() <= 255 && names[0].ends_with(".pdf"),
        "{}",
        names[0]
    );
    assert_eq!(names[1], "laskufdp.exe", "no direction tricks in events");
}
