//! Who is signed in to the inbox, as the identity provider's token says:
//! the roles (app roles) and units the rules in the database act on.
//!
//! What each role may do is decided in one place, the `inbox` schema in
//! PostgreSQL; this module only turns verified claims into a principal the
//! database can be told about, refusing what it could misread.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The app roles the inbox knows. Others in a token (roles of other
/// applications) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the queues of their units; reads confidential supplements
    /// only of applications assigned to them.
    Caseworker,
    /// Stands in for a caseworker of the unit: the queue, never a
    /// confidential supplement.
    Delegate,
    /// Matches supplements no application could be found for.
    TriageOfficer,
    /// Sees quarantined files' metadata and decides on releases.
    SecurityOfficer,
    /// Watches lag, throughput and failures; no content.
    Operations,
    /// Reads the audit log.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Caseworker,
        Role::Delegate,
        Role::TriageOfficer,
        Role::SecurityOfficer,
        Role::Operations,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Delegate => "delegate",
            Role::TriageOfficer => "triage_officer",
            Role::SecurityOfficer => "security_officer",
            Role::Operations => "operations",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the token names no subject")]
    NoSubject,
    #[error("the subject is longer than {MAX_NAME} characters or holds control characters")]
    BadSubject,
    #[error("the token grants none of the inbox's roles")]
    NoRole,
    #[error("unit name {0:?} is empty, too long, or holds a comma or control character")]
    BadUnit(String),
    #[error("the token names more than {MAX_UNITS} units")]
    TooManyUnits,
}

const MAX_NAME: usize = 255;
const MAX_UNITS: usize = 100;

/// A signed-in person: a stable subject id and what the token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    sub: String,
    name: Option<String>,
    roles: BTreeSet<Role>,
    units: BTreeSet<String>,
}

impl Principal {
    /// From a verified token's claims. Unknown roles are ignored; a unit
    /// name the database would split (a comma) is refused, not trimmed.
    pub fn from_claims(
        sub: &str,
        name: Option<&str>,
        roles: &[String],
        units: &[String],
    ) -> Result<Self, ClaimsError> {
        if sub.is_empty() {
            return Err(ClaimsError::NoSubject);
        }
        if !plain(sub) {
            return Err(ClaimsError::BadSubject);
        }
        let roles: BTreeSet<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
        if roles.is_empty() {
            return Err(ClaimsError::NoRole);
        }
        if units.len() > MAX_UNITS {
            return Err(ClaimsError::TooManyUnits);
        }
        let units = units
            .iter()
            .map(|u| {
                if u.is_empty() || u.contains(',') || !plain(u) {
                    Err(ClaimsError::BadUnit(u.chars().take(40).collect()))
                } else {
                    Ok(u.clone())
                }
            })
            .collect::<Result<_, _>>()?;
        let name = name
            .filter(|n| plain(n) && !n.is_empty())
            .map(str::to_owned);
        Ok(Principal {
            sub: sub.to_owned(),
            name,
            roles,
            units,
        })
    }

    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The name to greet with; the subject when the token has none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.sub)
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().copied()
    }

    pub fn units(&self) -> impl Iterator<Item = &str> {
        self.units.iter().map(String::as_str)
    }

    /// Works a unit's queue: a caseworker or delegate of at least one unit.
    pub fn works_queues(&self) -> bool {
        (self.has(Role::Caseworker) || self.has(Role::Delegate)) && !self.units.is_empty()
    }

    /// The roles and units as the database is told them.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.as_str().to_owned()).collect()
    }

    pub fn unit_names(&self) -> Vec<String> {
        self.units.iter().cloned().collect()
    }
}

fn plain(s: &str) -> bool {
    s.chars().count() <= MAX_NAME && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn known_roles_are_kept_and_others_ignored() {
        let p = Principal::from_claims(
            "aino",
            Some("Aino Virtanen"),
            &strings(&["caseworker", "Directory.Read", "auditor"]),
            &strings(&["family-ties-turku"]),
        )
        .expect("valid");
        assert_eq!(
            p.roles().collect::<Vec<_>>(),
            [Role::Caseworker, Role::Auditor]
        );
        assert!(p.works_queues());
        assert_eq!(p.display_name(), "Aino Virtanen");
    }

    #[test]
    fn a_token_without_an_inbox_role_is_refused() {
        assert_eq!(
            Principal::from_claims("x", None, &strings(&["Admin"]), &[]),
            Err(ClaimsError::NoRole)
        );
        assert_eq!(
            Principal::from_claims("", None, &strings(&["caseworker"]), &[]),
            Err(ClaimsError::NoSubject)
        );
    }

    #[test]
    fn a_unit_the_database_would_split_is_refused() {
        for unit in ["a,b", "", "line\nbreak", &"u".repeat(256)] {
            assert!(
                matches!(
                    Principal::from_claims("x", None, &strings(&["caseworker"]), &strings(&[unit])),
                    Err(ClaimsError::BadUnit(_))
                ),
                "{unit:?}"
            );
        }
    }

    #[test]
    fn a_subject_with_control_characters_is_refused() {
        assert_eq!(
            Principal::from_claims("a\u{0}b", None, &strings(&["auditor"]), &[]),
            Err(ClaimsError::BadSubject)
        );
    }

    #[test]
    fn a_caseworker_without_units_works_no_queue() {
        let p = Principal::from_claims("x", None, &strings(&["caseworker"]), &[]).expect("valid");
        assert!(!p.works_queues());
        let p = Principal::from_claims("x", None, &strings(&["auditor"]), &strings(&["u"]))
            .expect("valid");
        assert!(!p.works_queues());
    }

    #[test]
    fn every_role_round_trips_its_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
