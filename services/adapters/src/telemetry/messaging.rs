//! Spans of Kafka producers and consumers named and described as
//! OpenTelemetry's messaging semantic conventions say, so a tracing
//! backend shows `send supplements.securemail.v1` in the gateway and
//! `process supplements.securemail.v1` in the worker as one trace.

use tracing::Span;

use super::follow;

/// The span of handling one consumed record, a child of the context its
/// producer put in the record's `traceparent` header.
pub fn consumer_span(
    topic: &str,
    group: &str,
    partition: i32,
    offset: i64,
    traceparent: Option<&str>,
) -> Span {
    let span = tracing::info_span!(
        "process",
        otel.name = %format_args!("process {topic}"),
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %topic,
        messaging.consumer.group.name = %group,
        messaging.destination.partition.id = %partition,
        messaging.kafka.offset = offset,
    );
    follow(&span, traceparent);
    span
}

/// The span of producing a record to `topic`; its context is what the
/// record's `traceparent` header carries.
pub fn producer_span(topic: &str) -> Span {
    tracing::info_span!(
        "send",
        otel.name = %format_args!("send {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.destination.name = %topic,
    )
}

/// The `traceparent` header among a record's headers, if it is text: the
/// last one, as the event decoder reads a repeated header.
pub fn traceparent_header<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Option<&'a str> {
    headers
        .into_iter()
        .filter(|(name, _)| *name == "traceparent")
        .last()
        .and_then(|(_, value)| std::str::from_utf8(value).ok())
}
