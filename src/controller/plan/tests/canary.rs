//! Canary, step by step: vel_tutor's 10% → 100% with a 30-minute pause, a failure at each point,
//! promote and abort.

use super::sides::*;
use super::*;
use crate::api::{ConditionStatus, RolloutStage};

/// vel_tutor's canary by pods (no route, the canary's pods by the weight): the router's
/// decisions have tests of their own.
fn vel_tutor() -> DeploymentChecklistSpec {
    let mut spec = example(include_str!("../../../../examples/vel-tutor.yaml"));
    spec.rollout.traffic_routing = None;
    if let Some(canary) = spec.rollout.canary.as_mut() {
        canary.canary_replicas = None;
    }
    spec
}

/// Step 1's canary pod is up and serving beside the stable pods.
fn step1_up(spec: &DeploymentChecklistSpec) -> Observation {
    let mut world = new_up(spec, 1);
    world.traffic.routes.app = Some(None);
    world
}

/// Runs a release of NEW up to step 1 paused (its checks passed at second 100).
fn paused_at_step1(spec: &DeploymentChecklistSpec) -> (DeploymentChecklistStatus, Observation) {
    let started = at(spec, &ready_on(spec), &release(spec), 10);
    let mut world = step1_up(spec);
    let verifying = at(spec, &started.status, &world, 20);
    world.verification = VerificationObservation::Passed;
    let paused = at(spec, &verifying.status, &world, 100);
    assert_eq!(stage(&paused), RolloutStage::Paused);
    (paused.status, world)
}

#[test]
fn step_one_starts_ceil_ten_percent_of_the_replicas_beside_every_stable_pod() {
    let spec = vel_tutor();
    let plan = at(&spec, &ready_on(&spec), &release(&spec), 10);
    assert_eq!(
        plan.changes,
        [
            Change::StopVerification,
            Change::SaveRevision {
                revision: NEW.into()
            },
            Change::ApplyRevision {
                revision: NEW.into(),
                replicas: 1
            },
            trying(0),
        ]
    );
    assert!(!touches_old(&plan), "the stable pods are left alone");
    let rollout = rollout(&plan);
    assert_eq!(
        (rollout.step, rollout.steps, rollout.weight),
        (Some(1), Some(2), Some(10))
    );
    // vel_tutor's 2 replicas: one canary pod of three takes about a third of the requests.
    assert_eq!(rollout.summary, "step 1/2 10% (~33% by pods) deploying");
    assert_eq!(rollout.pod_share, Some(33));
    assert!(
        rollout
            .traffic
            .as_deref()
            .is_some_and(|t| t.starts_with("10% asked; 1 of 3 pods, about 33% of requests")),
        "{:?}",
        rollout.traffic
    );
    assert_eq!(plan.status.phase, Some(Phase::RollingOut));
}

#[test]
fn the_ready_canary_pod_joins_the_app_service_and_is_verified_through_the_canary_service() {
    let spec = vel_tutor();
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let mut world = step1_up(&spec);
    world.traffic.routes.app = Some(Some(OLD.into()));
    let plan = at(&spec, &started.status, &world, 20);
    assert!(plan.changes.contains(&trying(10)));
    assert!(plan.changes.contains(&Change::StartVerification {
        revision: NEW.into(),
        stage: Some("step1".into()),
        endpoint: Endpoint::Side,
        verified: false,
        failed_rounds: 0,
    }));
    assert!(!touches_old(&plan));
    assert_eq!(stage(&plan), RolloutStage::Verifying);
    assert_eq!(plan.status.phase, Some(Phase::Verifying));
}

