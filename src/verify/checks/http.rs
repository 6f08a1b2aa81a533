//! `http` checks: status, JSON values, body text, latency and deep-health dependencies.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use crate::api::HttpCheck;
use crate::verify::{
    bounded::{Budget, Limits},
    client::{BODY_LIMIT, Response},
    json::{self, Dependency},
    quote::quote,
};

use super::{Evaluation, either};
use super::{
    judge,
    kind::{Judged, Kind, Reach},
    lint,
};
use crate::verify::budget::Round;
use futures::future::BoxFuture;

impl Kind for HttpCheck {
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
            let response = reach.fetch(request, round).await?;
            let status = response.status;
            let evaluation = judged(self, response, judge::JUDGE_TIMEOUT).await;
            Ok((evaluation, 1, Some(status)))
        })
    }

    fn secret_sources(&self) -> Vec<&crate::api::HeaderSource> {
        super::kind::header_secrets(&self.headers)
    }

    fn lint(&self, path: &str) -> Vec<String> {
        let path = format!("{path}.http");
        let mut out = lint::request_problems(
            &path,
            "http",
            self.method,
            self.body.is_some(),
            &self.headers,
        );
        out.extend(lint::key_problems(
            &path,
            "expectJSON",
            self.expect_json.keys(),
        ));
        out
    }
}

/// What parsing a body may build: every node takes a byte of it and unescaping only shortens
/// text, so these caps never bind; the budget is there for its cancel flag. A key repeated in a
/// body keeps serde_json's reading (the last one wins).
const BODY_LIMITS: Limits = Limits {
    nodes: BODY_LIMIT,
    bytes: BODY_LIMIT,
    refuse_duplicates: false,
    note: "",
};

/// The largest body judged where it was fetched rather than on a blocking thread.
const INLINE_BODY: usize = 8 * 1024;

/// [`evaluate_cancellable`] off the runtime's workers, within `timeout` (see [`judge`]), unless
/// it is too little work for the hand-off (see [`judged_inline`]).
pub async fn judged(check: &HttpCheck, response: Response, timeout: Duration) -> Evaluation {
    if judged_inline(check, &response) {
        // Nothing to cancel: the work is bounded by the small body, tens of microseconds.
        return evaluate_cancellable(check, &response, &AtomicBool::new(false));
    }
    let check = check.clone();
    judge::off_runtime(timeout, move |cancel| {
        evaluate_cancellable(&check, &response, cancel)
    })
    .await
}

/// Whether judging `response` costs less than the hand-off to a blocking thread and back (tens
/// of microseconds): a body of at most [`INLINE_BODY`] bytes, parsed once, and every key a
/// dotted path (one lookup per segment), not JSONPath, whose step budget is what the blocking
/// thread and its deadline are for. Most health checks are this: `status: ok` in a small body.
fn judged_inline(check: &HttpCheck, response: &Response) -> bool {
    let dotted = |path: &str| !path.starts_with('$');
    response.body.len() <= INLINE_BODY
        && check.expect_json.keys().all(|key| dotted(key))
        && check.dependencies.as_deref().is_none_or(dotted)
}

/// [`evaluate_cancellable`] that nobody cancels.
#[cfg(test)]
pub fn evaluate(check: &HttpCheck, response: &Response) -> Evaluation {
    evaluate_cancellable(check, response, &AtomicBool::new(false))
}

