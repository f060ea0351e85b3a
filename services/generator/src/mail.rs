//! E-mails as mail clients write them (via mail-builder), and the odd ones
//! they also send: Latin-1 bodies, PGP armour, S/MIME envelopes.

use base64::Engine;
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;

#[derive(Debug, Clone)]
pub struct Attachment {
    pub content_type: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub from_name: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    /// Seconds since the epoch, for the Date header.
    pub date: i64,
    pub attachments: Vec<Attachment>,
    /// Further headers, e.g. `Auto-Submitted`.
    pub headers: Vec<(String, String)>,
}

impl Mail {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut builder = MessageBuilder::new()
            .from((self.from_name.as_str(), self.from.as_str()))
            .to(self.to.as_str())
            .subject(self.subject.as_str())
            // mail-builder adds the angle brackets itself.
            .message_id(
                self.message_id
                    .trim_start_matches('<')
                    .trim_end_matches('>'),
            )
            .date(self.date)
            .text_body(self.text.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), Raw::new(value.as_str()));
        }
        for a in &self.attachments {
            builder = builder.attachment(
                a.content_type.as_str(),
                a.filename.as_str(),
                a.bytes.as_slice(),
            );
        }
        builder.write_to_vec().expect("writing a message to memory")
    }
}

/// A single-part message whose body is ISO-8859-1, as older clients send.
pub fn latin1(from: &str, to: &str, subject: &str, text: &str, message_id: &str) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    .into_bytes();
    // Every character of the texts used here is in Latin-1.
    out.extend(
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
    );
    out.extend_from_slice(b"\r\n");
    out
}

/// A message whose body is an inline PGP-armoured encrypted text.
pub fn pgp(from: &str, to: &str, subject: &str, armour: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{}",
        armour.replace('\n', "\r\n")
    )
    .into_bytes()
}

/// An S/MIME message encrypted to someone else's certificate.
pub fn smime(from: &str, to: &str, subject: &str, der: &[u8], message_id: &str) -> Vec<u8> {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n{}\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// A delivery status notification (RFC 3464) as a mail server sends one
/// when `returned_id` could not be delivered to `recipient`.
pub fn bounce_report(returned_id: &str, recipient: &str, message_id: &str) -> Vec<u8> {
    let boundary = "report-boundary";
    let parts = [
        "Content-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.".to_owned(),
        format!(
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.fi\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        ),
        format!(
            "Content-Type: text/rfc822-headers\r\n\r\nFrom: no-reply@agency.example\r\nTo: {recipient}\r\nMessage-ID: {returned_id}\r\nSubject: Receipt\r\n"
        ),
    ];
    let mut out = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.fi>\r\nTo: no-reply@agency.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: {message_id}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n"
    );
    for part in parts {
        out.push_str(&format!("--{boundary}\r\n{part}\r\n"));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}
