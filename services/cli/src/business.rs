//! Business lag: how long the oldest supplement has waited at each stage
//! before an applicant's supplement is on a caseworker's desk with its
//! receipt sent, per unit and channel, read from PostgreSQL. Offsets say a
//! consumer is behind; this says who waits and where.
//!
//! Stages: `processing` (arrived, no outcome yet: being inspected, waiting
//! for the scanner or for its turn; the worker's `held` and
//! `scans_waiting` gauges split it), `triage` (waiting for a triage
//! officer), `quarantine` (a release asked for and not decided),
//! `receipt` (the outcome is recorded, the receipt not yet sent),
//! `caseworker` (in a unit's queue, not yet handled). Every query reads a
//! partial index of what is unfinished (see the business-lag indexes
//! migration), so a look costs what waits, not what was ever received.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use intake_adapters::pg::{dead_letters, rescan};
use intake_core::dead_letter::State;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

/// Label of what has no unit yet (not matched, or in triage).
const UNASSIGNED: &str = "unassigned";

const WAITING: &str = "
    select coalesce(a.unit, $1) as unit, c.channel, 'processing' as stage,
           count(*) as waiting, min(c.arrived_at) as oldest
      from ingest_claims c left join applications a using (application_id)
     where c.finished_at is null and c.state = 'accepted'
     group by 1, 2
    union all
    select $1, s.channel, 'triage', count(*), min(s.arrived_at)
      from supplements s
     where s.outcome in ('triage', 'unprocessable')
     group by 2
    union all
    select coalesce(s.unit, $1), s.channel, 'quarantine', count(*), min(s.arrived_at)
      from release_requests r
      join attachments t using (attachment_id)
      join supplements s on s.supplement_id = t.supplement_id
     where r.decided_at is null
     group by 1, 2
    union all
    select coalesce(s.unit, $1), s.channel, 'receipt', count(*), min(s.arrived_at)
      from receipts r join supplements s using (supplement_id)
     where r.state in ('pending', 'sending', 'held')
     group by 1, 2
    union all
    select q.unit, s.channel, 'caseworker', count(*), min(q.arrived_at)
      from queue_items q join supplements s using (supplement_id)
     where q.handled_at is null
     group by 1, 2";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Waiting {
    pub unit: String,
    pub channel: String,
    pub stage: String,
    pub waiting: i64,
    pub oldest: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outbox {
    pub backlog: i64,
    pub oldest: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessLook {
    pub waiting: Vec<Waiting>,
    pub outbox: Outbox,
    /// Receipts not sent, by state (pending, sending, held, failed).
    pub unsent_receipts: Vec<(String, i64)>,
    /// Dead letters not yet replayed, by state and reason.
    pub dead_letters: Vec<(String, String, i64)>,
    /// Files delivered clean and found infected by a rescan, ever.
    pub infected_after_delivery: i64,
}

pub async fn look(pool: &PgPool) -> Result<BusinessLook, sqlx::Error> {
    // One snapshot, read-only, and never a long query on a busy database.
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction read only")
        .execute(&mut *tx)
        .await?;
    sqlx::query("set local statement_timeout = '10s'")
        .execute(&mut *tx)
        .await?;
    let waiting = sqlx::query_as::<_, Waiting>(WAITING)
        .bind(UNASSIGNED)
        .fetch_all(&mut *tx)
        .await?;
    let (backlog, oldest): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("select count(*), min(created_at) from outbox where sent_at is null")
            .fetch_one(&mut *tx)
            .await?;
    let unsent_receipts = sqlx::query_as(
        "select state, count(*) from receipts
          where state in ('pending', 'sending', 'held')
          group by state
         union all
         select 'failed', count(*) from receipts where state = 'failed'",
    )
    .fetch_all(&mut *tx)
    .await?;
    let dead_letters = dead_letters::counts(&mut *tx)
        .await?
        .into_iter()
        .filter(|(state, _, _)| state != State::Replayed.as_str())
        .collect();
    let infected_after_delivery = rescan::infected_after_delivery(&mut *tx).await?;
    tx.commit().await?;
    Ok(BusinessLook {
        waiting,
        outbox: Outbox { backlog, oldest },
        unsent_receipts,
        dead_letters,
        infected_after_delivery,
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
    unit: String,
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LetterLabels {
    state: String,
    reason: String,
}

pub struct BusinessMetrics {
    waiting: Family<StageLabels, Gauge>,
    oldest: Family<StageLabels, Gauge<f64, AtomicU64>>,
    outbox_backlog: Gauge,
    outbox_oldest: Gauge<f64, AtomicU64>,
    unsent_receipts: Family<StateLabel, Gauge>,
    dead_letters: Family<LetterLabels, Gauge>,
    infected_after_delivery: Gauge,
}

impl BusinessMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            waiting: Family::default(),
            oldest: Family::default(),
            outbox_backlog: Gauge::default(),
            outbox_oldest: Gauge::default(),
            unsent_receipts: Family::default(),
            dead_letters: Family::default(),
            infected_after_delivery: Gauge::default(),
        };
        let r = registry;
        r.register(
            "intake_business_waiting",
            "Supplements waiting at a stage (processing, triage, quarantine, receipt, caseworker)",
            metrics.waiting.clone(),
        );
        r.register(
            "intake_business_oldest_waiting_seconds",
            "Since the arrival of the oldest supplement waiting at a stage",
            metrics.oldest.clone(),
        );
        r.register(
            "intake_outbox_backlog",
            "Outbox events not yet published to Kafka",
            metrics.outbox_backlog.clone(),
        );
        r.register(
            "intake_outbox_oldest_age_seconds",
            "Age of the oldest outbox event not yet published (0 when none)",
            metrics.outbox_oldest.clone(),
        );
        r.register(
            "intake_receipts_unsent",
            "Receipts not sent, by state (pending, sending, held, failed)",
            metrics.unsent_receipts.clone(),
        );
        r.register(
            "intake_dead_letters",
            "Dead letters not yet replayed, by state (open, replaying, quarantined) and reason",
            metrics.dead_letters.clone(),
        );
        r.register(
            "intake_files_infected_after_delivery",
            "Files delivered clean and found infected when scanned again, ever (an alert watches it grow)",
            metrics.infected_after_delivery.clone(),
        );
        metrics
    }

    /// Replaces every series: a stage nobody waits at any more disappears
    /// instead of keeping its last age.
    pub fn update(&self, look: &BusinessLook, now: DateTime<Utc>) {
        self.waiting.clear();
        self.oldest.clear();
        for w in &look.waiting {
            let labels = StageLabels {
                stage: w.stage.clone(),
                unit: w.unit.clone(),
                channel: w.channel.clone(),
            };
            self.waiting.get_or_create(&labels).set(w.waiting);
            self.oldest
                .get_or_create(&labels)
                .set(seconds_since(w.oldest, now));
        }
        self.outbox_backlog.set(look.outbox.backlog);
        self.outbox_oldest
            .set(look.outbox.oldest.map_or(0.0, |t| seconds_since(t, now)));
        self.unsent_receipts.clear();
        for (state, count) in &look.unsent_receipts {
            self.unsent_receipts
                .get_or_create(&StateLabel {
                    state: state.clone(),
                })
                .set(*count);
        }
        self.dead_letters.clear();
        for (state, reason, count) in &look.dead_letters {
            self.dead_letters
                .get_or_create(&LetterLabels {
                    state: state.clone(),
                    reason: reason.clone(),
                })
                .set(*count);
        }
        self.infected_after_delivery
            .set(look.infected_after_delivery);
    }
}

fn seconds_since(then: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    ((now - then).num_milliseconds() as f64 / 1000.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_nobody_waits_at_disappears() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).expect("valid");
        let mut registry = Registry::default();
        let metrics = BusinessMetrics::new(&mut registry);
        let mut look = BusinessLook {
            waiting: vec![Waiting {
                unit: "helsinki-family".into(),
                channel: "securemail".into(),
                stage: "caseworker".into(),
                waiting: 3,
                oldest: now - chrono::Duration::seconds(90),
            }],
            outbox: Outbox {
                backlog: 2,
                oldest: Some(now - chrono::Duration::seconds(4)),
            },
            unsent_receipts: vec![("failed".into(), 1)],
            dead_letters: vec![("open".into(), "failed".into(), 2)],
            infected_after_delivery: 1,
        };
        metrics.update(&look, now);
        let text = intake_adapters::ops::encode(&registry);
        for line in [
            r#"intake_business_waiting{stage="caseworker",unit="helsinki-family",channel="securemail"} 3"#,
            r#"intake_business_oldest_waiting_seconds{stage="caseworker",unit="helsinki-family",channel="securemail"} 90.0"#,
            "intake_outbox_oldest_age_seconds 4.0",
            r#"intake_receipts_unsent{state="failed"} 1"#,
            r#"intake_dead_letters{state="open",reason="failed"} 2"#,
            "intake_files_infected_after_delivery 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        look.waiting.clear();
        look.outbox = Outbox::default();
        look.dead_letters.clear();
        metrics.update(&look, now);
        let text = intake_adapters::ops::encode(&registry);
        assert!(!text.contains("helsinki-family"), "{text}");
        assert!(!text.contains("intake_dead_letters{"), "{text}");
        assert!(
            text.contains("intake_outbox_oldest_age_seconds 0.0"),
            "{text}"
        );
    }
}
