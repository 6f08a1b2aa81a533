//! A watch cache that keeps each object as its JSON, not as a parsed tree.
//!
//! k8s-openapi's types hold every optional field inline and every string on the heap: a trimmed
//! Deployment of ours takes several times the memory of its JSON once parsed. A reconcile reads
//! one object, so parsing it on read costs microseconds, while the store holds every owned
//! object of the cluster for as long as the operator runs. At 10,000 checklists that difference
//! is the operator's largest memory cost.
//!
//! The store also knows which objects each checklist owns (by the `checklist.dev/checklist`
//! label), so a BlueGreen or Canary reconcile lists its revisions' Deployments without a request.

use std::{
    collections::{BTreeSet, HashMap},
    marker::PhantomData,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use kube::{ResourceExt, runtime::watcher};
use serde::{Serialize, de::DeserializeOwned};

use super::read::Key;
use crate::resources::labels;

/// One object as the last watch event gave it.
#[derive(Debug)]
pub struct Entry {
    /// Its resourceVersion, compared without parsing the object.
    pub version: Box<str>,
    /// The checklist that owns it (its `checklist.dev/checklist` label), for the owner index.
    checklist: Option<Box<str>>,
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
    /// The names of the objects each checklist (namespace, name) owns.
    owned: HashMap<Key, BTreeSet<Box<str>>>,
    /// A relist in progress: swapped in whole when it ends, so objects deleted while the watch
    /// was down do not linger.
    relist: Option<HashMap<Key, Arc<Entry>>>,
    /// Whether the first list has ended: before, an object missing may only be unlisted yet.
    ready: bool,
}

impl State {
    fn insert(&mut self, key: Key, entry: Arc<Entry>) {
        let owner = entry.checklist.clone();
        if let Some(old) = self.objects.insert(key.clone(), entry) {
            self.unindex(&key, old.checklist.as_deref());
        }
        if let Some(owner) = owner {
            let (namespace, name) = key;
            self.owned
                .entry((namespace, owner.into()))
                .or_default()
                .insert(name.into());
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.objects.remove(key) {
            self.unindex(key, old.checklist.as_deref());
        }
    }

    fn unindex(&mut self, key: &Key, owner: Option<&str>) {
        let Some(owner) = owner else { return };
        let owner_key = (key.0.clone(), owner.to_owned());
        if let Some(names) = self.owned.get_mut(&owner_key) {
            names.remove(key.1.as_str());
            if names.is_empty() {
                self.owned.remove(&owner_key);
            }
        }
    }

    /// Replaces every object with those of a relist, and the index with theirs.
    fn replace(&mut self, listed: HashMap<Key, Arc<Entry>>) {
        self.objects = HashMap::with_capacity(listed.len());
        self.owned.clear();
        for (key, entry) in listed {
            self.insert(key, entry);
        }
    }
}

/// The objects of one kind, kept up to date by a watch ([`CompactStore::apply`]).
#[derive(Debug)]
pub struct CompactStore<K> {
    state: RwLock<State>,
    /// Which objects are kept: None keeps every one the watch gives, so one missing from the
    /// store does not exist; with a filter, one missing may only be left out.
    admit: Option<fn(&K) -> bool>,
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
            admit: None,
            awaited: Mutex::default(),
            kind: PhantomData,
        }
    }
}

impl<K> CompactStore<K> {
    /// A store that keeps only the objects `admit` accepts (the rest take no memory): one it
    /// does not hold may exist, so a reader asks the API server for it
    /// ([`Self::holds_every_object`]).
    pub fn admitting(admit: fn(&K) -> bool) -> Self {
        Self {
            admit: Some(admit),
            ..Self::default()
        }
    }

