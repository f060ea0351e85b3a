//! Polyglots: one file that two readers open as two different things. A
//! PDF reader accepts `%PDF-` anywhere in the first KiB, and an unzipper
//! reads a ZIP from its end, so "text" or "an image" can carry a PDF with
//! JavaScript or an archive of executables past a check that read only
//! the first bytes.

use intake_core::decide::Finding;

use super::sniff::{find, is_zip_family};

/// How far into a file PDF readers look for the header.
const PDF_HEADER_WINDOW: usize = 1024;
/// An end-of-central-directory record is 22 bytes plus a comment of up
/// to 65,535 bytes.
pub const ZIP_TAIL_BYTES: usize = 22 + u16::MAX as usize;

/// `head` is the start of the file, `tail` its last `ZIP_TAIL_BYTES`
/// bytes (or all of it), `size` its length.
pub fn findings(detected: &str, head: &[u8], tail: &[u8], size: u64) -> Vec<Finding> {
    let mut out = Vec::new();
    let disguised = |detail: String| Finding::Disguised { detail };
    // A ZIP whose first member is a stored PDF is no disguise: its members
    // are inspected one by one.
    if detected != "application/pdf"
        && !is_zip_family(detected)
        && let Some(at) = find(&head[..head.len().min(PDF_HEADER_WINDOW)], b"%PDF-")
    {
        out.push(disguised(format!(
            "a PDF hidden at byte {at} of what starts as {detected}"
        )));
    }
    if !is_zip_family(detected) && has_zip_end(tail, size) {
        out.push(disguised(format!("a ZIP archive appended to {detected}")));
    }
    if detected.starts_with("image/") && detected != "image/svg+xml" {
        let lower = head.to_ascii_lowercase();
        for marker in [&b"<script"[..], b"<html", b"<?php", b"<svg"] {
            if find(&lower, marker).is_some() {
                out.push(disguised(format!(
                    "markup ({}) inside an image",
                    String::from_utf8_lossy(&marker[1..])
                )));
                break;
            }
        }
    }
    out
}

/// An end-of-central-directory record whose comment runs exactly to the
/// end of the file: what unzip tools look for, and not a chance match of
/// four bytes inside compressed data.
fn has_zip_end(tail: &[u8], size: u64) -> bool {
    let offset = size.saturating_sub(tail.len() as u64);
    let mut from = 0;
    while let Some(at) = find(&tail[from..], b"PK\x05\x06") {
        let start = from + at;
        if let Some(len) = tail.get(start + 20..start + 22) {
            let comment = u16::from_le_bytes([len[0], len[1]]) as u64;
            if offset + start as u64 + 22 + comment == size {
                return true;
            }
        }
        from = start + 1;
    }
    false
}

/// The last `ZIP_TAIL_BYTES` of `bytes`.
pub fn tail_of(bytes: &[u8]) -> &[u8] {
    &bytes[bytes.len().saturating_sub(ZIP_TAIL_BYTES)..]
}

#[cfg(test)]
mod tests {
    use intake_generator::files::{self, PdfAction};

    use super::*;

    fn check(detected: &str, bytes: &[u8]) -> Vec<Finding> {
        findings(detected, bytes, tail_of(bytes), bytes.len() as u64)
    }

    #[test]
    fn a_pdf_behind_a_text_prefix_is_found() {
        let mut bytes = b"Hello, this is a letter.\n".to_vec();
        bytes.extend(files::pdf(&["x"], PdfAction::JavaScript));
        assert!(matches!(
            check("text/plain", &bytes).as_slice(),
            [Finding::Disguised { .. }, ..]
        ));
    }

    #[test]
    fn a_zip_appended_to_an_image_or_a_pdf_is_found() {
        for front in [files::png(1, 4, 4), files::pdf(&["x"], PdfAction::None)] {
            let mut bytes = front.clone();
            bytes.extend(files::zip(&[("run.exe", b"MZ")], None));
            let detected = if front.starts_with(b"%PDF") {
                "application/pdf"
            } else {
                "image/png"
            };
            assert!(
                check(detected, &bytes)
                    .iter()
                    .any(|f| matches!(f, Finding::Disguised { detail } if detail.contains("ZIP"))),
                "{detected}"
            );
        }
    }

    #[test]
    fn plain_files_are_not_polyglots() {
        let png = files::png(1, 64, 64);
        assert_eq!(check("image/png", &png), vec![]);
        let pdf = files::pdf(&["Hakemus"], PdfAction::None);
        assert_eq!(check("application/pdf", &pdf), vec![]);
        let zip = files::zip(&[("a.txt", b"x")], None);
        assert_eq!(check("application/zip", &zip), vec![]);
        // Four bytes of an end record inside data, not at the end: no.
        let mut noise = png.clone();
        noise.extend(b"PK\x05\x06 and more bytes after it than any comment says");
        assert_eq!(check("image/png", &noise), vec![]);
    }

    #[test]
    fn markup_inside_an_image_is_found() {
        let mut png = files::png(1, 4, 4);
        png.extend(b"<script>alert(1)</script>");
        assert!(matches!(
            check("image/png", &png).as_slice(),
            [Finding::Disguised { .. }]
        ));
    }
}
