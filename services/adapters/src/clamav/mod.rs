//! clamd through clamav-client's INSTREAM. A scan either proves a stream
//! clean, finds a signature, or fails; a failure is never taken as clean.

mod config;
mod reply;
mod scanner;

pub use config::ClamavConfig;
pub use reply::{ScanError, Verdict, parse_reply};
pub use scanner::Scanner;
