//! Thin adapters between intake and the systems around it. Each module
//! holds one outside system's configuration and client; decisions stay in
//! `intake-core`.

pub mod clamav;
pub mod config;
pub mod kafka;
pub mod local_secrets;
pub mod ops;
pub mod pg;
pub mod retry;
pub mod s3;
pub mod sealing;
pub mod shutdown;
pub mod smtp;
pub mod startup;
pub mod telemetry;
