//! The receipt service on the real stack: every outcome through gateway,
//! worker and receipts, checked mail by mail (headers, DKIM verified by
//! the SMTP server, words in the applicant's language); exactly one
//! receipt per supplement across redelivery and SIGKILL; no receipt to
//! auto-replies, bounces, list mail, listed or over-limit senders; and
//! retries, permanent failures and outages of SMTP and the e-service.

mod abuse;
mod bounce;
mod end_to_end;
mod exactly_once;
mod failures;
mod support;
mod traces;
#[allow(dead_code)]
#[path = "../worker/support.rs"]
mod worker_support;
