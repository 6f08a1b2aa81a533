//! Retries asked for with the checklist.dev/retry annotation.

use super::*;

#[test]
fn a_new_retry_token_tries_the_failed_revision_once_more() {
    let failed = observed().migrated(JobState::Failed("BackoffLimitExceeded".into()));
    let rolled_back = run(&spec(), &with_failed_attempt(&failed), &failed).status;
    assert_eq!(rolled_back.phase, Some(Phase::RolledBack));

    let retried = Observation {
        migration: JobState::Absent,
        retry_token: Some("1".into()),
        ..observed()
    };
    let plan = run(&spec(), &rolled_back, &retried);
    assert_eq!(plan.status.phase, Some(Phase::Migrating));
    assert!(plan.changes.contains(&Change::CreateMigrationJob {
        revision: NEW.into()
    }));
    assert_eq!(plan.status.retry_token.as_deref(), Some("1"));
    // The same token again is not a new retry.
    let same = run(
        &spec(),
        &plan.status,
        &retried.migrated(JobState::Failed("again".into())),
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
    let failed = observed().migrated(JobState::Failed("BackoffLimitExceeded".into()));
    let rolled_back = run(&spec(), &with_failed_attempt(&failed), &failed).status;
    let retried = Observation {
        retry_token: Some("1".into()),
        ..failed.clone()
    };
    let plan = run(&spec(), &rolled_back, &retried);
    assert_eq!(
        plan.changes,
        vec![
            Change::StopVerification,
            Change::DeleteJobs {
                revision: NEW.into()
            }
        ]
    );
    assert_eq!(plan.status.phase, Some(Phase::Migrating));
    assert_eq!(condition(&plan, Cond::Reconciling).0, "True");

    // Next reconcile: the Job is gone, the token already acted on: the migration runs again.
    let gone = retried.migrated(JobState::Absent);
    let next = run(&spec(), &plan.status, &gone);
    assert!(next.changes.contains(&Change::CreateMigrationJob {
        revision: NEW.into()
    }));
    assert!(
        !next
            .changes
            .iter()
            .any(|a| matches!(a, Change::DeleteJobs { .. }))
    );
}

#[test]
fn a_retry_does_not_reuse_the_verdict_of_the_failed_attempt() {
    let failed = Observation {
        verification: VerificationObservation::Failed("health: status 500".into()),
        rollback_migration: JobState::NotNeeded,
        ..deployed_new(RolloutProgress::Complete)
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
    assert!(plan.changes.contains(&Change::StartVerification {
        revision: NEW.into(),
        stage: None,
        endpoint: Endpoint::App,
        verified: false,
        failed_rounds: 0,
    }));
}
