//! Whether a receipt request becomes a receipt to send or a suppressed
//! record, decided once, when the request is first stored: loop rules,
//! the suppression list, then the per-sender rate limit (which holds a
//! receipt to be combined with others, never drops it). Enter Finland
//! notifications go to an authenticated applicant's own e-service inbox,
//! so only e-mail is limited and listed.

use crate::events::{ReceiptRecipient, ReceiptRequested};

use super::no_receipt;

/// What the store knows about an e-mail recipient when the request arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientHistory {
    /// The suppression list's reason, if the address is on it.
    pub listed: Option<String>,
    /// Receipts admitted for sending to this address within the window.
    pub recent: u32,
    /// Receipts held for this address, waiting to be combined.
    pub held: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_window: u32,
    pub window: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Send,
    Suppress(String),
    /// Over the rate limit: held, and sent combined with the others held
    /// for the address once the limit allows one more mail.
    Hold(String),
}

/// The address receipts to `recipient` are counted and listed under.
pub fn recipient_key(recipient: &ReceiptRecipient) -> String {
    match recipient {
        ReceiptRecipient::Email { address } => address.trim().to_ascii_lowercase(),
        ReceiptRecipient::EnterFinland { customer_number } => customer_number.to_string(),
    }
}

pub fn admit(
    request: &ReceiptRequested,
    history: &RecipientHistory,
    limit: RateLimit,
) -> Admission {
    let ReceiptRecipient::Email { address } = &request.recipient else {
        return Admission::Send;
    };
    let signals = request.mail.clone().unwrap_or_default();
    if let Some(why) = no_receipt(&signals, address) {
        return Admission::Suppress(why.reason());
    }
    if let Some(reason) = &history.listed {
        return Admission::Suppress(format!("on the suppression list ({reason})"));
    }
    // A limit of zero turns e-mail receipts off: nothing could ever be
    // released, so nothing is held.
    if limit.per_window == 0 {
        return Admission::Suppress(format!(
            "rate limit: 0 receipts to this address within {}",
            humanize(limit.window)
        ));
    }
    // Behind receipts already held, never ahead of them: a steady sender at
    // the limit must not starve what is held.
    if history.held > 0 || !super::within_rate(history.recent, limit.per_window) {
        return Admission::Hold(format!(
            "rate limit: {} receipts to this address within {}; held to be combined",
            limit.per_window,
            humanize(limit.window)
        ));
    }
    Admission::Send
}

fn humanize(window: std::time::Duration) -> String {
    let secs = window.as_secs();
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::events::{Channel, MailSignals, ReceiptOutcome};
    use crate::ids::CustomerNumber;

    const LIMIT: RateLimit = RateLimit {
        per_window: 10,
        window: Duration::from_secs(3600),
    };

    fn mail(address: &str, signals: MailSignals) -> ReceiptRequested {
        ReceiptRequested {
            receipt_id: Uuid::from_u128(1),
            supplement_id: Uuid::from_u128(2),
            reference: "R-00000-00000".into(),
            channel: Channel::Securemail,
            transport: None,
            recipient: ReceiptRecipient::Email {
                address: address.into(),
            },
            language: None,
            arrived_at: Utc::now(),
            application_id: None,
            outcome: ReceiptOutcome::Received,
            message_refused: None,
            files: vec![],
            mail: Some(signals),
        }
    }

    fn e_service() -> ReceiptRequested {
        let mut request = mail("x@example.org", MailSignals::default());
        request.channel = Channel::EnterFinland;
        request.recipient = ReceiptRecipient::EnterFinland {
            customer_number: CustomerNumber::parse("12345678-6").expect("valid customer number"),
        };
        request.mail = None;
        request
    }

    fn recent(n: u32) -> RecipientHistory {
        RecipientHistory {
            listed: None,
            recent: n,
            held: 0,
        }
    }

    #[test]
    fn a_new_receipt_waits_behind_those_already_held() {
        let request = mail("anna@example.org", MailSignals::default());
        let history = RecipientHistory {
            held: 1,
            ..recent(0)
        };
        assert!(matches!(
            admit(&request, &history, LIMIT),
            Admission::Hold(_)
        ));
    }

    #[test]
    fn an_ordinary_mail_is_answered_until_the_limit() {
        let request = mail("Anna@Example.org", MailSignals::default());
        assert_eq!(admit(&request, &recent(0), LIMIT), Admission::Send);
        assert_eq!(admit(&request, &recent(9), LIMIT), Admission::Send);
        let Admission::Hold(why) = admit(&request, &recent(10), LIMIT) else {
            panic!("the eleventh within the hour must be held, not dropped");
        };
        assert_eq!(
            why,
            "rate limit: 10 receipts to this address within 1 h; held to be combined"
        );
    }

    #[test]
    fn loop_rules_come_before_the_list_and_the_limit() {
        let auto = MailSignals {
            auto_submitted: Some("auto-replied".into()),
            ..MailSignals::default()
        };
        let history = RecipientHistory {
            listed: Some("complaint".into()),
            recent: 99,
            held: 5,
        };
        assert_eq!(
            admit(&mail("a@example.org", auto), &history, LIMIT),
            Admission::Suppress("auto-submitted (auto-replied)".into())
        );
    }

    #[test]
    fn a_listed_address_gets_nothing() {
        let history = RecipientHistory {
            listed: Some("asked not to be mailed".into()),
            recent: 0,
            held: 0,
        };
        assert_eq!(
            admit(
                &mail("a@example.org", MailSignals::default()),
                &history,
                LIMIT
            ),
            Admission::Suppress("on the suppression list (asked not to be mailed)".into())
        );
    }

    #[test]
    fn e_service_notifications_are_neither_listed_nor_limited() {
        let history = RecipientHistory {
            listed: Some("x".into()),
            recent: 1000,
            held: 1000,
        };
        assert_eq!(admit(&e_service(), &history, LIMIT), Admission::Send);
    }

    #[test]
    fn addresses_are_counted_case_insensitively() {
        assert_eq!(
            recipient_key(&ReceiptRecipient::Email {
                address: " Anna@Example.ORG ".into()
            }),
            "anna@example.org"
        );
        assert_eq!(recipient_key(&e_service().recipient), "12345678-6");
    }

    #[test]
    fn a_zero_limit_suppresses_every_mail() {
        let limit = RateLimit {
            per_window: 0,
            window: Duration::from_secs(90),
        };
        assert_eq!(
            admit(
                &mail("a@example.org", MailSignals::default()),
                &recent(0),
                limit
            ),
            Admission::Suppress("rate limit: 0 receipts to this address within 90 s".into())
        );
    }
}
