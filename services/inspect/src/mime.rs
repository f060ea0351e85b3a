//! Unpacking a decrypted e-mail into its texts and files with `mailparse`:
//! nested multiparts and forwarded messages, transfer encodings, charsets,
//! RFC 2047/2231 encoded names. Limits keep a crafted message from taking
//! the worker's memory or stack.

use intake_core::events::{Language, MailSignals};
use intake_core::receipt::{DeliveryReport, MAX_ENCLOSED_IDS, MAX_RECIPIENTS, RecipientStatus};
use mailparse::{DispositionType, MailHeaderMap, ParsedMail};

#[derive(Debug, Clone, Copy)]
pub struct MimeLimits {
    pub max_parts: usize,
    pub max_depth: usize,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MimeError {
    #[error("the message is not parseable MIME: {0}")]
    Unparseable(String),
    #[error("the message has more than {0} parts")]
    TooManyParts(usize),
    #[error("the message nests deeper than {0} levels")]
    TooDeep(usize),
}

/// A file found in the message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFile {
    pub filename: String,
    pub declared_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub subject: String,
    /// The From header's address, lower-cased.
    pub from: Option<String>,
    /// Plain-text bodies, decoded to UTF-8, in order.
    pub text: String,
    /// HTML bodies reduced to their text.
    pub html_text: String,
    pub files: Vec<MailFile>,
    pub language: Option<Language>,
    pub signals: MailSignals,
    /// The whole message is encrypted for someone else (PGP/MIME, S/MIME).
    pub encrypted_as: Option<&'static str>,
    /// `Authentication-Results` fields, top first (capped in number and
    /// length: they are the sender's bytes until proven otherwise).
    pub auth_results: Vec<String>,
    /// What a delivery status notification says (empty for other mail).
    pub delivery: DeliveryReport,
}

const MAX_AUTH_RESULTS: usize = 16;

pub fn unpack(raw: &[u8], limits: MimeLimits) -> Result<Unpacked, MimeError> {
    // mailparse builds every part before a limit can be checked: a few MB
    // of empty parts would take gigabytes. Every part follows a delimiter
    // line ("--boundary"), so counting those lines first bounds the parts.
    let delimiters = raw
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"--"))
        .count();
    if delimiters > limits.max_parts.saturating_mul(2).saturating_add(16) {
        return Err(MimeError::TooManyParts(limits.max_parts));
    }
    let mail = mailparse::parse_mail(raw).map_err(|e| MimeError::Unparseable(e.to_string()))?;
    let mut out = root_facts(&mail.headers, &mail.ctype);
    if out.encrypted_as.is_none() {
        let mut count = 0;
        walk(&mail, 0, limits, &mut count, &mut out)?;
    }
    Ok(out)
}

