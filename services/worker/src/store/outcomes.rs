//! Recording outcomes, a batch of supplements in one transaction: the
//! store reads the facts each outcome depends on (is the event new, the
//! application's last number, earlier supplements with the same
//! fingerprints), asks `decide::outcome` for each in turn, and writes the
//! rows. Either the whole batch is there or none of it.
//!
//! Supplements earlier in the batch count as recorded for the later ones:
//! a resend in the same batch is a duplicate, and numbers follow on.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_adapters::pg::dead_letters::{Filed, Parked, park};
use intake_adapters::pg::replays;
use intake_core::dead_letter::ReplayTag;
use intake_core::decide::{
    Earlier, Facts, Kind, PartVerdict, Proposal, fingerprints, outcome, receipt_reference,
};
use intake_core::ids::ApplicationId;
use intake_core::topics::TopicNames;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Registered;
use super::rows::Rows;
use crate::analyse::Analysis;

/// One supplement to record, and where its event was read.
pub struct Pending<'a> {
    pub event_id: Uuid,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub analysis: &'a Analysis,
    pub proposal: &'a Proposal,
    /// The registry entry of the application a `Route` proposal names.
    pub registered: Option<&'a Registered>,
    /// The trace its events continue.
    pub traceparent: Option<String>,
    /// A record that failed for good: put on record as a dead letter in
    /// the same transaction as its unprocessable outcome.
    pub dead_letter: Option<Parked<'a>>,
    /// A dead letter's replayed copy: what it records replaces the
    /// supplement's unprocessable outcome, once.
    pub replay: Option<ReplayTag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Written {
        kind: Kind,
        sequence: Option<i64>,
    },
    /// Its event was recorded before (a redelivery), or it is a replayed
    /// copy processed before: nothing was written.
    AlreadyProcessed,
    /// A replayed copy that failed again: back to its letter, open for
    /// another replay or quarantined; its unprocessable outcome stands.
    Returned,
}

/// What a batch item is as far as replays go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    /// Not a replayed copy.
    Original,
    /// A copy whose letter waited for it: recorded over its unprocessable
    /// outcome.
    Taken,
    /// A copy that failed again, returned to its letter.
    Returned,
    /// A copy processed before, or of a replay settled otherwise.
    Stale,
}

/// Fingerprint kinds, as stored.
const FULL: &str = "full";
const FILES: &str = "attachments";

/// Records `batch` in one transaction; the results are in batch order.
/// Items of one application are numbered in batch order, so the caller
/// hands them over in arrival order.
pub async fn record(
    pool: &PgPool,
    topics: &TopicNames,
    dedup_window: Duration,
    batch: &[Pending<'_>],
) -> Result<Vec<Recorded>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let copies = take_copies(&mut tx, batch).await?;
    let fresh = claim_events(&mut tx, batch, &copies).await?;
    let routed: Vec<&ApplicationId> = batch
        .iter()
        .zip(&fresh)
        .filter(|(_, fresh)| **fresh)
        .filter_map(|(p, _)| match p.proposal {
            Proposal::Route { application_id, .. } => Some(application_id),
            _ => None,
        })
        .collect();
    let mut last = lock_sequences(&mut tx, &routed).await?;
    let window = chrono::Duration::from_std(dedup_window).unwrap_or(chrono::Duration::MAX);
    let mut lookups = 0;
    let prints: Vec<Option<Prints>> = batch
        .iter()
        .zip(&fresh)
        .map(|(p, fresh)| match (p.proposal, fresh) {
            (Proposal::Route { application_id, .. }, true) => Some(Prints::of(
                p.analysis,
                application_id,
                p.analysis
                    .arrived_at
                    .checked_sub_signed(window)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
                &mut lookups,
            )),
            _ => None,
        })
        .collect();
    let recorded = earlier_matches(&mut tx, &prints).await?;
    // Fingerprints kept by supplements earlier in this batch.
    let mut in_batch: HashMap<PrintKey, Earlier> = HashMap::new();
    let earliest = |lookup: &Lookup, in_batch: &HashMap<PrintKey, Earlier>| {
        let from_batch = in_batch
            .get(&lookup.key)
            .filter(|e| e.arrived_at >= lookup.since);
        [recorded.get(&lookup.index), from_batch]
            .into_iter()
            .flatten()
            .min_by_key(|e| (e.arrived_at, e.supplement_id))
            .cloned()
    };

    let mut rows = Rows::default();
    let mut dead_letters = Vec::new();
    let mut results = Vec::with_capacity(batch.len());
    for (((pending, fresh), prints), copy) in batch.iter().zip(&fresh).zip(&prints).zip(&copies) {
        match copy {
            Copy::Returned => {
                // Its replay opened its arrival again.
                rows.finish(pending.analysis.supplement_id);
                results.push(Recorded::Returned);
                continue;
            }
            Copy::Stale => {
                results.push(Recorded::AlreadyProcessed);
                continue;
            }
            Copy::Original | Copy::Taken => {}
        }
        if !fresh {
            results.push(Recorded::AlreadyProcessed);
            continue;
        }
        let analysis = pending.analysis;
        let refused: Vec<u32> = analysis
            .files
            .iter()
            .filter(|f| matches!(f.verdict, PartVerdict::Refuse { .. }))
            .map(|f| f.ordinal)
            .collect();
        let application = match pending.proposal {
            Proposal::Route { application_id, .. } => Some(application_id),
            _ => None,
        };
        let same_content = prints.as_ref().and_then(|p| earliest(&p.full, &in_batch));
        let same_files = prints
            .as_ref()
            .and_then(|p| p.files.as_ref())
            .and_then(|lookup| earliest(lookup, &in_batch));
        let decided = outcome(&Facts {
            proposal: pending.proposal,
            same_content: same_content.as_ref(),
            same_files: same_files.as_ref(),
            last_sequence: application
                .and_then(|a| last.get(a.as_str()).copied())
                .unwrap_or(0),
            refused_parts: &refused,
        });
        if let (Some(sequence), Some(application)) = (decided.sequence, application) {
            last.insert(application.as_str().to_owned(), sequence);
        }
        let reference = receipt_reference(analysis.supplement_id);
        if decided.keeps_fingerprints
            && let Some(prints) = prints
        {
            let this = Earlier {
                supplement_id: analysis.supplement_id,
                reference: reference.clone(),
                arrived_at: analysis.arrived_at,
            };
            for lookup in std::iter::once(&prints.full).chain(&prints.files) {
                in_batch
                    .entry(lookup.key.clone())
                    .or_insert_with(|| this.clone());
                rows.fingerprint(&lookup.key, analysis);
            }
        }
        rows.supplement(pending, &decided, &reference, topics, *copy == Copy::Taken);
        if let Some(letter) = &pending.dead_letter {
            dead_letters.push(letter);
        }
        results.push(Recorded::Written {
            kind: decided.kind,
            sequence: decided.sequence,
        });
    }
    for (application, sequence) in &last {
        rows.sequence(application, *sequence);
    }
    // Before the rows: their audit rows take the audit chain's one lock,
    // held from then to the commit.
    for letter in dead_letters {
        park(&mut *tx, letter).await?;
    }
    rows.write(&mut tx).await?;
    mark_bounces(&mut tx, batch, &fresh).await?;
    tx.commit().await?;
    Ok(results)
}

