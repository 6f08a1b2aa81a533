//! Failures and the rollback policy: restore, down-migration, Failed, and the typed trigger.

use super::*;

#[test]
fn a_rollback_ends_rolled_back_with_the_stable_version_serving_and_does_not_loop() {
    let failed = deployed_new(RolloutProgress::CrashLoop(
        "pod web-1 container app in CrashLoopBackOff".into(),
    ));
    let after_failure = with_failed_attempt(&failed);
    let last = after_failure.history.last().unwrap();
    assert_eq!(last.outcome, RevisionOutcome::Failed);
    assert_eq!(last.trigger, Some(RollbackTrigger::CrashLoop));
    assert_eq!(last.reason.as_deref(), Some("CrashLoop"));
    assert!(
        last.message
            .as_deref()
            .unwrap()
            .starts_with("new pods crash-loop")
    );

    // The stable template is back and the down-migration finished: RolledBack, nothing to do.
    let restored = failed
        .clone()
        .deployed(OLD, RolloutProgress::Complete)
        .down_migrated(JobState::Succeeded);
    let plan = run(&spec(), &after_failure, &restored);
    assert_eq!(plan.status.phase, Some(Phase::RolledBack));
    assert!(
        plan.records_first(),
        "a verdict is on record before anything acts on it"
    );
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(condition(&plan, Cond::Ready).0, "False");
    assert_eq!(condition(&plan, Cond::Stalled).0, "True");
    assert_eq!(condition(&plan, Cond::RolledBack).0, "True");
    let message = plan.status.message.clone().unwrap();
    assert!(
        message.contains("the stable version ghcr.io/acme/dialectic:1.4.2 serves traffic"),
        "{message}"
    );
    assert_eq!(
        plan.status.history.last().unwrap().outcome,
        RevisionOutcome::RolledBack
    );

    // Again, as a restarted operator would: still nothing to do, the failed revision is not retried.
    let again = run(&spec(), &plan.status, &restored);
    assert!(again.changes.is_empty());
    assert_eq!(again.status, plan.status);
}

#[test]
fn without_a_stable_revision_a_failure_stops_in_failed_and_deletes_nothing() {
    let first_deploy = deployed_new(RolloutProgress::CrashLoop(
        "pod web-1 container app restarted 4 times".into(),
    ));
    let plan = run(
        &spec(),
        &DeploymentChecklistStatus::default(),
        &first_deploy,
    );
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert!(
        !plan
            .changes
            .iter()
            .any(|a| matches!(a, Change::RestoreStable { .. }))
    );
    assert_eq!(condition(&plan, Cond::Stalled).0, "True");
    assert!(
        plan.status
            .message
            .unwrap()
            .contains("there is no stable revision to roll back to")
    );
}

#[test]
fn a_stable_revision_whose_stored_spec_is_gone_cannot_be_restored() {
    let crash = Observation {
        stable_spec_available: false,
        ..deployed_new(RolloutProgress::CrashLoop("restarted 4 times".into()))
    };
    let plan = run(&spec(), &ready_on_old(), &crash);
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    let message = plan.status.message.unwrap();
    assert!(
        message.contains("the stored spec of the stable revision aaaaaaaaaa is missing"),
        "{message}"
    );
}

#[test]
fn automatic_rollback_off_or_trigger_not_listed_stops_in_failed() {
    let crash = deployed_new(RolloutProgress::CrashLoop("restarted 4 times".into()));
    let mut off = spec();
    off.rollback.automatic = false;
    let mut unlisted = spec();
    unlisted
        .rollback
        .triggers
        .retain(|t| *t != RollbackTrigger::CrashLoop);
    for spec in [off, unlisted] {
        let plan = run(&spec, &ready_on_old(), &crash);
        assert_eq!(plan.status.phase, Some(Phase::Failed));
        assert!(
            plan.status
                .message
                .unwrap()
                .contains("automatic rollback is off for this failure")
        );
        assert!(
            !plan
                .changes
                .iter()
                .any(|a| matches!(a, Change::RestoreStable { .. }))
        );
    }
}

#[test]
fn a_failed_migration_never_runs_the_down_migration() {
    let failed = observed().migrated(JobState::Failed("DeadlineExceeded".into()));
    let plan = run(&spec(), &ready_on_old(), &failed);
    assert!(
        !plan
            .changes
            .iter()
            .any(|a| matches!(a, Change::CreateRollbackMigrationJob { .. }))
    );
    assert_eq!(
        condition(&plan, Cond::MigrationComplete),
        ("False".into(), "MigrationFailed".into())
    );
}

#[test]
fn the_trigger_is_read_from_the_history_entry_not_from_its_text() {
    // A failure whose text names another trigger: the typed field decides. Automatic rollback
    // is allowed for VerificationFailed only, so a CrashLoop entry stops in Failed.
    let failed = deployed_new(RolloutProgress::CrashLoop(
        "pod web-1 container app restarted 4 times".into(),
    ));
    let mut spec = spec();
    spec.rollback.triggers = vec![RollbackTrigger::VerificationFailed];
    let mut status = run(&spec, &ready_on_old(), &failed).status;
    assert_eq!(status.phase, Some(Phase::Failed));
    let last = status.history.last_mut().unwrap();
    assert_eq!(last.trigger, Some(RollbackTrigger::CrashLoop));
    last.message = Some("VerificationFailed: looks like a verification failure".into());
    let again = run(&spec, &status, &failed);
    assert_eq!(again.status.phase, Some(Phase::Failed));
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

#[test]
fn an_entry_without_a_trigger_keeps_the_decision_its_phase_shows() {
    let failing = deployed_new(RolloutProgress::Complete)
        .verifying(VerificationObservation::Failed("health: got 503".into()));
    let mut legacy = with_failed_attempt(&failing);
    assert_eq!(legacy.phase, Some(Phase::RollingBack));
    // As an earlier version wrote it: the trigger only in the reason's text.
    let last = legacy.history.last_mut().unwrap();
    last.trigger = None;
    last.message = None;
    last.reason = Some("VerificationFailed: verification failed: health: got 503".into());
    let restored = failing
        .deployed(OLD, RolloutProgress::Complete)
        .down_migrated(JobState::Succeeded);

    // It was rolling back: it finishes the rollback and says why in the old words.
    let plan = run(&spec(), &legacy, &restored);
    assert_eq!(plan.status.phase, Some(Phase::RolledBack));
    let message = plan.status.message.clone().unwrap();
    assert!(message.contains("health: got 503"), "{message}");

    // It had stopped in Failed: it stays there, nothing restored.
    legacy.phase = Some(Phase::Failed);
    let plan = run(&spec(), &legacy, &restored);
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
}

#[test]
fn a_rollback_is_recorded_before_it_is_made_and_a_release_moving_forward_after() {
    let failed = deployed_new(RolloutProgress::CrashLoop(
        "pod web-1 container app in CrashLoopBackOff".into(),
    ));
    let rolling_back = run(&spec(), &with_failed_attempt(&failed), &failed);
    assert_eq!(rolling_back.status.phase, Some(Phase::RollingBack));
    assert!(
        rolling_back
            .changes
            .iter()
            .any(|c| matches!(c, Change::RestoreStable { .. })),
        "{:?}",
        rolling_back.changes
    );
    assert!(rolling_back.records_first());

    let moving = run(&spec(), &ready_on_old(), &observed());
    assert_eq!(moving.status.phase, Some(Phase::Migrating));
    assert!(!moving.changes.is_empty());
    assert!(!moving.records_first());
}
