//! `make bench`: the inbox's release binary with 100,000 supplements in its
//! database. Reports p50/p95 of the queue page (first page, deep pages,
//! a filter), of opening a supplement and of "take next", and the inbox's
//! peak resident memory while a 400 MB file downloads. Writes
//! `target/bench/inbox.json`. Measured, not asserted.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use intake_adapters::sealing::{Digest, Recipients, seal_stream};
use intake_tests::free_port;
use intake_tests::inbox::TestInbox;
use intake_tests::{Stack, oidc, peak_rss_kib};
use tokio_util::io::StreamReader;

const SUPPLEMENTS: i64 = 100_000;
const APPLICATIONS: i64 = 10_000;
const SAMPLES: usize = 60;
const DOWNLOAD_MB: usize = 400;

const UNITS: [&str; 4] = [
    "residence-permits-helsinki",
    "residence-permits-tampere",
    "family-ties-turku",
    "work-permits-oulu",
];

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

async fn seed(inbox: &TestInbox) {
    let pool = &inbox.db.pool;
    sqlx::query(
        "insert into applications (application_id, customer_number, status, unit, confidential,
             language, contact_addresses, version, updated_at, assigned_caseworker)
         select 'MIG-2026-' || lpad(g::text, 6, '0') || '-1', '10000000-1', 'pending',
                ($1::text[])[1 + g % 4], g % 10 = 0, 'fi', '{}', 1, now(),
                case when g % 2 = 0 then 'aino' else 'mikko' end
         from generate_series(1, $2) g",
    )
    .bind(UNITS.map(str::to_owned).to_vec())
    .bind(APPLICATIONS)
    .execute(pool)
    .await
    .expect("applications");
    sqlx::query(
        "insert into supplements (supplement_id, event_id, channel, transport, sender, arrived_at,
             language, outcome, application_id, sequence, unit, confidential, flags,
             receipt_reference)
         select gen_random_uuid(), gen_random_uuid(),
                case when g % 3 = 0 then 'enter_finland' else 'securemail' end, 'securemail',
                'applicant' || g || '@example.org', now() - make_interval(secs => $1 - g),
                'fi', 'routed', a.application_id, 1 + (g - 1) / $2, a.unit, a.confidential,
                case when g % 7 = 0 then '[{\"kind\": \"possible_resend\", \"original_supplement_id\": \"00000000-0000-0000-0000-000000000000\"}]'::jsonb
                     else '[]'::jsonb end,
                'R-' || g
         from generate_series(1, $1) g
         join applications a on a.application_id = 'MIG-2026-' || lpad((1 + (g - 1) % $2)::text, 6, '0') || '-1'",
    )
    .bind(SUPPLEMENTS)
    .bind(APPLICATIONS)
    .execute(pool)
    .await
    .expect("supplements");
    sqlx::query("analyze").execute(pool).await.expect("analyze");
}

async fn timed(
    samples: usize,
    mut request: impl FnMut(usize) -> reqwest::RequestBuilder,
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let started = Instant::now();
        let response = request(i).send().await.expect("inbox answers");
        assert!(
            response.status().is_success() || response.status().as_u16() == 204,
            "{}",
            response.status()
        );
        let _ = response.bytes().await.expect("body");
        out.push(started.elapsed());
    }
    out
}

async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("page")
        .json()
        .await
        .expect("json")
}

