//! `intake audit verify`: walks the audit log's hash chain from the first
//! row to the head, in constant memory, and says where it is broken; and,
//! where checkpoints are configured, that every signed checkpoint matches
//! the row it pins. The rows' canonical text is built here from their
//! columns, never taken from a function the database's owner could change.

use std::collections::BTreeMap;

use anyhow::Context;
use futures::TryStreamExt;
use intake_adapters::pg;
use intake_core::audit::{AuditColumns, ChainRow, ChainVerifier};
use sqlx::{PgConnection, Row};

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
    let mut tx = snapshot(&pool).await?;
    let (seq, hash) = walk(&mut tx, pinned.as_ref().map(|p| &p.pinned)).await?;
    tx.commit().await?;
    let checked = match &pinned {
        Some(found) => {
            if let Some((&last, _)) = found.pinned.range(seq + 1..).next_back() {
                anyhow::bail!(
                    "audit chain broken: a signed checkpoint pins row {last}, the rows end at {seq} (rows were removed)"
                );
            }
            if let Some(age) = found.newest_age()
                && age > chrono::Duration::hours(26)
            {
                eprintln!(
                    "warning: the newest audit checkpoint is {} hours old; is the checkpointer running?",
                    age.num_hours()
                );
            }
            format!("{} signed checkpoints match", found.count)
        }
        None => {
            "no checkpoints checked (audit.checkpoint_bucket and audit.verifying_key are not set)"
                .to_owned()
        }
    };
    println!(
        "audit chain intact: {seq} rows, head {}; {checked}",
        hex_string(&hash)
    );
    Ok(())
}

/// One repeatable-read, read-only snapshot with nothing but the system
/// catalogue on the search path (every table below is named with its
/// schema), so a role's own search path cannot point the walk elsewhere.
pub async fn snapshot(
    pool: &sqlx::PgPool,
) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    sqlx::query("set local search_path = pg_catalog")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Walks the chain in `tx`'s snapshot and checks the head and the pinned
/// rows; returns the verified head (rows, hash).
pub async fn walk(
    tx: &mut PgConnection,
    pinned: Option<&BTreeMap<i64, [u8; 32]>>,
) -> anyhow::Result<(i64, Vec<u8>)> {
    let mut rows = sqlx::query(
        "select chain_seq, prev_hash, hash, at, actor, role, action, supplement_id,
                application_id, unit, detail::text as detail_json
         from public.audit_log order by chain_seq",
    )
    .fetch(&mut *tx);
    let mut verifier = ChainVerifier::default();
    while let Some(row) = rows.try_next().await.context("cannot read the audit log")? {
        let columns = AuditColumns {
            chain_seq: row.try_get("chain_seq")?,
            at: row.try_get("at")?,
            actor: row.try_get("actor")?,
            role: row.try_get("role")?,
            action: row.try_get("action")?,
            supplement_id: row.try_get("supplement_id")?,
            application_id: row.try_get("application_id")?,
            unit: row.try_get("unit")?,
            detail_json: row.try_get("detail_json")?,
        };
        let row = ChainRow {
            chain_seq: columns.chain_seq,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
            canonical: columns.canonical(),
        };
        verifier
            .push(&row)
            .map_err(|e| anyhow::anyhow!("audit chain broken: {e}"))?;
        if let Some(pinned) = pinned.and_then(|p| p.get(&row.chain_seq))
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
    let (seq, hash) = (seq, hash.to_vec());
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("select chain_seq, hash from public.audit_chain_head")
            .fetch_optional(&mut *tx)
            .await?;
    match head {
        Some((head_seq, head_hash)) if head_seq != seq || head_hash != hash => anyhow::bail!(
            "audit chain broken: the head says row {head_seq}, the rows end at {seq} (rows at the end were removed)"
        ),
        _ => Ok((seq, hash)),
    }
}

pub fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
