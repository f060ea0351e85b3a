//! `intake audit verify`: walks the audit log's hash chain from the first
//! row to the head, in constant memory, and says where it is broken.

use anyhow::Context;
use futures::TryStreamExt;
use intake_adapters::pg;
use intake_core::audit::{ChainRow, ChainVerifier};
use sqlx::Row;

use crate::PostgresOnly;

pub async fn verify() -> anyhow::Result<()> {
    let config: PostgresOnly =
        intake_adapters::config::load().context("failed to load configuration")?;
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
    println!("audit chain intact: {seq} rows, head {}", hex_string(hash));
    Ok(())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
