//! spec.hooks in the walk: preMigration before the migration, postPromotion after the release
//! and before Ready, each once per revision; what each one's failure does.

use super::*;
use crate::api::{HookName, HooksSpec, MigrationState};

fn hooked(rollback_on_failure: bool) -> DeploymentChecklistSpec {
    let mut spec = spec();
    spec.hooks = Some(
        serde_json::from_value::<HooksSpec>(serde_json::json!({
            "preMigration": {"command": ["/app/bin/backup"]},
            "postPromotion": {"command": ["/app/bin/contract"], "rollbackOnFailure": rollback_on_failure},
        }))
        .unwrap(),
    );
    spec
}

fn with_hooks(observed: Observation, pre: JobState, post: JobState) -> Observation {
    Observation {
        hooks: HookJobs {
            pre_migration: pre,
            post_promotion: post,
        },
        ..observed
    }
}

fn creates(plan: &Plan, hook: HookName) -> bool {
    plan.changes.iter().any(|c| {
        matches!(c, Change::CreateHookJob { hook: h, revision } if *h == hook && revision == NEW)
    })
}

#[test]
fn the_walk_runs_backup_then_migration_then_rollout_then_contract_then_ready() {
    let spec = hooked(false);
    // 1. The backup first: no migration Job yet.
    let world = with_hooks(observed(), JobState::Absent, JobState::Absent);
    let plan = run(&spec, &ready_on_old(), &world);
    assert!(creates(&plan, HookName::PreMigration), "{:?}", plan.changes);
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::CreateMigrationJob { .. }))
    );
    assert_eq!(plan.status.phase, Some(Phase::RunningHook));
    assert_eq!(
        plan.status.message.as_deref(),
        Some("running the preMigration hook Job dialectic-pre-bbbbbbbbbb")
    );
    // 2. Backed up: the migration.
    let world = with_hooks(observed(), JobState::Succeeded, JobState::Absent);
    let plan = run(&spec, &plan.status, &world);
    assert!(plan.changes.contains(&Change::CreateMigrationJob {
        revision: NEW.into()
    }));
    assert!(!creates(&plan, HookName::PostPromotion));
    assert_eq!(plan.status.hooks[0].state, MigrationState::Succeeded);
    // 3. Rolled out and verified: the contract step, not Ready yet.
    let world = with_hooks(
        deployed_new(RolloutProgress::Complete).verifying(VerificationObservation::Passed),
        JobState::Succeeded,
        JobState::Absent,
    );
    let plan = run(&spec, &plan.status, &world);
    assert!(
        creates(&plan, HookName::PostPromotion),
        "{:?}",
        plan.changes
    );
    assert_eq!(plan.status.phase, Some(Phase::RunningHook));
    // 4. Contracted: Ready, and nothing created again.
    let world = with_hooks(world, JobState::Succeeded, JobState::Succeeded);
    let plan = run(&spec, &plan.status, &world);
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert!(!creates(&plan, HookName::PreMigration) && !creates(&plan, HookName::PostPromotion));
    let names: Vec<(HookName, MigrationState)> = plan
        .status
        .hooks
        .iter()
        .map(|h| (h.name, h.state))
        .collect();
    assert_eq!(
        names,
        [
            (HookName::PreMigration, MigrationState::Succeeded),
            (HookName::PostPromotion, MigrationState::Succeeded)
        ]
    );
    // 5. The Jobs deleted (by a person, a TTL) or the operator restarted: status says they ran.
    let gone = with_hooks(world, JobState::Absent, JobState::Absent).migrated(JobState::Absent);
    let again = run(&spec, &plan.status, &gone);
    assert!(
        !again
            .changes
            .iter()
            .any(|c| matches!(c, Change::CreateMigrationJob { .. })),
        "the migration is not run twice either: {:?}",
        again.changes
    );
    assert!(!creates(&again, HookName::PreMigration) && !creates(&again, HookName::PostPromotion));
    assert_eq!(again.status.phase, Some(Phase::Ready));
}