    /// Whether an object missing from the ready store does not exist: no filter leaves any out.
    pub fn holds_every_object(&self) -> bool {
        self.admit.is_none()
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

    /// The object `key` at `version` is in the store now: whoever waited for that version has
    /// it. Called with the store's write lock held, so a reader told "passed" finds the object.
    fn arrived(&self, key: &Key, version: Option<&str>) {
        let mut awaited = self.awaited.lock().unwrap_or_else(PoisonError::into_inner);
        if !awaited.is_empty() && awaited.get(key).map(|v| &**v) == version {
            awaited.remove(key);
        }
    }

    /// A relist was swapped in: each awaited version it holds has arrived. One it does not hold
    /// (a later version was listed) stays awaited, and the reader reads live once.
    fn arrived_in(&self, objects: &HashMap<Key, Arc<Entry>>) {
        let mut awaited = self.awaited.lock().unwrap_or_else(PoisonError::into_inner);
        awaited.retain(|key, version| objects.get(key).is_none_or(|e| e.version != *version));
    }
}

impl<K: ResourceExt + Serialize> CompactStore<K> {
    /// Applies one watch event, as kube's reflector does for its own store.
    pub fn apply(&self, event: &watcher::Event<K>) {
        let admitted = |object: &K| self.admit.is_none_or(|admit| admit(object));
        let version = |object: &K| kube::Resource::meta(object).resource_version.clone();
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match event {
            // One the filter no longer admits (its label went) is dropped like a deleted one.
            watcher::Event::Apply(object) if admitted(object) => {
                state.insert(key(object), entry(object));
                self.arrived(&key(object), version(object).as_deref());
            }
            watcher::Event::Apply(object) | watcher::Event::Delete(object) => {
                state.remove(&key(object));
                self.arrived(&key(object), version(object).as_deref());
            }
            watcher::Event::Init => state.relist = Some(HashMap::new()),
            // Listed objects arrive when the relist is swapped in, not before: until then the
            // store still shows the old view.
            watcher::Event::InitApply(object) if admitted(object) => match state.relist.as_mut() {
                Some(relist) => {
                    relist.insert(key(object), entry(object));
                }
                None => {
                    state.insert(key(object), entry(object));
                    self.arrived(&key(object), version(object).as_deref());
                }
            },
            watcher::Event::InitApply(_) => {}
            watcher::Event::InitDone => {
                if let Some(listed) = state.relist.take() {
                    state.replace(listed);
                    self.arrived_in(&state.objects);
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

    /// The objects the checklist `owner` (namespace, name) owns, by their label.
    pub fn owned_by(&self, owner: &Key) -> Vec<Arc<Entry>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let Some(names) = state.owned.get(owner) else {
            return Vec::new();
        };
        names
            .iter()
            .filter_map(|name| {
                let key = (owner.0.clone(), name.to_string());
                state.objects.get(&key).cloned()
            })
            .collect()
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
        checklist: object
            .labels()
            .get(labels::CHECKLIST)
            .map(|c| c.as_str().into()),
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

    fn owned(name: &str, version: &str, checklist: Option<&str>) -> Deployment {
        let mut d = deployment(name, version);
        if let Some(checklist) = checklist {
            d.metadata.labels = Some([(labels::CHECKLIST.to_owned(), checklist.to_owned())].into());
        }
        d
    }

    fn names_owned_by(store: &CompactStore<Deployment>, checklist: &str) -> Vec<String> {
        let owner = ("a".to_owned(), checklist.to_owned());
        let mut names: Vec<String> = store
            .owned_by(&owner)
            .iter()
            .filter_map(|entry| entry.parse::<Deployment>())
            .map(|d| d.name_any())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn it_knows_what_each_checklist_owns_through_changes_deletes_and_relists() {
        let store = CompactStore::default();
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(owned("web-1", "1", Some("web"))));
        store.apply(&Event::InitApply(owned("web-2", "2", Some("web"))));
        store.apply(&Event::InitApply(owned("api-1", "3", Some("api"))));
        store.apply(&Event::InitApply(owned("loose", "4", None)));
        store.apply(&Event::InitDone);
        assert_eq!(names_owned_by(&store, "web"), ["web-1", "web-2"]);
        assert_eq!(names_owned_by(&store, "api"), ["api-1"]);

        // Relabelled to another checklist: it moves.
        store.apply(&Event::Apply(owned("web-2", "5", Some("api"))));
        assert_eq!(names_owned_by(&store, "web"), ["web-1"]);
        assert_eq!(names_owned_by(&store, "api"), ["api-1", "web-2"]);
        store.apply(&Event::Delete(owned("web-1", "6", Some("web"))));
        assert!(names_owned_by(&store, "web").is_empty());

        // A relist while "api-1" was deleted: the index is the relist's.
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(owned("web-2", "5", Some("api"))));
        store.apply(&Event::InitApply(owned("web-3", "7", Some("web"))));
        store.apply(&Event::InitDone);
        assert_eq!(names_owned_by(&store, "api"), ["web-2"]);
        assert_eq!(names_owned_by(&store, "web"), ["web-3"]);
        // Another namespace's checklist of the same name owns nothing here.
        assert!(
            store
                .owned_by(&("b".to_owned(), "web".to_owned()))
                .is_empty()
        );
    }

    #[test]
    fn a_filtered_store_keeps_only_what_it_admits_and_drops_what_stops_passing() {
        let store =
            CompactStore::<Deployment>::admitting(|d| d.labels().contains_key(labels::CHECKLIST));
        assert!(!store.holds_every_object());
        assert!(CompactStore::<Deployment>::default().holds_every_object());
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(owned("web", "1", Some("web"))));
        store.apply(&Event::InitApply(owned("loose", "2", None)));
        store.apply(&Event::InitDone);
        assert_eq!(store.count(), 1);
        assert!(parsed(&store, "loose").is_none());
        // Its label removed: no longer kept, nor indexed.
        store.apply(&Event::Apply(owned("web", "3", None)));
        assert!(parsed(&store, "web").is_none());
        assert!(names_owned_by(&store, "web").is_empty());
        store.apply(&Event::Apply(owned("loose", "4", Some("web"))));
        assert_eq!(names_owned_by(&store, "web"), ["loose"]);
    }

    #[test]
    fn an_awaited_version_arrives_when_the_store_shows_it_not_before() {
        let store = CompactStore::default();
        let web = ("a".to_owned(), "web".to_owned());
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(deployment("web", "1")));
        store.apply(&Event::InitDone);
        store.await_version(web.clone(), "2");
        assert!(!store.passed(&web, "2"));
        // A relist lists version 2, but the store shows version 1 until the relist ends.
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(deployment("web", "2")));
        assert!(!store.passed(&web, "2"));
        store.apply(&Event::InitDone);
        assert!(store.passed(&web, "2"));
        // Superseded within a relist: never shown, so still awaited (the reader reads live).
        store.await_version(web.clone(), "3");
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(deployment("web", "4")));
        store.apply(&Event::InitDone);
        assert!(!store.passed(&web, "3"));
        // Delivered by the watch: passed.
        store.await_version(web.clone(), "5");
        store.apply(&Event::Apply(deployment("web", "5")));
        assert!(store.passed(&web, "5"));
    }

    #[test]
    fn json_that_does_not_parse_as_the_kind_is_no_answer() {
        let entry = Entry {
            version: "1".into(),
            checklist: None,
            json: Box::default(),
        };
        assert!(entry.parse::<Deployment>().is_none());
    }
}
