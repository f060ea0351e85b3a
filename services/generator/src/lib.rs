//! Realistic traffic for intake with the right answers known in advance.
//!
//! From a seed, [`population`] makes applicants and their applications (the
//! registry), and [`plan`] makes a stream of supplements of every kind the
//! channels deliver, each with its [`manifest::Expected`] outcome, so tests
//! and benchmarks check every outcome, not just counts. Everything here is
//! deterministic and free of I/O; the `intake-generate` binary sends it.

pub mod files;
pub mod mail;
pub mod manifest;
pub mod plan;
pub mod population;
pub mod send;
