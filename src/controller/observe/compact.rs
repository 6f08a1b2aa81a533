//! A watch cache that keeps each object as its JSON, not as a parsed tree.
//!
//! k8s-openapi's types hold every optional field inline and every string on the heap: a trimmed
//! Deployment of ours takes several times the memory of its JSON once parsed. A reconcile reads
//! one object, so parsing it on read costs microseconds, while the store holds every owned
//! object of the cluster for as long as the operator runs. At 10,000 checklists that difference
//! is the operator's largest memory cost.

use std::{
    collections::HashMap,
    marker::PhantomData,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use kube::{ResourceExt, runtime::watcher};
use serde::{Serialize, de::DeserializeOwned};

use super::read::Key;

/// One object as the last watch event gave it.
#[derive(Debug)]
pub struct Entry {
    /// Its resourceVersion, compared without parsing the object.
    pub version: Box<str>,
    /// Its JSON; empty when it could not be written (then it never parses, and is read live).
    json: Box<[u8]>,
}

impl Entry {
    /// The object, or None when it cannot be parsed back (then the caller reads it live).
    pub fn parse<K: DeserializeOwned>(&self) -> Option<K> {
        serde_json::from_slice(&self.json).ok()
    }
}

#[derive(Debug, Default)]
struct State {
    objects: HashMap<Key, Arc<Entry>>,
    /// A relist in progress: swapped in whole when it ends, so objects deleted while the watch
    /// was down do not linger.
    relist: Option<HashMap<Key, Arc<Entry>>>,
    /// Whether the first list has ended: before, an object missing may only be unlisted yet.
    ready: bool,
}

/// The objects of one kind, kept up to date by a watch ([`CompactStore::apply`]).
#[derive(Debug)]
pub struct CompactStore<K> {
    state: RwLock<State>,
    /// Versions a reader waits for the watch to deliver (this process's own writes), until it
    /// has: a watch delivers every version of an object in order, so once it has passed, any
    /// later version the store holds includes it.
    awaited: Mutex<HashMap<Key, Box<str>>>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Default for CompactStore<K> {
    fn default() -> Self {
        Self {
            state: RwLock::default(),
            awaited: Mutex::default(),
            kind: PhantomData,
        }
    }
}

impl<K> CompactStore<K> {
    /// Waits for the watch to deliver `version` of the object `key` (see [`Self::passed`]).
    pub fn await_version(&self, key: Key, version: &str) {
        let mut awaited = self.awaited.lock().unwrap_or_else(PoisonError::into_inner);
        awaited.insert(key, version.into());
    }

    /// Whether the watch has delivered `version` of `key` since [`Self::await_version`] asked
    /// for it (or nobody waits for it).
    pub fn passed(&self, key: &Key, version: &str) -> bool {
        let awaited = self.awaited.lock().unwrap_or_else(PoisonError::into_inner);
        awaited.get(key).is_none_or(|waited| &**waited != version)
    }

    /// Stops waiting for any version of `key`.
    pub fn stop_awaiting(&self, key: &Key) {
        let mut awaited = self.awaited.lock().unwrap_or_else(PoisonError::into_inner);
        awaited.remove(key);
    }

    /// The object `key` at `version` arrived: whoever waited for that version has it.
    fn arrived(&self, key: &Key, version: Option<&str>) {
        let mut awaited = self.awaited.lock().unwrap_or_else(PoisonError::into_inner);
        if !awaited.is_empty() && awaited.get(key).map(|v| &**v) == version {
            awaited.remove(key);
        }
    }
}

impl<K: ResourceExt + Serialize> CompactStore<K> {
    /// Applies one watch event, as kube's reflector does for its own store.
    pub fn apply(&self, event: &watcher::Event<K>) {
        if let watcher::Event::Apply(object) | watcher::Event::InitApply(object) = event {
            let version = kube::Resource::meta(object).resource_version.as_deref();
            self.arrived(&key(object), version);
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match event {
            watcher::Event::Apply(object) => {
                state.objects.insert(key(object), entry(object));
            }
            watcher::Event::Delete(object) => {
                state.objects.remove(&key(object));
            }
            watcher::Event::Init => state.relist = Some(HashMap::new()),
            watcher::Event::InitApply(object) => {
                let State {
                    objects, relist, ..
                } = &mut *state;
                relist
                    .as_mut()
                    .unwrap_or(objects)
                    .insert(key(object), entry(object));
            }
            watcher::Event::InitDone => {
                if let Some(listed) = state.relist.take() {
                    state.objects = listed;
                }
                state.ready = true;
            }
        }
    }

    /// Whether the first list has ended, so an object missing from the store does not exist.
    pub fn is_ready(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .ready
    }

    /// The object of `key` (namespace, name), as its last event gave it.
    pub fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.objects.get(key).cloned()
    }

    /// How many objects it holds.
    #[cfg(test)]
    fn count(&self) -> usize {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.objects.len()
    }
}

fn key<K: ResourceExt>(object: &K) -> Key {
    (object.namespace().unwrap_or_default(), object.name_any())
}

fn entry<K: ResourceExt + Serialize>(object: &K) -> Arc<Entry> {
    Arc::new(Entry {
        version: object.resource_version().unwrap_or_default().into(),
        // A k8s object always serializes; were one not to, the empty JSON never parses and the
        // object is read from the API server instead.
        json: serde_json::to_vec(object).unwrap_or_default().into(),
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::Deployment;
    use kube::runtime::watcher::Event;

    use super::*;

    fn deployment(name: &str, version: &str) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.name = Some(name.into());
        d.metadata.namespace = Some("a".into());
        d.metadata.resource_version = Some(version.into());
        d.spec.replicas = Some(3);
        d
    }

    fn entry_of(store: &CompactStore<Deployment>, name: &str) -> Option<Arc<Entry>> {
        store.get(&("a".to_owned(), name.to_owned()))
    }

    fn parsed(store: &CompactStore<Deployment>, name: &str) -> Option<Deployment> {
        entry_of(store, name).and_then(|entry| entry.parse())
    }

    fn version(store: &CompactStore<Deployment>, name: &str) -> Option<String> {
        entry_of(store, name).map(|entry| entry.version.to_string())
    }

    #[test]
    fn an_object_comes_back_as_it_went_in() {
        let store = CompactStore::default();
        let web = deployment("web", "5");
        store.apply(&Event::Apply(web.clone()));
        assert_eq!(parsed(&store, "web"), Some(web));
        assert_eq!(version(&store, "web").as_deref(), Some("5"));
        store.apply(&Event::Delete(deployment("web", "6")));
        assert!(entry_of(&store, "web").is_none());
    }

    #[test]
    fn it_is_ready_after_the_first_list_and_a_relist_drops_what_was_deleted_meanwhile() {
        let store = CompactStore::default();
        assert!(!store.is_ready());
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(deployment("web", "1")));
        store.apply(&Event::InitApply(deployment("api", "2")));
        assert!(!store.is_ready(), "the list has not ended");
        store.apply(&Event::InitDone);
        assert!(store.is_ready());
        assert_eq!(store.count(), 2);

        // The watch restarts; "api" was deleted while it was down.
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(deployment("web", "3")));
        assert!(
            parsed(&store, "api").is_some(),
            "the old view serves until the relist ends"
        );
        store.apply(&Event::InitDone);
        assert!(store.is_ready());
        assert!(parsed(&store, "api").is_none());
        assert_eq!(version(&store, "web").as_deref(), Some("3"));
    }

    #[test]
    fn json_that_does_not_parse_as_the_kind_is_no_answer() {
        let entry = Entry {
            version: "1".into(),
            json: Box::default(),
        };
        assert!(entry.parse::<Deployment>().is_none());
    }
}
