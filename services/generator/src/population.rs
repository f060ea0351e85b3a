//! Applicants and their applications, from a seed.

use chrono::{DateTime, TimeZone, Utc};
use intake_core::events::{ApplicationRecord, ApplicationStatus, Language};
use intake_core::{ApplicationId, CustomerNumber, RequestId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FIRST: [&str; 12] = [
    "Aino", "Mikael", "Fatima", "Liam", "Sofia", "Ahmed", "Elin", "Juho", "Maria", "Oskar",
    "Nguyen", "Zainab",
];
const LAST: [&str; 10] = [
    "Virtanen",
    "Lindqvist",
    "Hassan",
    "Smith",
    "Korhonen",
    "Ali",
    "Nyström",
    "Tran",
    "Garcia",
    "Mäkinen",
];
/// The units and their caseworkers (subject ids of the local identity
/// provider's users, `infra/local/oidc/users.json`).
pub const UNITS: [(&str, &[&str]); 4] = [
    ("residence-permits-helsinki", &["aino", "mikko"]),
    ("residence-permits-tampere", &["elina"]),
    ("family-ties-turku", &["juha"]),
    ("work-permits-oulu", &["sanna"]),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub name: String,
    pub email: String,
    pub language: Language,
    pub customer_number: CustomerNumber,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub applicants: Vec<Applicant>,
    /// One application per applicant; `applications[i]` is `applicants[i]`'s.
    pub applications: Vec<ApplicationRecord>,
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

impl Population {
    /// `size` applicants, each with one pending application. Confidential
    /// applications are about one in ten; about a third have an open request
    /// for supplement.
    pub fn generate(seed: u64, size: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut applicants = Vec::with_capacity(size);
        let mut applications = Vec::with_capacity(size);
        for i in 0..size {
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            let language = [Language::Fi, Language::Sv, Language::En][rng.random_range(0..3)];
            let customer_number =
                CustomerNumber::from_serial(10_000_000 + i as u32).expect("in range");
            let email = format!(
                "{}.{}.{i}@example.org",
                ascii_fold(first).to_lowercase(),
                ascii_fold(last).to_lowercase()
            );
            let application_id =
                ApplicationId::from_parts(2026, 100_000 + i as u32).expect("in range");
            let open_requests = if rng.random_bool(0.33) {
                vec![RequestId::from_serial(500_000 + i as u32).expect("in range")]
            } else {
                vec![]
            };
            let (unit, caseworkers) = UNITS[rng.random_range(0..UNITS.len())];
            applications.push(ApplicationRecord {
                application_id,
                customer_number: customer_number.clone(),
                status: ApplicationStatus::Pending,
                unit: unit.to_owned(),
                confidential: rng.random_bool(0.1),
                assigned_caseworker: Some(caseworkers[i % caseworkers.len()].to_owned()),
                language,
                contact_addresses: vec![email.clone()],
                open_requests,
                version: 1,
                updated_at: epoch(),
            });
            applicants.push(Applicant {
                name: format!("{first} {last}"),
                email,
                language,
                customer_number,
            });
        }
        Self {
            applicants,
            applications,
        }
    }

    /// A well-formed application id that no application has.
    pub fn unknown_id(&self, n: u32) -> ApplicationId {
        ApplicationId::from_parts(2025, 900_000 + n).expect("in range")
    }
}

/// Addresses stay ASCII; names keep their letters.
fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ä' | 'å' => 'a',
            'ö' => 'o',
            'Ä' | 'Å' => 'A',
            'Ö' => 'O',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every caseworker the generator assigns can sign in to the local
    /// stack's identity provider, as a caseworker of that unit.
    #[test]
    fn assigned_caseworkers_are_local_users_of_their_unit() {
        let users: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../../infra/local/oidc/users.json"))
                .expect("users.json is JSON");
        for (unit, caseworkers) in UNITS {
            for cw in caseworkers {
                let user = users
                    .iter()
                    .find(|u| u["sub"] == *cw)
                    .unwrap_or_else(|| panic!("{cw} is not a local user"));
                assert!(
                    user["roles"]
                        .as_array()
                        .expect("roles")
                        .contains(&"caseworker".into())
                );
                assert!(
                    user["units"]
                        .as_array()
                        .expect("units")
                        .contains(&(*unit).into())
                );
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_population() {
        assert_eq!(Population::generate(7, 50), Population::generate(7, 50));
        assert_ne!(Population::generate(7, 50), Population::generate(8, 50));
    }

    #[test]
    fn ids_and_addresses_are_unique_and_unknown_ids_are_unknown() {
        let population = Population::generate(1, 300);
        let ids: HashSet<_> = population
            .applications
            .iter()
            .map(|a| a.application_id.clone())
            .collect();
        let emails: HashSet<_> = population
            .applicants
            .iter()
            .map(|a| a.email.clone())
            .collect();
        assert_eq!(ids.len(), 300);
        assert_eq!(emails.len(), 300);
        assert!(!ids.contains(&population.unknown_id(0)));
        assert!(population.applicants.iter().all(|a| a.email.is_ascii()));
    }

    #[test]
    fn the_mix_has_confidential_ones_and_open_requests() {
        let population = Population::generate(3, 300);
        let confidential = population
            .applications
            .iter()
            .filter(|a| a.confidential)
            .count();
        let with_request = population
            .applications
            .iter()
            .filter(|a| !a.open_requests.is_empty())
            .count();
        assert!((10..60).contains(&confidential), "{confidential}");
        assert!((60..150).contains(&with_request), "{with_request}");
    }
}
