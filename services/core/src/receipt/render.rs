//! The words of a receipt, from per-language templates: what arrived and
//! when (Helsinki time), the application it was joined to (masked), each
//! file accepted or refused with the reason in plain words, what to do
//! next, and the warning that genuine messages never carry links or ask
//! for personal data. No language known: all three, Finnish first.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Helsinki;
use serde::Deserialize;

use super::mask_application_id;
use crate::events::{
    Channel, FileKind, FileOutcome, Language, ReceiptOutcome, ReceiptRequested, RefusalReason,
    Transport,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerReason {
    pub foreign_encryption: String,
    pub password_protected: String,
    pub too_large: String,
    pub infected: String,
    pub dangerous: String,
    pub unsupported_type: String,
    pub type_mismatch: String,
    pub unscannable: String,
    pub unprocessable: String,
}

impl PerReason {
    fn get(&self, reason: RefusalReason) -> &str {
        match reason {
            RefusalReason::ForeignEncryption => &self.foreign_encryption,
            RefusalReason::PasswordProtected => &self.password_protected,
            RefusalReason::TooLarge => &self.too_large,
            RefusalReason::Infected => &self.infected,
            RefusalReason::Dangerous => &self.dangerous,
            RefusalReason::UnsupportedType => &self.unsupported_type,
            RefusalReason::TypeMismatch => &self.type_mismatch,
            RefusalReason::Unscannable => &self.unscannable,
            RefusalReason::Unprocessable => &self.unprocessable,
        }
    }
}

/// What each kind of file is called.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerKind {
    pub pdf: String,
    pub image: String,
    pub text: String,
    pub document: String,
    pub spreadsheet: String,
    pub presentation: String,
    pub archive: String,
    pub other: String,
}

impl PerKind {
    fn get(&self, kind: FileKind) -> &str {
        match kind {
            FileKind::Pdf => &self.pdf,
            FileKind::Image => &self.image,
            FileKind::Text => &self.text,
            FileKind::Document => &self.document,
            FileKind::Spreadsheet => &self.spreadsheet,
            FileKind::Presentation => &self.presentation,
            FileKind::Archive => &self.archive,
            FileKind::Other => &self.other,
        }
    }
}

/// Sizes as the language writes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    pub decimal_separator: String,
    /// Bytes, kilobytes, megabytes, gigabytes.
    pub units: [String; 4],
}

/// One language's texts, as in `services/receipts/templates/<lang>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub subject: String,
    /// chrono format for times, shown in Europe/Helsinki.
    pub time_format: String,
    pub greeting: String,
    pub received: String,
    pub already_received: String,
    pub joined: String,
    pub not_joined: String,
    pub message_refused: String,
    /// Other supplements answered by this one receipt (over the rate limit).
    pub also_received: String,
    pub files: String,
    pub accepted: String,
    pub refused: String,
    pub reference: String,
    pub genuine: String,
    pub closing: String,
    pub securemail: String,
    pub email: String,
    pub enter_finland: String,
    pub reasons: PerReason,
    pub next: PerReason,
    pub kinds: PerKind,
    pub sizes: Sizes,
}

impl Template {
    pub fn reasons_text(&self, reason: RefusalReason) -> &str {
        self.reasons.get(reason)
    }

    pub fn next_text(&self, reason: RefusalReason) -> &str {
        self.next.get(reason)
    }

    pub fn kind_text(&self, kind: FileKind) -> &str {
        self.kinds.get(kind)
    }
}

#[derive(Debug, Clone)]
pub struct Templates {
    pub fi: Template,
    pub sv: Template,
    pub en: Template,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
}

/// `domain` is the agency's own mail domain, named as the only source of
/// genuine messages.
pub fn render(request: &ReceiptRequested, templates: &Templates, domain: &str) -> Rendered {
    render_combined(request, &[], templates, domain)
}

/// A receipt that also answers other supplements from the same address,
/// held over the rate limit: each of `also` gets its own reference and
/// what became of it (received, refused, each file), as its own receipt
/// would have said.
pub fn render_combined(
    request: &ReceiptRequested,
    also: &[ReceiptRequested],
    templates: &Templates,
    domain: &str,
) -> Rendered {
    let languages: Vec<&Template> = match request.language {
        Some(Language::Fi) => vec![&templates.fi],
        Some(Language::Sv) => vec![&templates.sv],
        Some(Language::En) => vec![&templates.en],
        None => vec![&templates.fi, &templates.sv, &templates.en],
    };
    let subject = languages
        .iter()
        .map(|t| fill(&t.subject, &[("reference", &request.reference)]))
        .collect::<Vec<_>>()
        .join(" / ");
    let text = languages
        .iter()
        .map(|t| body(request, also, t, domain))
        .collect::<Vec<_>>()
        .join("\n\n----------------------------------------\n\n");
    Rendered { subject, text }
}

