//! What a file really is, from its first bytes, and the findings that
//! need no parser: a type outside the allow-list, a name that lies about
//! the type, and content encrypted for someone else.

use intake_core::decide::Finding;

/// How many leading bytes sniffing looks at.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The real media type of `head` (a file's first bytes): magic bytes via
/// `infer`, else text when the bytes are UTF-8, else opaque.
pub fn detect_type(head: &[u8]) -> String {
    // Before `infer`, which takes any PEM-like armour for a certificate.
    if is_pgp_armour(head) {
        return "application/pgp-encrypted".to_owned();
    }
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut off at the end of the head is still text.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    if text && !head.contains(&0) {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// Findings from the type, name and leading bytes alone.
pub fn findings(filename: &str, detected: &str, head: &[u8], allowed: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    let extension = extension(filename);
    if let Some(scheme) = foreign_encryption(&extension, detected, head) {
        out.push(scheme);
    }
    if EXECUTABLE_EXTENSIONS.contains(&extension.as_str()) || is_executable_type(detected) {
        out.push(Finding::ActiveContent {
            detail: format!("executable file ({detected})"),
        });
    }
    if !allowed.iter().any(|a| a == detected) {
        out.push(Finding::NotAllowed {
            detected: detected.to_owned(),
        });
    }
    if let Some(claimed) = type_of_extension(&extension)
        && claimed != detected
        && !(claimed == "application/zip" && detected.starts_with("application/vnd.openxmlformats"))
    {
        out.push(Finding::TypeMismatch {
            claimed: claimed.to_owned(),
            detected: detected.to_owned(),
        });
    }
    out
}

fn extension(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "js", "jse", "vbs", "vbe", "wsf", "ps1",
    "hta", "jar", "lnk", "cpl", "dll",
];

fn is_executable_type(detected: &str) -> bool {
    matches!(
        detected,
        "application/vnd.microsoft.portable-executable"
            | "application/x-executable"
            | "application/x-elf"
            | "application/x-mach-binary"
            | "application/x-msdownload"
            | "application/java-archive"
            | "application/x-ms-shortcut"
    )
}

fn type_of_extension(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "tif" | "tiff" => "image/tiff",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "zip" => "application/zip",
        "txt" => "text/plain",
        _ => return None,
    })
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
    // An encrypted Office document is an OLE compound file holding an
    // "EncryptedPackage" stream (stream names are UTF-16LE).
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
        && contains(head, &utf16le("EncryptedPackage"))
    {
        return Some(Finding::PasswordProtected {
            what: "Office document".to_owned(),
        });
    }
    None
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        [
            "application/pdf",
            "image/png",
            "text/plain",
            "application/zip",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn types_come_from_content_not_names() {
        assert_eq!(detect_type(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(detect_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(detect_type("Hyvää päivää".as_bytes()), "text/plain");
        assert_eq!(detect_type(&[0, 1, 2, 3, 0xff]), "application/octet-stream");
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let text = "ä".repeat(10);
        assert_eq!(detect_type(&text.as_bytes()[..5]), "text/plain");
    }

    #[test]
    fn a_png_named_pdf_is_a_mismatch_but_allowed() {
        let found = findings("passport.pdf", "image/png", b"", &allowed());
        assert_eq!(
            found,
            vec![Finding::TypeMismatch {
                claimed: "application/pdf".into(),
                detected: "image/png".into()
            }]
        );
    }

    #[test]
    fn office_files_are_zips_without_a_mismatch() {
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        let mut list = allowed();
        list.push(docx.into());
        assert_eq!(findings("a.docx", docx, b"PK", &list), vec![]);
    }

    #[test]
    fn executables_are_active_content_whatever_their_name() {
        let found = findings(
            "invoice.pdf",
            "application/vnd.microsoft.portable-executable",
            b"MZ",
            &allowed(),
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
        let by_name = findings("run.bat", "text/plain", b"echo", &allowed());
        assert!(
            by_name
                .iter()
                .any(|f| matches!(f, Finding::ActiveContent { .. }))
        );
    }

    #[test]
    fn foreign_encryption_is_recognised() {
        let armour = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA...";
        assert_eq!(detect_type(armour), "application/pgp-encrypted");
        let found = findings(
            "message.asc",
            "application/pgp-encrypted",
            armour,
            &allowed(),
        );
        assert!(found.contains(&Finding::ForeignEncryption {
            scheme: "PGP".into()
        }));
        let rpmsg = findings(
            "message.rpmsg",
            "application/octet-stream",
            b"\x76\xe8",
            &allowed(),
        );
        assert!(matches!(rpmsg[0], Finding::ForeignEncryption { .. }));
        let p7m = findings(
            "smime.p7m",
            "application/octet-stream",
            b"0\x80",
            &allowed(),
        );
        assert!(matches!(p7m[0], Finding::ForeignEncryption { .. }));
    }

    #[test]
    fn an_encrypted_office_document_is_password_protected() {
        let mut cfb = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        cfb.extend(vec![0; 100]);
        cfb.extend(utf16le("EncryptedPackage"));
        let found = findings("salary.docx", "application/x-ole-storage", &cfb, &allowed());
        assert!(found.contains(&Finding::PasswordProtected {
            what: "Office document".into()
        }));
    }
}
