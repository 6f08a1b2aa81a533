//! Severity, dry runs and the least score: what a failing warning does to a release, what the
//! score counts, and a minScore no round can meet.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::api::{CheckKind, CheckStatus, Severity};

/// The dialectic spec with security-headers a warning and page-load a dry run.
fn graded() -> DeploymentChecklistSpec {
    let mut spec = spec();
    for check in &mut spec.verification.checks {
        match check.name.as_str() {
            "security-headers" => check.severity = Severity::Warning,
            "page-load" => check.dry_run = true,
            _ => {}
        }
    }
    spec
}

fn result(spec: &DeploymentChecklistSpec, name: &str, result: CheckResult) -> CheckStatus {
    let check = spec
        .verification
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap();
    CheckStatus {
        name: name.into(),
        kind: check.check().map_or(CheckKind::Http, |k| k.kind()),
        severity: check.severity,
        category: Some(check.category().into()),
        dry_run: check.dry_run,
        result,
        message: None,
        latency_ms: None,
        attempts: Some(1),
        last_run: None,
    }
}

/// NEW's rounds passed (the gate judged them), with `failing` checks failed.
fn passed_with(spec: &DeploymentChecklistSpec, failing: &[&str]) -> Observation {
    let checks = spec
        .verification
        .checks
        .iter()
        .map(|c| {
            let failed = failing.contains(&c.name.as_str());
            result(
                spec,
                &c.name,
                if failed {
                    CheckResult::Fail
                } else {
                    CheckResult::Pass
                },
            )
        })
        .collect();
    Observation {
        verification: VerificationObservation::Passed,
        verification_results: Some(VerificationResults {
            checks,
            dependencies: Vec::new(),
            failed_rounds: 0,
        }),
        ..deployed_new(RolloutProgress::Complete)
    }
}

#[test]
fn a_failing_warning_is_named_once_and_the_release_goes_ready() {
    let spec = graded();
    let world = passed_with(&spec, &["security-headers", "page-load"]);
    let first = run(&spec, &ready_on_old(), &world);
    let plan = run(&spec, &first.status, &world);
    assert_eq!(plan.status.phase, Some(Phase::Ready), "{:?}", plan.status);
    let verified = plan.status.condition(Cond::Verified).unwrap();
    assert_eq!(verified.status, "True");
    assert_eq!(
        verified.message,
        "every critical check passed; 1 warning failed: security-headers"
    );
    assert_eq!(
        plan.status.message.as_deref(),
        Some("verification passed: 5/6, 1 warning failed")
    );
    let warnings: Vec<&Note> = plan
        .notes
        .iter()
        .chain(first.notes.iter())
        .filter(|n| n.reason == Reason::VerificationWarning)
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", plan.notes);
    assert!(Reason::VerificationWarning.is_warning());
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::RestoreStable { .. }))
    );
    // The next reconcile in the same world says nothing new.
    let again = run(&spec, &plan.status, &world);
    assert!(
        !again
            .notes
            .iter()
            .any(|n| n.reason == Reason::VerificationWarning),
        "{:?}",
        again.notes
    );
}

#[test]
fn the_score_counts_per_category_leaving_dry_runs_out() {
    let spec = graded();
    let world = passed_with(&spec, &["security-headers", "page-load"]);
    let started = run(&spec, &ready_on_old(), &world).status;
    let score = run(&spec, &started, &world).status.score.unwrap();
    let categories: Vec<(&str, i32, i32, Option<i32>)> = score
        .categories
        .iter()
        .map(|c| (c.name.as_str(), c.passed, c.total, c.warnings))
        .collect();
    // dialectic: 1 key, a migration, the rollout; health and deep-health (health),
    // https-redirect, security-headers and login-rate-limit (security), signup-flow
    // (functional); page-load is a dry run, so performance has no item.
    assert_eq!(
        categories,
        [
            ("functional", 1, 1, None),
            ("health", 2, 2, None),
            ("migration", 1, 1, None),
            ("rollout", 1, 1, None),
            ("secrets", 1, 1, None),
            ("security", 2, 3, Some(1)),
        ]
    );
    assert_eq!(score.summary, "8/9");
}

#[test]
fn a_min_score_no_round_can_meet_is_refused_before_anything_changes() {
    let mut spec = graded();
    spec.verification.min_score = Some(IntOrString::Int(7));
    let plan = run(&spec, &ready_on_old(), &observed());
    assert_eq!(
        refused_as_invalid(&plan),
        "spec.verification.minScore 7 is more than the 6 checks that count (dryRun checks do \
         not): no round could pass; nothing was changed"
    );
    spec.verification.min_score = Some(IntOrString::String("80%".into()));
    assert_ne!(
        run(&spec, &ready_on_old(), &observed()).status.phase,
        Some(Phase::Failed)
    );
}
