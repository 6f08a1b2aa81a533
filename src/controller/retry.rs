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

/// Requeues at least this long are periodic (the safety net of a checklist at rest or stalled),
/// not a timer a step waits on, so they may move.
const PERIODIC: Duration = Duration::from_secs(60);

/// `delay` moved by up to ±10% by `jitter` (in 0..1) when it is periodic: thousands of
/// checklists applied together would otherwise come back for their safety-net look in the same
/// second, every five minutes, for ever. Shorter delays (a pause's end, the next round) are
/// kept exact.
pub fn spread(delay: Duration, jitter: f64) -> Duration {
    if delay < PERIODIC {
        return delay;
    }
    delay.mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0))
}

/// How long the watches wait after an error before they start again: from [`WATCH_FIRST`],
/// doubling, at most [`WATCH_CAP`], each delay jittered into its upper half; back to the start
/// once an event arrives.
///
/// kube's default (client-go's: 0.8 s doubling to 30 s, reset after 2 min of quiet) is shared
/// by every watch of a controller, so after an API server outage the errors of all of them push
/// it to its cap and the controller stays deaf for up to half a minute after the server is
/// back. Seven watches restarting at most every 5 s each cost the API server nothing.
pub(crate) struct WatchBackoff {
    next: Duration,
}

/// The first delay of [`WatchBackoff`].
pub(crate) const WATCH_FIRST: Duration = Duration::from_millis(250);
/// The longest delay of [`WatchBackoff`].
pub(crate) const WATCH_CAP: Duration = Duration::from_secs(5);

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: WATCH_FIRST }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next.mul_f64(0.5 + 0.5 * fastrand::f64());
        self.next = self.next.saturating_mul(2).min(WATCH_CAP);
        Some(delay)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = WATCH_FIRST;
    }
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
    use kube::runtime::utils::Backoff;

    use super::*;

    #[test]
    fn watches_back_off_to_five_seconds_and_start_over_after_an_event() {
        let mut backoff = WatchBackoff::default();
        let delays: Vec<Duration> = backoff.by_ref().take(8).collect();
        assert!(delays[0] >= WATCH_FIRST / 2 && delays[0] <= WATCH_FIRST);
        assert!(delays.iter().all(|d| *d <= WATCH_CAP), "{delays:?}");
        assert!(delays[7] >= WATCH_CAP / 2, "{delays:?}");
        backoff.reset();
        assert!(backoff.next().unwrap() <= WATCH_FIRST);
    }

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
