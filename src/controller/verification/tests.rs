use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

use super::*;
use crate::{
    api::{CheckKind, CheckResult},
    verify::{engine::CheckOutcome, gate, json::Dependency, rounds::Verdict},
};

fn outcome(name: &str, result: CheckResult, message: &str) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        kind: Some(CheckKind::Http),
        result,
        message: message.into(),
        latency_ms: Some(7),
        attempts: 1,
        status: None,
        dependencies: Vec::new(),
        measured: false,
    }
}

#[test]
fn a_stage_is_watched_after_its_pass_and_stops_at_its_failure() {
    // A release's stage (a canary step's pause, a wait for promotion): watched after the
    // pass; its failure is the verdict.
    assert_eq!(next(Verdict::Passed, false, true), Next::Watch);
    assert_eq!(next(Verdict::Failed, false, true), Next::Stop);
    // The revision's own checks without continuous: done at the first verdict.
    assert_eq!(next(Verdict::Passed, false, false), Next::Stop);
    assert_eq!(next(Verdict::Failed, false, false), Next::Stop);
    // Continuous rounds keep going either way.
    assert_eq!(next(Verdict::Passed, true, false), Next::Watch);
    assert_eq!(next(Verdict::Failed, true, false), Next::Again);
    assert_eq!(next(Verdict::Pending, false, false), Next::Again);
}

#[test]
fn a_failed_verdict_names_each_failing_check_with_what_it_got() {
    let answered = |name, status| CheckOutcome {
        status: Some(status),
        ..outcome(name, CheckResult::Fail, &"\"a long body\"".repeat(100))
    };
    let outcomes = [
        outcome("health", CheckResult::Pass, "status 200"),
        answered("headers", 200),
        answered("rate", 503),
        outcome("deep", CheckResult::Fail, "connection refused"),
        CheckOutcome {
            attempts: 0,
            ..outcome("bad-path", CheckResult::Fail, "path does not make a URL")
        },
        outcome(
            "token",
            CheckResult::Skipped,
            "needs key token of Secret probe",
        ),
    ];
    assert_eq!(
        judge(Verdict::Failed, &gate::judge_round(&[], &outcomes, None)),
        VerificationObservation::Failed(
            "headers (HTTP 200), rate (HTTP 503), deep (no answer), bad-path (not sent), \
             token (skipped)"
                .into()
        )
    );
    assert_eq!(
        judge(Verdict::Pending, &gate::judge_round(&[], &outcomes, None)),
        VerificationObservation::Running
    );
    assert_eq!(
        judge(
            Verdict::Passed,
            &gate::judge_round(&[], &outcomes[..1], None)
        ),
        VerificationObservation::Passed
    );
}

#[test]
fn a_failed_metric_check_is_named_with_its_figure_not_its_http_status() {
    let metric = |name, kind, message: &str| CheckOutcome {
        kind: Some(kind),
        status: Some(200),
        measured: true,
        ..outcome(name, CheckResult::Fail, message)
    };
    let long = format!("{} series not below 0.01", "x".repeat(200));
    let outcomes = [
        metric(
            "error-rate",
            CheckKind::Prometheus,
            "0.05, expected below 0.01",
        ),
        metric("page-load", CheckKind::Latency, "p95 812 ms over 500 ms"),
        metric("many", CheckKind::Prometheus, &long),
    ];
    let judged = gate::judge_round(&[], &outcomes, None);
    let VerificationObservation::Failed(summary) = judge(Verdict::Failed, &judged) else {
        panic!("not failed");
    };
    assert!(
        summary.starts_with(
            "error-rate (0.05, expected below 0.01), page-load (p95 812 ms over 500 ms), many (xxx"
        ),
        "{summary}"
    );
    assert!(summary.ends_with("x…)"), "{summary}");
    assert_eq!(
        summary.chars().count(),
        82 + gate::SUMMARY_CHARS + 1,
        "{summary}"
    );
}

#[test]
fn results_carry_checks_and_the_dependencies_they_read() {
    let mut deep = outcome("deep", CheckResult::Fail, "redis down");
    deep.dependencies = vec![
        Dependency {
            name: "database".into(),
            state: "connected".into(),
            healthy: true,
        },
        Dependency {
            name: "redis".into(),
            state: "down".into(),
            healthy: false,
        },
    ];
    let now = Time(Timestamp::from_second(1_800_000_000).unwrap());
    let results = results(&[], &[deep], &now);
    assert_eq!(results.checks[0].latency_ms, Some(7));
    assert_eq!(results.checks[0].last_run, Some(now));
    assert_eq!(results.dependencies.len(), 2);
    assert_eq!(results.dependencies[1].name, "redis");
    assert_eq!(results.dependencies[1].check, "deep");
    assert_eq!(results.dependencies[1].result, CheckResult::Fail);
}
