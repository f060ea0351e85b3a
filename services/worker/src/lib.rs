//! intake-worker: takes every supplement from the inbound topics through
//! decryption, inspection, virus scanning, matching and deduplication,
//! and routes it in arrival order, exactly once.
//!
//! The decisions are pure functions in `intake_core::decide`; this crate
//! reads, inspects and stores, and carries the decisions out.

pub mod analyse;
pub mod config;
pub mod content;
pub use intake_inspect as inspect;
mod lanes;
pub mod mail_read;
pub mod metrics;
pub mod registry;
pub mod sandbox;
pub mod scan;
pub mod stage;
pub mod store;
mod worker;

pub use worker::{Parts, StartError, Worker};
