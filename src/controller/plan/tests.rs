//! Every transition and trigger of the plan, one row per (situation → phase, actions).

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

use super::*;
use crate::{
    api::{DeploymentChecklist, SecretKeyStatus},
    controller::observation::{Revision, RolloutObservation, VerificationResults},
};

const NAME: &str = "dialectic";
const OLD: &str = "aaaaaaaaaa";
const NEW: &str = "bbbbbbbbbb";

fn spec() -> DeploymentChecklistSpec {
    let text = include_str!("../../../examples/dialectic.yaml");
    let checklist: DeploymentChecklist = serde_norway::from_str(text).unwrap();
    checklist.spec
}

fn now(seconds: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + seconds).unwrap())
}

fn valid_secrets() -> Vec<SecretKeyStatus> {
    vec![SecretKeyStatus {
        secret: "dialectic-env".into(),
        key: "SECRET_KEY_BASE".into(),
        result: CheckResult::Pass,
        message: Some("64+ characters".into()),
    }]
}

/// The world after OLD became Ready and NEW was applied: NEW's migration not started yet, the
/// Deployment still on OLD.
fn observed() -> Observation {
    Observation {
        revision: Revision {
            hash: NEW.into(),
            image: "ghcr.io/acme/dialectic:1.5.0".into(),
        },
        secrets: valid_secrets(),
        migration: JobState::Absent,
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::NotStarted,
        verification_results: None,
        rollback_migration: JobState::Absent,
        stable_spec_available: true,
        retry_token: None,
    }
}

/// OLD is stable and current: what the status says after the previous release.
fn ready_on_old() -> DeploymentChecklistStatus {
    let old = Observation {
        revision: Revision {
            hash: OLD.into(),
            image: "ghcr.io/acme/dialectic:1.4.2".into(),
        },
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::Passed,
        ..observed()
    };
    let plan = run(&spec(), &DeploymentChecklistStatus::default(), &old);
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    plan.status
}

fn run(
    spec: &DeploymentChecklistSpec,
    previous: &DeploymentChecklistStatus,
    observed: &Observation,
) -> Plan {
    let subject = Subject {
        name: NAME,
        generation: 2,
        spec,
    };
    plan(subject, previous, observed, &now(60))
}

fn condition(plan: &Plan, kind: Cond) -> (String, String) {
    let c = plan
        .status
        .condition(kind)
        .unwrap_or_else(|| panic!("no {kind} condition"));
    (c.status.clone(), c.reason.clone())
}

fn restore_old() -> Action {
    Action::RestoreStable {
        revision: OLD.into(),
    }
}

/// Runs the plan twice: once to record the failure, once more in the world after the actions,
/// as the next reconcile would.
fn with_failed_attempt(observation: &Observation) -> DeploymentChecklistStatus {
    run(&spec(), &ready_on_old(), observation).status
}

