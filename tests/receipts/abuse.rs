//! Loop and abuse protection on the real service: auto-replies, bounces,
//! list mail, no-reply and listed senders get nothing, and the per-sender
//! rate limit holds; ordinary mail beside them is answered.

use std::time::Duration;

use intake_core::events::{Language, MailSignals, ReceiptRequested};
use intake_tests::receipts::wait_until_settled;

use crate::support::{Alone, by_message_id, check_mail, email_request, message_id};

fn with_signals(n: u32, address: &str, signals: MailSignals) -> ReceiptRequested {
    let mut request = email_request(n, address, Some(Language::En));
    request.mail = Some(signals);
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_bounces_lists_and_listed_senders_get_nothing_and_the_rate_limit_holds() {
    let alone = Alone::new(None, &[]).await;
    sqlx::query(
        "insert into receipt_suppressions (address, reason) values ($1, 'asked not to be mailed')",
    )
    .bind("listed@example.org")
    .execute(&alone.db.pool)
    .await
    .expect("list an address");
    let _receipts = alone
        // A short window, so held receipts are released within the test.
        .receipts(&[
            ("INTAKE_RECEIPTS__RATE_LIMIT", "10"),
            ("INTAKE_RECEIPTS__RATE_WINDOW", "15s"),
        ])
        .await;

    let signals = |f: fn(&mut MailSignals)| {
        let mut s = MailSignals::default();
        f(&mut s);
        s
    };
    let silent = vec![
        with_signals(
            1,
            "away@example.org",
            signals(|s| s.auto_submitted = Some("auto-replied".into())),
        ),
        with_signals(
            2,
            "robot@example.org",
            signals(|s| s.auto_submitted = Some("auto-generated; x=1".into())),
        ),
        with_signals(
            3,
            "news@example.org",
            signals(|s| s.precedence = Some("bulk".into())),
        ),
        with_signals(
            4,
            "list@example.org",
            signals(|s| s.precedence = Some("list".into())),
        ),
        with_signals(5, "members@example.org", signals(|s| s.has_list_id = true)),
        with_signals(
            6,
            "someone@example.org",
            signals(|s| s.empty_return_path = true),
        ),
        with_signals(7, "MAILER-DAEMON@example.org", MailSignals::default()),
        with_signals(8, "postmaster@example.org", MailSignals::default()),
        with_signals(9, "no-reply@example.org", MailSignals::default()),
        with_signals(10, "listed@example.org", MailSignals::default()),
    ];
    // "Auto-Submitted: no" is a person writing: answered.
    let answered = vec![with_signals(
        11,
        "person@example.org",
        signals(|s| s.auto_submitted = Some("no".into())),
    )];
    // Thirteen from one sender (in mixed case): ten are answered at once,
    // the other three are held and answered by one combined receipt once
    // the window allows. Which ten depends on the order the partitions are
    // read in.
    let flood: Vec<ReceiptRequested> = (0..13)
        .map(|i| {
            email_request(
                100 + i,
                if i % 2 == 0 {
                    "flood@example.org"
                } else {
                    "Flood@Example.org"
                },
                Some(Language::Fi),
            )
        })
        .collect();

    alone.send(&silent).await;
    alone.send(&flood).await;
    alone.send(&answered[..1]).await;
    let total = (silent.len() + flood.len() + 1) as i64;
    wait_until_settled(&alone.db.pool, total, Duration::from_secs(60)).await;

    let mails = by_message_id(alone.smtp.mailbox.find(|_| true));
    for request in &silent {
        let (state, reason, attempts) = alone.state(request).await;
        assert_eq!(state, "suppressed", "{:?}", request.recipient);
        assert!(reason.is_some_and(|r| !r.is_empty()));
        assert_eq!(attempts, 0, "nothing was even tried");
        assert!(!mails.contains_key(&message_id(request)));
    }
    for request in &answered {
        let copies = &mails[&message_id(request)];
        assert_eq!(copies.len(), 1);
        check_mail(&copies[0], request);
    }
    let mut rows = Vec::new();
    for request in &flood {
        let (state, reason, _) = alone.state(request).await;
        let (into,): (Option<uuid::Uuid>,) =
            sqlx::query_as("select combined_into from receipts where receipt_id = $1")
                .bind(request.receipt_id)
                .fetch_one(&alone.db.pool)
                .await
                .expect("receipt");
        rows.push((request, state, reason, into));
    }
    let carriers: std::collections::BTreeSet<uuid::Uuid> =
        rows.iter().filter_map(|(_, _, _, into)| *into).collect();
    assert_eq!(
        carriers.len(),
        1,
        "the held ones are answered once, together"
    );
    let carrier = rows
        .iter()
        .find(|(r, ..)| carriers.contains(&r.receipt_id))
        .expect("the carrier is one of the flood")
        .0;
    let mut flood_alone = 0;
    let mut combined = Vec::new();
    for (request, state, reason, into) in &rows {
        match (state.as_str(), into) {
            ("combined", Some(_)) => {
                combined.push(*request);
                assert!(!mails.contains_key(&message_id(request)));
            }
            ("sent", None) => {
                if request.receipt_id != carrier.receipt_id {
                    flood_alone += 1;
                }
                let copies = &mails[&message_id(request)];
                assert_eq!(copies.len(), 1);
                check_mail(&copies[0], request);
            }
            other => panic!("a flood receipt ended {other:?} ({reason:?})"),
        }
    }
    assert_eq!(flood_alone, 10, "ten within the window are answered alone");
    assert_eq!(combined.len(), 2);
    let parsed = mailparse::parse_mail(&mails[&message_id(carrier)][0].raw).expect("parses");
    let text = std::iter::once(&parsed)
        .chain(parsed.subparts.iter())
        .filter_map(|p| p.get_body().ok())
        .collect::<Vec<_>>()
        .join("\n");
    for request in &combined {
        assert!(
            text.contains(&request.reference),
            "the combined receipt lists {}:\n{text}",
            request.reference
        );
    }
    assert_eq!(mails.len(), answered.len() + 11, "nothing else was mailed");
    let (listed_reason,): (Option<String>,) =
        sqlx::query_as("select reason from receipts where recipient_key = 'listed@example.org'")
            .fetch_one(&alone.db.pool)
            .await
            .expect("listed receipt");
    assert_eq!(
        listed_reason.as_deref(),
        Some("on the suppression list (asked not to be mailed)")
    );
}
