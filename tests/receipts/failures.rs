//! SMTP and the e-service away: receipts wait and are retried with
//! backoff, nothing lost, nothing twice. A permanent refusal (SMTP 5xx, an
//! unknown customer) is recorded as failed with its reason, for
//! operations to see, and not retried.

use std::collections::HashMap;
use std::time::Duration;

use intake_core::events::{Language, ReceiptRecipient};
use intake_tests::receipts::{wait_until_settled, wait_until_stored};

use crate::support::{
    Alone, by_message_id, check_mail, check_notification, email_request, eservice_request,
    message_id,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_are_waited_out_and_permanent_refusals_are_visible() {
    let refused = eservice_request(900, Some(Language::Sv));
    let ReceiptRecipient::EnterFinland { customer_number } = &refused.recipient else {
        unreachable!()
    };
    let mut alone = Alone::new(Some("nowhere.example"), &[customer_number.as_str()]).await;
    alone.smtp.stop().await;
    alone.eservice.stop().await;
    let receipts = alone.receipts(&[]).await;

    let mut good: Vec<_> = (0..10)
        .map(|n| email_request(n, &format!("waiting{n}@example.org"), Some(Language::Fi)))
        .collect();
    good.extend((10..15).map(|n| eservice_request(n, Some(Language::En))));
    let unknown_mailbox = email_request(901, "ghost@nowhere.example", Some(Language::En));
    alone.send(&good).await;
    alone
        .send(&[unknown_mailbox.clone(), refused.clone()])
        .await;

    // Both away: every receipt is tried, none lost, none marked failed.
    wait_until_stored(&alone.db.pool, 17, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for request in good.iter().chain([&unknown_mailbox, &refused]) {
        let (state, reason, attempts) = alone.state(request).await;
        assert!(
            state == "pending" || state == "sending",
            "{state}: {reason:?}"
        );
        if state == "pending" {
            assert!(attempts >= 1, "tried while the servers were away");
            let reason = reason.expect("the last failure is recorded");
            assert!(
                reason.contains("SMTP") || reason.contains("e-service unreachable"),
                "{reason}"
            );
        }
    }
    assert!(alone.smtp.mailbox.find(|_| true).is_empty());
    assert!(alone.eservice.notifications().is_empty());
    assert!(receipts.process.log().contains("it will be retried"));

    alone.smtp.resume().await;
    alone.eservice.resume().await;
    wait_until_settled(&alone.db.pool, 17, Duration::from_secs(60)).await;

    let mails = by_message_id(alone.smtp.mailbox.find(|_| true));
    let notifications: HashMap<String, serde_json::Value> = alone
        .eservice
        .notifications()
        .into_iter()
        .map(|n| (n["notification_id"].as_str().expect("id").to_owned(), n))
        .collect();
    for request in &good {
        let (state, reason, attempts) = alone.state(request).await;
        assert_eq!(state, "sent", "{reason:?}");
        assert!(attempts > 1, "delivered on a retry");
        match &request.recipient {
            ReceiptRecipient::Email { .. } => {
                let copies = &mails[&message_id(request)];
                assert_eq!(copies.len(), 1);
                check_mail(&copies[0], request);
            }
            ReceiptRecipient::EnterFinland { .. } => {
                check_notification(&notifications[&request.receipt_id.to_string()], request);
            }
        }
    }
    assert_eq!(mails.len(), 10);
    assert_eq!(notifications.len(), 5);

    let (state, reason, _) = alone.state(&unknown_mailbox).await;
    assert_eq!(state, "failed");
    let reason = reason.expect("reason");
    assert!(reason.contains("550"), "{reason}");
    let (state, reason, _) = alone.state(&refused).await;
    assert_eq!(state, "failed");
    assert!(reason.expect("reason").contains("404"));
    assert!(receipts.process.log().contains("receipt failed"));
}
