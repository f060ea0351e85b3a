//! ZIP-based files expanded under a budget: plain ZIPs, and Office Open
//! XML and OpenDocument files, which are ZIPs too. Entries, total size,
//! compression ratio and nesting depth are capped before anything is
//! decompressed, so a zip bomb costs a refusal, not the worker. Members are
//! sniffed like any file and judged by the Office rules; the virus scanner
//! sees the archive whole (clamd unpacks it too).

use std::io::{Cursor, Read};

use intake_core::decide::{Finding, normalise_name};

use super::{office, sniff};

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ZipBudget {
    pub max_entries: usize,
    pub max_total_bytes: u64,
    /// Uncompressed over compressed, per entry.
    pub max_ratio: u64,
    pub max_depth: usize,
}

pub fn inspect_zip(bytes: &[u8], budget: ZipBudget) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut total = 0u64;
    walk(bytes, budget, 0, &mut total, &mut findings);
    findings.sort_by_key(|f| format!("{f:?}"));
    findings.dedup();
    findings
}

fn walk(bytes: &[u8], budget: ZipBudget, depth: usize, total: &mut u64, out: &mut Vec<Finding>) {
    let malformed = |detail: String| Finding::Malformed { detail };
    if depth > budget.max_depth {
        out.push(malformed(format!(
            "archives nested deeper than {}",
            budget.max_depth
        )));
        return;
    }
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(e) => {
            out.push(malformed(format!("ZIP does not open: {e}")));
            return;
        }
    };
    // Two entries of one name: the zip crate keeps the last, an unzip tool
    // shows both. What the directory counts must be what we walk.
    if let Some(declared) = declared_entries(bytes)
        && declared != archive.len()
    {
        out.push(malformed(format!(
            "ZIP declares {declared} entries but {} can be read (duplicate names?)",
            archive.len()
        )));
        return;
    }
    // Members of a plain archive are files an applicant sends; members of
    // an Office file are its own parts, judged by the Office rules.
    let plain = sniff::detect_type(bytes, Some(bytes)) == sniff::ZIP;
    if archive.len() > budget.max_entries {
        out.push(malformed(format!(
            "ZIP has {} entries, over {}",
            archive.len(),
            budget.max_entries
        )));
        return;
    }
    for index in 0..archive.len() {
        let (name, size, encrypted, is_dir) = match archive.by_index_raw(index) {
            Ok(entry) => (
                entry.name().map(|n| n.into_owned()).unwrap_or_default(),
                entry.size(),
                entry.encrypted(),
                entry.is_dir(),
            ),
            Err(e) => {
                out.push(malformed(format!("ZIP entry {index} unreadable: {e}")));
                return;
            }
        };
        if encrypted {
            out.push(Finding::PasswordProtected {
                what: "ZIP".to_owned(),
            });
            continue;
        }
        if is_dir {
            continue;
        }
        let compressed = archive
            .by_index_raw(index)
            .map(|e| e.compressed_size())
            .unwrap_or(0);
        *total = total.saturating_add(size);
        if *total > budget.max_total_bytes
            || size > budget.max_ratio.saturating_mul(compressed.max(1))
        {
            out.push(malformed(
                "ZIP expands beyond the inspection budget".to_owned(),
            ));
            return;
        }
        let mut member = Vec::with_capacity(size as usize);
        // Read one byte past the declared size: a lying header is caught.
        let read = archive
            .by_index(index)
            .and_then(|entry| Ok(entry.take(size + 1).read_to_end(&mut member)?));
        if let Err(e) = read {
            out.push(malformed(format!(
                "ZIP entry {name:?} does not expand: {e}"
            )));
            continue;
        }
        if member.len() as u64 > size {
            out.push(malformed(format!(
                "ZIP entry {name:?} is larger than declared"
            )));
            return;
        }
        member_findings(&name, &member, out);
        let head = &member[..member.len().min(sniff::HEAD_BYTES)];
        let detected = sniff::detect_type(head, Some(&member));
        if sniff::is_zip_family(&detected) {
            walk(&member, budget, depth + 1, total, out);
        } else if plain {
            file_in_archive(&detected, &member, out);
        }
    }
}

