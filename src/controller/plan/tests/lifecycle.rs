//! The walk through a release: one row per (situation → phase, changes), each also a fixed point.

use super::*;

#[test]
fn transitions_follow_the_lifecycle() {
    struct Row {
        name: &'static str,
        observation: Observation,
        phase: Phase,
        changes: Vec<Change>,
    }
    // Every new revision first stops whatever verified the previous one.
    let started = |_revision: &str| Change::StopVerification;
    let rows = vec![
        Row {
            name: "new revision: migration first",
            observation: observed(),
            phase: Phase::Migrating,
            changes: vec![
                started(NEW),
                Change::CreateMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "migration running: wait",
            observation: observed().migrated(JobState::Running),
            phase: Phase::Migrating,
            changes: vec![started(NEW)],
        },
        Row {
            name: "migration done: save the revision and apply it",
            observation: observed().migrated(JobState::Succeeded),
            phase: Phase::RollingOut,
            changes: vec![
                started(NEW),
                Change::SaveRevision {
                    revision: NEW.into(),
                },
                Change::ApplyCurrent {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "new pods coming up: wait",
            observation: deployed_new(RolloutProgress::Progressing),
            phase: Phase::RollingOut,
            changes: vec![started(NEW)],
        },
        Row {
            name: "rollout complete: start verifying",
            observation: deployed_new(RolloutProgress::Complete),
            phase: Phase::Verifying,
            changes: vec![
                started(NEW),
                Change::StartVerification {
                    revision: NEW.into(),
                    stage: None,
                    endpoint: Endpoint::App,
                    verified: false,
                    failed_rounds: 0,
                },
            ],
        },
        Row {
            name: "verification passed: ready",
            observation: deployed_new(RolloutProgress::Complete)
                .verifying(VerificationObservation::Passed),
            phase: Phase::Ready,
            changes: vec![started(NEW)],
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
            changes: vec![started(NEW)],
        },
        Row {
            name: "migration failed: nothing running changed, rolled back at once",
            observation: observed().migrated(JobState::Failed("BackoffLimitExceeded".into())),
            phase: Phase::RolledBack,
            changes: vec![started(NEW)],
        },
        Row {
            name: "new pods crash-loop: restore the stable template without waiting",
            observation: deployed_new(RolloutProgress::CrashLoop(
                "pod web-1 container app restarted 4 times".into(),
            )),
            phase: Phase::RollingBack,
            changes: vec![
                started(NEW),
                restore_old(),
                Change::CreateRollbackMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "progress deadline exceeded: restore the stable template",
            observation: deployed_new(RolloutProgress::DeadlineExceeded(
                "ReplicaSet has timed out progressing".into(),
            )),
            phase: Phase::RollingBack,
            changes: vec![
                started(NEW),
                restore_old(),
                Change::CreateRollbackMigrationJob {
                    revision: NEW.into(),
                },
            ],
        },
        Row {
            name: "verification failed: restore and run the down-migration",
            observation: Observation {
                verification: VerificationObservation::Failed(
                    "health: expected status 200, got 503".into(),
                ),
                ..deployed_new(RolloutProgress::Complete)
            },
            phase: Phase::RollingBack,
            changes: vec![
                started(NEW),
                restore_old(),
                Change::CreateRollbackMigrationJob {
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
        assert_eq!(plan.changes, row.changes, "{}", row.name);
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
        message.contains("dialectic-env/DATABASE_URL is missing"),
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
    assert_eq!(status.message.as_deref(), Some("verification passed: 7/7"));
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
    let plan = run(&spec(), &status, &steady_on_old());
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    assert_eq!(plan.status, status);
}

#[test]
fn a_settled_checklist_whose_objects_are_all_watched_is_looked_at_least_often() {
    use crate::controller::plan::{
        AT_REST, blocked,
        status::{SETTLED, all_watched, requeue_after},
    };
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let status = ready_on_old();
    let plan = run(&spec(), &status, &steady_on_old());
    assert_eq!(plan.requeue_after, SETTLED);

    // A PodDisruptionBudget, an autoscaler, an HTTPRoute or a Deployment still being adopted is
    // not watched: only the shorter net sees it drift.
    let mut budget = spec();
    budget.app.disruption_budget = Some(crate::api::DisruptionBudgetSpec {
        min_available: Some(IntOrString::Int(1)),
        max_unavailable: None,
    });
    let mut adopting = spec();
    adopting.app.adopt =
        Some(serde_json::from_value(serde_json::json!({"deployment": "legacy"})).unwrap());
    for unwatched in [&budget, &adopting] {
        let ready = requeue_after(&status, all_watched(unwatched, &status));
        assert_eq!(ready, AT_REST);
    }
    let mut handed_over = status.clone();
    handed_over.adoption = Some(crate::api::AdoptionStatus {
        deployment: "legacy".into(),
        handed_over: true,
        at: None,
        message: String::new(),
    });
    assert!(crate::controller::plan::status::all_watched(
        &adopting,
        &handed_over
    ));

    // In progress the usual look; stalled the shorter net, whatever it owns.
    let rolling = run(
        &spec(),
        &status,
        &deployed_new(RolloutProgress::Progressing),
    );
    assert_eq!(rolling.requeue_after.as_secs(), 15);
    let blocked = blocked(2, &status, Reason::Forbidden, "no", &now(60));
    assert_eq!(blocked.requeue_after, AT_REST);
}

#[test]
fn suspend_changes_nothing() {
    let mut suspended = spec();
    suspended.suspend = true;
    let plan = run(&suspended, &ready_on_old(), &observed());
    assert_eq!(plan.status.phase, Some(Phase::Suspended));
    assert_eq!(plan.changes, vec![Change::StopVerification]);
}

#[test]
fn without_checks_a_complete_rollout_is_ready() {
    let mut no_checks = spec();
    no_checks.verification.checks.clear();
    let complete = deployed_new(RolloutProgress::Complete);
    let plan = run(&no_checks, &ready_on_old(), &complete);
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert_eq!(plan.status.revision.unwrap().stable.unwrap().hash, NEW);
}

#[test]
fn the_score_counts_keys_migration_rollout_and_checks() {
    let status = ready_on_old();
    // 1 key + migration + rollout + 7 checks; the checks' results come from the verification
    // tasks, which this plan did not run, so they are not counted as passed.
    assert_eq!(status.score.unwrap().summary, "3/10");
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
                references: Vec::new(),
            },
            ..observed()
        };
        status = run(&limited, &status, &observation).status;
    }
    assert_eq!(status.history.len(), 2);
    assert_eq!(status.history[0].outcome, RevisionOutcome::Superseded);
    assert_eq!(status.history[1].revision, 5);
}

#[test]
fn an_image_set_by_hand_is_put_back_and_reported_once_per_look() {
    let status = ready_on_old();
    let mut world = steady_on_old();
    world.drift = vec![Drifted {
        object: Owned::Deployment {
            revision: OLD.into(),
        },
        name: NAME.into(),
        fields: vec!["spec.template.spec.containers[app].image".into()],
    }];
    let plan = run(&spec(), &status, &world);
    assert_eq!(
        plan.changes,
        [Change::ApplyCurrent {
            revision: OLD.into()
        }]
    );
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert_eq!(plan.notes[0].reason, Reason::Drift);
    assert_eq!(
        plan.notes[0].message,
        "Deployment dialectic: spec.template.spec.containers[app].image changed by hand; put \
         back as the checklist says"
    );
    assert_eq!(plan.status, status, "the status has nothing new to say");
}
