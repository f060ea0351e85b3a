//! Parsing age keys from configuration, and opening sealed payloads.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use age::x25519;
use age_core::format::{FileKey, Stanza};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no age recipient configured: at least one public key (age1...) is needed")]
    NoRecipients,
    #[error("recipient {index} is not an age X25519 public key: {reason}")]
    BadRecipient { index: usize, reason: String },
    #[error("identity {index} is not an age X25519 secret key (AGE-SECRET-KEY-1...)")]
    BadIdentity { index: usize },
    #[error("the payload cannot be opened with any configured identity")]
    NoMatchingKey,
    #[error("the payload is not a valid age file")]
    Corrupt(#[source] age::DecryptError),
}

/// The public keys payloads are sealed to. More than one during a key
/// rotation, so old and new identities can both open new payloads.
#[derive(Clone)]
pub struct Recipients(Arc<[x25519::Recipient]>);

impl Recipients {
    pub fn parse(keys: &[String]) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoRecipients);
        }
        let parsed = keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                key.trim()
                    .parse::<x25519::Recipient>()
                    .map_err(|reason| KeyError::BadRecipient {
                        index,
                        reason: reason.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(parsed.into()))
    }

    pub(super) fn encryptor(&self) -> age::Encryptor {
        age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient))
            .unwrap_or_else(|e| unreachable!("recipients are never empty: {e}"))
    }
}

/// Current and previous identities, newest first. A payload sealed to any
/// of them opens; which one did is reported for the audit trail.
pub struct KeyRing {
    identities: Vec<(String, x25519::Identity)>,
}

/// A payload being opened, and the identity that opened it.
pub struct Opened<R> {
    pub reader: R,
    /// The public key of the identity that opened it.
    pub key: String,
}

impl KeyRing {
    pub fn parse(secrets: &[SecretString]) -> Result<Self, KeyError> {
        let identities = secrets
            .iter()
            .enumerate()
            .map(|(index, secret)| {
                let identity = secret
                    .expose_secret()
                    .trim()
                    .parse::<x25519::Identity>()
                    .map_err(|_| KeyError::BadIdentity { index })?;
                Ok((identity.to_public().to_string(), identity))
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        Ok(Self { identities })
    }

    /// Starts decrypting `sealed`; bytes are authenticated chunk by chunk
    /// (64 KiB) as they are read.
    pub fn open<R: Read>(&self, sealed: R) -> Result<Opened<impl Read + use<R>>, KeyError> {
        let decryptor = age::Decryptor::new(sealed).map_err(KeyError::Corrupt)?;
        let matched: Vec<AtomicBool> = self
            .identities
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        let tracking: Vec<Tracking<'_>> = self
            .identities
            .iter()
            .zip(&matched)
            .map(|((_, identity), hit)| Tracking { identity, hit })
            .collect();
        let reader = decryptor
            .decrypt(tracking.iter().map(|t| t as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => KeyError::NoMatchingKey,
                other => KeyError::Corrupt(other),
            })?;
        let index = matched
            .iter()
            .position(|hit| hit.load(Ordering::Relaxed))
            .unwrap_or_default();
        Ok(Opened {
            reader,
            key: self.identities[index].0.clone(),
        })
    }
}

/// An identity that notes when it opened the file key, so the key ring
/// can report which of its identities was used.
struct Tracking<'a> {
    identity: &'a x25519::Identity,
    hit: &'a AtomicBool,
}

impl age::Identity for Tracking<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        let result = self.identity.unwrap_stanza(stanza);
        if matches!(result, Some(Ok(_))) {
            self.hit.store(true, Ordering::Relaxed);
        }
        result
    }
}
