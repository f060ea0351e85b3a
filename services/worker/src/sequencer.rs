//! Numbering matched supplements in arrival order. Each waits here until
//! nothing that arrived before it and may belong to its application is
//! unfinished (see `intake_core::decide::release`), then its outcome is
//! recorded with the next sequence number. One that waits past the hold
//! limit goes ahead with an error log ("order hold limit passed"), so a
//! supplement that keeps failing cannot stop its application's queue.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_core::decide::{Held, Release, release};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::analyse::Analysis;
use crate::metrics::{Stage, WorkerMetrics};
use crate::pipeline::{Job, Pipeline};
use crate::store::{self, Disposition, Source};

/// A matched supplement waiting for its turn.
pub struct Ready {
    pub job: Job,
    pub source: Source,
    pub analysis: Analysis,
    pub disposition: Disposition,
    pub held_since: DateTime<Utc>,
    /// The same moment, on the clock that times stages.
    pub held_at: std::time::Instant,
    /// The record's span: its outcome is recorded in the same trace.
    pub span: tracing::Span,
    pub attempts: u32,
}

pub struct Sequencer {
    pub pipeline: Arc<Pipeline>,
    pub hold_limit: Duration,
    pub claim_stale_after: Duration,
    pub metrics: WorkerMetrics,
}

const TICK: Duration = Duration::from_millis(100);

impl Sequencer {
    pub async fn run(self, mut ready: mpsc::Receiver<Ready>) {
        let mut waiting: Vec<Ready> = Vec::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                item = ready.recv() => match item {
                    Some(item) => { waiting.push(item); continue; }
                    None => return,
                },
                _ = tick.tick() => {}
            }
            while let Ok(item) = ready.try_recv() {
                waiting.push(item);
            }
            self.metrics.held.set(waiting.len() as i64);
            if waiting.is_empty() {
                continue;
            }
            if let Err(error) = self.release_due(&mut waiting).await {
                tracing::warn!(error = %error, "sequencer could not check arrival order; retrying");
            }
        }
    }

    async fn release_due(&self, waiting: &mut Vec<Ready>) -> Result<(), sqlx::Error> {
        let until = waiting
            .iter()
            .map(|r| r.analysis.arrived_at)
            .max()
            .unwrap_or_else(Utc::now);
        let blockers = store::blockers(
            &self.pipeline.pool,
            until,
            self.claim_stale_after,
            self.pipeline.non_party,
        )
        .await?;
        let held: Vec<Held> = waiting
            .iter()
            .filter_map(|r| match &r.disposition {
                Disposition::Route { application, .. } => Some(Held {
                    supplement_id: r.analysis.supplement_id,
                    application_id: application.candidate.application_id.clone(),
                    arrived_at: r.analysis.arrived_at,
                    held_since: r.held_since,
                }),
                _ => None,
            })
            .collect();
        let limit = chrono::Duration::from_std(self.hold_limit).unwrap_or(chrono::Duration::MAX);
        let mut done = Vec::new();
        for (index, verdict) in release(&held, &blockers, Utc::now(), limit) {
            let item = &mut waiting[index];
            if verdict == Release::Overdue {
                tracing::error!(
                    supplement_id = %item.analysis.supplement_id,
                    held_for = ?(Utc::now() - item.held_since),
                    "order hold limit passed: numbered ahead of an earlier unfinished supplement"
                );
            }
            if item.attempts == 0 {
                self.metrics.observe(Stage::WaitForTurn, item.held_at);
            }
            let recording = self
                .pipeline
                .record(&item.source, &item.analysis, &item.disposition);
            match recording.instrument(item.span.clone()).await {
                Ok(_) => done.push(index),
                Err(error) => {
                    item.attempts += 1;
                    tracing::warn!(
                        supplement_id = %item.analysis.supplement_id,
                        attempts = item.attempts,
                        error = %error,
                        "could not record a routed supplement"
                    );
                    if item.attempts >= self.pipeline.max_attempts {
                        let error = format!("recording failed {} times: {error:#}", item.attempts);
                        self.pipeline
                            .give_up(&item.job, &item.source, &item.analysis, &error)
                            .instrument(item.span.clone())
                            .await;
                        done.push(index);
                    }
                    // Later ones of its application must not overtake it.
                    break;
                }
            }
        }
        done.sort_unstable();
        for index in done.into_iter().rev() {
            let item = waiting.swap_remove(index);
            let _ = self.pipeline.finished.send(item.job.finished()).await;
        }
        Ok(())
    }
}
