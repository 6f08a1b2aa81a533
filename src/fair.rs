//! Fair shares of a limited capacity: verification rounds, notification deliveries and
//! reconciles are granted per tenant (a namespace) in turn, like the API server's priority and
//! fairness, so one namespace with a hundred checklists cannot keep another waiting.
//!
//! [`FairShare`] is a semaphore with two rules a first-come, first-served one lacks:
//! - no key holds more than its share (`per_key`) of the permits, so part of the capacity is
//!   always left for the others;
//! - when a permit comes free it goes to the next key in turn among those waiting (round-robin),
//!   not to whoever queued first, so a key with many waiters gets one turn like any other.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::oneshot;

/// A semaphore of `total` permits shared fairly between keys.
#[derive(Clone)]
pub struct FairShare {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FairShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("FairShare")
            .field("total", &state.total)
            .field("per_key", &state.per_key)
            .field("in_use", &state.in_use)
            .finish()
    }
}

struct State {
    total: usize,
    per_key: usize,
    in_use: usize,
    /// Permits held, by key (keys holding none are removed).
    held: HashMap<Arc<str>, usize>,
    /// Waiters, by key, in the order they came.
    waiting: HashMap<Arc<str>, VecDeque<oneshot::Sender<()>>>,
    /// Keys with waiters, in the order they get their next turn.
    turns: VecDeque<Arc<str>>,
}

/// A granted permit; dropping it hands the place to the next key in turn.
#[derive(Debug)]
pub struct Permit {
    share: FairShare,
    key: Arc<str>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.share.release(&self.key);
    }
}

/// What [`FairShare::snapshot`] reports: how the capacity is used right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Permits held in all.
    pub in_use: usize,
    /// Callers waiting in all.
    pub waiting: usize,
    /// Keys holding at least one permit.
    pub keys_holding: usize,
}

impl FairShare {
    /// `total` permits (at least one), of which one key may hold at most `per_key` (at least
    /// one, at most `total`).
    pub fn new(total: usize, per_key: usize) -> Self {
        let total = total.max(1);
        Self {
            state: Arc::new(Mutex::new(State {
                total,
                per_key: per_key.clamp(1, total),
                in_use: 0,
                held: HashMap::new(),
                waiting: HashMap::new(),
                turns: VecDeque::new(),
            })),
        }
    }

    /// The share a key gets when `total` permits are split so that at least `parts` keys can
    /// each hold one share at once: `total / parts`, at least one.
    pub fn share_of(total: usize, parts: usize) -> usize {
        (total / parts.max(1)).max(1)
    }

    /// Waits for a permit for `key`. Cancel-safe: a caller dropped while waiting (an aborted
    /// task) gives back a permit granted to it but never taken.
    pub async fn acquire(&self, key: &str) -> Permit {
        let key: Arc<str> = Arc::from(key);
        let receiver = {
            let mut state = self.lock();
            if state.can_grant(&key) && !state.waiting.contains_key(&key) {
                state.grant(&key);
                return self.permit(key);
            }
            let (sender, receiver) = oneshot::channel();
            if !state.waiting.contains_key(&key) {
                state.turns.push_back(Arc::clone(&key));
            }
            state
                .waiting
                .entry(Arc::clone(&key))
                .or_default()
                .push_back(sender);
            receiver
        };
        let mut waiter = Waiter {
            share: self,
            key: Some(key),
            receiver,
        };
        // The sender is only dropped after a grant was sent (the permit counted) or when the
        // waiter's own receiver closed; a closed channel cannot be seen here while we wait.
        let _granted = (&mut waiter.receiver).await;
        let key = waiter.key.take().unwrap_or_else(|| Arc::from(""));
        self.permit(key)
    }

    /// A permit for `key` now, or None when the capacity or the key's share is taken (or others
    /// of the key wait already): for a caller that would rather come back later than queue.
    pub fn try_acquire(&self, key: &str) -> Option<Permit> {
        let key: Arc<str> = Arc::from(key);
        let mut state = self.lock();
        if !state.can_grant(&key) || state.waiting.contains_key(&key) {
            return None;
        }
        state.grant(&key);
        drop(state);
        Some(self.permit(key))
    }

    /// How the capacity is used now (for metrics and tests).
    pub fn snapshot(&self) -> Usage {
        let state = self.lock();
        Usage {
            in_use: state.in_use,
            waiting: state.waiting.values().map(VecDeque::len).sum(),
            keys_holding: state.held.len(),
        }
    }

    fn permit(&self, key: Arc<str>) -> Permit {
        Permit {
            share: self.clone(),
            key,
        }
    }

    fn release(&self, key: &Arc<str>) {
        let mut state = self.lock();
        state.ungrant(key);
        state.dispatch();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves counts that are still consistent: every change
        // below is a single arithmetic step or a collection operation that cannot half-happen.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A caller waiting for a permit; dropped unfinished, it returns a grant it never took.
struct Waiter<'a> {
    share: &'a FairShare,
    /// None once the permit was taken.
    key: Option<Arc<str>>,
    receiver: oneshot::Receiver<()>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        // Closing first means no grant can be sent after the check below.
        self.receiver.close();
        if self.receiver.try_recv().is_ok() {
            self.share.release(&key);
        }
    }
}