/// Judges one response against an `http` check, reporting every problem at once; the parse and
/// every key stop within a step once `cancel` is set, the verdict then being meaningless.
pub fn evaluate_cancellable(
    check: &HttpCheck,
    response: &Response,
    cancel: &AtomicBool,
) -> Evaluation {
    let mut problems = Vec::new();
    if !check.expect_status.contains(&i32::from(response.status)) {
        problems.push(format!(
            "expected status {}, got {}: {}",
            either(&check.expect_status),
            response.status,
            quote(&response.body)
        ));
    }

    // Names the checklist lists are reported whatever the response, so status.dependencies
    // shows which the app failed to report even when its body cannot be read.
    let mut dependencies: Vec<Dependency> = check
        .dependency_names
        .iter()
        .map(|name| json::not_reported(name))
        .collect();
    let needs_json = !check.expect_json.is_empty() || check.dependencies.is_some();
    if needs_json {
        match parse(response, cancel) {
            Ok(body) => {
                problems.extend(check_values(check, &body, cancel));
                if let Some(path) = &check.dependencies {
                    match read_dependencies(&body, path, &check.dependency_names, cancel) {
                        Ok(found) => {
                            problems.extend(unhealthy(&found));
                            dependencies = found;
                        }
                        Err(problem) => problems.push(problem),
                    }
                }
            }
            Err(problem) => problems.push(problem),
        }
    }

    if let Some(needle) = &check.body_contains {
        let haystack = String::from_utf8_lossy(&response.body);
        if !haystack.contains(needle.as_str()) {
            let cut = if response.truncated {
                format!(" (only the first {} KiB were read)", BODY_LIMIT / 1024)
            } else {
                String::new()
            };
            problems.push(format!(
                "body does not contain {}{cut}",
                quote(needle.as_bytes())
            ));
        }
    }

    let latency_ms = response.latency.as_millis();
    if let Some(budget) = check.max_latency_ms
        && latency_ms > u128::from(budget.unsigned_abs())
    {
        problems.push(format!("took {latency_ms} ms, over the {budget} ms budget"));
    }

    let mut summary = format!("{} in {latency_ms} ms", response.status);
    if !dependencies.is_empty() {
        let names: Vec<&str> = dependencies.iter().map(|d| d.name.as_str()).collect();
        summary.push_str(&format!("; healthy: {}", names.join(", ")));
    }
    Evaluation {
        dependencies,
        ..Evaluation::from_problems(problems, summary)
    }
}

fn parse(response: &Response, cancel: &AtomicBool) -> Result<serde_json::Value, String> {
    if response.truncated {
        return Err(format!(
            "body is over {} KiB, too large to check as JSON",
            BODY_LIMIT / 1024
        ));
    }
    let budget = Budget::new(BODY_LIMITS, cancel);
    let mut reader = serde_json::Deserializer::from_slice(&response.body);
    budget
        .value(&mut reader)
        .and_then(|body| reader.end().map(|()| body))
        .map_err(|_| {
            if cancel.load(Ordering::Relaxed) {
                "the judgement's deadline passed while the body was read".to_string()
            } else {
                format!("body is not JSON: {}", quote(&response.body))
            }
        })
}

fn check_values(check: &HttpCheck, body: &serde_json::Value, cancel: &AtomicBool) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, expected) in &check.expect_json {
        let found = match json::values_at(body, path, cancel) {
            Ok(found) => found,
            Err(error) => {
                problems.push(error.to_string());
                continue;
            }
        };
        if found.is_empty() {
            problems.push(format!(
                "no value at {path}, expected {}",
                quote(expected.as_bytes())
            ));
            continue;
        }
        // Compared without writing out each match whole: a key may match large objects.
        if let Some(wrong) = found
            .iter()
            .find(|v| !json::text_equals(v, expected))
            .map(|v| json::as_text(v))
        {
            problems.push(format!(
                "{path} is {}, expected {}",
                quote(wrong.as_bytes()),
                quote(expected.as_bytes())
            ));
        }
    }
    problems
}

fn read_dependencies(
    body: &serde_json::Value,
    path: &str,
    names: &[String],
    cancel: &AtomicBool,
) -> Result<Vec<Dependency>, String> {
    match json::dependencies(body, path, names, cancel) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(format!("no dependencies object at {path}")),
        Err(error) => Err(error.to_string()),
    }
}

fn unhealthy(dependencies: &[Dependency]) -> Option<String> {
    let sick: Vec<String> = dependencies
        .iter()
        .filter(|d| !d.healthy)
        .map(|d| format!("{}: {}", d.name, quote(d.state.as_bytes())))
        .collect();
    match sick.len() {
        0 => None,
        1 => Some(format!("dependency {}", sick[0])),
        _ => Some(format!("dependencies {}", sick.join(", "))),
    }
}

