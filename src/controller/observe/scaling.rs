//! The checklist's PodDisruptionBudget and HorizontalPodAutoscaler as they are, read only when
//! the plan can need them: when the spec asks for one, or when the spec changed since the last
//! reconcile (a field just removed leaves an object to delete). Most checklists use neither, and
//! pay two reads per spec change, not per reconcile.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Api, Client, ResourceExt};
use serde_json::Value;

use crate::{Result, api::DeploymentChecklist};

use super::get::get_opt;

/// The checklist's PodDisruptionBudget and HorizontalPodAutoscaler as the plan needs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScalingObjects {
    /// The PodDisruptionBudget.
    pub budget: LiveObject,
    /// The HorizontalPodAutoscaler.
    pub autoscaler: LiveObject,
}

/// One object named like the checklist, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LiveObject {
    /// It does not exist, or was not read.
    #[default]
    Absent,
    /// The checklist controls it; its spec as JSON.
    Owned(Value),
    /// Someone else's: never written or deleted.
    Foreign,
}

/// Whether a reconcile of `checklist` reads the object a spec field asks for: when the field is
/// set, or when a spec already reconciled changed since (the field may just have been removed).
/// A checklist never reconciled (no status, or the CRD's default observedGeneration 0) has
/// nothing to remove.
fn wanted(checklist: &DeploymentChecklist, set: bool) -> bool {
    let observed = checklist
        .status
        .as_ref()
        .and_then(|status| status.observed_generation)
        .filter(|generation| *generation > 0);
    set || observed.is_some_and(|generation| Some(generation) != checklist.metadata.generation)
}

/// Reads what [`wanted`] says to, both at once.
pub(super) async fn read(
    client: &Client,
    namespace: &str,
    checklist: &DeploymentChecklist,
) -> Result<ScalingObjects> {
    let name = checklist.name_any();
    let app = &checklist.spec.app;
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), namespace);
    let autoscalers: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
    let (budget, autoscaler) = tokio::try_join!(
        async {
            match wanted(checklist, app.disruption_budget.is_some()) {
                true => get_opt(&budgets, &name, "PodDisruptionBudget").await,
                false => Ok(None),
            }
        },
        async {
            match wanted(checklist, app.autoscaling.is_some()) {
                true => get_opt(&autoscalers, &name, "HorizontalPodAutoscaler").await,
                false => Ok(None),
            }
        },
    )?;
    Ok(ScalingObjects {
        budget: live(checklist, budget, |b| serde_json::to_value(&b.spec)),
        autoscaler: live(checklist, autoscaler, |a| serde_json::to_value(&a.spec)),
    })
}

/// What `object` is to `checklist`. A spec that does not serialize (it always does: it was just
/// parsed from JSON) reads as null, which any desired spec then differs from.
fn live<K: ResourceExt>(
    checklist: &DeploymentChecklist,
    object: Option<K>,
    spec: impl Fn(&K) -> serde_json::Result<Value>,
) -> LiveObject {
    let Some(object) = object else {
        return LiveObject::Absent;
    };
    match crate::resources::controlled_by(&object, checklist.uid().as_deref()) {
        true => LiveObject::Owned(spec(&object).unwrap_or_default()),
        false => LiveObject::Foreign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeploymentChecklistStatus;
    use crate::resources::fixtures::dialectic;

    fn at(generation: i64, observed: Option<i64>) -> DeploymentChecklist {
        let mut checklist = dialectic();
        checklist.metadata.generation = Some(generation);
        checklist.status = observed.map(|observed| DeploymentChecklistStatus {
            observed_generation: Some(observed),
            ..DeploymentChecklistStatus::default()
        });
        checklist
    }

    #[test]
    fn objects_are_read_when_asked_for_or_when_a_reconciled_spec_changed() {
        assert!(wanted(&at(1, None), true));
        // A new checklist, with no status or the CRD's default one, has nothing to remove.
        assert!(!wanted(&at(1, None), false));
        assert!(!wanted(&at(1, Some(0)), false));
        assert!(!wanted(&at(3, Some(3)), false));
        // A field may just have been removed.
        assert!(wanted(&at(4, Some(3)), false));
    }
}
