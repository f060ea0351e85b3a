//! Scanning a stored file again: opened from S3 as it streams to clamd and
//! hashed on the way, so the verdict is about the very bytes inspection
//! saw. A quarantined file's release and a delivered file's rescan both
//! rest on it.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::keys::KeyRing;
use super::open::{OpenError, open_object};
use crate::clamav::{ScanError, Scanner, Verdict};
use crate::s3::ObjectStore;

/// A stored file and what inspection recorded of it.
#[derive(Debug, Clone, Copy)]
pub struct StoredFile<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub size: u64,
    /// Hex SHA-256 of the plaintext.
    pub sha256: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanStoredError {
    /// No verdict: clamd could not say.
    #[error("the file could not be scanned: {0}")]
    Scan(#[from] ScanError),
    #[error("the file could not be read for the scan: {0}")]
    Open(#[from] OpenError),
    /// The stored bytes are not the ones inspection saw.
    #[error("the stored file does not match the size and hash recorded for it")]
    Mismatch,
}

/// The verdict on `file` as stored, or why there is none. A broken or
/// tampered object ends the stream with an error, which clamd sees as a
/// failed scan: no verdict, never a clean one.
pub async fn scan_stored(
    objects: &ObjectStore,
    keys: Arc<KeyRing>,
    scanner: &Scanner,
    file: StoredFile<'_>,
) -> Result<Verdict, ScanStoredError> {
    let opened = open_object(objects, keys, file.bucket, file.key).await?;
    let seen = Arc::new(Mutex::new((Sha256::new(), 0u64)));
    let tally = seen.clone();
    let mut received = opened.chunks;
    let chunks = futures::stream::poll_fn(move |cx| received.poll_recv(cx)).map(move |chunk| {
        if let (Ok(bytes), Ok(mut t)) = (&chunk, tally.lock()) {
            t.0.update(bytes);
            t.1 += bytes.len() as u64;
        }
        chunk
    });
    let verdict = scanner.scan_stream(chunks, file.size).await?;
    // Infected bytes are infected whatever they hash to: never dropped
    // for a mismatch.
    if matches!(verdict, Verdict::Infected { .. }) {
        return Ok(verdict);
    }
    let (hasher, scanned) =
        std::mem::take(&mut *seen.lock().map_err(|_| ScanStoredError::Mismatch)?);
    if scanned != file.size || hex::encode(hasher.finalize()) != file.sha256 {
        return Err(ScanStoredError::Mismatch);
    }
    Ok(verdict)
}
