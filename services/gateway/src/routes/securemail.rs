//! `POST /v1/securemail/messages`: a raw RFC 5322 message as the body, the
//! SMTP envelope in `Intake-*` headers.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::{Stream, StreamExt, stream};
use intake_core::events::{Channel, SecuremailReceived, Transport};
use intake_core::ingest::{MAX_HEAD_BYTES, envelope_sender, head_end, mail_key, parse_mail_head};
use intake_core::topics;

use super::{accepted, begin, finish, idempotency_key};
use crate::App;
use crate::auth::require_bearer;
use crate::claims::Claimed;
use crate::error::ApiError;
use crate::upload::Uploads;

/// The SMTP envelope, which the message itself does not carry.
struct Envelope {
    transport: Transport,
    sender: String,
    recipient: String,
}

fn envelope(headers: &HeaderMap) -> Result<Envelope, ApiError> {
    let mut errors = Vec::new();
    let mut text = |name: &str, may_be_empty: bool| match headers.get(name).map(|v| v.to_str()) {
        Some(Ok(v)) if may_be_empty || !v.trim().is_empty() => Some(v.trim().to_owned()),
        Some(Ok(_)) => {
            errors.push(field(name, "must not be empty"));
            None
        }
        Some(Err(_)) => {
            errors.push(field(name, "must be ASCII (use IDNA/punycode for domains)"));
            None
        }
        None => {
            errors.push(field(name, "is required"));
            None
        }
    };
    let transport = text("Intake-Transport", false);
    // Bounces arrive with an empty envelope sender.
    let sender = text("Intake-Sender", true);
    let recipient = text("Intake-Recipient", false);
    let transport = transport.and_then(|t| match t.as_str() {
        "securemail" => Some(Transport::Securemail),
        "email" => Some(Transport::Email),
        _ => {
            errors.push(field("Intake-Transport", "must be securemail or email"));
            None
        }
    });
    match (transport, sender, recipient) {
        (Some(transport), Some(sender), Some(recipient)) if errors.is_empty() => Ok(Envelope {
            transport,
            sender,
            recipient,
        }),
        _ => Err(ApiError::Invalid(errors)),
    }
}

fn field(name: &str, reason: &str) -> intake_core::ingest::FieldError {
    intake_core::ingest::FieldError {
        field: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Reads until the header section has ended, returning what was read (the
/// head and possibly some of the body), so it can be stored in front of the
/// rest of the stream.
async fn read_head<S>(body: &mut S) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    let mut buffered = BytesMut::new();
    while head_end(&buffered).is_none() && buffered.len() <= MAX_HEAD_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => buffered.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(ApiError::Aborted),
            None => break,
        }
    }
    Ok(buffered.freeze())
}

pub async fn receive(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Arrival is when the request came, not when a long upload finished.
    let arrived_at = Utc::now();
    require_bearer(&headers, &app.config.securemail_token)?;
    let envelope = envelope(&headers)?;
    let mut body = body.into_data_stream();
    let head = read_head(&mut body).await?;
    let head_len = head_end(&head).unwrap_or(head.len());
    let mail = parse_mail_head(&head[..head_len])
        .map_err(|e| ApiError::field("message", e.to_string()))?;

    // The caller's key, else the message's own identity: Securemail
    // retrying a delivery resends the same message, with the same sender,
    // Message-ID and headers (see `mail_key`). Without a Message-ID, a key
    // of its own: every arrival is claimed, since the claim is also the
    // record that orders arrivals (see the worker).
    let key = idempotency_key(&headers)?
        .or_else(|| {
            mail.message_id
                .as_deref()
                .map(|id| mail_key(&envelope.sender, id, &head[..head_len]))
        })
        .unwrap_or_else(|| format!("unkeyed:{}", uuid::Uuid::now_v7()));
    // Empty for a bounce: the worker then knows it can reach no queue.
    let sender = envelope_sender(&envelope.sender).unwrap_or_default();
    let lease = match begin(
        &app,
        Channel::Securemail,
        &key,
        arrived_at,
        None,
        Some(&sender),
    )
    .await?
    {
        Claimed::Proceed(lease) => lease,
        Claimed::Replay(id) => return Ok(accepted(id, true)),
        Claimed::Busy => return Err(ApiError::Busy),
    };
    let supplement_id = lease.supplement_id;

    let mut uploads = Uploads::new(app.clone(), supplement_id);
    let whole = stream::iter([Ok::<_, axum::Error>(head)]).chain(body);
    let limit = app.config.max_message_bytes;
    let built = uploads
        .put("message", whole, limit, "the message")
        .await
        .map(|message| SecuremailReceived {
            supplement_id,
            transport: envelope.transport,
            sender: envelope.sender,
            recipient: envelope.recipient,
            arrived_at,
            message_id: mail.message_id,
            message,
        });
    finish(
        &app,
        Channel::Securemail,
        Some((&key, lease)),
        &topics::SECUREMAIL,
        supplement_id,
        uploads,
        built,
    )
    .await
}
