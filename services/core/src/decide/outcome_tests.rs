use proptest::prelude::*;

use super::*;

fn app(n: u32) -> ApplicationId {
    ApplicationId::from_parts(2026, n).expect("valid")
}

fn earlier(n: u128) -> Earlier {
    Earlier {
        supplement_id: Uuid::from_u128(n),
        reference: format!("R-{n}"),
        arrived_at: DateTime::from_timestamp(1_800_000_000 + n as i64, 0).expect("time"),
    }
}

fn route(flags: Vec<RoutingFlag>) -> Proposal {
    Proposal::Route {
        application_id: app(7),
        flags,
    }
}

fn facts<'a>(proposal: &'a Proposal, refused: &'a [u32]) -> Facts<'a> {
    Facts {
        proposal,
        same_content: None,
        same_files: None,
        last_sequence: 4,
        refused_parts: refused,
    }
}

#[test]
fn a_new_supplement_takes_the_next_number_and_keeps_its_fingerprints() {
    let proposal = route(vec![]);
    let out = outcome(&facts(&proposal, &[]));
    assert_eq!(out.kind, Kind::Routed);
    assert_eq!(out.sequence, Some(5));
    assert_eq!(out.application, Some(app(7)));
    assert!(out.keeps_fingerprints);
    assert_eq!(out.announces, vec![Announce::Routed, Announce::Receipt]);
    assert!(out.receipt.names_application);
    assert_eq!(out.receipt.already_received, None);
}

#[test]
fn the_same_content_again_is_a_duplicate_without_a_number_or_routed_event() {
    let proposal = route(vec![]);
    let original = earlier(1);
    let out = outcome(&Facts {
        same_content: Some(&original),
        same_files: Some(&original),
        ..facts(&proposal, &[])
    });
    assert_eq!(out.kind, Kind::Duplicate);
    assert_eq!(out.sequence, None);
    assert_eq!(out.duplicate_of, Some(original.clone()));
    assert_eq!(out.receipt.already_received, Some(original));
    assert!(!out.keeps_fingerprints);
    assert!(out.flags.is_empty());
    assert_eq!(out.announces, vec![Announce::Receipt]);
}

#[test]
fn the_same_files_with_new_text_are_routed_and_flagged_as_a_possible_resend() {
    let proposal = route(vec![]);
    let original = earlier(3);
    let out = outcome(&Facts {
        same_files: Some(&original),
        ..facts(&proposal, &[])
    });
    assert_eq!(out.kind, Kind::Routed);
    assert_eq!(out.possible_resend_of, Some(original.supplement_id));
    assert_eq!(
        out.flags,
        vec![RoutingFlag::PossibleResend {
            original_supplement_id: original.supplement_id
        }]
    );
}

#[test]
fn refused_parts_are_flagged_announced_one_by_one_and_the_receipt_comes_last() {
    let proposal = route(vec![]);
    let out = outcome(&facts(&proposal, &[2, 5]));
    assert_eq!(out.flags, vec![RoutingFlag::PartsRefused { count: 2 }]);
    assert_eq!(
        out.announces,
        vec![
            Announce::Routed,
            Announce::PartQuarantined { ordinal: 2 },
            Announce::PartQuarantined { ordinal: 5 },
            Announce::Receipt
        ]
    );
}

#[test]
fn a_stranger_is_never_told_the_application_even_for_a_duplicate() {
    let proposal = route(vec![RoutingFlag::SenderNotParty]);
    let original = earlier(1);
    for same_content in [None, Some(&original)] {
        let out = outcome(&Facts {
            same_content,
            ..facts(&proposal, &[])
        });
        assert!(!out.receipt.names_application, "{:?}", out.kind);
    }
}

#[test]
fn a_whole_quarantine_refuses_the_message_with_the_reason_the_applicant_can_act_on() {
    let cases = [
        (
            QuarantineReason::Infected {
                signature: "x".into(),
            },
            RefusalReason::Infected,
        ),
        (
            QuarantineReason::Dangerous { detail: "x".into() },
            RefusalReason::Dangerous,
        ),
        (
            QuarantineReason::ForeignEncryption {
                scheme: "pgp".into(),
            },
            RefusalReason::ForeignEncryption,
        ),
        (
            QuarantineReason::Undecryptable,
            RefusalReason::ForeignEncryption,
        ),
        (
            QuarantineReason::Unscannable { detail: "x".into() },
            RefusalReason::Unscannable,
        ),
        (
            QuarantineReason::Malformed { detail: "x".into() },
            RefusalReason::UnsupportedType,
        ),
    ];
    for (reason, refusal) in cases {
        let proposal = Proposal::Quarantine(reason.clone());
        let out = outcome(&facts(&proposal, &[]));
        assert_eq!(out.kind, Kind::Quarantined);
        assert_eq!(out.whole, Some(reason));
        assert_eq!(out.receipt.message_refused, Some(refusal));
        assert_eq!(
            out.announces,
            vec![Announce::Quarantined, Announce::Receipt]
        );
    }
}

