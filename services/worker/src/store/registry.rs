//! The applications registry as the worker keeps it: upserts that never
//! let an older version overwrite a newer one, and the lookups matching
//! needs.

use intake_core::decide::Candidate;
use intake_core::decide::Identifiers;
use intake_core::events::{ApplicationRecord, ApplicationStatus, Language};
use intake_core::ids::{ApplicationId, CustomerNumber, RequestId};
use sqlx::PgPool;

use super::Registered;

#[derive(Debug, Clone)]
pub enum RegistryChange {
    Upsert(ApplicationRecord),
    /// A tombstone: case management removed the application.
    Delete(ApplicationId),
}

pub async fn apply_registry(
    pool: &PgPool,
    change: &RegistryChange,
    partition: i32,
    offset: i64,
) -> Result<(), sqlx::Error> {
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
            // long as something refers to it.
            let removed = sqlx::query(
                "delete from applications a where application_id = $1
                 and not exists (select 1 from supplements s where s.application_id = a.application_id)
                 and not exists (select 1 from application_sequences q where q.application_id = a.application_id)",
            )
            .bind(id.as_str())
            .execute(pool)
            .await?;
            if removed.rows_affected() == 0 {
                tracing::info!(application_id = %id, "tombstone for an application with supplements kept");
            }
        }
    }
    Ok(())
}

type Row = (
    String,
    String,
    Vec<String>,
    Vec<String>,
    String,
    bool,
    String,
);

/// Registry entries for the ids named, and applications that the named
/// request ids or customer numbers point at.
pub async fn candidates(
    pool: &PgPool,
    explicit: Option<&ApplicationId>,
    found: &Identifiers,
) -> Result<Vec<Registered>, sqlx::Error> {
    let mut ids: Vec<String> = found.applications.iter().map(|a| a.to_string()).collect();
    ids.extend(explicit.map(|a| a.to_string()));
    let customers: Vec<String> = found.customers.iter().map(|c| c.to_string()).collect();
    let requests: Vec<String> = found.requests.iter().map(|r| r.to_string()).collect();
    let rows: Vec<Row> = sqlx::query_as(
        "select application_id, customer_number, contact_addresses, open_requests, unit,
                confidential, language
         from applications
         where application_id = any($1) or customer_number = any($2) or open_requests && $3
         order by application_id",
    )
    .bind(&ids)
    .bind(&customers)
    .bind(&requests)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(registered).collect())
}

fn registered(row: Row) -> Option<Registered> {
    let (id, customer, addresses, requests, unit, confidential, language) = row;
    Some(Registered {
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
        language: match language.as_str() {
            "sv" => Language::Sv,
            "en" => Language::En,
            _ => Language::Fi,
        },
    })
}
