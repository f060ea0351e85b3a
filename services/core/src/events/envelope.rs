//! CloudEvents 1.0 in the Kafka protocol binding, binary content mode: the
//! attributes travel as `ce_*` headers, the payload is the JSON data alone.
//! W3C trace context travels in a plain `traceparent` header, where
//! OpenTelemetry propagators look for it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub const SPEC_VERSION: &str = "1.0";
const CONTENT_TYPE: &str = "application/json";
/// Where schema files are published; `$id` of every file under `schemas/`.
pub const SCHEMA_BASE: &str = "https://intake.invalid/schemas/";

/// A payload type: what it is called, where its schema is, how it is keyed.
pub trait EventData: Serialize + DeserializeOwned {
    /// The CloudEvents `type`, reverse-DNS and versioned.
    const TYPE: &'static str;
    /// File name of the JSON Schema under `schemas/`.
    const SCHEMA: &'static str;

    /// The Kafka message key: decides the partition, and so the order.
    fn key(&self) -> String;

    /// The CloudEvents `subject`: what the event is about.
    fn subject(&self) -> Option<String> {
        None
    }
}

/// The CloudEvents attributes intake sets, besides those fixed per type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub id: Uuid,
    /// A URI-reference naming the producer, e.g. `/intake/gateway`.
    pub source: String,
    pub time: DateTime<Utc>,
    pub subject: Option<String>,
    /// W3C `traceparent` of the span that produced the event.
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event<T> {
    pub envelope: Envelope,
    pub data: T,
}

/// Why a Kafka record is not an event of the expected type.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    #[error("header {name} is not UTF-8")]
    NotUtf8 { name: String },
    #[error("header {name} has an invalid value {value:?}")]
    InvalidHeader { name: &'static str, value: String },
    #[error("event type is {found:?}, expected {expected:?}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("payload does not match {schema}")]
    Payload {
        schema: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl<T: EventData> Event<T> {
    /// A new event with a fresh time-ordered id. `time` is passed in because
    /// the domain does not read clocks.
    pub fn new(source: impl Into<String>, time: DateTime<Utc>, data: T) -> Self {
        Self {
            envelope: Envelope {
                id: Uuid::now_v7(),
                source: source.into(),
                time,
                subject: data.subject(),
                traceparent: None,
            },
            data,
        }
    }

    /// Replaces the random id with a derived one, for events that a retry
    /// must reproduce identically.
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.envelope.id = id;
        self
    }

    pub fn with_traceparent(mut self, traceparent: Option<String>) -> Self {
        self.envelope.traceparent = traceparent;
        self
    }

    pub fn key(&self) -> String {
        self.data.key()
    }

    /// Headers in the CloudEvents Kafka binding.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let e = &self.envelope;
        let mut headers = vec![
            ("ce_specversion", SPEC_VERSION.to_owned()),
            ("ce_id", e.id.to_string()),
            ("ce_source", e.source.clone()),
            ("ce_type", T::TYPE.to_owned()),
            (
                "ce_time",
                e.time.to_rfc3339_opts(SecondsFormat::Micros, true),
            ),
            ("ce_dataschema", format!("{SCHEMA_BASE}{}", T::SCHEMA)),
            ("content-type", CONTENT_TYPE.to_owned()),
        ];
        if let Some(subject) = &e.subject {
            headers.push(("ce_subject", subject.clone()));
        }
        if let Some(traceparent) = &e.traceparent {
            headers.push(("traceparent", traceparent.clone()));
        }
        headers
    }

    pub fn payload(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail: no maps with non-string
        // keys, no fallible Serialize impls.
        serde_json::to_vec(&self.data).unwrap_or_else(|e| unreachable!("event serialises: {e}"))
    }

    /// Reads an event back from a record's headers and payload.
    pub fn decode<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        payload: &[u8],
    ) -> Result<Self, DecodeError> {
        let mut found = Headers::default();
        for (name, value) in headers {
            let value = std::str::from_utf8(value).map_err(|_| DecodeError::NotUtf8 {
                name: name.to_owned(),
            })?;
            found.set(name, value);
        }
        let spec = found
            .spec
            .ok_or(DecodeError::MissingHeader("ce_specversion"))?;
        if spec != SPEC_VERSION {
            return Err(DecodeError::InvalidHeader {
                name: "ce_specversion",
                value: spec,
            });
        }
        let event_type = found
            .event_type
            .ok_or(DecodeError::MissingHeader("ce_type"))?;
        if event_type != T::TYPE {
            return Err(DecodeError::WrongType {
                expected: T::TYPE,
                found: event_type,
            });
        }
        let id = found.id.ok_or(DecodeError::MissingHeader("ce_id"))?;
        let id = Uuid::parse_str(&id).map_err(|_| DecodeError::InvalidHeader {
            name: "ce_id",
            value: id,
        })?;
        let time = found.time.ok_or(DecodeError::MissingHeader("ce_time"))?;
        let time = DateTime::parse_from_rfc3339(&time)
            .map_err(|_| DecodeError::InvalidHeader {
                name: "ce_time",
                value: time,
            })?
            .with_timezone(&Utc);
        let source = found
            .source
            .ok_or(DecodeError::MissingHeader("ce_source"))?;
        let data = serde_json::from_slice(payload).map_err(|source| DecodeError::Payload {
            schema: T::SCHEMA,
            source,
        })?;
        Ok(Self {
            envelope: Envelope {
                id,
                source,
                time,
                subject: found.subject,
                traceparent: found.traceparent,
            },
            data,
        })
    }
}

