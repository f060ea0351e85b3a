//! Rules of the automatic receipt that need no I/O: whether a message may
//! be answered at all (RFC 3834 and abuse protection), how the application
//! is shown, and the Message-ID that makes a resend recognisable.

mod admission;
mod bounce;
mod delivery;
mod loops;
mod render;
#[cfg(test)]
mod render_tests;
mod shown;

pub use admission::{Admission, RateLimit, RecipientHistory, admit, recipient_key};
pub use bounce::{
    DeliveryReport, FailedDelivery, MAX_ENCLOSED_IDS, MAX_RECIPIENTS, RecipientStatus,
    failed_delivery,
};
pub use delivery::{Attempt, Next, ReceiptState, RetryPolicy, after_attempt, within_rate};
pub use loops::{NoReceipt, dmarc_result, no_receipt};
pub use render::{PerReason, Rendered, Template, Templates, render, render_combined};
pub use shown::{mask_addresses, mask_application_id, receipt_message_id};
