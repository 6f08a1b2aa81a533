//! BlueGreen, stage by stage: CGraph's release with its migration, preview, switch and
//! scale-down delay, a failure before and after the switch, manual promotion.

use super::sides::*;
use super::*;
use crate::api::RolloutStage;
use crate::traffic::Router;

/// CGraph's spec without its disruption budget, which follows the release in changes of its
/// own (`tests/scaling.rs`); these tests are about the stages.
fn cgraph() -> DeploymentChecklistSpec {
    let mut spec = example(include_str!("../../../../examples/cgraph.yaml"));
    spec.app.disruption_budget = None;
    spec
}

/// The new pods are all up behind the preview Service; the app's Service still on OLD.
fn green_up(spec: &DeploymentChecklistSpec) -> Observation {
    new_up(spec, spec.app.replicas.unwrap_or(1))
}

/// Runs a release of NEW up to verifying the preview.
fn verifying(spec: &DeploymentChecklistSpec) -> (DeploymentChecklistStatus, Observation) {
    let started = at(spec, &ready_on(spec), &release(spec), 10);
    let world = green_up(spec);
    let verifying = at(spec, &started.status, &world, 20);
    assert_eq!(stage(&verifying), RolloutStage::Verifying);
    (verifying.status, world)
}

#[test]
fn the_migration_runs_before_any_new_pod() {
    let spec = cgraph();
    let mut world = release(&spec);
    world.migration = JobState::Absent;
    let plan = at(&spec, &ready_on(&spec), &world, 10);
    assert!(plan.changes.contains(&Change::CreateMigrationJob {
        revision: NEW.into()
    }));
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::ApplyRevision { .. }) || routes(c)),
        "{:?}",
        plan.changes
    );
}

#[test]
fn green_starts_beside_blue_with_the_app_service_pinned_to_blue() {
    let spec = cgraph();
    let mut world = release(&spec);
    // After a RollingUpdate release the app's Service selected every revision.
    world.traffic.routes.app = Some(None);
    let plan = at(&spec, &ready_on(&spec), &world, 10);
    assert_eq!(
        plan.changes,
        [
            Change::StopVerification,
            trying(0),
            Change::SaveRevision {
                revision: NEW.into()
            },
            Change::ApplyRevision {
                revision: NEW.into(),
                replicas: 4
            },
        ],
        "the Service is pinned before a new pod exists"
    );
    assert_eq!(
        rollout(&plan).service.as_deref(),
        Some("cgraph-api-preview")
    );
    assert!(!touches_old(&plan));
}

#[test]
fn the_checks_run_against_the_preview_while_users_stay_on_blue() {
    let spec = cgraph();
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let plan = at(&spec, &started.status, &green_up(&spec), 20);
    assert_eq!(
        plan.changes,
        [Change::StartVerification {
            revision: NEW.into(),
            stage: Some("preview".into()),
            endpoint: Endpoint::Side,
            verified: false,
            failed_rounds: 0,
        }]
    );
    assert_eq!(plan.status.phase, Some(Phase::Verifying));
}

#[test]
fn a_pass_switches_the_service_in_one_write_and_keeps_blue_for_the_delay() {
    let spec = cgraph();
    let (status, mut world) = verifying(&spec);
    world.verification = VerificationObservation::Passed;
    let switched = at(&spec, &status, &world, 100);
    assert_eq!(
        switched
            .changes
            .iter()
            .filter(|c| routes(c))
            .collect::<Vec<_>>(),
        [&trying(100)]
    );
    assert!(!touches_old(&switched), "blue stays for the delay");
    assert_eq!(stage(&switched), RolloutStage::Promoted);
    assert_eq!(rollout(&switched).promoted_at, Some(now(100)));
    assert!(switched.notes.iter().any(|n| n.reason == Reason::Promoted));
    assert!(switched.changes.contains(&Change::StartVerification {
        revision: NEW.into(),
        stage: Some("promoted".into()),
        endpoint: Endpoint::App,
        verified: false,
        failed_rounds: 0,
    }));
    assert!(switched.requeue_after.as_secs() <= 300);

    // The next reconcile sees the Service switched: no second switch.
    world.traffic.routes.app = Some(Some(NEW.into()));
    world.verification = VerificationObservation::Running;
    let waiting = at(&spec, &switched.status, &world, 200);
    assert!(waiting.changes.is_empty(), "{:?}", waiting.changes);
    assert_eq!(waiting.status.phase, Some(Phase::Verifying));

    // After scaleDownDelaySeconds (300) blue goes and green is Ready; the rounds that watched
    // the delay end with it.
    let done = at(&spec, &waiting.status, &world, 401);
    assert_eq!(done.changes, [keep_only(NEW), Change::StopVerification]);
    assert_eq!(done.status.phase, Some(Phase::Ready));
    assert_eq!(stage(&done), RolloutStage::Complete);
}

