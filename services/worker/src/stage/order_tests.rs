//! The order stage against a fake record of arrivals and a fake recorder
//! (the channel it sends to).

use std::sync::Mutex;

use intake_core::decide::{Blocker, Explicit, Identifiers, Scope};
use intake_core::events::{Channel, ReceiptRecipient, TriageReason};
use tokio::time::timeout;

use super::*;
use crate::analyse::Analysis;
use crate::stage::{Ack, InboundRecord, Position};

/// Unfinished arrivals elsewhere, as the test sets them.
#[derive(Default)]
struct FakeArrivals {
    unfinished: Mutex<Vec<Blocker>>,
    marked: Mutex<Vec<Uuid>>,
}

impl Arrivals for Arc<FakeArrivals> {
    async fn mark_and_ask(
        &self,
        marks: &[(Uuid, &ApplicationId)],
        applications: &[&ApplicationId],
        ours: &[Uuid],
        until: DateTime<Utc>,
    ) -> Result<Blockers, sqlx::Error> {
        self.marked
            .lock()
            .expect("lock")
            .extend(marks.iter().map(|(id, _)| *id));
        // The same answer as the database's: the earliest per application.
        let unfinished = self.unfinished.lock().expect("lock").clone();
        let mut blockers = Vec::new();
        let live = |b: &&Blocker| !ours.contains(&b.supplement_id) && b.arrived_at <= until;
        let earliest = |scope: &dyn Fn(&Blocker) -> bool| {
            unfinished
                .iter()
                .filter(live)
                .filter(|b| scope(b))
                .min_by_key(|b| (b.arrived_at, b.supplement_id))
                .cloned()
        };
        blockers.extend(earliest(&|b| b.scope == Scope::Any));
        for application in applications {
            blockers.extend(earliest(&|b| match &b.scope {
                Scope::Only(apps) => apps.contains(application),
                Scope::Any => false,
            }));
        }
        Ok(Blockers {
            blockers,
            next_lapse: None,
        })
    }
}

fn app(n: u32) -> ApplicationId {
    ApplicationId::from_parts(2026, n).expect("valid")
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + second, 0).expect("time")
}

fn analysis(id: u128, arrived: i64) -> Analysis {
    Analysis {
        supplement_id: Uuid::from_u128(id),
        inbound_attempt: None,
        channel: Channel::EnterFinland,
        transport: None,
        sender: None,
        customer_number: None,
        arrived_at: at(arrived),
        language: None,
        request_id: None,
        decrypted_with: None,
        text: String::new(),
        text_object: None,
        files: vec![],
        whole: None,
        mail: None,
        recipient: ReceiptRecipient::EnterFinland {
            customer_number: intake_core::ids::CustomerNumber::from_serial(1).expect("valid"),
        },
        identifiers: Identifiers::default(),
        explicit: Explicit::Sender {
            address: String::new(),
        },
        bounce: None,
    }
}

struct Harness {
    arrivals: Arc<FakeArrivals>,
    inbox: mpsc::Sender<Decided>,
    recorded: mpsc::Receiver<Decided>,
    wake: Arc<Notify>,
    acks: mpsc::UnboundedReceiver<Position>,
    ack_to: mpsc::UnboundedSender<Position>,
    revoked: CancellationToken,
}

use tokio_util::sync::CancellationToken;

fn harness(hold_limit: Duration) -> Harness {
    let arrivals = Arc::new(FakeArrivals::default());
    let (to_record, recorded) = mpsc::channel(100);
    let (inbox, order_inbox) = mpsc::channel(100);
    let wake = Arc::new(Notify::new());
    let stage = OrderStage::new(
        arrivals.clone(),
        to_record,
        hold_limit,
        wake.clone(),
        Backoff::new(Duration::from_millis(5), Duration::from_millis(20)),
        WorkerMetrics::new(&mut Default::default()),
    );
    tokio::spawn(stage.run(order_inbox));
    let (ack_to, acks) = mpsc::unbounded_channel();
    Harness {
        arrivals,
        inbox,
        recorded,
        wake,
        acks,
        ack_to,
        revoked: CancellationToken::new(),
    }
}

impl Harness {
    fn item(&self, id: u128, arrived: i64, proposal: Proposal) -> Decided {
        Decided {
            record: InboundRecord {
                topic: "t".into(),
                partition: 0,
                offset: id as i64,
                key: None,
                headers: vec![],
                payload: None,
            },
            event_id: Some(Uuid::from_u128(id)),
            end: End::Outcome {
                analysis: analysis(id, arrived),
                proposal,
                registered: None,
            },
            span: tracing::Span::none(),
            ack: Ack::new(
                Position {
                    topic: "t".into(),
                    partition: 0,
                    offset: id as i64,
                },
                self.ack_to.clone(),
                self.revoked.clone(),
            ),
            ready_at: std::time::Instant::now(),
            ready_since: Utc::now(),
        }
    }

