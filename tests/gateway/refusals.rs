//! Every refusal gets its status and reason, and leaves nothing behind:
//! no object in S3, no event in Kafka, and the idempotency key free again.

use std::io;

use bytes::Bytes;
use futures::{StreamExt, stream};
use intake_core::topics;
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, Limits, MIB, TestGateway};
use serde_json::{Value, json};

use crate::support::*;

async fn assert_nothing_behind(gateway: &TestGateway) {
    assert_eq!(
        gateway.wait_until_empty().await,
        Vec::<String>::new(),
        "objects left in S3"
    );
    // Cleanup runs after the client has gone: the claim goes too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let open: i64 =
            sqlx::query_scalar("select count(*) from ingest_claims where state = 'in_progress'")
                .fetch_one(&gateway.db.pool)
                .await
                .expect("count claims");
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a failed request's claim stayed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        gateway.record_count(&topics::SECUREMAIL).await,
        0,
        "securemail events"
    );
    assert_eq!(
        gateway.record_count(&topics::ENTER_FINLAND).await,
        0,
        "enter finland events"
    );
}

#[tokio::test]
async fn callers_without_the_channels_token_get_401() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let raw = email("<a@example.org>", "x", "a.pdf", b"%PDF");
    let url = format!("{}/v1/securemail/messages", gateway.url);
    let cases = [
        client().post(&url).body(raw.clone()),
        client().post(&url).bearer_auth("wrong").body(raw.clone()),
        // The other channel's token opens only the other channel.
        client()
            .post(&url)
            .bearer_auth(ENTERFINLAND_TOKEN)
            .body(raw.clone()),
    ];
    for request in cases {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
    let response = client()
        .post(format!("{}/v1/enterfinland/submissions", gateway.url))
        .bearer_auth(intake_tests::gateway::SECUREMAIL_TOKEN)
        .multipart(form(&metadata("EF-1"), &[]))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_nothing_behind(&gateway).await;
    // Operations see each refusal by route and reason.
    let metrics = gateway.metrics();
    for line in [
        r#"intake_http_refusals_total{route="/v1/securemail/messages",reason="unauthorized"} 3"#,
        r#"intake_http_refusals_total{route="/v1/enterfinland/submissions",reason="unauthorized"} 1"#,
        r#"intake_http_requests_total{route="/v1/securemail/messages",status="401"} 3"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test]
async fn malformed_e_mail_gets_400_with_the_field() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let not_mime = post_securemail(&gateway, b"%PDF-1.7 this is not a message".to_vec());
    assert_eq!(
        refused_fields(not_mime.send().await.expect("request")).await,
        ["message"]
    );

    let no_sender = client()
        .post(format!("{}/v1/securemail/messages", gateway.url))
        .bearer_auth(intake_tests::gateway::SECUREMAIL_TOKEN)
        .header("Intake-Transport", "fax")
        .body(email("<b@example.org>", "x", "a.pdf", b"%PDF"));
    let mut fields = refused_fields(no_sender.send().await.expect("request")).await;
    fields.sort();
    assert_eq!(
        fields,
        ["Intake-Recipient", "Intake-Sender", "Intake-Transport"]
    );
    assert_nothing_behind(&gateway).await;
}

#[tokio::test]
async fn malformed_submissions_get_400_with_every_field() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    let bad_json = reqwest::multipart::Form::new().part(
        "metadata",
        reqwest::multipart::Part::text("{not json")
            .mime_str("application/json")
            .expect("mime"),
    );
    let response = post_enterfinland(&gateway, bad_json)
        .send()
        .await
        .expect("request");
    assert_eq!(refused_fields(response).await, ["metadata"]);

    let mut wrong = metadata("EF-2");
    wrong["application_id"] = json!("2026-4217");
    wrong["language"] = json!("de");
    wrong
        .as_object_mut()
        .expect("object")
        .remove("customer_number");
    let response = post_enterfinland(&gateway, form(&wrong, &[]))
        .send()
        .await
        .expect("request");
    let mut fields = refused_fields(response).await;
    fields.sort();
    assert_eq!(fields, ["application_id", "customer_number", "language"]);

    let not_multipart = client()
        .post(format!("{}/v1/enterfinland/submissions", gateway.url))
        .bearer_auth(ENTERFINLAND_TOKEN)
        .json(&metadata("EF-3"));
    assert_eq!(
        refused_fields(not_multipart.send().await.expect("request")).await,
        ["body"]
    );

    let nameless_file = metadata("EF-4");
    let form = form(&nameless_file, &[])
        .part("attachment", reqwest::multipart::Part::bytes(vec![1, 2, 3]));
    let response = post_enterfinland(&gateway, form)
        .send()
        .await
        .expect("request");
    assert_eq!(refused_fields(response).await, ["attachment[0].filename"]);
    assert_nothing_behind(&gateway).await;
}

