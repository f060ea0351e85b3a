use proptest::prelude::*;

use super::*;
use crate::mime::unpack;
use crate::mime_collect::unpack_streamed;

const LIMITS: StreamLimits = StreamLimits {
    mime: MimeLimits {
        max_parts: 50,
        max_depth: 8,
    },
    max_header_bytes: 4096,
    max_preamble_bytes: 4096,
};

/// What both readings must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    subject: String,
    from: Option<String>,
    text: String,
    html_text: String,
    files: Vec<(String, String, Vec<u8>)>,
    encrypted_as: Option<&'static str>,
    enclosed: Vec<String>,
}

fn seen(out: crate::Unpacked) -> Seen {
    // An empty part adds an empty line to the text in one reading and not
    // the other (they disagree on a delimiter at the very end): blank
    // lines are not content.
    let lines = |t: &str| {
        t.lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    Seen {
        subject: out.subject,
        from: out.from,
        text: lines(&out.text),
        html_text: lines(&out.html_text),
        files: out
            .files
            .into_iter()
            .map(|f| (f.filename, f.declared_type, f.bytes))
            .collect(),
        encrypted_as: out.encrypted_as,
        enclosed: out.delivery.enclosed_message_ids,
    }
}

fn both(raw: &[u8], chunk: usize) -> (Seen, Seen) {
    let whole = unpack(raw, LIMITS.mime).expect("unpack reads it");
    let streamed = unpack_streamed(raw, LIMITS, chunk).expect("the splitter reads it");
    (seen(whole), seen(streamed))
}

fn pieces(raw: &[u8], chunk: usize) -> Result<Vec<Piece>, MimeError> {
    let mut splitter = Splitter::new(LIMITS);
    let mut all = Vec::new();
    for bytes in raw.chunks(chunk) {
        all.extend(splitter.feed(bytes)?);
    }
    all.extend(splitter.finish()?);
    Ok(all)
}

const FORWARD: &str = "From: Anna <Anna@Example.FI>\r\nSubject: Liite\r\nMessage-ID: <m1@example.fi>\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n--outer\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Hyv=E4=E4 p=E4iv=E4=E4, MIG-2026-004217-5 =\r\nsoft\r\n--outer\r\n\
Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nMessage-ID: <inner@x>\r\n\
Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\nContent-Type: text/html\r\n\r\n\
<p>inner <b>html</b></p>\r\n--in--\r\nepilogue\r\n--outer\r\n\
Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
JVBERi0x\r\nLjQK\r\n--outer--\r\nthe end\r\n";

#[test]
fn a_forwarded_message_with_encodings_reads_alike_at_every_chunk_size() {
    for chunk in [1, 2, 3, 7, 64, 4096] {
        let (whole, streamed) = both(FORWARD.as_bytes(), chunk);
        assert_eq!(streamed, whole, "chunk {chunk}");
    }
    let (_, streamed) = both(FORWARD.as_bytes(), 5);
    assert_eq!(streamed.text, "Hyvää päivää, MIG-2026-004217-5 soft");
    assert_eq!(streamed.files[0].2, b"%PDF-1.4\n");
    assert_eq!(streamed.enclosed, ["<inner@x>"]);
}

#[test]
fn the_break_before_a_delimiter_is_not_content_and_a_lone_cr_is() {
    let raw = "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\n\nab\rc\r\n\r\n--b--\n";
    for chunk in 1..8 {
        let all = pieces(raw.as_bytes(), chunk).expect("splits");
        let body: Vec<u8> = all
            .iter()
            .filter_map(|p| match p {
                Piece::Body(b) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(body, b"ab\rc\r\n", "chunk {chunk}");
    }
}

#[test]
fn a_line_that_only_begins_like_a_delimiter_is_content() {
    let raw = "Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\nContent-Type: application/x-a\r\n\r\n--ab\r\n-\r\n--abd is a delimiter? no\r\n--abc--\r\n";
    let (whole, streamed) = both(raw.as_bytes(), 2);
    assert_eq!(streamed, whole);
    assert_eq!(
        streamed.files[0].2,
        b"--ab\r\n-\r\n--abd is a delimiter? no"
    );
}

/// The one place the readings differ, on purpose: `mailparse` gives a
/// multipart without delimiters an empty body, so its bytes were never
/// inspected; here they are one part, inspected like any other.
#[test]
fn a_multipart_without_delimiters_is_one_part_whose_bytes_are_inspected() {
    let raw = "Content-Type: multipart/mixed; boundary=never\r\n\r\nno parts here\r\n";
    let (whole, streamed) = both(raw.as_bytes(), 3);
    assert_eq!(whole.files[0].2, b"");
    assert_eq!(streamed.files.len(), 1);
    assert_eq!(streamed.files[0].1, "multipart/mixed");
    assert_eq!(streamed.files[0].2, b"no parts here");
}

#[test]
fn an_outer_delimiter_ends_every_part_inside_it() {
    let raw = "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: application/x-a\r\n\r\nunfinished\r\n--o\r\nContent-Type: application/x-b\r\n\r\nnext\r\n--o--\r\n";
    let (whole, streamed) = both(raw.as_bytes(), 4);
    assert_eq!(streamed, whole);
    assert_eq!(streamed.files.len(), 2);
}

#[test]
fn a_closing_delimiter_first_still_opens_the_parts_after_it_as_in_unpack() {
    let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\nContent-Type: application/x-msdownload; name=evil.exe\r\n\r\nMZ\r\n--b--\r\n";
    let (whole, streamed) = both(raw.as_bytes(), 3);
    assert_eq!(streamed, whole);
    assert_eq!(streamed.files[0].0, "evil.exe");
}

#[test]
fn a_line_that_begins_with_a_boundary_and_goes_on_is_refused() {
    for line in ["--bX", "--b--x", "--b tail"] {
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n{line}\r\nContent-Type: application/x-a\r\n\r\nsecond\r\n--b--\r\n"
        );
        let error = unpack_streamed(raw.as_bytes(), LIMITS, 5).expect_err(line);
        assert!(
            error.to_string().contains("begins with a boundary"),
            "{error}"
        );
    }
    // White space after a delimiter is not text.
    let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b \t\r\n\r\nfirst\r\n--b-- \r\n";
    assert!(unpack_streamed(raw.as_bytes(), LIMITS, 5).is_ok());
}

#[test]
fn a_forwarded_message_of_short_lines_gives_few_pieces() {
    let raw = format!(
        "Content-Type: message/rfc822\r\n\r\nContent-Type: application/octet-stream\r\n\r\n{}",
        "\n".repeat(256 * 1024)
    );
    let all = pieces(raw.as_bytes(), 256 * 1024).expect("splits");
    assert!(all.len() < 16, "{} pieces", all.len());
}

#[test]
fn a_message_encrypted_for_someone_else_is_not_read_further() {
    let raw = "Content-Type: multipart/encrypted; boundary=e\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\nsecret\r\n--e--\r\n";
    let (whole, streamed) = both(raw.as_bytes(), 16);
    assert_eq!(streamed, whole);
    assert_eq!(streamed.encrypted_as, Some("PGP/MIME"));
    assert!(streamed.files.is_empty());
}

#[test]
fn every_bound_is_enforced_not_assumed() {
    let header = format!("X-Long: {}\r\n\r\nbody", "a".repeat(5000));
    let deep = (0..12).fold(
        "Content-Type: text/plain\r\n\r\nx".to_owned(),
        |inner, _| format!("Content-Type: message/rfc822\r\n\r\n{inner}"),
    );
    let many = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n{}--b--\r\n",
        "--b\r\n\r\nx\r\n".repeat(60)
    );
    let preamble = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n{}",
        "p\r\n".repeat(3000)
    );
    let qp = format!(
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n{}",
        "q".repeat(MAX_QP_LINE + 1)
    );
    let padded = "Content-Transfer-Encoding: base64\r\n\r\nQQ==QUFB";
    for (raw, expected) in [
        (header, "header block larger"),
        (deep, "nests deeper"),
        (many, "more than 50 parts"),
        (preamble, "no delimiter in its first"),
        (qp, "quoted-printable line longer"),
        (padded.to_owned(), "invalid base64"),
    ] {
        for chunk in [1, 1000, 1 << 20] {
            let error = unpack_streamed(raw.as_bytes(), LIMITS, chunk).expect_err(expected);
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}

#[test]
fn what_it_holds_stays_bounded_however_large_the_part() {
    // 8 MiB of base64 on one line and on short lines.
    let blob = "QUFB".repeat(2 << 20);
    let wrapped: String = blob
        .as_bytes()
        .chunks(76)
        .map(|l| format!("{}\r\n", std::str::from_utf8(l).expect("ascii")))
        .collect();
    for (body, expected) in [(blob, 6 << 20), (wrapped, 6 << 20)] {
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n--b--\r\n"
        );
        let mut splitter = Splitter::new(LIMITS);
        let mut decoded = 0;
        for bytes in raw.as_bytes().chunks(64 * 1024) {
            let out = splitter.feed(bytes).expect("splits");
            assert!(
                splitter.held() <= MAX_BOUNDARY + 4 + LIMITS.max_header_bytes,
                "holds {}",
                splitter.held()
            );
            for piece in out {
                if let Piece::Body(b) = piece {
                    assert!(b.len() <= 2 * PIECE_BYTES);
                    decoded += b.len();
                }
            }
        }
        splitter.finish().expect("ends");
        assert_eq!(decoded, expected);
    }
}

#[test]
fn a_line_that_begins_with_a_delimiter_is_held_no_longer_than_a_boundary() {
    let raw = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b{}",
        "x".repeat(8 << 20)
    );
    let mut splitter = Splitter::new(LIMITS);
    let mut refused = None;
    for bytes in raw.as_bytes().chunks(64 * 1024) {
        match splitter.feed(bytes) {
            Ok(_) => assert!(splitter.held() <= MAX_BOUNDARY + 4 + LIMITS.max_header_bytes),
            Err(error) => {
                refused = Some(error);
                break;
            }
        }
    }
    let error = refused.expect("refused as soon as it goes on past a boundary's length");
    assert!(
        error.to_string().contains("begins with a boundary"),
        "{error}"
    );
}

