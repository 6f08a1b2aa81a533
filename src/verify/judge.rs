//! Judging an `http` check's response off the runtime's worker threads, under a time budget.
//!
//! The judgement parses a body the app chose and evaluates keys a tenant wrote; the caps of
//! [`super::jsonpath`] keep it to milliseconds, but it is still CPU work that would otherwise
//! hold a runtime worker every other checklist's reconcile needs. On a blocking thread with a
//! deadline, a judgement that somehow ran long costs one blocking thread, not the operator.

use std::time::Duration;

use crate::api::HttpCheck;

use super::{
    checks::{self, Evaluation},
    client::{Response, humanize},
};

/// The longest the operator waits for one response's judgement. The caps make the real cost a
/// few milliseconds; this is the backstop, generous so a busy machine does not fail a check.
pub const JUDGE_TIMEOUT: Duration = Duration::from_secs(2);

/// [`checks::http::evaluate`] on a blocking thread, failing the check when it takes longer than
/// `timeout` or does not finish.
pub async fn http(check: &HttpCheck, response: Response, timeout: Duration) -> Evaluation {
    let check = check.clone();
    let task = tokio::task::spawn_blocking(move || checks::http::evaluate(&check, &response));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(evaluation)) => evaluation,
        Ok(Err(error)) => Evaluation::fail(format!("judging the response failed: {error}")),
        Err(_) => Evaluation::fail(format!(
            "judging the response took longer than {}",
            humanize(timeout)
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use reqwest::header::HeaderMap;

    use super::*;

    fn check(key: &str) -> HttpCheck {
        HttpCheck {
            expect_json: BTreeMap::from([(key.to_string(), "ok".to_string())]),
            ..crate::verify::checks::http::health_check()
        }
    }

    fn response(body: &'static str) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
            truncated: false,
            latency: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn the_judgement_comes_back_from_the_blocking_thread() {
        let passed = http(
            &check("status"),
            response(r#"{"status":"ok"}"#),
            JUDGE_TIMEOUT,
        )
        .await;
        assert!(passed.passed, "{}", passed.message);
        let failed = http(&check("$..*..*..*"), response("{}"), JUDGE_TIMEOUT).await;
        assert_eq!(
            failed.message,
            "$..*..*..* has 3 descendant (..) segments, over the limit of 2"
        );
    }
}
