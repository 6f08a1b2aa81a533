//! Which checklists read which object (a Secret, a ConfigMap, a check template), so the object's change
//! triggers only its readers: a lookup, not a scan of every checklist for every event (Helm alone
//! writes a Secret per release).
//!
//! Kept by the reconciles (each records what its checklist names, level-triggered: the last
//! spec reconciled wins) and pruned with the other per-checklist memories when a checklist goes.
//! Every checklist is reconciled at start, so the index is whole before it matters.

use std::{
    collections::{BTreeSet, HashMap},
    hash::Hash,
    sync::{Mutex, PoisonError},
};

use super::observe::Key;
use crate::api::TemplateKind;

/// A Secret: (namespace, name).
pub(crate) type SecretObject = Key;

/// A ConfigMap: (namespace, name).
pub(crate) type ConfigMapObject = Key;

/// A check template: its kind, its namespace ("" for a ClusterChecklistTemplate) and name.
pub(crate) type TemplateObject = (TemplateKind, String, String);

/// The index: object → the checklists reading it, and the reverse to replace an entry.
#[derive(Debug)]
pub(crate) struct ReaderIndex<O>(Mutex<Entries<O>>);

impl<O> Default for ReaderIndex<O> {
    fn default() -> Self {
        Self(Mutex::new(Entries {
            readers: HashMap::new(),
            reads: HashMap::new(),
        }))
    }
}

#[derive(Debug)]
struct Entries<O> {
    readers: HashMap<O, BTreeSet<Key>>,
    reads: HashMap<Key, BTreeSet<O>>,
}

impl<O: Ord + Hash + Clone> Entries<O> {
    fn unlink(&mut self, checklist: &Key) {
        for object in self.reads.remove(checklist).unwrap_or_default() {
            if let Some(readers) = self.readers.get_mut(&object) {
                readers.remove(checklist);
                if readers.is_empty() {
                    self.readers.remove(&object);
                }
            }
        }
    }
}

impl<O: Ord + Hash + Clone> ReaderIndex<O> {
    /// Records that `checklist` reads `objects`, replacing what it read.
    pub(crate) fn record(&self, checklist: &Key, objects: BTreeSet<O>) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.reads.get(checklist) == Some(&objects) {
            return;
        }
        entries.unlink(checklist);
        for object in &objects {
            entries
                .readers
                .entry(object.clone())
                .or_default()
                .insert(checklist.clone());
        }
        if !objects.is_empty() {
            entries.reads.insert(checklist.clone(), objects);
        }
    }

    /// The checklists that read `object`.
    pub(crate) fn readers(&self, object: &O) -> Vec<Key> {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .readers
            .get(object)
            .map(|keys| keys.iter().cloned().collect())
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

    fn secrets(namespace: &str, list: &[&str]) -> BTreeSet<SecretObject> {
        list.iter().map(|s| key(namespace, s)).collect()
    }

    #[test]
    fn readers_are_found_by_namespace_and_secret() {
        let index = ReaderIndex::default();
        index.record(&key("a", "web"), secrets("a", &["web-env", "probe-token"]));
        index.record(&key("a", "api"), secrets("a", &["web-env"]));
        index.record(&key("b", "web"), secrets("b", &["web-env"]));
        assert_eq!(
            index.readers(&key("a", "web-env")),
            [key("a", "api"), key("a", "web")]
        );
        assert_eq!(index.readers(&key("a", "probe-token")), [key("a", "web")]);
        assert_eq!(index.readers(&key("b", "web-env")), [key("b", "web")]);
        assert!(index.readers(&key("b", "probe-token")).is_empty());
        assert!(index.readers(&key("c", "web-env")).is_empty());
    }

    #[test]
    fn a_cluster_template_is_read_across_namespaces() {
        let index = ReaderIndex::<TemplateObject>::default();
        let baseline = (
            TemplateKind::ClusterChecklistTemplate,
            String::new(),
            "baseline".to_string(),
        );
        let own = (
            TemplateKind::ChecklistTemplate,
            "a".to_string(),
            "baseline".to_string(),
        );
        index.record(&key("a", "web"), [baseline.clone(), own.clone()].into());
        index.record(&key("b", "api"), [baseline.clone()].into());
        assert_eq!(index.readers(&baseline), [key("a", "web"), key("b", "api")]);
        assert_eq!(index.readers(&own), [key("a", "web")]);
    }

    #[test]
    fn a_new_spec_replaces_what_a_checklist_read() {
        let index = ReaderIndex::default();
        index.record(&key("a", "web"), secrets("a", &["old"]));
        index.record(&key("a", "web"), secrets("a", &["new"]));
        assert!(index.readers(&key("a", "old")).is_empty());
        assert_eq!(index.readers(&key("a", "new")), [key("a", "web")]);
        index.record(&key("a", "web"), BTreeSet::new());
        assert!(index.readers(&key("a", "new")).is_empty());
    }

    #[test]
    fn deleted_checklists_are_forgotten() {
        let index = ReaderIndex::default();
        index.record(&key("a", "web"), secrets("a", &["web-env"]));
        index.record(&key("a", "api"), secrets("a", &["web-env"]));
        index.retain(|k| k.1 != "web");
        assert_eq!(index.readers(&key("a", "web-env")), [key("a", "api")]);
        index.retain(|_| false);
        assert!(index.readers(&key("a", "web-env")).is_empty());
        assert!(index.0.lock().unwrap().reads.is_empty());
    }
}
