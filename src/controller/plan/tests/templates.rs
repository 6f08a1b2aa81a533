//! Checks that change under a Ready version (a template's, or the checklist's own): verified
//! again as it runs, never rolled; templates that do not resolve change nothing.

use super::*;
use crate::api::{TemplateKind, TemplateStatus};

/// A spec whose checks differ from the ones OLD passed with.
fn changed_checks() -> DeploymentChecklistSpec {
    let mut changed = spec();
    changed.verification.checks.truncate(1);
    changed
}

#[test]
fn a_ready_version_remembers_the_checks_it_passed() {
    let ready = ready_on_old();
    assert_eq!(
        ready.verified_checks,
        Some(crate::resources::checks_digest(&spec().verification))
    );
    // Same checks, not continuous: nothing runs again.
    let mut once = spec();
    once.verification.continuous = false;
    let plan = run(
        &once,
        &ready,
        &steady_on_old().verifying(VerificationObservation::NotStarted),
    );
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    // A status from before the digest was kept adopts the current one without a round.
    let legacy = DeploymentChecklistStatus {
        verified_checks: None,
        ..ready.clone()
    };
    let plan = run(
        &once,
        &legacy,
        &steady_on_old().verifying(VerificationObservation::NotStarted),
    );
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.status.verified_checks, ready.verified_checks);
}

#[test]
fn changed_checks_verify_the_running_version_again_without_rolling_it() {
    let mut changed = changed_checks();
    changed.verification.continuous = false;
    let ready = ready_on_old();
    let plan = run(
        &changed,
        &ready,
        &steady_on_old().verifying(VerificationObservation::NotStarted),
    );
    assert_eq!(
        plan.changes,
        [Change::StartVerification {
            revision: OLD.into(),
            stage: None,
            endpoint: Endpoint::App,
            verified: true,
            failed_rounds: 0,
        }],
        "only a round: no pods rolled, no Job run"
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert_eq!(condition(&plan, Cond::Ready).0, "True");
    assert_eq!(
        condition(&plan, Cond::Verified),
        ("Unknown".into(), "Verifying".into())
    );
    assert_eq!(plan.status.verified_checks, ready.verified_checks);

    // While the round runs, the same; once it passes, the new checks are the ones passed.
    let running = steady_on_old().verifying(VerificationObservation::Running);
    let plan = run(&changed, &plan.status, &running);
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(condition(&plan, Cond::Verified).0, "Unknown");
    let passed = steady_on_old().verifying(VerificationObservation::Passed);
    let plan = run(&changed, &plan.status, &passed);
    assert_eq!(condition(&plan, Cond::Verified).0, "True");
    assert_eq!(
        plan.status.verified_checks,
        Some(crate::resources::checks_digest(&changed.verification))
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
}

#[test]
fn a_version_failing_its_new_checks_is_degraded_not_rolled_back() {
    let changed = changed_checks();
    let failed =
        steady_on_old().verifying(VerificationObservation::Failed("health: status 500".into()));
    let plan = run(&changed, &ready_on_old(), &failed);
    assert_eq!(plan.status.phase, Some(Phase::Degraded));
    assert!(
        !plan.changes.iter().any(|c| matches!(
            c,
            Change::RestoreStable { .. } | Change::ApplyCurrent { .. }
        )),
        "{:?}",
        plan.changes
    );
    assert_eq!(condition(&plan, Cond::Verified).0, "False");
}

#[test]
fn templates_that_do_not_resolve_change_nothing_and_say_why_once() {
    let problem = "ClusterChecklistTemplate web-baseline not found".to_string();
    let missing = Observation {
        template_problem: Some(problem.clone()),
        ..deployed_new(RolloutProgress::Complete)
    };
    let ready = ready_on_old();
    let plan = run(&spec(), &ready, &missing);
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert_eq!(
        plan.status.message.as_deref(),
        Some("ClusterChecklistTemplate web-baseline not found; nothing was changed")
    );
    assert_eq!(
        condition(&plan, Cond::Stalled),
        ("True".into(), "InvalidTemplate".into())
    );
    assert_eq!(plan.notes.len(), 1);
    assert_eq!(plan.notes[0].reason, Reason::InvalidTemplate);
    // The stable version and its history are as they were.
    assert_eq!(plan.status.revision, ready.revision);
    assert_eq!(plan.status.history, ready.history);
    let again = run(&spec(), &plan.status, &missing);
    assert!(again.notes.is_empty() && again.changes.is_empty());
}

#[test]
fn status_lists_the_templates_and_drops_checks_gone_from_the_spec() {
    let template = TemplateStatus {
        kind: TemplateKind::ClusterChecklistTemplate,
        name: "web-baseline".into(),
        generation: Some(2),
        checks: vec!["health".into()],
    };
    let observed = Observation {
        templates: vec![template.clone()],
        ..steady_on_old().verifying(VerificationObservation::NotStarted)
    };
    let mut ready = ready_on_old();
    ready.checks = vec![crate::api::CheckStatus {
        name: "gone".into(),
        kind: crate::api::CheckKind::Http,
        severity: Default::default(),
        category: None,
        dry_run: false,
        result: CheckResult::Pass,
        message: None,
        latency_ms: None,
        attempts: None,
        last_run: None,
    }];
    let plan = run(&spec(), &ready, &observed);
    assert_eq!(plan.status.templates, [template]);
    assert!(plan.status.checks.is_empty(), "{:?}", plan.status.checks);
}
