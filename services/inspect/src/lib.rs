//! intake-inspect: looking inside decrypted content, without I/O: MIME
//! structure, real file types and names, polyglots, PDF structure, ZIP and
//! Office members. Each returns findings that
//! `intake_core::decide::classify` turns into a verdict. Every byte it is
//! given comes from an applicant; every function here is fuzzed (`fuzz/`).

mod archive;
mod mime;
mod mime_collect;
mod mime_stream;
mod office;
mod pdf;
pub(crate) mod polyglot;
mod sniff;

pub use archive::{ZipBudget, inspect_zip};
pub use mime::{
    LeafRole, MailFile, MimeError, MimeLimits, Unpacked, add_text, has_facts, html_text,
    leaf_facts, leaf_role, unnamed_file, unpack,
};
pub use mime_collect::{Collector, PartWalk, unpack_streamed};
pub use mime_stream::{Kind, MAX_QP_LINE, PartHead, Piece, Splitter, StreamLimits};
pub use pdf::{PdfReport, inspect_pdf};
pub use polyglot::{ZIP_TAIL_BYTES, tail_of};
pub use sniff::{HEAD_BYTES, detect_type, is_ole, is_zip_family};

use intake_core::decide::{Finding, normalise_name};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InspectLimits {
    /// Media types delivered to caseworkers.
    pub allowed_types: Vec<String>,
    pub max_file_bytes: u64,
    /// Larger PDFs are not parsed, and so not delivered.
    pub pdf_max_bytes: u64,
    pub zip: ZipBudget,
}

/// What inspection of one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inspection {
    pub detected_type: String,
    pub findings: Vec<Finding>,
    /// Text found inside (PDF), for identifiers.
    pub text: String,
}

/// One file as read: its name and declared type as the sender gave them,
/// its size, first and last bytes, and all of it when small enough to hold.
#[derive(Debug, Clone, Copy)]
pub struct FileBytes<'a> {
    pub filename: &'a str,
    pub declared_type: Option<&'a str>,
    pub size: u64,
    pub head: &'a [u8],
    pub tail: &'a [u8],
    pub whole: Option<&'a [u8]>,
}

impl<'a> FileBytes<'a> {
    /// A file held whole in memory: head and tail are cut from it.
    pub fn whole(filename: &'a str, declared_type: Option<&'a str>, bytes: &'a [u8]) -> Self {
        FileBytes {
            filename,
            declared_type,
            size: bytes.len() as u64,
            head: &bytes[..bytes.len().min(HEAD_BYTES)],
            tail: tail_of(bytes),
            whole: Some(bytes),
        }
    }
}

/// Inspects a file by its content and its name. CPU-bound (PDF and ZIP
/// parsing): call from a blocking task.
pub fn inspect_file(file: FileBytes<'_>, limits: &InspectLimits) -> Inspection {
    let detected_type = detect_type(file.head, file.whole);
    let name = normalise_name(file.filename);
    let mut findings = sniff::findings(
        &name,
        file.declared_type,
        &detected_type,
        file.head,
        &limits.allowed_types,
    );
    findings.extend(polyglot::findings(
        &detected_type,
        file.head,
        file.tail,
        file.size,
    ));
    if file.size > limits.max_file_bytes {
        findings.push(Finding::TooLarge {
            size: file.size,
            limit: limits.max_file_bytes,
        });
    }
    let mut text = String::new();
    let too_large_to_inspect = |what: &str| Finding::Malformed {
        detail: format!("{what} too large to inspect"),
    };
    match (detected_type.as_str(), file.whole) {
        ("application/pdf", Some(bytes)) if file.size <= limits.pdf_max_bytes => {
            let report = inspect_pdf(bytes);
            findings.extend(report.findings);
            text = report.text;
        }
        ("application/pdf", _) => findings.push(Finding::TooLarge {
            size: file.size,
            limit: limits.pdf_max_bytes,
        }),
        (zip, Some(bytes)) if sniff::is_zip_family(zip) => {
            findings.extend(inspect_zip(bytes, limits.zip));
        }
        (zip, None) if sniff::is_zip_family(zip) => findings.push(too_large_to_inspect("ZIP")),
        (ole, Some(bytes)) if sniff::is_ole(ole) => findings.extend(office::ole_findings(bytes)),
        (ole, None) if sniff::is_ole(ole) => findings.push(too_large_to_inspect("Office document")),
        ("text/plain", Some(bytes)) => text = String::from_utf8_lossy(bytes).into_owned(),
        // Text is told from markup and binary by all of it, not its head:
        // past the budget a file could be anything after its first bytes.
        ("text/plain", None) => findings.push(too_large_to_inspect("text file")),
        _ => {}
    }
    Inspection {
        detected_type,
        findings,
        text,
    }
}