fn local_time(at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&Helsinki).format(format).to_string()
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

fn body(
    request: &ReceiptRequested,
    also: &[ReceiptRequested],
    t: &Template,
    domain: &str,
) -> String {
    let mut lines = vec![t.greeting.clone(), String::new()];
    outcome(request, t, &mut lines);
    if !also.is_empty() {
        // Each section ends with its own reference, this one's first.
        lines.push(String::new());
        lines.push(fill(&t.reference, &[("reference", &request.reference)]));
        let references: Vec<&str> = also.iter().map(|r| r.reference.as_str()).collect();
        lines.push(String::new());
        lines.push(fill(
            &t.also_received,
            &[("references", &references.join(", "))],
        ));
        for other in also {
            lines.push(String::new());
            outcome(other, t, &mut lines);
            lines.push(fill(&t.reference, &[("reference", &other.reference)]));
        }
    } else {
        lines.push(String::new());
        lines.push(fill(&t.reference, &[("reference", &request.reference)]));
    }
    lines.push(String::new());
    lines.push(fill(&t.genuine, &[("domain", domain)]));
    lines.push(String::new());
    lines.push(t.closing.clone());
    lines.join("\n")
}

/// When and how one supplement arrived and what became of it.
fn outcome(request: &ReceiptRequested, t: &Template, lines: &mut Vec<String>) {
    let channel = match (request.channel, request.transport) {
        (Channel::EnterFinland, _) => &t.enter_finland,
        (Channel::Securemail, Some(Transport::Email)) => &t.email,
        (Channel::Securemail, _) => &t.securemail,
    };
    let received_at = local_time(request.arrived_at, &t.time_format);
    match &request.outcome {
        ReceiptOutcome::Received => {
            lines.push(fill(
                &t.received,
                &[("received_at", &received_at), ("channel", channel)],
            ));
            received(request, t, lines);
        }
        // A resend is not processed: nothing was added or received anew.
        ReceiptOutcome::AlreadyReceived(original) => lines.push(fill(
            &t.already_received,
            &[
                (
                    "original_date",
                    &local_time(original.original_received_at, &t.time_format),
                ),
                ("original_reference", &original.original_reference),
            ],
        )),
    }
}

/// Where a first arrival went and what became of each file.
fn received(request: &ReceiptRequested, t: &Template, lines: &mut Vec<String>) {
    if let Some(reason) = request.message_refused {
        lines.push(fill(
            &t.message_refused,
            &[("reason", t.reasons.get(reason))],
        ));
        lines.push(String::new());
        lines.push(t.next.get(reason).to_owned());
        return;
    }
    match &request.application_id {
        Some(id) => lines.push(fill(
            &t.joined,
            &[("application", &mask_application_id(id))],
        )),
        None => lines.push(t.not_joined.clone()),
    }
    if request.files.is_empty() {
        return;
    }
    lines.push(String::new());
    lines.push(t.files.clone());
    for file in &request.files {
        let position = file.position.to_string();
        let size = size(file, &t.sizes);
        let values = [
            ("position", position.as_str()),
            ("kind", t.kinds.get(file.kind)),
            ("size", size.as_str()),
        ];
        lines.push(match file.refusal {
            None => fill(&t.accepted, &values),
            Some(reason) => {
                let mut values = values.to_vec();
                values.push(("reason", t.reasons.get(reason)));
                fill(&t.refused, &values)
            }
        });
    }
    let mut next: Vec<RefusalReason> = request.files.iter().filter_map(|f| f.refusal).collect();
    next.sort_by_key(|r| *r as u8);
    next.dedup();
    if !next.is_empty() {
        lines.push(String::new());
        lines.extend(next.into_iter().map(|r| t.next.get(r).to_owned()));
    }
}

/// `1,2 Mt` / `1.2 MB`: one decimal from kilobytes up, in units of 1000
/// as file managers show them.
fn size(file: &FileOutcome, sizes: &Sizes) -> String {
    let mut value = file.size as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < 3 {
        value /= 1000.0;
        unit += 1;
    }
    let number = if unit == 0 {
        format!("{}", file.size)
    } else {
        format!("{value:.1}").replace('.', &sizes.decimal_separator)
    };
    format!("{number} {}", sizes.units[unit])
}
