//! The stored specs of revisions (their ControllerRevisions), remembered once read: a rollout in
//! progress needs the stable revision's on every reconcile (a failure restores it), and what a
//! record holds never changes once written, since its name carries the revision's hash. So it is
//! read from the API server once, not once per reconcile, which is what puts a verdict's
//! rollback at the floor. Bounded: the least recently used record is forgotten first.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use k8s_openapi::api::apps::v1::ControllerRevision;

use super::read::Key;

/// How many records are remembered: the rollouts in progress at once, with room to spare.
pub const STORED_SPECS_CAPACITY: usize = 256;

/// One remembered record.
struct Entry {
    /// The checklist whose revision it stores, so it goes with the checklist.
    owner: Key,
    record: Arc<ControllerRevision>,
    /// When it was last used, in uses of the whole memo.
    used: u64,
}

/// Revision records by namespace and name, as last read.
pub struct StoredSpecs {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    clock: u64,
}

impl StoredSpecs {
    /// A memo of at most `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The record `name` of `namespace`, if remembered.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<ControllerRevision>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner
            .entries
            .get_mut(&(namespace.to_owned(), name.to_owned()))?;
        entry.used = now;
        Some(entry.record.clone())
    }

    /// Remembers `record`, read for the checklist `owner`; its managedFields are dropped, which
    /// nothing here reads.
    pub fn remember(&self, owner: &Key, record: &ControllerRevision) -> Arc<ControllerRevision> {
        let mut kept = record.clone();
        kept.metadata.managed_fields = None;
        let kept = Arc::new(kept);
        let Some(name) = kept.metadata.name.clone() else {
            return kept;
        };
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let key = (owner.0.clone(), name);
        if !inner.entries.contains_key(&key) && inner.entries.len() >= self.capacity {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(
            key,
            Entry {
                owner: owner.clone(),
                record: kept.clone(),
                used: now,
            },
        );
        kept
    }

    /// Forgets the record `name` of `namespace`: this process wrote or deleted it.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.lock()
            .entries
            .remove(&(namespace.to_owned(), name.to_owned()));
    }

    /// Forgets the records of checklists for which `keep` is false (deleted ones).
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        self.lock().entries.retain(|_, entry| keep(&entry.owner));
    }

    /// How many records are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> ControllerRevision {
        ControllerRevision {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                managed_fields: Some(Vec::new()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn owner(name: &str) -> Key {
        ("prod".into(), name.into())
    }

    #[test]
    fn a_remembered_record_is_answered_without_its_managed_fields() {
        let memo = StoredSpecs::new(4);
        assert!(memo.get("prod", "web-aaaaaaaaaa").is_none());
        memo.remember(&owner("web"), &record("web-aaaaaaaaaa"));
        let got = memo.get("prod", "web-aaaaaaaaaa").unwrap();
        assert_eq!(got.metadata.managed_fields, None);
        assert!(
            memo.get("other", "web-aaaaaaaaaa").is_none(),
            "per namespace"
        );
        memo.forget("prod", "web-aaaaaaaaaa");
        assert!(memo.get("prod", "web-aaaaaaaaaa").is_none());
    }

    #[test]
    fn the_least_recently_used_goes_first_and_a_deleted_checklist_takes_its_own() {
        let memo = StoredSpecs::new(2);
        memo.remember(&owner("a"), &record("a-1"));
        memo.remember(&owner("b"), &record("b-1"));
        memo.get("prod", "a-1");
        memo.remember(&owner("c"), &record("c-1"));
        assert_eq!(memo.len(), 2);
        assert!(
            memo.get("prod", "b-1").is_none(),
            "b-1 was used least lately"
        );
        assert!(memo.get("prod", "a-1").is_some());
        memo.retain(|key| key.1 != "a");
        assert!(memo.get("prod", "a-1").is_none());
        assert!(memo.get("prod", "c-1").is_some());
    }
}
