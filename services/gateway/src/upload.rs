//! Storing a supplement's parts sealed in S3, remembering each key so a
//! request that fails later can remove everything it stored. Each attempt
//! writes under its own prefix: a retry that takes over a stalled request
//! never overwrites or removes parts an earlier attempt's event may name.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::Stream;
use intake_adapters::s3::S3Error;
use intake_adapters::sealing::{LimitExceeded, seal_stream};
use intake_core::events::{ObjectRef, PayloadEncryption};
use intake_core::ingest::object_key;
use tokio_util::io::StreamReader;
use uuid::Uuid;

use crate::App;
use crate::error::ApiError;

pub struct Uploads {
    app: App,
    supplement_id: Uuid,
    attempt: Uuid,
    stored: Vec<String>,
    /// Plaintext bytes stored so far, against the per-message limit.
    pub total: u64,
}

impl Uploads {
    pub fn new(app: App, supplement_id: Uuid) -> Self {
        Self {
            app,
            supplement_id,
            attempt: Uuid::now_v7(),
            stored: Vec::new(),
            total: 0,
        }
    }

    /// Seals and stores one part. `what` names it in a too-large answer.
    pub async fn put<S, E>(
        &mut self,
        part: &str,
        plaintext: S,
        limit: u64,
        what: &str,
    ) -> Result<ObjectRef, ApiError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::error::Error + Send + Sync + 'static,
    {
        let key = object_key(self.supplement_id, self.attempt, part);
        let bucket = &self.app.config.inbound_bucket;
        let digest = Arc::new(Mutex::new(None));
        let sealed = seal_stream(plaintext, &self.app.recipients, limit, digest.clone());
        // Recorded before the upload: a failure may leave a (single-part)
        // object behind, and discarding a key that is not there is harmless.
        self.stored.push(key.clone());
        self.app
            .store
            .put_stream(bucket, &key, StreamReader::new(Box::pin(sealed)))
            .await
            .map_err(|e| classify(e, what, limit))?;
        let digest = digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                ApiError::Unavailable(anyhow::anyhow!("sealing ended without a digest"))
            })?;
        self.total += digest.size;
        self.app.metrics.received(digest.size);
        Ok(ObjectRef {
            bucket: bucket.clone(),
            key,
            size: digest.size,
            sha256: digest.sha256,
            encryption: PayloadEncryption::Age,
        })
    }

    /// Removes every part stored by this attempt; only called when nothing
    /// naming them can have been published.
    pub async fn discard(self) {
        for key in &self.stored {
            if let Err(error) = self
                .app
                .store
                .delete(&self.app.config.inbound_bucket, key)
                .await
            {
                tracing::warn!(
                    key,
                    error = format!("{error:#}"),
                    "could not remove a part of a failed request"
                );
            }
        }
    }
}

fn classify(error: S3Error, what: &str, limit: u64) -> ApiError {
    match &error {
        S3Error::Body { source, .. } => {
            if source.get_ref().is_some_and(|e| e.is::<LimitExceeded>()) {
                ApiError::TooLarge {
                    what: what.to_owned(),
                    limit,
                }
            } else {
                // The request body itself failed: the client went away.
                ApiError::Aborted
            }
        }
        _ => ApiError::Unavailable(error.into()),
    }
}
