//! Dead letters: records a service could not process, parked for an
//! operator, and the rules of replaying them. A replayed copy goes back to
//! the record's origin topic carrying a [`ReplayTag`]; the store accepts
//! the tag only while its letter waits for exactly that replay, so a copy
//! delivered twice is processed once, and a letter that keeps failing
//! stops going round ([`after_failure`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::decide::cap_bytes;

/// The header a replayed copy carries.
pub const REPLAY_HEADER: &str = "intake_replay";

/// Replays a letter gets: a copy that fails again after the last one is
/// quarantined instead of going round.
pub const MAX_REPLAYS: u32 = 3;

/// The longest error text kept on a letter, in bytes.
pub const MAX_ERROR_BYTES: usize = 4096;

/// Text as the database can keep it: PostgreSQL refuses NUL in text, and
/// a letter that cannot be put on record would hold up its partition. Cut
/// to `max` bytes on a character boundary.
pub fn storable(text: &str, max: usize) -> String {
    // Cut before the replacement (the text may be large) and after it (a
    // replacement is longer than the NUL it replaces).
    let cleaned = cap_bytes(text, max).replace('\0', "\u{fffd}");
    cap_bytes(&cleaned, max).to_owned()
}

/// Where a letter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Waits for an operator.
    Open,
    /// A copy is on its way back through its origin topic.
    Replaying,
    /// Its copy was processed.
    Replayed,
    /// It failed again after the last replay allowed: not replayed again.
    Quarantined,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Open,
        State::Replaying,
        State::Replayed,
        State::Quarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Replaying => "replaying",
            State::Replayed => "replayed",
            State::Quarantined => "quarantined",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown dead-letter state {0:?} (open, replaying, replayed or quarantined)")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

/// The state a letter takes when a copy of it fails again after
/// `replays` replays: open for another one until `max_replays` is spent.
pub fn after_failure(replays: u32, max_replays: u32) -> State {
    if replays >= max_replays {
        State::Quarantined
    } else {
        State::Open
    }
}

/// Which copy a replayed record is: replay number `replay` of letter
/// `dead_letter`. Written as `<uuid>/<replay>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayTag {
    pub dead_letter: Uuid,
    pub replay: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a replay tag is <dead-letter id>/<replay number>")]
pub struct BadReplayTag;

impl ReplayTag {
    pub fn header_value(&self) -> String {
        format!("{}/{}", self.dead_letter, self.replay)
    }

    pub fn parse(value: &[u8]) -> Result<Self, BadReplayTag> {
        let text = std::str::from_utf8(value).map_err(|_| BadReplayTag)?;
        let (id, replay) = text.split_once('/').ok_or(BadReplayTag)?;
        let dead_letter = Uuid::try_parse(id).map_err(|_| BadReplayTag)?;
        // Digits only: `u32::from_str` would take a sign.
        if replay.is_empty() || !replay.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadReplayTag);
        }
        let replay = replay.parse().map_err(|_| BadReplayTag)?;
        if replay == 0 {
            return Err(BadReplayTag);
        }
        Ok(Self {
            dead_letter,
            replay,
        })
    }

    /// The tag among a record's headers, if it carries a well-formed one.
    pub fn find<'a>(mut headers: impl Iterator<Item = (&'a str, &'a [u8])>) -> Option<Self> {
        headers
            .find(|(name, _)| *name == REPLAY_HEADER)
            .and_then(|(_, value)| Self::parse(value).ok())
    }
}

/// A letter a replay would take, as far as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub reason: String,
    pub replays: u32,
    /// Its supplement was settled by a person meanwhile (attached or
    /// closed in triage): not replayed.
    pub settled: bool,
}

/// What a replay would do, per reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub by_reason: BTreeMap<String, PlanGroup>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanGroup {
    /// Sent back through their origin topic.
    pub replayed: usize,
    /// Of those, the ones on their last allowed replay: quarantined if
    /// they fail once more.
    pub last_chance: usize,
    /// Not replayed: their replays are spent (the limit was lowered).
    pub spent: usize,
    /// Not replayed: settled by a person meanwhile.
    pub settled: usize,
}

impl Plan {
    /// The plan for `candidates` (open letters, oldest first), at most
    /// `max` of them replayed.
    pub fn of(candidates: &[Candidate], max_replays: u32, max: usize) -> Self {
        let mut plan = Plan::default();
        let mut taken = 0;
        for candidate in candidates {
            let group = plan.by_reason.entry(candidate.reason.clone()).or_default();
            if candidate.settled {
                group.settled += 1;
            } else if !Plan::takes(candidate, max_replays) {
                group.spent += 1;
            } else if taken < max {
                taken += 1;
                group.replayed += 1;
                if candidate.replays + 1 >= max_replays {
                    group.last_chance += 1;
                }
            }
        }
        plan
    }

