//! Quarantine: what security officers see of refused files, opening one
//! for analysis, and the two-person release with a second scan. The
//! `inbox` schema checks who may and writes the audit rows; the scan runs
//! inside the approving transaction, so a release is recorded only with a
//! clean verdict, and a scanner that cannot answer changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use intake_adapters::clamav::{ScanError, Scanner, Verdict};
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::{KeyRing, OpenError, ScanStoredError, StoredFile, scan_stored};
use intake_core::access::Principal;
use serde::Serialize;
use uuid::Uuid;

use crate::detail::FileToServe;
use crate::queue::Cursor;
use crate::store::{Store, StoreError};

/// A refused file as a security officer sees it: no sender, application
/// or text.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct QuarantineEntry {
    pub attachment_id: Uuid,
    pub supplement_id: Uuid,
    pub arrived_at: DateTime<Utc>,
    pub channel: String,
    pub unit: Option<String>,
    /// The supplement's own outcome: `routed` or `duplicate` when only this
    /// file was kept out, `quarantined` when the whole message was.
    pub supplement_outcome: String,
    /// Of a confidential application: the file name is not shown.
    pub confidential: bool,
    pub filename: Option<String>,
    pub declared_type: Option<String>,
    pub detected_type: Option<String>,
    pub size: i64,
    pub sha256: String,
    /// infected, dangerous or refused
    pub verdict: String,
    pub verdict_detail: Option<String>,
    pub scanned_at: Option<DateTime<Utc>>,
    /// The open release request, if any.
    pub request_id: Option<Uuid>,
    pub requested_by: Option<String>,
    pub requested_at: Option<DateTime<Utc>>,
    pub request_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuarantinePage {
    pub total: i64,
    pub entries: Vec<QuarantineEntry>,
    pub next: Option<String>,
}