#[test]
fn a_long_delimiter_line_is_judged_alike_however_it_is_chunked() {
    // Text far past the boundary, between runs of white space longer than
    // what is held of such a line.
    let pad = " ".repeat(300_000);
    let raw = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b{pad}X{pad}\r\n\r\nsecond\r\n--b--\r\n"
    );
    for chunk in [1 << 10, 64 << 10, 256 << 10, raw.len()] {
        let error = unpack_streamed(raw.as_bytes(), LIMITS, chunk)
            .expect_err(&format!("chunks of {chunk}"));
        assert!(
            error.to_string().contains("begins with a boundary"),
            "{error}"
        );
    }
    // White space alone after it, however long, is still a delimiter.
    let raw = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b{pad}{pad}\r\n\r\nsecond\r\n--b--\r\n"
    );
    for chunk in [1 << 10, 256 << 10, raw.len()] {
        assert!(
            unpack_streamed(raw.as_bytes(), LIMITS, chunk).is_ok(),
            "chunks of {chunk}"
        );
    }
}

/// `levels` forwarded messages, each the whole body of the one around it,
/// the innermost an attachment of `body`.
fn tower(levels: usize, body: &str) -> String {
    let mut raw = format!("Content-Type: application/octet-stream\r\n\r\n{body}");
    for _ in 0..levels {
        raw = format!("Content-Type: message/rfc822\r\n\r\n{raw}");
    }
    raw
}

