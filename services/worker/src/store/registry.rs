//! The applications registry as the worker keeps it: upserts that never
//! let an older version overwrite a newer one, tombstones that spare
//! applications still referred to, and the whole table for the in-memory
//! view to start from.

use intake_core::decide::Candidate;
use intake_core::events::{ApplicationRecord, ApplicationStatus};
use intake_core::ids::{ApplicationId, CustomerNumber, RequestId};
use sqlx::PgPool;

use super::Registered;

#[derive(Debug, Clone)]
pub enum RegistryChange {
    Upsert(ApplicationRecord),
    /// A tombstone: case management removed the application.
    Delete(ApplicationId),
}

/// Stores a change. For a tombstone, says whether the table still holds
/// the application afterwards (it keeps one that supplements refer to);
/// an upsert always leaves it held.
pub async fn apply_registry(
    pool: &PgPool,
    change: &RegistryChange,
    partition: i32,
    offset: i64,
) -> Result<bool, sqlx::Error> {
    match change {
        RegistryChange::Upsert(r) => {
            let status = match r.status {
                ApplicationStatus::Pending => "pending",
                ApplicationStatus::Decided => "decided",
                ApplicationStatus::Withdrawn => "withdrawn",
            };
            let addresses: Vec<String> = r
                .contact_addresses
                .iter()
                .map(|a| a.to_lowercase())
                .collect();
            let requests: Vec<String> = r.open_requests.iter().map(|q| q.to_string()).collect();
            sqlx::query(
                "insert into applications (application_id, customer_number, status, unit,
                     confidential, language, contact_addresses, open_requests, version,
                     updated_at, source_partition, source_offset, assigned_caseworker)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 on conflict (application_id) do update set
                     customer_number = excluded.customer_number, status = excluded.status,
                     unit = excluded.unit, confidential = excluded.confidential,
                     language = excluded.language, contact_addresses = excluded.contact_addresses,
                     open_requests = excluded.open_requests, version = excluded.version,
                     updated_at = excluded.updated_at, source_partition = excluded.source_partition,
                     source_offset = excluded.source_offset,
                     assigned_caseworker = excluded.assigned_caseworker
                 where applications.version < excluded.version",
            )
            .bind(r.application_id.as_str())
            .bind(r.customer_number.as_str())
            .bind(status)
            .bind(&r.unit)
            .bind(r.confidential)
            .bind(r.language.as_str())
            .bind(&addresses)
            .bind(&requests)
            .bind(i64::try_from(r.version).unwrap_or(i64::MAX))
            .bind(r.updated_at)
            .bind(partition)
            .bind(offset)
            .bind(r.assigned_caseworker.as_deref())
            .execute(pool)
            .await?;
        }
        RegistryChange::Delete(id) => {
            // Supplements keep their application: a removed one stays as
            // long as something refers to it. Another worker's follower
            // may be removing it at the same moment: whether it is still
            // held is asked after the delete, in a statement of its own,
            // whose snapshot sees that other delete once it is committed
            // (the delete above waits for it).
            sqlx::query(
                "delete from applications a where application_id = $1
                 and not exists (select 1 from supplements s where s.application_id = a.application_id)
                 and not exists (select 1 from application_sequences q where q.application_id = a.application_id)",
            )
            .bind(id.as_str())
            .execute(pool)
            .await?;
            let kept: bool = sqlx::query_scalar(
                "select exists (select 1 from applications where application_id = $1)",
            )
            .bind(id.as_str())
            .fetch_one(pool)
            .await?;
            if kept {
                tracing::info!(application_id = %id, "tombstone for an application with supplements kept");
            }
            return Ok(kept);
        }
    }
    Ok(true)
}

type Row = (
    String,
    String,
    Vec<String>,
    Vec<String>,
    String,
    bool,
    String,
    i64,
);

/// Every stored application with its version: what the in-memory view
/// starts from, before the follower replays the topic over it. Rows kept
/// after a tombstone (their supplements refer to them) are among them.
pub async fn registered_all(pool: &PgPool) -> Result<Vec<(i64, Registered)>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "select application_id, customer_number, contact_addresses, open_requests, unit,
                confidential, language, version
         from applications",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(registered).collect())
}

fn registered(row: Row) -> Option<(i64, Registered)> {
    let (id, customer, addresses, requests, unit, confidential, language, version) = row;
    let registered = Registered {
        candidate: Candidate {
            application_id: ApplicationId::parse(&id).ok()?,
            customer_number: CustomerNumber::parse(&customer).ok()?,
            contact_addresses: addresses,
            open_requests: requests
                .iter()
                .filter_map(|r| RequestId::parse(r).ok())
                .collect(),
        },
        unit,
        confidential,
        language: crate::registry::language(&language),
    };
    Some((version, registered))
}
