//! FIFO is by arrival at the gateway across both channels: an e-mail that
//! arrived first but whose upload finished last still takes its place
//! before the e-service message that overtook it in Kafka. While it is
//! unread it holds only its sender's applications, not everyone's.

use std::time::Duration;

use bytes::Bytes;
use intake_generator::population::Population;
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN};
use intake_tests::worker::TestWorker;
use uuid::Uuid;

use crate::support::{gateway, publish_registry, wait_until_done};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_arriving_first_keeps_its_place_though_its_upload_ends_last() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(8, 5);
    publish_registry(&gateway, &population).await;
    let worker = TestWorker::start(&stack, &gateway, None).await;
    let applicant = &population.applicants[0];
    let application = &population.applications[0];
    let app = application.application_id.to_string();
    let client = reqwest::Client::new();

    // The e-mail: its head now, its body only after the e-service message.
    let (body_tx, body_rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let head = format!(
        "From: {}\r\nTo: supplements@intake.invalid\r\nSubject: Hakemus {app}\r\nMessage-ID: <race-{}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
        applicant.email,
        Uuid::new_v4()
    );
    body_tx.send(Ok(Bytes::from(head))).await.expect("head");
    let mail = {
        let client = client.clone();
        let url = gateway.url.clone();
        let sender = applicant.email.clone();
        tokio::spawn(async move {
            client
                .post(format!("{url}/v1/securemail/messages"))
                .bearer_auth(SECUREMAIL_TOKEN)
                .header("Intake-Transport", "securemail")
                .header("Intake-Sender", sender)
                .header("Intake-Recipient", "supplements@intake.invalid")
                .header("Content-Type", "message/rfc822")
                .body(reqwest::Body::wrap_stream(
                    tokio_stream::wrappers::ReceiverStream::new(body_rx),
                ))
                .send()
                .await
                .expect("mail request")
        })
    };
    // The gateway has the head (and so the arrival) once the claim exists.
    let pool = &gateway.db.pool;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>("select count(*) from ingest_claims")
        .fetch_one(pool)
        .await
        .expect("count")
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the mail's arrival was not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let submit = |application_id: String, customer: String| {
        let client = client.clone();
        let url = gateway.url.clone();
        async move {
            let metadata = serde_json::json!({
                "submission_id": format!("EF-race-{}", Uuid::new_v4()),
                "customer_number": customer,
                "application_id": application_id,
                "language": "fi",
                "message": "Toinen viesti, lähetetty e-palvelussa.",
            });
            let form = reqwest::multipart::Form::new().part(
                "metadata",
                reqwest::multipart::Part::text(metadata.to_string())
                    .mime_str("application/json")
                    .expect("mime"),
            );
            let submitted = client
                .post(format!("{url}/v1/enterfinland/submissions"))
                .bearer_auth(ENTERFINLAND_TOKEN)
                .multipart(form)
                .send()
                .await
                .expect("submission");
            assert_eq!(submitted.status(), 202);
            submitted.json::<serde_json::Value>().await.expect("json")["supplement_id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
                .expect("supplement id")
        }
    };
    let submission_id = submit(app.clone(), applicant.customer_number.as_str().to_owned()).await;
    // An application the e-mail's sender is no party to: the unread
    // e-mail cannot be routed there, so it must not hold it.
    let other = population
        .applications
        .iter()
        .find(|a| {
            !a.contact_addresses
                .contains(&applicant.email.to_lowercase())
        })
        .expect("an application of someone else");
    let other_id = submit(
        other.application_id.to_string(),
        other.customer_number.as_str().to_owned(),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sqlx::query_scalar::<_, i64>("select count(*) from supplements where supplement_id = $1")
        .bind(other_id)
        .fetch_one(pool)
        .await
        .expect("count")
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "another sender's application waited for an unread e-mail"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The worker has had time to process the submission: it must wait.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let early: Vec<Uuid> = sqlx::query_scalar("select supplement_id from supplements")
        .fetch_all(pool)
        .await
        .expect("recorded");
    assert_eq!(
        early,
        vec![other_id],
        "the later arrival waits for the earlier one"
    );

    body_tx
        .send(Ok(Bytes::from_static(
            b"Liitteena selvitys, lahetetty ensin.\r\n",
        )))
        .await
        .expect("body");
    drop(body_tx);
    let mailed = mail.await.expect("mail task");
    assert_eq!(mailed.status(), 202);
    let mail_id: Uuid = mailed.json::<serde_json::Value>().await.expect("json")["supplement_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("supplement id");

    wait_until_done(pool, 3, &worker, Duration::from_secs(60)).await;
    let order: Vec<(Uuid, i64)> = sqlx::query_as(
        "select supplement_id, sequence from supplements where application_id = $1 order by sequence",
    )
    .bind(&app)
    .fetch_all(pool)
    .await
    .expect("sequence");
    assert_eq!(order, vec![(mail_id, 1), (submission_id, 2)]);
}
