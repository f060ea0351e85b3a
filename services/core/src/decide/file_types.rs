//! The file types caseworkers receive, each with the names it may carry.
//! A file is judged by its content *and* its name: a PDF must be called
//! `.pdf`, a name ending in `.exe` is refused whatever is inside, and a
//! nameless mail part is judged by the type its sender declared.

use super::Finding;
use super::file_name::FileName;
use crate::events::FileKind;

/// A media type found by content, with the extensions that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    pub media_type: &'static str,
    pub extensions: &'static [&'static str],
    pub kind: FileKind,
}

const fn t(
    media_type: &'static str,
    extensions: &'static [&'static str],
    kind: FileKind,
) -> FileType {
    FileType {
        media_type,
        extensions,
        kind,
    }
}

/// Every type intake knows how to judge. Configuration chooses which of
/// them are delivered; a type not in this table never is.
pub const FILE_TYPES: &[FileType] = &[
    t("application/pdf", &["pdf"], FileKind::Pdf),
    t(
        "image/jpeg",
        &["jpg", "jpeg", "jpe", "jfif"],
        FileKind::Image,
    ),
    t("image/png", &["png"], FileKind::Image),
    t("image/tiff", &["tif", "tiff"], FileKind::Image),
    t("image/gif", &["gif"], FileKind::Image),
    t("image/webp", &["webp"], FileKind::Image),
    t("image/heif", &["heif", "heic"], FileKind::Image),
    t("image/heic", &["heic", "heif"], FileKind::Image),
    t("text/plain", &["txt", "text"], FileKind::Text),
    t("application/rtf", &["rtf"], FileKind::Document),
    t("application/msword", &["doc"], FileKind::Document),
    t("application/vnd.ms-excel", &["xls"], FileKind::Spreadsheet),
    t(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
        FileKind::Document,
    ),
    t(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
        FileKind::Spreadsheet,
    ),
    t(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        &["pptx"],
        FileKind::Presentation,
    ),
    t(
        "application/vnd.oasis.opendocument.text",
        &["odt"],
        FileKind::Document,
    ),
    t(
        "application/vnd.oasis.opendocument.spreadsheet",
        &["ods"],
        FileKind::Spreadsheet,
    ),
    t(
        "application/vnd.oasis.opendocument.presentation",
        &["odp"],
        FileKind::Presentation,
    ),
    t("application/zip", &["zip"], FileKind::Archive),
];

pub fn file_type(media_type: &str) -> Option<&'static FileType> {
    FILE_TYPES.iter().find(|t| t.media_type == media_type)
}

/// What a receipt calls a file of this detected type.
pub fn file_kind(media_type: &str) -> FileKind {
    file_type(media_type).map_or(FileKind::Other, |t| t.kind)
}

/// Names that run code when opened, wherever they sit in the name: the
/// last extension is what Windows runs, an inner one is the classic
/// `invoice.pdf.exe` disguise turned round (`photo.exe.jpg` saved again
/// by a mail client that strips the last one).
const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe",
    "com",
    "bat",
    "cmd",
    "scr",
    "pif",
    "msi",
    "msp",
    "mst",
    "js",
    "jse",
    "vbs",
    "vbe",
    "wsf",
    "wsh",
    "wsc",
    "ps1",
    "psm1",
    "psd1",
    "hta",
    "jar",
    "lnk",
    "cpl",
    "dll",
    "sys",
    "drv",
    "ocx",
    "reg",
    "inf",
    "scf",
    "url",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "appx",
    "msix",
    "appinstaller",
    "application",
    "gadget",
    "sh",
    "bash",
    "ps",
    "py",
    "pyw",
    "pl",
    "rb",
    "php",
    "apk",
    "app",
    "dmg",
    "pkg",
    "deb",
    "rpm",
    "xll",
    "xlam",
    "ppam",
    "docm",
    "dotm",
    "xlsm",
    "xltm",
    "pptm",
    "potm",
    "ppsm",
    "sldm",
    "chm",
    "svg",
    "htm",
    "html",
    "xhtml",
    "mht",
    "mhtml",
    "library-ms",
    "settingcontent-ms",
    "search-ms",
    "searchconnector-ms",
    "appref-ms",
    "website",
    "ade",
    "adp",
    "mde",
    "accde",
    "xbap",
    "vsto",
    "msc",
    "iqy",
    "slk",
    "sct",
    "diagcab",
    "one",
    "ace",
];

pub fn is_executable_extension(extension: &str) -> bool {
    EXECUTABLE_EXTENSIONS.contains(&extension)
}