/// A test's `GET /health` check expecting 200 and nothing else; tests change what they need.
#[cfg(test)]
pub(crate) fn health_check() -> HttpCheck {
    HttpCheck {
        method: crate::api::HttpMethod::Get,
        path: "/health".into(),
        headers: Vec::new(),
        body: None,
        content_type: None,
        expect_status: vec![200],
        expect_json: std::collections::BTreeMap::new(),
        body_contains: None,
        max_latency_ms: None,
        dependencies: None,
        dependency_names: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use reqwest::header::HeaderMap;

    use super::*;

    fn check() -> HttpCheck {
        health_check()
    }

    /// A check reading the dependencies under `checks`, only `names` when there are any.
    fn reading(names: &[&str]) -> HttpCheck {
        HttpCheck {
            dependencies: Some("checks".into()),
            dependency_names: names.iter().map(|n| n.to_string()).collect(),
            ..check()
        }
    }

    /// Each dependency an evaluation read, by name, and whether it is healthy.
    fn health(eval: &Evaluation) -> Vec<(&str, bool)> {
        eval.dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.healthy))
            .collect()
    }

    fn response(status: u16, body: &str, latency_ms: u64) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
            truncated: false,
            latency: Duration::from_millis(latency_ms),
        }
    }

    #[tokio::test]
    async fn judged_off_the_runtime_it_comes_back_with_what_it_refused() {
        let passed = judged(
            &check(),
            response(200, r#"{"status":"ok"}"#, 1),
            judge::JUDGE_TIMEOUT,
        )
        .await;
        assert!(passed.passed, "{}", passed.message);
        let costly = HttpCheck {
            expect_json: std::collections::BTreeMap::from([(
                "$..*..*..*".to_string(),
                "ok".to_string(),
            )]),
            ..check()
        };
        let failed = judged(&costly, response(200, "{}", 1), judge::JUDGE_TIMEOUT).await;
        assert_eq!(
            failed.message,
            "$..*..*..* has 3 descendant (..) segments, over the limit of 2"
        );
    }

    #[test]
    fn a_small_body_with_dotted_keys_is_judged_in_place_anything_more_off_the_runtime() {
        let small = response(200, r#"{"status":"ok"}"#, 1);
        assert!(judged_inline(&check(), &small));
        let jsonpath = HttpCheck {
            expect_json: std::collections::BTreeMap::from([(
                "$.status".to_string(),
                "ok".to_string(),
            )]),
            ..check()
        };
        assert!(!judged_inline(&jsonpath, &small));
        let deep = HttpCheck {
            dependencies: Some("$..checks".into()),
            ..check()
        };
        assert!(!judged_inline(&deep, &small));
        let padded = format!(r#"{{"status":"ok","pad":"{}"}}"#, "x".repeat(INLINE_BODY));
        let large = Response {
            body: Bytes::from(padded),
            ..response(200, "{}", 1)
        };
        assert!(!judged_inline(&check(), &large));
    }

    /// A 200 whose body is `body`.
    fn raw(body: &'static str) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
            truncated: false,
            latency: Duration::from_millis(1),
        }
    }

    #[test]
    fn a_judgement_past_its_deadline_stops_walking_the_body() {
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
            ..health_check()
        };
        let (judged, waited) =
            judge::busy_after_deadline(judged(&costly, raw(body), Duration::from_millis(20)));
        assert!(
            judged.message.contains("took longer than"),
            "{}",
            judged.message
        );
        println!("the judgement's thread was free {waited:?} after its deadline");
        assert!(
            waited < Duration::from_millis(500),
            "the judgement ran {waited:?} on"
        );
    }

    #[test]
    fn passes_on_an_expected_status() {
        let eval = evaluate(&check(), &response(200, "{}", 3));
        assert!(eval.passed);
        assert_eq!(eval.message, "200 in 3 ms");
    }

    #[test]
    fn a_503_fails_with_the_status_and_a_quote_of_the_body() {
        let eval = evaluate(&check(), &response(503, r#"{"status":"unhealthy"}"#, 3));
        assert!(!eval.passed);
        assert_eq!(
            eval.message,
            r#"expected status 200, got 503: "{\"status\":\"unhealthy\"}""#
        );
    }

    #[test]
    fn an_expected_429_passes() {
        let check = HttpCheck {
            expect_status: vec![429],
            ..check()
        };
        assert!(evaluate(&check, &response(429, "", 1)).passed);
    }

    #[test]
    fn json_values_are_compared_by_path() {
        let mut check = check();
        check.expect_json.insert("status".into(), "ok".into());
        check
            .expect_json
            .insert("checks.database.status".into(), "pass".into());
        let ok = r#"{"status":"ok","checks":{"database":{"status":"pass"}}}"#;
        assert!(evaluate(&check, &response(200, ok, 1)).passed);

        let bad = r#"{"status":"degraded","checks":{}}"#;
        let eval = evaluate(&check, &response(200, bad, 1));
        assert_eq!(
            eval.message,
            r#"no value at checks.database.status, expected "pass"; status is "degraded", expected "ok""#
        );
    }

    #[test]
    fn garbage_json_fails_with_a_quote() {
        let mut check = check();
        check.expect_json.insert("status".into(), "ok".into());
        let eval = evaluate(&check, &response(200, "<html>oops</html>", 1));
        assert_eq!(eval.message, r#"body is not JSON: "<html>oops</html>""#);
    }

    #[test]
    fn a_truncated_body_is_not_parsed() {
        let mut check = check();
        check.expect_json.insert("status".into(), "ok".into());
        let mut huge = response(200, "{\"status\":\"ok\"", 1);
        huge.truncated = true;
        let eval = evaluate(&check, &huge);
        assert_eq!(
            eval.message,
            "body is over 64 KiB, too large to check as JSON"
        );
    }

    #[test]
    fn latency_over_budget_fails() {
        let check = HttpCheck {
            max_latency_ms: Some(50),
            ..check()
        };
        assert!(evaluate(&check, &response(200, "", 50)).passed);
        let eval = evaluate(&check, &response(200, "", 73));
        assert_eq!(eval.message, "took 73 ms, over the 50 ms budget");
    }

    #[test]
    fn body_contains_is_checked() {
        let check = HttpCheck {
            body_contains: Some("Welcome".into()),
            ..check()
        };
        assert!(evaluate(&check, &response(200, "<h1>Welcome</h1>", 1)).passed);
        let eval = evaluate(&check, &response(200, "<h1>Oops</h1>", 1));
        assert_eq!(eval.message, r#"body does not contain "Welcome""#);
    }

    #[test]
    fn each_dependency_becomes_a_result_and_a_sick_one_fails_the_check() {
        let check = reading(&[]);
        let body = r#"{"checks":{"database":{"status":"pass"},"oban":{"status":"fail"}}}"#;
        let eval = evaluate(&check, &response(200, body, 1));
        assert!(!eval.passed);
        assert_eq!(eval.message, r#"dependency oban: "fail""#);
        assert_eq!(health(&eval), vec![("database", true), ("oban", false)]);

        let healthy = r#"{"checks":{"database":{"status":"pass"}}}"#;
        let eval = evaluate(&check, &response(200, healthy, 2));
        assert!(eval.passed);
        assert_eq!(eval.message, "200 in 2 ms; healthy: database");
    }

    #[test]
    fn a_missing_dependencies_object_fails() {
        let eval = evaluate(&reading(&[]), &response(200, r#"{"status":"ok"}"#, 1));
        assert_eq!(eval.message, "no dependencies object at checks");
    }

    #[test]
    fn listed_dependency_names_are_all_the_app_can_report() {
        let check = reading(&["database", "oban"]);
        let body = r#"{"checks":{"database":"up","injected":"ok"}}"#;
        let eval = evaluate(&check, &response(200, body, 1));
        assert!(!eval.passed);
        assert_eq!(eval.message, r#"dependency oban: "not reported""#);
        assert_eq!(health(&eval), vec![("database", true), ("oban", false)]);

        let both = r#"{"checks":{"oban":{"status":"pass"},"database":"connected"}}"#;
        let eval = evaluate(&check, &response(200, both, 1));
        assert!(eval.passed);
        assert_eq!(eval.message, "200 in 1 ms; healthy: database, oban");
    }

    #[test]
    fn listed_names_are_not_reported_when_the_body_cannot_be_read() {
        let check = reading(&["database"]);
        for body in ["<html>down</html>", r#"{"status":"ok"}"#] {
            let eval = evaluate(&check, &response(200, body, 1));
            assert!(!eval.passed, "{body}");
            assert_eq!(eval.dependencies, vec![json::not_reported("database")]);
        }
    }
}