/// 400 MB sealed into S3 as the worker would, streamed from a generator.
async fn seal_large(inbox: &TestInbox, stack: &Stack, key: &str) -> Digest {
    let recipients =
        Recipients::parse(&[stack.get("INTAKE_GATEWAY__RECIPIENTS")]).expect("recipients");
    let digest = std::sync::Arc::new(std::sync::Mutex::new(None));
    let chunk = Bytes::from(vec![0x5au8; 1024 * 1024]);
    let plain = futures::stream::iter(
        (0..DOWNLOAD_MB).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let sealed = seal_stream(plain, &recipients, u64::MAX, digest.clone());
    inbox
        .store
        .put_stream(&inbox.bucket, key, StreamReader::new(Box::pin(sealed)))
        .await
        .expect("store");
    digest.lock().expect("digest").take().expect("sealed")
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let stack = Stack::new();
        let inbox = TestInbox::start_profile(&stack, free_port(), "release").await;
        let started = Instant::now();
        seed(&inbox).await;
        println!("seeded {SUPPLEMENTS} supplements in {:.1} s", started.elapsed().as_secs_f64());
        let token = oidc::sign_in(&stack, "mikko").await.access_token;
        let client = inbox.client();
        let api = format!("{}/api/v1", inbox.url);
        let unit = UNITS[0];

        let mut first = timed(SAMPLES, |_| client.get(format!("{api}/queue?unit={unit}")).bearer_auth(&token)).await;
        // Deep pages: walk forward with the cursor, 50 a page.
        let mut cursors = Vec::new();
        let mut after = String::new();
        for _ in 0..SAMPLES {
            let page: serde_json::Value = get_json(&client, &format!("{api}/queue?unit={unit}{after}"), &token).await;
            let next = page["next"].as_str().expect("25,000 in the unit: another page").to_owned();
            after = format!("&after={next}");
            cursors.push(next);
        }
        let mut deep = timed(SAMPLES, |i| {
            client.get(format!("{api}/queue?unit={unit}&after={}", cursors[i])).bearer_auth(&token)
        })
        .await;
        let mut filtered = timed(SAMPLES, |_| {
            client.get(format!("{api}/queue?unit={unit}&flag=possible_resend&handled=false")).bearer_auth(&token)
        })
        .await;
        let ids: Vec<String> = {
            let page: serde_json::Value = get_json(&client, &format!("{api}/queue?unit={unit}&limit=200"), &token).await;
            page["entries"].as_array().expect("entries").iter()
                .filter(|e| e["readable"] == true)
                .map(|e| e["supplement_id"].as_str().expect("id").to_owned())
                .collect()
        };
        let mut detail = timed(SAMPLES, |i| {
            client.get(format!("{api}/supplements/{}", ids[i % ids.len()])).bearer_auth(&token)
        })
        .await;
        let mut take = timed(SAMPLES, |_| {
            client
                .post(format!("{api}/queue/take-next"))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "unit": unit }))
        })
        .await;

        // A 400 MB file on the first readable supplement.
        let supplement: uuid::Uuid = ids[0].parse().expect("uuid");
        let key = format!("supplements/{supplement}/large.age");
        let digest = seal_large(&inbox, &stack, &key).await;
        let attachment = uuid::Uuid::new_v4();
        sqlx::query(
            "insert into attachments (attachment_id, supplement_id, ordinal, filename, size, sha256,
                 bucket, object_key, verdict, scanned_at)
             values ($1, $2, 0, 'large.bin', $3, $4, $5, $6, 'clean', now())",
        )
        .bind(attachment)
        .bind(supplement)
        .bind(i64::try_from(digest.size).expect("size"))
        .bind(&digest.sha256)
        .bind(&inbox.bucket)
        .bind(&key)
        .execute(&inbox.db.pool)
        .await
        .expect("attachment");
        let pid = inbox.process.pid().expect("inbox pid");
        let rss_before = peak_rss_kib(pid);
        let started = Instant::now();
        let mut body = client
            .get(format!("{api}/files/{attachment}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("download")
            .bytes_stream();
        let mut received = 0usize;
        while let Some(chunk) = body.next().await {
            received += chunk.expect("chunk").len();
        }
        let seconds = started.elapsed().as_secs_f64();
        let rss_after = peak_rss_kib(pid);
        assert_eq!(received as u64, digest.size, "the whole file arrived");

        let figures = serde_json::json!({
            "supplements": SUPPLEMENTS,
            "unit_share": "1/4",
            "samples": SAMPLES,
            "queue_first_page_ms": { "p50": percentile(&mut first, 0.5), "p95": percentile(&mut first, 0.95) },
            "queue_deep_page_ms": { "p50": percentile(&mut deep, 0.5), "p95": percentile(&mut deep, 0.95) },
            "queue_filtered_ms": { "p50": percentile(&mut filtered, 0.5), "p95": percentile(&mut filtered, 0.95) },
            "open_supplement_ms": { "p50": percentile(&mut detail, 0.5), "p95": percentile(&mut detail, 0.95) },
            "take_next_ms": { "p50": percentile(&mut take, 0.5), "p95": percentile(&mut take, 0.95) },
            "download_mb": DOWNLOAD_MB,
            "download_seconds": seconds,
            "download_mb_per_s": DOWNLOAD_MB as f64 / seconds,
            "inbox_peak_rss_mib_before_download": rss_before / 1024,
            "inbox_peak_rss_mib_after_download": rss_after / 1024,
        });
        let dir = stack.repo_dir().join("target/bench");
        std::fs::create_dir_all(&dir).expect("bench dir");
        std::fs::write(dir.join("inbox.json"), serde_json::to_string_pretty(&figures).expect("json"))
            .expect("write figures");
        println!("{}", serde_json::to_string_pretty(&figures).expect("json"));
    });
}
