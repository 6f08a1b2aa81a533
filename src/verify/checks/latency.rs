//! `latency` checks: the same request sent one after another, the latency percentiles held to
//! their budgets. Fed one answer at a time, so a check stops as soon as its verdict is certain.

use std::time::Duration;

use crate::api::LatencyCheck;

use super::kind::{Judged, Kind, Reach};
use super::{Evaluation, either};
use crate::api::HttpMethod;
use crate::verify::budget::Round;
use futures::future::BoxFuture;

impl Kind for LatencyCheck {
    /// Sends the requests one after another, within nine tenths of the check's time budget, so
    /// it stops itself and says what it measured before the budget stops it.
    fn judge<'a>(
        &'a self,
        _name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let request = reach.request(self.method, &self.path, &[], None, None)?;
            let mut samples = Samples::new(self);
            let budget = round.time_left().mul_f64(0.9);
            let deadline = std::time::Instant::now() + budget;
            let mut last = None;
            while !samples.done() {
                if std::time::Instant::now() > deadline {
                    let message = format!(
                        "stopped after {} s with {} of {} requests answered: too slow to measure",
                        budget.as_secs(),
                        samples.sent(),
                        self.requests
                    );
                    return Ok((Evaluation::fail(message), samples.sent(), last));
                }
                match reach.send(request.clone(), round).await {
                    Ok(response) => {
                        last = Some(response.status);
                        samples.record(response.status, response.latency);
                    }
                    Err(error) => {
                        let attempt = samples.sent() + 1;
                        let message = format!("request {attempt}: {error}");
                        return Ok((Evaluation::fail(message), attempt, None));
                    }
                }
            }
            Ok((samples.evaluate(), samples.sent(), last))
        })
    }

    fn lint(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.p50_ms.is_none() && self.p95_ms.is_none() && self.p99_ms.is_none() {
            out.push(format!(
                "{path}.latency: latency needs at least one budget: p50Ms, p95Ms or p99Ms"
            ));
        }
        if !matches!(
            self.method,
            HttpMethod::Get | HttpMethod::Head | HttpMethod::Options
        ) {
            out.push(format!(
                "{path}.latency.method: latency.method must be GET, HEAD or OPTIONS"
            ));
        }
        out
    }

    fn measures(&self) -> bool {
        true
    }
}

/// One budget: the percentile and the slowest latency that passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    percentile: u32,
    limit: Duration,
}

/// The running record of a latency check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Samples {
    requests: u32,
    budgets: Vec<Budget>,
    expect_status: Vec<i32>,
    latencies: Vec<Duration>,
    unexpected: Option<(u32, u16)>,
}

impl Samples {
    /// A record for `check`, nothing sent yet.
    pub fn new(check: &LatencyCheck) -> Self {
        let budget = |percentile, ms: Option<i32>| {
            ms.map(|ms| Budget {
                percentile,
                limit: Duration::from_millis(u64::from(ms.max(1).unsigned_abs())),
            })
        };
        Self {
            requests: check
                .requests
                .clamp(1, crate::api::metric_checks::MAX_LATENCY_REQUESTS)
                .unsigned_abs(),
            budgets: [
                budget(50, check.p50_ms),
                budget(95, check.p95_ms),
                budget(99, check.p99_ms),
            ]
            .into_iter()
            .flatten()
            .collect(),
            expect_status: check.expect_status.clone(),
            latencies: Vec::new(),
            unexpected: None,
        }
    }

    /// Records the answer to the next request: its status and how long it took.
    pub fn record(&mut self, status: u16, latency: Duration) {
        self.latencies.push(latency);
        if self.unexpected.is_none() && !self.expect_status.contains(&i32::from(status)) {
            self.unexpected = Some((self.sent(), status));
        }
    }

    /// How many requests were answered.
    pub fn sent(&self) -> u32 {
        u32::try_from(self.latencies.len()).unwrap_or(u32::MAX)
    }

    /// Whether to stop: every request sent, an unexpected status, or a budget already missed
    /// whatever the remaining requests take (so a slow app costs a few timeouts, not all).
    pub fn done(&self) -> bool {
        self.sent() >= self.requests || self.unexpected.is_some() || self.missed().is_some()
    }

    /// The first budget that can no longer be met: more requests over it than the percentile
    /// leaves room for among all the requests.
    fn missed(&self) -> Option<Budget> {
        self.budgets.iter().copied().find(|budget| {
            let over = self.latencies.iter().filter(|l| **l > budget.limit).count();
            let allowed = self.requests - rank(budget.percentile, self.requests);
            u32::try_from(over).unwrap_or(u32::MAX) > allowed
        })
    }

