//! The disruption budget and the autoscaler follow the revision that serves, through a
//! BlueGreen switch, and go when the spec drops them.

use serde_json::json;

use super::sides::*;
use super::*;
use crate::controller::observe::{LiveObject, ScalingObjects};

/// CGraph with its disruption budget and an autoscaler, replicas left to it.
fn scaled() -> DeploymentChecklistSpec {
    let mut spec = example(include_str!("../../../../examples/cgraph.yaml"));
    spec.app.replicas = None;
    spec.app.autoscaling = serde_json::from_value(json!({"minReplicas": 2, "maxReplicas": 6}))
        .map(Some)
        .unwrap();
    spec
}

fn scaling(plan: &Plan) -> Vec<&Change> {
    plan.changes
        .iter()
        .filter(|c| {
            matches!(
                c,
                Change::ApplyScaling { .. } | Change::RemoveScaling { .. }
            )
        })
        .collect()
}

/// Both objects as they were applied over `revision`.
fn applied_over(spec: &DeploymentChecklistSpec, revision: &str) -> ScalingObjects {
    let budget = crate::resources::scaling::budget_spec(NAME, &spec.app, Some(revision));
    let autoscaler = crate::resources::scaling::autoscaler_spec(NAME, &spec.app, Some(revision));
    ScalingObjects {
        budget: LiveObject::Owned(serde_json::to_value(budget).unwrap()),
        autoscaler: LiveObject::Owned(serde_json::to_value(autoscaler).unwrap()),
    }
}

#[test]
fn missing_objects_are_applied_over_the_revision_the_app_service_selects() {
    let spec = scaled();
    let world = release(&spec);
    let plan = at(&spec, &ready_on(&spec), &world, 10);
    assert_eq!(
        scaling(&plan),
        [&Change::ApplyScaling {
            serving: Some(OLD.into())
        }]
    );
}

#[test]
fn objects_in_step_with_the_serving_revision_are_left_alone() {
    let spec = scaled();
    let mut world = release(&spec);
    world.scaling = applied_over(&spec, OLD);
    let plan = at(&spec, &ready_on(&spec), &world, 10);
    assert_eq!(scaling(&plan), Vec::<&Change>::new());
}

#[test]
fn a_switch_moves_them_to_the_new_revision() {
    let spec = scaled();
    let mut world = new_up(&spec, 1);
    world.scaling = applied_over(&spec, OLD);
    world.traffic.routes.app = Some(Some(NEW.into()));
    let plan = at(&spec, &ready_on(&spec), &world, 10);
    assert_eq!(
        scaling(&plan),
        [&Change::ApplyScaling {
            serving: Some(NEW.into())
        }]
    );
}

#[test]
fn a_changed_bound_is_applied_and_someone_elses_object_is_not_taken_quietly() {
    let spec = scaled();
    let mut world = release(&spec);
    world.scaling = applied_over(&spec, OLD);
    let mut raised = spec.clone();
    raised.app.autoscaling.as_mut().unwrap().max_replicas = 9;
    let plan = at(&raised, &ready_on(&raised), &world, 10);
    assert_eq!(scaling(&plan).len(), 1, "{:?}", plan.changes);
    // A foreign object is planned for, and the act step refuses it by name.
    world.scaling.budget = LiveObject::Foreign;
    let plan = at(&spec, &ready_on(&spec), &world, 10);
    assert_eq!(scaling(&plan).len(), 1);
}

#[test]
fn dropped_fields_remove_their_objects_only() {
    let spec = scaled();
    let mut world = release(&spec);
    world.scaling = applied_over(&spec, OLD);
    let mut plain = spec.clone();
    plain.app.autoscaling = None;
    plain.app.replicas = Some(4);
    let plan = at(&plain, &ready_on(&plain), &world, 10);
    assert_eq!(
        scaling(&plan),
        [&Change::RemoveScaling {
            budget: false,
            autoscaler: true
        }]
    );
    // Someone else's object of the same name is never deleted.
    plain.app.disruption_budget = None;
    world.scaling.budget = LiveObject::Foreign;
    let plan = at(&plain, &ready_on(&plain), &world, 10);
    assert_eq!(
        scaling(&plan),
        [&Change::RemoveScaling {
            budget: false,
            autoscaler: true
        }]
    );
}

#[test]
fn rolling_update_counts_every_pod_of_the_app() {
    let mut spec = scaled();
    spec.rollout = Default::default();
    let plan = at(
        &spec,
        &DeploymentChecklistStatus::default(),
        &observed(),
        10,
    );
    assert_eq!(scaling(&plan), [&Change::ApplyScaling { serving: None }]);
}
