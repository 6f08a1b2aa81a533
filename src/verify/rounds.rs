//! Rounds into a verdict: `failureThreshold` consecutive failed rounds fail, a passing round
//! passes. Pure; the caller owns the clock.

/// Where verification stands after the rounds so far; its name is the metric's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Verdict {
    /// Not decided: no round yet, or failed rounds below the threshold.
    Pending,
    /// The last round passed.
    Passed,
    /// `failureThreshold` rounds in a row failed.
    Failed,
}

/// Counts consecutive failed rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundTracker {
    threshold: u32,
    consecutive_failures: u32,
}

impl RoundTracker {
    /// A tracker that fails after `threshold` failed rounds in a row (at least one).
    pub fn new(threshold: u32) -> Self {
        Self {
            threshold: threshold.max(1),
            consecutive_failures: 0,
        }
    }

    /// A tracker that resumes after `failures` failed rounds in a row (read back from status
    /// after a restart).
    pub fn resume(threshold: u32, failures: u32) -> Self {
        Self {
            consecutive_failures: failures,
            ..Self::new(threshold)
        }
    }

    /// The failed rounds in a row so far.
    pub fn failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Records a round, passed or not (see `gate::judge_round`).
    pub fn record(&mut self, passed: bool) -> Verdict {
        if passed {
            self.consecutive_failures = 0;
            return Verdict::Passed;
        }
        self.consecutive_failures += 1;
        if self.consecutive_failures >= self.threshold {
            Verdict::Failed
        } else {
            Verdict::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: bool = true;
    const FAIL: bool = false;

    #[test]
    fn a_resumed_tracker_fails_at_the_threshold_counting_the_rounds_before() {
        let mut tracker = RoundTracker::resume(3, 2);
        assert_eq!(tracker.failures(), 2);
        assert_eq!(tracker.record(FAIL), Verdict::Failed);
        let mut tracker = RoundTracker::resume(3, 2);
        assert_eq!(tracker.record(PASS), Verdict::Passed);
        assert_eq!(tracker.failures(), 0);
    }

    #[test]
    fn verdicts_follow_consecutive_failures() {
        // (rounds, threshold, expected verdict after the last round)
        let table: &[(&[bool], u32, Verdict)] = &[
            (&[PASS], 3, Verdict::Passed),
            (&[FAIL], 3, Verdict::Pending),
            (&[FAIL, FAIL], 3, Verdict::Pending),
            (&[FAIL, FAIL, FAIL], 3, Verdict::Failed),
            (&[FAIL, FAIL, PASS], 3, Verdict::Passed),
            (&[FAIL, PASS, FAIL, FAIL], 3, Verdict::Pending),
            (&[FAIL], 1, Verdict::Failed),
        ];
        for (rounds, threshold, expected) in table {
            let mut tracker = RoundTracker::new(*threshold);
            let verdict = rounds.iter().map(|r| tracker.record(*r)).last().unwrap();
            assert_eq!(
                verdict, *expected,
                "rounds {rounds:?} threshold {threshold}"
            );
        }
    }
}
