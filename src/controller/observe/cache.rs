//! Owned objects read from the controller's watch cache instead of the API server, as
//! kube-controller-manager reads from its informers: a reconcile at rest then costs no request.
//!
//! The cache can be behind this process's own last write of an object (its watch event is on
//! the way), and planning from that older view would apply or announce the same change twice.
//! So the resourceVersion of each write, and of each live read, is remembered until the cache
//! shows exactly that version; until then the object is read from the API server. With nothing
//! remembered the cache is trusted: a newer version it has not shown yet arrives as a watch event
//! and triggers another reconcile, as it would have anyway. Nothing here is needed after a
//! restart: the memory starts empty, and the controller waits for the cache's first list.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use k8s_openapi::api::{apps::v1::Deployment, batch::v1::Job, core::v1::Service};
use kube::ResourceExt;
use serde::{Serialize, de::DeserializeOwned};

use super::{
    compact::{CompactStore, Entry},
    read::Key,
};

/// What this process last knew of an object that the cache may not show yet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    /// It wrote or read this resourceVersion.
    Version(String),
    /// It read that the object does not exist.
    Absent,
}

/// Whether a read can be answered from the cache.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The cache shows what this process knows, or it knows nothing newer: use the cache, and
    /// forget what was remembered.
    Cache,
    /// The cache is behind this process's own write or read: ask the API server.
    Live,
}

/// Decides from what is remembered (`known`), what the cache holds (`cached`: None when it
/// holds no such object, else its resourceVersion) and whether the watch has delivered the
/// version remembered (`passed`): then whatever the cache holds now came after it. That is the
/// usual case after a write: the Deployment's controller writes its status a moment later.
fn answer(known: Option<&Known>, cached: Option<&str>, passed: bool) -> Answer {
    match (known, cached) {
        (None, _) => Answer::Cache,
        (Some(Known::Absent), None) => Answer::Cache,
        (Some(Known::Version(version)), Some(seen)) if version == seen => Answer::Cache,
        (Some(Known::Version(_)), _) if passed => Answer::Cache,
        _ => Answer::Live,
    }
}

/// What is remembered of one object: for which checklist, and what this process knows of it.
#[derive(Debug)]
struct Pending {
    /// The checklist that owns the object, so what is remembered goes with it.
    owner: Key,
    known: Known,
}

/// One kind of owned object, read through the controller's store.
pub struct CachedReads<K> {
    store: Arc<CompactStore<K>>,
    pending: Mutex<HashMap<Key, Pending>>,
}

impl<K: ResourceExt + Serialize + DeserializeOwned> CachedReads<K> {
    /// Reads through `store`, which the controller's watch of `K` keeps.
    pub fn new(store: Arc<CompactStore<K>>) -> Self {
        Self {
            store,
            pending: Mutex::default(),
        }
    }

