//! The checklist as it is now. The watch cache hands a reconcile the object as the last watch
//! event left it, which can be from before this process's own last status write (a Job's event
//! arrived before the checklist's own). Planning from that stale status would decide the same
//! transition again: a second status write and a second Event for one change. So the version
//! each checklist had after this process's last write is remembered, and a cached object that is
//! not at that version is read again from the API server.
//!
//! Nothing here is needed for correctness after a restart: the memory starts empty and the
//! cache, listed fresh, is trusted.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use kube::{Api, Client, ResourceExt};

use crate::{ReconcileError, Result, api::DeploymentChecklist};

use super::read::{Key, key, namespace};

/// The resourceVersion each checklist had when this process last wrote its status or read it
/// from the API server.
#[derive(Debug, Default)]
pub struct Versions(Mutex<HashMap<Key, String>>);

impl Versions {
    /// Remembers `version` as the newest this process knows of `key`.
    pub fn remember(&self, key: Key, version: Option<String>) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match version {
            Some(version) => known.insert(key, version),
            None => known.remove(&key),
        };
    }

    /// Whether an object of `key` at `cached` is not the version this process knows.
    fn behind(&self, key: &Key, cached: Option<&str>) -> bool {
        let known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(key)
            .is_some_and(|known| Some(known.as_str()) != cached)
    }

    /// Forgets the checklists for which `keep` is false (deleted ones).
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known.retain(|key, _| keep(key));
    }
}

/// What to reconcile instead of `cached`: None when the cache is at the version this process
/// knows (no request is made), else the object read from the API server (`Some(None)` when it
/// is gone).
pub async fn reread(
    client: &Client,
    versions: &Versions,
    cached: &DeploymentChecklist,
) -> Result<Option<Option<DeploymentChecklist>>> {
    let key = key(cached)?;
    if !versions.behind(&key, cached.resource_version().as_deref()) {
        return Ok(None);
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
    Ok(Some(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        ("prod".into(), "web".into())
    }

    #[test]
    fn an_object_not_at_the_known_version_is_behind() {
        let versions = Versions::default();
        assert!(!versions.behind(&key(), Some("10")), "nothing known yet");
        versions.remember(key(), Some("12".into()));
        assert!(versions.behind(&key(), Some("10")));
        assert!(!versions.behind(&key(), Some("12")));
        versions.retain(|_| false);
        assert!(!versions.behind(&key(), Some("10")), "forgotten");
    }
}