#[cfg(test)]
mod tests {
    use intake_core::decide::{PartVerdict, classify};
    use intake_core::events::RefusalReason;
    use intake_generator::files::{self, PdfAction};

    use super::*;

    fn limits() -> InspectLimits {
        InspectLimits {
            allowed_types: intake_core::decide::FILE_TYPES
                .iter()
                .map(|t| t.media_type.to_owned())
                .collect(),
            max_file_bytes: 1 << 30,
            pdf_max_bytes: 1 << 24,
            zip: ZipBudget {
                max_entries: 100,
                max_total_bytes: 1 << 24,
                max_ratio: 100,
                max_depth: 3,
            },
        }
    }

    fn verdict(name: &str, bytes: &[u8]) -> PartVerdict {
        classify(&inspect_file(FileBytes::whole(name, None, bytes), &limits()).findings)
    }

    fn refusal(name: &str, bytes: &[u8]) -> Option<RefusalReason> {
        verdict(name, bytes).refusal()
    }

    #[test]
    fn a_text_file_not_held_whole_is_refused_whatever_its_head_says() {
        let head = b"plain words\n".repeat(100);
        let file = FileBytes {
            filename: "notes.txt",
            declared_type: Some("text/plain"),
            size: 100 << 20,
            head: &head,
            tail: b"PK\x05\x06 and more",
            whole: None,
        };
        let inspection = inspect_file(file, &limits());
        assert_eq!(inspection.detected_type, "text/plain");
        assert_ne!(classify(&inspection.findings), PartVerdict::Accept);
    }

    #[test]
    fn genuine_files_of_every_kind_are_accepted() {
        assert_eq!(
            refusal("passi.pdf", &files::pdf(&["x"], PdfAction::None)),
            None
        );
        assert_eq!(refusal("kuva.png", &files::png(3, 8, 8)), None);
        assert_eq!(refusal("sopimus.docx", &files::docx("hei")), None);
        assert_eq!(refusal("kirje.txt", "Hyvää päivää".as_bytes()), None);
        assert_eq!(
            refusal(
                "liitteet.zip",
                &files::zip(&[("a.pdf", &files::pdf(&["x"], PdfAction::None))], None)
            ),
            None
        );
    }

    #[test]
    fn each_hostile_shape_is_refused_with_a_reason() {
        let mut text_then_pdf = b"Dear caseworker\n".to_vec();
        text_then_pdf.extend(files::pdf(&["x"], PdfAction::JavaScript));
        let mut image_then_zip = files::png(1, 4, 4);
        image_then_zip.extend(files::zip(&[("run.exe", b"MZ")], None));
        let macro_docx = files::zip(
            &[
                ("[Content_Types].xml", &b"<Types/>"[..]),
                ("word/document.xml", b"<w:document/>"),
                ("word/vbaProject.bin", b"\xD0\xCF\x11\xE0"),
            ],
            None,
        );
        let cases: Vec<(&str, Vec<u8>, RefusalReason)> = vec![
            ("letter.txt", text_then_pdf, RefusalReason::Dangerous),
            ("photo.png", image_then_zip, RefusalReason::Dangerous),
            (
                "page.txt",
                b"<html><script>x()</script></html>".to_vec(),
                RefusalReason::UnsupportedType,
            ),
            (
                "drawing.png",
                b"<svg onload=\"x()\"/>".to_vec(),
                RefusalReason::UnsupportedType,
            ),
            (
                "invoice\u{202E}fdp.exe",
                b"plain words".to_vec(),
                RefusalReason::Dangerous,
            ),
            (
                "scan.pdf.js",
                b"plain words".to_vec(),
                RefusalReason::Dangerous,
            ),
            (
                "report.pdf. . ",
                files::png(2, 4, 4),
                RefusalReason::TypeMismatch,
            ),
            (
                "passport.pdf",
                files::png(2, 4, 4),
                RefusalReason::TypeMismatch,
            ),
            ("cv.docx", macro_docx, RefusalReason::Dangerous),
            (
                "cv.docx",
                files::zip(&[("a.txt", b"x")], None),
                RefusalReason::TypeMismatch,
            ),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(refusal(name, &bytes), Some(expected), "{name}");
        }
    }
}
