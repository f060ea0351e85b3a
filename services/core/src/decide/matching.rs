//! Joining a supplement to one application, or sending it to triage with
//! the reasons a person needs to finish the job.

use std::collections::BTreeSet;

use crate::events::{RoutingFlag, TriageReason};
use crate::ids::{ApplicationId, CustomerNumber, RequestId};

use super::identifiers::Identifiers;

/// A registry entry the texts or the channel pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub application_id: ApplicationId,
    pub customer_number: CustomerNumber,
    /// Lower-cased addresses the applicant writes from.
    pub contact_addresses: Vec<String>,
    pub open_requests: Vec<RequestId>,
}

/// What the channel itself says about the supplement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explicit {
    /// Enter Finland: the applicant, logged in, chose the application.
    Chosen {
        application_id: ApplicationId,
        customer_number: CustomerNumber,
    },
    /// E-mail: only the (unauthenticated) sender address.
    Sender { address: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Route {
        application_id: ApplicationId,
        flags: Vec<RoutingFlag>,
    },
    Triage {
        reasons: Vec<TriageReason>,
        candidates: Vec<ApplicationId>,
    },
}

/// What happens to an e-mail that names an application its sender is not
/// a party to (anyone can write an id into a subject line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonPartyPolicy {
    /// A person looks first (reason `sender_not_party`).
    #[default]
    Triage,
    /// Routed with the `sender_not_party` flag.
    Route,
}

/// Decides where a supplement goes. `known` holds the registry entries for
/// every id in `found` and the explicit one, and for applications whose
/// open requests or customer number `found` names; ids absent from it are
/// unknown to the registry.
pub fn match_supplement(
    explicit: &Explicit,
    found: &Identifiers,
    known: &[Candidate],
    non_party: NonPartyPolicy,
) -> Decision {
    let lookup = |id: &ApplicationId| known.iter().find(|c| &c.application_id == id);
    match explicit {
        Explicit::Chosen {
            application_id,
            customer_number,
        } => {
            let Some(chosen) = lookup(application_id) else {
                return triage(
                    vec![TriageReason::UnknownApplication {
                        application_id: application_id.clone(),
                    }],
                    vec![],
                );
            };
            let mut flags = mentioned_others(application_id, found, known);
            if &chosen.customer_number != customer_number {
                flags.push(RoutingFlag::SenderNotParty);
            }
            route(application_id, flags)
        }
        Explicit::Sender { address } => {
            let named_known: Vec<&Candidate> =
                found.applications.iter().filter_map(lookup).collect();
            let chosen = match named_known.as_slice() {
                [one] => *one,
                [] => match by_other_identifiers(found, known).as_slice() {
                    [one] => *one,
                    [] => return unmatched(found),
                    several => return ambiguous(several),
                },
                several => return ambiguous(several),
            };
            let mut flags = Vec::new();
            let address = address.to_lowercase();
            if !chosen.contact_addresses.iter().any(|a| a == &address) {
                if non_party == NonPartyPolicy::Triage {
                    return triage(
                        vec![TriageReason::SenderNotParty {
                            application_id: chosen.application_id.clone(),
                        }],
                        vec![chosen.application_id.clone()],
                    );
                }
                flags.push(RoutingFlag::SenderNotParty);
            }
            route(&chosen.application_id, flags)
        }
    }
}

fn route(application_id: &ApplicationId, flags: Vec<RoutingFlag>) -> Decision {
    Decision::Route {
        application_id: application_id.clone(),
        flags,
    }
}

fn triage(reasons: Vec<TriageReason>, candidates: Vec<ApplicationId>) -> Decision {
    Decision::Triage {
        reasons,
        candidates,
    }
}

fn ambiguous(several: &[&Candidate]) -> Decision {
    triage(
        vec![TriageReason::Ambiguous],
        several.iter().map(|c| c.application_id.clone()).collect(),
    )
}

/// Without an application id, a request id or customer number that points
/// at exactly one application is enough.
fn by_other_identifiers<'a>(found: &Identifiers, known: &'a [Candidate]) -> Vec<&'a Candidate> {
    let hits: BTreeSet<&ApplicationId> = known
        .iter()
        .filter(|c| {
            c.open_requests.iter().any(|r| found.requests.contains(r))
                || found.customers.contains(&c.customer_number)
        })
        .map(|c| &c.application_id)
        .collect();
    hits.into_iter()
        .filter_map(|id| known.iter().find(|c| &c.application_id == id))
        .collect()
}

fn unmatched(found: &Identifiers) -> Decision {
    if found.applications.is_empty() {
        return triage(vec![TriageReason::NoIdentifier], vec![]);
    }
    let reasons = found
        .applications
        .iter()
        .map(|id| TriageReason::UnknownApplication {
            application_id: id.clone(),
        })
        .collect();
    triage(reasons, vec![])
}

