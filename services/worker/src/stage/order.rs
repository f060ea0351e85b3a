//! The order stage: supplements matched to an application wait here until
//! nothing that arrived before them and may belong to the same
//! application is unfinished (see `intake_core::decide::release`), then
//! go to the recorder in arrival order, which numbers them in that order.
//! Everything else goes straight through.
//!
//! It looks again when something happens, not on a tick: a supplement
//! comes in, an arrival is finished anywhere (a database notification),
//! an abandoned upload stops counting, or a supplement reaches the hold
//! limit and goes ahead with an error log ("order hold limit passed"), so
//! one that keeps failing cannot stop its application's queue.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_adapters::retry::Backoff;
use intake_core::decide::{Held, NonPartyPolicy, Proposal, Release, release};
use intake_core::ids::ApplicationId;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use uuid::Uuid;

use super::{Decided, End};
use crate::metrics::{Stage, WorkerMetrics};
use crate::store::{self, Blockers};

/// Where the order stage learns about arrivals it does not hold, and
/// tells other workers about the ones it does.
pub trait Arrivals: Send + Sync + 'static {
    /// Marks which application each of `marks` (supplements waiting here)
    /// belongs to, for other workers, and answers with the earliest
    /// unfinished arrival (up to `until`) that may belong to each of
    /// `applications`, and to any application, leaving out `ours`: one
    /// round trip.
    fn mark_and_ask(
        &self,
        marks: &[(Uuid, &ApplicationId)],
        applications: &[&ApplicationId],
        ours: &[Uuid],
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Blockers, sqlx::Error>> + Send;
}

/// The arrival claims in PostgreSQL.
pub struct Claims {
    pub pool: PgPool,
    pub stale_after: Duration,
    pub non_party: NonPartyPolicy,
}

impl Arrivals for Claims {
    async fn mark_and_ask(
        &self,
        marks: &[(Uuid, &ApplicationId)],
        applications: &[&ApplicationId],
        ours: &[Uuid],
        until: DateTime<Utc>,
    ) -> Result<Blockers, sqlx::Error> {
        store::blockers(
            &self.pool,
            &store::Question {
                marks,
                applications,
                ours,
                until,
                stale_after: self.stale_after,
                non_party: self.non_party,
            },
        )
        .await
    }
}

/// Wakes the order stage whenever any worker finishes arrivals (and after
/// the listening connection was lost, since notifications may have been
/// missed then).
pub async fn listen(pool: PgPool, wake: Arc<Notify>, backoff: Backoff) {
    let mut delays = backoff.delays();
    loop {
        let error = match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(store::ARRIVALS_CHANNEL).await {
                Ok(()) => {
                    delays = backoff.delays();
                    wake.notify_one();
                    loop {
                        match listener.try_recv().await {
                            Ok(_) => wake.notify_one(),
                            Err(error) => break error,
                        }
                    }
                }
                Err(error) => error,
            },
            Err(error) => error,
        };
        let retry_in = delays.next().unwrap_or(backoff.max);
        tracing::warn!(%error, ?retry_in, "not listening for finished arrivals; reconnecting");
        wake.notify_one();
        tokio::time::sleep(retry_in).await;
    }
}

/// While anything waits, it looks again at least this often: the safety
/// net under the notifications (a listening connection that broke without
/// saying so, a notification lost in a failover).
const SAFETY_NET: Duration = Duration::from_secs(5);

pub struct OrderStage<A> {
    arrivals: A,
    recorder: mpsc::Sender<Decided>,
    hold_limit: Duration,
    wake: Arc<Notify>,
    /// Pause before looking again when the arrivals cannot be read.
    backoff: Backoff,
    metrics: WorkerMetrics,
}

impl<A: Arrivals> OrderStage<A> {
    pub fn new(
        arrivals: A,
        recorder: mpsc::Sender<Decided>,
        hold_limit: Duration,
        wake: Arc<Notify>,
        backoff: Backoff,
        metrics: WorkerMetrics,
    ) -> Self {
        Self {
            arrivals,
            recorder,
            hold_limit,
            wake,
            backoff,
            metrics,
        }
    }

