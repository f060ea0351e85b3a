//! The ingest gateway on the real stack: supplements of both channels land
//! as one event in Kafka and sealed bytes in S3; retries, bad input, limits
//! and broken uploads leave nothing extra behind.

mod enter_finland;
mod generated;
mod idempotency;
mod refusals;
mod securemail;
mod support;
