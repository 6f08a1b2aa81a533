//! Judging a response off the runtime's worker threads, under a time budget.
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

use super::{super::client::humanize, Evaluation};

/// The longest the operator waits for one response's judgement. The caps make the real cost a
/// few milliseconds; this is the backstop, generous so a busy machine does not fail a check.
pub const JUDGE_TIMEOUT: Duration = Duration::from_secs(2);

/// `judgement` on a blocking thread, failing the check when it takes longer than `timeout` or
/// does not finish. The flag it is given is set when this returns or is dropped, so a judgement
/// that checks it never outlives the wait for it.
pub async fn off_runtime<F>(timeout: Duration, judgement: F) -> Evaluation
where
    F: FnOnce(&AtomicBool) -> Evaluation + Send + 'static,
{
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&cancel.0);
    let task = tokio::task::spawn_blocking(move || judgement(&flag));
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

/// Runs `judging` (a judgement given a short deadline) on a runtime with one blocking thread and
/// returns what it said and how long its thread stayed busy after the deadline: the task queued
/// after it runs only once that thread is free.
#[cfg(test)]
pub(super) fn busy_after_deadline<F>(judging: F) -> (Evaluation, Duration)
where
    F: std::future::Future<Output = Evaluation>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let judged = judging.await;
        let gave_up = std::time::Instant::now();
        let waited = tokio::task::spawn_blocking(move || gave_up.elapsed())
            .await
            .expect("the queued task runs");
        (judged, waited)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_judgement_comes_back_from_the_blocking_thread() {
        let passed = off_runtime(JUDGE_TIMEOUT, |_| Evaluation::pass("fine")).await;
        assert!(passed.passed, "{}", passed.message);
    }

    #[test]
    fn a_judgement_past_its_deadline_is_told_to_stop() {
        // Seconds of work if nobody stops it; it looks at its flag between steps.
        let (judged, waited) =
            busy_after_deadline(off_runtime(Duration::from_millis(20), |cancel| {
                let started = std::time::Instant::now();
                while started.elapsed() < Duration::from_secs(5) {
                    if cancel.load(Ordering::Relaxed) {
                        return Evaluation::fail("stopped");
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Evaluation::pass("ran to the end")
            }));
        assert!(
            judged.message.contains("took longer than"),
            "{}",
            judged.message
        );
        assert!(
            waited < Duration::from_millis(500),
            "the judgement ran {waited:?} on"
        );
    }
}
