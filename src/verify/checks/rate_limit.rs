//! `rateLimit` checks: the same request sent one after another until the limit answers.

use crate::api::RateLimitCheck;

use super::Evaluation;
use super::kind::{Judged, Kind, Reach};
use super::lint;
use crate::verify::budget::Round;
use futures::future::BoxFuture;

impl Kind for RateLimitCheck {
    fn judge<'a>(
        &'a self,
        _name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let request = reach.request(
                self.method,
                &self.path,
                &self.headers,
                self.body.as_deref(),
                self.content_type.as_deref(),
            )?;
            let mut tally = Tally::new(self);
            let mut last = None;
            while !tally.done() {
                match reach.send(request.clone(), round).await {
                    Ok(response) => {
                        last = Some(response.status);
                        tally.record(response.status);
                    }
                    Err(error) => {
                        let attempt = tally.sent() + 1;
                        let message = format!("attempt {attempt}: {error}");
                        return Ok((Evaluation::fail(message), attempt, None));
                    }
                }
            }
            Ok((tally.evaluate(), tally.sent(), last))
        })
    }

    fn secret_sources(&self) -> Vec<&crate::api::HeaderSource> {
        super::kind::header_secrets(&self.headers)
    }

    fn lint(&self, path: &str) -> Vec<String> {
        let path = format!("{path}.rateLimit");
        let mut out = lint::request_problems(
            &path,
            "rateLimit",
            self.method,
            self.body.is_some(),
            &self.headers,
        );
        if self.within_attempts.is_some_and(|w| w > self.attempts) {
            out.push(format!(
                "{path}.withinAttempts: rateLimit.withinAttempts must not be greater than rateLimit.attempts"
            ));
        }
        out
    }

    /// A burst of attempts runs after the other checks, so it neither slows them nor is counted
    /// against them by the app.
    fn runs_alone(&self) -> bool {
        true
    }

    /// Not again after Ready: a burst of failed logins every interval would lock a real user
    /// out.
    fn runs_after_ready(&self) -> bool {
        false
    }
}

/// The running count of a rate-limit check: fed each status in order, it says when to stop
/// (at the first limited answer, or after the last attempt) and what the verdict is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    expect_status: u16,
    attempts: u32,
    within: u32,
    sent: u32,
    hit: Option<u32>,
}

impl Tally {
    /// A tally for `check`, nothing sent yet.
    pub fn new(check: &RateLimitCheck) -> Self {
        let attempts = check.attempts.max(1).unsigned_abs();
        Self {
            expect_status: u16::try_from(check.expect_status).unwrap_or(429),
            attempts,
            within: check
                .within_attempts
                .map_or(attempts, |w| w.max(1).unsigned_abs()),
            sent: 0,
            hit: None,
        }
    }

    /// Records the status of the next attempt.
    pub fn record(&mut self, status: u16) {
        self.sent += 1;
        if self.hit.is_none() && status == self.expect_status {
            self.hit = Some(self.sent);
        }
    }

    /// Whether to stop sending: the limit answered, or every attempt is spent.
    pub fn done(&self) -> bool {
        self.hit.is_some() || self.sent >= self.attempts
    }

    /// How many requests were sent.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// The verdict so far.
    pub fn evaluate(&self) -> Evaluation {
        let status = self.expect_status;
        match self.hit {
            Some(at) if at <= self.within => {
                Evaluation::pass(format!("{status} at attempt {at} (within {})", self.within))
            }
            Some(at) => Evaluation::fail(format!(
                "{status} only at attempt {at}, expected within {}",
                self.within
            )),
            None => Evaluation::fail(format!(
                "no {status} within {} attempts ({} sent)",
                self.within, self.sent
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::HttpMethod;

    fn check(attempts: i32, within: Option<i32>) -> RateLimitCheck {
        RateLimitCheck {
            path: "/users/log_in".into(),
            method: HttpMethod::Post,
            body: None,
            content_type: None,
            headers: Vec::new(),
            attempts,
            expect_status: 429,
            within_attempts: within,
        }
    }

    fn run(check: &RateLimitCheck, answers: impl IntoIterator<Item = u16>) -> Tally {
        let mut tally = Tally::new(check);
        for status in answers {
            if tally.done() {
                break;
            }
            tally.record(status);
        }
        tally
    }

    #[test]
    fn a_429_after_five_attempts_passes_within_six_and_stops_there() {
        let statuses = [401, 401, 401, 401, 401, 429, 429, 429, 429, 429];
        let tally = run(&check(10, Some(6)), statuses);
        assert_eq!(tally.sent(), 6);
        let eval = tally.evaluate();
        assert!(eval.passed);
        assert_eq!(eval.message, "429 at attempt 6 (within 6)");
    }

    #[test]
    fn no_429_at_all_fails_after_every_attempt() {
        let tally = run(&check(10, Some(6)), [401; 10]);
        assert_eq!(tally.sent(), 10);
        assert_eq!(
            tally.evaluate().message,
            "no 429 within 6 attempts (10 sent)"
        );
    }

    #[test]
    fn a_429_too_late_fails_and_says_when_it_came() {
        let statuses = [401, 401, 401, 401, 401, 401, 401, 429, 429, 429];
        let tally = run(&check(10, Some(6)), statuses);
        assert_eq!(tally.sent(), 8);
        assert_eq!(
            tally.evaluate().message,
            "429 only at attempt 8, expected within 6"
        );
    }

    #[test]
    fn without_within_any_attempt_counts() {
        let tally = run(&check(3, None), [200, 200, 429]);
        assert_eq!(tally.evaluate().message, "429 at attempt 3 (within 3)");
    }
}