/// Settles the replayed copies in the batch, in batch order. A copy
/// processed now takes its letter's replay, and its event, recorded once
/// as unprocessable, counts as new again; a copy that failed again goes
/// back to its letter. Only the copy its letter waits for counts, once.
async fn take_copies(
    tx: &mut PgConnection,
    batch: &[Pending<'_>],
) -> Result<Vec<Copy>, sqlx::Error> {
    let mut copies = Vec::with_capacity(batch.len());
    for pending in batch {
        let Some(tag) = pending.replay else {
            copies.push(Copy::Original);
            continue;
        };
        let copy = match &pending.dead_letter {
            Some(letter) => match park(&mut *tx, letter).await? {
                Filed::Returned(_) => Copy::Returned,
                Filed::Stale(_) | Filed::Parked(_) => Copy::Stale,
            },
            None if replays::take(&mut *tx, tag, pending.topic).await? => {
                sqlx::query("delete from processed_events where event_id = $1")
                    .bind(pending.event_id)
                    .execute(&mut *tx)
                    .await?;
                Copy::Taken
            }
            None => Copy::Stale,
        };
        copies.push(copy);
    }
    Ok(copies)
}

/// Inserts each event id into `processed_events`; true for the ones that
/// were new. An id twice in one batch is new only the first time. Copies
/// that record nothing claim nothing.
async fn claim_events(
    tx: &mut PgConnection,
    batch: &[Pending<'_>],
    copies: &[Copy],
) -> Result<Vec<bool>, sqlx::Error> {
    let claiming = || {
        batch
            .iter()
            .zip(copies)
            .filter(|(_, c)| matches!(c, Copy::Original | Copy::Taken))
            .map(|(p, _)| p)
    };
    let ids: Vec<Uuid> = claiming().map(|p| p.event_id).collect();
    let topics: Vec<&str> = claiming().map(|p| p.topic).collect();
    let partitions: Vec<i32> = claiming().map(|p| p.partition).collect();
    let offsets: Vec<i64> = claiming().map(|p| p.offset).collect();
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        r#"insert into processed_events (event_id, topic, partition, "offset")
           select * from unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[])
           on conflict (event_id) do nothing
           returning event_id"#,
    )
    .bind(&ids)
    .bind(&topics)
    .bind(&partitions)
    .bind(&offsets)
    .fetch_all(&mut *tx)
    .await?;
    let mut new: HashSet<Uuid> = inserted.into_iter().collect();
    Ok(batch
        .iter()
        .zip(copies)
        .map(|(p, copy)| matches!(copy, Copy::Original | Copy::Taken) && new.remove(&p.event_id))
        .collect())
}

