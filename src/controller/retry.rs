//! How a failed reconcile is tried again ([`Retry`](crate::error::Retry)): a transient failure
//! after a delay that doubles with each failure in a row, jittered so checklists that failed
//! together do not retry together, up to a cap; a permanent one after a change, or the slow
//! safety net. The schedule is a pure function; the counts of failures in a row live here, in
//! memory, since a restart that forgets them only makes the next retry come sooner.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use super::observe::Key;

/// The delay after the first failure in a row.
const FIRST: Duration = Duration::from_secs(1);

/// The longest delay: the same as the safety net of a checklist at rest.
pub const CAP: Duration = Duration::from_secs(300);

/// The delay before the next attempt after `failures` failures in a row (at least 1): FIRST,
/// doubled for each failure after the first, at most CAP, then scaled into its upper half by
/// `jitter` (in 0..1), so it never exceeds the cap and never drops below half of it.
pub fn backoff_delay(failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let full = FIRST.saturating_mul(1 << doublings).min(CAP);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Failures in a row, by checklist.
#[derive(Debug, Default)]
pub struct Failures(Mutex<HashMap<Key, u32>>);

impl Failures {
    /// Counts one more failure of `key`; how many there are now in a row.
    pub fn record(&self, key: Key) -> u32 {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key).or_default();
        *count = count.saturating_add(1);
        *count
    }

    /// `key` reconciled without error: its next failure starts the schedule over.
    pub fn clear(&self, key: &Key) {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.remove(key);
    }

    /// Forgets the checklists for which `keep` is false (deleted ones).
    pub fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.retain(|key, _| keep(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap() {
        let full: Vec<u64> = (1..=12).map(|n| backoff_delay(n, 1.0).as_secs()).collect();
        assert_eq!(full, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff_delay(u32::MAX, 1.0), CAP);
        assert_eq!(
            backoff_delay(0, 1.0),
            FIRST,
            "the first failure at the least"
        );
    }

    #[test]
    fn jitter_keeps_the_delay_in_the_upper_half() {
        assert_eq!(backoff_delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(3, 0.5), Duration::from_secs(3));
        assert_eq!(backoff_delay(20, 0.0), CAP / 2);
        assert_eq!(backoff_delay(20, 7.0), CAP, "jitter is clamped");
    }

    #[test]
    fn failures_count_in_a_row_and_start_over_after_a_success() {
        let failures = Failures::default();
        let key = ("prod".to_string(), "web".to_string());
        assert_eq!(failures.record(key.clone()), 1);
        assert_eq!(failures.record(key.clone()), 2);
        failures.clear(&key);
        assert_eq!(failures.record(key.clone()), 1);
        failures.retain(|_| false);
        assert_eq!(failures.record(key), 1);
    }
}
