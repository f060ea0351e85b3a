//! A first look at a message from Securemail before it is stored: is it an
//! RFC 5322 message at all, and what is its Message-ID (the channel's own
//! idempotency key)? The body is not read here; the worker unpacks it.

/// How much of a message may precede the end of its header section.
pub const MAX_HEAD_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailHead {
    /// `Message-ID` without surrounding whitespace, if present.
    pub message_id: Option<String>,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailHeadError {
    #[error(
        "the message has no header section ending in a blank line within {MAX_HEAD_BYTES} bytes"
    )]
    NoHeaderEnd,
    #[error("the message does not start with RFC 5322 header fields")]
    NotHeaders,
    #[error("the message has no From header")]
    NoFrom,
}

/// Where the header section ends (after its blank line), if within `bytes`.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Longest Message-ID carried in an event.
pub const MAX_MESSAGE_ID_BYTES: usize = 998;

/// Checks the header section `head` (up to and including its blank line).
pub fn parse_mail_head(head: &[u8]) -> Result<MailHead, MailHeadError> {
    if head_end(head).is_none() {
        return Err(MailHeadError::NoHeaderEnd);
    }
    if !starts_with_field(head) {
        return Err(MailHeadError::NotHeaders);
    }
    let (headers, _) = mailparse::parse_headers(head).map_err(|_| MailHeadError::NotHeaders)?;
    let get = |name: &str| {
        use mailparse::MailHeaderMap;
        headers
            .get_first_value(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let from = get("From").ok_or(MailHeadError::NoFrom)?;
    Ok(MailHead {
        // Events and rows keep RFC 5322's line length, no control bytes.
        message_id: get("Message-ID")
            .map(|id| crate::decide::clean_text(&id, MAX_MESSAGE_ID_BYTES))
            .filter(|id| !id.is_empty()),
        from,
    })
}

/// RFC 5322 field names are printable ASCII without `:` or spaces, then `:`.
fn starts_with_field(head: &[u8]) -> bool {
    let name_len = head
        .iter()
        .take_while(|b| matches!(b, 33..=57 | 59..=126))
        .count();
    name_len > 0 && head.get(name_len) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_head_is_read() {
        let head = b"From: Aino <aino@example.org>\r\nSubject: liite\r\nMessage-ID:\r\n <abc@example.org>\r\n\r\n";
        let parsed = parse_mail_head(head).expect("valid head");
        assert_eq!(parsed.message_id.as_deref(), Some("<abc@example.org>"));
        assert_eq!(parsed.from, "Aino <aino@example.org>");
    }

    #[test]
    fn bare_lf_messages_are_accepted() {
        let parsed = parse_mail_head(b"From: a@example.org\nSubject: x\n\n").expect("valid head");
        assert_eq!(parsed.message_id, None);
    }

    #[test]
    fn not_mail_is_refused() {
        assert_eq!(
            parse_mail_head(b"%PDF-1.7\n\n"),
            Err(MailHeadError::NotHeaders)
        );
        // `{"json"` is a legal (if odd) field name; JSON fails for lack of From.
        assert_eq!(
            parse_mail_head(b"{\"json\": true}\n\n"),
            Err(MailHeadError::NoFrom)
        );
        assert_eq!(
            parse_mail_head(b"From: a@example.org\r\n"),
            Err(MailHeadError::NoHeaderEnd)
        );
        assert_eq!(
            parse_mail_head(b"Subject: no sender\r\n\r\n"),
            Err(MailHeadError::NoFrom)
        );
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"A: b\r\n\r\nbody\n\nmore"), Some(8));
        assert_eq!(head_end(b"A: b\n\nbody\r\n\r\n"), Some(6));
        assert_eq!(head_end(b"A: b\r\n"), None);
    }
}
