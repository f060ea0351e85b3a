//! Seed corpora for the fuzz targets, from the generator's real files:
//! `cargo run --manifest-path fuzz/Cargo.toml --features seeds --bin seeds` writes them to
//! `fuzz/corpus/<target>/` (not committed; made again at will).

use std::path::Path;

use intake_generator::files::{self, PdfAction};
use intake_generator::mail::{Attachment, Mail};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("corpus directory");
    std::fs::write(dir.join(name), bytes).expect("seed");
}

fn named(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("{name}\n").into_bytes();
    out.extend_from_slice(bytes);
    out
}

fn main() {
    let pdfs = [
        (
            "plain.pdf",
            files::pdf(&["Hakemus MIG-2026-000001-2"], PdfAction::None),
        ),
        ("js.pdf", files::pdf(&["Lasku"], PdfAction::JavaScript)),
        ("launch.pdf", files::pdf(&["Lasku"], PdfAction::Launch)),
        ("protected.pdf", files::pdf_password_protected(&["Tiliote"])),
    ];
    let zips = [
        (
            "plain.zip",
            files::zip(&[("a.pdf", b"%PDF-1.4 x"), ("b.txt", b"hei")], None),
        ),
        (
            "locked.zip",
            files::zip(&[("palkat.pdf", b"%PDF-1.4")], Some("salasana")),
        ),
        (
            "eicar.zip",
            files::zip(&[("eicar.com", files::EICAR)], None),
        ),
        ("letter.docx", files::docx("Vuokrasopimus")),
    ];
    for (name, bytes) in &pdfs {
        write("pdf_inspect", name, bytes);
        write("inspect_file", name, &named(name, bytes));
    }
    for (name, bytes) in &zips {
        write("zip_expand", name, bytes);
        write("inspect_file", name, &named(name, bytes));
    }
    let png = files::png(7, 16, 16);
    write("inspect_file", "photo.png", &named("photo.png", &png));
    write(
        "inspect_file",
        "letter.txt",
        &named("kirje.txt", "Hyvää päivää".as_bytes()),
    );

    let mail = Mail {
        from_name: "Aino".into(),
        from: "aino@example.org".into(),
        to: "supplements@intake.invalid".into(),
        subject: "Hakemus MIG-2026-000001-2".into(),
        text: "Liitteenä passi.".into(),
        message_id: "<seed@example.org>".into(),
        date: 1_764_000_000,
        attachments: vec![
            Attachment {
                content_type: "application/pdf".into(),
                filename: "passi.pdf".into(),
                bytes: pdfs[0].1.clone(),
            },
            Attachment {
                content_type: "image/png".into(),
                filename: "kuva.png".into(),
                bytes: png,
            },
        ],
        headers: vec![("Auto-Submitted".into(), "no".into())],
    };
    let forwarded = format!(
        "Subject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: message/rfc822\r\n\r\n{}\r\n--b--\r\n",
        String::from_utf8_lossy(&mail.to_bytes())
    );
    write("mime_unpack", "mail.eml", &mail.to_bytes());
    write("mime_unpack", "forwarded.eml", forwarded.as_bytes());
    // The first byte picks the chunk size.
    write("mime_stream", "mail.eml", &[&[7][..], &mail.to_bytes()].concat());
    write(
        "mime_stream",
        "forwarded.eml",
        &[&[63][..], forwarded.as_bytes()].concat(),
    );
    write(
        "html_text",
        "page.html",
        b"<html><style>p{}</style><p>Hakemus <b>MIG</b>&amp;&nbsp;x</p><script>a()</script></html>",
    );
    write(
        "identifiers",
        "text.txt",
        "Hakemukseni MIG-2026-000001-2, asiakasnumero 12345678-6, pyyntö REQ-2026-000001-7"
            .as_bytes(),
    );
}
