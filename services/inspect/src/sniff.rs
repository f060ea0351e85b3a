//! What a file really is, from its content: magic bytes via `infer`, the
//! structure of ZIP-based formats (Office Open XML and OpenDocument are
//! ZIPs told apart by their members, not their first bytes), and text told
//! apart from markup and scripts. Then the findings that need no parser:
//! a type outside the allow-list, a name that lies about the type, and
//! content encrypted for someone else.

use std::io::{Cursor, Read};

use intake_core::decide::{FileName, Finding, file_type, judge_name};

/// How many leading bytes sniffing looks at.
pub const HEAD_BYTES: usize = 64 * 1024;

pub const ZIP: &str = "application/zip";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
/// An Office Open XML package that is none of the three documents.
const OOXML_OTHER: &str = "application/vnd.openxmlformats-package";
const OLE: &str = "application/x-ole-storage";

/// The real media type of a file, from its first bytes and, when it is
/// held in memory, all of it (a ZIP's members are listed at its end).
pub fn detect_type(head: &[u8], whole: Option<&[u8]>) -> String {
    // Before `infer`, which takes any PEM-like armour for a certificate.
    if is_pgp_armour(head) {
        return "application/pgp-encrypted".to_owned();
    }
    // A BOM or blank lines before the header, as some web services write
    // them: still a PDF, and inspected as one.
    let trimmed = head
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(head)
        .trim_ascii_start();
    if trimmed.starts_with(b"%PDF-") {
        return "application/pdf".to_owned();
    }
    // infer tells Word from Excel by the compound file's directory, which
    // may lie past the head.
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
        && let Some(kind) = whole.and_then(infer::get)
    {
        return kind.mime_type().to_owned();
    }
    if let Some(kind) = infer::get(head) {
        let found = kind.mime_type();
        if is_zip_family(found) || head.starts_with(b"PK\x03\x04") {
            return whole
                .and_then(zip_structure)
                .unwrap_or_else(|| found.to_owned());
        }
        // infer knows HTML and XML by their first tag; an SVG is XML too.
        if found.starts_with("text/") {
            let refined = text_type(whole.unwrap_or(head));
            return if refined == "text/plain" {
                found
            } else {
                refined
            }
            .to_owned();
        }
        return found.to_owned();
    }
    // Markup anywhere makes text active, not only in its first bytes.
    let text = whole.unwrap_or(head);
    if is_text(text) {
        return text_type(text).to_owned();
    }
    "application/octet-stream".to_owned()
}

/// Every media type that is a ZIP underneath.
pub fn is_zip_family(detected: &str) -> bool {
    detected == ZIP
        || detected.starts_with("application/vnd.openxmlformats")
        || detected.starts_with("application/vnd.oasis.opendocument")
        || matches!(
            detected,
            "application/epub+zip"
                | "application/java-archive"
                | "application/vnd.android.package-archive"
        )
}

pub fn is_ole(detected: &str) -> bool {
    matches!(
        detected,
        OLE | "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint"
    )
}

/// A ZIP's kind from the names of its members: Office Open XML by its
/// `[Content_Types].xml` and the document's folder (whatever order Word
/// wrote them in), OpenDocument by its `mimetype` member, Java and
/// Android packages by their manifests.
fn zip_structure(bytes: &[u8]) -> Option<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    let has_dir = |dir: &str| names.iter().any(|n| n.starts_with(dir));
    if has("[Content_Types].xml") {
        return Some(
            if has_dir("word/") {
                DOCX
            } else if has_dir("xl/") {
                XLSX
            } else if has_dir("ppt/") {
                PPTX
            } else {
                OOXML_OTHER
            }
            .to_owned(),
        );
    }
    if has("mimetype") {
        let mut declared = Vec::new();
        archive
            .by_name("mimetype")
            .ok()?
            .take(128)
            .read_to_end(&mut declared)
            .ok()?;
        // The member's bytes are the sender's: only a known name is kept.
        const KNOWN: [&str; 5] = [
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
            "application/vnd.oasis.opendocument.graphics",
            "application/epub+zip",
        ];
        let declared = String::from_utf8_lossy(&declared);
        if let Some(known) = KNOWN.iter().find(|k| declared.trim() == **k) {
            return Some((*known).to_owned());
        }
        if declared.starts_with("application/vnd.oasis.opendocument.") {
            return Some("application/vnd.oasis.opendocument".to_owned());
        }
    }
    if has("META-INF/MANIFEST.MF") || has("classes.dex") {
        return Some(
            if has("classes.dex") {
                "application/vnd.android.package-archive"
            } else {
                "application/java-archive"
            }
            .to_owned(),
        );
    }
    Some(ZIP.to_owned())
}

