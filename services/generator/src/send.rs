//! Handing a planned supplement to the gateway, as its channel would.

use intake_core::events::Transport;
use reqwest::multipart::{Form, Part};

use crate::plan::{AGENCY_MAILBOX, Request};

pub struct Tokens {
    pub securemail: String,
    pub enterfinland: String,
}

/// The gateway's answer: status, and the supplement id when accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub status: u16,
    pub supplement_id: Option<uuid::Uuid>,
}

pub async fn send(
    client: &reqwest::Client,
    gateway: &str,
    tokens: &Tokens,
    request: &Request,
) -> reqwest::Result<Sent> {
    let response = match request {
        Request::Securemail {
            transport,
            sender,
            raw,
        } => {
            client
                .post(format!("{gateway}/v1/securemail/messages"))
                .bearer_auth(&tokens.securemail)
                .header(
                    "Intake-Transport",
                    match transport {
                        Transport::Securemail => "securemail",
                        Transport::Email => "email",
                    },
                )
                .header("Intake-Sender", sender)
                .header("Intake-Recipient", AGENCY_MAILBOX)
                .header("Content-Type", "message/rfc822")
                .body(raw.clone())
                .send()
                .await?
        }
        Request::EnterFinland { metadata, files } => {
            let mut form = Form::new().part(
                "metadata",
                Part::text(metadata.to_string()).mime_str("application/json")?,
            );
            for file in files {
                form = form.part(
                    "attachment",
                    Part::bytes(file.bytes.clone())
                        .file_name(file.filename.clone())
                        .mime_str(&file.content_type)?,
                );
            }
            client
                .post(format!("{gateway}/v1/enterfinland/submissions"))
                .bearer_auth(&tokens.enterfinland)
                .multipart(form)
                .send()
                .await?
        }
    };
    let status = response.status().as_u16();
    let supplement_id = if status == 202 {
        let body: serde_json::Value = response.json().await?;
        body["supplement_id"].as_str().and_then(|s| s.parse().ok())
    } else {
        None
    };
    Ok(Sent {
        status,
        supplement_id,
    })
}