#[test]
fn a_passed_step_holds_its_pause_and_looks_again_when_it_ends() {
    let spec = vel_tutor();
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let mut world = step1_up(&spec);
    let verifying = at(&spec, &started.status, &world, 20);
    world.verification = VerificationObservation::Passed;
    let plan = at(&spec, &verifying.status, &world, 100);
    assert_eq!(stage(&plan), RolloutStage::Paused);
    assert_eq!(rollout(&plan).paused_until, Some(now(100 + 1800)));
    assert_eq!(plan.status.phase, Some(Phase::Paused));
    assert!(plan.notes.iter().any(|n| n.reason == Reason::Paused));
    assert_eq!(
        plan.requeue_after.as_secs(),
        15,
        "in progress: the usual look"
    );
    assert!(!touches_old(&plan));
    // Halfway through the pause nothing changes.
    let still = at(&spec, &plan.status, &world, 1000);
    assert_eq!(stage(&still), RolloutStage::Paused);
    assert!(still.changes.is_empty(), "{:?}", still.changes);
    assert_eq!(rollout(&still).paused_until, Some(now(1900)));
}

#[test]
fn the_end_of_the_pause_starts_the_last_step_then_the_new_version_takes_over() {
    let spec = vel_tutor();
    let (paused, world) = paused_at_step1(&spec);
    let next = at(&spec, &paused, &world, 1901);
    assert_eq!(rollout(&next).step, Some(2));
    assert_eq!(rollout(&next).weight, Some(100));
    assert!(next.changes.contains(&Change::ApplyRevision {
        revision: NEW.into(),
        replicas: 2
    }));
    assert!(next.notes.iter().any(|n| n.reason == Reason::StepStarted));
    assert!(!touches_old(&next));

    let mut full = world.clone();
    full.traffic.deployments[1] = pods(NEW, 2, RolloutProgress::Complete);
    full.verification = VerificationObservation::NotStarted;
    let verifying = at(&spec, &next.status, &full, 1910);
    assert!(verifying.changes.contains(&Change::StartVerification {
        revision: NEW.into(),
        stage: Some("step2".into()),
        endpoint: Endpoint::Side,
        verified: false,
        failed_rounds: 0,
    }));
    full.verification = VerificationObservation::Passed;
    let done = at(&spec, &verifying.status, &full, 1950);
    assert!(done.changes.contains(&settled(NEW)));
    assert!(done.changes.contains(&keep_only(NEW)));
    assert_eq!(done.status.phase, Some(Phase::Ready));
    assert_eq!(stage(&done), RolloutStage::Complete);
    let stable = done
        .status
        .revision
        .as_ref()
        .unwrap()
        .stable
        .as_ref()
        .unwrap();
    assert_eq!(stable.hash, NEW);
}

#[test]
fn a_failure_at_step_one_removes_the_canary_and_leaves_the_stable_pods_alone() {
    let spec = vel_tutor();
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let mut world = step1_up(&spec);
    let verifying = at(&spec, &started.status, &world, 20);
    world.verification = VerificationObservation::Failed("health: expected 200, got 500".into());
    let failed = at(&spec, &verifying.status, &world, 60);
    assert_eq!(failed.changes, back_to_old());
    assert_eq!(failed.status.phase, Some(Phase::RollingBack));
    assert_eq!(stage(&failed), RolloutStage::RolledBack);
    assert_eq!(rollout(&failed).summary, "rolled back");
    // The world after: only OLD runs, both Services on it.
    let mut after = release(&spec);
    after.traffic.routes.side = Some(Some(OLD.into()));
    after.verification = VerificationObservation::NotStarted;
    let rolled_back = at(&spec, &failed.status, &after, 70);
    assert!(rolled_back.changes.is_empty(), "{:?}", rolled_back.changes);
    assert_eq!(rolled_back.status.phase, Some(Phase::RolledBack));
}

#[test]
fn crash_looping_canary_pods_fail_the_step() {
    let spec = vel_tutor();
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let mut world = step1_up(&spec);
    world.traffic.deployments[1] = pods(NEW, 1, RolloutProgress::CrashLoop("pod x".into()));
    let failed = at(&spec, &started.status, &world, 20);
    assert_eq!(failed.status.phase, Some(Phase::RollingBack));
    assert!(failed.changes.contains(&keep_only(OLD)));
    let last = failed.status.history.last().unwrap();
    assert_eq!(last.trigger, Some(RollbackTrigger::CrashLoop));
}

