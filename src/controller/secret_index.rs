//! Which checklists read which Secret, so a Secret's change triggers only its readers: a lookup,
//! not a scan of every checklist for every Secret event (Helm alone writes a Secret per release).
//!
//! Kept by the reconciles (each records what its checklist names, level-triggered: the last
//! spec reconciled wins) and pruned with the other per-checklist memories when a checklist goes.
//! Every checklist is reconciled at start, so the index is whole before it matters.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Mutex, PoisonError},
};

use super::observe::Key;

/// The index: (namespace, Secret) → checklist names, and the reverse to replace an entry.
#[derive(Debug, Default)]
pub(crate) struct SecretIndex(Mutex<Entries>);

#[derive(Debug, Default)]
struct Entries {
    readers: HashMap<Key, BTreeSet<String>>,
    reads: HashMap<Key, BTreeSet<String>>,
}

impl Entries {
    fn unlink(&mut self, checklist: &Key) {
        let (namespace, name) = checklist;
        for secret in self.reads.remove(checklist).unwrap_or_default() {
            let key = (namespace.clone(), secret);
            if let Some(readers) = self.readers.get_mut(&key) {
                readers.remove(name);
                if readers.is_empty() {
                    self.readers.remove(&key);
                }
            }
        }
    }
}

impl SecretIndex {
    /// Records that `checklist` reads `secrets` (in its own namespace), replacing what it read.
    pub(crate) fn record(&self, checklist: &Key, secrets: BTreeSet<String>) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.reads.get(checklist) == Some(&secrets) {
            return;
        }
        entries.unlink(checklist);
        let (namespace, name) = checklist;
        for secret in &secrets {
            entries
                .readers
                .entry((namespace.clone(), secret.clone()))
                .or_default()
                .insert(name.clone());
        }
        if !secrets.is_empty() {
            entries.reads.insert(checklist.clone(), secrets);
        }
    }

    /// The names of the checklists in `namespace` that read Secret `secret`.
    pub(crate) fn readers(&self, namespace: &str, secret: &str) -> Vec<String> {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .readers
            .get(&(namespace.to_string(), secret.to_string()))
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets every checklist `keep` says no longer exists.
    pub(crate) fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let gone: Vec<Key> = entries.reads.keys().filter(|k| !keep(k)).cloned().collect();
        for checklist in &gone {
            entries.unlink(checklist);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(namespace: &str, name: &str) -> Key {
        (namespace.into(), name.into())
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn readers_are_found_by_namespace_and_secret() {
        let index = SecretIndex::default();
        index.record(&key("a", "web"), names(&["web-env", "probe-token"]));
        index.record(&key("a", "api"), names(&["web-env"]));
        index.record(&key("b", "web"), names(&["web-env"]));
        assert_eq!(index.readers("a", "web-env"), ["api", "web"]);
        assert_eq!(index.readers("a", "probe-token"), ["web"]);
        assert_eq!(index.readers("b", "web-env"), ["web"]);
        assert!(index.readers("b", "probe-token").is_empty());
        assert!(index.readers("c", "web-env").is_empty());
    }

    #[test]
    fn a_new_spec_replaces_what_a_checklist_read() {
        let index = SecretIndex::default();
        index.record(&key("a", "web"), names(&["old"]));
        index.record(&key("a", "web"), names(&["new"]));
        assert!(index.readers("a", "old").is_empty());
        assert_eq!(index.readers("a", "new"), ["web"]);
        index.record(&key("a", "web"), BTreeSet::new());
        assert!(index.readers("a", "new").is_empty());
    }

    #[test]
    fn deleted_checklists_are_forgotten() {
        let index = SecretIndex::default();
        index.record(&key("a", "web"), names(&["web-env"]));
        index.record(&key("a", "api"), names(&["web-env"]));
        index.retain(|k| k.1 != "web");
        assert_eq!(index.readers("a", "web-env"), ["api"]);
        index.retain(|_| false);
        assert!(index.readers("a", "web-env").is_empty());
        assert!(index.0.lock().unwrap().reads.is_empty());
    }
}
