//! Sealed bytes in S3: opening them with the key ring as a stream,
//! reading what inspection needs in one pass, and sealing what the worker
//! extracts (files inside e-mails, message texts) before it is stored.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::StreamExt;
use intake_adapters::s3::{ObjectStore, S3Error};
use intake_adapters::sealing::{
    Digest, KeyError, KeyRing, OpenError, Recipients, open_object, seal_stream,
};
use intake_core::events::{ObjectRef, PayloadEncryption};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::io::StreamReader;

use crate::inspect::{HEAD_BYTES, ZIP_TAIL_BYTES, tail_of};
use crate::metrics::{Stage, WorkerMetrics};

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("stored object {bucket}/{key} is missing")]
    Missing { bucket: String, key: String },
    #[error(transparent)]
    Store(S3Error),
    #[error("cannot open the payload")]
    Sealed(#[source] KeyError),
    #[error("reading the decrypted payload failed")]
    Read(#[source] io::Error),
    #[error("payload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("payload does not match its event: {0}")]
    Mismatch(String),
}

impl ContentError {
    /// Whether retrying could help: storage hiccups, yes; a missing object,
    /// a wrong key or tampered bytes, no.
    pub fn is_transient(&self) -> bool {
        match self {
            ContentError::Store(_) => true,
            ContentError::Read(_) => !self.is_unopenable(),
            _ => false,
        }
    }

    /// The stored bytes can never be opened: sealed with none of our keys,
    /// tampered with or cut short (age authenticates every chunk and the
    /// end), or not what the event says. Kept apart, never retried.
    pub fn is_unopenable(&self) -> bool {
        match self {
            ContentError::Sealed(_) | ContentError::Mismatch(_) => true,
            ContentError::Read(e) => matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

fn store_error(e: S3Error, obj: &ObjectRef) -> ContentError {
    if e.is_not_found() {
        ContentError::Missing {
            bucket: obj.bucket.clone(),
            key: obj.key.clone(),
        }
    } else {
        ContentError::Store(e)
    }
}

/// The decrypted bytes of a file as read once: digest, leading bytes, and
/// all of it when small enough to inspect in memory.
pub struct Plain {
    pub size: u64,
    pub sha256: String,
    pub head: Vec<u8>,
    /// The last bytes, where a ZIP keeps its directory.
    pub tail: Vec<u8>,
    pub whole: Option<Bytes>,
}

impl Plain {
    pub fn from_bytes(bytes: Bytes) -> Self {
        Plain {
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            head: bytes[..bytes.len().min(HEAD_BYTES)].to_vec(),
            tail: tail_of(&bytes).to_vec(),
            whole: Some(bytes),
        }
    }

    /// Fails unless size and digest are those the event promised.
    pub fn verify(&self, obj: &ObjectRef) -> Result<(), ContentError> {
        if self.size != obj.size || self.sha256 != obj.sha256 {
            return Err(ContentError::Mismatch(format!(
                "{} has {} bytes / {}, the event says {} / {}",
                obj.key, self.size, self.sha256, obj.size, obj.sha256
            )));
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Content {
    store: ObjectStore,
    keys: Arc<KeyRing>,
    recipients: Recipients,
    metrics: WorkerMetrics,
}

impl Content {
    pub fn new(
        store: ObjectStore,
        keys: KeyRing,
        recipients: Recipients,
        metrics: WorkerMetrics,
    ) -> Self {
        Self {
            store,
            keys: Arc::new(keys),
            recipients,
            metrics,
        }
    }

    pub fn store(&self) -> &ObjectStore {
        &self.store
    }

    /// Starts decrypting an object; returns the opening key and the
    /// plaintext as a stream of chunks.
    pub async fn open(
        &self,
        obj: &ObjectRef,
    ) -> Result<(String, mpsc::Receiver<io::Result<Bytes>>), ContentError> {
        let opened = open_object(&self.store, self.keys.clone(), &obj.bucket, &obj.key)
            .await
            .map_err(|e| match e {
                OpenError::Missing { bucket, key } => ContentError::Missing { bucket, key },
                OpenError::Store(e) => ContentError::Store(e),
                OpenError::Sealed(e) => ContentError::Sealed(e),
                // S3's own errors are retried (`is_transient`), a header
                // cut short is not.
                OpenError::Read(e) => ContentError::Read(e),
            })?;
        Ok((opened.key, opened.chunks))
    }

    /// Reads a file through once: digest and head always, all of it up to
    /// `keep_up_to` bytes.
    pub async fn read(
        &self,
        obj: &ObjectRef,
        keep_up_to: u64,
    ) -> Result<(String, Plain), ContentError> {
        let (key, chunks) = self.metrics.timed(Stage::Fetch, self.open(obj)).await?;
        let plain = self
            .metrics
            .timed(Stage::Decrypt, read_through(chunks, keep_up_to))
            .await?;
        plain.verify(obj)?;
        Ok((key, plain))
    }

    /// Reads a whole payload into memory, refusing more than `limit` bytes.
    pub async fn read_all(
        &self,
        obj: &ObjectRef,
        limit: u64,
    ) -> Result<(String, Bytes), ContentError> {
        if obj.size > limit {
            return Err(ContentError::TooLarge { limit });
        }
        let (key, plain) = self.read(obj, limit).await?;
        let bytes = plain.whole.ok_or(ContentError::TooLarge { limit })?;
        Ok((key, bytes))
    }

    /// The decrypted bytes as a stream, for a second pass (the virus scan
    /// of a file too large to hold).
    pub async fn stream(
        &self,
        obj: &ObjectRef,
    ) -> Result<impl futures::Stream<Item = io::Result<Bytes>> + Send + Unpin + use<>, ContentError>
    {
        let (_, chunks) = self.open(obj).await?;
        Ok(ReceiverStream::new(chunks))
    }

    /// Seals `bytes` to the configured recipients and stores them.
    pub async fn seal_and_put(
        &self,
        bucket: &str,
        key: &str,
        bytes: Bytes,
    ) -> Result<ObjectRef, ContentError> {
        let plaintext = futures::stream::iter(slices(bytes).map(Ok::<_, io::Error>));
        self.seal_and_put_stream(bucket, key, plaintext).await
    }

    /// Seals a plaintext stream as it comes and stores it; an error in
    /// the stream aborts the upload, so no partial object is left.
    pub async fn seal_and_put_stream<S>(
        &self,
        bucket: &str,
        key: &str,
        plaintext: S,
    ) -> Result<ObjectRef, ContentError>
    where
        S: futures::Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    {
        let digest: Arc<Mutex<Option<Digest>>> = Arc::default();
        let sealed = seal_stream(plaintext, &self.recipients, u64::MAX, digest.clone());
        self.store
            .put_stream(bucket, key, StreamReader::new(Box::pin(sealed)))
            .await
            .map_err(ContentError::Store)?;
        let digest = digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                ContentError::Read(io::Error::other("sealing ended without a digest"))
            })?;
        Ok(ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size: digest.size,
            sha256: digest.sha256,
            encryption: PayloadEncryption::Age,
        })
    }

    /// Removes a stored object; one already gone is not an error.
    pub async fn delete(&self, obj: &ObjectRef) -> Result<(), ContentError> {
        self.store
            .delete(&obj.bucket, &obj.key)
            .await
            .map_err(ContentError::Store)
    }

    /// Copies a sealed object as it is (still sealed) to another place.
    pub async fn copy(
        &self,
        obj: &ObjectRef,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectRef, ContentError> {
        self.store
            .copy(&obj.bucket, &obj.key, bucket, key)
            .await
            .map_err(|e| store_error(e, obj))?;
        Ok(ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            ..obj.clone()
        })
    }
}

/// Reads decrypted chunks through once: digest and head always, all of it
/// up to `keep_up_to` bytes.
async fn read_through(
    mut chunks: mpsc::Receiver<io::Result<Bytes>>,
    keep_up_to: u64,
) -> Result<Plain, ContentError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::new();
    let mut tail: Vec<u8> = Vec::new();
    let mut whole = Some(Vec::new());
    while let Some(chunk) = chunks.recv().await {
        let chunk = chunk.map_err(ContentError::Read)?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        if head.len() < HEAD_BYTES {
            head.extend_from_slice(&chunk[..chunk.len().min(HEAD_BYTES - head.len())]);
        }
        tail.extend_from_slice(tail_of(&chunk));
        if tail.len() > ZIP_TAIL_BYTES {
            tail.drain(..tail.len() - ZIP_TAIL_BYTES);
        }
        if size > keep_up_to {
            whole = None;
        } else if let Some(buf) = whole.as_mut() {
            buf.extend_from_slice(&chunk);
        }
    }
    Ok(Plain {
        size,
        sha256: hex::encode(hasher.finalize()),
        head,
        tail,
        whole: whole.map(Bytes::from),
    })
}

/// Bytes in memory handed on in slices of the same buffer: sealing makes
/// its ciphertext one input chunk at a time, so a whole file as one chunk
/// would be held twice.
pub fn slices(bytes: Bytes) -> impl Iterator<Item = Bytes> + Send {
    const SLICE: usize = 1 << 20;
    (0..bytes.len().div_ceil(SLICE))
        .map(move |i| bytes.slice(i * SLICE..bytes.len().min((i + 1) * SLICE)))
}

/// Stream adapter for scanning bytes already in memory.
pub fn bytes_stream(bytes: Bytes) -> impl futures::Stream<Item = io::Result<Bytes>> + Send + Unpin {
    futures::stream::iter(slices(bytes).map(Ok)).boxed()
}
