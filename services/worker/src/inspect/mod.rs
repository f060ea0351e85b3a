//! Looking inside decrypted content, without I/O: MIME structure, real
//! file types, PDF structure and ZIP members. Each returns findings that
//! `intake_core::decide::classify` turns into a verdict.

mod archive;
mod mime;
mod pdf;
mod sniff;

pub use archive::{ZipBudget, inspect_zip};
pub use mime::{MailFile, MimeError, MimeLimits, Unpacked, html_text, unpack};
pub use pdf::{PdfReport, inspect_pdf};
pub use sniff::{HEAD_BYTES, detect_type};

use intake_core::decide::Finding;

#[derive(Debug, Clone)]
pub struct InspectLimits {
    /// Media types delivered to caseworkers.
    pub allowed_types: Vec<String>,
    pub max_file_bytes: u64,
    /// Larger PDFs are not parsed, and so not delivered.
    pub pdf_max_bytes: u64,
    pub zip: ZipBudget,
}

/// What inspection of one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    pub detected_type: String,
    pub findings: Vec<Finding>,
    /// Text found inside (PDF), for identifiers.
    pub text: String,
}

/// Inspects a file given its leading bytes and, when small enough to hold,
/// all of it. CPU-bound (PDF parsing): call from a blocking task.
pub fn inspect_file(
    filename: &str,
    size: u64,
    head: &[u8],
    whole: Option<&[u8]>,
    limits: &InspectLimits,
) -> Inspection {
    let detected_type = detect_type(head);
    let mut findings = sniff::findings(filename, &detected_type, head, &limits.allowed_types);
    if size > limits.max_file_bytes {
        findings.push(Finding::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let mut text = String::new();
    match (detected_type.as_str(), whole) {
        ("application/pdf", Some(bytes)) if size <= limits.pdf_max_bytes => {
            let report = inspect_pdf(bytes);
            findings.extend(report.findings);
            text = report.text;
        }
        ("application/pdf", _) => findings.push(Finding::TooLarge {
            size,
            limit: limits.pdf_max_bytes,
        }),
        ("application/zip", Some(bytes)) => {
            findings.extend(inspect_zip(bytes, limits.zip));
        }
        ("application/zip", None) => findings.push(Finding::Malformed {
            detail: "ZIP too large to inspect".to_owned(),
        }),
        ("text/plain", Some(bytes)) => text = String::from_utf8_lossy(bytes).into_owned(),
        _ => {}
    }
    Inspection {
        detected_type,
        findings,
        text,
    }
}