/// What the message's own header block says.
pub fn root_facts(
    headers: &[mailparse::MailHeader<'_>],
    ctype: &mailparse::ParsedContentType,
) -> Unpacked {
    Unpacked {
        subject: headers.get_first_value("Subject").unwrap_or_default(),
        from: headers
            .get_first_value("From")
            .and_then(|from| mailparse::addrparse(&from).ok())
            .and_then(|list| list.extract_single_info())
            .map(|info| info.addr.to_lowercase()),
        language: headers
            .get_first_value("Content-Language")
            .and_then(|l| language(&l)),
        signals: MailSignals {
            auto_submitted: headers.get_first_value("Auto-Submitted"),
            precedence: headers.get_first_value("Precedence"),
            has_list_id: headers.get_first_header("List-Id").is_some(),
            empty_return_path: headers
                .get_first_value("Return-Path")
                .is_some_and(|p| p.trim() == "<>"),
            message_id: headers
                .get_first_value("Message-ID")
                .map(|m| m.trim().to_owned()),
            dmarc: None,
        },
        encrypted_as: whole_message_encryption(ctype),
        auth_results: headers
            .get_all_values("Authentication-Results")
            .into_iter()
            .take(MAX_AUTH_RESULTS)
            .map(|v| intake_core::decide::cap_bytes(&v, 2048).to_owned())
            .collect(),
        ..Unpacked::default()
    }
}

fn whole_message_encryption(ctype: &mailparse::ParsedContentType) -> Option<&'static str> {
    match ctype.mimetype.as_str() {
        "multipart/encrypted" => Some("PGP/MIME"),
        "application/pkcs7-mime" | "application/x-pkcs7-mime"
            if !ctype
                .params
                .get("smime-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("signed-data")) =>
        {
            Some("S/MIME")
        }
        _ => None,
    }
}

fn walk(
    part: &ParsedMail<'_>,
    depth: usize,
    limits: MimeLimits,
    count: &mut usize,
    out: &mut Unpacked,
) -> Result<(), MimeError> {
    if depth > limits.max_depth {
        return Err(MimeError::TooDeep(limits.max_depth));
    }
    *count += 1;
    if *count > limits.max_parts {
        return Err(MimeError::TooManyParts(limits.max_parts));
    }
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            walk(sub, depth + 1, limits, count, out)?;
        }
        return Ok(());
    }
    let body_error = |e: mailparse::MailParseError| MimeError::Unparseable(e.to_string());
    let mimetype = part.ctype.mimetype.to_lowercase();
    if mimetype == "message/rfc822" || mimetype == "message/global" {
        // A forwarded or attached message: its texts and files are the
        // applicant's too, and are inspected like the outer message's.
        let raw = part.get_body_raw().map_err(body_error)?;
        let inner =
            mailparse::parse_mail(&raw).map_err(|e| MimeError::Unparseable(e.to_string()))?;
        enclosed_message_id(&inner.headers, out);
        return walk(&inner, depth + 1, limits, count, out);
    }
    let raw = part.get_body_raw().map_err(body_error)?;
    leaf(&part.ctype, &part.get_content_disposition(), raw, out);
    Ok(())
}

/// What a part with content is to the reader of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafRole {
    /// A plain-text body.
    Text,
    /// An HTML body, read for its text.
    Html,
    /// A file, under the name the sender gave (if any).
    File { filename: Option<String> },
}

pub fn leaf_role(
    ctype: &mailparse::ParsedContentType,
    disposition: &mailparse::ParsedContentDisposition,
) -> LeafRole {
    let filename = disposition
        .params
        .get("filename")
        .or_else(|| ctype.params.get("name"))
        .cloned();
    let is_attachment = disposition.disposition == DispositionType::Attachment;
    if filename.is_none() && !is_attachment {
        match ctype.mimetype.to_lowercase().as_str() {
            "text/plain" => return LeafRole::Text,
            "text/html" => return LeafRole::Html,
            _ => {}
        }
    }
    LeafRole::File { filename }
}

/// Whether a part's bytes also say something about the message (a
/// report, or the headers of a message it returns): `leaf_facts` reads
/// them.
pub fn has_facts(mimetype: &str) -> bool {
    matches!(
        mimetype.to_lowercase().as_str(),
        "text/rfc822-headers" | "message/delivery-status" | "message/global-delivery-status"
    )
}

pub fn leaf_facts(mimetype: &str, raw: &[u8], out: &mut Unpacked) {
    match mimetype.to_lowercase().as_str() {
        "text/rfc822-headers" => {
            if let Ok((headers, _)) = mailparse::parse_headers(raw) {
                enclosed_message_id(&headers, out);
            }
        }
        "message/delivery-status" | "message/global-delivery-status" => {
            delivery_status(raw, out);
        }
        _ => {}
    }
}

/// A body's text added to what was read (HTML reduced to its text).
pub fn add_text(role: &LeafRole, charset: &str, raw: &[u8], out: &mut Unpacked) {
    match role {
        LeafRole::Text => push_text(&mut out.text, &decode_text(raw, charset)),
        LeafRole::Html => push_text(&mut out.html_text, &html_text(&decode_text(raw, charset))),
        LeafRole::File { .. } => {}
    }
}