#[test]
fn a_tower_of_forwarded_messages_over_a_large_body_is_refused() {
    let body = "\n".repeat(2 << 20);
    let error = unpack_streamed(tower(7, &body).as_bytes(), LIMITS, 64 * 1024)
        .expect_err("read seven times over");
    assert!(
        error.to_string().contains("nested in each other"),
        "{error}"
    );
    // A forward of a forward of a forward is ordinary, however large.
    let out = unpack_streamed(tower(3, &body).as_bytes(), LIMITS, 64 * 1024)
        .expect("read three times over");
    assert_eq!(out.files.len(), 1);
    // And a small tower as deep as the depth limit allows.
    assert!(unpack_streamed(tower(7, "x").as_bytes(), LIMITS, 64).is_ok());
}

/// A message of nested parts, as a grammar small enough to explore.
#[derive(Debug, Clone)]
enum Node {
    Leaf {
        kind: &'static str,
        named: bool,
        encoding: &'static str,
        body: Vec<u8>,
    },
    Multi(Vec<Node>),
    /// A forwarded message, in a transfer encoding of its own.
    Forward(Box<Node>, &'static str),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = (
        prop::sample::select(vec![
            "text/plain",
            "text/html",
            "application/pdf",
            "image/png",
        ]),
        any::<bool>(),
        prop::sample::select(vec!["7bit", "base64", "quoted-printable", "binary"]),
        prop::collection::vec(prop::sample::select(b"ab -=\r\n\x00\xe4".to_vec()), 0..120),
    )
        .prop_map(|(kind, named, encoding, body)| Node::Leaf {
            kind,
            named,
            encoding,
            body,
        });
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Node::Multi),
            (
                inner,
                prop::sample::select(vec!["7bit", "base64", "quoted-printable"])
            )
                .prop_map(|(n, encoding)| Node::Forward(Box::new(n), encoding)),
        ]
    })
}

