//! Moving CloudEvents headers in and out of rdkafka's header types.

use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};

pub fn owned_headers(headers: &[(&str, String)]) -> OwnedHeaders {
    headers
        .iter()
        .fold(OwnedHeaders::new(), |acc, (key, value)| {
            acc.insert(Header {
                key,
                value: Some(value.as_bytes()),
            })
        })
}

/// The headers of a received record as `(name, value)`; headers without a
/// value are skipped.
pub fn record_headers<'a>(message: &'a BorrowedMessage<'a>) -> Vec<(&'a str, &'a [u8])> {
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .filter_map(|h| Some((h.key, h.value?)))
                .collect()
        })
        .unwrap_or_default()
}
