//! Judging an `http` check's response off the runtime's worker threads, under a time budget.
//!
//! The judgement parses a body the app chose and evaluates keys a tenant wrote; the caps of
//! [`crate::verify::json`] keep it to milliseconds, but it is still CPU work that would otherwise
//! hold a runtime worker every other checklist's reconcile needs. On a blocking thread with a
//! deadline, a judgement that somehow ran long costs one blocking thread, not the operator, and
//! only until its deadline: a timeout alone would abandon the thread still working, so the
//! judgement is cancelled too, and stops itself at its next step.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::api::HttpCheck;

use super::{
    super::client::{Response, humanize},
    Evaluation,
};

/// The longest the operator waits for one response's judgement. The caps make the real cost a
/// few milliseconds; this is the backstop, generous so a busy machine does not fail a check.
pub const JUDGE_TIMEOUT: Duration = Duration::from_secs(2);

/// [`super::http::evaluate_cancellable`] on a blocking thread, failing the check when it takes
/// longer than `timeout` or does not finish. The judgement is cancelled when this returns or is
/// dropped, so it never outlives the wait for it.
pub async fn http(check: &HttpCheck, response: Response, timeout: Duration) -> Evaluation {
    let check = check.clone();
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&cancel.0);
    let task = tokio::task::spawn_blocking(move || {
        super::http::evaluate_cancellable(&check, &response, &flag)
    });
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(evaluation)) => evaluation,
        Ok(Err(error)) => Evaluation::fail(format!("judging the response failed: {error}")),
        Err(_) => Evaluation::fail(format!(
            "judging the response took longer than {}",
            humanize(timeout)
        )),
    }
}

/// Sets its flag when dropped: on a timeout, on an early return, and when the caller's future
/// is dropped (a round given up on), which no timeout branch would see.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
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

    #[test]
    fn a_judgement_past_its_deadline_stops_its_thread() {
        // One blocking thread: the task queued after the judgement runs only once the
        // judgement's thread is free, so its wait is how long the judgement outlived its deadline.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let items: Vec<String> = (0..5000).map(|i| format!(r#"{{"v":{i}}}"#)).collect();
        let body: &'static str = Box::leak(format!("[{}]", items.join(",")).into_boxed_str());
        // 200 keys, each spending its whole step budget: seconds of work if nobody stops it.
        let keys = (1..=200)
            .map(|i| {
                (
                    format!("$[?$[?@.v == -{i}] || @.v == 4999].v"),
                    "4999".to_string(),
                )
            })
            .collect();
        let costly = HttpCheck {
            expect_json: keys,
            ..crate::verify::checks::http::health_check()
        };
        let waited = runtime.block_on(async {
            let judged = http(&costly, response(body), Duration::from_millis(20)).await;
            assert!(
                judged.message.contains("took longer than"),
                "{}",
                judged.message
            );
            let gave_up = std::time::Instant::now();
            tokio::task::spawn_blocking(move || gave_up.elapsed())
                .await
                .unwrap()
        });
        println!("the judgement's thread was free {waited:?} after its deadline");
        assert!(
            waited < Duration::from_millis(500),
            "the judgement ran {waited:?} on"
        );
    }
}
