//! One delivery's attempts: how many, how long each may take, how long between them, and what an
//! answer means. Bounded so that a target that never answers costs one delivery at most
//! [`BUDGET`] of sending, and pure so the bound is tested rather than hoped for.

use std::time::Duration;

use url::Url;

use crate::verify::client::FetchError;

/// Attempts per delivery: the first and three retries, 1, 2 and 4 seconds apart (jittered).
pub const ATTEMPTS: u32 = 4;

/// How long one POST may take, connection to last byte. Chat webhooks answer in well under a
/// second; a target taking longer is broken, and waiting on it only holds a share.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The wait before the first retry; it doubles for each next one.
pub const RETRY_BASE: Duration = Duration::from_secs(1);

/// The most time one delivery spends sending and backing off, whatever its target does:
/// [`ATTEMPTS`] × [`TIMEOUT`] and the longest backoffs between them (see [`worst_case`]). Time
/// waiting for a turn (a fair share of the deliveries in flight) is not in it: that depends on
/// the namespace's own other deliveries, not on anyone else's.
pub const BUDGET: Duration = Duration::from_secs(30);

/// What an attempt's outcome means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The target took it.
    Delivered,
    /// A failure that may heal (429, 5xx, no answer, a broken connection): try again.
    Retry(String),
    /// A failure another attempt would repeat (4xx): give up.
    GiveUp(String),
    /// The egress guard refused the target: give up and say so.
    Refused(String),
}

/// The verdict on one POST to `url`: its status code or why there was none. The text never
/// holds the URL's path, which for Slack and Teams webhooks is the credential.
pub fn judge(sent: Result<u16, &FetchError>, url: &Url) -> Verdict {
    match sent {
        Ok(status) if (200..300).contains(&status) => Verdict::Delivered,
        Ok(status) if status == 429 || status >= 500 => {
            Verdict::Retry(format!("answered {status}"))
        }
        Ok(status) => Verdict::GiveUp(format!("answered {status}")),
        Err(FetchError::Blocked(blocked)) => {
            Verdict::Refused(format!("refused by the egress guard: {blocked}"))
        }
        Err(error) => Verdict::Retry(without_path(&error.to_string(), url)),
    }
}

/// The wait before attempt `attempt + 1`: base × 2^(attempt−1), ±20 %.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    exact_backoff(base, attempt).mul_f64(0.8 + 0.4 * fastrand::f64())
}

fn exact_backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.saturating_sub(1).min(10))
}

/// Whether another attempt after `spent` sending and backing off, and `wait` more, still ends
/// within [`BUDGET`] should it time out. With the constants above it always does (see
/// [`worst_case`]); the check keeps the budget a bound should they change.
pub fn within_budget(spent: Duration, wait: Duration) -> bool {
    spent.saturating_add(wait).saturating_add(TIMEOUT) <= BUDGET
}

/// The longest a delivery can spend sending with `base` between retries: every attempt timing
/// out and every backoff at its longest (+20 %).
#[cfg(test)]
fn worst_case(timeout: Duration, base: Duration) -> Duration {
    (1..ATTEMPTS).fold(timeout.saturating_mul(ATTEMPTS), |total, attempt| {
        total.saturating_add(exact_backoff(base, attempt).mul_f64(1.2))
    })
}

/// A transport error's text without the URL's path, which for Slack and Teams webhooks is the
/// credential.
pub fn without_path(text: &str, url: &Url) -> String {
    let path = url.path();
    if path.len() > 1 {
        text.replace(path, "/…")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_stays_within_its_budget() {
        let worst = worst_case(TIMEOUT, RETRY_BASE);
        println!(
            "worst case of one delivery: {ATTEMPTS} attempts × {TIMEOUT:?} + backoff = {worst:?} (budget {BUDGET:?})"
        );
        assert!(worst <= BUDGET, "{worst:?}");
        let before_last = worst - TIMEOUT - RETRY_BASE.mul_f64(4.0 * 1.2);
        assert!(within_budget(before_last, RETRY_BASE.mul_f64(4.0 * 1.2)));
        assert!(!within_budget(BUDGET - TIMEOUT, Duration::from_millis(1)));
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter() {
        for attempt in 1..ATTEMPTS {
            let wait = backoff(RETRY_BASE, attempt);
            let exact = 2f64.powi(i32::try_from(attempt).unwrap() - 1);
            assert!(wait.as_secs_f64() >= exact * 0.8 && wait.as_secs_f64() <= exact * 1.2);
        }
    }

    #[test]
    fn what_may_heal_is_retried_and_what_cannot_is_not() {
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/SECRETxyz").unwrap();
        assert_eq!(judge(Ok(204), &url), Verdict::Delivered);
        assert_eq!(judge(Ok(503), &url), Verdict::Retry("answered 503".into()));
        assert_eq!(judge(Ok(429), &url), Verdict::Retry("answered 429".into()));
        assert_eq!(judge(Ok(404), &url), Verdict::GiveUp("answered 404".into()));
        let timeout = FetchError::Timeout(TIMEOUT);
        assert_eq!(
            judge(Err(&timeout), &url),
            Verdict::Retry("no answer within 5s".into())
        );
        let broken = FetchError::Transport(
            "cannot connect to https://hooks.slack.com/services/T0/B0/SECRETxyz: refused".into(),
        );
        let Verdict::Retry(why) = judge(Err(&broken), &url) else {
            panic!("a broken connection may heal");
        };
        assert!(!why.contains("SECRET"), "{why}");
    }

    #[test]
    fn errors_never_show_the_webhook_path() {
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/SECRETxyz").unwrap();
        let text = "cannot connect to https://hooks.slack.com/services/T0/B0/SECRETxyz: refused";
        let shown = without_path(text, &url);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(
            shown,
            "cannot connect to https://hooks.slack.com/…: refused"
        );
    }
}
