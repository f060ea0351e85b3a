//! A bounce of one of our own receipts (a delivery status notification,
//! RFC 3464) marks that receipt's delivery as failed. The report is the
//! sender's bytes like any other mail: it can only mark a receipt whose
//! Message-ID it quotes (unguessable) and whose recipient it names.

use crate::decide::clean_text;

/// What a delivery report says, as read from the mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Message-IDs of the returned message (its enclosed headers).
    pub enclosed_message_ids: Vec<String>,
    /// One entry per recipient block of `message/delivery-status`.
    pub recipients: Vec<RecipientStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientStatus {
    /// `Final-Recipient` (else `Original-Recipient`), without its type.
    pub recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// The most a report is read for: enough for any real one.
pub const MAX_ENCLOSED_IDS: usize = 4;
pub const MAX_RECIPIENTS: usize = 16;
const MAX_REASON_BYTES: usize = 300;

/// A delivery that failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    pub message_ids: Vec<String>,
    /// Lower-case addresses the delivery failed for.
    pub recipients: Vec<String>,
    /// Status and diagnostic, for operators.
    pub reason: String,
}

/// The permanent failure a report describes, if any (a delay or a relay
/// notice is not one).
pub fn failed_delivery(report: &DeliveryReport) -> Option<FailedDelivery> {
    let failed: Vec<&RecipientStatus> = report
        .recipients
        .iter()
        .take(MAX_RECIPIENTS)
        .filter(|r| {
            r.action
                .as_deref()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case("failed"))
        })
        .collect();
    let message_ids: Vec<String> = report
        .enclosed_message_ids
        .iter()
        .take(MAX_ENCLOSED_IDS)
        .map(|m| clean_text(m, 998))
        .filter(|m| !m.is_empty())
        .collect();
    if failed.is_empty() || message_ids.is_empty() {
        return None;
    }
    let recipients = failed
        .iter()
        .filter_map(|r| r.recipient.as_deref())
        .map(|r| {
            let address = r.rsplit_once(';').map_or(r, |(_, a)| a);
            clean_text(address, 320)
                .trim_matches(['<', '>'])
                .to_lowercase()
        })
        .filter(|a| !a.is_empty())
        .collect();
    let first = failed[0];
    let reason = [first.status.as_deref(), first.diagnostic.as_deref()]
        .into_iter()
        .flatten()
        .map(|s| clean_text(s, MAX_REASON_BYTES))
        .collect::<Vec<_>>()
        .join(" ");
    Some(FailedDelivery {
        message_ids,
        recipients,
        // The diagnostic is the report's bytes: addresses in it are masked.
        reason: format!(
            "bounced: {}",
            super::mask_addresses(&clean_text(&reason, MAX_REASON_BYTES))
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(action: &str) -> DeliveryReport {
        DeliveryReport {
            enclosed_message_ids: vec!["<receipt.abc@agency.example>".into()],
            recipients: vec![RecipientStatus {
                recipient: Some("rfc822; Anna@Example.FI".into()),
                action: Some(action.into()),
                status: Some("5.1.1".into()),
                diagnostic: Some("smtp; 550 5.1.1 <anna@example.fi>: no such user\u{202E}".into()),
            }],
        }
    }

    #[test]
    fn a_permanent_failure_names_the_message_recipient_and_reason() {
        let failed = failed_delivery(&report("failed")).expect("failed");
        assert_eq!(failed.message_ids, vec!["<receipt.abc@agency.example>"]);
        assert_eq!(failed.recipients, vec!["anna@example.fi"]);
        assert!(
            failed.reason.starts_with("bounced: 5.1.1 smtp; 550 5.1.1"),
            "{}",
            failed.reason
        );
        assert!(
            !failed.reason.contains("anna@example.fi"),
            "addresses masked"
        );
        assert!(!failed.reason.contains('\u{202E}'));
    }

    #[test]
    fn delays_and_relays_are_not_failures() {
        for action in ["delayed", "relayed", "delivered", "expanded", ""] {
            assert_eq!(failed_delivery(&report(action)), None, "{action}");
        }
    }

    #[test]
    fn a_report_without_the_returned_message_marks_nothing() {
        let mut r = report("failed");
        r.enclosed_message_ids.clear();
        assert_eq!(failed_delivery(&r), None);
    }

    #[test]
    fn hostile_reports_are_capped() {
        let mut r = report("failed");
        r.recipients[0].diagnostic = Some("x".repeat(100_000));
        r.enclosed_message_ids = vec!["<a@b>".into(); 1000];
        let failed = failed_delivery(&r).expect("failed");
        assert!(failed.reason.len() <= MAX_REASON_BYTES + 10);
        assert_eq!(failed.message_ids.len(), MAX_ENCLOSED_IDS);
    }
}