#[derive(Default)]
struct Headers {
    spec: Option<String>,
    id: Option<String>,
    source: Option<String>,
    event_type: Option<String>,
    time: Option<String>,
    subject: Option<String>,
    traceparent: Option<String>,
}

impl Headers {
    fn set(&mut self, name: &str, value: &str) {
        let slot = match name {
            "ce_specversion" => &mut self.spec,
            "ce_id" => &mut self.id,
            "ce_source" => &mut self.source,
            "ce_type" => &mut self.event_type,
            "ce_time" => &mut self.time,
            "ce_subject" => &mut self.subject,
            "traceparent" => &mut self.traceparent,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::SupplementTriaged;
    use crate::events::examples;

    fn as_record<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a [u8])> {
        headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
    }

    #[test]
    fn round_trips_through_headers_and_payload() {
        let event = Event::new("/intake/test", examples::time(), examples::triaged())
            .with_traceparent(Some(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
            ));
        let headers = event.headers();
        let back = Event::<SupplementTriaged>::decode(as_record(&headers), &event.payload())
            .expect("decodes");
        assert_eq!(back, event);
    }

    #[test]
    fn names_every_required_attribute() {
        let event = Event::new("/intake/test", examples::time(), examples::triaged());
        let names: Vec<_> = event.headers().iter().map(|(n, _)| *n).collect();
        for required in [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "content-type",
        ] {
            assert!(names.contains(&required), "{required} missing");
        }
    }

    #[test]
    fn refuses_a_record_of_another_type() {
        let event = Event::new("/intake/test", examples::time(), examples::routed());
        let err = Event::<SupplementTriaged>::decode(as_record(&event.headers()), &event.payload())
            .expect_err("wrong type");
        assert!(matches!(err, DecodeError::WrongType { .. }), "{err}");
    }

    #[test]
    fn reports_the_missing_header() {
        let event = Event::new("/intake/test", examples::time(), examples::triaged());
        let headers: Vec<_> = event
            .headers()
            .into_iter()
            .filter(|(n, _)| *n != "ce_id")
            .collect();
        let err = Event::<SupplementTriaged>::decode(as_record(&headers), &event.payload())
            .expect_err("no id");
        assert!(matches!(err, DecodeError::MissingHeader("ce_id")), "{err}");
    }

    #[test]
    fn reports_a_payload_that_does_not_fit() {
        let event = Event::new("/intake/test", examples::time(), examples::triaged());
        let err = Event::<SupplementTriaged>::decode(
            as_record(&event.headers()),
            b"{\"supplement_id\": 1}",
        )
        .expect_err("bad payload");
        assert!(matches!(err, DecodeError::Payload { .. }), "{err}");
    }
}
