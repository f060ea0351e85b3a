//! The hostile corpus: every way the review found for dangerous content
//! to reach a caseworker, or for one message to stall the worker, sent
//! through the real gateway, worker and clamd. Each case must end with
//! exactly one recorded outcome and the reason a receipt can explain.

use std::collections::BTreeMap;
use std::time::Duration;

use intake_core::events::{ReceiptRequested, RefusalReason, Transport};
use intake_generator::files::{self, PdfAction};
use intake_generator::mail::Attachment;
use intake_generator::plan::Request;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::Stack;
use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN};
use intake_tests::worker::{AUTHSERV_ID, TestWorker};
use serde_json::json;
use uuid::Uuid;

use crate::support::{
    assert_within_memory_budget, base64_of, gateway, long_text, memory_budget, publish_registry,
    wait_until_done,
};

/// What one hostile supplement must come to.
#[derive(Debug, Clone)]
enum Expect {
    /// Routed; these files (by position, from 1) refused for these reasons,
    /// every other file accepted.
    Routed(Vec<(u32, RefusalReason)>),
    /// Another outcome, with the kind of its reason.
    Outcome(&'static str, &'static str),
}

struct Case {
    name: &'static str,
    request: Request,
    expect: Expect,
}

fn file(name: &str, content_type: &str, bytes: Vec<u8>) -> Attachment {
    Attachment {
        content_type: content_type.to_owned(),
        filename: name.to_owned(),
        bytes,
    }
}

fn with_prefix(prefix: &[u8], rest: Vec<u8>) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend(rest);
    out
}

fn docx_with(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document/>"),
    ];
    entries.extend_from_slice(extra);
    files::zip(&entries, None)
}

fn nested_zip(depth: usize) -> Vec<u8> {
    let mut nested = files::zip(&[("x.txt", b"x")], None);
    for _ in 0..depth {
        nested = files::zip(&[("inner.zip", &nested)], None);
    }
    nested
}

/// Raw MIME with `parts` (each with its own headers) under one boundary.
fn raw_mail(from: &str, subject: &str, extra_headers: &str, parts: &[String]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.clone().into_bytes()).collect();
    raw_mail_bytes(from, subject, extra_headers, &parts)
}

fn raw_mail_bytes(from: &str, subject: &str, extra_headers: &str, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut raw = format!(
        "From: {from}\r\nTo: supplements@intake.invalid\r\nSubject: {subject}\r\n\
         Message-ID: <{}@hostile.test>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0200\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n",
        Uuid::new_v4()
    )
    .into_bytes();
    for p in parts {
        raw.extend(b"--b0\r\n");
        raw.extend(p);
        raw.extend(b"\r\n");
    }
    raw.extend(b"--b0--\r\n");
    raw
}

