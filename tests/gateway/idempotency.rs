use intake_core::events::{EnterFinlandReceived, SecuremailReceived};
use intake_core::topics;
use intake_tests::Stack;
use intake_tests::gateway::{Limits, TestGateway};

use crate::support::*;

#[tokio::test]
async fn a_retried_request_gets_the_same_answer_and_produces_nothing_new() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let send = || {
        post_enterfinland(
            &gateway,
            form(&metadata("EF-200"), &[("a.pdf", b"%PDF-1.4 a".to_vec())]),
        )
        .header("Idempotency-Key", "retry-me")
        .send()
    };
    let first = send().await.expect("request");
    assert!(first.headers().get("idempotent-replayed").is_none());
    let id = accepted_id(first).await;
    let again = send().await.expect("retry");
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(accepted_id(again).await, id);

    assert_eq!(
        gateway.record_count(&topics::ENTER_FINLAND).await,
        1,
        "one event"
    );
    assert_eq!(
        gateway.stored_keys().await.len(),
        2,
        "one text and one file"
    );
    let events = gateway
        .events::<EnterFinlandReceived>(&topics::ENTER_FINLAND, 1)
        .await;
    assert_eq!(events[0].1.data.supplement_id, id);
}

#[tokio::test]
async fn the_channels_own_ids_serve_as_idempotency_keys() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let raw = email("<resent@example.org>", "liite", "a.pdf", b"%PDF-1.4");
    let first = accepted_id(
        post_securemail(&gateway, raw.clone())
            .send()
            .await
            .expect("request"),
    )
    .await;
    let second = accepted_id(
        post_securemail(&gateway, raw)
            .send()
            .await
            .expect("redelivery"),
    )
    .await;
    assert_eq!(first, second, "same Message-ID, same supplement");

    let submission = || post_enterfinland(&gateway, form(&metadata("EF-201"), &[])).send();
    let a = accepted_id(submission().await.expect("request")).await;
    let b = accepted_id(submission().await.expect("retry")).await;
    assert_eq!(a, b, "same submission id, same supplement");

    assert_eq!(gateway.record_count(&topics::SECUREMAIL).await, 1);
    assert_eq!(gateway.record_count(&topics::ENTER_FINLAND).await, 1);
    gateway
        .events::<SecuremailReceived>(&topics::SECUREMAIL, 1)
        .await;
}

#[tokio::test]
async fn different_messages_are_different_supplements() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let a = email("<one@example.org>", "liite", "a.pdf", b"%PDF-1.4");
    let b = email("<two@example.org>", "liite", "a.pdf", b"%PDF-1.4");
    let first = accepted_id(post_securemail(&gateway, a).send().await.expect("request")).await;
    let second = accepted_id(post_securemail(&gateway, b).send().await.expect("request")).await;
    assert_ne!(first, second);
    assert_eq!(gateway.record_count(&topics::SECUREMAIL).await, 2);
}

#[tokio::test]
async fn a_shared_message_id_does_not_swallow_another_message() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let mine = email("<same@example.org>", "liite", "a.pdf", b"%PDF-1.4");
    let theirs = email("<same@example.org>", "toinen", "b.pdf", b"%PDF-1.5");
    let first = post_securemail(&gateway, mine)
        .send()
        .await
        .expect("request");
    let first = accepted_id(first).await;
    let second = post_securemail(&gateway, theirs)
        .send()
        .await
        .expect("request");
    assert!(
        second.headers().get("idempotent-replayed").is_none(),
        "another message is not a replay"
    );
    let second = accepted_id(second).await;
    assert_ne!(first, second);
    assert_eq!(gateway.record_count(&topics::SECUREMAIL).await, 2);
}

#[tokio::test]
async fn an_overlong_message_id_is_accepted_once_and_capped() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let id = format!("<{}@example.org>", "x".repeat(5000));
    let raw = email(&id, "liite", "a.pdf", b"%PDF-1.4");
    let first = accepted_id(
        post_securemail(&gateway, raw.clone())
            .send()
            .await
            .expect("request"),
    )
    .await;
    let again = accepted_id(post_securemail(&gateway, raw).send().await.expect("retry")).await;
    assert_eq!(first, again, "a retry is still a replay");
    let events = gateway
        .events::<SecuremailReceived>(&topics::SECUREMAIL, 1)
        .await;
    let carried = events[0].1.data.message_id.clone().expect("kept");
    assert!(carried.len() <= 998, "{} bytes in the event", carried.len());
}
