//! The caseworkers' inbox on the real stack: its own process, the local
//! identity provider's tokens, PostgreSQL deciding access, S3 holding the
//! sealed files.

mod access;
mod audit;
mod browser;
mod contract;
mod fixture;
mod quarantine;
mod roles;
mod take_next;
mod tokens;
mod triage;