    /// The object `name` in `namespace` from the cache: `Some(found)` when the cache can
    /// answer, None when it must be read from the API server (then tell [`Self::read`]): also
    /// until the cache's first list is complete.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Option<K>> {
        if !self.store.is_ready() {
            return None;
        }
        let key = (namespace.to_owned(), name.to_owned());
        let cached = self.store.get(&key);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match self.answer(&pending, &key, cached.as_deref()) {
            Answer::Cache => {
                pending.remove(&key);
                drop(pending);
                self.store.stop_awaiting(&key);
                match cached {
                    // A filtered store leaves some objects out: not holding one says nothing.
                    None if !self.store.holds_every_object() => None,
                    None => Some(None),
                    // One that does not parse back is read live.
                    Some(entry) => entry.parse().map(Some),
                }
            }
            Answer::Live => None,
        }
    }

    /// Every object checklist `owner` owns (by its label) from the cache, or None when the cache
    /// cannot answer for all of them: before its first list, or while it is behind a write,
    /// create or delete this process made for `owner` (then list them from the API server).
    pub fn list(&self, owner: &Key) -> Option<Vec<K>> {
        if !self.store.is_ready() {
            return None;
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = remembered_for(&pending, owner);
        for key in &mine {
            if self.answer(&pending, key, self.store.get(key).as_deref()) == Answer::Live {
                return None;
            }
        }
        for key in &mine {
            pending.remove(key);
            self.store.stop_awaiting(key);
        }
        drop(pending);
        // One that does not parse back makes the whole list live.
        self.store
            .owned_by(owner)
            .iter()
            .map(|entry| entry.parse())
            .collect()
    }

    /// This process listed `found`, every object of checklist `owner`, from the API server
    /// (because [`Self::list`] could not answer): what it remembered of that checklist's objects
    /// becomes what the list showed, so a version the watch delivered and passed while the write
    /// was in flight no longer holds the cache back.
    pub fn listed(&self, owner: &Key, found: &[K]) {
        let remembered = remembered_for(
            &self.pending.lock().unwrap_or_else(PoisonError::into_inner),
            owner,
        );
        for (_, name) in remembered {
            let object = found.iter().find(|o| o.name_any() == name);
            self.read(owner, &name, object);
        }
    }

    /// Whether the cache can answer for `key`, from what is remembered of it (`pending`) and
    /// what the store holds (`cached`).
    fn answer(&self, pending: &HashMap<Key, Pending>, key: &Key, cached: Option<&Entry>) -> Answer {
        let known = pending.get(key).map(|p| &p.known);
        let passed = match known {
            Some(Known::Version(version)) => self.store.passed(key, version),
            _ => false,
        };
        answer(known, cached.map(|c| &*c.version), passed)
    }

    /// This process wrote `object` (the API server's answer to the write) for checklist `owner`.
    pub fn wrote(&self, owner: &Key, object: &K) {
        if let Some(version) = object.resource_version() {
            self.remember(owner, object.name_any(), Known::Version(version));
        }
    }

    /// This process read `found` for `name` from the API server, for checklist `owner` (in its
    /// namespace); None also after it deleted the object.
    pub fn read(&self, owner: &Key, name: &str, found: Option<&K>) {
        let known = match found.and_then(ResourceExt::resource_version) {
            Some(version) => Known::Version(version),
            None => Known::Absent,
        };
        self.remember(owner, name.to_owned(), known);
    }

    fn remember(&self, owner: &Key, name: String, known: Known) {
        let key = (owner.0.clone(), name);
        // Asked before it is remembered: the watch may deliver the version before the answer
        // to the write reached this process; then the cache shows it, or a later one (read live
        // once more).
        match &known {
            Known::Version(version) => self.store.await_version(key.clone(), version),
            Known::Absent => self.store.stop_awaiting(&key),
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let pending_of = Pending {
            owner: owner.clone(),
            known,
        };
        pending.insert(key, pending_of);
    }

    /// Forgets what is remembered for checklists for which `keep` is false (deleted ones).
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|key, p| {
            let kept = keep(&p.owner);
            if !kept {
                self.store.stop_awaiting(key);
            }
            kept
        });
    }
}

/// The objects something is remembered of for checklist `owner`.
fn remembered_for(pending: &HashMap<Key, Pending>, owner: &Key) -> Vec<Key> {
    pending
        .iter()
        .filter(|(_, p)| p.owner == *owner)
        .map(|(key, _)| key.clone())
        .collect()
}

/// The owned objects observe reads from the controller's watches rather than the API server.
pub struct Caches {
    /// The app Deployments: RollingUpdate's by name, BlueGreen's and Canary's by checklist.
    pub deployments: CachedReads<Deployment>,
    /// The Services BlueGreen and Canary route through (see [`crate::resources::labels::ROUTED`]).
    pub services: CachedReads<Service>,
    /// The migration and down-migration Jobs.
    pub jobs: CachedReads<Job>,
    /// The revision records read for a rollback.
    pub stored: super::StoredSpecs,
}

impl Caches {
    /// Forgets what is remembered for checklists for which `keep` is false (deleted ones).
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        self.deployments.retain(&keep);
        self.services.retain(&keep);
        self.jobs.retain(&keep);
        self.stored.retain(&keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: &str) -> Known {
        Known::Version(v.to_owned())
    }

