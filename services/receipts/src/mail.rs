//! A receipt as an e-mail: the agency's no-reply address, RFC 3834 headers
//! (`Auto-Submitted: auto-replied`, sent with a null return path so that
//! nothing answers it back), threading to the applicant's message, a
//! Message-ID and Date derived from the receipt so that a resend after an
//! interrupted send is the same message, and a DKIM signature.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use intake_core::receipt::{Attempt, Rendered, receipt_message_id};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("INTAKE_RECEIPTS__FROM is not a mailbox: {0}")]
    From(String),
    #[error("cannot read the DKIM key {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the DKIM key is not an RSA private key in PKCS#1 PEM: {0}")]
    Key(String),
}

/// What one receipt e-mail is made of, apart from its words.
pub struct Envelope<'a> {
    pub receipt_id: uuid::Uuid,
    pub to: &'a str,
    pub language: Option<&'a str>,
    /// When the receipt was admitted; the Date header, fixed across resends.
    pub created_at: DateTime<Utc>,
    /// The applicant's own Message-ID, if the mail had one.
    pub in_reply_to: Option<&'a str>,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
    dkim: DkimConfig,
}

/// Signed, so that a receiver can tell the receipt from a forgery; the list
/// covers every header a forger would want to change.
const SIGNED_HEADERS: [&str; 10] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Content-Type",
    "Content-Language",
];

impl Mailer {
    pub fn new(
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: &str,
        domain: &str,
        selector: &str,
        key_file: &std::path::Path,
    ) -> Result<Self, MailSetupError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailSetupError::From(e.to_string()))?;
        let pem = std::fs::read_to_string(key_file).map_err(|source| MailSetupError::KeyFile {
            path: key_file.display().to_string(),
            source,
        })?;
        let key = DkimSigningKey::new(&pem, DkimSigningAlgorithm::Rsa)
            .map_err(|e| MailSetupError::Key(e.to_string()))?;
        let dkim = DkimConfig::new(
            selector.to_owned(),
            domain.to_owned(),
            key,
            SIGNED_HEADERS
                .iter()
                .map(|name| HeaderName::new_from_ascii_str(name))
                .collect(),
            // Relaxed survives the header folding and whitespace changes
            // relays make; simple would fail on the first one.
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        );
        Ok(Self {
            transport,
            from,
            domain: domain.to_owned(),
            dkim,
        })
    }

    pub fn message_id(&self, receipt_id: uuid::Uuid) -> String {
        receipt_message_id(receipt_id, &self.domain)
    }

    /// The signed message, or why it cannot be made (a permanent failure:
    /// trying again would not help).
    pub fn compose(&self, envelope: &Envelope<'_>, words: &Rendered) -> Result<Message, String> {
        let to: Address = envelope
            .to
            .trim()
            .parse()
            .map_err(|e| format!("recipient address {:?} is not valid: {e}", envelope.to))?;
        let date = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(envelope.created_at.timestamp()).unwrap_or(0));
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.clone()))
            .subject(words.subject.clone())
            .date(date)
            .message_id(Some(self.message_id(envelope.receipt_id)))
            .header(AutoSubmitted)
            // Asks Exchange and Outlook not to answer with out-of-office
            // notices, the loop RFC 3834 exists to stop.
            .header(AutoResponseSuppress)
            .header(ContentType::TEXT_PLAIN);
        if let Some(language) = envelope.language {
            builder = builder.header(ContentLanguage(language.to_owned()));
        }
        if let Some(original) = envelope.in_reply_to.filter(|id| is_message_id(id)) {
            builder = builder
                .in_reply_to(original.to_owned())
                .references(original.to_owned());
        }
        let mut message = builder
            // Envelope sender null (RFC 3834 section 3.3): a receipt must
            // not draw bounces or replies into a loop.
            .envelope(lettre::address::Envelope::new(None, vec![to]).map_err(|e| e.to_string())?)
            .body(words.text.clone())
            .map_err(|e| e.to_string())?;
        message.sign(&self.dkim);
        Ok(message)
    }

    /// The mail server answers a connection and `NOOP` (a readiness
    /// probe); the transport, not a message, is tested.
    pub fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        self.transport.clone()
    }

    pub async fn send(&self, message: &Message) -> Attempt {
        match self.transport.send(message.clone()).await {
            Ok(_) => Attempt::Delivered,
            Err(error) => classify(&error),
        }
    }
}

/// A 5xx reply is the server's final word; anything else (4xx, a refused
/// connection, a timeout) may pass.
fn classify(error: &SmtpError) -> Attempt {
    let text = error.to_string();
    if error.is_permanent() {
        Attempt::Permanent(format!("SMTP refused the receipt: {text}"))
    } else {
        Attempt::Transient(format!("SMTP: {text}"))
    }
}

/// Only a well-formed `<...@...>` is echoed back into our headers.
fn is_message_id(id: &str) -> bool {
    let id = id.trim();
    id.len() <= 998
        && id.starts_with('<')
        && id.ends_with('>')
        && id.contains('@')
        && !id.contains(['\r', '\n', ' '])
        && id.is_ascii()
}

#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

#[derive(Debug, Clone, Copy)]
struct AutoResponseSuppress;

impl Header for AutoResponseSuppress {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".to_owned())
    }
}

#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_message_ids_are_echoed() {
        assert!(is_message_id("<abc.123@example.org>"));
        assert!(!is_message_id("abc@example.org"));
        assert!(!is_message_id("<abc@example.org>\r\nBcc: x@y"));
        assert!(!is_message_id("<no-at-sign>"));
    }
}