/// A file inside a plain archive is judged as if sent on its own: a type
/// that is not accepted, or a PDF with active content, refuses the archive.
fn file_in_archive(detected: &str, member: &[u8], out: &mut Vec<Finding>) {
    if intake_core::decide::file_type(detected).is_none() {
        out.push(Finding::NotAllowed {
            detected: format!("{detected} inside the archive"),
        });
    }
    if detected == "application/pdf" {
        for finding in super::inspect_pdf(member).findings {
            out.push(match finding {
                Finding::ActiveContent { detail } => Finding::ActiveContent {
                    detail: format!("{detail} inside the archive"),
                },
                other => other,
            });
        }
    }
}

/// The entry count in the end-of-central-directory record, when there is
/// one (not for ZIP64, whose count lives elsewhere).
fn declared_entries(bytes: &[u8]) -> Option<usize> {
    let tail = super::polyglot::tail_of(bytes);
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))?;
    let count = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    (count != u16::MAX).then_some(usize::from(count))
}

/// What one member is: an executable by name or content, encrypted for
/// someone else, an active Office part, an OLE file with macros.
fn member_findings(name: &str, member: &[u8], out: &mut Vec<Finding>) {
    let inside = |f: Finding| match f {
        Finding::ActiveContent { detail } => Finding::ActiveContent {
            detail: format!("{detail} inside the archive"),
        },
        other => other,
    };
    let head = &member[..member.len().min(sniff::HEAD_BYTES)];
    let detected = sniff::detect_type(head, None);
    // The name's findings include a program's name in any position.
    for finding in sniff::findings(&normalise_name(name), None, &detected, head, &[]) {
        if matches!(
            finding,
            Finding::ActiveContent { .. }
                | Finding::ForeignEncryption { .. }
                | Finding::PasswordProtected { .. }
        ) {
            out.push(inside(finding));
        }
    }
    out.extend(
        office::member_findings(name, member)
            .into_iter()
            .map(inside),
    );
    if sniff::is_ole(&detected) {
        out.extend(office::ole_findings(member).into_iter().map(inside));
    }
}

#[cfg(test)]
mod tests {
    use intake_generator::files;

    use super::*;

    const BUDGET: ZipBudget = ZipBudget {
        max_entries: 10,
        max_total_bytes: 1 << 20,
        max_ratio: 100,
        max_depth: 2,
    };

    #[test]
    fn a_plain_archive_of_documents_is_fine() {
        let zip = files::zip(
            &[
                ("a.pdf", &files::pdf(&["x"], files::PdfAction::None)),
                ("b.txt", b"hello"),
            ],
            None,
        );
        assert_eq!(inspect_zip(&zip, BUDGET), vec![]);
    }

    #[test]
    fn a_password_is_found_without_expanding() {
        let zip = files::zip(&[("palkat.pdf", b"%PDF-1.4")], Some("salasana"));
        assert_eq!(
            inspect_zip(&zip, BUDGET),
            vec![Finding::PasswordProtected { what: "ZIP".into() }]
        );
    }

    #[test]
    fn an_executable_inside_is_active_content() {
        let zip = files::zip(&[("eicar.com", files::EICAR)], None);
        assert!(matches!(
            inspect_zip(&zip, BUDGET).as_slice(),
            [Finding::ActiveContent { .. }]
        ));
    }

    #[test]
    fn a_bomb_is_refused_by_ratio() {
        let zeros = vec![0u8; 512 * 1024];
        let zip = files::zip(&[("zeros.txt", &zeros)], None);
        assert!(matches!(
            inspect_zip(&zip, BUDGET).as_slice(),
            [Finding::Malformed { detail }] if detail.contains("budget")
        ));
    }

