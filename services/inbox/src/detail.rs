//! One supplement opened: what it is, its files and their verdicts, what
//! it is linked to, and the earlier arrivals for its application that are
//! not in the queue yet. Opening is audited by the database in the same
//! transaction (`inbox.open_supplement`), whether it is allowed or not.

use chrono::{DateTime, Utc};
use intake_core::access::Principal;
use serde::Serialize;
use uuid::Uuid;

use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Supplement {
    pub supplement_id: Uuid,
    pub outcome: String,
    /// Absent on a placeholder.
    pub channel: Option<String>,
    pub arrived_at: DateTime<Utc>,
    pub application_id: Option<String>,
    pub sequence: Option<i64>,
    pub unit: Option<String>,
    pub confidential: bool,
    pub assigned_to: Option<String>,
    pub readable: bool,
    pub why_not: Option<String>,
    pub transport: Option<String>,
    pub sender: Option<String>,
    pub customer_number: Option<String>,
    pub language: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub flags: Option<serde_json::Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub triage_reasons: Option<serde_json::Value>,
    pub duplicate_of: Option<Uuid>,
    pub possible_resend_of: Option<Uuid>,
    pub receipt_reference: Option<String>,
    pub leased_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    /// In triage: the applications the texts pointed at.
    pub triage_candidates: Option<Vec<String>>,
    #[serde(skip)]
    pub text_bucket: Option<String>,
    #[serde(skip)]
    pub text_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FileEntry {
    pub attachment_id: Uuid,
    pub ordinal: i32,
    pub filename: String,
    pub declared_type: Option<String>,
    pub detected_type: Option<String>,
    pub size: i64,
    pub sha256: String,
    /// clean, infected, dangerous or refused
    pub verdict: String,
    pub verdict_detail: Option<String>,
    pub downloadable: bool,
    /// Quarantined first, let through by two security officers after a
    /// second scan.
    pub released: bool,
}

/// An earlier arrival for the same application that is not in the queue:
/// `quarantined`, `unprocessable`, or still `processing` (waiting for the
/// scanner or its turn).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Gap {
    pub arrived_at: DateTime<Utc>,
    pub stage: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub supplement: Supplement,
    pub files: Vec<FileEntry>,
    /// Later supplements linked to this one as resends of it.
    pub duplicates: Vec<Uuid>,
    pub gaps: Vec<Gap>,
}

/// The opened supplement, or `None` when the signed-in person may not know
/// it exists. A supplement they may see but not read comes back with
/// `readable: false` and no content.
pub async fn open(store: &Store, who: &Principal, id: Uuid) -> Result<Option<Detail>, StoreError> {
    let mut tx = store.act_as(who).await?;
    let Some(supplement): Option<Supplement> = sqlx::query_as(
        "select supplement_id, outcome, channel, arrived_at, application_id, sequence, unit,
                confidential, assigned_to, readable, why_not, transport, sender, customer_number,
                language, request_id, flags, triage_reasons, duplicate_of, possible_resend_of,
                receipt_reference, leased_by, lease_expires_at, handled_by, handled_at,
                triage_candidates, text_bucket, text_key
         from inbox.open_supplement($1)",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    if !supplement.readable {
        // The refused look is on record too.
        tx.commit().await?;
        return Ok(Some(Detail {
            supplement,
            files: vec![],
            duplicates: vec![],
            gaps: vec![],
        }));
    }
    let files = sqlx::query_as(
        "select attachment_id, ordinal, filename, declared_type, detected_type, size, sha256,
                verdict, verdict_detail, downloadable, released
         from inbox.files where supplement_id = $1 order by ordinal",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let duplicates = sqlx::query_scalar("select inbox.duplicates_of($1)")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    let gaps = match &supplement.application_id {
        Some(app) => {
            sqlx::query_as(
                "select arrived_at, stage from inbox.gaps
                 where application_id = $1 and arrived_at < $2 order by arrived_at",
            )
            .bind(app)
            .bind(supplement.arrived_at)
            .fetch_all(&mut *tx)
            .await?
        }
        None => vec![],
    };
    tx.commit().await?;
    Ok(Some(Detail {
        supplement,
        files,
        duplicates,
        gaps,
    }))
}

/// A file about to be downloaded: where its sealed bytes are, only when
/// the database allowed the download (and recorded it).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileToServe {
    pub attachment_id: Uuid,
    pub supplement_id: Uuid,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub bucket: Option<String>,
    pub object_key: Option<String>,
    pub refused: Option<String>,
}

/// Audited in the same transaction, whether allowed or refused.
pub async fn open_file(
    store: &Store,
    who: &Principal,
    id: Uuid,
) -> Result<Option<FileToServe>, StoreError> {
    let mut tx = store.act_as(who).await?;
    let file = sqlx::query_as(
        "select attachment_id, supplement_id, filename, size, sha256, bucket, object_key, refused
         from inbox.open_file($1)",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(file)
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AccessEntry {
    pub chain_seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    /// The roles the actor held when acting.
    pub role: Option<String>,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Who looked at a supplement (reading it is itself recorded when there
/// was anything to see).
pub async fn access_log(
    store: &Store,
    who: &Principal,
    id: Uuid,
) -> Result<Vec<AccessEntry>, StoreError> {
    let mut tx = store.act_as(who).await?;
    let entries = sqlx::query_as(
        "select chain_seq, at, actor, role, action, detail from inbox.read_access_log($1)",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(entries)
}