/// The name of the next file found without one.
pub fn unnamed_file(files_before: usize) -> String {
    format!("part-{}", files_before + 1)
}

/// A part with content, its transfer encoding undone: a text body, or a
/// file (and what a report or enclosed headers say).
pub(crate) fn leaf(
    ctype: &mailparse::ParsedContentType,
    disposition: &mailparse::ParsedContentDisposition,
    raw: Vec<u8>,
    out: &mut Unpacked,
) {
    leaf_facts(&ctype.mimetype, &raw, out);
    match leaf_role(ctype, disposition) {
        LeafRole::File { filename } => {
            let filename = filename.unwrap_or_else(|| unnamed_file(out.files.len()));
            out.files.push(MailFile {
                filename,
                declared_type: ctype.mimetype.to_lowercase(),
                bytes: raw,
            });
        }
        role => add_text(&role, &ctype.charset, &raw, out),
    }
}

/// Text in its declared charset, as `mailparse` reads it (US-ASCII when
/// the label is unknown).
fn decode_text(raw: &[u8], label: &str) -> String {
    match charset::Charset::for_label(label.as_bytes()) {
        Some(charset) => charset.decode(raw).0.into_owned(),
        None => charset::decode_ascii(raw).into_owned(),
    }
}

pub fn enclosed_message_id(headers: &[mailparse::MailHeader<'_>], out: &mut Unpacked) {
    let ids = &mut out.delivery.enclosed_message_ids;
    if ids.len() < MAX_ENCLOSED_IDS
        && let Some(id) = headers.get_first_value("Message-ID")
    {
        ids.push(intake_core::decide::cap_bytes(id.trim(), 998).to_owned());
    }
}

/// The recipient blocks of an RFC 3464 report: header-like fields in
/// blocks separated by blank lines, the first about the message itself.
fn delivery_status(raw: &[u8], out: &mut Unpacked) {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    for block in text.split("\n\n").skip(1) {
        if out.delivery.recipients.len() >= MAX_RECIPIENTS {
            break;
        }
        let Ok((fields, _)) = mailparse::parse_headers(block.as_bytes()) else {
            continue;
        };
        let field = |name: &str| {
            fields
                .get_first_value(name)
                .map(|v| intake_core::decide::cap_bytes(v.trim(), 1000).to_owned())
        };
        let status = RecipientStatus {
            recipient: field("Final-Recipient").or_else(|| field("Original-Recipient")),
            action: field("Action"),
            status: field("Status"),
            diagnostic: field("Diagnostic-Code"),
        };
        if status != RecipientStatus::default() {
            out.delivery.recipients.push(status);
        }
    }
}

fn push_text(into: &mut String, text: &str) {
    if !into.is_empty() {
        into.push('\n');
    }
    into.push_str(text.trim_end());
}

fn language(header: &str) -> Option<Language> {
    let primary = header.split([',', '-', '_']).next()?.trim().to_lowercase();
    match primary.as_str() {
        "fi" => Some(Language::Fi),
        "sv" => Some(Language::Sv),
        "en" => Some(Language::En),
        _ => None,
    }
}

/// The readable text of an HTML body: tags dropped, script and style
/// contents skipped, the common entities decoded. Good enough to find ids
/// in; caseworkers see the original. Linear in the input: the lower-case
/// copy is made once, and every search starts where the last one ended.
pub fn html_text(html: &str) -> String {
    // ASCII lower-casing keeps every byte offset, so positions found in
    // `lower` cut `html` at the same character boundaries.
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() / 2);
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found;
        out.push_str(&html[at..start]);
        let rest = &lower[start..];
        let skip_to = if rest.starts_with("<script") {
            rest.find("</script>").map(|i| i + 9)
        } else if rest.starts_with("<style") {
            rest.find("</style>").map(|i| i + 8)
        } else {
            rest.find('>').map(|i| i + 1)
        };
        match skip_to {
            Some(end) => {
                out.push(' ');
                at = start + end;
            }
            // An unclosed tag or script: nothing after it is text.
            None => {
                at = html.len();
                break;
            }
        }
    }
    out.push_str(&html[at..]);
    decode_entities(&out)
}

