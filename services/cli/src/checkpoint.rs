//! `intake audit checkpoint`: signs the audit chain's head and stores it in
//! S3, once or every `--every`; and the checkpoints' side of `intake audit
//! verify`. In production the bucket has S3 Object Lock (compliance mode)
//! and the signing key is held by no one who can write the database.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::prelude::*;
use chrono::Utc;
use ed25519_dalek::{SigningKey, VerifyingKey};
use intake_adapters::local_secrets::refuse_committed;
use intake_adapters::pg;
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_core::audit::{Checkpoint, SignedCheckpoint, key_id};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::PgPool;
use tokio::io::AsyncReadExt;

/// `INTAKE_AUDIT__*`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Where checkpoints are written: a bucket the database's owners
    /// cannot write or delete in (Object Lock in production).
    pub checkpoint_bucket: String,
    #[serde(default = "default_prefix")]
    pub checkpoint_prefix: String,
    /// Ed25519 private key, 32 bytes in base64: only where checkpoints are
    /// taken (`intake audit keygen`).
    #[serde(default)]
    pub signing_key: Option<SecretString>,
    /// Its public half, 32 bytes in base64: where they are verified.
    /// After a rotation, the new key and the old ones, comma-separated.
    #[serde(default)]
    pub verifying_key: Option<String>,
}

fn default_prefix() -> String {
    "audit-checkpoints/".to_owned()
}

#[derive(Debug, Deserialize)]
struct CheckpointConfig {
    postgres: pg::PostgresConfig,
    s3: S3Config,
    audit: AuditSettings,
    #[serde(default)]
    local_stack: bool,
}

/// A checkpoint's object holds a few hundred bytes; more is not one.
const MAX_CHECKPOINT_BYTES: u64 = 16 * 1024;

pub async fn take(every: Option<Duration>) -> anyhow::Result<()> {
    let config: CheckpointConfig =
        intake_adapters::config::load().context("failed to load configuration")?;
    let secret = config
        .audit
        .signing_key
        .as_ref()
        .context("audit.signing_key is not set: checkpoints cannot be signed")?;
    refuse_committed(
        config.local_stack,
        [("audit.signing_key", secret.expose_secret().as_bytes())],
    )?;
    let key = signing_key(secret)?;
    let pool = pg::connect(&config.postgres).await?;
    let store = ObjectStore::connect(&config.s3).await?;
    store
        .ensure_bucket(&config.audit.checkpoint_bucket)
        .await
        .context("cannot reach the checkpoint bucket")?;
    let Some(every) = every else {
        return write_one(&pool, &store, &config.audit, &key).await;
    };
    let shutdown = intake_adapters::shutdown::signal();
    tokio::pin!(shutdown);
    loop {
        // A failed round is reported and tried again next time; the one
        // after shows whether the chain moved meanwhile.
        if let Err(e) = write_one(&pool, &store, &config.audit, &key).await {
            eprintln!("audit checkpoint failed: {e:#}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut shutdown => return Ok(()),
        }
    }
}

async fn write_one(
    pool: &PgPool,
    store: &ObjectStore,
    settings: &AuditSettings,
    key: &SigningKey,
) -> anyhow::Result<()> {
    // Only a head the rows lead to is signed: a head set by hand, or a
    // chain already broken, gets no signature that would stand for ever.
    let mut tx = crate::audit::snapshot(pool).await?;
    let (chain_seq, hash) = crate::audit::walk(&mut tx, None)
        .await
        .context("the audit chain does not verify; no checkpoint signed")?;
    tx.commit().await?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| anyhow::anyhow!("the chain head's hash is not 32 bytes"))?;
    let taken_at = Utc::now();
    let signed = Checkpoint {
        chain_seq,
        hash,
        taken_at,
    }
    .sign(key);
    let body = serde_json::to_vec_pretty(&signed)?;
    let object = format!(
        "{}{}/{chain_seq:020}-{}.json",
        settings.checkpoint_prefix,
        taken_at.format("%Y/%m/%d"),
        taken_at.format("%H%M%S%6f")
    );
    store
        .put_stream(&settings.checkpoint_bucket, &object, body.as_slice())
        .await
        .with_context(|| format!("cannot write {object}"))?;
    println!(
        "audit checkpoint: row {chain_seq}, head {} -> {}/{object}",
        signed.hash, settings.checkpoint_bucket
    );
    Ok(())
}

/// The stored checkpoints, every one verified.
pub struct Verified {
    /// Row number to the hash a checkpoint pins.
    pub pinned: BTreeMap<i64, [u8; 32]>,
    pub count: usize,
    pub newest: Option<chrono::DateTime<Utc>>,
}

impl Verified {
    pub fn newest_age(&self) -> Option<chrono::Duration> {
        self.newest.map(|at| Utc::now() - at)
    }
}

/// Every stored checkpoint, verified with the key it names among
/// `audit.verifying_key` (a comma-separated list: keys rotate, and older
/// checkpoints keep their signatures).
pub async fn load_verified(s3: &S3Config, settings: &AuditSettings) -> anyhow::Result<Verified> {
    let keys = settings
        .verifying_key
        .as_deref()
        .context("audit.verifying_key is not set: checkpoints cannot be checked")?
        .split(',')
        .map(verifying_key)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = ObjectStore::connect(s3).await?;
    let objects = store
        .list(&settings.checkpoint_bucket, &settings.checkpoint_prefix)
        .await
        .context("cannot list the checkpoints")?;
    let mut found = Verified {
        pinned: BTreeMap::new(),
        count: 0,
        newest: None,
    };
    for object in objects {
        let mut body = Vec::new();
        store
            .get_stream(&settings.checkpoint_bucket, &object)
            .await?
            .take(MAX_CHECKPOINT_BYTES + 1)
            .read_to_end(&mut body)
            .await
            .with_context(|| format!("cannot read {object}"))?;
        if body.len() as u64 > MAX_CHECKPOINT_BYTES {
            bail!("{object} is too large to be a checkpoint");
        }
        let signed: SignedCheckpoint = serde_json::from_slice(&body)
            .with_context(|| format!("{object} is not a checkpoint"))?;
        let key = keys
            .iter()
            .find(|k| key_id(k) == signed.key_id)
            .unwrap_or(&keys[0]);
        let checkpoint = signed
            .verify(key)
            .with_context(|| format!("checkpoint {object}"))?;
        if let Some(other) = found.pinned.insert(checkpoint.chain_seq, checkpoint.hash)
            && other != checkpoint.hash
        {
            bail!(
                "two signed checkpoints disagree on row {}: the chain was rewritten between them",
                checkpoint.chain_seq
            );
        }
        found.count += 1;
        found.newest = found.newest.max(Some(checkpoint.taken_at));
    }
    Ok(found)
}

pub fn keygen() {
    use rand::Rng;
    let mut seed = [0u8; 32];
    rand::rng().fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    println!(
        "# public key (audit.verifying_key): {}",
        BASE64_STANDARD.encode(key.verifying_key().as_bytes())
    );
    println!("{}", BASE64_STANDARD.encode(key.to_bytes()));
}

fn signing_key(secret: &SecretString) -> anyhow::Result<SigningKey> {
    let bytes: [u8; 32] = BASE64_STANDARD
        .decode(secret.expose_secret().trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("audit.signing_key must be 32 bytes in base64 (intake audit keygen)")?;
    Ok(SigningKey::from_bytes(&bytes))
}

fn verifying_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let bytes: [u8; 32] = BASE64_STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("audit.verifying_key must be 32 bytes in base64")?;
    VerifyingKey::from_bytes(&bytes).context("audit.verifying_key is not an Ed25519 public key")
}