fn mentioned_others(
    chosen: &ApplicationId,
    found: &Identifiers,
    known: &[Candidate],
) -> Vec<RoutingFlag> {
    found
        .applications
        .iter()
        .filter(|id| *id != chosen && known.iter().any(|c| &c.application_id == *id))
        .map(|id| RoutingFlag::OtherApplicationMentioned {
            application_id: id.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIAGE: NonPartyPolicy = NonPartyPolicy::Triage;
    use crate::decide::extract_identifiers;

    fn candidate(serial: u32) -> Candidate {
        Candidate {
            application_id: ApplicationId::from_parts(2026, serial).expect("valid"),
            customer_number: CustomerNumber::from_serial(serial).expect("valid"),
            contact_addresses: vec![format!("applicant{serial}@example.org")],
            open_requests: vec![RequestId::from_serial(serial).expect("valid")],
        }
    }

    fn sender(serial: u32) -> Explicit {
        Explicit::Sender {
            address: format!("Applicant{serial}@Example.org"),
        }
    }

    #[test]
    fn one_known_id_routes_and_a_known_sender_is_not_flagged() {
        let a = candidate(1);
        let found = extract_identifiers(&format!("Hakemus {}", a.application_id));
        assert_eq!(
            match_supplement(&sender(1), &found, std::slice::from_ref(&a), TRIAGE),
            Decision::Route {
                application_id: a.application_id,
                flags: vec![]
            }
        );
    }

    #[test]
    fn a_stranger_writing_about_an_application_goes_to_triage_by_default() {
        let a = candidate(1);
        let found = extract_identifiers(a.application_id.as_str());
        assert_eq!(
            match_supplement(&sender(9), &found, std::slice::from_ref(&a), TRIAGE),
            Decision::Triage {
                reasons: vec![TriageReason::SenderNotParty {
                    application_id: a.application_id.clone()
                }],
                candidates: vec![a.application_id.clone()],
            }
        );
        let Decision::Route { flags, .. } =
            match_supplement(&sender(9), &found, &[a], NonPartyPolicy::Route)
        else {
            panic!("routed")
        };
        assert_eq!(flags, vec![RoutingFlag::SenderNotParty]);
    }

    #[test]
    fn no_identifier_goes_to_triage() {
        assert_eq!(
            match_supplement(&sender(1), &Identifiers::default(), &[], TRIAGE),
            Decision::Triage {
                reasons: vec![TriageReason::NoIdentifier],
                candidates: vec![]
            }
        );
    }

    #[test]
    fn an_unknown_id_goes_to_triage_naming_it() {
        let unknown = ApplicationId::from_parts(2026, 999).expect("valid");
        let found = extract_identifiers(unknown.as_str());
        assert_eq!(
            match_supplement(&sender(1), &found, &[], TRIAGE),
            Decision::Triage {
                reasons: vec![TriageReason::UnknownApplication {
                    application_id: unknown
                }],
                candidates: vec![]
            }
        );
    }

    #[test]
    fn two_known_ids_are_ambiguous_with_both_as_candidates() {
        let (a, b) = (candidate(1), candidate(2));
        let found = extract_identifiers(&format!("{} {}", a.application_id, b.application_id));
        assert_eq!(
            match_supplement(&sender(1), &found, &[a.clone(), b.clone()], TRIAGE),
            Decision::Triage {
                reasons: vec![TriageReason::Ambiguous],
                candidates: vec![a.application_id, b.application_id]
            }
        );
    }

    #[test]
    fn a_known_id_beside_an_unknown_one_routes_to_the_known() {
        let a = candidate(1);
        let unknown = ApplicationId::from_parts(2026, 999).expect("valid");
        let found = extract_identifiers(&format!("{} {unknown}", a.application_id));
        assert!(matches!(
            match_supplement(&sender(1), &found, std::slice::from_ref(&a), TRIAGE),
            Decision::Route { application_id, .. } if application_id == a.application_id
        ));
    }

    #[test]
    fn a_request_id_alone_finds_its_application() {
        let a = candidate(3);
        let found = extract_identifiers(&format!("vastaus {}", a.open_requests[0]));
        assert!(matches!(
            match_supplement(&sender(3), &found, std::slice::from_ref(&a), TRIAGE),
            Decision::Route { application_id, .. } if application_id == a.application_id
        ));
    }

    #[test]
    fn a_customer_number_with_two_applications_is_ambiguous() {
        let a = candidate(4);
        let mut b = candidate(5);
        b.customer_number = a.customer_number.clone();
        let found = extract_identifiers(a.customer_number.as_str());
        assert!(matches!(
            match_supplement(&sender(4), &found, &[a, b], TRIAGE),
            Decision::Triage { reasons, .. } if reasons == vec![TriageReason::Ambiguous]
        ));
    }

    #[test]
    fn the_chosen_application_wins_and_another_mentioned_one_is_flagged() {
        let (a, b) = (candidate(1), candidate(2));
        let found = extract_identifiers(&format!("katso myös {}", b.application_id));
        let explicit = Explicit::Chosen {
            application_id: a.application_id.clone(),
            customer_number: a.customer_number.clone(),
        };
        assert_eq!(
            match_supplement(&explicit, &found, &[a.clone(), b.clone()], TRIAGE),
            Decision::Route {
                application_id: a.application_id,
                flags: vec![RoutingFlag::OtherApplicationMentioned {
                    application_id: b.application_id
                }]
            }
        );
    }

    #[test]
    fn a_chosen_application_of_another_customer_is_flagged() {
        let a = candidate(1);
        let explicit = Explicit::Chosen {
            application_id: a.application_id.clone(),
            customer_number: CustomerNumber::from_serial(42).expect("valid"),
        };
        let Decision::Route { flags, .. } =
            match_supplement(&explicit, &Identifiers::default(), &[a], TRIAGE)
        else {
            panic!("routed")
        };
        assert_eq!(flags, vec![RoutingFlag::SenderNotParty]);
    }

    #[test]
    fn a_chosen_application_missing_from_the_registry_goes_to_triage() {
        let a = candidate(1);
        let explicit = Explicit::Chosen {
            application_id: a.application_id.clone(),
            customer_number: a.customer_number.clone(),
        };
        assert!(matches!(
            match_supplement(&explicit, &Identifiers::default(), &[], TRIAGE),
            Decision::Triage { reasons, .. }
                if reasons == vec![TriageReason::UnknownApplication { application_id: a.application_id }]
        ));
    }
}