fn is_text(head: &[u8]) -> bool {
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut off at the end of the head is still text.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    utf8 && !head.contains(&0)
}

/// Text that a browser or a shell would act on is not plain text. One
/// pass and no copy: a file held whole may be hundreds of MiB (an Office
/// file's XML member), so each `<` is looked at once.
fn text_type(text: &[u8]) -> &'static str {
    let start = text
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(text)
        .trim_ascii_start();
    if start.starts_with(b"#!") {
        return "text/x-shellscript";
    }
    const MARKUP: [&[u8]; 9] = [
        b"html",
        b"!doctype html",
        b"script",
        b"iframe",
        b"object",
        b"embed",
        b"body",
        b"meta",
        b"form",
    ];
    let mut html = false;
    for at in memchr::memchr_iter(b'<', text) {
        let tag = &text[at + 1..];
        if starts_with_ignoring_case(tag, b"svg") {
            return "image/svg+xml";
        }
        html = html || MARKUP.iter().any(|m| starts_with_ignoring_case(tag, m));
    }
    if html {
        return "text/html";
    }
    if starts_with_ignoring_case(start, b"<?xml") {
        return "application/xml";
    }
    "text/plain"
}

fn starts_with_ignoring_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Findings from the type, name and leading bytes alone.
pub fn findings(
    name: &FileName,
    declared: Option<&str>,
    detected: &str,
    head: &[u8],
    allowed: &[String],
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(scheme) = foreign_encryption(name.extension().unwrap_or_default(), detected, head) {
        out.push(scheme);
    }
    if is_executable_type(detected) {
        out.push(Finding::ActiveContent {
            detail: format!("executable file ({detected})"),
        });
    }
    if !allowed.iter().any(|a| a == detected) || file_type(detected).is_none() {
        out.push(Finding::NotAllowed {
            detected: detected.to_owned(),
        });
    }
    out.extend(judge_name(name, declared, detected));
    out
}

pub fn is_executable_type(detected: &str) -> bool {
    matches!(
        detected,
        "application/vnd.microsoft.portable-executable"
            | "application/x-executable"
            | "application/x-elf"
            | "application/x-mach-binary"
            | "application/x-msdownload"
            | "application/java-archive"
            | "application/vnd.android.package-archive"
            | "application/vnd.android.dex"
            | "application/x-ms-shortcut"
            | "text/x-shellscript"
    )
}

fn is_pgp_armour(head: &[u8]) -> bool {
    let start = head.len().min(4096);
    contains(&head[..start], b"-----BEGIN PGP MESSAGE-----")
}

