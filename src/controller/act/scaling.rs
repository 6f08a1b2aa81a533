//! The disruption budget and the autoscaler: applied whole over the serving revision, never
//! over an object of the same name someone else made, and deleted when the spec drops them.

use k8s_openapi::api::{autoscaling::v2::HorizontalPodAutoscaler, policy::v1::PodDisruptionBudget};
use kube::{ResourceExt, api::DeleteParams};

use crate::{ReconcileError, Result, resources, resources::stamp::stamped};

use super::{Actor, observe};

impl Actor<'_> {
    /// Applies the disruption budget and the autoscaler over `serving`, unless an object of
    /// that name is someone else's: applying it would take it over.
    pub(super) async fn apply_scaling(&self, serving: Option<&str>) -> Result<()> {
        let checklist = self.checklist;
        let scaling = &self.world.scaling;
        let foreign = |kind, live: &observe::LiveObject, field| match live {
            observe::LiveObject::Foreign => Err(ReconcileError::NameTaken {
                kind,
                name: checklist.name_any(),
                field,
            }),
            _ => Ok(()),
        };
        if let Some(budget) = resources::scaling::disruption_budget(checklist, serving) {
            foreign(
                "PodDisruptionBudget",
                &scaling.budget,
                "spec.app.disruptionBudget",
            )?;
            self.apply(stamped(budget)).await?;
        }
        if let Some(autoscaler) = resources::scaling::autoscaler(checklist, serving) {
            foreign(
                "HorizontalPodAutoscaler",
                &scaling.autoscaler,
                "spec.app.autoscaling",
            )?;
            self.apply(stamped(autoscaler)).await?;
        }
        Ok(())
    }

    /// Deletes the budget, the autoscaler or both; the plan asks only for ones the checklist
    /// controls.
    pub(super) async fn remove_scaling(&self, budget: bool, autoscaler: bool) -> Result<()> {
        let name = self.checklist.name_any();
        if budget {
            self.delete::<PodDisruptionBudget>(&name, &DeleteParams::default())
                .await?;
        }
        if autoscaler {
            self.delete::<HorizontalPodAutoscaler>(&name, &DeleteParams::default())
                .await?;
        }
        Ok(())
    }
}
