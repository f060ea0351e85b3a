//! The real SMTP server: a message sent through lettre arrives and is read
//! back byte for byte with its envelope.

use std::time::Duration;

use intake_adapters::smtp;
use intake_tests::{Stack, unique};
use lettre::message::header::ContentType;
use lettre::{AsyncTransport, Message};

#[tokio::test]
async fn a_mail_is_delivered_and_read_back() {
    let stack = Stack::new();
    let transport = smtp::transport(&stack.smtp()).expect("transport");
    let marker = unique("smoke");
    let message = Message::builder()
        .from("no-reply@intake.invalid".parse().expect("address"))
        .to("applicant@example.org".parse().expect("address"))
        .subject(format!("Vastaanottokuittaus {marker}"))
        .header(ContentType::TEXT_PLAIN)
        .body("Kiitos. Tack. Thank you: äöå".to_owned())
        .expect("message");
    transport
        .send(message)
        .await
        .expect("SMTP accepts the message");

    let found = stack
        .mailbox()
        .wait_for(Duration::from_secs(10), |mail| {
            mail.text().contains(&marker)
        })
        .await;
    assert_eq!(found.len(), 1, "exactly one copy arrives");
    let mail = &found[0];
    assert_eq!(mail.mail_from, "no-reply@intake.invalid");
    assert_eq!(mail.rcpt_tos, ["applicant@example.org"]);
    assert!(mail.text().contains("Subject: "));
}
