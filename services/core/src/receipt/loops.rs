//! Never answering what must not be answered: auto-replies, bounces, list
//! mail and no-reply senders (RFC 3834 section 2). Answering them starts
//! mail loops or sends receipts to addresses nobody reads.

use crate::events::MailSignals;

/// Why a message gets no automatic receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoReceipt {
    /// `Auto-Submitted` other than `no`: an auto-reply or auto-generated.
    AutoSubmitted(String),
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence(String),
    /// Mailing-list traffic (`List-Id`).
    ListMail,
    /// Empty return path, or a mailer daemon or postmaster: a bounce.
    Bounce,
    /// An address that says it takes no replies.
    NoReplySender,
    /// No address to answer.
    NoAddress,
}

impl NoReceipt {
    /// A short reason for the receipt's record and the operators.
    pub fn reason(&self) -> String {
        match self {
            NoReceipt::AutoSubmitted(value) => format!("auto-submitted ({value})"),
            NoReceipt::Precedence(value) => format!("precedence {value}"),
            NoReceipt::ListMail => "list mail".to_owned(),
            NoReceipt::Bounce => "bounce".to_owned(),
            NoReceipt::NoReplySender => "no-reply sender".to_owned(),
            NoReceipt::NoAddress => "no address".to_owned(),
        }
    }
}

/// Whether an e-mail (with these header facts, from `address`) must not
/// get an automatic receipt, and why.
pub fn no_receipt(signals: &MailSignals, address: &str) -> Option<NoReceipt> {
    if let Some(value) = &signals.auto_submitted {
        let value = value.trim().to_ascii_lowercase();
        // Parameters may follow: "auto-replied; owner-email=...".
        let keyword = value.split(';').next().unwrap_or_default().trim();
        if keyword != "no" {
            return Some(NoReceipt::AutoSubmitted(keyword.to_owned()));
        }
    }
    if let Some(value) = &signals.precedence {
        let value = value.trim().to_ascii_lowercase();
        if matches!(value.as_str(), "bulk" | "junk" | "list") {
            return Some(NoReceipt::Precedence(value));
        }
    }
    if signals.has_list_id {
        return Some(NoReceipt::ListMail);
    }
    if signals.empty_return_path {
        return Some(NoReceipt::Bounce);
    }
    let address = address.trim().to_ascii_lowercase();
    let Some((local, _)) = address.rsplit_once('@') else {
        return Some(NoReceipt::NoAddress);
    };
    let local = local.split('+').next().unwrap_or_default();
    if matches!(local, "mailer-daemon" | "postmaster") {
        return Some(NoReceipt::Bounce);
    }
    let squashed: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if squashed.starts_with("noreply") || squashed.starts_with("donotreply") {
        return Some(NoReceipt::NoReplySender);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals() -> MailSignals {
        MailSignals::default()
    }

    #[test]
    fn an_ordinary_message_is_answered() {
        assert_eq!(no_receipt(&signals(), "matti@example.org"), None);
        let explicit_no = MailSignals {
            auto_submitted: Some("No".into()),
            ..signals()
        };
        assert_eq!(no_receipt(&explicit_no, "matti@example.org"), None);
    }

    #[test]
    fn auto_replies_are_never_answered() {
        for value in [
            "auto-replied",
            "auto-generated",
            "auto-notified; owner-email=x@y",
            "Auto-Replied",
        ] {
            let s = MailSignals {
                auto_submitted: Some(value.into()),
                ..signals()
            };
            assert!(
                matches!(no_receipt(&s, "a@b.fi"), Some(NoReceipt::AutoSubmitted(_))),
                "{value}"
            );
        }
    }

    #[test]
    fn bulk_junk_and_list_precedence_and_list_ids() {
        for value in ["bulk", "junk", "list", " Bulk "] {
            let s = MailSignals {
                precedence: Some(value.into()),
                ..signals()
            };
            assert!(matches!(
                no_receipt(&s, "a@b.fi"),
                Some(NoReceipt::Precedence(_))
            ));
        }
        let normal = MailSignals {
            precedence: Some("first-class".into()),
            ..signals()
        };
        assert_eq!(no_receipt(&normal, "a@b.fi"), None);
        let list = MailSignals {
            has_list_id: true,
            ..signals()
        };
        assert_eq!(no_receipt(&list, "a@b.fi"), Some(NoReceipt::ListMail));
    }

    #[test]
    fn bounces_by_return_path_or_daemon_address() {
        let empty = MailSignals {
            empty_return_path: true,
            ..signals()
        };
        assert_eq!(
            no_receipt(&empty, "matti@example.org"),
            Some(NoReceipt::Bounce)
        );
        for address in [
            "MAILER-DAEMON@mail.example.org",
            "postmaster@example.org",
            "postmaster+x@example.org",
        ] {
            assert_eq!(
                no_receipt(&signals(), address),
                Some(NoReceipt::Bounce),
                "{address}"
            );
        }
    }

    #[test]
    fn no_reply_senders_in_their_usual_spellings() {
        for address in [
            "noreply@bank.fi",
            "no-reply@bank.fi",
            "do_not_reply@x.org",
            "DoNotReply@x.org",
            "no.reply+abc@x.org",
        ] {
            assert_eq!(
                no_receipt(&signals(), address),
                Some(NoReceipt::NoReplySender),
                "{address}"
            );
        }
        assert_eq!(no_receipt(&signals(), "nora@example.org"), None);
    }

    #[test]
    fn no_address_no_receipt() {
        assert_eq!(no_receipt(&signals(), ""), Some(NoReceipt::NoAddress));
    }
}
