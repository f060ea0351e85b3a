//! Requests as the two channels send them.

use intake_tests::gateway::{ENTERFINLAND_TOKEN, SECUREMAIL_TOKEN, TestGateway};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A multipart e-mail with a text body and one attachment, as bytes.
pub fn email(message_id: &str, subject: &str, filename: &str, attachment: &[u8]) -> Vec<u8> {
    lettre::Message::builder()
        .from(
            "Aino Applicant <aino@example.org>"
                .parse()
                .expect("address"),
        )
        .to("supplements@intake.invalid".parse().expect("address"))
        .subject(subject)
        .message_id(Some(message_id.to_owned()))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(
                    "Hei, liitteenä passin kopio. Ärrä.".to_owned(),
                ))
                .singlepart(Attachment::new(filename.to_owned()).body(
                    attachment.to_vec(),
                    ContentType::parse("application/pdf").expect("type"),
                )),
        )
        .expect("message")
        .formatted()
}

pub fn post_securemail(gateway: &TestGateway, body: Vec<u8>) -> reqwest::RequestBuilder {
    post_securemail_as(gateway, "securemail", "Aino@Example.org", body)
}

pub fn post_securemail_as(
    gateway: &TestGateway,
    transport: &str,
    sender: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/v1/securemail/messages", gateway.url))
        .bearer_auth(SECUREMAIL_TOKEN)
        .header("Intake-Transport", transport)
        .header("Intake-Sender", sender)
        .header("Intake-Recipient", "supplements@intake.invalid")
        .header("Content-Type", "message/rfc822")
        .body(body)
}

pub fn metadata(submission_id: &str) -> Value {
    json!({
        "submission_id": submission_id,
        "customer_number": "12345678-6",
        "application_id": "MIG-2026-004217-5",
        "request_id": "RFI-000077-1",
        "language": "fi",
        "message": "Lähetän pyydetyt liitteet.",
    })
}

pub fn form(metadata: &Value, files: &[(&str, Vec<u8>)]) -> Form {
    files.iter().fold(
        Form::new().part(
            "metadata",
            Part::text(metadata.to_string())
                .mime_str("application/json")
                .expect("mime"),
        ),
        |form, (name, bytes)| {
            form.part(
                "attachment",
                Part::bytes(bytes.clone())
                    .file_name((*name).to_owned())
                    .mime_str("application/octet-stream")
                    .expect("mime"),
            )
        },
    )
}

pub fn post_enterfinland(gateway: &TestGateway, form: Form) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/v1/enterfinland/submissions", gateway.url))
        .bearer_auth(ENTERFINLAND_TOKEN)
        .multipart(form)
}

/// The supplement id from a 202 answer.
pub async fn accepted_id(response: reqwest::Response) -> uuid::Uuid {
    assert_eq!(
        response.status(),
        202,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let body: Value = response.json().await.expect("JSON answer");
    body["supplement_id"]
        .as_str()
        .expect("supplement_id")
        .parse()
        .expect("uuid")
}

/// The field names of a 400 answer.
pub async fn refused_fields(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON answer");
    assert_eq!(body["error"], "invalid_request");
    body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            assert!(
                f["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "a reason for {f}"
            );
            f["field"].as_str().expect("field").to_owned()
        })
        .collect()
}

/// Bytes that differ from run to run, so nothing matches by accident.
pub fn random_bytes(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}
