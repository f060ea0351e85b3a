//! Finding application ids, customer numbers and request ids in free text.
//! Only ids whose check digit holds count: a mistyped number must not send
//! a supplement to a stranger's application.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::ids::{ApplicationId, CustomerNumber, RequestId};

/// Everything a supplement's texts name, deduplicated and sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identifiers {
    pub applications: BTreeSet<ApplicationId>,
    pub customers: BTreeSet<CustomerNumber>,
    pub requests: BTreeSet<RequestId>,
    /// Strings shaped like an application id whose check digit fails.
    pub malformed: BTreeSet<String>,
}

impl Identifiers {
    pub fn merge(&mut self, other: Identifiers) {
        self.applications.extend(other.applications);
        self.customers.extend(other.customers);
        self.requests.extend(other.requests);
        self.malformed.extend(other.malformed);
    }
}

// Separators are matched loosely (hyphen, en dash, space) because people
// retype ids; the canonical form is rebuilt before the check digit test.
static APPLICATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bMIG[-–\s]?(\d{4})[-–\s]?(\d{6})[-–\s]?(\d)\b").expect("valid regex")
});
static CUSTOMER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\d-])(\d{8})-(\d)\b").expect("valid regex"));
static REQUEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bRFI[-–\s]?(\d{6})[-–\s]?(\d)\b").expect("valid regex"));

pub fn extract_identifiers(text: &str) -> Identifiers {
    let mut found = Identifiers::default();
    for c in APPLICATION.captures_iter(text) {
        let canonical = format!("MIG-{}-{}-{}", &c[1], &c[2], &c[3]);
        match ApplicationId::parse(&canonical) {
            Ok(id) => {
                found.applications.insert(id);
            }
            Err(_) => {
                found.malformed.insert(canonical);
            }
        }
    }
    for c in CUSTOMER.captures_iter(text) {
        if let Ok(id) = CustomerNumber::parse(&format!("{}-{}", &c[1], &c[2])) {
            found.customers.insert(id);
        }
    }
    for c in REQUEST.captures_iter(text) {
        if let Ok(id) = RequestId::parse(&format!("RFI-{}-{}", &c[1], &c[2])) {
            found.requests.insert(id);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(serial: u32) -> ApplicationId {
        ApplicationId::from_parts(2026, serial).expect("valid")
    }

    #[test]
    fn finds_an_application_id_in_running_text() {
        let id = app(4217);
        let found = extract_identifiers(&format!("Hakemus {id}: lisäselvitys"));
        assert_eq!(found.applications, BTreeSet::from([id]));
        assert!(found.malformed.is_empty());
    }

    #[test]
    fn retyped_separators_and_case_are_accepted() {
        let id = app(77);
        let loose = id.as_str().replace('-', " ").to_lowercase();
        assert_eq!(
            extract_identifiers(&format!("numero {loose}.")).applications,
            BTreeSet::from([id])
        );
    }

    #[test]
    fn a_wrong_check_digit_is_not_an_id() {
        let id = app(4217);
        let wrong_digit = (id.as_str().as_bytes()[16] - b'0' + 1) % 10;
        let mistyped = format!("{}{}", &id.as_str()[..16], wrong_digit);
        let found = extract_identifiers(&mistyped);
        assert!(found.applications.is_empty());
        assert_eq!(found.malformed, BTreeSet::from([mistyped]));
    }

    #[test]
    fn ids_glued_to_other_digits_do_not_count() {
        let id = app(5);
        assert!(
            extract_identifiers(&format!("X{id}9"))
                .applications
                .is_empty()
        );
    }

    #[test]
    fn several_ids_are_all_found_once() {
        let (a, b) = (app(1), app(2));
        let found = extract_identifiers(&format!("{a} ja {b}, taas {a}"));
        assert_eq!(found.applications, BTreeSet::from([a, b]));
    }

    #[test]
    fn customer_numbers_and_request_ids() {
        let customer = CustomerNumber::from_serial(12_345_678).expect("valid");
        let request = RequestId::from_serial(77).expect("valid");
        let found = extract_identifiers(&format!(
            "asiakasnumero {customer}, vastaus pyyntöön {request}"
        ));
        assert_eq!(found.customers, BTreeSet::from([customer]));
        assert_eq!(found.requests, BTreeSet::from([request]));
        assert!(found.applications.is_empty());
    }

    #[test]
    fn the_digits_inside_an_application_id_are_not_a_customer_number() {
        let id = app(123_456);
        assert!(extract_identifiers(id.as_str()).customers.is_empty());
    }

    #[test]
    fn merging_unions() {
        let mut a = extract_identifiers(app(1).as_str());
        a.merge(extract_identifiers(app(2).as_str()));
        assert_eq!(a.applications.len(), 2);
    }
}
