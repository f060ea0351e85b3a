//! The registry as matching reads it: in memory, fed by the follower after
//! each change is stored, so finding the candidates of a supplement costs
//! no database round trip.
//!
//! It answers as the `applications` table would: the same version rule (a
//! record not newer than the one held is ignored), the same keys (contact
//! addresses in lower case, request ids and customer numbers as stored),
//! and an application removed by a tombstone only once the table no longer
//! holds it (one with supplements stays).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use intake_core::decide::{Candidate, Identifiers};
use intake_core::events::{ApplicationRecord, Language};
use intake_core::ids::ApplicationId;

use crate::store::Registered;

/// Shared by the follower, which writes, and the analyse stage, which
/// reads. Cloning shares the same view.
#[derive(Debug, Clone, Default)]
pub struct RegistryView {
    index: Arc<RwLock<Index>>,
}

#[derive(Debug, Default)]
struct Index {
    by_id: HashMap<ApplicationId, Entry>,
    by_customer: HashMap<String, BTreeSet<ApplicationId>>,
    by_request: HashMap<String, BTreeSet<ApplicationId>>,
}

#[derive(Debug)]
struct Entry {
    version: i64,
    registered: Registered,
}

impl RegistryView {
    /// Takes `registered` at `version` unless the view holds the same
    /// application at that version or a later one. True when taken.
    pub fn upsert(&self, version: i64, registered: Registered) -> bool {
        let mut index = self.write();
        let id = registered.candidate.application_id.clone();
        if index.by_id.get(&id).is_some_and(|e| e.version >= version) {
            return false;
        }
        index.unlink(&id);
        index.link(&registered);
        index.by_id.insert(
            id,
            Entry {
                version,
                registered,
            },
        );
        true
    }

    pub fn upsert_record(&self, record: &ApplicationRecord) -> bool {
        self.upsert(
            i64::try_from(record.version).unwrap_or(i64::MAX),
            registered(record),
        )
    }

    pub fn remove(&self, id: &ApplicationId) {
        let mut index = self.write();
        index.unlink(id);
        index.by_id.remove(id);
    }

    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The applications named (explicitly or found in the content), and
    /// those the found customer numbers and request ids point at, ordered
    /// by application id.
    pub fn candidates(
        &self,
        explicit: Option<&ApplicationId>,
        found: &Identifiers,
    ) -> Vec<Registered> {
        let index = self.read();
        let mut ids: BTreeSet<&ApplicationId> = found.applications.iter().collect();
        ids.extend(explicit);
        for customer in &found.customers {
            ids.extend(
                index
                    .by_customer
                    .get(customer.as_str())
                    .into_iter()
                    .flatten(),
            );
        }
        for request in &found.requests {
            ids.extend(
                index
                    .by_request
                    .get(&request.to_string())
                    .into_iter()
                    .flatten(),
            );
        }
        let mut found: Vec<Registered> = ids
            .into_iter()
            .filter_map(|id| index.by_id.get(id))
            .map(|e| e.registered.clone())
            .collect();
        found.sort_by(|a, b| {
            a.candidate
                .application_id
                .as_str()
                .cmp(b.candidate.application_id.as_str())
        });
        found
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        // A panic elsewhere while holding the lock leaves the maps whole:
        // every change completes before anything can panic.
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Index {
    fn link(&mut self, registered: &Registered) {
        let candidate = &registered.candidate;
        let id = &candidate.application_id;
        self.by_customer
            .entry(candidate.customer_number.as_str().to_owned())
            .or_default()
            .insert(id.clone());
        for request in &candidate.open_requests {
            self.by_request
                .entry(request.to_string())
                .or_default()
                .insert(id.clone());
        }
    }

    fn unlink(&mut self, id: &ApplicationId) {
        let Some(old) = self.by_id.get(id) else {
            return;
        };
        let candidate = &old.registered.candidate;
        detach(
            &mut self.by_customer,
            candidate.customer_number.as_str(),
            id,
        );
        for request in &candidate.open_requests {
            detach(&mut self.by_request, &request.to_string(), id);
        }
    }
}

fn detach(map: &mut HashMap<String, BTreeSet<ApplicationId>>, key: &str, id: &ApplicationId) {
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

/// A registry record as matching and routing see it, with the same
/// normalisation as the stored row.
pub fn registered(record: &ApplicationRecord) -> Registered {
    Registered {
        candidate: Candidate {
            application_id: record.application_id.clone(),
            customer_number: record.customer_number.clone(),
            contact_addresses: record
                .contact_addresses
                .iter()
                .map(|a| a.to_lowercase())
                .collect(),
            open_requests: record.open_requests.clone(),
        },
        unit: record.unit.clone(),
        confidential: record.confidential,
        language: record.language,
    }
}

/// A stored language code; anything unknown reads as Finnish, as it
/// always has.
pub fn language(code: &str) -> Language {
    match code {
        "sv" => Language::Sv,
        "en" => Language::En,
        _ => Language::Fi,
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