fn render(node: &Node, line_break: &str, next_boundary: &mut u32, out: &mut Vec<u8>) {
    let eol = line_break.as_bytes();
    match node {
        Node::Leaf {
            kind,
            named,
            encoding,
            body,
        } => {
            out.extend_from_slice(format!("Content-Type: {kind}").as_bytes());
            if *named {
                out.extend_from_slice(b"; name=\"f.bin\"");
            }
            out.extend_from_slice(eol);
            out.extend_from_slice(format!("Content-Transfer-Encoding: {encoding}").as_bytes());
            out.extend_from_slice(eol);
            out.extend_from_slice(eol);
            match *encoding {
                "base64" => {
                    let encoded = data_encoding::BASE64.encode(body);
                    for line in encoded.as_bytes().chunks(76) {
                        out.extend_from_slice(line);
                        out.extend_from_slice(eol);
                    }
                }
                "quoted-printable" => {
                    out.extend_from_slice(&quoted_printable::encode(body));
                    out.extend_from_slice(eol);
                }
                _ => out.extend_from_slice(body),
            }
        }
        Node::Multi(parts) => {
            *next_boundary += 1;
            let boundary = format!("bnd{next_boundary}");
            out.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"").as_bytes(),
            );
            out.extend_from_slice(eol);
            out.extend_from_slice(eol);
            out.extend_from_slice(b"This is a multi-part message.");
            out.extend_from_slice(eol);
            for part in parts {
                out.extend_from_slice(format!("--{boundary}").as_bytes());
                out.extend_from_slice(eol);
                render(part, line_break, next_boundary, out);
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(format!("--{boundary}--").as_bytes());
            out.extend_from_slice(eol);
            out.extend_from_slice(b"epilogue -- not a part");
            out.extend_from_slice(eol);
        }
        Node::Forward(inner, encoding) => {
            out.extend_from_slice(b"Content-Type: message/rfc822");
            out.extend_from_slice(eol);
            out.extend_from_slice(format!("Content-Transfer-Encoding: {encoding}").as_bytes());
            out.extend_from_slice(eol);
            out.extend_from_slice(eol);
            let mut message = b"Message-ID: <fwd@x>".to_vec();
            message.extend_from_slice(eol);
            render(inner, line_break, next_boundary, &mut message);
            match *encoding {
                "base64" => {
                    let encoded = data_encoding::BASE64.encode(&message);
                    for line in encoded.as_bytes().chunks(76) {
                        out.extend_from_slice(line);
                        out.extend_from_slice(eol);
                    }
                }
                "quoted-printable" => out.extend_from_slice(&quoted_printable::encode(&message)),
                _ => out.extend_from_slice(&message),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any message of the grammar, at any chunk size, reads as `unpack`
    /// reads it whole.
    #[test]
    fn reads_as_unpack_reads_whole(
        tree in node(),
        crlf in any::<bool>(),
        chunk in prop_oneof![1..300usize, 60_000..70_000usize],
    ) {
        let mut raw = b"From: a@example.fi\r\nSubject: s\r\n".to_vec();
        render(&tree, if crlf { "\r\n" } else { "\n" }, &mut 0, &mut raw);
        let whole = unpack(&raw, LIMITS.mime).map(seen);
        let streamed = unpack_streamed(&raw, LIMITS, chunk).map(seen);
        prop_assert_eq!(streamed, whole);
    }

    /// Any bytes at all: an answer or an error, never a panic, and every
    /// body piece inside a leaf.
    #[test]
    fn any_bytes_split_into_well_formed_pieces(
        raw in prop::collection::vec(
            prop::sample::select(b"-bx:; \r\n=\"Content-Type: multipart/mixed; boundary=b\r\n".to_vec()),
            0..600,
        ),
        chunk in 1..64usize,
    ) {
        if let Ok(all) = pieces(&raw, chunk) {
            let mut in_leaf = false;
            for piece in all {
                match piece {
                    Piece::Part(head) => {
                        prop_assert!(!in_leaf);
                        in_leaf = head.kind == Kind::Leaf;
                    }
                    Piece::Body(_) => prop_assert!(in_leaf),
                    Piece::End => {
                        prop_assert!(in_leaf);
                        in_leaf = false;
                    }
                }
            }
            prop_assert!(!in_leaf);
        }
    }
}