    async fn send_routed(&self, id: u128, arrived: i64, application: u32) {
        let item = self.item(
            id,
            arrived,
            Proposal::Route {
                application_id: app(application),
                flags: vec![],
            },
        );
        self.inbox.send(item).await.expect("stage runs");
    }

    /// The next supplement the recorder gets, if one comes soon.
    async fn next(&mut self) -> Option<Uuid> {
        timeout(Duration::from_millis(300), self.recorded.recv())
            .await
            .ok()
            .flatten()
            .and_then(|d| d.supplement_id())
    }

    fn unfinished(&self, id: u128, arrived: i64, scope: Scope) {
        self.arrivals
            .unfinished
            .lock()
            .expect("lock")
            .push(Blocker {
                supplement_id: Uuid::from_u128(id),
                arrived_at: at(arrived),
                scope,
            });
    }

    fn finish(&self, id: u128) {
        self.arrivals
            .unfinished
            .lock()
            .expect("lock")
            .retain(|b| b.supplement_id != Uuid::from_u128(id));
        self.wake.notify_one();
    }
}

const LONG: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_supplement_with_nothing_earlier_unfinished_goes_on_at_once() {
    let mut h = harness(LONG);
    h.send_routed(1, 10, 7).await;
    assert_eq!(h.next().await, Some(Uuid::from_u128(1)));
}

#[tokio::test]
async fn it_waits_for_an_earlier_arrival_of_its_application_and_goes_when_that_finishes() {
    let mut h = harness(LONG);
    h.unfinished(1, 5, Scope::Only(vec![app(7)]));
    h.send_routed(2, 10, 7).await;
    assert_eq!(h.next().await, None, "an earlier arrival is unfinished");
    // Only the waiting one tells other workers its application.
    assert_eq!(
        *h.arrivals.marked.lock().expect("lock"),
        vec![Uuid::from_u128(2)]
    );
    h.finish(1);
    assert_eq!(h.next().await, Some(Uuid::from_u128(2)));
}

#[tokio::test]
async fn another_applications_arrival_holds_nothing_and_anything_unmatched_holds_all() {
    let mut h = harness(LONG);
    h.unfinished(1, 5, Scope::Only(vec![app(8)]));
    h.send_routed(2, 10, 7).await;
    assert_eq!(h.next().await, Some(Uuid::from_u128(2)));
    h.unfinished(3, 11, Scope::Any);
    h.send_routed(4, 12, 7).await;
    assert_eq!(
        h.next().await,
        None,
        "an unmatched e-mail may be application 7's"
    );
    h.finish(3);
    assert_eq!(h.next().await, Some(Uuid::from_u128(4)));
}

#[tokio::test]
async fn supplements_of_one_application_go_in_arrival_order_whatever_order_they_came_in() {
    let mut h = harness(LONG);
    h.unfinished(9, 1, Scope::Any);
    h.send_routed(3, 30, 7).await;
    h.send_routed(2, 20, 7).await;
    h.send_routed(1, 10, 7).await;
    assert_eq!(h.next().await, None);
    h.finish(9);
    let released = [h.next().await, h.next().await, h.next().await];
    assert_eq!(released, [1, 2, 3].map(|n| Some(Uuid::from_u128(n))));
}

#[tokio::test]
async fn what_is_not_routed_passes_a_waiting_supplement() {
    let mut h = harness(LONG);
    h.unfinished(1, 5, Scope::Any);
    h.send_routed(2, 10, 7).await;
    let triage = Proposal::Triage {
        reasons: vec![TriageReason::NoIdentifier],
        candidates: vec![],
    };
    h.inbox.send(h.item(3, 11, triage)).await.expect("runs");
    assert_eq!(h.next().await, Some(Uuid::from_u128(3)));
    assert_eq!(h.next().await, None);
}

#[tokio::test]
async fn past_the_hold_limit_it_goes_ahead_without_being_woken() {
    let mut h = harness(Duration::from_millis(100));
    h.unfinished(1, 5, Scope::Only(vec![app(7)]));
    h.send_routed(2, 10, 7).await;
    let released = timeout(Duration::from_secs(2), h.recorded.recv())
        .await
        .expect("released by the hold-limit timer")
        .and_then(|d| d.supplement_id());
    assert_eq!(released, Some(Uuid::from_u128(2)));
}

#[tokio::test]
async fn a_revoked_partitions_waiting_work_is_abandoned_unacknowledged() {
    let mut h = harness(LONG);
    h.unfinished(1, 5, Scope::Any);
    h.send_routed(2, 10, 7).await;
    assert_eq!(h.next().await, None);
    h.revoked.cancel();
    h.finish(1);
    assert_eq!(h.next().await, None, "its next owner processes it");
    assert!(h.acks.try_recv().is_err(), "its offset is not committed");
}
