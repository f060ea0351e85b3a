use std::collections::HashMap;

use intake_core::ids::{CustomerNumber, RequestId};
use proptest::prelude::*;

use super::*;

fn app(serial: u32) -> ApplicationId {
    ApplicationId::from_parts(2026, serial).expect("valid")
}

fn customer(serial: u32) -> CustomerNumber {
    CustomerNumber::from_serial(serial).expect("valid")
}

fn request(serial: u32) -> RequestId {
    RequestId::from_serial(serial).expect("valid")
}

fn entry(id: u32, customer_serial: u32, requests: &[u32], unit: &str) -> Registered {
    Registered {
        candidate: Candidate {
            application_id: app(id),
            customer_number: customer(customer_serial),
            contact_addresses: vec![],
            open_requests: requests.iter().map(|r| request(*r)).collect(),
        },
        unit: unit.to_owned(),
        confidential: false,
        language: Language::Fi,
    }
}

fn found(apps: &[u32], customers: &[u32], requests: &[u32]) -> Identifiers {
    Identifiers {
        applications: apps.iter().map(|a| app(*a)).collect(),
        customers: customers.iter().map(|c| customer(*c)).collect(),
        requests: requests.iter().map(|r| request(*r)).collect(),
        ..Identifiers::default()
    }
}

fn ids(found: &[Registered]) -> Vec<ApplicationId> {
    found
        .iter()
        .map(|r| r.candidate.application_id.clone())
        .collect()
}

#[test]
fn each_kind_of_identifier_finds_its_application_in_id_order() {
    let view = RegistryView::default();
    view.upsert(1, entry(30, 3, &[], "c"));
    view.upsert(1, entry(10, 1, &[], "a"));
    view.upsert(1, entry(20, 2, &[7], "b"));
    view.upsert(1, entry(40, 4, &[], "d"));

    assert_eq!(
        ids(&view.candidates(Some(&app(40)), &found(&[], &[], &[]))),
        [app(40)]
    );
    assert_eq!(
        ids(&view.candidates(None, &found(&[30], &[1], &[7]))),
        [app(10), app(20), app(30)]
    );
    // Named but not registered: nothing to route to.
    assert!(
        view.candidates(Some(&app(99)), &found(&[98], &[9], &[9]))
            .is_empty()
    );
}

#[test]
fn an_older_or_equal_version_is_ignored_and_a_newer_one_moves_the_keys() {
    let view = RegistryView::default();
    assert!(view.upsert(5, entry(1, 1, &[1], "old")));
    assert!(!view.upsert(4, entry(1, 2, &[2], "older")));
    assert!(!view.upsert(5, entry(1, 2, &[2], "same")));
    assert_eq!(
        view.candidates(Some(&app(1)), &found(&[], &[], &[]))[0].unit,
        "old"
    );

    assert!(view.upsert(6, entry(1, 2, &[2], "new")));
    assert!(view.candidates(None, &found(&[], &[1], &[1])).is_empty());
    let now = view.candidates(None, &found(&[], &[2], &[2]));
    assert_eq!(ids(&now), [app(1)]);
    assert_eq!(now[0].unit, "new");
}

#[test]
fn a_removed_application_is_found_by_nothing() {
    let view = RegistryView::default();
    view.upsert(1, entry(1, 1, &[1], "a"));
    view.upsert(1, entry(2, 1, &[1], "b"));
    view.remove(&app(1));
    assert_eq!(
        ids(&view.candidates(Some(&app(1)), &found(&[], &[1], &[1]))),
        [app(2)]
    );
    view.remove(&app(2));
    assert!(view.is_empty());
    // A tombstone lets a later record in at any version.
    assert!(view.upsert(1, entry(1, 1, &[], "again")));
}

#[test]
fn contact_addresses_are_kept_in_lower_case_as_in_the_table() {
    let record: ApplicationRecord = serde_json::from_value(serde_json::json!({
        "application_id": app(1).as_str(),
        "customer_number": customer(1).as_str(),
        "status": "pending",
        "unit": "u",
        "confidential": true,
        "language": "sv",
        "contact_addresses": ["Anna.Applicant@Example.ORG"],
        "open_requests": [],
        "version": 3,
        "updated_at": "2026-12-01T00:00:00Z",
    }))
    .expect("a record");
    let view = RegistryView::default();
    assert!(view.upsert_record(&record));
    let found = view.candidates(Some(&app(1)), &Identifiers::default());
    assert_eq!(
        found[0].candidate.contact_addresses,
        ["anna.applicant@example.org"]
    );
    assert!(found[0].confidential);
    assert_eq!(found[0].language, Language::Sv);
}

#[derive(Debug, Clone)]
enum Change {
    Upsert {
        id: u32,
        version: i64,
        customer: u32,
        requests: Vec<u32>,
    },
    Remove(u32),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (1..8u32, 0..5i64, 1..5u32, proptest::collection::vec(1..6u32, 0..3)).prop_map(
            |(id, version, customer, requests)| Change::Upsert { id, version, customer, requests }
        ),
        1 => (1..8u32).prop_map(Change::Remove),
    ]
}

proptest! {
    /// Against the table's rules written out plainly: the latest version
    /// per id wins, and a look-up is a scan of every entry.
    #[test]
    fn answers_as_a_scan_of_the_latest_versions(
        changes in proptest::collection::vec(change(), 0..40),
        asked in (proptest::option::of(1..8u32), proptest::collection::vec(1..8u32, 0..3),
                  proptest::collection::vec(1..5u32, 0..3), proptest::collection::vec(1..6u32, 0..3)),
    ) {
        let view = RegistryView::default();
        let mut table: HashMap<u32, (i64, Registered)> = HashMap::new();
        for change in changes {
            match change {
                Change::Upsert { id, version, customer, requests } => {
                    let newer = table.get(&id).is_none_or(|(v, _)| *v < version);
                    let registered = entry(id, customer, &requests, &format!("v{version}"));
                    prop_assert_eq!(view.upsert(version, registered.clone()), newer);
                    if newer {
                        table.insert(id, (version, registered));
                    }
                }
                Change::Remove(id) => {
                    view.remove(&app(id));
                    table.remove(&id);
                }
            }
        }
        let (explicit, apps, customers, requests) = asked;
        let identifiers = found(&apps, &customers, &requests);
        let mut expected: Vec<Registered> = table
            .values()
            .map(|(_, r)| r)
            .filter(|r| {
                let c = &r.candidate;
                explicit.is_some_and(|e| app(e) == c.application_id)
                    || identifiers.applications.contains(&c.application_id)
                    || identifiers.customers.contains(&c.customer_number)
                    || c.open_requests.iter().any(|q| identifiers.requests.contains(q))
            })
            .cloned()
            .collect();
        expected.sort_by(|a, b| a.candidate.application_id.cmp(&b.candidate.application_id));
        prop_assert_eq!(view.candidates(explicit.map(app).as_ref(), &identifiers), expected);
        prop_assert_eq!(view.len(), table.len());
    }
}
