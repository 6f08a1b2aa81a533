//! What one checklist's verification may cost: time per check and per round, requests per round,
//! and requests per second for its whole namespace. A tenant writes the checks and chooses how
//! slowly its app answers; these bounds keep either from taking capacity the other tenants need.
//!
//! The engine charges every request here before sending it ([`Round::charge`], [`Pacer::wait`]),
//! and runs every check under [`Round::time_left`], so a new check kind gets the same bounds by
//! sending through the engine.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

/// The bounds of one checklist's rounds (operator flags `--verification-check-seconds`,
/// `--verification-round-seconds`, `--verification-round-requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest one check may take in a round, all its requests included.
    pub check_time: Duration,
    /// The longest one round may take; checks not finished by then fail.
    pub round_time: Duration,
    /// The most requests one round may send, all checks together.
    pub round_requests: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            check_time: Duration::from_secs(60),
            round_time: Duration::from_secs(120),
            round_requests: 400,
        }
    }
}

/// One round's budget: a deadline and a count of requests left, shared by its checks.
#[derive(Debug)]
pub struct Round {
    limits: Limits,
    deadline: Instant,
    requests_left: AtomicU32,
    number: u64,
}

/// Why a request was not sent: the round's budget is spent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    /// Every request the round may send was sent.
    #[error("the round's budget of {0} requests is spent")]
    Requests(u32),
    /// The round or the check ran out of time.
    #[error("its time budget of {} s is spent", .0.as_secs())]
    Time(Duration),
}

impl Round {
    /// A round starting now.
    pub fn start(limits: Limits) -> Self {
        Self {
            limits,
            deadline: Instant::now() + limits.round_time,
            requests_left: AtomicU32::new(limits.round_requests),
            number: 0,
        }
    }

    /// The same round, as round `number` of its stage.
    pub fn numbered(self, number: u64) -> Self {
        Self { number, ..self }
    }

    /// Which round of its stage this is (0 when not counted).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// How long a check starting now may take: its own budget, within the round's.
    pub fn time_left(&self) -> Duration {
        self.limits
            .check_time
            .min(self.deadline.saturating_duration_since(Instant::now()))
    }

    /// The limits this round runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Takes one request from the round's budget.
    pub fn charge(&self) -> Result<(), OverBudget> {
        self.requests_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .map(|_| ())
            .map_err(|_| OverBudget::Requests(self.limits.round_requests))
    }
}

/// Requests per second a namespace's checks may send, all its checklists together
/// (`--verification-namespace-rps`), with a burst of twice that.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

/// Buckets kept before idle ones are forgotten.
const BUCKETS_KEPT: usize = 256;

impl Pacer {
    /// `rate` requests per second per key (at least one), bursts of twice that.
    pub fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            burst: rate * 2.0,
            buckets: Arc::default(),
        }
    }

    /// Waits until `key` may send one more request; refuses when that would be past `deadline`.
    pub async fn wait(&self, key: &str, deadline: Instant) -> Result<(), OverBudget> {
        let now = Instant::now();
        let wait = {
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            if buckets.len() > BUCKETS_KEPT {
                buckets.retain(|_, b| !b.idle(now, self.rate, self.burst));
            }
            let bucket = buckets
                .entry(key.to_string())
                .or_insert_with(|| Bucket::full(now, self.burst));
            let wait = bucket.reserve(now, self.rate, self.burst);
            if now + wait > deadline {
                // Given back: a request not sent must not delay the namespace's next one.
                bucket.tokens += 1.0;
                return Err(OverBudget::Time(deadline.saturating_duration_since(now)));
            }
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

/// A token bucket: `tokens` at `at`, refilled at the rate, never above the burst. Tokens may go
/// below zero: each caller reserves its place in line and waits until its token is due, so
/// callers are served in order without polling.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(now: Instant, burst: f64) -> Self {
        Self {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant, rate: f64, burst: f64) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
    }

    /// Takes a token; how long to wait before using it.
    fn reserve(&mut self, now: Instant, rate: f64, burst: f64) -> Duration {
        self.refill(now, rate, burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate)
        }
    }

    fn idle(&self, now: Instant, rate: f64, burst: f64) -> bool {
        let mut refilled = *self;
        refilled.refill(now, rate, burst);
        refilled.tokens >= burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_refuses_requests_past_its_budget() {
        let round = Round::start(Limits {
            round_requests: 2,
            ..Limits::default()
        });
        assert_eq!(round.charge(), Ok(()));
        assert_eq!(round.charge(), Ok(()));
        assert_eq!(round.charge(), Err(OverBudget::Requests(2)));
        assert_eq!(
            OverBudget::Requests(2).to_string(),
            "the round's budget of 2 requests is spent"
        );
    }

    #[test]
    fn a_check_gets_its_own_budget_within_the_rounds() {
        let round = Round::start(Limits {
            check_time: Duration::from_secs(60),
            round_time: Duration::from_secs(10),
            round_requests: 1,
        });
        assert!(round.time_left() <= Duration::from_secs(10));
        let round = Round::start(Limits::default());
        assert!(round.time_left() <= Duration::from_secs(60));
        assert!(round.time_left() > Duration::from_secs(59));
    }

    #[test]
    fn a_bucket_lets_a_burst_through_then_paces() {
        let start = Instant::now();
        let mut bucket = Bucket::full(start, 4.0);
        let waits: Vec<Duration> = (0..6).map(|_| bucket.reserve(start, 2.0, 4.0)).collect();
        assert_eq!(&waits[..4], &[Duration::ZERO; 4]);
        assert_eq!(waits[4], Duration::from_millis(500));
        assert_eq!(waits[5], Duration::from_secs(1));
        // A second later two tokens came back, both already reserved.
        let later = bucket.reserve(start + Duration::from_secs(1), 2.0, 4.0);
        assert_eq!(later, Duration::from_millis(500));
    }

    #[test]
    fn a_bucket_refills_no_higher_than_its_burst() {
        let start = Instant::now();
        let mut bucket = Bucket::full(start, 4.0);
        bucket.reserve(start, 2.0, 4.0);
        assert!(!bucket.idle(start, 2.0, 4.0));
        let hour = start + Duration::from_secs(3600);
        assert!(bucket.idle(hour, 2.0, 4.0));
        bucket.refill(hour, 2.0, 4.0);
        assert_eq!(bucket.tokens, 4.0);
    }

    #[tokio::test]
    async fn the_pacer_refuses_a_wait_past_the_deadline() {
        let pacer = Pacer::new(1);
        let soon = Instant::now() + Duration::from_millis(100);
        assert_eq!(pacer.wait("ns", soon).await, Ok(()));
        assert_eq!(pacer.wait("ns", soon).await, Ok(()));
        // The burst (2) is spent; the next token is a second away.
        assert!(matches!(
            pacer.wait("ns", soon).await,
            Err(OverBudget::Time(_))
        ));
        // Another namespace has its own bucket.
        assert_eq!(pacer.wait("other", soon).await, Ok(()));
    }
}