    #[test]
    fn the_cache_answers_unless_it_is_behind_what_this_process_wrote_or_read() {
        // Nothing remembered: the cache, whatever it holds.
        assert_eq!(answer(None, None, false), Answer::Cache);
        assert_eq!(answer(None, Some("5"), false), Answer::Cache);
        // The cache shows the version written: it has caught up.
        assert_eq!(answer(Some(&version("7")), Some("7"), false), Answer::Cache);
        // Written but not shown yet, or not there at all yet (a create): read live.
        assert_eq!(answer(Some(&version("7")), Some("5"), false), Answer::Live);
        assert_eq!(answer(Some(&version("7")), None, false), Answer::Live);
        // The watch delivered the version written, then a later one (the Deployment's
        // controller wrote its status) or its deletion: the cache is past the write.
        assert_eq!(answer(Some(&version("7")), Some("8"), true), Answer::Cache);
        assert_eq!(answer(Some(&version("7")), None, true), Answer::Cache);
        // Read as gone: the cache agrees once it holds nothing.
        assert_eq!(answer(Some(&Known::Absent), None, false), Answer::Cache);
        assert_eq!(answer(Some(&Known::Absent), Some("5"), false), Answer::Live);
    }

    #[test]
    fn a_write_is_read_live_until_the_cache_shows_it_then_forgotten() {
        use kube::runtime::watcher;

        let writer = Arc::new(CompactStore::<Deployment>::default());
        let reads = CachedReads::new(Arc::clone(&writer));
        assert!(
            reads.get("a", "web").is_none(),
            "before the first list: live"
        );
        writer.apply(&watcher::Event::Init);
        writer.apply(&watcher::Event::InitDone);
        let deployment = |version: &str| {
            let mut d = Deployment::default();
            d.metadata.name = Some("web".into());
            d.metadata.namespace = Some("a".into());
            d.metadata.resource_version = Some(version.into());
            d
        };
        // The version the cache answers with, when it answers.
        let cached_version = |reads: &CachedReads<Deployment>| {
            reads
                .get("a", "web")
                .flatten()
                .and_then(|d| d.resource_version())
        };
        writer.apply(&watcher::Event::Apply(deployment("5")));
        assert_eq!(cached_version(&reads).as_deref(), Some("5"));

        let owner = ("a".to_owned(), "web".to_owned());
        reads.wrote(&owner, &deployment("7"));
        assert!(
            reads.get("a", "web").is_none(),
            "the cache is behind the write"
        );
        writer.apply(&watcher::Event::Apply(deployment("7")));
        assert_eq!(cached_version(&reads).as_deref(), Some("7"));
        // Forgotten: a later change by someone else is taken from the cache as it comes.
        writer.apply(&watcher::Event::Apply(deployment("9")));
        assert_eq!(cached_version(&reads).as_deref(), Some("9"));

        // Written, then changed by someone else before this process read again: the watch
        // delivered the write on its way, so the cache answers with the later version.
        reads.wrote(&owner, &deployment("11"));
        assert!(reads.get("a", "web").is_none(), "not delivered yet");
        writer.apply(&watcher::Event::Apply(deployment("11")));
        writer.apply(&watcher::Event::Apply(deployment("12")));
        assert_eq!(cached_version(&reads).as_deref(), Some("12"));
        // A version that was never delivered (the watch relisted past it) is read live.
        reads.wrote(&owner, &deployment("14"));
        writer.apply(&watcher::Event::Apply(deployment("15")));
        assert!(reads.get("a", "web").is_none(), "14 never came: read live");

        reads.read(&owner, "gone", None);
        assert_eq!(reads.get("a", "gone"), Some(None));
    }

