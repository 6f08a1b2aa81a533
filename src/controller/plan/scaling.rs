//! Keeping the PodDisruptionBudget and the HorizontalPodAutoscaler of spec.app on the pods that
//! serve, whatever the release is doing: both follow the revision the app's Service selects.

use serde::Serialize;

use super::{Change, Planner};
use crate::controller::observe::LiveObject;
use crate::resources::{drift, scaling};

impl Planner<'_> {
    /// Applies the budget and the autoscaler when they are missing or no longer match the spec
    /// and the serving revision, and removes the ones the spec no longer asks for.
    pub(super) fn keep_scaling(&mut self) {
        let serving = self.serving_revision();
        let live = &self.observed.scaling;
        let budget = scaling::budget_spec(self.name, &self.spec.app, serving.as_deref());
        let autoscaler = scaling::autoscaler_spec(self.name, &self.spec.app, serving.as_deref());
        if stale(budget.as_ref(), &live.budget) || stale(autoscaler.as_ref(), &live.autoscaler) {
            self.changes.push(Change::ApplyScaling { serving });
        }
        let remove_budget = budget.is_none() && matches!(live.budget, LiveObject::Owned(_));
        let remove_autoscaler =
            autoscaler.is_none() && matches!(live.autoscaler, LiveObject::Owned(_));
        if remove_budget || remove_autoscaler {
            self.changes.push(Change::RemoveScaling {
                budget: remove_budget,
                autoscaler: remove_autoscaler,
            });
        }
    }

    /// The revision whose pods serve: None under RollingUpdate (one Deployment, every pod);
    /// under BlueGreen and Canary the one the app's Service selects, else the stable revision,
    /// else the current one.
    fn serving_revision(&self) -> Option<String> {
        if !self.spec.rollout.strategy.runs_revisions_side_by_side() {
            return None;
        }
        if let Some(Some(selected)) = &self.observed.traffic.routes.app {
            return Some(selected.clone());
        }
        let stable = self
            .status
            .revision
            .as_ref()
            .and_then(|r| r.stable.as_ref());
        Some(stable.map_or_else(|| self.observed.revision.hash.clone(), |s| s.hash.clone()))
    }
}

/// Whether an object the spec asks for must be applied: it is missing, someone else's (the
/// apply then refuses, naming it), or lacks what the desired spec sets, compared as drift is.
fn stale(desired: Option<&impl Serialize>, live: &LiveObject) -> bool {
    desired.is_some_and(
        |desired| !matches!(live, LiveObject::Owned(spec) if drift::carries(desired, spec)),
    )
}