#[test]
fn promote_during_a_pause_ends_it_at_once() {
    let spec = vel_tutor();
    let (paused, mut world) = paused_at_step1(&spec);
    world.promote_token = Some("1".into());
    let next = at(&spec, &paused, &world, 200);
    assert_eq!(rollout(&next).step, Some(2));
    assert_eq!(rollout(&next).promote_token.as_deref(), Some("1"));
    assert!(next.notes.iter().any(|n| n.reason == Reason::Promoted));
    // The same value again is not a second promotion.
    let again = at(&spec, &next.status, &world, 210);
    assert_eq!(rollout(&again).step, Some(2));
}

#[test]
fn abort_during_a_pause_restores_the_stable_version_whatever_the_policy() {
    let mut spec = vel_tutor();
    spec.rollback.automatic = false;
    let (paused, mut world) = paused_at_step1(&spec);
    world.abort_token = Some("now".into());
    let aborted = at(&spec, &paused, &world, 200);
    assert!(aborted.changes.contains(&keep_only(OLD)));
    assert!(!touches_old(&aborted));
    assert_eq!(stage(&aborted), RolloutStage::Aborted);
    assert_eq!(aborted.status.phase, Some(Phase::RollingBack));
    let last = aborted.status.history.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("Aborted"));
    assert!(aborted.notes.iter().any(|n| n.reason == Reason::Aborted));
}

#[test]
fn abort_wins_over_a_promote_that_arrives_with_it() {
    let spec = vel_tutor();
    let (paused, mut world) = paused_at_step1(&spec);
    world.abort_token = Some("a".into());
    world.promote_token = Some("p".into());
    let plan = at(&spec, &paused, &world, 200);
    assert_eq!(stage(&plan), RolloutStage::Aborted);
    assert_eq!(rollout(&plan).step, Some(1), "no step was promoted");
    assert_eq!(rollout(&plan).promote_token.as_deref(), Some("p"));
    assert!(plan.changes.contains(&keep_only(OLD)));
}

#[test]
fn a_suspended_checklist_acts_on_neither_request() {
    let mut spec = vel_tutor();
    let (paused, mut world) = paused_at_step1(&spec);
    spec.suspend = true;
    world.abort_token = Some("a".into());
    let plan = at(&spec, &paused, &world, 200);
    assert_eq!(plan.changes, [Change::StopVerification]);
    assert_eq!(rollout(&plan).abort_token, None);
}

#[test]
fn a_step_without_a_pause_waits_for_a_person_and_kstatus_does_not_read_it_as_done() {
    let mut spec = vel_tutor();
    spec.rollout.canary.as_mut().unwrap().steps[0].pause_seconds = None;
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let mut world = step1_up(&spec);
    world.verification = VerificationObservation::Passed;
    let verifying = at(&spec, &started.status, &world, 20);
    let waiting = at(&spec, &verifying.status, &world, 30);
    assert_eq!(stage(&waiting), RolloutStage::WaitingForPromotion);
    assert_eq!(waiting.status.phase, Some(Phase::Paused));
    assert_eq!(
        condition(&waiting, Cond::Ready),
        (
            ConditionStatus::False.as_str().into(),
            "WaitingForPromotion".into()
        )
    );
    assert_eq!(condition(&waiting, Cond::Reconciling).0, "True");
    let later = at(&spec, &waiting.status, &world, 100_000);
    assert_eq!(
        stage(&later),
        RolloutStage::WaitingForPromotion,
        "no timeout"
    );
    world.promote_token = Some("go".into());
    let promoted = at(&spec, &later.status, &world, 100_010);
    assert_eq!(rollout(&promoted).step, Some(2));
}