pub async fn page(
    store: &Store,
    who: &Principal,
    after: Option<Cursor>,
    limit: u32,
) -> Result<QuarantinePage, StoreError> {
    let mut tx = store.act_as(who).await?;
    let total: i64 = sqlx::query_scalar("select count(*) from inbox.quarantine")
        .fetch_one(&mut *tx)
        .await?;
    let mut entries: Vec<QuarantineEntry> = sqlx::query_as(
        "select attachment_id, supplement_id, arrived_at, channel, unit, supplement_outcome,
                confidential, filename, declared_type, detected_type, size, sha256, verdict,
                verdict_detail, scanned_at, request_id, requested_by, requested_at, request_reason
         from inbox.quarantine
         where $1::timestamptz is null or (arrived_at, attachment_id) > ($1, $2)
         order by arrived_at, attachment_id
         limit $3",
    )
    .bind(after.map(|c| c.arrived_at))
    .bind(after.map(|c| c.supplement_id))
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *tx)
    .await?;
    let next = Cursor::next_page(&mut entries, limit, |e| Cursor {
        arrived_at: e.arrived_at,
        supplement_id: e.attachment_id,
    });
    sqlx::query("select inbox.record_quarantine_look($1)")
        .bind(serde_json::json!({
            "after": after.map(|c| c.encode()),
            "shown": entries.len(),
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(QuarantinePage {
        total,
        entries,
        next,
    })
}

/// A quarantined file to hand to a security officer for analysis; the
/// opening and its reason are on record before a byte is sent.
pub async fn open_for_analysis(
    store: &Store,
    who: &Principal,
    id: Uuid,
    reason: &str,
) -> Result<FileToServe, StoreError> {
    let reason = crate::text::reason("reason", reason)?;
    let mut tx = store.act_as(who).await?;
    let file = sqlx::query_as(
        "select attachment_id, supplement_id, filename, size, sha256, bucket, object_key,
                null::text as refused
         from inbox.open_for_analysis($1, $2)",
    )
    .bind(id)
    .bind(reason)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(file)
}

pub async fn request_release(
    store: &Store,
    who: &Principal,
    id: Uuid,
    reason: &str,
) -> Result<Uuid, StoreError> {
    let reason = crate::text::reason("reason", reason)?;
    let mut tx = store.act_as(who).await?;
    let made: Uuid = sqlx::query_scalar("select inbox.request_release($1, $2)")
        .bind(id)
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(made)
}

/// How an approval ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Approval {
    pub request_id: Uuid,
    pub attachment_id: Uuid,
    /// `released`: clean on the second scan, now in its supplement;
    /// `still_infected`: the scan found `found`, the file stays.
    pub decision: String,
    pub found: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Nothing was released: without a verdict nothing leaves quarantine.
    #[error("the file could not be scanned again: {0}")]
    Scan(#[from] ScanError),
    #[error("the file could not be read for the scan: {0}")]
    Open(#[from] OpenError),
    /// The stored bytes are not the ones inspection saw: nothing released.
    #[error("the stored file does not match the size and hash recorded for it; not released")]
    Mismatch,
}

#[derive(sqlx::FromRow)]
struct ToScan {
    attachment_id: Uuid,
    size: i64,
    sha256: String,
    bucket: String,
    object_key: String,
}

/// The second officer's approval: the file is read from S3, decrypted and
/// scanned again while the request is locked; the outcome is recorded in
/// the same transaction.
pub async fn approve(
    store: &Store,
    scanner: &Scanner,
    objects: &ObjectStore,
    keys: Arc<KeyRing>,
    who: &Principal,
    request: Uuid,
) -> Result<Approval, ApproveError> {
    let mut tx = store.act_as(who).await?;
    let file: ToScan = sqlx::query_as(
        "select attachment_id, size, sha256, bucket, object_key from inbox.begin_release($1)",
    )
    .bind(request)
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let stored = StoredFile {
        bucket: &file.bucket,
        key: &file.object_key,
        size: u64::try_from(file.size).unwrap_or(u64::MAX),
        sha256: &file.sha256,
    };
    // What is released is what was inspected: hashed as it is scanned.
    let verdict = scan_stored(objects, keys, scanner, stored).await.map_err(
        |error| match error {
            ScanStoredError::Scan(e) => ApproveError::Scan(e),
            ScanStoredError::Open(e) => ApproveError::Open(e),
            ScanStoredError::Mismatch => {
                tracing::error!(
                    request_id = %request,
                    attachment_id = %file.attachment_id,
                    "a quarantined file's stored bytes differ from what was inspected; not released"
                );
                ApproveError::Mismatch
            }
        },
    )?;
    let found = match verdict {
        Verdict::Clean => None,
        Verdict::Infected { signature } => Some(signature),
    };
    let decision: String = sqlx::query_scalar("select inbox.finish_release($1, $2)")
        .bind(request)
        .bind(found.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(
        request_id = %request,
        attachment_id = %file.attachment_id,
        decision,
        "release decided"
    );
    Ok(Approval {
        request_id: request,
        attachment_id: file.attachment_id,
        decision,
        found,
    })
}

pub async fn reject(
    store: &Store,
    who: &Principal,
    request: Uuid,
    note: &str,
) -> Result<(), StoreError> {
    let note = crate::text::reason("note", note)?;
    let mut tx = store.act_as(who).await?;
    sqlx::query("select inbox.reject_release($1, $2)")
        .bind(request)
        .bind(note)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One refused file, as the list shows it; `None` when it is not in
/// quarantine or the person is not a security officer.
pub async fn one(
    store: &Store,
    who: &Principal,
    id: Uuid,
) -> Result<Option<QuarantineEntry>, StoreError> {
    let mut tx = store.act_as(who).await?;
    let entry = sqlx::query_as(
        "select attachment_id, supplement_id, arrived_at, channel, unit, supplement_outcome,
                confidential, filename, declared_type, detected_type, size, sha256, verdict,
                verdict_detail, scanned_at, request_id, requested_by, requested_at, request_reason
         from inbox.quarantine where attachment_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(e) = &entry {
        let e: &QuarantineEntry = e;
        sqlx::query("select inbox.record_quarantine_look($1)")
            .bind(serde_json::json!({
                "supplement_id": e.supplement_id,
                "attachment_id": e.attachment_id,
            }))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(entry)
}
