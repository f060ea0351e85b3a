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
    /// Our mail server found the sender forged (DMARC failed): a receipt
    /// would go to someone who never wrote (backscatter).
    ForgedSender,
}

impl NoReceipt {
    /// Mail no person wrote (auto-replies, bounces, lists): kept out of the
    /// caseworkers' queues as well as unanswered. No-reply senders and
    /// missing addresses are people's mail that cannot be answered.
    pub fn is_automatic(&self) -> bool {
        matches!(
            self,
            NoReceipt::AutoSubmitted(_)
                | NoReceipt::Precedence(_)
                | NoReceipt::ListMail
                | NoReceipt::Bounce
        )
    }

    /// The kind recorded on a triaged automatic message.
    pub fn kind(&self) -> &'static str {
        match self {
            NoReceipt::AutoSubmitted(_) => "auto_reply",
            NoReceipt::Precedence(_) | NoReceipt::ListMail => "list_mail",
            NoReceipt::Bounce => "bounce",
            NoReceipt::NoReplySender => "no_reply_sender",
            NoReceipt::NoAddress => "no_address",
            NoReceipt::ForgedSender => "forged_sender",
        }
    }

    /// A short reason for the receipt's record and the operators.
    pub fn reason(&self) -> String {
        match self {
            NoReceipt::AutoSubmitted(value) => format!("auto-submitted ({value})"),
            NoReceipt::Precedence(value) => format!("precedence {value}"),
            NoReceipt::ListMail => "list mail".to_owned(),
            NoReceipt::Bounce => "bounce".to_owned(),
            NoReceipt::NoReplySender => "no-reply sender".to_owned(),
            NoReceipt::NoAddress => "no address".to_owned(),
            NoReceipt::ForgedSender => "forged sender (DMARC failed)".to_owned(),
        }
    }
}

/// Whether an e-mail (with these header facts, from `address`) must not
/// get an automatic receipt, and why.
pub fn no_receipt(signals: &MailSignals, address: &str) -> Option<NoReceipt> {
    if signals
        .dmarc
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case("fail"))
    {
        return Some(NoReceipt::ForgedSender);
    }
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

/// DMARC's result from the `Authentication-Results` fields (RFC 8601) of
/// a message, trusting only those our own receiving server wrote: the
/// first field whose authserv-id is `authserv_id`. A sender can write any
/// such field into its own message, under any name.
pub fn dmarc_result(fields: &[String], authserv_id: &str) -> Option<String> {
    let field = fields.iter().find(|f| {
        f.split(';')
            .next()
            .and_then(|id| id.split_whitespace().next())
            .is_some_and(|id| id.eq_ignore_ascii_case(authserv_id))
    })?;
    field.split(';').skip(1).find_map(|method| {
        let method = method.trim();
        let (name, rest) = method.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("dmarc") {
            return None;
        }
        let result: String = rest
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        (!result.is_empty()).then(|| result.to_ascii_lowercase())
    })
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

    #[test]
    fn dmarc_is_read_only_from_our_own_server() {
        let ours = "mx.migri.fi; spf=fail smtp.mailfrom=x.example; dkim=none; dmarc=fail (p=reject) header.from=bank.example".to_owned();
        let forged = "mx.migri.fi; dmarc=pass header.from=bank.example".to_owned();
        let theirs = "mail.attacker.example; dmarc=pass".to_owned();
        assert_eq!(
            dmarc_result(&[theirs.clone(), ours.clone()], "mx.migri.fi").as_deref(),
            Some("fail")
        );
        // The first of ours counts; what a sender wrote further down does not.
        assert_eq!(
            dmarc_result(&[ours, forged], "mx.migri.fi").as_deref(),
            Some("fail")
        );
        assert_eq!(dmarc_result(&[theirs], "mx.migri.fi"), None);
        assert_eq!(
            dmarc_result(&["mx.migri.fi 1; dmarc=pass".to_owned()], "MX.MIGRI.FI").as_deref(),
            Some("pass")
        );
        assert_eq!(
            dmarc_result(&["mx.migri.fi; spf=pass".to_owned()], "mx.migri.fi"),
            None
        );
    }

    #[test]
    fn a_forged_sender_gets_no_receipt() {
        let signals = MailSignals {
            dmarc: Some("fail".into()),
            ..MailSignals::default()
        };
        assert_eq!(
            no_receipt(&signals, "a@bank.example"),
            Some(NoReceipt::ForgedSender)
        );
        let passed = MailSignals {
            dmarc: Some("pass".into()),
            ..MailSignals::default()
        };
        assert_eq!(no_receipt(&passed, "a@bank.example"), None);
    }
}