/// Locks the sequence rows of the applications (in one order, so two
/// workers never wait for each other in a cycle) and reads their last
/// numbers.
async fn lock_sequences(
    tx: &mut PgConnection,
    applications: &[&ApplicationId],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if applications.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids: Vec<&str> = applications.iter().map(|a| a.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query(
        "insert into application_sequences (application_id)
         select unnest($1::text[]) order by 1
         on conflict (application_id) do nothing",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select application_id, last_sequence from application_sequences
         where application_id = any($1) order by application_id for update",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A fingerprint of an application's supplement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PrintKey {
    pub application_id: String,
    pub kind: &'static str,
    pub print: [u8; 32],
}

/// A fingerprint to look up from `since` on; `index` numbers the lookups
/// of one batch.
struct Lookup {
    key: PrintKey,
    since: DateTime<Utc>,
    index: usize,
}

struct Prints {
    full: Lookup,
    files: Option<Lookup>,
}

impl Prints {
    fn of(
        analysis: &Analysis,
        application: &ApplicationId,
        since: DateTime<Utc>,
        next_index: &mut usize,
    ) -> Self {
        let hashes: Vec<String> = analysis.files.iter().map(|f| f.sha256.clone()).collect();
        let prints = fingerprints(&analysis.text, &hashes);
        let mut lookup = |kind, print| {
            *next_index += 1;
            Lookup {
                key: PrintKey {
                    application_id: application.as_str().to_owned(),
                    kind,
                    print,
                },
                since,
                index: *next_index,
            }
        };
        Prints {
            full: lookup(FULL, prints.full),
            files: prints.attachments.map(|p| lookup(FILES, p)),
        }
    }
}

/// The earliest recorded supplement for each lookup, within its window,
/// in one query; keyed by the lookup's index.
async fn earlier_matches(
    tx: &mut PgConnection,
    prints: &[Option<Prints>],
) -> Result<HashMap<usize, Earlier>, sqlx::Error> {
    let lookups: Vec<&Lookup> = prints
        .iter()
        .flatten()
        .flat_map(|p| std::iter::once(&p.full).chain(&p.files))
        .collect();
    if lookups.is_empty() {
        return Ok(HashMap::new());
    }
    let indexes: Vec<i64> = lookups.iter().map(|l| l.index as i64).collect();
    let applications: Vec<&str> = lookups
        .iter()
        .map(|l| l.key.application_id.as_str())
        .collect();
    let kinds: Vec<&str> = lookups.iter().map(|l| l.key.kind).collect();
    let values: Vec<Vec<u8>> = lookups.iter().map(|l| l.key.print.to_vec()).collect();
    let since: Vec<DateTime<Utc>> = lookups.iter().map(|l| l.since).collect();
    let rows: Vec<(i64, Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "select distinct on (q.i) q.i, s.supplement_id, s.receipt_reference, s.arrived_at
         from unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[])
              as q (i, application_id, kind, print, since)
         join dedup_fingerprints f
           on f.application_id = q.application_id and f.kind = q.kind
          and f.fingerprint = q.print and f.received_at >= q.since
         join supplements s on s.supplement_id = f.supplement_id
         order by q.i, f.received_at, s.supplement_id",
    )
    .bind(&indexes)
    .bind(&applications)
    .bind(&kinds)
    .bind(&values)
    .bind(&since)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(i, supplement_id, reference, arrived_at)| {
            (
                i as usize,
                Earlier {
                    supplement_id,
                    reference,
                    arrived_at,
                },
            )
        })
        .collect())
}

/// A bounce of one of our receipts marks that receipt's delivery failed:
/// only a receipt whose Message-ID the report quotes and whose recipient
/// it names, so a forged report can mark nothing else.
async fn mark_bounces(
    tx: &mut PgConnection,
    batch: &[Pending<'_>],
    fresh: &[bool],
) -> Result<(), sqlx::Error> {
    for (pending, _) in batch.iter().zip(fresh).filter(|(_, fresh)| **fresh) {
        let Some(bounce) = &pending.analysis.bounce else {
            continue;
        };
        let marked = sqlx::query(
            "update receipts set delivery_failed_at = now(), delivery_failure = $3
             where message_id = any($1) and lower(recipient) = any($2)
               and delivery_failed_at is null",
        )
        .bind(&bounce.message_ids)
        .bind(&bounce.recipients)
        .bind(&bounce.reason)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() > 0 {
            tracing::warn!(
                supplement_id = %pending.analysis.supplement_id,
                receipts = marked.rows_affected(),
                "a receipt bounced; its delivery is marked failed"
            );
        }
    }
    Ok(())
}

/// The objects (bucket, key) a recorded supplement's rows refer to: its
/// files and its text.
pub async fn referenced_objects(
    pool: &PgPool,
    supplement_id: Uuid,
) -> Result<HashSet<(String, String)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select bucket, object_key from attachments where supplement_id = $1
         union all
         select coalesce(text_bucket, ''), text_key from supplements
          where supplement_id = $1 and text_key is not null",
    )
    .bind(supplement_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}