fn foreign_encryption(extension: &str, detected: &str, head: &[u8]) -> Option<Finding> {
    let scheme = |s: &str| {
        Some(Finding::ForeignEncryption {
            scheme: s.to_owned(),
        })
    };
    if is_pgp_armour(head) || matches!(extension, "pgp" | "gpg") || head.starts_with(&[0x85, 0x01])
    {
        return scheme("PGP");
    }
    if matches!(extension, "p7m" | "p7e") || detected == "application/pkcs7-mime" {
        return scheme("S/MIME");
    }
    if extension == "rpmsg" {
        return scheme("Microsoft protected message (.rpmsg)");
    }
    None
}

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use intake_core::decide::normalise_name;
    use intake_generator::files;

    use super::*;

    fn allowed() -> Vec<String> {
        ["application/pdf", "image/png", "text/plain", ZIP, DOCX]
            .map(String::from)
            .to_vec()
    }

    fn judge(name: &str, detected: &str, head: &[u8]) -> Vec<Finding> {
        findings(&normalise_name(name), None, detected, head, &allowed())
    }

    #[test]
    fn types_come_from_content_not_names() {
        assert_eq!(detect_type(b"%PDF-1.7\n", None), "application/pdf");
        assert_eq!(
            detect_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None),
            "image/png"
        );
        assert_eq!(detect_type("Hyvää päivää".as_bytes(), None), "text/plain");
        assert_eq!(
            detect_type(&[0, 1, 2, 3, 0xff], None),
            "application/octet-stream"
        );
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let text = "ä".repeat(10);
        assert_eq!(detect_type(&text.as_bytes()[..5], None), "text/plain");
    }

    #[test]
    fn markup_and_scripts_are_not_plain_text() {
        for (content, expected) in [
            (&b"<html><body>hi</body></html>"[..], "text/html"),
            (b"\xef\xbb\xbf  <!DOCTYPE HTML><p>x", "text/html"),
            (b"Dear sir,\n<script>alert(1)</script>", "text/html"),
            (
                b"<?xml version=\"1.0\"?><svg xmlns=\"x\"><script/></svg>",
                "image/svg+xml",
            ),
            (b"#!/bin/sh\nrm -rf ~", "text/x-shellscript"),
            (b"<?xml version=\"1.0\"?><a/>", "application/xml"),
        ] {
            assert_eq!(detect_type(content, None), expected, "{content:?}");
        }
    }

    #[test]
    fn a_word_document_is_recognised_by_its_members_in_any_order() {
        let docx = files::docx("Vuokrasopimus");
        assert_eq!(detect_type(&docx, Some(&docx)), DOCX);
        // Members in another order than Word writes them.
        let reordered = files::zip(
            &[
                ("word/document.xml", b"<w:document/>"),
                ("[Content_Types].xml", b"<Types/>"),
            ],
            None,
        );
        assert_eq!(detect_type(&reordered, Some(&reordered)), DOCX);
        let zip = files::zip(&[("a.pdf", b"%PDF-1.4")], None);
        assert_eq!(detect_type(&zip, Some(&zip)), ZIP);
        let odt = files::zip(
            &[
                ("mimetype", b"application/vnd.oasis.opendocument.text"),
                ("content.xml", b"<office:document-content/>"),
            ],
            None,
        );
        assert_eq!(
            detect_type(&odt, Some(&odt)),
            "application/vnd.oasis.opendocument.text"
        );
        let jar = files::zip(&[("META-INF/MANIFEST.MF", b"Main-Class: X")], None);
        assert_eq!(detect_type(&jar, Some(&jar)), "application/java-archive");
    }

    #[test]
    fn a_genuine_docx_is_neither_refused_nor_flagged() {
        let docx = files::docx("hei");
        let detected = detect_type(&docx, Some(&docx));
        assert_eq!(judge("vuokrasopimus.docx", &detected, &docx), vec![]);
    }

    #[test]
    fn a_png_named_pdf_is_a_mismatch() {
        assert_eq!(
            judge("passport.pdf", "image/png", b""),
            vec![Finding::TypeMismatch {
                claimed: ".pdf".into(),
                detected: "image/png".into()
            }]
        );
    }

    #[test]
    fn executables_are_active_content_whatever_their_name() {
        let found = judge(
            "invoice.pdf",
            "application/vnd.microsoft.portable-executable",
            b"MZ",
        );
        assert!(
            found
                .iter()
                .any(|f| matches!(f, Finding::ActiveContent { .. }))
        );
        assert!(
            found
                .iter()
                .any(|f| matches!(f, Finding::NotAllowed { .. }))
        );
        let by_name = judge("run.bat", "text/plain", b"echo");
        assert!(
            by_name
                .iter()
                .any(|f| matches!(f, Finding::ActiveContent { .. }))
        );
    }

    #[test]
    fn markup_far_into_a_text_file_is_still_markup() {
        let mut text = "Selvitys.\n".repeat(HEAD_BYTES / 5).into_bytes();
        let head = text[..HEAD_BYTES].to_vec();
        assert_eq!(detect_type(&head, Some(&text)), "text/plain");
        text.extend_from_slice(b"<script>location='x'</script>");
        assert_eq!(detect_type(&head, Some(&text)), "text/html");
        let mut binary = text.clone();
        binary.push(0);
        assert_eq!(
            detect_type(&head, Some(&binary)),
            "application/octet-stream"
        );
    }

    #[test]
    fn markup_is_not_allowed_even_when_named_txt() {
        let found = judge("letter.txt", "text/html", b"<html>");
        assert!(
            found
                .iter()
                .any(|f| matches!(f, Finding::NotAllowed { .. }))
        );
    }

    #[test]
    fn foreign_encryption_is_recognised() {
        let armour = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA...";
        assert_eq!(detect_type(armour, None), "application/pgp-encrypted");
        let found = judge("message.asc", "application/pgp-encrypted", armour);
        assert!(found.contains(&Finding::ForeignEncryption {
            scheme: "PGP".into()
        }));
        let rpmsg = judge("message.rpmsg", "application/octet-stream", b"\x76\xe8");
        assert!(matches!(rpmsg[0], Finding::ForeignEncryption { .. }));
        let p7m = judge("smime.p7m", "application/octet-stream", b"0\x80");
        assert!(matches!(p7m[0], Finding::ForeignEncryption { .. }));
    }
}