impl State {
    fn can_grant(&self, key: &str) -> bool {
        self.in_use < self.total && self.held.get(key).copied().unwrap_or(0) < self.per_key
    }

    fn grant(&mut self, key: &Arc<str>) {
        self.in_use += 1;
        *self.held.entry(Arc::clone(key)).or_insert(0) += 1;
    }

    fn ungrant(&mut self, key: &str) {
        self.in_use = self.in_use.saturating_sub(1);
        if let Some(held) = self.held.get_mut(key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.held.remove(key);
            }
        }
    }

    /// Grants free permits to waiting keys, one per key per turn, while any can take one.
    fn dispatch(&mut self) {
        let mut passed = 0;
        // Each pass over the turns either grants or skips a key at its share; a full pass with
        // no grant means nobody waiting can take a permit now.
        while self.in_use < self.total && passed < self.turns.len() {
            let Some(key) = self.turns.pop_front() else {
                break;
            };
            if !self.can_grant(&key) {
                self.turns.push_back(key);
                passed += 1;
                continue;
            }
            let granted = self.grant_next(&key);
            let more = self.waiting.get(&key).is_some_and(|q| !q.is_empty());
            if more {
                self.turns.push_back(Arc::clone(&key));
            } else {
                self.waiting.remove(&key);
            }
            passed = if granted { 0 } else { passed + 1 };
        }
    }

    /// Sends a grant to the oldest live waiter of `key`; waiters that gave up are dropped.
    fn grant_next(&mut self, key: &Arc<str>) -> bool {
        let Some(queue) = self.waiting.get_mut(key) else {
            return false;
        };
        while let Some(sender) = queue.pop_front() {
            if sender.is_closed() {
                continue;
            }
            if sender.send(()).is_ok() {
                self.grant(key);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    #[tokio::test]
    async fn one_key_holds_no_more_than_its_share() {
        let share = FairShare::new(4, 2);
        let a1 = share.acquire("a").await;
        let _a2 = share.acquire("a").await;
        let waiting = tokio::spawn({
            let share = share.clone();
            async move { share.acquire("a").await }
        });
        settle().await;
        assert_eq!(share.snapshot().in_use, 2, "a third for a waits");
        // Another key still gets a permit at once.
        let _b = share.acquire("b").await;
        assert_eq!(share.snapshot().in_use, 3);
        drop(a1);
        let _a3 = waiting.await.unwrap();
        assert_eq!(share.snapshot().in_use, 3);
    }

    #[tokio::test]
    async fn freed_permits_go_to_keys_in_turn_not_in_arrival_order() {
        let share = FairShare::new(1, 1);
        let first = share.acquire("hostile").await;
        let (sender, mut order) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        // Ten from one namespace queue first, then one from another.
        for (i, key) in std::iter::repeat_n("hostile", 10)
            .chain(["honest"])
            .enumerate()
        {
            let share = share.clone();
            let sender = sender.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = share.acquire(key).await;
                sender.send((i, key)).unwrap();
                settle().await;
            }));
            settle().await;
        }
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        drop(sender);
        let mut keys = Vec::new();
        while let Some((_, key)) = order.recv().await {
            keys.push(key);
        }
        let honest_at = keys.iter().position(|k| *k == "honest").unwrap();
        assert!(honest_at <= 1, "honest served at {honest_at}: {keys:?}");
    }

    #[tokio::test]
    async fn a_waiter_dropped_before_its_grant_does_not_leak_the_permit() {
        let share = FairShare::new(1, 1);
        let held = share.acquire("a").await;
        let abandoned = tokio::spawn({
            let share = share.clone();
            async move { share.acquire("b").await }
        });
        settle().await;
        abandoned.abort();
        let _ = abandoned.await;
        drop(held);
        // Had the aborted waiter kept the permit, this would wait forever.
        let again = tokio::time::timeout(Duration::from_secs(1), share.acquire("c")).await;
        assert!(again.is_ok());
        assert_eq!(share.snapshot().in_use, 1);
    }

    #[test]
    fn a_grant_sent_to_a_waiter_that_then_goes_away_is_given_back() {
        let share = FairShare::new(1, 1);
        let held = futures::executor::block_on(share.acquire("a"));
        let mut pending = Box::pin(share.acquire("b"));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(pending.as_mut().poll(&mut cx).is_pending());
        // The grant is sent to b, which is dropped before it runs again.
        drop(held);
        assert_eq!(share.snapshot().in_use, 1);
        drop(pending);
        assert_eq!(share.snapshot().in_use, 0);
    }

    #[test]
    fn try_acquire_refuses_past_the_share_and_frees_on_drop() {
        let share = FairShare::new(3, 2);
        let a1 = share.try_acquire("a").unwrap();
        let _a2 = share.try_acquire("a").unwrap();
        assert!(share.try_acquire("a").is_none(), "a is at its share");
        let _b = share.try_acquire("b").unwrap();
        assert!(share.try_acquire("c").is_none(), "the capacity is taken");
        drop(a1);
        assert!(share.try_acquire("c").is_some());
    }

    #[test]
    fn shares_split_the_total() {
        assert_eq!(FairShare::share_of(64, 4), 16);
        assert_eq!(FairShare::share_of(8, 4), 2);
        assert_eq!(FairShare::share_of(2, 4), 1);
        assert_eq!(FairShare::share_of(2, 0), 2);
    }
}