    /// The verdict on what was recorded.
    pub fn evaluate(&self) -> Evaluation {
        if let Some((at, status)) = self.unexpected {
            return Evaluation::fail(format!(
                "request {at} of {} answered {status}, expected {}",
                self.requests,
                either(&self.expect_status)
            ));
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let figures = [50, 95, 99]
            .map(|p| format!("p{p} {}", ms(percentile(&sorted, p))))
            .join(", ");
        if let Some(missed) = self.missed() {
            let over = self.latencies.iter().filter(|l| **l > missed.limit).count();
            return Evaluation::fail(format!(
                "p{} over its budget of {}: {over} of {} requests took longer ({figures} over {} requests)",
                missed.percentile,
                ms(missed.limit),
                self.requests,
                self.sent()
            ));
        }
        let failed: Vec<String> = self
            .budgets
            .iter()
            .filter(|b| percentile(&sorted, b.percentile) > b.limit)
            .map(|b| {
                format!(
                    "p{} {} over {}",
                    b.percentile,
                    ms(percentile(&sorted, b.percentile)),
                    ms(b.limit)
                )
            })
            .collect();
        let budgets = self
            .budgets
            .iter()
            .map(|b| format!("p{} ≤ {}", b.percentile, ms(b.limit)))
            .collect::<Vec<_>>()
            .join(", ");
        if failed.is_empty() {
            Evaluation::pass(format!(
                "{figures} over {} requests (budgets {budgets})",
                self.sent()
            ))
        } else {
            Evaluation::fail(format!(
                "{}: {figures} over {} requests",
                failed.join(", "),
                self.sent()
            ))
        }
    }
}

/// The nearest rank of percentile `p` among `n` values, 1-based: ceil(p/100 × n).
fn rank(p: u32, n: u32) -> u32 {
    (p * n).div_ceil(100).max(1)
}

/// The nearest-rank percentile of sorted latencies (zero when there are none).
pub fn percentile(sorted: &[Duration], p: u32) -> Duration {
    let n = u32::try_from(sorted.len()).unwrap_or(u32::MAX);
    if n == 0 {
        return Duration::ZERO;
    }
    let index = usize::try_from(rank(p, n) - 1).unwrap_or(0);
    sorted[index.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> String {
    // Below 10 ms whole milliseconds hide the figure (a loopback answer reads "0 ms").
    if duration < Duration::from_millis(10) {
        return format!("{:.1} ms", duration.as_secs_f64() * 1e3);
    }
    format!("{} ms", duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(requests: i32, p50: Option<i32>, p95: Option<i32>) -> LatencyCheck {
        LatencyCheck {
            path: "/".into(),
            method: Default::default(),
            requests,
            p50_ms: p50,
            p95_ms: p95,
            p99_ms: None,
            expect_status: vec![200],
        }
    }

    fn run(check: &LatencyCheck, latencies_ms: &[u64]) -> Samples {
        let mut samples = Samples::new(check);
        for ms in latencies_ms {
            if samples.done() {
                break;
            }
            samples.record(200, Duration::from_millis(*ms));
        }
        samples
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 50), Duration::from_millis(10));
        assert_eq!(percentile(&sorted, 95), Duration::from_millis(19));
        assert_eq!(percentile(&sorted, 99), Duration::from_millis(20));
        assert_eq!(percentile(&sorted[..1], 99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn budgets_met_pass_with_the_figures() {
        let samples = run(&check(20, Some(200), Some(1000)), &[10; 20]);
        assert_eq!(samples.sent(), 20);
        let verdict = samples.evaluate();
        assert!(verdict.passed, "{}", verdict.message);
        assert_eq!(
            verdict.message,
            "p50 10 ms, p95 10 ms, p99 10 ms over 20 requests (budgets p50 ≤ 200 ms, p95 ≤ 1000 ms)"
        );
    }

    #[test]
    fn a_budget_missed_fails_and_stops_as_soon_as_it_is_certain() {
        // p95 of 20 requests is the 19th: two slow answers already miss it.
        let mut slow = vec![10; 5];
        slow.extend([1500, 1500]);
        slow.extend([10; 13]);
        let samples = run(&check(20, None, Some(1000)), &slow);
        assert_eq!(samples.sent(), 7, "stopped at the second slow answer");
        let verdict = samples.evaluate();
        assert!(!verdict.passed);
        assert!(
            verdict
                .message
                .starts_with("p95 over its budget of 1000 ms: 2 of 20 requests took longer"),
            "{}",
            verdict.message
        );
        // One slow answer of 20 leaves p95 within budget.
        let mut once = vec![10; 19];
        once.insert(3, 1500);
        assert!(run(&check(20, None, Some(1000)), &once).evaluate().passed);
    }

    #[test]
    fn an_unexpected_status_fails_at_once() {
        let mut samples = Samples::new(&check(20, Some(200), None));
        samples.record(200, Duration::from_millis(5));
        samples.record(503, Duration::from_millis(5));
        assert!(samples.done());
        assert_eq!(
            samples.evaluate().message,
            "request 2 of 20 answered 503, expected 200"
        );
    }

    #[test]
    fn figures_under_10_ms_keep_a_decimal() {
        assert_eq!(ms(Duration::from_micros(420)), "0.4 ms");
        assert_eq!(ms(Duration::from_micros(9_960)), "10.0 ms");
        assert_eq!(ms(Duration::from_millis(10)), "10 ms");
        assert_eq!(ms(Duration::from_millis(1500)), "1500 ms");
    }
}
