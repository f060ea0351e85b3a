//! (e) The worker's peak resident memory with one large attachment, by
//! e-mail and by Enter Finland: a fresh release worker per case, so each
//! peak is that case's own.

use std::time::Duration;

use intake_core::events::Transport;
use intake_generator::mail::{Attachment, Mail};
use intake_generator::plan::Request;
use intake_generator::population::Population;
use intake_generator::send::{Tokens, send};
use intake_tests::gateway::{ENTERFINLAND_TOKEN, Limits, MIB, SECUREMAIL_TOKEN, TestGateway};
use intake_tests::worker::TestWorker;
use intake_tests::{Stack, peak_rss_kib};
use serde::Serialize;

use super::watch_until_recorded;

const SIZES_MB: [u64; 3] = [1, 100, 400];

#[derive(Debug, Serialize)]
pub struct Peak {
    pub channel: &'static str,
    pub attachment_mb: u64,
    pub worker_peak_rss_mib: f64,
    pub outcome: String,
}

pub async fn run(stack: &Stack) -> Vec<Peak> {
    let mut peaks = Vec::new();
    for mb in SIZES_MB {
        for channel in ["email", "enter_finland"] {
            let peak = once(stack, channel, mb).await;
            println!(
                "(e) {channel} with a {mb} MB attachment: worker peak RSS {:.1} MiB ({})",
                peak.worker_peak_rss_mib, peak.outcome
            );
            peaks.push(peak);
        }
    }
    peaks
}

/// A PDF's first bytes, then zeros: a real type, not worth inspecting.
fn file(mb: u64) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    bytes.resize((mb * 1_000_000) as usize, 0);
    bytes
}

async fn once(stack: &Stack, channel: &'static str, mb: u64) -> Peak {
    let gateway = TestGateway::start(
        stack,
        Limits {
            max_attachment_bytes: 450 * MIB,
            max_message_bytes: 600 * MIB,
            max_attachments: 10,
        },
    )
    .await;
    let population = Population::generate(11, 5);
    crate::support::publish_registry(&gateway, &population).await;
    let applicant = &population.applicants[0];
    let application = &population.applications[0];
    let attachment = Attachment {
        content_type: "application/pdf".into(),
        filename: format!("scan-{mb}mb.pdf"),
        bytes: file(mb),
    };
    let request = match channel {
        "email" => Request::Securemail {
            transport: Transport::Securemail,
            sender: applicant.email.clone(),
            raw: Mail {
                from_name: applicant.name.clone(),
                from: applicant.email.clone(),
                to: intake_generator::plan::AGENCY_MAILBOX.into(),
                subject: format!("Hakemus {}: liite", application.application_id),
                text: "Liitteenä skannattu asiakirja.".into(),
                message_id: format!("<memory-{mb}@example.org>"),
                date: 1_790_000_000,
                attachments: vec![attachment],
                headers: vec![],
            }
            .to_bytes(),
        },
        _ => Request::EnterFinland {
            metadata: serde_json::json!({
                "submission_id": format!("EF-memory-{mb}"),
                "customer_number": applicant.customer_number.as_str(),
                "application_id": application.application_id.to_string(),
                "language": "fi",
                "message": "Liitteenä skannattu asiakirja.",
            }),
            files: vec![attachment],
        },
    };
    let tokens = Tokens {
        securemail: SECUREMAIL_TOKEN.into(),
        enterfinland: ENTERFINLAND_TOKEN.into(),
    };
    let sent = send(&reqwest::Client::new(), &gateway.url, &tokens, &request)
        .await
        .expect("gateway answers");
    assert_eq!(sent.status, 202, "{channel} {mb} MB accepted");
    drop(request);
    let worker = TestWorker::start_with(stack, &gateway, None, "release", vec![]).await;
    let pid = worker.pid().expect("pid");
    watch_until_recorded(&gateway.db.pool, 1, Duration::from_secs(900)).await;
    let outcome: String = sqlx::query_scalar("select outcome from supplements")
        .fetch_one(&gateway.db.pool)
        .await
        .expect("outcome");
    Peak {
        channel,
        attachment_mb: mb,
        worker_peak_rss_mib: peak_rss_kib(pid) as f64 / 1024.0,
        outcome,
    }
}
