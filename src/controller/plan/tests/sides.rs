//! Fixtures shared by the BlueGreen and Canary plan tests: a release of NEW beside a stable OLD
//! that runs in a Deployment of its own, walked reconcile by reconcile.

use super::*;
use crate::api::{RolloutStage, RolloutStatus};
use crate::controller::observe::{RevisionPods, TrafficObservation};
use crate::traffic::{Live, Routing};

/// The spec of a seed example.
pub(super) fn example(text: &str) -> DeploymentChecklistSpec {
    let checklist: DeploymentChecklist = serde_norway::from_str(text).unwrap();
    checklist.spec
}

/// A Deployment running `revision` with `replicas` pods doing `progress`.
pub(super) fn pods(revision: &str, replicas: i32, progress: RolloutProgress) -> RevisionPods {
    RevisionPods {
        revision: revision.into(),
        name: format!("{NAME}-{revision}"),
        replicas,
        progress,
    }
}

/// The world of a release of NEW: OLD stable with `replicas` pods, the app's Service on OLD, the
/// side Service absent, NEW migrated (or without migration) and not deployed.
pub(super) fn release(spec: &DeploymentChecklistSpec) -> Observation {
    Observation {
        secrets: Vec::new(),
        migration: if spec.migration.is_some() {
            JobState::Succeeded
        } else {
            JobState::NotNeeded
        },
        rollback_migration: JobState::NotNeeded,
        traffic: TrafficObservation {
            deployments: vec![pods(
                OLD,
                spec.app.replicas.unwrap_or(1),
                RolloutProgress::Complete,
            )],
            routes: Live {
                app: Some(Some(OLD.into())),
                side: None,
                route: None,
            },
        },
        ..observed()
    }
}

/// The world of a release of NEW with `replicas` of its pods up behind the side Service.
pub(super) fn new_up(spec: &DeploymentChecklistSpec, replicas: i32) -> Observation {
    let mut world = release(spec);
    world
        .traffic
        .deployments
        .push(pods(NEW, replicas, RolloutProgress::Complete));
    world.traffic.routes.side = Some(Some(NEW.into()));
    world
}

/// The status after OLD's release: OLD stable and current, Ready.
pub(super) fn ready_on(spec: &DeploymentChecklistSpec) -> DeploymentChecklistStatus {
    let mut at_rest = release(spec);
    at_rest.revision = Revision {
        hash: OLD.into(),
        image: "old:1".into(),
        references: Vec::new(),
    };
    at_rest.verification = VerificationObservation::Passed;
    at_rest.traffic.routes.side = Some(Some(OLD.into()));
    let plan = at(spec, &DeploymentChecklistStatus::default(), &at_rest, 0);
    assert_eq!(plan.status.phase, Some(Phase::Ready), "{:?}", plan.status);
    plan.status
}

/// One reconcile at `seconds`.
pub(super) fn at(
    spec: &DeploymentChecklistSpec,
    previous: &DeploymentChecklistStatus,
    observed: &Observation,
    seconds: i64,
) -> Plan {
    let subject = Subject {
        name: NAME,
        generation: 2,
        spec,
    };
    plan(
        subject,
        &Policy::default(),
        previous,
        observed,
        &now(seconds),
    )
}

/// status.rollout of a plan.
pub(super) fn rollout(plan: &Plan) -> &RolloutStatus {
    plan.status.rollout.as_ref().expect("status.rollout")
}

/// The stage of a plan's release.
pub(super) fn stage(plan: &Plan) -> RolloutStage {
    rollout(plan).stage
}

/// Whether a plan changes anything of the stable revision OLD: its Deployment applied or
/// removed. The app's Service pointed back at OLD is not a change to OLD.
pub(super) fn touches_old(plan: &Plan) -> bool {
    plan.changes.iter().any(|change| match change {
        Change::ApplyRevision { revision, .. } => revision == OLD,
        Change::RemoveDeployments { keep } => !keep.iter().any(|k| k == OLD),
        _ => false,
    })
}

/// The removal of every Deployment but `revision`'s.
pub(super) fn keep_only(revision: &str) -> Change {
    Change::RemoveDeployments {
        keep: vec![revision.into()],
    }
}

/// The restore after a failure with OLD's pods untouched: the rounds stopped, every request
/// routed to OLD, every other Deployment removed.
pub(super) fn back_to_old() -> Vec<Change> {
    vec![Change::StopVerification, settled(OLD), keep_only(OLD)]
}

/// Every request routed to `revision`.
pub(super) fn settled(revision: &str) -> Change {
    Change::Route {
        routing: Routing::settled(revision),
    }
}

/// `weight` percent of the requests routed to NEW, the rest to OLD.
pub(super) fn trying(weight: i32) -> Change {
    Change::Route {
        routing: Routing::trying(OLD, NEW, weight),
    }
}

/// Whether a change routes requests.
pub(super) fn routes(change: &Change) -> bool {
    matches!(change, Change::Route { .. })
}