#[test]
fn a_failure_before_the_switch_removes_green_and_never_touches_the_apps_service() {
    let spec = cgraph();
    let (status, mut world) = verifying(&spec);
    world.verification = VerificationObservation::Failed("health: got 503".into());
    let failed = at(&spec, &status, &world, 60);
    assert_eq!(failed.changes, back_to_old());
    // The app's Service already selects blue: only the preview Service is pointed back at it.
    let mut checklist = crate::resources::fixtures::example("cgraph.yaml");
    checklist.metadata.name = Some(NAME.into());
    let writes = crate::traffic::ServiceSelector.writes(
        &checklist,
        &crate::traffic::Routing::settled(OLD),
        &world.traffic.routes,
    );
    assert!(
        matches!(writes.as_slice(), [crate::traffic::Write::SideService(_)]),
        "{writes:?}"
    );
    assert!(!touches_old(&failed));
    assert_eq!(failed.status.phase, Some(Phase::RollingBack));
}

#[test]
fn a_failure_during_the_delay_switches_back_at_once() {
    let spec = cgraph();
    let (status, mut world) = verifying(&spec);
    world.verification = VerificationObservation::Passed;
    let switched = at(&spec, &status, &world, 100);
    world.traffic.routes.app = Some(Some(NEW.into()));
    world.verification = VerificationObservation::Failed("health: got 500".into());
    let failed = at(&spec, &switched.status, &world, 150);
    assert_eq!(failed.changes, back_to_old());
    assert_eq!(failed.status.phase, Some(Phase::RollingBack));
}

#[test]
fn without_auto_promotion_a_passed_preview_waits_for_a_person() {
    let mut spec = cgraph();
    spec.rollout.blue_green.as_mut().unwrap().auto_promotion = false;
    let (status, mut world) = verifying(&spec);
    world.verification = VerificationObservation::Passed;
    let waiting = at(&spec, &status, &world, 100);
    assert_eq!(stage(&waiting), RolloutStage::WaitingForPromotion);
    assert!(!waiting.changes.iter().any(routes));
    assert_eq!(condition(&waiting, Cond::Ready).1, "WaitingForPromotion");
    world.promote_token = Some("1".into());
    let promoted = at(&spec, &waiting.status, &world, 150);
    assert!(promoted.changes.contains(&trying(100)));
    assert_eq!(stage(&promoted), RolloutStage::Promoted);
}

#[test]
fn a_first_release_has_no_preview_stage() {
    let spec = cgraph();
    let mut world = release(&spec);
    world.traffic = Default::default();
    let plan = at(&spec, &DeploymentChecklistStatus::default(), &world, 10);
    assert!(plan.changes.contains(&Change::ApplyRevision {
        revision: NEW.into(),
        replicas: 4
    }));
    assert!(plan.changes.contains(&settled(NEW)));
    assert_eq!(rollout(&plan).stable_revision, None);
}

#[test]
fn a_preview_service_named_like_the_app_is_stalled() {
    let mut spec = cgraph();
    spec.rollout.blue_green.as_mut().unwrap().preview_service = Some(NAME.into());
    let plan = at(&spec, &ready_on(&cgraph()), &release(&spec), 10);
    assert!(plan.changes.is_empty());
    assert_eq!(condition(&plan, Cond::Stalled).0, "True");
}