#[test]
fn a_restart_resumes_the_pause_where_it_was() {
    let spec = vel_tutor();
    let (paused, mut world) = paused_at_step1(&spec);
    // A new process: no verification task, nothing in memory but the status.
    world.verification = VerificationObservation::NotStarted;
    let resumed = at(&spec, &paused, &world, 500);
    assert_eq!(stage(&resumed), RolloutStage::Paused);
    assert_eq!(rollout(&resumed).paused_until, Some(now(1900)));
    assert!(!resumed.changes.iter().any(|c| matches!(
        c,
        Change::ApplyRevision { .. } | Change::Route { .. } | Change::SaveRevision { .. }
    )));
}

#[test]
fn a_canary_without_replicas_is_stalled_before_anything_is_applied() {
    let mut spec = vel_tutor();
    spec.app.replicas = Some(0);
    let plan = at(&spec, &ready_on(&vel_tutor()), &release(&spec), 10);
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(condition(&plan, Cond::Stalled).0, "True");
    assert!(
        plan.status
            .message
            .as_deref()
            .unwrap()
            .contains("spec.app.replicas is 0")
    );
}

#[test]
fn a_canary_service_named_like_the_app_is_stalled() {
    let mut spec = vel_tutor();
    spec.rollout.canary.as_mut().unwrap().canary_service = Some(NAME.into());
    let plan = at(&spec, &ready_on(&vel_tutor()), &release(&spec), 10);
    assert!(plan.changes.is_empty());
    assert!(
        plan.status
            .message
            .as_deref()
            .unwrap()
            .contains("spec.rollout.canary.canaryService is dialectic")
    );
}

#[test]
fn a_canary_deployment_changed_by_hand_is_put_back_at_its_step_size() {
    let spec = vel_tutor();
    let (paused, mut world) = paused_at_step1(&spec);
    world.drift = vec![Drifted {
        object: Owned::RevisionDeployment {
            revision: NEW.into(),
            replicas: 1,
        },
        name: format!("{NAME}-{NEW}"),
        fields: vec!["spec.template.spec.containers[app].image".into()],
    }];
    let plan = at(&spec, &paused, &world, 200);
    assert_eq!(
        plan.changes,
        [Change::ApplyRevision {
            revision: NEW.into(),
            replicas: 1
        }]
    );
    assert_eq!(plan.notes[0].reason, Reason::Drift);
    assert_eq!(stage(&plan), RolloutStage::Paused, "the pause goes on");
}

/// vel_tutor routed through the HTTPRoute `web`.
fn routed() -> DeploymentChecklistSpec {
    let mut spec = vel_tutor();
    spec.rollout.traffic_routing = Some(crate::api::TrafficRoutingSpec {
        gateway_api: crate::api::GatewayApiRouting {
            http_route: "web".into(),
            rule: None,
            header: "x-checklist-revision".into(),
            settle_seconds: 5,
        },
    });
    spec
}

#[test]
fn through_a_route_the_canary_takes_its_weight_only_once_its_pods_serve() {
    let spec = routed();
    let started = at(&spec, &ready_on(&spec), &release(&spec), 10);
    let mut coming = new_up(&spec, 1);
    coming.traffic.deployments[1] = pods(NEW, 1, RolloutProgress::Progressing);
    let plan = at(&spec, &started.status, &coming, 20);
    assert!(plan.changes.contains(&trying(0)), "{:?}", plan.changes);
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::StartVerification { .. })),
        "no check before the route is in force: {:?}",
        plan.changes
    );
    let serving = new_up(&spec, 1);
    let plan = at(&spec, &started.status, &serving, 30);
    assert!(plan.changes.contains(&trying(10)), "{:?}", plan.changes);
    let rollout = rollout(&plan);
    assert_eq!(rollout.pod_share, None, "a route sets the share exactly");
    assert!(
        rollout
            .traffic
            .as_deref()
            .is_some_and(|t| t.starts_with("10% of requests through HTTPRoute web")),
        "{:?}",
        rollout.traffic
    );
    // The route is not read (observe found none): the step waits, saying why.
    assert_eq!(plan.status.phase, Some(Phase::RollingOut));
    assert!(
        plan.status
            .message
            .as_deref()
            .is_some_and(|m| m.contains("HTTPRoute web")),
        "{:?}",
        plan.status.message
    );
}