/// Mail clients declare these when they do not know better; they say
/// nothing about the content.
fn is_generic_declaration(declared: &str) -> bool {
    matches!(
        declared,
        "" | "application/octet-stream" | "application/x-unknown" | "binary/octet-stream"
    )
}

/// Findings from the name (and, for a nameless part, the declared type)
/// against the type found in the content.
pub fn judge_name(name: &FileName, declared: Option<&str>, detected: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(executable) = name.extensions.iter().find(|e| is_executable_extension(e)) {
        out.push(Finding::ActiveContent {
            detail: format!("a name that runs as a program (.{executable})"),
        });
    }
    let known = file_type(detected);
    match name.extension() {
        Some(extension) => {
            if !known.is_some_and(|t| t.extensions.contains(&extension)) {
                out.push(Finding::TypeMismatch {
                    claimed: format!(".{extension}"),
                    detected: detected.to_owned(),
                });
            }
        }
        None => {
            let declared = declared.unwrap_or_default().trim().to_ascii_lowercase();
            let declared = declared.split(';').next().unwrap_or_default().trim();
            if !is_generic_declaration(declared) && !same_type(declared, detected) {
                out.push(Finding::TypeMismatch {
                    claimed: declared.to_owned(),
                    detected: detected.to_owned(),
                });
            }
        }
    }
    out
}

/// Declared types that mean the detected one (old and alternative names).
fn same_type(declared: &str, detected: &str) -> bool {
    declared == detected
        || matches!(
            (declared, detected),
            ("image/jpg" | "image/pjpeg", "image/jpeg")
                | ("application/x-pdf", "application/pdf")
                | ("image/x-png", "image/png")
                | ("application/x-zip-compressed", "application/zip")
                | ("text/rtf", "application/rtf")
                | ("image/heic", "image/heif")
                | ("image/heif", "image/heic")
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::normalise_name;

    fn judge(name: &str, detected: &str) -> Vec<Finding> {
        judge_name(&normalise_name(name), None, detected)
    }

    #[test]
    fn every_type_accepts_each_of_its_own_names() {
        for t in FILE_TYPES {
            for ext in t.extensions {
                assert_eq!(judge(&format!("x.{ext}"), t.media_type), vec![], "{t:?}");
                assert_eq!(
                    judge(&format!("X.{}", ext.to_uppercase()), t.media_type),
                    vec![]
                );
            }
        }
    }

    #[test]
    fn a_name_of_another_type_is_a_mismatch() {
        assert_eq!(
            judge("passport.pdf", "image/png"),
            vec![Finding::TypeMismatch {
                claimed: ".pdf".into(),
                detected: "image/png".into()
            }]
        );
        // A ZIP is not a Word document, whatever its name says.
        assert!(!judge("cv.docx", "application/zip").is_empty());
        // An unknown extension never matches.
        assert!(!judge("letter.xyz", "text/plain").is_empty());
    }

    #[test]
    fn executable_names_are_active_content_in_any_position() {
        for name in [
            "run.exe",
            "invoice.pdf.exe",
            "photo.exe.jpg",
            "a.HTA",
            "x.svg",
        ] {
            assert!(
                judge(name, "image/jpeg")
                    .iter()
                    .any(|f| matches!(f, Finding::ActiveContent { .. })),
                "{name}"
            );
        }
        assert!(
            judge("invoice\u{202E}fdp.exe", "application/pdf")
                .iter()
                .any(|f| matches!(f, Finding::ActiveContent { .. }))
        );
    }

    #[test]
    fn a_nameless_part_is_judged_by_its_declared_type() {
        let nameless = normalise_name("");
        assert_eq!(
            judge_name(&nameless, Some("image/png"), "image/png"),
            vec![]
        );
        assert_eq!(
            judge_name(&nameless, Some("image/jpg"), "image/jpeg"),
            vec![]
        );
        assert_eq!(
            judge_name(
                &nameless,
                Some("application/octet-stream"),
                "application/pdf"
            ),
            vec![]
        );
        assert_eq!(
            judge_name(&nameless, Some("image/png; name=x"), "application/pdf"),
            vec![Finding::TypeMismatch {
                claimed: "image/png".into(),
                detected: "application/pdf".into()
            }]
        );
    }

    #[test]
    fn kinds_come_from_the_table() {
        assert_eq!(file_kind("application/pdf"), FileKind::Pdf);
        assert_eq!(file_kind("image/heic"), FileKind::Image);
        assert_eq!(file_kind("text/html"), FileKind::Other);
    }
}