#[test]
fn an_unprocessable_supplement_goes_to_triage_with_its_error_cleaned_and_capped() {
    let proposal = Proposal::Unprocessable {
        detail: format!("bad\u{0}byte {}", "x".repeat(5000)),
    };
    let out = outcome(&facts(&proposal, &[]));
    assert_eq!(out.kind, Kind::Unprocessable);
    let (reasons, candidates) = out.triage.expect("triage reasons");
    assert!(candidates.is_empty());
    let [TriageReason::Unprocessable { detail }] = reasons.as_slice() else {
        panic!("{reasons:?}");
    };
    assert!(detail.len() <= MAX_DETAIL_BYTES && !detail.contains('\u{0}'));
    assert_eq!(
        out.receipt.message_refused,
        Some(RefusalReason::Unprocessable)
    );
    assert_eq!(out.announces, vec![Announce::Triaged, Announce::Receipt]);
}

#[test]
fn announcements_have_distinct_derived_names() {
    let names = [
        Announce::Routed,
        Announce::Triaged,
        Announce::Quarantined,
        Announce::PartQuarantined { ordinal: 1 },
        Announce::PartQuarantined { ordinal: 2 },
        Announce::Receipt,
    ]
    .map(Announce::what);
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
}

fn any_flag() -> impl Strategy<Value = RoutingFlag> {
    prop_oneof![
        Just(RoutingFlag::SenderNotParty),
        (1u32..50).prop_map(|n| RoutingFlag::OtherApplicationMentioned {
            application_id: app(n)
        }),
    ]
}

fn any_proposal() -> impl Strategy<Value = Proposal> {
    prop_oneof![
        Just(Proposal::Quarantine(QuarantineReason::Undecryptable)),
        Just(Proposal::Triage {
            reasons: vec![TriageReason::NoIdentifier],
            candidates: vec![],
        }),
        prop::collection::vec(any_flag(), 0..3).prop_map(route),
        ".{0,40}".prop_map(|detail| Proposal::Unprocessable { detail }),
    ]
}

proptest! {
    /// The rules every outcome keeps, whatever the facts.
    #[test]
    fn every_outcome_keeps_the_rules(
        proposal in any_proposal(),
        same_content in prop::option::of(1u128..5),
        same_files in prop::option::of(1u128..5),
        last_sequence in 0i64..1000,
        refused in prop::collection::btree_set(1u32..20, 0..4),
    ) {
        let (content, files) = (same_content.map(earlier), same_files.map(earlier));
        let refused: Vec<u32> = refused.into_iter().collect();
        let out = outcome(&Facts {
            proposal: &proposal,
            same_content: content.as_ref(),
            same_files: files.as_ref(),
            last_sequence,
            refused_parts: &refused,
        });
        let routing = matches!(proposal, Proposal::Route { .. });
        // Exactly one receipt, always last.
        prop_assert_eq!(out.announces.iter().filter(|a| **a == Announce::Receipt).count(), 1);
        prop_assert_eq!(out.announces.last(), Some(&Announce::Receipt));
        // Every refused part is announced once, whatever the outcome.
        for ordinal in &refused {
            prop_assert_eq!(
                out.announces.iter().filter(|a| **a == Announce::PartQuarantined { ordinal: *ordinal }).count(),
                1
            );
        }
        // A duplicate exactly when a routable supplement repeats one.
        prop_assert_eq!(out.kind == Kind::Duplicate, routing && content.is_some());
        // Numbered, announced as routed and remembered exactly when routed.
        let routed = out.kind == Kind::Routed;
        prop_assert_eq!(out.sequence, routed.then_some(last_sequence + 1));
        prop_assert_eq!(out.announces.contains(&Announce::Routed), routed);
        prop_assert_eq!(out.keeps_fingerprints, routed);
        prop_assert_eq!(out.application.is_some(), routing);
        prop_assert_eq!(out.possible_resend_of.is_some(), routed && files.is_some());
        prop_assert_eq!(
            out.flags.contains(&RoutingFlag::PartsRefused { count: refused.len() as u32 }),
            routed && !refused.is_empty()
        );
        // A stranger's receipt never names the application.
        if let Proposal::Route { flags, .. } = &proposal {
            prop_assert_eq!(
                out.receipt.names_application,
                !flags.contains(&RoutingFlag::SenderNotParty)
            );
        } else {
            prop_assert!(!out.receipt.names_application);
        }
        // Triage reasons exactly for the outcomes a person finishes.
        prop_assert_eq!(
            out.triage.is_some(),
            matches!(out.kind, Kind::Triage | Kind::Unprocessable)
        );
        prop_assert_eq!(
            out.receipt.message_refused.is_some(),
            matches!(out.kind, Kind::Quarantined | Kind::Unprocessable)
        );
    }
}
