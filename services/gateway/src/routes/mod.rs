//! The two channels' endpoints and what they share.

pub mod enter_finland;
pub mod securemail;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use intake_adapters::telemetry;
use intake_core::events::{Channel, Event, EventData};
use intake_core::ingest::inbound_event_id;
use intake_core::topics::TopicSpec;
use tracing::Instrument;
use uuid::Uuid;

use crate::App;
use crate::claims::{self, Claimed};
use crate::error::ApiError;
use crate::upload::Uploads;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The caller's `Idempotency-Key`, if sent.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(value) => match value.to_str() {
            Ok(key) if !key.trim().is_empty() && key.len() <= 1000 => {
                Ok(Some(key.trim().to_owned()))
            }
            _ => Err(ApiError::field(
                "Idempotency-Key",
                "must be 1 to 1000 visible ASCII characters",
            )),
        },
    }
}

/// 202 with the supplement id; a replay says so in a header.
pub fn accepted(supplement_id: Uuid, replayed: bool) -> Response {
    let mut response = (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "supplement_id": supplement_id })),
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Claims the idempotency key and says what to do. The claim also records
/// the arrival (and the application, when the channel names it) for the
/// worker's ordering.
pub async fn begin(
    app: &App,
    channel: Channel,
    key: &str,
    arrived_at: DateTime<Utc>,
    application_id: Option<&str>,
    sender: Option<&str>,
) -> Result<Claimed, ApiError> {
    let arrival = claims::Arrival {
        arrived_at,
        application_id,
        sender,
    };
    claims::claim(
        &app.pool,
        channel,
        key,
        arrival,
        app.config.claim_stale_after,
    )
    .await
    .map_err(|e| ApiError::Unavailable(e.into()))
}

/// Sends of an event whose outcome stays unknown before the request gives up.
const PUBLISH_ATTEMPTS: u32 = 3;

/// Publishes the supplement's one event and settles the claim; on a
/// failure that proves nothing was published, removes what was stored and
/// releases the claim. When the broker may hold the event, nothing it may
/// point to is removed.
pub async fn finish<T: EventData>(
    app: &App,
    channel: Channel,
    claim: Option<(&str, claims::Lease)>,
    topic: &TopicSpec,
    supplement_id: Uuid,
    uploads: Uploads,
    built: Result<T, ApiError>,
) -> Result<Response, ApiError> {
    let published = match built {
        Ok(data) => {
            // The trace of this supplement starts here: the worker, relay
            // and receipt service continue it from the event's header.
            let span = telemetry::producer_span(&app.producer.topic_name(topic));
            let event = Event::new("/intake/gateway", Utc::now(), data)
                .with_id(inbound_event_id(supplement_id))
                .with_traceparent(span.in_scope(telemetry::current_traceparent));
            let mut attempt = 1;
            loop {
                let publishing = app.producer.publish(topic, &event);
                match publishing.instrument(span.clone()).await {
                    Ok(_) => break Ok(()),
                    // The broker may hold the event: its parts must stay,
                    // and the same event (same id, which the worker
                    // deduplicates) is sent again until the outcome is known.
                    Err(e) if e.outcome_unknown() && attempt < PUBLISH_ATTEMPTS => {
                        tracing::warn!(
                            error = format!("{e:#}"),
                            attempt,
                            "publish outcome unknown; sending the same event again"
                        );
                        attempt += 1;
                    }
                    Err(e) if e.outcome_unknown() => {
                        // Neither the parts nor the claim are released: a
                        // retry after `claim_stale_after` takes over with the
                        // same supplement id and publishes the same event.
                        tracing::error!(
                            error = format!("{e:#}"),
                            %supplement_id,
                            "publish outcome still unknown; the request's parts and claim are kept"
                        );
                        return Err(ApiError::Unavailable(e.into()));
                    }
                    Err(e) => break Err(ApiError::Unavailable(e.into())),
                }
            }
        }
        Err(e) => Err(e),
    };
    match published {
        Ok(()) => {
            if let Some((key, _)) = claim {
                // If this fails the event is out but the claim stays open; a
                // retry takes over later and produces the same event id.
                if let Err(error) = claims::accept(&app.pool, channel, key).await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "could not record an accepted request"
                    );
                }
            }
            tracing::info!(%supplement_id, ?channel, "supplement accepted");
            Ok(accepted(supplement_id, false))
        }
        Err(error) => {
            // The key first, so a corrected retry is not told "in progress"
            // while the parts are being removed; a retry gets a fresh
            // supplement id, so it never touches the keys removed here.
            // A claim taken over stays (an earlier attempt's event may be
            // out): the next retry takes it over with the same id.
            if let Some((key, lease)) = claim
                && !lease.took_over
                && let Err(release) =
                    claims::release(&app.pool, channel, key, lease.claimed_at).await
            {
                tracing::warn!(
                    error = format!("{release:#}"),
                    "could not release a failed request's claim"
                );
            }
            uploads.discard().await;
            Err(error)
        }
    }
}
