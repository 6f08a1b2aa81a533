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
    sync::{Mutex, PoisonError},
};

use kube::{
    Resource, ResourceExt,
    runtime::reflector::{ObjectRef, Store},
};

use super::read::Key;

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

/// Decides from what is remembered (`known`) and what the cache holds (`cached`: None when it
/// holds no such object, else its resourceVersion).
fn answer(known: Option<&Known>, cached: Option<&str>) -> Answer {
    match (known, cached) {
        (None, _) => Answer::Cache,
        (Some(Known::Absent), None) => Answer::Cache,
        (Some(Known::Version(version)), Some(seen)) if version == seen => Answer::Cache,
        _ => Answer::Live,
    }
}

/// One kind of owned object, read through the controller's store.
pub struct CachedReads<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    pending: Mutex<HashMap<Key, Known>>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> CachedReads<K> {
    /// Reads through `store`, which the controller's watch of `K` keeps.
    pub fn new(store: Store<K>) -> Self {
        Self {
            store,
            pending: Mutex::default(),
        }
    }

    /// The object `name` in `namespace` from the cache: `Some(found)` when the cache can
    /// answer, None when it must be read from the API server (then tell [`Self::read`]): also
    /// until the cache's first list is complete.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Option<K>> {
        use futures::FutureExt;
        self.store.wait_until_ready().now_or_never()?.ok()?;
        let key = (namespace.to_owned(), name.to_owned());
        let cached = self.store.get(&ObjectRef::new(name).within(namespace));
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = cached
            .as_ref()
            .map(|c| c.meta().resource_version.as_deref().unwrap_or_default());
        match answer(pending.get(&key), seen) {
            Answer::Cache => {
                pending.remove(&key);
                Some(cached.map(|c| (*c).clone()))
            }
            Answer::Live => None,
        }
    }

    /// This process wrote `object` (the API server's answer to the write).
    pub fn wrote(&self, object: &K) {
        let (Some(namespace), Some(version)) = (object.namespace(), object.resource_version())
        else {
            return;
        };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.insert((namespace, object.name_any()), Known::Version(version));
    }

    /// This process read `found` for `name` in `namespace` from the API server.
    pub fn read(&self, namespace: &str, name: &str, found: Option<&K>) {
        let known = match found.and_then(ResourceExt::resource_version) {
            Some(version) => Known::Version(version),
            None => Known::Absent,
        };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.insert((namespace.to_owned(), name.to_owned()), known);
    }

    /// Forgets what is remembered of objects for which `keep` is false (deleted checklists').
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|key, _| keep(key));
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
        assert_eq!(answer(None, None), Answer::Cache);
        assert_eq!(answer(None, Some("5")), Answer::Cache);
        // The cache shows the version written: it has caught up.
        assert_eq!(answer(Some(&version("7")), Some("7")), Answer::Cache);
        // Written but not shown yet, or not there at all yet (a create): read live.
        assert_eq!(answer(Some(&version("7")), Some("5")), Answer::Live);
        assert_eq!(answer(Some(&version("7")), None), Answer::Live);
        // Read as gone: the cache agrees once it holds nothing.
        assert_eq!(answer(Some(&Known::Absent), None), Answer::Cache);
        assert_eq!(answer(Some(&Known::Absent), Some("5")), Answer::Live);
    }

    #[test]
    fn a_write_is_read_live_until_the_cache_shows_it_then_forgotten() {
        use k8s_openapi::api::apps::v1::Deployment;
        use kube::runtime::{reflector, watcher};

        let (store, mut writer) = reflector::store::<Deployment>();
        let reads = CachedReads::new(store);
        assert!(
            reads.get("a", "web").is_none(),
            "before the first list: live"
        );
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
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
        writer.apply_watcher_event(&watcher::Event::Apply(deployment("5")));
        assert_eq!(cached_version(&reads).as_deref(), Some("5"));

        reads.wrote(&deployment("7"));
        assert!(
            reads.get("a", "web").is_none(),
            "the cache is behind the write"
        );
        writer.apply_watcher_event(&watcher::Event::Apply(deployment("7")));
        assert_eq!(cached_version(&reads).as_deref(), Some("7"));
        // Forgotten: a later change by someone else is taken from the cache as it comes.
        writer.apply_watcher_event(&watcher::Event::Apply(deployment("9")));
        assert_eq!(cached_version(&reads).as_deref(), Some("9"));

        reads.read("a", "gone", None);
        assert_eq!(reads.get("a", "gone"), Some(None));
    }
}