#[tokio::test]
async fn too_large_gets_413_and_stores_nothing() {
    let gateway = TestGateway::start(&Stack::new(), Limits::default()).await;
    // Over the per-file limit (2 MiB here), after a file that fitted.
    let files = [
        ("ok.pdf", random_bytes(100_000)),
        ("huge.pdf", random_bytes((2 * MIB + 1) as usize)),
    ];
    let response = post_enterfinland(&gateway, form(&metadata("EF-5"), &files))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "too_large");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("huge.pdf"),
        "{body}"
    );

    // Each file fits, together they exceed the per-message limit (3 MiB).
    let files = [
        ("a.pdf", random_bytes(1_800_000)),
        ("b.pdf", random_bytes(1_800_000)),
    ];
    let response = post_enterfinland(&gateway, form(&metadata("EF-6"), &files))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);

    let raw = email(
        "<big@example.org>",
        "x",
        "big.pdf",
        &random_bytes((3 * MIB) as usize),
    );
    let response = post_securemail(&gateway, raw)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    assert_nothing_behind(&gateway).await;

    // The refused submission's key is free: a corrected retry is accepted.
    let retry = post_enterfinland(
        &gateway,
        form(&metadata("EF-5"), &[("ok.pdf", random_bytes(1000))]),
    );
    accepted_id(retry.send().await.expect("request")).await;
    let metrics = gateway.metrics();
    let too_large =
        r#"intake_http_refusals_total{route="/v1/enterfinland/submissions",reason="too_large"} 2"#;
    assert!(metrics.contains(too_large), "{metrics}");
    // Every file stored counts, also those of a request refused later:
    // ok.pdf, a.pdf and the retry's file at least.
    let received: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("intake_gateway_received_bytes_total "))
        .and_then(|v| v.parse().ok())
        .expect("received bytes counted");
    assert!(received >= 100_000 + 1_800_000 + 1000, "{received}");
}

#[tokio::test]
async fn an_upload_broken_midway_leaves_nothing_behind() {
    let gateway = TestGateway::start(
        &Stack::new(),
        Limits {
            max_message_bytes: 64 * MIB,
            ..Limits::default()
        },
    )
    .await;
    // 20 MiB of a message (several multipart parts in S3), then the
    // connection breaks.
    let head =
        Bytes::from_static(b"From: a@example.org\r\nMessage-ID: <broken@example.org>\r\n\r\n");
    let body =
        stream::iter((0..20).map(|_| Ok::<_, io::Error>(Bytes::from(random_bytes(MIB as usize)))))
            .chain(stream::iter([Err(io::Error::other("connection lost"))]));
    let result = post_securemail(&gateway, vec![])
        .body(reqwest::Body::wrap_stream(
            stream::iter([Ok(head)]).chain(body),
        ))
        .send()
        .await;
    if let Ok(response) = result {
        assert!(
            !response.status().is_success(),
            "a broken upload was accepted"
        );
    }
    assert_nothing_behind(&gateway).await;

    // The same message sent whole afterwards is accepted.
    let whole = email("<broken@example.org>", "x", "a.pdf", b"%PDF-1.4");
    accepted_id(
        post_securemail(&gateway, whole)
            .send()
            .await
            .expect("request"),
    )
    .await;
}
