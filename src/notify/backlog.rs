//! Admission to the delivery queue: bounded in all, so a dead target cannot grow the operator's
//! memory, and per namespace, so a namespace that floods it (a checklist flapping between
//! transitions, a hundred checklists failing at once) drops its own notifications and nobody
//! else's. And the keys delivered lately, so a transition announced twice is sent once.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

/// Deliveries queued or in flight at most, all namespaces together.
pub const QUEUE_CAPACITY: usize = 1024;

/// Deliveries queued or in flight at most for one namespace: a sixteenth of the queue, so at
/// least sixteen namespaces fill it before anyone is turned away for someone else's backlog.
pub const QUEUE_PER_NAMESPACE: usize = 64;

/// How many delivered keys are remembered to drop a duplicate.
const REMEMBERED: usize = 4096;

/// Why a delivery was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its key was delivered (or is being delivered) already.
    Duplicate,
    /// Its namespace has [`QUEUE_PER_NAMESPACE`] deliveries waiting or in flight.
    NamespaceFull,
    /// The queue holds [`QUEUE_CAPACITY`] deliveries.
    Full,
}

impl Refusal {
    /// The `result` label of checklist_notifications_total.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Duplicate => "duplicate",
            Refusal::NamespaceFull => "dropped_namespace_full",
            Refusal::Full => "dropped",
        }
    }
}

/// What is queued or in flight, by namespace, and the keys seen lately.
#[derive(Debug)]
pub struct Backlog {
    capacity: usize,
    per_namespace: usize,
    total: usize,
    /// Deliveries admitted and not finished, by namespace; namespaces with none are removed.
    pending: HashMap<String, usize>,
    recent: Recent,
}

impl Backlog {
    /// A backlog of at most `capacity` deliveries, `per_namespace` of them from one namespace.
    pub fn new(capacity: usize, per_namespace: usize) -> Self {
        Self {
            capacity,
            per_namespace,
            total: 0,
            pending: HashMap::new(),
            recent: Recent::default(),
        }
    }

    /// Admits a delivery of `key` from `namespace`, or says why not. A refused key is not
    /// remembered, so the same transition can still be sent once there is room.
    pub fn admit(&mut self, namespace: &str, key: &str) -> Result<(), Refusal> {
        if self.recent.contains(key) {
            return Err(Refusal::Duplicate);
        }
        // The namespace's own bound first: when both are reached, the namespace's backlog is
        // the cause worth counting.
        if self.pending.get(namespace).copied().unwrap_or(0) >= self.per_namespace {
            return Err(Refusal::NamespaceFull);
        }
        if self.total >= self.capacity {
            return Err(Refusal::Full);
        }
        self.recent.insert(key);
        self.total += 1;
        *self.pending.entry(namespace.to_string()).or_insert(0) += 1;
        Ok(())
    }

    /// A delivery of `namespace` ended (delivered or not): its place is free.
    pub fn finish(&mut self, namespace: &str) {
        self.total = self.total.saturating_sub(1);
        if let Some(pending) = self.pending.get_mut(namespace) {
            *pending = pending.saturating_sub(1);
            if *pending == 0 {
                self.pending.remove(namespace);
            }
        }
    }
}

/// A [`Backlog`] shared between the enqueuing reconciles and the delivery tasks.
pub type Shared = Arc<Mutex<Backlog>>;

/// Locks `backlog`. A panic while it was held cannot leave it half-changed (every change is a
/// counter step or a collection operation), so a poisoned lock is taken as it is.
fn lock(backlog: &Shared) -> MutexGuard<'_, Backlog> {
    backlog.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An admitted delivery's place in the backlog, given back when dropped: when the delivery ends
/// however it ends, its task aborted at shutdown included.
#[derive(Debug)]
pub struct Slot {
    backlog: Shared,
    namespace: String,
}

/// Admits a delivery of `key` from `namespace` into `backlog`: its [`Slot`], or why not.
pub fn admit(backlog: &Shared, namespace: &str, key: &str) -> Result<Slot, Refusal> {
    lock(backlog).admit(namespace, key)?;
    Ok(Slot {
        backlog: Arc::clone(backlog),
        namespace: namespace.to_string(),
    })
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.backlog).finish(&self.namespace);
    }
}

/// The keys delivered lately, oldest forgotten first.
#[derive(Debug, Default)]
struct Recent {
    order: VecDeque<String>,
    keys: HashSet<String>,
}

impl Recent {
    fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Remembers `key`; false when it was already there.
    fn insert(&mut self, key: &str) -> bool {
        if self.keys.contains(key) {
            return false;
        }
        if self.order.len() == REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.keys.remove(&oldest);
        }
        self.order.push_back(key.to_string());
        self.keys.insert(key.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_delivered_once_and_old_keys_are_forgotten() {
        let mut recent = Recent::default();
        assert!(recent.insert("a"));
        assert!(!recent.insert("a"));
        for i in 0..REMEMBERED {
            recent.insert(&i.to_string());
        }
        assert!(recent.insert("a"), "forgotten after {REMEMBERED} others");
        assert!(recent.order.len() <= REMEMBERED);
    }

    #[test]
    fn a_flooding_namespace_drops_its_own_deliveries_not_the_others() {
        let mut backlog = Backlog::new(10, 4);
        let admitted = (0..100)
            .filter(|i| backlog.admit("hostile", &format!("h{i}")).is_ok())
            .count();
        assert_eq!(admitted, 4);
        assert_eq!(
            backlog.admit("hostile", "h-more"),
            Err(Refusal::NamespaceFull)
        );
        assert_eq!(backlog.admit("honest", "a"), Ok(()));
        assert_eq!(backlog.admit("honest", "a"), Err(Refusal::Duplicate));
        // Once its deliveries end, the namespace has room again.
        backlog.finish("hostile");
        assert_eq!(backlog.admit("hostile", "h-more"), Ok(()));
    }

    #[test]
    fn the_whole_queue_is_bounded_too() {
        let mut backlog = Backlog::new(6, 4);
        for ns in ["a", "b", "c"] {
            for i in 0..2 {
                assert_eq!(backlog.admit(ns, &format!("{ns}{i}")), Ok(()));
            }
        }
        assert_eq!(backlog.admit("d", "d0"), Err(Refusal::Full));
        assert_eq!(Refusal::Full.label(), "dropped");
        // A refused key was not remembered: it can be sent once there is room.
        backlog.finish("a");
        assert_eq!(backlog.admit("d", "d0"), Ok(()));
        assert!(backlog.pending.len() == 4 && backlog.total == 6);
    }

    #[test]
    fn a_slot_gives_its_place_back_when_dropped() {
        let shared: Shared = Arc::new(Mutex::new(Backlog::new(1, 1)));
        let slot = admit(&shared, "a", "k1").unwrap();
        assert_eq!(admit(&shared, "b", "k2").unwrap_err(), Refusal::Full);
        drop(slot);
        let _b = admit(&shared, "b", "k2").unwrap();
        assert!(lock(&shared).pending.contains_key("b"));
    }
}