#[test]
fn transitions_follow_the_lifecycle() {
    struct Row {
        name: &'static str,
        observation: Observation,
        phase: Phase,
        actions: Vec<Action>,
    }
    // Every new revision first stops whatever verified the previous one.
    let started = |_revision: &str| Action::StopVerification;
    let rows = vec![
        Row {
            name: "new revision: migration first",
            observation: observed(),
            phase: Phase::Migrating,
            actions: vec![
                started(NEW),
                Action::CreateMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "migration running: wait",
            observation: Observation {
                migration: JobState::Running,
                ..observed()
            },
            phase: Phase::Migrating,
            actions: vec![started(NEW)],
        },
        Row {
            name: "migration done: save the revision and apply it",
            observation: Observation {
                migration: JobState::Succeeded,
                ..observed()
            },
            phase: Phase::RollingOut,
            actions: vec![
                started(NEW),
                Action::SaveRevision {
                    revision: NEW.into(),
                },
                Action::ApplyCurrent {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "new pods coming up: wait",
            observation: Observation {
                migration: JobState::Succeeded,
                rollout: RolloutObservation {
                    deployed: Some(NEW.into()),
                    progress: RolloutProgress::Progressing,
                },
                ..observed()
            },
            phase: Phase::RollingOut,
            actions: vec![started(NEW)],
        },
        Row {
            name: "rollout complete: start verifying",
            observation: Observation {
                migration: JobState::Succeeded,
                rollout: RolloutObservation {
                    deployed: Some(NEW.into()),
                    progress: RolloutProgress::Complete,
                },
                ..observed()
            },
            phase: Phase::Verifying,
            actions: vec![
                started(NEW),
                Action::StartVerification {
                    revision: NEW.into(),
                    verified: false,
                },
            ],
        },
        Row {
            name: "verification passed: ready",
            observation: Observation {
                migration: JobState::Succeeded,
                rollout: RolloutObservation {
                    deployed: Some(NEW.into()),
                    progress: RolloutProgress::Complete,
                },
                verification: VerificationObservation::Passed,
                ..observed()
            },
            phase: Phase::Ready,
            actions: vec![started(NEW)],
        },
        Row {
            name: "a secret key is invalid: nothing applied",
            observation: Observation {
                secrets: vec![SecretKeyStatus {
                    secret: "dialectic-env".into(),
                    key: "SECRET_KEY_BASE".into(),
                    result: CheckResult::Fail,
                    message: Some(
                        "key SECRET_KEY_BASE has 12 characters, needs at least 64".into(),
                    ),
                }],
                ..observed()
            },
            phase: Phase::CheckingSecrets,
            actions: vec![started(NEW)],
        },
        Row {
            name: "migration failed: nothing running changed, rolled back at once",
            observation: Observation {
                migration: JobState::Failed("BackoffLimitExceeded".into()),
                ..observed()
            },
            phase: Phase::RolledBack,
            actions: vec![started(NEW)],
        },
        Row {
            name: "new pods crash-loop: restore the stable template without waiting",
            observation: Observation {
                migration: JobState::Succeeded,
                rollout: RolloutObservation {
                    deployed: Some(NEW.into()),
                    progress: RolloutProgress::CrashLoop(
                        "pod web-1 container app restarted 4 times".into(),
                    ),
                },
                ..observed()
            },
            phase: Phase::RollingBack,
            actions: vec![
                started(NEW),
                restore_old(),
                Action::CreateRollbackMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "progress deadline exceeded: restore the stable template",
            observation: Observation {
                migration: JobState::Succeeded,
                rollout: RolloutObservation {
                    deployed: Some(NEW.into()),
                    progress: RolloutProgress::DeadlineExceeded(
                        "ReplicaSet has timed out progressing".into(),
                    ),
                },
                ..observed()
            },
            phase: Phase::RollingBack,
            actions: vec![
                started(NEW),
                restore_old(),
                Action::CreateRollbackMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "verification failed: restore and run the down-migration",
            observation: Observation {
                migration: JobState::Succeeded,
                rollout: RolloutObservation {
                    deployed: Some(NEW.into()),
                    progress: RolloutProgress::Complete,
                },
                verification: VerificationObservation::Failed(
                    "health: expected status 200, got 503".into(),
                ),
                ..observed()
            },
            phase: Phase::RollingBack,
            actions: vec![
                started(NEW),
                restore_old(),
                Action::CreateRollbackMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
    ];
    for row in rows {
        let plan = run(&spec(), &ready_on_old(), &row.observation);
        assert_eq!(
            plan.status.phase,
            Some(row.phase),
            "{}: {:?}",
            row.name,
            plan.status.message
        );
        assert_eq!(plan.actions, row.actions, "{}", row.name);
        // Level-triggered: the same world planned again says nothing new, so our own status
        // write, seen by the watch, does not cause a second write or a second Event.
        let again = run(&spec(), &plan.status, &row.observation);
        assert!(
            !crate::controller::record::status_changed(&plan.status, &again.status),
            "{}: a second write of an unchanged world:\n{:#?}\n{:#?}",
            row.name,
            plan.status,
            again.status
        );
        assert!(again.notes.is_empty(), "{}: {:?}", row.name, again.notes);
    }
}

#[test]
fn secrets_failing_name_the_key_and_stall() {
    let observation = Observation {
        secrets: vec![SecretKeyStatus {
            secret: "dialectic-env".into(),
            key: "DATABASE_URL".into(),
            result: CheckResult::Fail,
            message: Some("key DATABASE_URL is missing".into()),
        }],
        ..observed()
    };
    let plan = run(&spec(), &ready_on_old(), &observation);
    assert_eq!(
        condition(&plan, Cond::SecretsValid),
        ("False".into(), "SecretInvalid".into())
    );
    assert_eq!(condition(&plan, Cond::Stalled).0, "True");
    let message = plan.status.message.unwrap();
    assert!(
        message.contains("dialectic-env/DATABASE_URL: key DATABASE_URL is missing"),
        "{message}"
    );
}

#[test]
fn ready_sets_the_stable_revision_and_closes_the_history_entry() {
    let status = ready_on_old();
    let stable = status.revision.as_ref().unwrap().stable.as_ref().unwrap();
    assert_eq!(stable.hash, OLD);
    assert_eq!(
        status.history.last().unwrap().outcome,
        RevisionOutcome::Succeeded
    );
    assert_eq!(status.message.as_deref(), Some("verification passed: 5/5"));
    for kind in [
        Cond::Ready,
        Cond::SecretsValid,
        Cond::MigrationComplete,
        Cond::RolloutComplete,
        Cond::Verified,
    ] {
        assert_eq!(status.condition(kind).unwrap().status, "True", "{kind}");
    }
    for kind in [Cond::Reconciling, Cond::Stalled, Cond::RolledBack] {
        assert_eq!(status.condition(kind).unwrap().status, "False", "{kind}");
    }
}

#[test]
fn a_ready_checklist_with_nothing_changed_plans_nothing_and_keeps_its_status() {
    let status = ready_on_old();
    let steady = Observation {
        revision: Revision {
            hash: OLD.into(),
            image: "ghcr.io/acme/dialectic:1.4.2".into(),
        },
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::Passed,
        ..observed()
    };
    let plan = run(&spec(), &status, &steady);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    assert_eq!(plan.status, status);
}

#[test]
fn a_rollback_ends_rolled_back_with_the_stable_version_serving_and_does_not_loop() {
    let failed = Observation {
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::CrashLoop(
                "pod web-1 container app in CrashLoopBackOff".into(),
            ),
        },
        ..observed()
    };
    let after_failure = with_failed_attempt(&failed);
    let last = after_failure.history.last().unwrap();
    assert_eq!(last.outcome, RevisionOutcome::Failed);
    assert!(
        last.reason
            .as_deref()
            .unwrap()
            .starts_with("CrashLoop: new pods crash-loop")
    );

    // The stable template is back and the down-migration finished: RolledBack, nothing to do.
    let restored = Observation {
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        rollback_migration: JobState::Succeeded,
        ..failed.clone()
    };
    let plan = run(&spec(), &after_failure, &restored);
    assert_eq!(plan.status.phase, Some(Phase::RolledBack));
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
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
    assert!(again.actions.is_empty());
    assert_eq!(again.status, plan.status);
}

#[test]
fn a_new_retry_token_tries_the_failed_revision_once_more() {
    let failed = Observation {
        migration: JobState::Failed("BackoffLimitExceeded".into()),
        ..observed()
    };
    let rolled_back = run(&spec(), &with_failed_attempt(&failed), &failed).status;
    assert_eq!(rolled_back.phase, Some(Phase::RolledBack));

    let retried = Observation {
        migration: JobState::Absent,
        retry_token: Some("1".into()),
        ..observed()
    };
    let plan = run(&spec(), &rolled_back, &retried);
    assert_eq!(plan.status.phase, Some(Phase::Migrating));
    assert!(plan.actions.contains(&Action::CreateMigrationJob {
        revision: NEW.into()
    }));
    assert_eq!(plan.status.retry_token.as_deref(), Some("1"));
    // The same token again is not a new retry.
    let same = run(
        &spec(),
        &plan.status,
        &Observation {
            migration: JobState::Failed("again".into()),
            ..retried
        },
    );
    assert_eq!(same.status.phase, Some(Phase::RolledBack));
    assert_eq!(
        same.status
            .history
            .iter()
            .filter(|h| h.hash.as_deref() == Some(NEW))
            .count(),
        2
    );
}

#[test]
fn a_retry_removes_the_failed_attempts_jobs_before_running_them_again() {
    let failed = Observation {
        migration: JobState::Failed("BackoffLimitExceeded".into()),
        ..observed()
    };
    let rolled_back = run(&spec(), &with_failed_attempt(&failed), &failed).status;
    let retried = Observation {
        retry_token: Some("1".into()),
        ..failed.clone()
    };
    let plan = run(&spec(), &rolled_back, &retried);
    assert_eq!(
        plan.actions,
        vec![
            Action::StopVerification,
            Action::DeleteJobs {
                revision: NEW.into()
            }
        ]
    );
    assert_eq!(plan.status.phase, Some(Phase::Migrating));
    assert_eq!(condition(&plan, Cond::Reconciling).0, "True");

    // Next reconcile: the Job is gone, the token already acted on: the migration runs again.
    let gone = Observation {
        migration: JobState::Absent,
        ..retried
    };
    let next = run(&spec(), &plan.status, &gone);
    assert!(next.actions.contains(&Action::CreateMigrationJob {
        revision: NEW.into()
    }));
    assert!(
        !next
            .actions
            .iter()
            .any(|a| matches!(a, Action::DeleteJobs { .. }))
    );
}

#[test]
fn a_retry_does_not_reuse_the_verdict_of_the_failed_attempt() {
    let failed = Observation {
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::Failed("health: status 500".into()),
        rollback_migration: JobState::NotNeeded,
        ..observed()
    };
    let rolled_back = run(&spec(), &with_failed_attempt(&failed), &failed).status;
    let plan = run(
        &spec(),
        &rolled_back,
        &Observation {
            retry_token: Some("2".into()),
            ..failed
        },
    );
    assert_eq!(plan.status.phase, Some(Phase::Verifying));
    assert!(plan.actions.contains(&Action::StartVerification {
        revision: NEW.into(),
        verified: false,
    }));
}

#[test]
fn verification_results_are_copied_into_status_while_the_attempt_runs() {
    let results = VerificationResults {
        checks: vec![crate::api::CheckStatus {
            name: "health".into(),
            kind: crate::api::CheckKind::Http,
            result: CheckResult::Fail,
            message: Some("status 500".into()),
            latency_ms: Some(3),
            attempts: Some(1),
            last_run: None,
        }],
        dependencies: Vec::new(),
    };
    let verifying = Observation {
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::Running,
        verification_results: Some(results.clone()),
        ..observed()
    };
    let started = run(&spec(), &ready_on_old(), &verifying).status;
    let plan = run(&spec(), &started, &verifying);
    assert_eq!(plan.status.checks, results.checks);
    assert_eq!(plan.status.phase, Some(Phase::Verifying));
}

#[test]
fn a_ready_revision_that_starts_crash_looping_is_degraded_once_not_rolled_back() {
    let crashing = Observation {
        revision: Revision {
            hash: OLD.into(),
            image: "ghcr.io/acme/dialectic:1.4.2".into(),
        },
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::CrashLoop("pod a container app restarted 4 times".into()),
        },
        verification: VerificationObservation::Passed,
        ..observed()
    };
    let plan = run(&spec(), &ready_on_old(), &crashing);
    assert_eq!(plan.status.phase, Some(Phase::Degraded));
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.notes.len(), 1);
    assert!(plan.notes[0].warning);
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
    let recovered = Observation {
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        ..crashing
    };
    let healed = run(&spec(), &again.status, &recovered);
    assert_eq!(healed.status.phase, Some(Phase::Ready));
}

/// OLD, Ready, as observed after a restart: no verification task runs.
fn ready_old_without_a_task() -> Observation {
    Observation {
        revision: Revision {
            hash: OLD.into(),
            image: "ghcr.io/acme/dialectic:1.4.2".into(),
        },
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::NotStarted,
        ..observed()
    }
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
        }),
        ..ready_old_without_a_task()
    }
}

fn check(name: &str, result: CheckResult, latency: i64) -> crate::api::CheckStatus {
    crate::api::CheckStatus {
        name: name.into(),
        kind: crate::api::CheckKind::Http,
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
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Some(Phase::Ready));

    let continuous = continuous_spec();
    let plan = run(&continuous, &ready_on_old(), &ready_old_without_a_task());
    assert_eq!(
        plan.actions,
        vec![Action::StartVerification {
            revision: OLD.into(),
            verified: true
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
    let failing = Observation {
        verification: VerificationObservation::Failed("health: status 503".into()),
        ..ready_old_without_a_task()
    };
    let degraded = run(&continuous, &ready_on_old(), &failing);
    assert_eq!(degraded.status.phase, Some(Phase::Degraded));
    assert!(degraded.actions.is_empty(), "{:?}", degraded.actions);
    assert_eq!(condition(&degraded, Cond::Ready).0, "False");
    assert_eq!(condition(&degraded, Cond::Verified).0, "False");
    assert_eq!(degraded.notes.len(), 1);
    assert_eq!(degraded.notes[0].reason, "VerificationFailed");
    let passing = Observation {
        verification: VerificationObservation::Passed,
        ..ready_old_without_a_task()
    };
    let recovered = run(&continuous, &degraded.status, &passing);
    assert_eq!(recovered.status.phase, Some(Phase::Ready));
    assert_eq!(recovered.notes[0].reason, "Ready");
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

#[test]
fn without_a_stable_revision_a_failure_stops_in_failed_and_deletes_nothing() {
    let first_deploy = Observation {
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::CrashLoop(
                "pod web-1 container app restarted 4 times".into(),
            ),
        },
        ..observed()
    };
    let plan = run(
        &spec(),
        &DeploymentChecklistStatus::default(),
        &first_deploy,
    );
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::RestoreStable { .. }))
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
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::CrashLoop("restarted 4 times".into()),
        },
        stable_spec_available: false,
        ..observed()
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
    let crash = Observation {
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::CrashLoop("restarted 4 times".into()),
        },
        ..observed()
    };
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
                .actions
                .iter()
                .any(|a| matches!(a, Action::RestoreStable { .. }))
        );
    }
}

