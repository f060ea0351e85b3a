//! A unit's queue: pages of it in arrival order, "take next" and "handled".
//! Every query reads the `inbox` schema's views, so a row or a count only
//! ever holds what the signed-in person may know.

use chrono::{DateTime, Utc};
use intake_core::access::Principal;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use sqlx::postgres::types::PgInterval;
use uuid::Uuid;

use crate::store::{Store, StoreError};

/// One place in the queue. For a confidential supplement the signed-in
/// person may not read, only the place: no sender, flags or file count.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct QueueEntry {
    pub supplement_id: Uuid,
    pub application_id: Option<String>,
    /// Position in the application's queue, from 1, in arrival order.
    pub sequence: Option<i64>,
    pub unit: Option<String>,
    pub arrived_at: DateTime<Utc>,
    /// Absent on a placeholder.
    pub channel: Option<String>,
    pub confidential: bool,
    /// For a confidential supplement: the caseworker who may read it.
    pub assigned_to: Option<String>,
    pub readable: bool,
    /// Why it may not be read (`confidential`), when it may not.
    pub why_not: Option<String>,
    pub sender: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub flags: Option<serde_json::Value>,
    pub files: Option<i64>,
    pub leased_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFilter {
    Securemail,
    EnterFinland,
}

impl ChannelFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelFilter::Securemail => "securemail",
            ChannelFilter::EnterFinland => "enter_finland",
        }
    }
}

/// The flags a caseworker filters by (`RoutingFlag` kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagFilter {
    PossibleResend,
    SenderNotParty,
    TypeMismatch,
    OtherApplicationMentioned,
    PartsRefused,
}

impl FlagFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagFilter::PossibleResend => "possible_resend",
            FlagFilter::SenderNotParty => "sender_not_party",
            FlagFilter::TypeMismatch => "type_mismatch",
            FlagFilter::OtherApplicationMentioned => "other_application_mentioned",
            FlagFilter::PartsRefused => "parts_refused",
        }
    }
}

/// Where a page starts: just after this place (a row's arrival and id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub arrived_at: DateTime<Utc>,
    pub supplement_id: Uuid,
}

impl Cursor {
    /// Trims rows read one past `limit` to the page, and says where the
    /// next page starts (`None` on the last).
    pub fn next_page<T>(
        rows: &mut Vec<T>,
        limit: u32,
        place: impl Fn(&T) -> Cursor,
    ) -> Option<String> {
        if rows.len() <= limit as usize {
            return None;
        }
        rows.truncate(limit as usize);
        rows.last().map(|r| place(r).encode())
    }

