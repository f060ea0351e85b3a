//! Replaying dead letters: an operator's replay puts a letter in
//! `replaying` and counts it in one transaction, then its copy goes back
//! to its origin topic and is marked sent. A replay interrupted between
//! the two is found by [`unsent`] and sent again; the consumer that
//! processes a copy takes its tag ([`take`]) in the transaction of what it
//! records, so a copy sent twice is processed once.

use intake_core::dead_letter::{Candidate, MAX_REPLAYS, REPLAY_HEADER, ReplayTag};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// A letter's record as it goes back to its origin topic.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Copy {
    pub id: Uuid,
    pub replays: i32,
    pub origin_topic: String,
    pub record_key: Option<Vec<u8>>,
    pub header_names: Vec<String>,
    pub header_values: Vec<Vec<u8>>,
    pub payload: Vec<u8>,
}

impl Copy {
    /// The tag this copy carries.
    pub fn tag(&self) -> ReplayTag {
        ReplayTag {
            dead_letter: self.id,
            replay: u32::try_from(self.replays).unwrap_or_default(),
        }
    }

    /// The headers the record arrived with (its trace context among
    /// them), an earlier replay's tag replaced by `tag`, this copy's
    /// ([`Copy::tag`], written out).
    pub fn headers<'a>(&'a self, tag: &'a str) -> Vec<(&'a str, &'a [u8])> {
        self.header_names
            .iter()
            .zip(&self.header_values)
            .filter(|(name, _)| *name != REPLAY_HEADER)
            .map(|(name, value)| (name.as_str(), value.as_slice()))
            .chain(std::iter::once((REPLAY_HEADER, tag.as_bytes())))
            .collect()
    }
}

const COPY_COLUMNS: &str =
    "id, replays, origin_topic, record_key, header_names, header_values, payload";

/// Replays begun whose copy may not have reached the broker, oldest
/// failure first.
pub async fn unsent(db: impl PgExecutor<'_>) -> Result<Vec<Copy>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COPY_COLUMNS} from dead_letters
          where state = 'replaying' and replay_sent_at is null
          order by first_failed_at, id"
    )))
    .fetch_all(db)
    .await
}

/// Which open letters a replay looks at.
#[derive(Debug, Clone, Default)]
pub struct Selection<'a> {
    /// Only these (all open letters when empty).
    pub ids: &'a [Uuid],
    pub reason: Option<&'a str>,
}

/// An open letter a replay may take.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Open {
    pub id: Uuid,
    pub reason: String,
    pub replays: i32,
    pub supplement_id: Option<Uuid>,
    /// A worker's letter whose supplement was settled meanwhile (attached
    /// or closed in triage): replaying it would undo a person's decision.
    pub settled: bool,
}

impl Open {
    pub fn candidate(&self) -> Candidate {
        Candidate {
            reason: self.reason.clone(),
            replays: u32::try_from(self.replays).unwrap_or_default(),
            settled: self.settled,
        }
    }
}

/// Open letters of the selection, oldest failure first.
pub async fn open(
    db: impl PgExecutor<'_>,
    selection: &Selection<'_>,
) -> Result<Vec<Open>, sqlx::Error> {
    sqlx::query_as(
        "select d.id, d.reason, d.replays, d.supplement_id,
                (d.service = 'worker' and coalesce(s.outcome <> 'unprocessable', false)) as settled
           from dead_letters d
           left join supplements s on s.supplement_id = d.supplement_id
          where d.state = 'open'
            and (cardinality($1::uuid[]) = 0 or d.id = any($1))
            and ($2::text is null or d.reason = $2)
          order by d.first_failed_at, d.id",
    )
    .bind(selection.ids)
    .bind(selection.reason)
    .fetch_all(db)
    .await
}

/// Who replays, and why: for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Operator<'a> {
    pub name: &'a str,
    pub why: &'a str,
}

/// Begins one replay in one transaction: the letter goes to `replaying`
/// with one more replay counted, a worker's supplement re-enters arrival
/// order at its original arrival (its claim is open again until the copy
/// is recorded), and the audit log says who did it and why. `None` when
/// the letter is no longer open with a replay left, or its supplement was
/// settled meanwhile.
pub async fn begin(
    pool: &PgPool,
    id: Uuid,
    operator: Operator<'_>,
) -> Result<Option<Copy>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let copy: Option<(Copy, String, Option<Uuid>)> =
        sqlx::query_as::<_, CopyWith>(sqlx::AssertSqlSafe(format!(
            "update dead_letters d
                set state = 'replaying', replays = replays + 1, replay_sent_at = null
              where id = $1 and state = 'open' and replays < $2
                and not (service = 'worker' and exists (
                    select 1 from supplements s
                     where s.supplement_id = d.supplement_id and s.outcome <> 'unprocessable'))
          returning {COPY_COLUMNS}, service, supplement_id"
        )))
        .bind(id)
        .bind(i32::try_from(MAX_REPLAYS).unwrap_or(i32::MAX))
        .fetch_optional(&mut *tx)
        .await?
        .map(|c| (c.copy, c.service, c.supplement_id));
    let Some((copy, service, supplement_id)) = copy else {
        return Ok(None);
    };
    if service == "worker"
        && let Some(supplement_id) = supplement_id
    {
        sqlx::query("update ingest_claims set finished_at = null where supplement_id = $1")
            .bind(supplement_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "insert into audit_log (actor, action, supplement_id, role, detail)
         values ($1, 'dlq.replay', $2, 'operator',
                 jsonb_build_object('dead_letter', $3::text, 'replay', $4::int, 'why', $5::text,
                                    'origin_topic', $6::text))",
    )
    .bind(format!("operator:{}", operator.name))
    .bind(supplement_id)
    .bind(id.to_string())
    .bind(copy.replays)
    .bind(operator.why)
    .bind(&copy.origin_topic)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(copy))
}

#[derive(sqlx::FromRow)]
struct CopyWith {
    #[sqlx(flatten)]
    copy: Copy,
    service: String,
    supplement_id: Option<Uuid>,
}

/// The copy of replay `replays` reached the broker.
pub async fn mark_sent(db: impl PgExecutor<'_>, copy: &Copy) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update dead_letters set replay_sent_at = now()
          where id = $1 and replays = $2 and state = 'replaying'",
    )
    .bind(copy.id)
    .bind(copy.replays)
    .execute(db)
    .await?;
    Ok(())
}

/// A copy read from `topic` was processed: its letter is `replayed`, if
/// it still waits for exactly this replay. False for a copy already
/// processed (a second delivery) or whose replay was settled otherwise:
/// the caller records nothing for it.
pub async fn take(
    db: impl PgExecutor<'_>,
    tag: ReplayTag,
    topic: &str,
) -> Result<bool, sqlx::Error> {
    let taken: Option<Uuid> = sqlx::query_scalar(
        "update dead_letters set state = 'replayed'
          where id = $1 and state = 'replaying' and replays = $2 and origin_topic = $3
          returning id",
    )
    .bind(tag.dead_letter)
    .bind(i32::try_from(tag.replay).unwrap_or(i32::MAX))
    .bind(topic)
    .fetch_optional(db)
    .await?;
    Ok(taken.is_some())
}
