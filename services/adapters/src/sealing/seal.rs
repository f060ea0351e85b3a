//! Sealing a stream: plaintext in, age ciphertext out, chunk by chunk, while
//! counting and hashing the plaintext and enforcing a size limit.
//!
//! Every failure (limit exceeded, the client going away) comes out as an
//! `Err` item, never as an early end of stream: the uploader reading the
//! stream must see an error and abort, or it would store a truncated
//! object as if it were whole.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest as _, Sha256};

use super::Recipients;

/// Size and SHA-256 of the plaintext that went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: String,
}

/// The plaintext was longer than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the content is larger than the limit of {limit} bytes")]
pub struct LimitExceeded {
    pub limit: u64,
}

/// Collects what the age writer produces, to be handed on as a chunk.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn take(&self) -> Bytes {
        Bytes::from(std::mem::take(
            &mut *self.0.lock().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct State<S> {
    input: S,
    writer: Option<age::stream::StreamWriter<Sink>>,
    sink: Sink,
    hasher: Sha256,
    size: u64,
    limit: u64,
    digest: Arc<Mutex<Option<Digest>>>,
}

/// Seals `plaintext` to `recipients`. Once the returned stream has ended
/// without error, `digest` holds the plaintext's size and SHA-256.
pub fn seal_stream<S, E>(
    plaintext: S,
    recipients: &Recipients,
    limit: u64,
    digest: Arc<Mutex<Option<Digest>>>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + use<S, E>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let sink = Sink::default();
    let writer = recipients.encryptor().wrap_output(sink.clone());
    let state = writer.map(|writer| State {
        input: plaintext,
        writer: Some(writer),
        sink,
        hasher: Sha256::new(),
        size: 0,
        limit,
        digest,
    });
    futures::stream::unfold(Some(state), |state| async move {
        let mut state = match state? {
            Ok(state) => state,
            Err(e) => return Some((Err(e), None)),
        };
        match step(&mut state).await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(Ok(state)))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Produces the next non-empty ciphertext chunk, or `None` at the end.
async fn step<S, E>(state: &mut State<S>) -> io::Result<Option<Bytes>>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    loop {
        let Some(writer) = state.writer.as_mut() else {
            return Ok(None);
        };
        match state.input.next().await {
            Some(Ok(chunk)) => {
                state.size += chunk.len() as u64;
                if state.size > state.limit {
                    return Err(io::Error::other(LimitExceeded { limit: state.limit }));
                }
                state.hasher.update(&chunk);
                writer.write_all(&chunk)?;
            }
            Some(Err(e)) => return Err(io::Error::other(e)),
            None => {
                if let Some(writer) = state.writer.take() {
                    writer.finish()?;
                }
                *state.digest.lock().unwrap_or_else(PoisonError::into_inner) = Some(Digest {
                    size: state.size,
                    sha256: hex::encode(state.hasher.clone().finalize()),
                });
            }
        }
        let out = state.sink.take();
        if !out.is_empty() {
            return Ok(Some(out));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::io::Read;

    use futures::stream;
    use secrecy::SecretString;

    use super::*;
    use crate::sealing::KeyRing;

    fn keys() -> (Recipients, age::x25519::Identity) {
        let identity = age::x25519::Identity::generate();
        let recipients = Recipients::parse(&[identity.to_public().to_string()]).expect("recipient");
        (recipients, identity)
    }

    async fn collect(s: impl Stream<Item = io::Result<Bytes>>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        futures::pin_mut!(s);
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn chunks(
        data: &[u8],
        size: usize,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin + use<> {
        let parts: Vec<_> = data
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        stream::iter(parts)
    }

    #[tokio::test]
    async fn sealed_bytes_open_to_the_plaintext_with_its_digest() {
        let (recipients, identity) = keys();
        let plaintext: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let digest = Arc::new(Mutex::new(None));
        let sealed = collect(seal_stream(
            chunks(&plaintext, 10_000),
            &recipients,
            1 << 20,
            digest.clone(),
        ))
        .await
        .expect("sealed");
        assert_ne!(sealed, plaintext);

        let ring = KeyRing::parse(&[SecretString::from(
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string()).to_owned(),
        )])
        .expect("identity");
        let mut opened = ring.open(&sealed[..]).expect("opens");
        let mut out = Vec::new();
        opened.reader.read_to_end(&mut out).expect("decrypts");
        assert_eq!(out, plaintext);
        assert_eq!(opened.key, identity.to_public().to_string());

        let digest = digest
            .lock()
            .expect("lock")
            .clone()
            .expect("digest after the end");
        assert_eq!(digest.size, plaintext.len() as u64);
        assert_eq!(digest.sha256, hex::encode(Sha256::digest(&plaintext)));
    }

    #[tokio::test]
    async fn going_over_the_limit_is_an_error_not_an_end() {
        let (recipients, _) = keys();
        let digest = Arc::new(Mutex::new(None));
        let err = collect(seal_stream(
            chunks(&[7u8; 5000], 1000),
            &recipients,
            4500,
            digest.clone(),
        ))
        .await
        .expect_err("over the limit");
        let limit = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<LimitExceeded>());
        assert_eq!(limit, Some(&LimitExceeded { limit: 4500 }));
        assert!(
            digest.lock().expect("lock").is_none(),
            "no digest for a failed stream"
        );
    }

    #[tokio::test]
    async fn a_failing_input_fails_the_stream() {
        let (recipients, _) = keys();
        let failing = stream::iter(vec![
            Ok(Bytes::from_static(b"first")),
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            )),
        ]);
        let err = collect(seal_stream(failing, &recipients, 1 << 20, Arc::default()))
            .await
            .expect_err("input failed");
        assert!(err.to_string().contains("client went away"), "{err}");
    }

    #[tokio::test]
    async fn empty_input_still_makes_a_valid_age_file() {
        let (recipients, identity) = keys();
        let sealed = collect(seal_stream(chunks(&[], 1), &recipients, 10, Arc::default()))
            .await
            .expect("sealed");
        let ring = KeyRing::parse(&[SecretString::from(
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string()).to_owned(),
        )])
        .expect("identity");
        let mut out = Vec::new();
        ring.open(&sealed[..])
            .expect("opens")
            .reader
            .read_to_end(&mut out)
            .expect("decrypts");
        assert!(out.is_empty());
    }

    #[test]
    fn keys_that_do_not_parse_are_named() {
        assert!(matches!(
            Recipients::parse(&[]),
            Err(crate::sealing::KeyError::NoRecipients)
        ));
        assert!(matches!(
            Recipients::parse(&["age1nope".into()]),
            Err(crate::sealing::KeyError::BadRecipient { index: 0, .. })
        ));
        assert!(matches!(
            KeyRing::parse(&[SecretString::from("AGE-SECRET-KEY-1NOPE".to_owned())]),
            Err(crate::sealing::KeyError::BadIdentity { index: 0 })
        ));
    }
}
