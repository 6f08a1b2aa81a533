//! Verification results in status, continuous rounds after Ready, and Degraded.

use super::*;

#[test]
fn verification_results_are_copied_into_status_while_the_attempt_runs() {
    let results = VerificationResults {
        checks: vec![crate::api::CheckStatus {
            name: "health".into(),
            kind: crate::api::CheckKind::Http,
            severity: Default::default(),
            category: None,
            dry_run: false,
            result: CheckResult::Fail,
            message: Some("status 500".into()),
            latency_ms: Some(3),
            attempts: Some(1),
            last_run: None,
        }],
        dependencies: Vec::new(),
        failed_rounds: 1,
    };
    let verifying = Observation {
        verification: VerificationObservation::Running,
        verification_results: Some(results.clone()),
        ..deployed_new(RolloutProgress::Complete)
    };
    let started = run(&spec(), &ready_on_old(), &verifying).status;
    let plan = run(&spec(), &started, &verifying);
    assert_eq!(plan.status.checks, results.checks);
    assert_eq!(plan.status.failed_rounds, Some(1));
    assert_eq!(plan.status.phase, Some(Phase::Verifying));

    // A restarted operator has no task: the rounds start again, counting from the status.
    let restarted = Observation {
        verification: VerificationObservation::NotStarted,
        verification_results: None,
        ..deployed_new(RolloutProgress::Complete)
    };
    let plan = run(&spec(), &plan.status, &restarted);
    assert!(
        plan.changes.contains(&Change::StartVerification {
            revision: NEW.into(),
            stage: None,
            endpoint: Endpoint::App,
            verified: false,
            failed_rounds: 1,
        }),
        "{:?}",
        plan.changes
    );
}

#[test]
fn a_ready_revision_that_starts_crash_looping_is_degraded_once_not_rolled_back() {
    let crashing = steady_on_old().deployed(
        OLD,
        RolloutProgress::CrashLoop("pod a container app restarted 4 times".into()),
    );
    let plan = run(&spec(), &ready_on_old(), &crashing);
    assert_eq!(plan.status.phase, Some(Phase::Degraded));
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.notes.len(), 1);
    assert!(plan.notes[0].reason.is_warning());
    assert_eq!(condition(&plan, Cond::Ready).0, "False");
    assert_eq!(
        plan.status.history.last().unwrap().outcome,
        RevisionOutcome::Succeeded
    );
    // The next reconcile in the same world says nothing new.
    let again = run(&spec(), &plan.status, &crashing);
    assert!(again.notes.is_empty());
    assert!(!crate::controller::record::status_changed(
        &plan.status,
        &again.status
    ));
    // Recovered pods make it Ready again.
    let recovered = crashing.deployed(OLD, RolloutProgress::Complete);
    let healed = run(&spec(), &again.status, &recovered);
    assert_eq!(healed.status.phase, Some(Phase::Ready));
}

/// OLD, Ready, as observed after a restart: no verification task runs.
fn ready_old_without_a_task() -> Observation {
    steady_on_old().verifying(VerificationObservation::NotStarted)
}

fn continuous_spec() -> DeploymentChecklistSpec {
    let mut continuous = spec();
    continuous.verification.continuous = true;
    continuous
}

/// OLD Ready, its status showing `checks` (and the score they make).
fn ready_with(
    spec: &DeploymentChecklistSpec,
    checks: Vec<crate::api::CheckStatus>,
) -> DeploymentChecklistStatus {
    let mut ready = ready_on_old();
    ready.checks = checks;
    ready.score = Some(score(&ready, spec));
    ready
}

/// OLD after a continuous round of one check, with the task's state after it.
fn after_round(state: VerificationObservation, result: crate::api::CheckStatus) -> Observation {
    Observation {
        verification: state,
        verification_results: Some(VerificationResults {
            checks: vec![result],
            dependencies: Vec::new(),
            failed_rounds: 0,
        }),
        ..ready_old_without_a_task()
    }
}

