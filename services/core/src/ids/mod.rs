//! Identifiers that applicants and caseworkers type by hand, each ending in a
//! check digit so that a mistyped number is caught before it is matched.
//!
//! The formats are defined in `schemas/README.md`; this module is their
//! reference implementation.

mod damm;
mod id_types;

pub use damm::{check_digit, is_valid as damm_is_valid};
pub use id_types::{ApplicationId, CustomerNumber, IdError, RequestId};