#[test]
fn a_failed_migration_never_runs_the_down_migration() {
    let failed = Observation {
        migration: JobState::Failed("DeadlineExceeded".into()),
        ..observed()
    };
    let plan = run(&spec(), &ready_on_old(), &failed);
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::CreateRollbackMigrationJob { .. }))
    );
    assert_eq!(
        condition(&plan, Cond::MigrationComplete),
        ("False".into(), "MigrationFailed".into())
    );
}

#[test]
fn a_strategy_this_version_cannot_run_is_refused_and_nothing_applied() {
    let mut canary = spec();
    canary.rollout.strategy = crate::api::RolloutStrategy::Canary;
    let plan = run(&canary, &DeploymentChecklistStatus::default(), &observed());
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert_eq!(
        condition(&plan, Cond::Stalled),
        ("True".into(), "UnsupportedStrategy".into())
    );
    assert!(plan.status.message.unwrap().contains("Canary"));
}

#[test]
fn suspend_changes_nothing() {
    let mut suspended = spec();
    suspended.suspend = true;
    let plan = run(&suspended, &ready_on_old(), &observed());
    assert_eq!(plan.status.phase, Some(Phase::Suspended));
    assert_eq!(plan.actions, vec![Action::StopVerification]);
}

#[test]
fn without_checks_a_complete_rollout_is_ready() {
    let mut no_checks = spec();
    no_checks.verification.checks.clear();
    let complete = Observation {
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(NEW.into()),
            progress: RolloutProgress::Complete,
        },
        ..observed()
    };
    let plan = run(&no_checks, &ready_on_old(), &complete);
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert_eq!(plan.status.revision.unwrap().stable.unwrap().hash, NEW);
}

#[test]
fn the_score_counts_keys_migration_rollout_and_checks() {
    let status = ready_on_old();
    // 1 key + migration + rollout + 5 checks; the checks' results come from the verification
    // tasks, which this plan did not run, so they are not counted as passed.
    assert_eq!(status.score.unwrap().summary, "3/8");
}

#[test]
fn history_is_bounded_by_the_revision_history_limit() {
    let mut limited = spec();
    limited.rollback.revision_history_limit = 2;
    let mut status = DeploymentChecklistStatus::default();
    for i in 0..5 {
        let observation = Observation {
            revision: Revision {
                hash: format!("rev{i:07}"),
                image: format!("app:{i}"),
            },
            ..observed()
        };
        status = run(&limited, &status, &observation).status;
    }
    assert_eq!(status.history.len(), 2);
    assert_eq!(status.history[0].outcome, RevisionOutcome::Superseded);
    assert_eq!(status.history[1].revision, 5);
}
