//! When a matched supplement may take its number in the application's
//! queue. FIFO is by arrival at the gateway across both channels, so a
//! supplement waits while anything that arrived earlier and may belong to
//! the same application is still unfinished: in the gateway, in Kafka, or
//! in a worker. A supplement that waits longer than the hold limit goes
//! ahead, with an alert, so one that keeps failing cannot stop a queue
//! for good.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::NonPartyPolicy;
use crate::ids::ApplicationId;

/// A supplement ready to be numbered, waiting for its turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub supplement_id: Uuid,
    pub application_id: ApplicationId,
    pub arrived_at: DateTime<Utc>,
    /// When it became ready.
    pub held_since: DateTime<Utc>,
}

/// An unfinished supplement that arrived at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub supplement_id: Uuid,
    pub arrived_at: DateTime<Utc>,
    /// The applications it may still be routed to.
    pub scope: Scope,
}

/// Where an unfinished supplement may end up, as far as is known before
/// it is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Anywhere (an e-mail whose ids are unknown until it is read).
    Any,
    /// Only one of these applications (possibly none).
    Only(Vec<ApplicationId>),
}

impl Scope {
    /// From what the arrival record says: the application the channel or
    /// the matcher named; else, when only mail from a party to an
    /// application can be routed to it, the applications its sender is a
    /// party to (`sender_parties`, `None` when the sender is unknown).
    /// The sender is known from the envelope before a byte of the message
    /// is read, so a slow hostile e-mail holds only its sender's own
    /// applications, never everyone's.
    pub fn of(
        application: Option<ApplicationId>,
        sender_parties: Option<Vec<ApplicationId>>,
        non_party: NonPartyPolicy,
    ) -> Scope {
        match (application, sender_parties, non_party) {
            (Some(application), _, _) => Scope::Only(vec![application]),
            (None, Some(parties), NonPartyPolicy::Triage) => Scope::Only(parties),
            _ => Scope::Any,
        }
    }

