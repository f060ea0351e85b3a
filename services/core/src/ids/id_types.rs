//! The three hand-typed identifiers: application ids, customer numbers and
//! request-for-supplement ids. Each is a validated newtype, so a value that
//! exists in the program has the right format and check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::damm;

/// Why a string is not a valid identifier, in words a caller can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} {found:?} does not have the format {expected}")]
    Format {
        kind: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("{kind} {found:?} has a wrong check digit (mistyped?)")]
    CheckDigit { kind: &'static str, found: String },
}

/// The shape of one identifier: a literal prefix, then groups of digits
/// separated by `-`, the last group being the single check digit.
struct Shape {
    kind: &'static str,
    expected: &'static str,
    prefix: &'static str,
    groups: &'static [usize],
}

impl Shape {
    fn check(&self, input: &str) -> Result<(), IdError> {
        let format_error = || IdError::Format {
            kind: self.kind,
            expected: self.expected,
            found: input.to_owned(),
        };
        let rest = input.strip_prefix(self.prefix).ok_or_else(format_error)?;
        let parts: Vec<&str> = rest.split('-').collect();
        let shaped = parts.len() == self.groups.len()
            && parts
                .iter()
                .zip(self.groups)
                .all(|(part, len)| part.len() == *len && part.bytes().all(|b| b.is_ascii_digit()));
        if !shaped {
            return Err(format_error());
        }
        let digits = parts.iter().flat_map(|p| p.bytes()).map(|b| b - b'0');
        if damm::is_valid(digits) {
            Ok(())
        } else {
            Err(IdError::CheckDigit {
                kind: self.kind,
                found: input.to_owned(),
            })
        }
    }
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $shape:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            const SHAPE: Shape = $shape;

            /// Parses and validates, check digit included.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                Self::SHAPE.check(input)?;
                Ok(Self(input.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::SHAPE.check(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// A residence-permit application, e.g. `MIG-2026-004217-5`: year,
    /// six-digit serial, Damm check digit over the ten digits.
    ApplicationId,
    Shape {
        kind: "application id",
        expected: "MIG-YYYY-NNNNNN-C",
        prefix: "MIG-",
        groups: &[4, 6, 1],
    }
);

identifier!(
    /// An Enter Finland customer, e.g. `12345678-6`: eight digits and a Damm
    /// check digit.
    CustomerNumber,
    Shape {
        kind: "customer number",
        expected: "NNNNNNNN-C",
        prefix: "",
        groups: &[8, 1],
    }
);

identifier!(
    /// A caseworker's request for supplement, e.g. `RFI-000077-1`.
    RequestId,
    Shape {
        kind: "request id",
        expected: "RFI-NNNNNN-C",
        prefix: "RFI-",
        groups: &[6, 1],
    }
);

impl ApplicationId {
    /// Builds the id for a year and serial, computing its check digit.
    pub fn from_parts(year: u16, serial: u32) -> Option<Self> {
        if year > 9999 || serial > 999_999 {
            return None;
        }
        let body = format!("{year:04}{serial:06}");
        let check = damm::check_digit(body.bytes().map(|b| b - b'0'));
        Some(Self(format!("MIG-{year:04}-{serial:06}-{check}")))
    }
}

impl CustomerNumber {
    pub fn from_serial(serial: u32) -> Option<Self> {
        if serial > 99_999_999 {
            return None;
        }
        let body = format!("{serial:08}");
        let check = damm::check_digit(body.bytes().map(|b| b - b'0'));
        Some(Self(format!("{body}-{check}")))
    }
}

impl RequestId {
    pub fn from_serial(serial: u32) -> Option<Self> {
        if serial > 999_999 {
            return None;
        }
        let body = format!("{serial:06}");
        let check = damm::check_digit(body.bytes().map(|b| b - b'0'));
        Some(Self(format!("RFI-{body}-{check}")))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn documented_examples_are_valid() {
        // The examples in schemas/README.md and in the doc comments above.
        assert!(ApplicationId::parse("MIG-2026-004217-5").is_ok());
        assert!(CustomerNumber::parse("12345678-6").is_ok());
        assert!(RequestId::parse("RFI-000077-1").is_ok());
    }

    #[test]
    fn built_ids_parse_back() {
        let id = ApplicationId::from_parts(2026, 4217).expect("in range");
        assert_eq!(ApplicationId::parse(id.as_str()), Ok(id.clone()));
        assert!(id.as_str().starts_with("MIG-2026-004217-"));
    }

    #[test]
    fn wrong_shapes_name_the_expected_format() {
        for bad in [
            "",
            "MIG-2026-004217",
            "MIG-26-004217-3",
            "mig-2026-004217-3",
            "MIG-2026-0042170-3",
            "MIG-2026-00421a-3",
            "MIG-2026-004217-33",
            " MIG-2026-004217-3",
        ] {
            let err = ApplicationId::parse(bad).expect_err(bad);
            assert!(
                matches!(
                    err,
                    IdError::Format {
                        expected: "MIG-YYYY-NNNNNN-C",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_mistyped_digit_is_a_check_digit_error() {
        let id = ApplicationId::from_parts(2026, 4217).expect("in range");
        let mut typo = id.as_str().to_owned();
        // Change the first serial digit: still well formed, wrong check digit.
        typo.replace_range(9..10, "9");
        assert!(matches!(
            ApplicationId::parse(&typo),
            Err(IdError::CheckDigit { .. })
        ));
    }

    #[test]
    fn serde_rejects_invalid_ids() {
        let good = CustomerNumber::from_serial(12_345_678).expect("in range");
        let check = good.as_str().as_bytes()[9] - b'0';
        let wrong = format!("\"12345678-{}\"", (check + 1) % 10);
        assert!(serde_json::from_str::<CustomerNumber>(&wrong).is_err());
        assert!(serde_json::from_str::<RequestId>("\"RFI-12-3\"").is_err());
        let ok = RequestId::from_serial(123).expect("in range");
        let json = serde_json::to_string(&ok).expect("serialises");
        assert_eq!(
            serde_json::from_str::<RequestId>(&json).expect("round trip"),
            ok
        );
    }

    #[test]
    fn out_of_range_parts_are_refused() {
        assert!(ApplicationId::from_parts(10_000, 1).is_none());
        assert!(ApplicationId::from_parts(2026, 1_000_000).is_none());
        assert!(CustomerNumber::from_serial(100_000_000).is_none());
        assert!(RequestId::from_serial(1_000_000).is_none());
    }

    proptest! {
        #[test]
        fn every_generated_id_is_valid(year in 0u16..10_000, serial in 0u32..1_000_000) {
            let id = ApplicationId::from_parts(year, serial).expect("in range");
            prop_assert_eq!(ApplicationId::parse(id.as_str()), Ok(id.clone()));
            let customer = CustomerNumber::from_serial(serial * 97).expect("in range");
            prop_assert!(CustomerNumber::parse(customer.as_str()).is_ok());
        }
    }
}
