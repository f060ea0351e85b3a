//! Opening a sealed object in S3 as a stream of plaintext chunks: fetched,
//! authenticated and decrypted as it is read, so memory stays flat however
//! large the object. The worker reads files through it, the inbox serves
//! downloads through it.

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_util::io::SyncIoBridge;

use super::keys::{KeyError, KeyRing};
use crate::s3::{ObjectStore, S3Error};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("stored object {bucket}/{key} is missing")]
    Missing { bucket: String, key: String },
    #[error(transparent)]
    Store(S3Error),
    #[error("cannot open the payload")]
    Sealed(#[source] KeyError),
    /// An I/O error under the age header: S3 failing mid-stream, or the
    /// header cut short.
    #[error("reading the sealed payload failed")]
    Read(#[source] io::Error),
}

/// The plaintext of an object being opened.
pub struct OpenedObject {
    /// The public key of the identity that opened it.
    pub key: String,
    /// Plaintext chunks; an error ends the stream (tampered or cut-short
    /// bytes show as `InvalidData` or `UnexpectedEof`).
    pub chunks: mpsc::Receiver<io::Result<Bytes>>,
}

const CHUNK: usize = 256 * 1024;
/// Chunks decrypted ahead of the reader: bounds memory per open object.
const AHEAD: usize = 4;

pub async fn open_object(
    store: &ObjectStore,
    keys: Arc<KeyRing>,
    bucket: &str,
    key: &str,
) -> Result<OpenedObject, OpenError> {
    let body = store.get_stream(bucket, key).await.map_err(|e| {
        if e.is_not_found() {
            OpenError::Missing {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }
        } else {
            OpenError::Store(e)
        }
    })?;
    // Bridged here, inside the runtime, for use on the blocking thread.
    let sync = SyncIoBridge::new(body);
    let (opened_tx, opened_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut reader = match keys.open(sync) {
            Ok(opened) => {
                let _ = opened_tx.send(Ok(opened.key));
                opened.reader
            }
            Err(e) => {
                let _ = opened_tx.send(Err(e));
                return;
            }
        };
        loop {
            let mut buf = vec![0; CHUNK];
            let chunk = match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            // A reader that went away (a download cancelled) stops the work.
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    let key = opened_rx
        .await
        .map_err(|_| OpenError::Read(io::Error::other("decryption task ended early")))?
        .map_err(|e| match e {
            KeyError::Corrupt(age::DecryptError::Io(io)) => OpenError::Read(io),
            other => OpenError::Sealed(other),
        })?;
    Ok(OpenedObject { key, chunks: rx })
}