/// One pass over the text, so `&amp;lt;` stays `&lt;` as HTML means it.
fn decode_entities(text: &str) -> String {
    const ENTITIES: [(&str, &str); 6] = [
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match ENTITIES.iter().find(|(name, _)| tail.starts_with(name)) {
            Some((name, value)) => {
                out.push_str(value);
                rest = &tail[name.len()..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: MimeLimits = MimeLimits {
        max_parts: 20,
        max_depth: 4,
    };

    fn multipart(boundary: &str, parts: &[String]) -> String {
        let mut body = String::new();
        for p in parts {
            body.push_str(&format!("--{boundary}\r\n{p}\r\n"));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        body
    }

    #[test]
    fn texts_files_charsets_and_encoded_names() {
        let parts = [
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHyv=E4=E4 p=E4iv=E4=E4".to_owned(),
            "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hakemus <b>MIG</b>&nbsp;x</p><script>evil()</script>".to_owned(),
            "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''selvitys%20%C3%84%C3%96.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=".to_owned(),
        ];
        let raw = format!(
            "From: Matti <Matti@Example.org>\r\nSubject: =?utf-8?q?Lis=C3=A4selvitys?=\r\nContent-Language: fi-FI\r\nMessage-ID: <a@b>\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n{}",
            multipart("b1", &parts)
        );
        let out = unpack(raw.as_bytes(), LIMITS).expect("parses");
        assert_eq!(out.subject, "Lisäselvitys");
        assert_eq!(out.from.as_deref(), Some("matti@example.org"));
        assert_eq!(out.text, "Hyvää päivää");
        assert!(
            out.html_text.contains("Hakemus  MIG  x"),
            "{:?}",
            out.html_text
        );
        assert!(!out.html_text.contains("evil"));
        assert_eq!(out.language, Some(Language::Fi));
        assert_eq!(out.signals.message_id.as_deref(), Some("<a@b>"));
        assert_eq!(out.files.len(), 1);
        assert_eq!(out.files[0].filename, "selvitys ÄÖ.pdf");
        assert_eq!(out.files[0].declared_type, "application/pdf");
        assert_eq!(out.files[0].bytes, b"%PDF-1.4");
    }

    #[test]
    fn a_delivery_report_says_which_message_failed_for_whom() {
        let raw = intake_generator::mail::bounce_report(
            "<receipt.0123@agency.example>",
            "anna@example.fi",
            "<dsn.1@mx.example.fi>",
        );
        let out = unpack(&raw, LIMITS).expect("parses");
        let failed = intake_core::receipt::failed_delivery(&out.delivery).expect("a failure");
        assert_eq!(failed.message_ids, vec!["<receipt.0123@agency.example>"]);
        assert_eq!(failed.recipients, vec!["anna@example.fi"]);
        assert!(failed.reason.contains("5.1.1"), "{}", failed.reason);
    }

    #[test]
    fn ordinary_mail_reports_no_delivery() {
        let raw = "From: a@b\r\nContent-Type: text/plain\r\n\r\nAction: failed\r\n";
        let out = unpack(raw.as_bytes(), LIMITS).expect("parses");
        assert_eq!(intake_core::receipt::failed_delivery(&out.delivery), None);
    }

    #[test]
    fn a_forwarded_message_is_opened() {
        let inner = "Subject: inner\r\nContent-Type: text/plain\r\n\r\nMIG inside";
        let parts = [
            "Content-Type: text/plain\r\n\r\nsee below".to_owned(),
            format!("Content-Type: message/rfc822\r\n\r\n{inner}"),
        ];
        let raw = format!(
            "Subject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{}",
            multipart("b", &parts)
        );
        let out = unpack(raw.as_bytes(), LIMITS).expect("parses");
        assert_eq!(out.text, "see below\nMIG inside");
    }

    #[test]
    fn an_attached_message_is_opened_and_its_files_inspected() {
        let inner = "Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--i\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"run.exe\"\r\n\r\nMZ\r\n--i--\r\n";
        let parts = [
            "Content-Type: text/plain\r\n\r\nsee attached".to_owned(),
            format!(
                "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n{inner}"
            ),
        ];
        let raw = format!(
            "Subject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{}",
            multipart("b", &parts)
        );
        let out = unpack(raw.as_bytes(), LIMITS).expect("parses");
        assert_eq!(out.text, "see attached\ninner text");
        assert_eq!(out.files.len(), 1);
        assert_eq!(out.files[0].filename, "run.exe");
    }

    #[test]
    fn html_text_handles_unclosed_and_repeated_tags() {
        assert_eq!(html_text("a<script>x"), "a");
        assert_eq!(html_text("a<b"), "a");
        assert_eq!(html_text("&amp;lt; &lt;"), "&lt; <");
        let many = "<script>".repeat(50_000);
        assert_eq!(html_text(&many), "");
        let styles = "<style>x</style>ä".repeat(10_000);
        assert_eq!(html_text(&styles).matches('ä').count(), 10_000);
    }

    #[test]
    fn loop_and_bounce_signals_are_read() {
        let raw = "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\nPrecedence: bulk\r\nList-Id: <x.example.org>\r\nReturn-Path: <>\r\n\r\naway";
        let out = unpack(raw.as_bytes(), LIMITS).expect("parses");
        assert_eq!(out.signals.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(out.signals.precedence.as_deref(), Some("bulk"));
        assert!(out.signals.has_list_id);
        assert!(out.signals.empty_return_path);
    }

    #[test]
    fn whole_message_encryption_is_recognised_and_not_opened() {
        let pgp = "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n";
        let out = unpack(pgp.as_bytes(), LIMITS).expect("parses");
        assert_eq!(out.encrypted_as, Some("PGP/MIME"));
        assert!(out.files.is_empty());
        let smime = "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQA=";
        assert_eq!(
            unpack(smime.as_bytes(), LIMITS)
                .expect("parses")
                .encrypted_as,
            Some("S/MIME")
        );
    }

    #[test]
    fn part_count_and_depth_are_limited() {
        let many: Vec<String> = (0..30)
            .map(|i| format!("Content-Type: text/plain\r\n\r\n{i}"))
            .collect();
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n{}",
            multipart("b", &many)
        );
        assert_eq!(
            unpack(raw.as_bytes(), LIMITS),
            Err(MimeError::TooManyParts(20))
        );

        let mut nested = "Content-Type: text/plain\r\n\r\nx".to_owned();
        for level in 0..6 {
            nested = format!(
                "Content-Type: multipart/mixed; boundary=l{level}\r\n\r\n{}",
                multipart(&format!("l{level}"), &[nested])
            );
        }
        assert_eq!(
            unpack(nested.as_bytes(), LIMITS),
            Err(MimeError::TooDeep(4))
        );
    }

    #[test]
    fn a_flood_of_empty_parts_is_refused_before_parsing() {
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n{}--b--\r\n",
            "--b\r\n\r\n".repeat(100_000)
        );
        assert_eq!(
            unpack(raw.as_bytes(), LIMITS),
            Err(MimeError::TooManyParts(20))
        );
    }

    #[test]
    fn an_unnamed_non_text_part_is_a_file() {
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";
        let out = unpack(raw.as_bytes(), LIMITS).expect("parses");
        assert_eq!(out.files[0].filename, "part-1");
        assert_eq!(out.files[0].bytes, b"\x89PNG\r\n\x1a\n");
    }
}
