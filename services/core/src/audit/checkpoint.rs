//! Signed checkpoints of the audit chain's head. Someone who can write the
//! database can rebuild the whole chain with fresh hashes, and the chain
//! alone would still verify; a checkpoint signed with a key the database
//! never holds, stored where the database cannot write, pins what the
//! chain was at that row. `intake audit verify` compares every checkpoint
//! with the stored chain.

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a checkpoint says: row `chain_seq` of the chain had hash `hash`
/// when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub chain_seq: i64,
    pub hash: [u8; 32],
    pub taken_at: DateTime<Utc>,
}

/// A checkpoint as stored: JSON, with the signing key's id and an Ed25519
/// signature over the canonical text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    pub version: u32,
    pub chain_seq: i64,
    /// Lower-case hex.
    pub hash: String,
    /// RFC 3339, UTC, microseconds.
    pub taken_at: String,
    /// `key_id` of the verifying key.
    pub key_id: String,
    /// Lower-case hex of the 64-byte signature.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint is not in format version 1")]
    Version,
    #[error("checkpoint is malformed: {0}")]
    Malformed(&'static str),
    #[error("checkpoint was signed with key {found}, not with {expected}")]
    OtherKey { found: String, expected: String },
    #[error("checkpoint signature does not verify: it was changed or forged")]
    BadSignature,
}

const VERSION: u32 = 1;

/// The bytes signed: fixed fields in a fixed order, so the JSON around
/// them can be re-encoded without breaking the signature.
fn message(chain_seq: i64, hash_hex: &str, taken_at: &str, key_id: &str) -> String {
    format!("intake-audit-checkpoint/v{VERSION}\n{chain_seq}\n{hash_hex}\n{taken_at}\n{key_id}\n")
}

/// A short, stable name for a verifying key: the first 8 bytes of the
/// SHA-256 of its bytes, in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex(&Sha256::digest(key.as_bytes())[..8])
}

impl Checkpoint {
    pub fn sign(&self, key: &SigningKey) -> SignedCheckpoint {
        let hash = hex(&self.hash);
        let taken_at = self.taken_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let key_id = key_id(&key.verifying_key());
        let signature = key.sign(message(self.chain_seq, &hash, &taken_at, &key_id).as_bytes());
        SignedCheckpoint {
            version: VERSION,
            chain_seq: self.chain_seq,
            hash,
            taken_at,
            key_id,
            signature: hex(&signature.to_bytes()),
        }
    }
}

impl SignedCheckpoint {
    /// The checkpoint, when `key` signed exactly this.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Checkpoint, CheckpointError> {
        if self.version != VERSION {
            return Err(CheckpointError::Version);
        }
        let expected = key_id(key);
        if self.key_id != expected {
            return Err(CheckpointError::OtherKey {
                found: self.key_id.clone(),
                expected,
            });
        }
        let signature: [u8; 64] = unhex(&self.signature)
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::Malformed("signature"))?;
        key.verify_strict(
            message(self.chain_seq, &self.hash, &self.taken_at, &self.key_id).as_bytes(),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| CheckpointError::BadSignature)?;
        // Signed, so well-formed unless the signer was wrong; checked anyway.
        let hash: [u8; 32] = unhex(&self.hash)
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::Malformed("hash"))?;
        let taken_at = DateTime::parse_from_rfc3339(&self.taken_at)
            .map_err(|_| CheckpointError::Malformed("taken_at"))?
            .with_timezone(&Utc);
        if self.chain_seq < 0 {
            return Err(CheckpointError::Malformed("chain_seq"));
        }
        Ok(Checkpoint {
            chain_seq: self.chain_seq,
            hash,
            taken_at,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            chain_seq: 1234,
            hash: [7; 32],
            taken_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).expect("valid"),
        }
    }

    #[test]
    fn a_signed_checkpoint_round_trips_through_json() {
        let signed = checkpoint().sign(&key(1));
        let json = serde_json::to_string(&signed).expect("json");
        let back: SignedCheckpoint = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.verify(&key(1).verifying_key()), Ok(checkpoint()));
    }

    #[test]
    fn any_changed_field_breaks_the_signature() {
        let signed = checkpoint().sign(&key(1));
        let public = key(1).verifying_key();
        let mut changes: Vec<SignedCheckpoint> = Vec::new();
        changes.push(SignedCheckpoint {
            chain_seq: 1233,
            ..signed.clone()
        });
        changes.push(SignedCheckpoint {
            hash: hex(&[8; 32]),
            ..signed.clone()
        });
        changes.push(SignedCheckpoint {
            taken_at: "2026-11-28T00:00:00.000000Z".into(),
            ..signed.clone()
        });
        let mut flipped = unhex(&signed.signature).expect("hex");
        flipped[0] ^= 1;
        changes.push(SignedCheckpoint {
            signature: hex(&flipped),
            ..signed.clone()
        });
        for changed in changes {
            assert_eq!(
                changed.verify(&public),
                Err(CheckpointError::BadSignature),
                "{changed:?}"
            );
        }
    }

    #[test]
    fn another_key_or_a_forged_key_id_is_refused() {
        let signed = checkpoint().sign(&key(2));
        assert!(matches!(
            signed.verify(&key(1).verifying_key()),
            Err(CheckpointError::OtherKey { .. })
        ));
        // Claiming the right key id does not make someone else's signature
        // valid.
        let forged = SignedCheckpoint {
            key_id: key_id(&key(1).verifying_key()),
            ..signed
        };
        assert_eq!(
            forged.verify(&key(1).verifying_key()),
            Err(CheckpointError::BadSignature)
        );
    }

    #[test]
    fn malformed_fields_are_errors_not_panics() {
        let signed = checkpoint().sign(&key(1));
        let public = key(1).verifying_key();
        for signature in ["", "zz", "abc", &"0".repeat(126)] {
            let bad = SignedCheckpoint {
                signature: signature.into(),
                ..signed.clone()
            };
            assert_eq!(
                bad.verify(&public),
                Err(CheckpointError::Malformed("signature"))
            );
        }
        let other_version = SignedCheckpoint {
            version: 2,
            ..signed
        };
        assert_eq!(other_version.verify(&public), Err(CheckpointError::Version));
    }
}
