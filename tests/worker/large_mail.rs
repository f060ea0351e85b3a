//! An e-mail whose files are larger than the worker holds for inspection:
//! each is sealed into S3 as the mail streams and scanned from there. The
//! accepted one is delivered from where it was sealed, byte for byte; a
//! refused one is moved to quarantine and its inbound copy removed; a text
//! file is refused, since text is judged by all of it; the worker's peak
//! memory stays within its budget.

use std::time::Duration;

use intake_core::events::Transport;
use intake_generator::plan::Request;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, Limits, MIB, SECUREMAIL_TOKEN, TestGateway};
use intake_tests::worker::TestWorker;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::support::{
    assert_within_memory_budget, base64_of, long_text, memory_budget, publish_registry,
    wait_until_done,
};

type Row = (i32, String, i64, String, String, String, String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_over_the_inspection_budget_stream_through_and_are_judged_from_s3() {
    let stack = Stack::new();
    let limits = Limits {
        max_attachment_bytes: 8 * MIB,
        max_message_bytes: 24 * MIB,
        max_attachments: 10,
    };
    let gateway = TestGateway::start(&stack, limits).await;
    let population = Population::generate(34, 2);
    publish_registry(&gateway, &population).await;
    let record = &population.applications[0];
    let party = record.contact_addresses[0].clone();

    // All three over the worker's 2 MiB inspection budget (`memory_budget`):
    // an image (judged by its head and tail), bytes of no allowed type, and
    // text (told from markup only by all of it, so refused unless held).
    let noise: Vec<u8> = (0..5 * MIB as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let image = [intake_generator::files::png(7, 4, 4), noise.clone()].concat();
    let text = long_text(5 * MIB as usize);
    // And one small enough to be held whole.
    let small = intake_generator::files::png(9, 4, 4);
    let body = format!(
        "Content-Type: multipart/mixed; boundary=\"L\"\r\n\r\n--L\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nLiitteet, hakemus {}.\r\n--L\r\n\
         Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"skannaus.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--L\r\n\
         Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--L\r\n\
         Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"selvitys.txt\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--L\r\n\
         Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"pieni.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--L--\r\n",
        record.application_id,
        base64_of(&image),
        base64_of(&noise),
        base64_of(&text),
        base64_of(&small)
    );
    let raw = format!(
        "From: {party}\r\nTo: supplements@agency.example\r\nSubject: Liitteet\r\nMessage-ID: <{}@example.fi>\r\nMIME-Version: 1.0\r\n{body}",
        Uuid::new_v4()
    );
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let request = Request::Securemail {
        transport: Transport::Securemail,
        sender: party.clone(),
        raw: raw.into_bytes(),
    };
    let sent = send(&reqwest::Client::new(), &gateway.url, &tokens, &request)
        .await
        .expect("send");
    assert_eq!(sent.status, 202);
    let id = sent.supplement_id.expect("id");

    // The mail (21 MiB) is nearly the mail memory budget (24 MiB): read
    // whole, three times its size, it would not fit at all.
    let settings = memory_budget()
        .into_iter()
        .filter(|(name, _)| name != "INTAKE_WORKER__MAX_MAIL_BYTES")
        .chain([(
            "INTAKE_WORKER__MAX_MAIL_BYTES".to_owned(),
            (32 * MIB).to_string(),
        )])
        .collect();
    let worker = TestWorker::start_with(&stack, &gateway, None, "debug", settings).await;
    let pool = &gateway.db.pool;
    wait_until_done(pool, 1, &worker, Duration::from_secs(180)).await;

    let (outcome, reason): (String, Option<serde_json::Value>) = sqlx::query_as(
        "select s.outcome,
                (select payload->'reason' from outbox o
                  where o.topic like '%quarantine.v1'
                    and (o.payload->>'supplement_id')::uuid = s.supplement_id limit 1)
         from supplements s where supplement_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("an outcome");
    assert_eq!(outcome, "routed", "{reason:?}");
    let files: Vec<Row> = sqlx::query_as(
        "select ordinal, filename, size, sha256, bucket, object_key, verdict
         from attachments where supplement_id = $1 order by ordinal",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("attachments");
    assert_eq!(files.len(), 4, "{files:?}");
    // Held or sealed as it streamed, delivered or quarantined: every file
    // is under this analysis's own run, never a key another run shares.
    let run_of = |key: &str| {
        let name = key.rsplit('/').next().expect("a name").to_owned();
        name.split('.').nth(1).expect("a run tag").to_owned()
    };
    let runs: std::collections::BTreeSet<String> = files.iter().map(|f| run_of(&f.5)).collect();
    assert_eq!(runs.len(), 1, "{files:?}");

    let (_, name, size, sha256, bucket, key, verdict) = &files[0];
    assert_eq!((name.as_str(), verdict.as_str()), ("skannaus.png", "clean"));
    assert_eq!(*size as usize, image.len());
    assert_eq!(*sha256, hex::encode(Sha256::digest(&image)));
    assert_eq!(bucket, &gateway.bucket);
    assert!(
        key.starts_with(&format!("supplements/{id}/file-0.")),
        "delivered from where it was sealed while the mail streamed, under its run's key: {key}"
    );
    let stored = gateway.store.size(bucket, key).await.expect("head");
    assert!(
        stored.is_some_and(|s| s > image.len() as u64),
        "sealed whole: {stored:?}"
    );

    let (_, name, size, _, bucket, _, verdict) = &files[1];
    assert_eq!(name, "data.bin");
    assert_ne!(verdict, "clean");
    assert_eq!(*size as usize, noise.len());
    assert_eq!(bucket, &worker.quarantine_bucket, "refused: in quarantine");
    let inbound_copies = format!("supplements/{id}/file-1.");
    let mut removed = false;
    for _ in 0..100 {
        let left = gateway
            .store
            .list(&gateway.bucket, &inbound_copies)
            .await
            .expect("list");
        if left.is_empty() {
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(removed, "the refused file's inbound copy is removed");

    let (_, name, _, _, bucket, _, verdict) = &files[2];
    assert_eq!(name, "selvitys.txt");
    assert_ne!(
        verdict, "clean",
        "text not held whole is not judged by its head"
    );
    assert_eq!(bucket, &worker.quarantine_bucket);

    let (_, name, size, _, bucket, key, verdict) = &files[3];
    assert_eq!((name.as_str(), verdict.as_str()), ("pieni.png", "clean"));
    assert_eq!(*size as usize, small.len());
    assert_eq!(bucket, &gateway.bucket);
    assert!(
        key.starts_with(&format!("supplements/{id}/file-3.")),
        "a held file is stored under its run's key too: {key}"
    );

    assert!(
        !worker.log().contains("dead-letter"),
        "nothing dead-lettered"
    );
    assert_within_memory_budget(&worker);
}