    fn includes(&self, application: &ApplicationId) -> bool {
        match self {
            Scope::Any => true,
            Scope::Only(applications) => applications.contains(application),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Everything earlier for its application is done.
    InOrder,
    /// Waited past the hold limit; goes ahead of what still blocks it.
    Overdue,
}

/// The held supplements to number now, as indexes into `held`, in the
/// order to number them.
pub fn release(
    held: &[Held],
    blockers: &[Blocker],
    now: DateTime<Utc>,
    hold_limit: Duration,
) -> Vec<(usize, Release)> {
    let mut order: Vec<usize> = (0..held.len()).collect();
    order.sort_by_key(|&i| (held[i].arrived_at, held[i].supplement_id));
    let mut released: HashSet<Uuid> = HashSet::new();
    let mut out = Vec::new();
    for (position, &i) in order.iter().enumerate() {
        let h = &held[i];
        let before = |at: DateTime<Utc>, id: Uuid| (at, id) < (h.arrived_at, h.supplement_id);
        let blocked_outside = blockers.iter().any(|b| {
            b.supplement_id != h.supplement_id
                && !released.contains(&b.supplement_id)
                && before(b.arrived_at, b.supplement_id)
                && b.scope.includes(&h.application_id)
        });
        let blocked_by_held = order[..position].iter().any(|&j| {
            held[j].application_id == h.application_id && !released.contains(&held[j].supplement_id)
        });
        let verdict = if !blocked_outside && !blocked_by_held {
            Some(Release::InOrder)
        } else if now - h.held_since >= hold_limit {
            Some(Release::Overdue)
        } else {
            None
        };
        if let Some(verdict) = verdict {
            released.insert(h.supplement_id);
            out.push((i, verdict));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).expect("valid time")
    }

    fn app(n: u32) -> ApplicationId {
        ApplicationId::from_parts(2026, n).expect("valid")
    }

    fn held(id: u128, application: u32, arrived: i64) -> Held {
        Held {
            supplement_id: Uuid::from_u128(id),
            application_id: app(application),
            arrived_at: at(arrived),
            held_since: at(100),
        }
    }

    fn blocker(id: u128, application: Option<u32>, arrived: i64) -> Blocker {
        Blocker {
            supplement_id: Uuid::from_u128(id),
            arrived_at: at(arrived),
            scope: match application {
                Some(a) => Scope::Only(vec![app(a)]),
                None => Scope::Any,
            },
        }
    }

    fn as_blocker(h: &Held) -> Blocker {
        Blocker {
            supplement_id: h.supplement_id,
            arrived_at: h.arrived_at,
            scope: Scope::Only(vec![h.application_id.clone()]),
        }
    }

    const LIMIT: Duration = Duration::minutes(10);

    #[test]
    fn nothing_earlier_means_released() {
        let h = [held(1, 1, 5)];
        assert_eq!(
            release(&h, &[as_blocker(&h[0])], at(101), LIMIT),
            vec![(0, Release::InOrder)]
        );
    }

    #[test]
    fn an_earlier_unfinished_supplement_of_the_same_application_holds() {
        let h = [held(2, 1, 5)];
        let blockers = [blocker(1, Some(1), 4), as_blocker(&h[0])];
        assert_eq!(release(&h, &blockers, at(101), LIMIT), vec![]);
    }

    #[test]
    fn another_application_does_not_hold() {
        let h = [held(2, 1, 5)];
        let blockers = [blocker(1, Some(2), 4)];
        assert_eq!(
            release(&h, &blockers, at(101), LIMIT),
            vec![(0, Release::InOrder)]
        );
    }

    #[test]
    fn an_unread_earlier_email_holds_every_application() {
        let h = [held(2, 1, 5)];
        assert_eq!(release(&h, &[blocker(1, None, 4)], at(101), LIMIT), vec![]);
    }

    #[test]
    fn an_unread_email_holds_only_its_senders_applications() {
        let h = [held(2, 1, 5), held(3, 2, 5)];
        let sender = Scope::of(None, Some(vec![app(2)]), NonPartyPolicy::Triage);
        let blockers = [Blocker {
            scope: sender,
            ..blocker(1, None, 4)
        }];
        assert_eq!(
            release(&h, &blockers, at(101), LIMIT),
            vec![(0, Release::InOrder)],
            "application 1 goes on; application 2 waits for the earlier mail"
        );
    }

    #[test]
    fn scope_narrows_only_where_the_policy_allows() {
        let parties = Some(vec![app(1), app(2)]);
        assert_eq!(
            Scope::of(None, parties.clone(), NonPartyPolicy::Triage),
            Scope::Only(vec![app(1), app(2)])
        );
        // Routed with a flag, mail from anyone may go to any application.
        assert_eq!(Scope::of(None, parties, NonPartyPolicy::Route), Scope::Any);
        assert_eq!(Scope::of(None, None, NonPartyPolicy::Triage), Scope::Any);
        // A sender who is nobody's party can only reach triage.
        assert_eq!(
            Scope::of(None, Some(vec![]), NonPartyPolicy::Triage),
            Scope::Only(vec![])
        );
        for policy in [NonPartyPolicy::Triage, NonPartyPolicy::Route] {
            assert_eq!(
                Scope::of(Some(app(3)), Some(vec![app(1)]), policy),
                Scope::Only(vec![app(3)])
            );
        }
    }

    #[test]
    fn later_arrivals_never_hold() {
        let h = [held(1, 1, 5)];
        assert_eq!(
            release(&h, &[blocker(2, None, 6)], at(101), LIMIT),
            vec![(0, Release::InOrder)]
        );
    }

    #[test]
    fn held_ones_go_in_arrival_order_even_if_they_became_ready_out_of_order() {
        let h = [held(3, 1, 9), held(1, 1, 2), held(2, 1, 5)];
        let blockers: Vec<Blocker> = h.iter().map(as_blocker).collect();
        assert_eq!(
            release(&h, &blockers, at(101), LIMIT),
            vec![
                (1, Release::InOrder),
                (2, Release::InOrder),
                (0, Release::InOrder)
            ]
        );
    }

    #[test]
    fn the_hold_limit_lets_a_stuck_queue_move_with_an_alert() {
        let h = [held(2, 1, 5)];
        let blockers = [blocker(1, Some(1), 4)];
        assert_eq!(
            release(&h, &blockers, at(100) + LIMIT - Duration::seconds(1), LIMIT),
            vec![]
        );
        assert_eq!(
            release(&h, &blockers, at(100) + LIMIT, LIMIT),
            vec![(0, Release::Overdue)]
        );
    }

    #[test]
    fn equal_arrival_times_are_ordered_by_id() {
        let h = [held(2, 1, 5), held(1, 1, 5)];
        let blockers: Vec<Blocker> = h.iter().map(as_blocker).collect();
        assert_eq!(
            release(&h, &blockers, at(101), LIMIT),
            vec![(1, Release::InOrder), (0, Release::InOrder)]
        );
    }

    proptest! {
        /// Whatever is held and whatever still blocks, releases within one
        /// application come out in arrival order and nothing is released
        /// while an earlier unfinished one of its application exists.
        #[test]
        fn never_overtakes(
            items in prop::collection::vec((0u32..3, 0i64..50), 1..20),
            unfinished in prop::collection::vec((prop::option::of(0u32..3), 0i64..50), 0..5),
        ) {
            let h: Vec<Held> = items
                .iter()
                .enumerate()
                .map(|(i, (a, t))| held(i as u128 + 100, *a, *t))
                .collect();
            let mut blockers: Vec<Blocker> = h.iter().map(as_blocker).collect();
            blockers.extend(
                unfinished.iter().enumerate().map(|(i, (a, t))| blocker(i as u128, *a, *t)),
            );
            let out = release(&h, &blockers, at(101), LIMIT);
            let released: HashSet<Uuid> = out.iter().map(|(i, _)| h[*i].supplement_id).collect();
            for (i, verdict) in &out {
                prop_assert_eq!(*verdict, Release::InOrder);
                let me = &h[*i];
                for b in &blockers {
                    let earlier = (b.arrived_at, b.supplement_id) < (me.arrived_at, me.supplement_id);
                    let same = b.scope.includes(&me.application_id);
                    if earlier && same {
                        prop_assert!(released.contains(&b.supplement_id));
                    }
                }
            }
            let mut last: std::collections::HashMap<ApplicationId, (DateTime<Utc>, Uuid)> =
                Default::default();
            for (i, _) in &out {
                let me = &h[*i];
                let key = (me.arrived_at, me.supplement_id);
                if let Some(prev) = last.insert(me.application_id.clone(), key) {
                    prop_assert!(prev < key);
                }
            }
        }
    }
}
