//! The control plane's own endpoint addresses, which change when the API servers move (a managed
//! control plane's are not the `kubernetes` Service's ClusterIP): a set shared by every clone of
//! a policy and replaced whole by the operator's watch of the `default/kubernetes` EndpointSlice.

use std::{
    net::IpAddr,
    sync::{Arc, RwLock},
};

use super::addresses::canonical;

/// The current control-plane addresses; empty until the first update (and in the CLI).
#[derive(Clone, Default)]
pub struct ControlPlane(Arc<RwLock<Arc<[IpAddr]>>>);

impl ControlPlane {
    /// Replaces the addresses with `ips`.
    pub fn set(&self, ips: impl IntoIterator<Item = IpAddr>) {
        let mut ips: Vec<IpAddr> = ips.into_iter().map(canonical).collect();
        ips.sort();
        ips.dedup();
        // A poisoned lock only means a writer panicked mid-assignment of an Arc, which cannot
        // leave a torn value: the set is still whole, so it is used.
        let mut current = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = ips.into();
    }

    /// The addresses now.
    pub fn current(&self) -> Arc<[IpAddr]> {
        Arc::clone(
            &self
                .0
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Whether `ip` (already unwrapped to its canonical form) is one of them.
    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        self.current().contains(&ip)
    }
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.current().iter()).finish()
    }
}

/// Two policies are the same if they share the same live set.
impl PartialEq for ControlPlane {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ControlPlane {}
