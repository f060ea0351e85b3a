//! Real files of the kinds applicants send: PDFs (plain, with JavaScript or
//! a launch action, password-protected), images, Office documents, ZIPs
//! (plain and encrypted), and the EICAR test virus.

use std::io::{Cursor, Write};

use base64::Engine;
use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, dictionary};
use zip::write::SimpleFileOptions;

/// The EICAR test file: harmless, detected by every scanner.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// What a PDF's catalog does when opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdfAction {
    None,
    JavaScript,
    Launch,
}

/// A one-page PDF showing `lines` of text (extractable by a PDF parser).
pub fn pdf(lines: &[&str], action: PdfAction) -> Vec<u8> {
    let (mut doc, catalog) = pdf_document(lines);
    let open_action = match action {
        PdfAction::None => None,
        PdfAction::JavaScript => Some(dictionary! {
            "S" => "JavaScript",
            "JS" => Object::string_literal("app.alert('Your document is ready'); this.exportDataObject({cName: 'a'});"),
        }),
        PdfAction::Launch => Some(dictionary! {
            "S" => "Launch",
            "F" => Object::string_literal("cmd.exe"),
            "Win" => dictionary! { "F" => Object::string_literal("cmd.exe"), "P" => Object::string_literal("/c calc.exe") },
        }),
    };
    if let Some(open_action) = open_action
        && let Ok(Object::Dictionary(catalog)) = doc.get_object_mut(catalog)
    {
        catalog.set("OpenAction", open_action);
    }
    save(doc)
}

/// A PDF with the standard security handler: opening it needs a password.
/// The encryption dictionary is what readers (and intake) act on.
pub fn pdf_password_protected(lines: &[&str]) -> Vec<u8> {
    let (mut doc, _) = pdf_document(lines);
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard",
        "V" => 2,
        "R" => 3,
        "Length" => 128,
        "P" => -3904,
        "O" => Object::String(vec![0x4f; 32], lopdf::StringFormat::Hexadecimal),
        "U" => Object::String(vec![0x55; 32], lopdf::StringFormat::Hexadecimal),
    });
    doc.trailer.set("Encrypt", encrypt);
    doc.trailer.set(
        "ID",
        vec![
            Object::String(vec![0x11; 16], lopdf::StringFormat::Hexadecimal),
            Object::String(vec![0x11; 16], lopdf::StringFormat::Hexadecimal),
        ],
    );
    save(doc)
}

fn pdf_document(lines: &[&str]) -> (Document, lopdf::ObjectId) {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut operations = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 11.into()]),
        Operation::new("TL", vec![14.into()]),
        Operation::new("Td", vec![56.into(), 780.into()]),
    ];
    for line in lines {
        operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        operations.push(Operation::new("T*", vec![]));
    }
    operations.push(Operation::new("ET", vec![]));
    let content = Content { operations }.encode().expect("content encodes");
    let content_id = doc.add_object(Stream::new(Dictionary::new(), content));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    (doc, catalog)
}

fn save(mut doc: Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("writing a PDF to memory");
    out
}

/// A ZIP holding `entries`; with a password, AES-256 encrypted.
pub fn zip(entries: &[(&str, &[u8])], password: Option<&str>) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let options = SimpleFileOptions::default();
        let options = match password {
            Some(password) => options.with_aes_encryption(zip::AesMode::Aes256, password),
            None => options,
        };
        writer.start_file(*name, options).expect("zip entry");
        writer.write_all(bytes).expect("zip data");
    }
    writer.finish().expect("zip finishes").into_inner()
}

/// A minimal but valid Word document (OOXML).
pub fn docx(text: &str) -> Vec<u8> {
    let content_types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"#
    );
    zip(
        &[
            ("[Content_Types].xml", content_types.as_bytes()),
            ("_rels/.rels", rels.as_bytes()),
            ("word/document.xml", document.as_bytes()),
        ],
        None,
    )
}

/// A small RGB PNG whose pixels depend on `seed`.
pub fn png(seed: u8, width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..width * height * 3)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&pixels))
        .expect("PNG to memory");
    out
}

/// An OpenPGP message in ASCII armour, as another service would send:
/// a public-key encrypted session key packet and encrypted data that only
/// the recipient's key opens.
pub fn pgp_armoured(seed: u8) -> String {
    // PKESK (tag 1, new format) then SEIPD (tag 18): the packet framing of a
    // real encrypted message, with opaque contents.
    let mut packets = vec![0xC1, 0x0C, 0x03];
    packets.extend((0..11).map(|i| seed.wrapping_add(i)));
    packets.extend([0xD2, 0x20, 0x01]);
    packets.extend((0..31).map(|i| seed.wrapping_mul(7).wrapping_add(i)));
    let body = base64::engine::general_purpose::STANDARD.encode(&packets);
    format!("-----BEGIN PGP MESSAGE-----\n\n{body}\n=AbCd\n-----END PGP MESSAGE-----\n")
}

/// DER of a CMS EnvelopedData (S/MIME encrypted to someone else's
/// certificate), with opaque contents.
pub fn smime_enveloped(seed: u8) -> Vec<u8> {
    // ContentInfo SEQUENCE { OID 1.2.840.113549.1.7.3 envelopedData, [0] ... }
    let mut der = vec![
        0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03, 0xA0, 0x80,
    ];
    der.extend((0..64).map(|i| seed.wrapping_add(i)));
    der.extend([0x00, 0x00, 0x00, 0x00]);
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdfs_parse_and_carry_their_text_and_actions() {
        let bytes = pdf(&["Hakemus MIG-2026-100001-7"], PdfAction::None);
        let doc = Document::load_mem(&bytes).expect("a valid PDF");
        let text = doc.extract_text(&[1]).expect("text");
        assert!(text.contains("MIG-2026-100001-7"), "{text}");

        for (action, marker) in [
            (PdfAction::JavaScript, &b"/JavaScript"[..]),
            (PdfAction::Launch, b"/Launch"),
        ] {
            let bytes = pdf(&["x"], action);
            assert!(Document::load_mem(&bytes).is_ok());
            assert!(
                bytes.windows(marker.len()).any(|w| w == marker),
                "{action:?}"
            );
        }
    }

    #[test]
    fn a_protected_pdf_has_an_encryption_dictionary() {
        let bytes = pdf_password_protected(&["secret"]);
        assert!(bytes.windows(8).any(|w| w == b"/Encrypt"));
    }

    #[test]
    fn zips_round_trip_and_protected_ones_need_the_password() {
        let plain = zip(&[("a.txt", b"hello")], None);
        let mut archive = zip::ZipArchive::new(Cursor::new(plain)).expect("zip");
        assert!(!archive.by_index(0).expect("entry").encrypted());

        let locked = zip(&[("a.txt", b"hello")], Some("salasana"));
        let mut archive = zip::ZipArchive::new(Cursor::new(locked)).expect("zip");
        assert!(archive.by_index_raw(0).expect("entry").encrypted());
        assert!(archive.by_index(0).is_err(), "opened without the password");
    }

    #[test]
    fn images_and_documents_have_their_magic_bytes() {
        assert!(png(1, 8, 8).starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(docx("hei").starts_with(b"PK\x03\x04"));
        assert_eq!(EICAR.len(), 68);
        assert!(pgp_armoured(1).starts_with("-----BEGIN PGP MESSAGE-----"));
        // ContentInfo, then the envelopedData OID 1.2.840.113549.1.7.3.
        assert_eq!(
            &smime_enveloped(1)[2..13],
            &[
                0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03
            ][..]
        );
    }
}
