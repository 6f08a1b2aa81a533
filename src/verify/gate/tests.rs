use super::*;
use crate::api::CheckKind;

fn check(name: &str, extra: serde_json::Value) -> CheckSpec {
    let mut value = serde_json::json!({"name": name, "http": {"path": "/"}});
    if let (Some(value), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        value.extend(extra.clone());
    }
    serde_json::from_value(value).unwrap()
}

fn outcome(name: &str, result: CheckResult, status: Option<u16>) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        kind: Some(CheckKind::Http),
        result,
        message: String::new(),
        latency_ms: None,
        attempts: 1,
        status,
        dependencies: Vec::new(),
        measured: false,
    }
}

use CheckResult::{Fail, Pass, Skipped};

fn checks() -> Vec<CheckSpec> {
    vec![
        check("health", serde_json::json!({})),
        check("headers", serde_json::json!({"severity": "Warning"})),
        check("csp", serde_json::json!({"severity": "Warning"})),
        check("new-probe", serde_json::json!({"dryRun": true})),
    ]
}

fn round(results: [CheckResult; 4]) -> Vec<CheckOutcome> {
    ["health", "headers", "csp", "new-probe"]
        .into_iter()
        .zip(results)
        .map(|(name, result)| outcome(name, result, Some(if result == Pass { 200 } else { 503 })))
        .collect()
}

#[test]
fn a_failing_critical_check_fails_the_round_and_a_warning_does_not() {
    let judged = judge_round(&checks(), &round([Fail, Fail, Pass, Pass]), None);
    assert!(!judged.passed);
    assert_eq!(judged.failure.as_deref(), Some("health (HTTP 503)"));
    assert_eq!(judged.warnings, ["headers (HTTP 503)"]);

    let judged = judge_round(&checks(), &round([Pass, Fail, Skipped, Pass]), None);
    assert!(judged.passed, "{judged:?}");
    assert_eq!(judged.failure, None);
    assert_eq!(judged.warnings, ["headers (HTTP 503)", "csp (skipped)"]);
    assert_eq!((judged.score, judged.counted), (1, 3));
}

#[test]
fn a_dry_run_check_never_fails_a_round_and_never_counts() {
    let judged = judge_round(&checks(), &round([Pass, Pass, Pass, Fail]), None);
    assert!(judged.passed);
    assert!(judged.warnings.is_empty());
    assert_eq!((judged.score, judged.counted), (3, 3));
    let judged = judge_round(
        &checks(),
        &round([Pass, Pass, Pass, Fail]),
        Some(MinScore::Percent(100)),
    );
    assert!(
        judged.passed,
        "a dry-run failure is not below 100%: {judged:?}"
    );
}

#[test]
fn a_score_below_min_score_fails_the_round_naming_every_counted_failure() {
    // (results, minScore, passes)
    let table = [
        ([Pass, Fail, Pass, Pass], MinScore::Checks(2), true),
        ([Pass, Fail, Fail, Pass], MinScore::Checks(2), false),
        ([Pass, Fail, Pass, Pass], MinScore::Percent(66), true),
        ([Pass, Fail, Pass, Pass], MinScore::Percent(67), false),
        ([Pass, Fail, Fail, Fail], MinScore::Percent(0), true),
        ([Pass, Pass, Pass, Fail], MinScore::Checks(3), true),
    ];
    for (results, min, passes) in table {
        let judged = judge_round(&checks(), &round(results), Some(min));
        assert_eq!(judged.passed, passes, "{results:?} min {min}: {judged:?}");
    }
    let judged = judge_round(
        &checks(),
        &round([Pass, Fail, Fail, Fail]),
        Some(MinScore::Percent(80)),
    );
    assert_eq!(
        judged.failure.as_deref(),
        Some("score 1/3 is below minScore 80% (3 needed): headers (HTTP 503), csp (HTTP 503)")
    );
}

#[test]
fn critical_failures_are_named_before_the_score() {
    let judged = judge_round(
        &checks(),
        &round([Fail, Fail, Fail, Pass]),
        Some(MinScore::Checks(3)),
    );
    assert_eq!(judged.failure.as_deref(), Some("health (HTTP 503)"));
}

#[test]
fn min_score_reads_numbers_and_shares_and_names_what_is_wrong() {
    assert_eq!(
        MinScore::read(&IntOrString::Int(20)),
        Ok(MinScore::Checks(20))
    );
    assert_eq!(
        MinScore::read(&IntOrString::String("80%".into())),
        Ok(MinScore::Percent(80))
    );
    for bad in [
        IntOrString::Int(-1),
        IntOrString::Int(33),
        IntOrString::String("101%".into()),
        IntOrString::String("80".into()),
        IntOrString::String("\u{202e}%".into()),
    ] {
        let error = MinScore::read(&bad).unwrap_err();
        assert!(error.starts_with("spec.verification.minScore "), "{error}");
        assert!(!error.contains('\u{202e}'), "{error}");
    }
    assert_eq!(MinScore::Percent(80).needed(25), 20, "seed 004: 20/25");
    assert_eq!(MinScore::Percent(80).needed(3), 3);
    assert_eq!(MinScore::Percent(0).needed(3), 0);
}

#[test]
fn a_min_score_no_round_can_reach_is_named_before_anything_runs() {
    let checks = checks();
    assert_eq!(unreachable_min_score(&checks, None), None);
    assert_eq!(
        unreachable_min_score(&checks, Some(&IntOrString::Int(3))),
        None
    );
    assert_eq!(
        unreachable_min_score(&checks, Some(&IntOrString::Int(4))).as_deref(),
        Some(
            "spec.verification.minScore 4 is more than the 3 checks that count (dryRun checks \
             do not): no round could pass"
        )
    );
    assert!(unreachable_min_score(&checks, Some(&IntOrString::String("x".into()))).is_some());
}

#[test]
fn a_failed_metric_check_is_named_with_its_figure() {
    let mut metric = outcome("error-rate", Fail, Some(200));
    metric.measured = true;
    metric.message = "0.05, expected below 0.01".into();
    assert_eq!(summary(&metric), "error-rate (0.05, expected below 0.01)");
    metric.message = "x".repeat(500);
    assert_eq!(
        summary(&metric).chars().count(),
        "error-rate ()".len() + SUMMARY_CHARS
    );
    let mut silent = outcome("health", Fail, None);
    assert_eq!(summary(&silent), "health (no answer)");
    silent.attempts = 0;
    assert_eq!(summary(&silent), "health (not sent)");
}