    pub fn replayed(&self) -> usize {
        self.by_reason.values().map(|g| g.replayed).sum()
    }

    /// Whether a candidate is replayed at all (`max` aside).
    pub fn takes(candidate: &Candidate, max_replays: u32) -> bool {
        !candidate.settled && candidate.replays < max_replays
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_ones_are_refused() {
        for state in State::ALL {
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
        }
        assert_eq!(
            "Open".parse::<State>(),
            Err(UnknownState("Open".into())),
            "names are exact"
        );
    }

    #[test]
    fn a_letter_is_quarantined_once_its_replays_are_spent() {
        assert_eq!(after_failure(0, 3), State::Open, "never replayed");
        assert_eq!(after_failure(2, 3), State::Open);
        assert_eq!(after_failure(3, 3), State::Quarantined);
        assert_eq!(after_failure(5, 3), State::Quarantined, "limit lowered");
        assert_eq!(
            after_failure(0, 0),
            State::Quarantined,
            "no replays allowed"
        );
    }

    #[test]
    fn a_tag_round_trips() {
        let tag = ReplayTag {
            dead_letter: Uuid::from_u128(42),
            replay: 3,
        };
        assert_eq!(ReplayTag::parse(tag.header_value().as_bytes()), Ok(tag));
    }

    #[test]
    fn malformed_tags_are_refused() {
        let id = Uuid::from_u128(42);
        for bad in [
            String::new(),
            id.to_string(),
            format!("{id}/"),
            format!("{id}/0"),
            format!("{id}/+1"),
            format!("{id}/-1"),
            format!("{id}/1/2"),
            format!("{id}/ 1"),
            format!("{id}/99999999999"),
            "not-a-uuid/1".to_owned(),
            format!("/{id}"),
        ] {
            assert_eq!(
                ReplayTag::parse(bad.as_bytes()),
                Err(BadReplayTag),
                "{bad:?}"
            );
        }
        assert_eq!(ReplayTag::parse(&[0xff, b'/', b'1']), Err(BadReplayTag));
    }

    #[test]
    fn a_tag_is_found_among_headers_and_a_bad_one_is_ignored() {
        let id = Uuid::from_u128(7);
        let good = format!("{id}/2");
        let headers = [
            ("traceparent", b"00-abc".as_slice()),
            (REPLAY_HEADER, good.as_bytes()),
        ];
        assert_eq!(
            ReplayTag::find(headers.iter().copied()),
            Some(ReplayTag {
                dead_letter: id,
                replay: 2
            })
        );
        let bad = [(REPLAY_HEADER, b"garbage".as_slice())];
        assert_eq!(ReplayTag::find(bad.iter().copied()), None);
        assert_eq!(ReplayTag::find(std::iter::empty()), None);
    }

    #[test]
    fn storable_text_has_no_nul_and_is_cut_on_a_character_boundary() {
        assert_eq!(storable("a\0b", 10), "a\u{fffd}b");
        assert_eq!(
            storable("ääkkönen", 3),
            "ä",
            "ä is two bytes: not cut inside"
        );
        assert_eq!(storable("abc", 3), "abc");
        assert_eq!(storable("", 0), "");
        assert!(storable(&"x".repeat(10_000), MAX_ERROR_BYTES).len() <= MAX_ERROR_BYTES);
        assert!(
            storable(&"\0".repeat(10_000), 10).len() <= 10,
            "replacements are longer"
        );
    }

    fn candidate(reason: &str, replays: u32) -> Candidate {
        Candidate {
            reason: reason.into(),
            replays,
            settled: false,
        }
    }

    #[test]
    fn a_plan_groups_by_reason_and_stops_at_max() {
        let candidates = [
            candidate("failed", 0),
            candidate("undecodable", 2),
            candidate("failed", 3),
            candidate("failed", 1),
            candidate("refused", 0),
            Candidate {
                settled: true,
                ..candidate("failed", 0)
            },
        ];
        let plan = Plan::of(&candidates, 3, 3);
        assert_eq!(plan.replayed(), 3);
        assert_eq!(
            plan.by_reason["failed"],
            PlanGroup {
                replayed: 2,
                last_chance: 0,
                spent: 1,
                settled: 1,
            }
        );
        assert_eq!(
            plan.by_reason["undecodable"],
            PlanGroup {
                replayed: 1,
                last_chance: 1,
                spent: 0,
                settled: 0,
            }
        );
        assert_eq!(
            plan.by_reason["refused"],
            PlanGroup::default(),
            "beyond --max: counted as a reason, not replayed"
        );
    }

    #[test]
    fn an_empty_plan_replays_nothing() {
        assert_eq!(Plan::of(&[], 3, 10).replayed(), 0);
        assert_eq!(Plan::of(&[candidate("failed", 0)], 3, 0).replayed(), 0);
    }
}