    pub async fn run(self, mut inbox: mpsc::Receiver<Decided>) {
        let mut waiting = Waiting::default();
        let mut next_look: Option<Instant> = None;
        let mut failures = self.backoff.delays();
        loop {
            tokio::select! {
                item = inbox.recv() => match item {
                    Some(item) => {
                        if !self.take(&mut waiting, item).await {
                            return;
                        }
                        while let Ok(item) = inbox.try_recv() {
                            if !self.take(&mut waiting, item).await {
                                return;
                            }
                        }
                    }
                    None => return,
                },
                () = self.wake.notified() => {}
                () = sleep_until(next_look) => {}
            }
            // Their partition's new owner processes them again.
            waiting.items.retain(|d| !d.ack.is_revoked());
            let held: HashSet<Uuid> = waiting
                .items
                .iter()
                .filter_map(Decided::supplement_id)
                .collect();
            waiting.marked.retain(|id| held.contains(id));
            self.metrics.held.set(waiting.items.len() as i64);
            if waiting.items.is_empty() {
                next_look = None;
                continue;
            }
            next_look = match self.release_due(&mut waiting).await {
                Ok(next) => {
                    failures = self.backoff.delays();
                    next
                }
                Err(error) => {
                    let retry_in = failures.next().unwrap_or(self.backoff.max);
                    tracing::warn!(%error, ?retry_in, "could not check arrival order; looking again");
                    Some(Instant::now() + retry_in)
                }
            };
            self.metrics.held.set(waiting.items.len() as i64);
        }
    }

    /// Holds a matched supplement; passes anything else on. False when
    /// the recorder is gone (the worker is stopping).
    async fn take(&self, waiting: &mut Waiting, item: Decided) -> bool {
        if routed_to(&item).is_some() {
            waiting.items.push(item);
            return true;
        }
        self.recorder.send(item).await.is_ok()
    }

    /// Sends every supplement whose turn has come, in arrival order, and
    /// says when to look again if nothing happens before.
    async fn release_due(&self, waiting: &mut Waiting) -> Result<Option<Instant>, sqlx::Error> {
        let held: Vec<Held> = waiting
            .items
            .iter()
            .filter_map(|d| {
                let (application_id, analysis) = routed_to(d)?;
                Some(Held {
                    supplement_id: analysis.supplement_id,
                    application_id: application_id.clone(),
                    arrived_at: analysis.arrived_at,
                    held_since: d.ready_since,
                })
            })
            .collect();
        let mut applications: Vec<&ApplicationId> =
            held.iter().map(|h| &h.application_id).collect();
        applications.sort_unstable();
        applications.dedup();
        let ours: Vec<Uuid> = held.iter().map(|h| h.supplement_id).collect();
        let until = held
            .iter()
            .map(|h| h.arrived_at)
            .max()
            .unwrap_or_else(Utc::now);
        // Every supplement held here tells other workers which application
        // it belongs to, once, before any goes on: until its outcome is
        // committed it is an unfinished arrival of that application only.
        let marks: Vec<(Uuid, &ApplicationId)> = held
            .iter()
            .filter(|h| !waiting.marked.contains(&h.supplement_id))
            .map(|h| (h.supplement_id, &h.application_id))
            .collect();
        let Blockers {
            blockers,
            next_lapse,
        } = self
            .arrivals
            .mark_and_ask(&marks, &applications, &ours, until)
            .await?;
        waiting.marked.extend(marks.iter().map(|(id, _)| *id));
        let now = Utc::now();
        let limit = chrono::Duration::from_std(self.hold_limit).unwrap_or(chrono::Duration::MAX);
        let verdicts = release(&held, &blockers, now, limit);

        let released: HashSet<usize> = verdicts.iter().map(|(i, _)| *i).collect();
        let mut slots: Vec<Option<Decided>> = waiting.items.drain(..).map(Some).collect();
        for (index, verdict) in verdicts {
            let Some(item) = slots[index].take() else {
                continue;
            };
            if verdict == Release::Overdue {
                tracing::error!(
                    parent: &item.span,
                    supplement_id = %held[index].supplement_id,
                    held_for = ?(now - item.ready_since),
                    "order hold limit passed: numbered ahead of an earlier unfinished supplement"
                );
            }
            self.metrics.observe(Stage::WaitForTurn, item.ready_at);
            if self.recorder.send(item).await.is_err() {
                return Ok(None);
            }
        }
        waiting.items = slots.into_iter().flatten().collect();

        if waiting.items.is_empty() {
            return Ok(None);
        }
        let hold_ends = held
            .iter()
            .enumerate()
            .filter(|(i, _)| !released.contains(i))
            .filter_map(|(_, h)| h.held_since.checked_add_signed(limit))
            .min();
        let next = [hold_ends, next_lapse].into_iter().flatten().min();
        let wait = next.map_or(SAFETY_NET, |at| {
            (at - now).to_std().unwrap_or_default().min(SAFETY_NET)
        });
        // Not sooner than a moment from now: a lapse is on the database's
        // clock, which may be behind this one.
        Ok(Some(Instant::now() + wait.max(Duration::from_millis(250))))
    }
}

#[derive(Default)]
struct Waiting {
    items: Vec<Decided>,
    /// Supplements whose application is marked on their arrival claim.
    marked: HashSet<Uuid>,
}

fn routed_to(item: &Decided) -> Option<(&ApplicationId, &crate::analyse::Analysis)> {
    match &item.end {
        End::Outcome {
            analysis,
            proposal: Proposal::Route { application_id, .. },
            ..
        } => Some((application_id, analysis)),
        _ => None,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