    #[test]
    fn too_many_entries_and_too_deep_nesting_are_refused() {
        let names: Vec<String> = (0..11).map(|i| format!("{i}.txt")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        assert!(matches!(
            inspect_zip(&files::zip(&entries, None), BUDGET).as_slice(),
            [Finding::Malformed { .. }]
        ));
        let mut nested = files::zip(&[("x.txt", b"x")], None);
        for _ in 0..4 {
            nested = files::zip(&[("inner.zip", &nested)], None);
        }
        assert!(matches!(
            inspect_zip(&nested, BUDGET).as_slice(),
            [Finding::Malformed { detail }] if detail.contains("nested")
        ));
    }

    fn docx_with(extra: &[(&str, &[u8])]) -> Vec<u8> {
        let mut entries: Vec<(&str, &[u8])> = vec![
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
        ];
        entries.extend_from_slice(extra);
        files::zip(&entries, None)
    }

    #[test]
    fn an_office_file_is_expanded_and_judged_inside() {
        assert_eq!(inspect_zip(&files::docx("hei"), BUDGET), vec![]);
        for (name, bytes) in [
            ("word/vbaProject.bin", &b"\xD0\xCF"[..]),
            ("word/embeddings/run.exe", b"MZ\x90\0"),
            ("word/activeX/activeX1.xml", b"<ax/>"),
        ] {
            let found = inspect_zip(&docx_with(&[(name, bytes)]), BUDGET);
            assert!(
                found
                    .iter()
                    .any(|f| matches!(f, Finding::ActiveContent { .. })),
                "{name}: {found:?}"
            );
        }
        let locked = files::zip(
            &[
                ("[Content_Types].xml", b"<Types/>"),
                ("word/document.xml", b"x"),
            ],
            Some("salasana"),
        );
        assert!(
            inspect_zip(&locked, BUDGET)
                .contains(&Finding::PasswordProtected { what: "ZIP".into() })
        );
    }

    #[test]
    fn a_document_inside_an_archive_is_expanded_too() {
        let inner = docx_with(&[("word/vbaProject.bin", b"x")]);
        let outer = files::zip(&[("hakemus.docx", &inner)], None);
        assert!(
            inspect_zip(&outer, BUDGET)
                .iter()
                .any(|f| matches!(f, Finding::ActiveContent { .. }))
        );
    }

    #[test]
    fn a_pdf_with_javascript_or_a_foreign_type_inside_a_zip_is_refused() {
        let js = files::pdf(&["Lasku"], files::PdfAction::JavaScript);
        let found = inspect_zip(&files::zip(&[("hakemus.pdf", &js)], None), BUDGET);
        assert!(
            found
                .iter()
                .any(|f| matches!(f, Finding::ActiveContent { .. })),
            "{found:?}"
        );
        let seven = files::zip(&[("x.7z", b"7z\xBC\xAF\x27\x1C\0\x04")], None);
        assert!(
            inspect_zip(&seven, BUDGET)
                .iter()
                .any(|f| matches!(f, Finding::NotAllowed { .. }))
        );
    }

    #[test]
    fn a_name_used_twice_cannot_hide_an_entry() {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for body in [&b"MZ\x90\0"[..], b"hello"] {
            // The zip crate refuses a duplicate name; write raw entries.
            writer
                .start_file(
                    format!("docs-{}.txt", body.len()),
                    zip::write::SimpleFileOptions::default(),
                )
                .expect("entry");
            std::io::Write::write_all(&mut writer, body).expect("data");
        }
        let mut bytes = writer.finish().expect("zip").into_inner();
        // Give both the same name, in local and central headers alike.
        let from = b"docs-4.txt";
        let to = b"docs-5.txt";
        let mut i = 0;
        while let Some(at) = bytes[i..].windows(from.len()).position(|w| w == from) {
            bytes[i + at..i + at + from.len()].copy_from_slice(to);
            i += at + 1;
        }
        assert!(
            inspect_zip(&bytes, BUDGET).iter().any(
                |f| matches!(f, Finding::Malformed { detail } if detail.contains("duplicate"))
            ),
            "{:?}",
            inspect_zip(&bytes, BUDGET)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            inspect_zip(b"PK\x03\x04 broken", BUDGET).as_slice(),
            [Finding::Malformed { .. }]
        ));
    }
}
