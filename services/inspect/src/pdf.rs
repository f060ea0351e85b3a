//! PDF structure with `lopdf`: password protection, active content
//! (JavaScript, launch and automatic actions, embedded files), page count
//! and text for identifiers. Called in a blocking task, under a size
//! budget checked by the caller and a time budget it enforces.

use intake_core::decide::Finding;
use lopdf::{Document, LoadOptions, Object};

use super::sniff::contains;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfReport {
    pub findings: Vec<Finding>,
    pub pages: usize,
    /// Text of the first pages, for identifiers.
    pub text: String,
}

/// Pages whose text is read for identifiers: ids are on the first pages
/// of a letter, and text extraction is the slow part.
const TEXT_PAGES: u32 = 20;
/// Ceiling on decompressed content streams during text extraction.
const TEXT_DECOMPRESS_LIMIT: usize = 64 << 20;
/// Ceiling on any one object or cross-reference stream while loading: a
/// few KiB of Flate can otherwise inflate to gigabytes before any check.
const LOAD_DECOMPRESS_LIMIT: usize = 32 << 20;

pub fn inspect_pdf(bytes: &[u8]) -> PdfReport {
    let options = LoadOptions {
        max_decompressed_size: Some(LOAD_DECOMPRESS_LIMIT),
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(error) => {
            let finding = if contains(bytes, b"/Encrypt") {
                Finding::PasswordProtected {
                    what: "PDF".to_owned(),
                }
            } else {
                Finding::Malformed {
                    detail: format!("PDF does not parse: {error}"),
                }
            };
            return PdfReport {
                findings: vec![finding],
                ..PdfReport::default()
            };
        }
    };
    let mut report = PdfReport {
        pages: doc.get_pages().len(),
        ..PdfReport::default()
    };
    // Also when the empty user password opened it: content under an
    // owner password may be restricted, and we cannot vouch for it.
    if doc.is_encrypted() || doc.was_encrypted() {
        report.findings.push(Finding::PasswordProtected {
            what: "PDF".to_owned(),
        });
        return report;
    }
    let mut active: Vec<&'static str> = Vec::new();
    for object in doc.objects.values() {
        visit(object, 0, &mut active);
    }
    active.sort_unstable();
    active.dedup();
    if !active.is_empty() {
        report.findings.push(Finding::ActiveContent {
            detail: format!("PDF with {}", active.join(", ")),
        });
    }
    let pages: Vec<u32> = (1..=TEXT_PAGES.min(report.pages as u32)).collect();
    report.text = doc
        .extract_text_with_limit(&pages, TEXT_DECOMPRESS_LIMIT)
        .unwrap_or_default();
    report
}

/// Nesting followed inside one object: actions often sit inline in the
/// catalog or an annotation, not as objects of their own.
const MAX_NESTING: usize = 32;

fn visit(object: &Object, depth: usize, hits: &mut Vec<&'static str>) {
    // What lies deeper is not looked at, so it is not vouched for either.
    if depth > MAX_NESTING {
        hits.push("nesting deeper than can be inspected");
        return;
    }
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        Object::Array(items) => {
            for item in items {
                visit(item, depth + 1, hits);
            }
            return;
        }
        _ => return,
    };
    if dict.has(b"JS") || dict.has(b"JavaScript") {
        hits.push("JavaScript");
    }
    match dict.get(b"S").and_then(Object::as_name) {
        Ok(b"JavaScript") => hits.push("JavaScript"),
        Ok(b"Launch") => hits.push("launch action"),
        Ok(b"ImportData" | b"SubmitForm") => hits.push("form data action"),
        Ok(b"GoToR" | b"GoToE") => hits.push("action opening another file"),
        _ => {}
    }
    if dict.has(b"AA") {
        hits.push("automatic action");
    }
    if dict.has(b"EmbeddedFiles")
        || dict.has(b"EF")
        || dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"EmbeddedFile")
        || dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"FileAttachment")
    {
        hits.push("embedded file");
    }
    if dict.has(b"RichMedia") {
        hits.push("rich media");
    }
    for (_, value) in dict.iter() {
        visit(value, depth + 1, hits);
    }
}

#[cfg(test)]
mod tests {
    use intake_generator::files::{self, PdfAction};

    use super::*;

    #[test]
    fn a_plain_letter_has_pages_and_text_and_no_findings() {
        let report = inspect_pdf(&files::pdf(
            &["Hakemuksen numero", "MIG-2026-000001-2"],
            PdfAction::None,
        ));
        assert_eq!(report.findings, vec![]);
        assert_eq!(report.pages, 1);
        assert!(
            report.text.contains("MIG-2026-000001-2"),
            "{:?}",
            report.text
        );
    }

    #[test]
    fn javascript_and_launch_actions_are_active_content() {
        for action in [PdfAction::JavaScript, PdfAction::Launch] {
            let report = inspect_pdf(&files::pdf(&["Invoice"], action));
            assert!(
                matches!(report.findings.as_slice(), [Finding::ActiveContent { .. }]),
                "{action:?}: {:?}",
                report.findings
            );
        }
    }

    #[test]
    fn an_encryption_dictionary_means_password_protected() {
        let report = inspect_pdf(&files::pdf_password_protected(&["Bank statement"]));
        assert_eq!(
            report.findings,
            vec![Finding::PasswordProtected { what: "PDF".into() }]
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bytes in [&b"%PDF-1.4\n1 0 obj <<"[..], b"%PDF-", b""] {
            let report = inspect_pdf(bytes);
            assert!(
                matches!(report.findings.as_slice(), [Finding::Malformed { .. }]),
                "{:?}",
                report.findings
            );
        }
    }

    #[test]
    fn truncated_letters_never_panic() {
        let pdf = files::pdf(&["Hakemus"], PdfAction::None);
        for cut in (0..pdf.len()).step_by(7) {
            let _ = inspect_pdf(&pdf[..cut]);
        }
    }
}
