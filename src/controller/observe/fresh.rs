//! The checklist as it is now. The watch cache hands a reconcile the object as the last watch
//! event left it, which can be from before this process's own last status write (a Job's event
//! arrived before the checklist's own). Planning from that stale status would decide the same
//! transition again: a second status write and a second Event for one change. So the version
//! each checklist had after this process's last write is remembered, and a cached object that is
//! not at that version is read again from the API server.
//!
//! Usually no read is needed: the watch event of that write is on its way, and it triggers a
//! reconcile of its own once the cache holds it. So a reconcile that finds the cache behind
//! ends at once the first time ([`Freshness::Wait`]); only if it is still behind on the next pass is
//! the checklist read again. A version the watch has delivered, and then a later one, is not
//! behind: the later one includes the write.
//!
//! Nothing here is needed for correctness after a restart or a relist: the memory starts empty
//! (or is cleared), and the cache, listed fresh, is trusted.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use kube::{Api, Client, ResourceExt};

use crate::{ReconcileError, Result, api::DeploymentChecklist};

use super::read::{Key, key, namespace};

/// What this process knows of one checklist's version.
#[derive(Debug)]
struct Known {
    version: String,
    /// The watch has delivered `version`: whatever the cache holds now includes it.
    delivered: bool,
    /// A reconcile already ended once waiting for the watch to deliver it.
    waited: bool,
}

/// The resourceVersion each checklist had when this process last wrote its status or read it
/// from the API server, and whether the watch has delivered it since.
#[derive(Debug, Default)]
pub struct Versions(Mutex<HashMap<Key, Known>>);

/// What a reconcile starting from a cached checklist should do.
#[derive(Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The cache holds what this process knows, or later: reconcile it.
    Fresh,
    /// The cache is behind this process's own write: end now, the write's watch event triggers
    /// the next reconcile.
    Wait,
    /// Still behind after waiting once: read the checklist from the API server.
    Read,
}

impl Versions {
    /// Remembers `version` as the newest this process knows of `key`.
    pub fn remember(&self, key: Key, version: Option<String>) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match version {
            Some(version) => known.insert(
                key,
                Known {
                    version,
                    delivered: false,
                    waited: false,
                },
            ),
            None => known.remove(&key),
        };
    }

    /// The watch delivered `key` at `version` (the cache holds it now).
    pub fn arrived(&self, key: &Key, version: Option<&str>) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = known.get_mut(key)
            && Some(known.version.as_str()) == version
        {
            known.delivered = true;
        }
    }

    /// The watch relisted every checklist: the cache is fresh, whatever was remembered.
    pub fn relisted(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Whether a checklist `key` cached at `cached` can be reconciled as it is.
    pub fn freshness(&self, key: &Key, cached: Option<&str>) -> Freshness {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(known) = known.get_mut(key) else {
            return Freshness::Fresh;
        };
        if known.delivered || Some(known.version.as_str()) == cached {
            return Freshness::Fresh;
        }
        if known.waited {
            return Freshness::Read;
        }
        known.waited = true;
        Freshness::Wait
    }

    /// Forgets the checklists for which `keep` is false (deleted ones).
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known.retain(|key, _| keep(key));
    }
}

/// What to reconcile instead of `cached`, if anything (see [`Reread`]).
pub async fn reread(
    client: &Client,
    versions: &Versions,
    cached: &DeploymentChecklist,
) -> Result<Reread> {
    let key = key(cached)?;
    match versions.freshness(&key, cached.resource_version().as_deref()) {
        Freshness::Fresh => return Ok(Reread::Cached),
        Freshness::Wait => return Ok(Reread::Wait),
        Freshness::Read => {}
    }
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), &namespace(cached)?);
    let current = api
        .get_opt(&key.1)
        .await
        .map_err(|e| ReconcileError::read(format!("DeploymentChecklist {}/{}", key.0, key.1), e))?;
    versions.remember(
        key,
        current.as_ref().and_then(ResourceExt::resource_version),
    );
    Ok(Reread::Live(current.map(Box::new)))
}

/// What [`reread`] found.
pub enum Reread {
    /// The cached checklist is fresh.
    Cached,
    /// The cache is behind this process's own write: end and wait for its watch event.
    Wait,
    /// Read from the API server; None when it is gone.
    Live(Option<Box<DeploymentChecklist>>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        ("prod".into(), "web".into())
    }

    #[test]
    fn a_cache_behind_the_known_version_waits_once_then_is_read() {
        let versions = Versions::default();
        assert_eq!(versions.freshness(&key(), Some("10")), Freshness::Fresh);
        versions.remember(key(), Some("12".into()));
        assert_eq!(versions.freshness(&key(), Some("12")), Freshness::Fresh);
        assert_eq!(versions.freshness(&key(), Some("10")), Freshness::Wait);
        assert_eq!(versions.freshness(&key(), Some("10")), Freshness::Read);
        versions.retain(|_| false);
        assert_eq!(
            versions.freshness(&key(), Some("10")),
            Freshness::Fresh,
            "forgotten"
        );
    }

    #[test]
    fn a_delivered_version_then_a_later_one_is_fresh_and_a_relist_trusts_the_cache() {
        let versions = Versions::default();
        versions.remember(key(), Some("12".into()));
        versions.arrived(&key(), Some("11"));
        assert_eq!(versions.freshness(&key(), Some("13")), Freshness::Wait);
        versions.arrived(&key(), Some("12"));
        assert_eq!(versions.freshness(&key(), Some("13")), Freshness::Fresh);

        versions.remember(key(), Some("20".into()));
        versions.relisted();
        assert_eq!(versions.freshness(&key(), Some("25")), Freshness::Fresh);
    }
}
