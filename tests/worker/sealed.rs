//! Hostile corpus, the rest: payloads tampered with or cut short at rest,
//! a 1 MB header line (refused at the gateway in the message's own head,
//! read within budget in an attached message), and the worker's peak
//! memory through all of it, measured against its configured budget.

use std::time::Duration;

use intake_core::events::Transport;
use intake_generator::plan::Request;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN, TestGateway};
use intake_tests::worker::TestWorker;
use serde_json::json;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::support::{
    assert_within_memory_budget, base64_of, gateway, long_text, memory_budget, publish_registry,
    wait_until_done,
};

fn mail(from: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: supplements@agency.example\r\nSubject: {subject}\r\nMessage-ID: <{}@example.fi>\r\nMIME-Version: 1.0\r\n{body}",
        Uuid::new_v4()
    )
    .into_bytes()
}

async fn rewrite(gateway: &TestGateway, supplement: Uuid, part: &str, change: fn(&mut Vec<u8>)) {
    let key = gateway
        .stored_keys()
        .await
        .into_iter()
        .find(|k| k.starts_with(&format!("supplements/{supplement}/")) && k.ends_with(part))
        .expect("the stored part");
    let mut sealed = Vec::new();
    gateway
        .store
        .get_stream(&gateway.bucket, &key)
        .await
        .expect("get")
        .read_to_end(&mut sealed)
        .await
        .expect("read");
    change(&mut sealed);
    gateway
        .store
        .put_stream(&gateway.bucket, &key, &sealed[..])
        .await
        .expect("put back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_payloads_and_huge_headers_end_with_a_reason_within_the_memory_budget() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(33, 2);
    publish_registry(&gateway, &population).await;
    let record = &population.applications[0];
    let party = record.contact_addresses[0].clone();
    let subject = format!("Hakemus {}", record.application_id);
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    let securemail = |raw: Vec<u8>| Request::Securemail {
        transport: Transport::Securemail,
        sender: party.clone(),
        raw,
    };
    let text = "Content-Type: text/plain; charset=utf-8\r\n\r\nLiitteena selvitys.\r\n";
    let accepted = |sent: intake_generator::send::Sent| {
        assert_eq!(sent.status, 202);
        sent.supplement_id.expect("id")
    };

    // Sent while no worker runs, so the stored bytes can be changed first.
    let tampered = accepted(
        send(
            &client,
            &gateway.url,
            &tokens,
            &securemail(mail(&party, &subject, text)),
        )
        .await
        .expect("send"),
    );
    let truncated = accepted(
        send(
            &client,
            &gateway.url,
            &tokens,
            &securemail(mail(&party, &subject, text)),
        )
        .await
        .expect("send"),
    );
    let file = Request::EnterFinland {
        metadata: json!({
            "submission_id": format!("EF-sealed-{}", Uuid::new_v4()),
            "customer_number": record.customer_number.as_str(),
            "application_id": record.application_id.to_string(),
            "request_id": null,
            "language": "fi",
            "message": "Liite.",
        }),
        files: vec![intake_generator::mail::Attachment {
            filename: "todistus.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: intake_generator::files::pdf(
                &["Todistus"],
                intake_generator::files::PdfAction::None,
            ),
        }],
    };
    let tampered_file = accepted(
        send(&client, &gateway.url, &tokens, &file)
            .await
            .expect("send"),
    );
    // A 1 MB header line inside an attached message: the gateway reads
    // only the outer head; the worker reads the rest within its budgets.
    let long_header = format!("X-Filler: {}", "a".repeat(1_000_000));
    let attached = format!(
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n{text}--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: {party}\r\nSubject: inner\r\n{long_header}\r\nContent-Type: text/plain\r\n\r\nSisempi viesti.\r\n--b--\r\n"
    );
    let inner_header = accepted(
        send(
            &client,
            &gateway.url,
            &tokens,
            &securemail(mail(&party, &subject, &attached)),
        )
        .await
        .expect("send"),
    );
    // Mails of nearly the gateway's limit from different senders (so they
    // take different lanes at once): without the memory budget the worker
    // would hold them all together, several times their size each.
    let mut heavy = Vec::new();
    for n in 0..10 {
        let bytes = long_text(2_800_000 + n * 1000);
        let body = format!(
            "Content-Type: multipart/mixed; boundary=\"h\"\r\n\r\n--h\r\n{text}--h\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"selvitys.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--h--\r\n",
            base64_of(&bytes)
        );
        let sender = format!("heavy{n}@example.org");
        let request = Request::Securemail {
            transport: Transport::Securemail,
            sender: sender.clone(),
            raw: mail(&sender, &subject, &body),
        };
        heavy.push(accepted(
            send(&client, &gateway.url, &tokens, &request)
                .await
                .expect("send"),
        ));
    }
    // The same line in the message's own head: refused with a reason
    // before anything is stored.
    let outer = mail(&party, &subject, &format!("{long_header}\r\n{text}"));
    let refused = client
        .post(format!("{}/v1/securemail/messages", gateway.url))
        .bearer_auth(SECUREMAIL_TOKEN)
        .header("Intake-Transport", "securemail")
        .header("Intake-Sender", party.as_str())
        .header("Intake-Recipient", "supplements@agency.example")
        .header("Content-Type", "message/rfc822")
        .body(outer)
        .send()
        .await
        .expect("request");
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let why = refused.text().await.expect("body");
    assert!(why.contains("header"), "the refusal says why: {why}");

    rewrite(&gateway, tampered, "message.age", |sealed| {
        // A byte of the ciphertext, past age's header.
        let at = sealed.len() - 20;
        sealed[at] ^= 0x01;
    })
    .await;
    rewrite(&gateway, truncated, "message.age", |sealed| {
        sealed.truncate(sealed.len() - 17);
    })
    .await;
    rewrite(&gateway, tampered_file, "attachment-0.age", |sealed| {
        let at = sealed.len() / 2 + 200;
        sealed[at] ^= 0x80;
    })
    .await;

    let worker = TestWorker::start_with(&stack, &gateway, None, "debug", memory_budget()).await;
    let pool = &gateway.db.pool;
    wait_until_done(pool, 4 + heavy.len(), &worker, Duration::from_secs(240)).await;
    for (id, what) in [
        (tampered, "a tampered e-mail"),
        (truncated, "a truncated e-mail"),
        (tampered_file, "a tampered file"),
    ] {
        let (outcome, reason): (String, Option<String>) = sqlx::query_as(
            "select s.outcome,
                    (select payload->'reason'->>'kind' from outbox o
                      where o.topic like '%quarantine.v1'
                        and (o.payload->>'supplement_id')::uuid = s.supplement_id)
             from supplements s where supplement_id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("exactly one outcome");
        assert_eq!(
            (outcome.as_str(), reason.as_deref()),
            ("quarantined", Some("undecryptable")),
            "{what}"
        );
    }
    let (outcome, flags): (String, serde_json::Value) =
        sqlx::query_as("select outcome, flags from supplements where supplement_id = $1")
            .bind(inner_header)
            .fetch_one(pool)
            .await
            .expect("exactly one outcome");
    assert_eq!(
        outcome, "routed",
        "a long header is read, not choked on ({flags})"
    );

    let log = worker.log();
    assert!(
        !log.contains("dead-letter"),
        "nothing dead-lettered:\n{log}"
    );
    assert_within_memory_budget(&worker);
}
