//! `intake audit verify`: walks the audit log's hash chain from the first
//! row to the head, in constant memory, and says where it is broken; and,
//! where checkpoints are configured, that every signed checkpoint matches
//! the row it pins.

use anyhow::Context;
use futures::TryStreamExt;
use intake_adapters::pg;
use intake_core::audit::{ChainRow, ChainVerifier};
use sqlx::Row;

use crate::checkpoint::{self, AuditSettings};

#[derive(Debug, serde::Deserialize)]
struct VerifyConfig {
    postgres: pg::PostgresConfig,
    #[serde(default)]
    s3: Option<intake_adapters::s3::S3Config>,
    #[serde(default)]
    audit: Option<AuditSettings>,
}

pub async fn verify() -> anyhow::Result<()> {
    let config: VerifyConfig =
        intake_adapters::config::load().context("failed to load configuration")?;
    // Read before the chain: a checkpoint written meanwhile pins a row the
    // snapshot below already holds.
    let pinned = match (&config.s3, &config.audit) {
        (Some(s3), Some(audit)) => Some(checkpoint::load_verified(s3, audit).await?),
        _ => None,
    };
    let pool = pg::connect(&config.postgres).await?;
    // One snapshot for the rows and the head, so rows written meanwhile
    // are neither half seen nor taken for rows removed.
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let mut rows = sqlx::query(
        "select chain_seq, prev_hash, hash, audit_canonical(a) as canonical
         from audit_log a order by chain_seq",
    )
    .fetch(&mut *tx);
    let mut verifier = ChainVerifier::default();
    while let Some(row) = rows.try_next().await.context("cannot read the audit log")? {
        let row = ChainRow {
            chain_seq: row.try_get("chain_seq")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
            canonical: row.try_get("canonical")?,
        };
        verifier
            .push(&row)
            .map_err(|e| anyhow::anyhow!("audit chain broken: {e}"))?;
        if let Some(pinned) = pinned.as_ref().and_then(|p| p.get(&row.chain_seq))
            && pinned.as_slice() != row.hash.as_slice()
        {
            anyhow::bail!(
                "audit chain broken: row {} is not the row the signed checkpoint pins (the chain was rewritten)",
                row.chain_seq
            );
        }
    }
    drop(rows);
    let (seq, hash) = verifier.head();
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("select chain_seq, hash from audit_chain_head")
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    match head {
        Some((head_seq, head_hash)) if head_seq != seq || head_hash != hash => anyhow::bail!(
            "audit chain broken: the head says row {head_seq}, the rows end at {seq} (rows at the end were removed)"
        ),
        _ => {}
    }
    let checked = match &pinned {
        Some(pinned) => {
            if let Some((&last, _)) = pinned.range(seq + 1..).next_back() {
                anyhow::bail!(
                    "audit chain broken: a signed checkpoint pins row {last}, the rows end at {seq} (rows were removed)"
                );
            }
            format!("{} signed checkpoints match", pinned.len())
        }
        None => {
            "no checkpoints checked (audit.checkpoint_bucket and audit.verifying_key are not set)"
                .to_owned()
        }
    };
    println!(
        "audit chain intact: {seq} rows, head {}; {checked}",
        hex_string(hash)
    );
    Ok(())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
