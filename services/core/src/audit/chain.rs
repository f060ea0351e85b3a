//! The audit log's hash chain, checked: each row's hash is SHA-256 over the
//! previous row's hash and the row's canonical text, and the rows follow
//! each other without a gap. PostgreSQL links rows as they are written
//! (`audit_chain_link`); this is the independent check of what is stored.

use sha2::{Digest, Sha256};

/// One stored row of the chain, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    pub chain_seq: i64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// `audit_canonical(row)`: what the hash covers besides `prev_hash`.
    pub canonical: String,
}

/// Where the chain is broken, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("row {found} follows row {after}: rows in between are missing")]
    Gap { after: i64, found: i64 },
    #[error("row {0} does not carry the hash of the row before it")]
    Unlinked(i64),
    #[error("row {0} was changed after it was written: its hash does not match its content")]
    Altered(i64),
}

pub const GENESIS: [u8; 32] = [0; 32];

pub fn row_hash(prev_hash: &[u8], canonical: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical.as_bytes());
    h.finalize().into()
}

/// Checks rows in chain order, one at a time, so a chain of any length is
/// verified in constant memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: Vec<u8>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            last_seq: 0,
            last_hash: GENESIS.to_vec(),
        }
    }
}

impl ChainVerifier {
    pub fn push(&mut self, row: &ChainRow) -> Result<(), ChainBreak> {
        if row.chain_seq != self.last_seq + 1 {
            return Err(ChainBreak::Gap {
                after: self.last_seq,
                found: row.chain_seq,
            });
        }
        if row.prev_hash != self.last_hash {
            return Err(ChainBreak::Unlinked(row.chain_seq));
        }
        if row_hash(&row.prev_hash, &row.canonical).as_slice() != row.hash.as_slice() {
            return Err(ChainBreak::Altered(row.chain_seq));
        }
        self.last_seq = row.chain_seq;
        self.last_hash.clone_from(&row.hash);
        Ok(())
    }

    /// The head reached so far: (rows, hash of the last).
    pub fn head(&self) -> (i64, &[u8]) {
        (self.last_seq, &self.last_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(texts: &[&str]) -> Vec<ChainRow> {
        let mut prev = GENESIS.to_vec();
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let hash = row_hash(&prev, t).to_vec();
                let row = ChainRow {
                    chain_seq: i as i64 + 1,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    canonical: (*t).to_owned(),
                };
                prev = hash;
                row
            })
            .collect()
    }

    fn verify(rows: &[ChainRow]) -> Result<(), ChainBreak> {
        let mut v = ChainVerifier::default();
        rows.iter().try_for_each(|r| v.push(r))
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let rows = chain(&["a", "b", "c"]);
        assert_eq!(verify(&rows), Ok(()));
        let mut v = ChainVerifier::default();
        rows.iter().for_each(|r| v.push(r).expect("valid"));
        assert_eq!(v.head().0, 3);
        assert_eq!(v.head().1, rows[2].hash.as_slice());
    }

    #[test]
    fn a_changed_row_is_found() {
        let mut rows = chain(&["a", "b", "c"]);
        rows[1].canonical = "B".into();
        assert_eq!(verify(&rows), Err(ChainBreak::Altered(2)));
    }

    #[test]
    fn a_deleted_row_is_found() {
        let mut rows = chain(&["a", "b", "c"]);
        rows.remove(1);
        assert_eq!(verify(&rows), Err(ChainBreak::Gap { after: 1, found: 3 }));
    }

    #[test]
    fn a_deleted_row_renumbered_is_found() {
        let mut rows = chain(&["a", "b", "c"]);
        rows.remove(1);
        rows[1].chain_seq = 2;
        assert_eq!(verify(&rows), Err(ChainBreak::Unlinked(2)));
    }

    #[test]
    fn a_rehashed_row_still_breaks_the_next_link() {
        let mut rows = chain(&["a", "b", "c"]);
        rows[1].canonical = "B".into();
        rows[1].hash = row_hash(&rows[1].prev_hash, "B").to_vec();
        assert_eq!(verify(&rows), Err(ChainBreak::Unlinked(3)));
    }
}