#[test]
fn a_failed_backup_changes_nothing_running() {
    let spec = hooked(false);
    let world = with_hooks(
        observed(),
        JobState::Failed(
            "BackoffLimitExceeded: Job has reached the specified backoff limit".into(),
        ),
        JobState::Absent,
    );
    let first = run(&spec, &ready_on_old(), &world);
    let plan = run(&spec, &first.status, &world);
    assert!(
        plan.changes.iter().all(|c| !matches!(
            c,
            Change::CreateMigrationJob { .. }
                | Change::ApplyCurrent { .. }
                | Change::CreateHookJob { .. }
        )),
        "{:?}",
        plan.changes
    );
    assert!(
        plan.status.message.as_deref().unwrap_or_default().contains(
            "the preMigration hook Job dialectic-pre-bbbbbbbbbb failed: BackoffLimitExceeded"
        ),
        "{:?}",
        plan.status.message
    );
    let history = plan.status.history.last().unwrap();
    assert_eq!(history.trigger, Some(RollbackTrigger::MigrationFailed));
    assert!(
        plan.notes
            .iter()
            .chain(&first.notes)
            .any(|n| n.reason == Reason::HookFailed)
    );
}

#[test]
fn a_failed_contract_step_degrades_the_serving_version_unless_told_to_roll_back() {
    let contract_failed = with_hooks(
        deployed_new(RolloutProgress::Complete).verifying(VerificationObservation::Passed),
        JobState::Succeeded,
        JobState::Failed("DeadlineExceeded: Job was active longer than specified deadline".into()),
    );
    let stays = hooked(false);
    let first = run(&stays, &ready_on_old(), &contract_failed);
    let plan = run(&stays, &first.status, &contract_failed);
    assert_eq!(
        plan.status.phase,
        Some(Phase::Degraded),
        "{:?}",
        plan.status.message
    );
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::RestoreStable { .. }))
    );
    assert_eq!(
        plan.status
            .revision
            .as_ref()
            .unwrap()
            .stable
            .as_ref()
            .unwrap()
            .hash,
        NEW
    );
    assert!(
        plan.notes
            .iter()
            .chain(&first.notes)
            .any(|n| n.reason == Reason::HookFailed)
    );

    // rollbackOnFailure acts through the MigrationFailed trigger, which dialectic lists.
    let rolls_back = hooked(true);
    let first = run(&rolls_back, &ready_on_old(), &contract_failed);
    let plan = run(&rolls_back, &first.status, &contract_failed);
    assert!(
        plan.changes
            .iter()
            .chain(&first.changes)
            .any(|c| *c == restore_old()),
        "{:?} {:?} {:?}",
        first.changes,
        first.status.message,
        plan.status.message
    );
    assert_ne!(plan.status.phase, Some(Phase::Degraded));
}

#[test]
fn a_retry_runs_a_failed_hook_again() {
    let spec = hooked(false);
    let failed = with_hooks(
        observed(),
        JobState::Failed("BackoffLimitExceeded".into()),
        JobState::Absent,
    );
    let status = run(&spec, &run(&spec, &ready_on_old(), &failed).status, &failed).status;
    let retry = Observation {
        retry_token: Some("1".into()),
        ..failed.clone()
    };
    let plan = run(&spec, &status, &retry);
    assert!(
        plan.changes.contains(&Change::DeleteJobs {
            revision: NEW.into()
        }),
        "{:?}",
        plan.changes
    );
    // The Jobs gone, the backup runs again.
    let cleared = with_hooks(retry, JobState::Absent, JobState::Absent);
    let plan = run(&spec, &plan.status, &cleared);
    assert!(creates(&plan, HookName::PreMigration), "{:?}", plan.changes);
}

#[test]
fn a_hook_added_to_a_ready_revision_waits_for_the_next_release() {
    // OLD is Ready without hooks; the spec gains both, with the same revision.
    let spec = hooked(false);
    let world = with_hooks(steady_on_old(), JobState::Absent, JobState::Absent);
    let plan = run(&spec, &ready_on_old(), &world);
    assert!(
        !creates(&plan, HookName::PreMigration)
            && !plan
                .changes
                .iter()
                .any(|c| matches!(c, Change::CreateHookJob { .. })),
        "{:?}",
        plan.changes
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert!(plan.status.hooks.is_empty());
}