    #[test]
    fn a_checklist_s_deployments_are_listed_from_the_cache_unless_it_is_behind_a_change() {
        use kube::runtime::watcher;

        let writer = Arc::new(CompactStore::<Deployment>::default());
        let reads = CachedReads::new(Arc::clone(&writer));
        let owner = ("a".to_owned(), "web".to_owned());
        assert!(reads.list(&owner).is_none(), "before the first list: live");
        let deployment = |name: &str, version: &str| {
            let mut d = Deployment::default();
            d.metadata.name = Some(name.into());
            d.metadata.namespace = Some("a".into());
            d.metadata.resource_version = Some(version.into());
            d.metadata.labels = Some(
                [(
                    crate::resources::labels::CHECKLIST.to_owned(),
                    "web".to_owned(),
                )]
                .into(),
            );
            d
        };
        let names = |found: Option<Vec<Deployment>>| {
            let mut names: Vec<String> = found
                .expect("answered from the cache")
                .iter()
                .map(|d| d.name_any())
                .collect();
            names.sort();
            names
        };
        writer.apply(&watcher::Event::Init);
        writer.apply(&watcher::Event::InitApply(deployment("web-old", "3")));
        writer.apply(&watcher::Event::InitDone);
        assert_eq!(names(reads.list(&owner)), ["web-old"]);

        // A new revision's Deployment created: listed live until the watch brings it.
        reads.wrote(&owner, &deployment("web-new", "5"));
        assert!(reads.list(&owner).is_none());
        // Another checklist's writes do not hold this one's list back.
        assert!(reads.list(&("a".to_owned(), "api".to_owned())).is_some());
        writer.apply(&watcher::Event::Apply(deployment("web-new", "5")));
        assert_eq!(names(reads.list(&owner)), ["web-new", "web-old"]);

        // The old one deleted: live until the watch says it is gone.
        reads.read(&owner, "web-old", None);
        assert!(reads.list(&owner).is_none());
        writer.apply(&watcher::Event::Delete(deployment("web-old", "6")));
        assert_eq!(names(reads.list(&owner)), ["web-new"]);

        // Written, but the watch delivered that version and a later one before the write's
        // answer came back: the live list's versions take over, and the cache answers again.
        writer.apply(&watcher::Event::Apply(deployment("web-new", "8")));
        writer.apply(&watcher::Event::Apply(deployment("web-new", "9")));
        reads.wrote(&owner, &deployment("web-new", "8"));
        assert!(reads.list(&owner).is_none(), "8 never arrives now");
        reads.listed(&owner, &[deployment("web-new", "9")]);
        assert_eq!(names(reads.list(&owner)), ["web-new"]);
    }

    #[test]
    fn a_filtered_cache_never_answers_that_an_object_is_absent() {
        use kube::runtime::watcher;

        let writer = Arc::new(CompactStore::<Service>::admitting(|s| {
            s.labels().contains_key("routed")
        }));
        let reads = CachedReads::new(Arc::clone(&writer));
        writer.apply(&watcher::Event::Init);
        writer.apply(&watcher::Event::InitDone);
        let service = |labelled: bool| {
            let mut s = Service::default();
            s.metadata.name = Some("web".into());
            s.metadata.namespace = Some("a".into());
            s.metadata.resource_version = Some("4".into());
            if labelled {
                s.metadata.labels = Some([("routed".to_owned(), "true".to_owned())].into());
            }
            s
        };
        // Not held: it may be someone else's Service of that name, or one not labelled yet.
        writer.apply(&watcher::Event::Apply(service(false)));
        assert!(reads.get("a", "web").is_none());
        writer.apply(&watcher::Event::Apply(service(true)));
        assert!(reads.get("a", "web").flatten().is_some());
    }

    #[test]
    fn what_is_remembered_goes_with_the_checklist_that_owns_it() {
        use kube::runtime::watcher;

        let writer = Arc::new(CompactStore::<Job>::default());
        let reads = CachedReads::new(Arc::clone(&writer));
        writer.apply(&watcher::Event::Init);
        writer.apply(&watcher::Event::InitDone);
        let mut job = Job::default();
        job.metadata.name = Some("web-migrate-0123456789".into());
        job.metadata.namespace = Some("a".into());
        job.metadata.resource_version = Some("3".into());
        let (web, api) = (
            ("a".to_owned(), "web".to_owned()),
            ("a".to_owned(), "api".to_owned()),
        );
        reads.wrote(&web, &job);
        reads.read(&api, "api-migrate-0123456789", None);
        assert!(reads.get("a", "web-migrate-0123456789").is_none());

        // "web" is deleted before the cache showed its Job: nothing of it is kept.
        reads.retain(|checklist| *checklist != web);
        assert_eq!(reads.get("a", "web-migrate-0123456789"), Some(None));
        // "api"'s Job is known absent and the cache agrees: answered from the cache.
        assert_eq!(reads.get("a", "api-migrate-0123456789"), Some(None));
    }
}