fn text_part(text: &str) -> String {
    format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{text}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_shape_ends_in_one_outcome_with_a_reason() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(77, 4);
    publish_registry(&gateway, &population).await;
    let record = &population.applications[0];
    let app = record.application_id.to_string();
    let party = record.contact_addresses[0].clone();
    let mut submission = 0;
    let mut ef = |files: Vec<Attachment>| {
        submission += 1;
        Request::EnterFinland {
            metadata: json!({
                "submission_id": format!("EF-hostile-{submission}-{}", Uuid::new_v4()),
                "customer_number": record.customer_number.as_str(),
                "application_id": app,
                "request_id": null,
                "language": "fi",
                "message": "Liitteet pyynnön mukaan.",
            }),
            files,
        }
    };
    let mail = |from: &str, raw: Vec<u8>| Request::Securemail {
        transport: Transport::Email,
        sender: from.to_owned(),
        raw,
    };
    let subject = format!("Hakemus {app}");
    let js_pdf = files::pdf(&["Lasku"], PdfAction::JavaScript);
    let png = files::png(9, 16, 16);
    let odt_macros = files::zip(
        &[
            ("mimetype", &b"application/vnd.oasis.opendocument.text"[..]),
            ("content.xml", b"<office:document-content/>"),
            ("Basic/Standard/Module1.xml", b"<script:module/>"),
        ],
        None,
    );
    let bomb = files::zip(&[("zeros.txt", &vec![0u8; 900 * 1024][..])], None);
    let exe_mail = "Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n\
         --i\r\nContent-Type: text/plain\r\n\r\nsee the program\r\n\
         --i\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"tool.exe\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--i--\r\n";
    let many_parts: Vec<String> = (0..10_000).map(|i| text_part(&i.to_string())).collect();

    let cases = vec![
        Case {
            name: "1: a PDF with JavaScript behind a text prefix, named .txt",
            request: ef(vec![file(
                "kirje.txt",
                "text/plain",
                with_prefix(b"Hei!\n", js_pdf.clone()),
            )]),
            expect: Expect::Routed(vec![(1, RefusalReason::Dangerous)]),
        },
        Case {
            name: "1: a ZIP of a program appended to a PNG",
            request: ef(vec![file("kuva.png", "image/png", {
                let mut b = png.clone();
                b.extend(files::zip(&[("run.exe", b"MZ")], None));
                b
            })]),
            expect: Expect::Routed(vec![(1, RefusalReason::Dangerous)]),
        },
        Case {
            name: "1: HTML and SVG that would pass as text",
            request: ef(vec![
                file(
                    "sivu.txt",
                    "text/plain",
                    b"<html><script>steal()</script></html>".to_vec(),
                ),
                file(
                    "kuva.png",
                    "image/png",
                    b"<svg onload=\"steal()\"/>".to_vec(),
                ),
            ]),
            expect: Expect::Routed(vec![
                (1, RefusalReason::UnsupportedType),
                (2, RefusalReason::UnsupportedType),
            ]),
        },
        Case {
            name: "1: names that hide what they are",
            request: ef(vec![
                file(
                    "lasku\u{202E}fdp.exe",
                    "application/pdf",
                    b"plain words".to_vec(),
                ),
                file("passi.pdf. . ", "application/pdf", png.clone()),
                file(
                    "skannaus.pdf.js",
                    "application/pdf",
                    b"plain words".to_vec(),
                ),
                file("passi.pdf", "application/pdf", png.clone()),
            ]),
            expect: Expect::Routed(vec![
                (1, RefusalReason::Dangerous),
                (2, RefusalReason::TypeMismatch),
                (3, RefusalReason::Dangerous),
                (4, RefusalReason::TypeMismatch),
            ]),
        },
        Case {
            name: "2 and 13: Office files are expanded; a real one passes",
            request: ef(vec![
                file(
                    "sopimus.docx",
                    "application/octet-stream",
                    files::docx("Vuokrasopimus"),
                ),
                file(
                    "makrot.docx",
                    "application/octet-stream",
                    docx_with(&[("word/vbaProject.bin", b"\xD0\xCF\x11\xE0")]),
                ),
                file(
                    "ohjelma.docx",
                    "application/octet-stream",
                    docx_with(&[("word/embeddings/run.exe", b"MZ\x90\0")]),
                ),
                file("makrot.odt", "application/octet-stream", odt_macros),
            ]),
            expect: Expect::Routed(vec![
                (2, RefusalReason::Dangerous),
                (3, RefusalReason::Dangerous),
                (4, RefusalReason::Dangerous),
            ]),
        },
        Case {
            name: "5: zip bombs by ratio and by nesting",
            request: ef(vec![
                file("nollat.zip", "application/zip", bomb),
                file("sisakkain.zip", "application/zip", nested_zip(6)),
            ]),
            expect: Expect::Routed(vec![
                (1, RefusalReason::UnsupportedType),
                (2, RefusalReason::UnsupportedType),
            ]),
        },
        Case {
            name: "4: a file over the scanner's limit is unscannable, not malware",
            request: ef(vec![file("pitka.txt", "text/plain", long_text(300 * 1024))]),
            expect: Expect::Routed(vec![(1, RefusalReason::Unscannable)]),
        },
        Case {
            name: "3: an attached message's own attachments are inspected",
            request: mail(
                &party,
                raw_mail(
                    &party,
                    &subject,
                    "",
                    &[
                        text_part("Välitän viestin."),
                        format!(
                            "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n{exe_mail}"
                        ),
                    ],
                ),
            ),
            expect: Expect::Routed(vec![(1, RefusalReason::Dangerous)]),
        },
        Case {
            name: "11: a NUL and invalid UTF-8 in file names are recorded, not lost",
            request: mail(&party, {
                let png64 = base64_of(&png);
                let part = |name: &[u8]| {
                    let mut p =
                        b"Content-Type: image/png\r\nContent-Disposition: attachment; filename=\""
                            .to_vec();
                    p.extend(name);
                    p.extend(
                        format!("\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png64}")
                            .into_bytes(),
                    );
                    p
                };
                raw_mail_bytes(
                    &party,
                    &subject,
                    "",
                    &[
                        text_part("Liitteet.").into_bytes(),
                        part(b"pa\0ssi.png"),
                        // Latin-1 where UTF-8 is expected.
                        part(b"kuva\xE4.png"),
                    ],
                )
            }),
            expect: Expect::Routed(vec![]),
        },
        Case {
            name: "5: ten thousand MIME parts",
            request: mail(&party, raw_mail(&party, &subject, "", &many_parts)),
            expect: Expect::Outcome("quarantined", "malformed"),
        },
        Case {
            name: "7: a stranger naming an application goes to triage",
            request: mail(
                "stranger@elsewhere.example",
                raw_mail(
                    "stranger@elsewhere.example",
                    &subject,
                    "",
                    &[text_part("Mitä hakemukselle kuuluu?")],
                ),
            ),
            expect: Expect::Outcome("triage", "sender_not_party"),
        },
        Case {
            name: "15: an auto-reply naming the application stays out of the queue",
            request: mail(
                &party,
                raw_mail(
                    &party,
                    &format!("Automatic reply: {subject}"),
                    "Auto-Submitted: auto-replied\r\n",
                    &[text_part("Olen lomalla.")],
                ),
            ),
            expect: Expect::Outcome("triage", "automatic_message"),
        },
        Case {
            name: "6: a forged sender (DMARC failed at our server) is nobody's party and gets no receipt",
            request: mail(
                &party,
                raw_mail(
                    &party,
                    &subject,
                    &format!(
                        "Authentication-Results: {AUTHSERV_ID}; spf=fail; dmarc=fail header.from=x\r\n"
                    ),
                    &[text_part("Liitteet.")],
                ),
            ),
            expect: Expect::Outcome("triage", "sender_not_party"),
        },
    ];

    let worker = TestWorker::start_with(
        &stack,
        &gateway,
        None,
        "debug",
        // Small enough that one case is over it, large enough for the rest;
        // mail memory under a budget the peak is checked against.
        [("INTAKE_CLAMAV__MAX_STREAM_BYTES".into(), "262144".into())]
            .into_iter()
            .chain(memory_budget())
            .collect(),
    )
    .await;
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let client = reqwest::Client::new();
    let mut ids: BTreeMap<Uuid, &Case> = BTreeMap::new();
    for case in &cases {
        let sent = send(&client, &gateway.url, &tokens, &case.request)
            .await
            .expect("gateway answers");
        assert_eq!(sent.status, 202, "{}", case.name);
        ids.insert(sent.supplement_id.expect("id"), case);
    }
    let pool = &gateway.db.pool;
    wait_until_done(pool, ids.len(), &worker, Duration::from_secs(180)).await;

    let mut wrong = Vec::new();
    for (id, case) in &ids {
        let (outcome, triage, whole): (String, Option<serde_json::Value>, Option<serde_json::Value>) =
            sqlx::query_as(
                "select s.outcome, s.triage_reasons,
                        (select payload->'reason' from outbox o
                          where o.topic like '%quarantine.v1' and (o.payload->>'supplement_id')::uuid = s.supplement_id
                            and o.payload->'part' = 'null'::jsonb)
                 from supplements s where supplement_id = $1",
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("exactly one outcome");
        let receipt: serde_json::Value = sqlx::query_scalar(
            "select payload from outbox where topic like '%receipts.v1' and (payload->>'supplement_id')::uuid = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("exactly one receipt request");
        let receipt: ReceiptRequested = serde_json::from_value(receipt).expect("receipt");
        let ok = match &case.expect {
            Expect::Routed(refused) => {
                let got: Vec<(u32, RefusalReason)> = receipt
                    .files
                    .iter()
                    .filter_map(|f| f.refusal.map(|r| (f.position, r)))
                    .collect();
                outcome == "routed" && &got == refused
            }
            Expect::Outcome(expected, kind) => {
                let kinds: Vec<String> = triage
                    .iter()
                    .chain(whole.iter())
                    .flat_map(|v| match v {
                        serde_json::Value::Array(items) => items.clone(),
                        other => vec![other.clone()],
                    })
                    .filter_map(|r| r["kind"].as_str().map(str::to_owned))
                    .collect();
                &outcome == expected && kinds.iter().any(|k| k == kind)
            }
        };
        if !ok {
            wrong.push(format!(
                "{}: expected {:?}, got {outcome} triage={triage:?} whole={whole:?} files={:?}",
                case.name, case.expect, receipt.files
            ));
        }
        if case.name.starts_with("7:") {
            assert_eq!(
                receipt.application_id, None,
                "a stranger learns nothing of the application"
            );
        }
        if case.name.starts_with("6:") {
            let dmarc = receipt.mail.as_ref().and_then(|m| m.dmarc.clone());
            assert_eq!(
                dmarc.as_deref(),
                Some("fail"),
                "the receipt service sees the forgery"
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    let names: Vec<String> = sqlx::query_scalar("select filename from attachments")
        .fetch_all(pool)
        .await
        .expect("names");
    assert!(
        names
            .iter()
            .all(|n| !n.contains('\0') && !n.contains('\u{202E}'))
    );
    let log = worker.log();
    assert!(
        !log.contains("dead-letter"),
        "nothing was dead-lettered:\n{log}"
    );
    assert_within_memory_budget(&worker);
}
