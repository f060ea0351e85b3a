//! Exactly one receipt per supplement while the receipt service is killed
//! with SIGKILL mid-send and every request is delivered again, twice over
//! (the same records again, and a new consumer group reading from the
//! start). Redelivery never sends anything. A send cut off between the
//! server's acceptance and our record is sent again after its lease as
//! the very same message (same Message-ID, same bytes apart from the
//! signature's timestamp), which the mail store keeps once; the test
//! checks each such repeat rather than assuming it.

use std::time::{Duration, Instant};

use intake_core::events::{Language, ReceiptRecipient, ReceiptRequested};
use intake_tests::receipts::wait_until_settled;

use crate::support::{
    Alone, by_message_id, check_mail, check_notification, email_request, eservice_request,
    message_id, resend_of,
};

const COUNT: u32 = 300;

fn mix() -> Vec<ReceiptRequested> {
    let languages = [
        Some(Language::Fi),
        Some(Language::Sv),
        Some(Language::En),
        None,
    ];
    let mut requests: Vec<ReceiptRequested> = Vec::new();
    for n in 0..COUNT {
        let language = languages[(n % 4) as usize];
        let request = if n % 3 == 0 {
            eservice_request(n, language)
        } else {
            // One address per request: the rate limit is not under test.
            email_request(n, &format!("applicant{n}@example.org"), language)
        };
        // Every fifth answers a resend of the one before.
        let request = match requests.last() {
            Some(previous) if n % 5 == 4 => resend_of(request, previous),
            _ => request,
        };
        requests.push(request);
    }
    requests
}

async fn sent(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_as::<_, (i64,)>("select count(*) from receipts where state = 'sent'")
        .fetch_one(pool)
        .await
        .expect("count")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_receipt_per_supplement_across_sigkill_and_redelivery() {
    let alone = Alone::new(None, &[]).await;
    let mut receipts = alone.receipts(&[]).await;
    let requests = mix();
    alone.send(&requests).await;

    let pool = &alone.db.pool;
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    for threshold in [40, 100, 160, 220] {
        while sent(pool).await < threshold {
            assert!(
                Instant::now() < deadline,
                "receipts stalled below {threshold}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        receipts.process.kill().await;
        kills += 1;
        receipts.process.restart(&alone.stack).await;
    }
    wait_until_settled(pool, i64::from(COUNT), Duration::from_secs(120)).await;

    // Redelivery: every record again, then a new group from the start.
    alone.send(&requests).await;
    let mut second = alone
        .receipts(&[("INTAKE_RECEIPTS__INSTANCE_ID", "second-group-0")])
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let seen_again = |log: String| log.matches("already stored").count();
    while seen_again(receipts.process.log()) + seen_again(second.process.log()) < 3 * COUNT as usize
    {
        assert!(
            Instant::now() < deadline,
            "redelivered requests not all read"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.process.kill().await;
    wait_until_settled(pool, i64::from(COUNT), Duration::from_secs(30)).await;

    let log = receipts.process.log();
    let interrupted: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("was interrupted"))
        .collect();
    let mails = by_message_id(alone.smtp.mailbox.find(|_| true));
    let notifications = alone.eservice.notifications();
    let interrupted_ids: Vec<String> = requests
        .iter()
        .filter(|r| {
            let id = r.receipt_id.to_string();
            interrupted.iter().any(|l| l.contains(&id))
        })
        .map(message_id)
        .collect();
    let repeats = alone.smtp.mailbox.duplicates();
    for (id, same, dkim) in &repeats {
        assert!(
            interrupted_ids.contains(id),
            "{id} sent twice without an interrupted send"
        );
        assert!(same, "{id}: a repeat must be the same message");
        assert_eq!(dkim, "pass");
    }
    let mut covered = std::collections::BTreeSet::new();
    for request in &requests {
        covered.insert((
            request.channel.as_str(),
            request.language.map_or("all", |l| l.as_str()),
            matches!(
                request.outcome,
                intake_core::events::ReceiptOutcome::Received
            ),
        ));
        let (state, reason, _) = alone.state(request).await;
        assert_eq!(state, "sent", "{reason:?}");
        match &request.recipient {
            ReceiptRecipient::Email { .. } => {
                let copies = &mails[&message_id(request)];
                assert_eq!(copies.len(), 1, "one mail");
                check_mail(&copies[0], request);
            }
            ReceiptRecipient::EnterFinland { .. } => {
                let id = request.receipt_id.to_string();
                let stored: Vec<_> = notifications
                    .iter()
                    .filter(|n| n["notification_id"] == id.as_str())
                    .collect();
                assert_eq!(stored.len(), 1, "one notification for {id}");
                check_notification(stored[0], request);
            }
        }
    }
    let emails = requests
        .iter()
        .filter(|r| matches!(r.recipient, ReceiptRecipient::Email { .. }))
        .count();
    assert_eq!(
        mails.len(),
        emails,
        "one distinct message per e-mail receipt"
    );
    assert_eq!(notifications.len(), requests.len() - emails);
    assert_eq!(kills, 4);
    assert_eq!(
        covered.len(),
        2 * 4 * 2,
        "every channel, language and outcome: {covered:?}"
    );
    println!(
        "exactly once: {COUNT} receipts, 4 SIGKILLs, {} interrupted sends, {} of them repeated \
         as the same message and kept once by the mail store, {} e-service replays absorbed by \
         the idempotency key",
        interrupted.len(),
        repeats.len(),
        alone.eservice.replays()
    );
}