fn check(name: &str, result: CheckResult, latency: i64) -> crate::api::CheckStatus {
    crate::api::CheckStatus {
        name: name.into(),
        kind: crate::api::CheckKind::Http,
        severity: Default::default(),
        category: None,
        dry_run: false,
        result,
        message: Some(format!("{latency} ms")),
        latency_ms: Some(latency),
        attempts: Some(1),
        last_run: None,
    }
}

#[test]
fn a_ready_revision_is_not_verified_again_unless_continuous() {
    let mut once = spec();
    once.verification.continuous = false;
    let plan = run(&once, &ready_on_old(), &ready_old_without_a_task());
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.status.phase, Some(Phase::Ready));

    let continuous = continuous_spec();
    let plan = run(&continuous, &ready_on_old(), &ready_old_without_a_task());
    assert_eq!(
        plan.changes,
        vec![Change::StartVerification {
            revision: OLD.into(),
            stage: None,
            endpoint: Endpoint::App,
            verified: true,
            failed_rounds: 0,
        }]
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert!(!crate::controller::record::status_changed(
        &ready_on_old(),
        &plan.status
    ));
}

#[test]
fn continuous_verification_degrades_a_ready_revision_and_recovers_it() {
    let continuous = continuous_spec();
    let failing = ready_old_without_a_task()
        .verifying(VerificationObservation::Failed("health: status 503".into()));
    let degraded = run(&continuous, &ready_on_old(), &failing);
    assert_eq!(degraded.status.phase, Some(Phase::Degraded));
    assert!(degraded.changes.is_empty(), "{:?}", degraded.changes);
    assert_eq!(condition(&degraded, Cond::Ready).0, "False");
    assert_eq!(condition(&degraded, Cond::Verified).0, "False");
    assert_eq!(degraded.notes.len(), 1);
    assert_eq!(degraded.notes[0].reason, Reason::VerificationFailed);
    let passing = ready_old_without_a_task().verifying(VerificationObservation::Passed);
    let recovered = run(&continuous, &degraded.status, &passing);
    assert_eq!(recovered.status.phase, Some(Phase::Ready));
    assert_eq!(recovered.notes[0].reason, Reason::Ready);
}

#[test]
fn while_ready_only_a_changed_result_is_written() {
    let continuous = continuous_spec();
    let ready = ready_with(&continuous, vec![check("health", CheckResult::Pass, 3)]);
    let slower = after_round(
        VerificationObservation::Passed,
        check("health", CheckResult::Pass, 9),
    );
    let plan = run(&continuous, &ready, &slower);
    assert_eq!(plan.status.checks[0].latency_ms, Some(3));
    assert!(!crate::controller::record::status_changed(
        &ready,
        &plan.status
    ));

    let failing_once = after_round(
        VerificationObservation::Running,
        check("health", CheckResult::Fail, 9),
    );
    let plan = run(&continuous, &ready, &failing_once);
    assert_eq!(plan.status.checks[0].result, CheckResult::Fail);
    // One failed round is below failureThreshold: still Ready.
    assert_eq!(plan.status.phase, Some(Phase::Ready));
}

#[test]
fn continuous_rounds_keep_the_last_result_of_the_checks_they_leave_out() {
    let continuous = continuous_spec();
    let ready = ready_with(
        &continuous,
        vec![
            check("login-rate-limit", CheckResult::Pass, 40),
            check("health", CheckResult::Pass, 3),
        ],
    );
    // After a restart the rounds run without the rateLimit check.
    let healthy = after_round(
        VerificationObservation::Passed,
        check("health", CheckResult::Pass, 5),
    );
    let plan = run(&continuous, &ready, &healthy);
    assert!(!crate::controller::record::status_changed(
        &ready,
        &plan.status
    ));

    let unhealthy = after_round(
        VerificationObservation::Running,
        check("health", CheckResult::Fail, 5),
    );
    let plan = run(&continuous, &ready, &unhealthy);
    let results: Vec<(&str, CheckResult)> = plan
        .status
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.result))
        .collect();
    assert_eq!(
        results,
        [
            ("health", CheckResult::Fail),
            ("login-rate-limit", CheckResult::Pass)
        ]
    );
}
