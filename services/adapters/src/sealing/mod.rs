//! Payload encryption at rest with the age format: sealing to the agency's
//! X25519 recipients as bytes stream through, and opening with a key ring of
//! current and previous identities, so keys rotate without downtime.

mod keys;
mod open;
mod scan;
mod seal;

pub use keys::{KeyError, KeyRing, Opened, Recipients};
pub use open::{OpenError, OpenedObject, open_object};
pub use scan::{ScanStoredError, StoredFile, scan_stored};
pub use seal::{Digest, LimitExceeded, seal_stream};
