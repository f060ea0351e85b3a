use intake_core::events::{SecuremailReceived, Transport};
use intake_core::ingest::inbound_event_id;
use intake_core::topics;
use intake_tests::Stack;
use intake_tests::gateway::{Limits, TestGateway};

use crate::support::*;

#[tokio::test]
async fn a_message_lands_as_one_event_and_sealed_bytes() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let attachment = random_bytes(300_000);
    let raw = email(
        "<m1@example.org>",
        "Hakemus MIG-2026-004217-5 liite",
        "passi å.pdf",
        &attachment,
    );

    let id = accepted_id(
        post_securemail(&gateway, raw.clone())
            .send()
            .await
            .expect("request"),
    )
    .await;

    let events = gateway
        .events::<SecuremailReceived>(&topics::SECUREMAIL, 1)
        .await;
    let (key, event) = &events[0];
    assert_eq!(key, "aino@example.org", "keyed by the lower-cased sender");
    assert_eq!(event.envelope.id, inbound_event_id(id));
    assert_eq!(event.data.supplement_id, id);
    assert_eq!(event.data.transport, Transport::Securemail);
    assert_eq!(event.data.message_id.as_deref(), Some("<m1@example.org>"));
    assert_eq!(event.data.recipient, "supplements@intake.invalid");
    assert_eq!(
        gateway.open(&event.data.message).await,
        raw,
        "stored byte for byte"
    );
    assert_eq!(gateway.record_count(&topics::SECUREMAIL).await, 1);
}

#[tokio::test]
async fn plain_email_and_bounces_are_taken_too() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let bounce = b"From: MAILER-DAEMON@example.org\r\nSubject: Undelivered Mail\r\nAuto-Submitted: auto-replied\r\n\r\nGone.\r\n";
    let response = post_securemail_as(&gateway, "email", "", bounce.to_vec())
        .send()
        .await
        .expect("request");
    accepted_id(response).await;
    let events = gateway
        .events::<SecuremailReceived>(&topics::SECUREMAIL, 1)
        .await;
    assert_eq!(events[0].1.data.transport, Transport::Email);
    assert_eq!(
        events[0].1.data.sender, "",
        "an empty return path stays empty"
    );
    assert_eq!(events[0].1.data.message_id, None);
}