    /// `<microseconds since the epoch>.<supplement id>`: opaque to users,
    /// strictly parsed.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.arrived_at.timestamp_micros(),
            self.supplement_id.simple()
        )
    }

    /// Exactly what `encode` writes (the OpenAPI document states it as a
    /// pattern): 1 to 17 digits, a dot, 32 lower-case hex digits.
    pub fn decode(s: &str) -> Option<Self> {
        let (micros, id) = s.split_once('.')?;
        let digits = |t: &str, max: usize, ok: fn(u8) -> bool| {
            (1..=max).contains(&t.len()) && t.bytes().all(ok)
        };
        if !digits(micros, 17, |b| b.is_ascii_digit())
            || id.len() != 32
            || !digits(id, 32, |b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let arrived_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        let supplement_id = Uuid::try_parse(id).ok()?;
        Some(Cursor {
            arrived_at,
            supplement_id,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct QueueQuery {
    pub unit: String,
    pub channel: Option<ChannelFilter>,
    pub flag: Option<FlagFilter>,
    pub handled: Option<bool>,
    pub after: Option<Cursor>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    pub unit: String,
    /// Places matching the filters, in the whole queue.
    pub total: i64,
    pub entries: Vec<QueueEntry>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

const FILTERS: &str = "outcome = 'routed' and unit = $1
    and ($2::text is null or channel = $2)
    and ($3::text is null or flags @> jsonb_build_array(jsonb_build_object('kind', $3::text)))
    and ($4::boolean is null or (handled_at is not null) = $4)";

/// A page of the queue as `who` may see it; the look is audited in the
/// same transaction.
pub async fn page(store: &Store, who: &Principal, q: &QueueQuery) -> Result<QueuePage, StoreError> {
    let mut tx = store.act_as(who).await?;
    let channel = q.channel.map(ChannelFilter::as_str);
    let flag = q.flag.map(FlagFilter::as_str);
    // Assembled from constants only; every value is bound.
    let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select count(*) from inbox.supplements where {FILTERS}"
    )))
    .bind(&q.unit)
    .bind(channel)
    .bind(flag)
    .bind(q.handled)
    .fetch_one(&mut *tx)
    .await?;
    // The page's places first, from the columns the order and the filters
    // need (the view is a barrier, so a LIMIT outside it cannot stop it
    // from computing every row's masked columns); then those rows whole.
    let places: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(format!(
        "select supplement_id
         from inbox.supplements
         where {FILTERS}
           and ($5::timestamptz is null or (arrived_at, supplement_id) > ($5, $6))
         order by arrived_at, supplement_id
         limit $7"
    )))
    .bind(&q.unit)
    .bind(channel)
    .bind(flag)
    .bind(q.handled)
    .bind(q.after.map(|c| c.arrived_at))
    .bind(q.after.map(|c| c.supplement_id))
    .bind(i64::from(q.limit) + 1)
    .fetch_all(&mut *tx)
    .await?;
    let mut entries: Vec<QueueEntry> = sqlx::query_as(
        "select supplement_id, application_id, sequence, unit, arrived_at, channel, confidential,
                assigned_to, readable, why_not, sender, flags, files, leased_by, lease_expires_at,
                handled_by, handled_at
         from inbox.supplements
         where supplement_id = any($1)
         order by arrived_at, supplement_id",
    )
    .bind(&places)
    .fetch_all(&mut *tx)
    .await?;
    let next = Cursor::next_page(&mut entries, q.limit, |e| Cursor {
        arrived_at: e.arrived_at,
        supplement_id: e.supplement_id,
    });
    sqlx::query("select inbox.record_list($1, $2)")
        .bind(&q.unit)
        .bind(serde_json::json!({
            "channel": channel,
            "flag": flag,
            "handled": q.handled,
            "after": q.after.map(|c| c.encode()),
            "shown": entries.len(),
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(QueuePage {
        unit: q.unit.clone(),
        total,
        entries,
        next,
    })
}

/// Leases the unit's next supplement to the signed-in caseworker; `None`
/// when nothing is left they may take.
pub async fn take_next(
    store: &Store,
    who: &Principal,
    unit: &str,
    lease: std::time::Duration,
) -> Result<Option<Uuid>, StoreError> {
    let lease =
        PgInterval::try_from(lease).map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
    let mut tx = store.act_as(who).await?;
    let picked: Option<Uuid> = sqlx::query_scalar("select inbox.take_next($1, $2)")
        .bind(unit)
        .bind(lease)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(picked)
}

/// Marks a supplement handled; returns its unit, whose queue to go back to.
pub async fn mark_handled(
    store: &Store,
    who: &Principal,
    id: Uuid,
) -> Result<Option<String>, StoreError> {
    let mut tx = store.act_as(who).await?;
    let unit: Option<String> =
        sqlx::query_scalar("select unit from inbox.supplements where supplement_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    sqlx::query("select inbox.mark_handled($1)")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let c = Cursor {
            arrived_at: DateTime::from_timestamp_micros(1_767_225_600_123_456).expect("valid"),
            supplement_id: Uuid::from_u128(42),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }

    #[test]
    fn the_next_page_starts_after_the_last_row_shown() {
        let at = |i: u128| Cursor {
            arrived_at: DateTime::from_timestamp_micros(1_767_225_600_000_000 + i as i64)
                .expect("valid"),
            supplement_id: Uuid::from_u128(i),
        };
        let mut rows: Vec<u128> = vec![1, 2, 3];
        assert_eq!(Cursor::next_page(&mut rows, 3, |&i| at(i)), None);
        assert_eq!(rows, [1, 2, 3]);
        let mut rows: Vec<u128> = vec![1, 2, 3];
        assert_eq!(
            Cursor::next_page(&mut rows, 2, |&i| at(i)),
            Some(at(2).encode())
        );
        assert_eq!(rows, [1, 2]);
    }

    #[test]
    fn a_forged_cursor_is_refused() {
        for bad in [
            "",
            ".",
            "x.y",
            "1.",
            ".00000000000000000000000000000001",
            "1;drop",
            "-1.00000000000000000000000000000001",
            "1.00000000-0000-0000-0000-000000000001",
            "1.0000000000000000000000000000000A",
            "123456789012345678.00000000000000000000000000000001",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
