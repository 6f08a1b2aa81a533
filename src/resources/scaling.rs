//! The PodDisruptionBudget and the HorizontalPodAutoscaler of `spec.app`, both named like the
//! checklist and both over the pods that serve: every app pod under RollingUpdate, the serving
//! revision's under BlueGreen and Canary (the one the app Service selects), so they move to a
//! new revision when it takes the traffic and never count the pods under test.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;

use super::deployment::revision_deployment_name;
use super::labels::{self, Component};
use super::meta;
use crate::api::{AppSpec, DeploymentChecklist};

/// The CPU utilization the autoscaler aims at when spec.app.autoscaling names no metric.
const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// The PodDisruptionBudget of spec.app.disruptionBudget over the pods of `serving` (a revision
/// hash), or of every revision when None; None when the spec asks for none.
pub(crate) fn disruption_budget(
    checklist: &DeploymentChecklist,
    serving: Option<&str>,
) -> Option<PodDisruptionBudget> {
    let name = checklist.name_any();
    Some(PodDisruptionBudget {
        spec: Some(budget_spec(&name, &checklist.spec.app, serving)?),
        metadata: metadata(checklist),
        status: None,
    })
}

/// The spec of [`disruption_budget`], which the plan compares with the live one.
pub(crate) fn budget_spec(
    name: &str,
    app: &AppSpec,
    serving: Option<&str>,
) -> Option<PodDisruptionBudgetSpec> {
    let budget = app.disruption_budget.as_ref()?;
    let mut selector = labels::selector_labels(name);
    if let Some(revision) = serving {
        selector.insert(labels::REVISION.to_owned(), revision.to_owned());
    }
    Some(PodDisruptionBudgetSpec {
        selector: Some(LabelSelector {
            match_labels: Some(selector),
            ..LabelSelector::default()
        }),
        min_available: budget.min_available.clone(),
        max_unavailable: budget.max_unavailable.clone(),
        ..PodDisruptionBudgetSpec::default()
    })
}

/// The HorizontalPodAutoscaler of spec.app.autoscaling, scaling the Deployment that runs
/// `serving` (BlueGreen and Canary: `<name>-<hash>`), or the app's one Deployment when None;
/// None when the spec asks for none.
pub(crate) fn autoscaler(
    checklist: &DeploymentChecklist,
    serving: Option<&str>,
) -> Option<HorizontalPodAutoscaler> {
    let name = checklist.name_any();
    Some(HorizontalPodAutoscaler {
        spec: autoscaler_spec(&name, &checklist.spec.app, serving)?,
        metadata: metadata(checklist),
        status: None,
    })
}

/// The spec of [`autoscaler`], which the plan compares with the live one.
pub(crate) fn autoscaler_spec(
    name: &str,
    app: &AppSpec,
    serving: Option<&str>,
) -> Option<HorizontalPodAutoscalerSpec> {
    let scaling = app.autoscaling.as_ref()?;
    let target = serving.map_or_else(|| name.to_owned(), |r| revision_deployment_name(name, r));
    let metrics = if scaling.metrics.is_empty() {
        vec![MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        }]
    } else {
        scaling.metrics.clone()
    };
    Some(HorizontalPodAutoscalerSpec {
        scale_target_ref: CrossVersionObjectReference {
            api_version: Some("apps/v1".into()),
            kind: "Deployment".into(),
            name: target,
        },
        min_replicas: Some(scaling.min_replicas),
        max_replicas: scaling.max_replicas,
        metrics: Some(metrics),
        behavior: None,
    })
}

/// Named like the checklist, labelled as its app, controlled by it.
fn metadata(checklist: &DeploymentChecklist) -> ObjectMeta {
    let name = checklist.name_any();
    let labels = labels::labels(&name, &checklist.spec.app.image, Component::App);
    meta::owned(checklist, name, labels, None)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use super::*;
    use crate::api::{AutoscalingSpec, DisruptionBudgetSpec};
    use crate::resources::fixtures::dialectic;

    fn scaled() -> DeploymentChecklist {
        let mut checklist = dialectic();
        checklist.spec.app.replicas = None;
        checklist.spec.app.disruption_budget = Some(DisruptionBudgetSpec {
            min_available: Some(IntOrString::String("50%".into())),
            max_unavailable: None,
        });
        checklist.spec.app.autoscaling = Some(AutoscalingSpec {
            min_replicas: 2,
            max_replicas: 5,
            metrics: Vec::new(),
        });
        checklist
    }

    #[test]
    fn none_unless_asked_for() {
        assert!(disruption_budget(&dialectic(), None).is_none());
        assert!(autoscaler(&dialectic(), None).is_none());
    }

    #[test]
    fn the_budget_counts_the_serving_revision_only_when_one_is_named() {
        let checklist = scaled();
        let every = disruption_budget(&checklist, None).unwrap();
        let spec = every.spec.unwrap();
        let selector = spec.selector.unwrap().match_labels.unwrap();
        assert_eq!(selector, labels::selector_labels("dialectic"));
        assert_eq!(spec.min_available, Some(IntOrString::String("50%".into())));
        assert_eq!(every.metadata.name.as_deref(), Some("dialectic"));
        assert!(every.metadata.owner_references.is_some());

        let serving = disruption_budget(&checklist, Some("0123456789")).unwrap();
        let selector = serving
            .spec
            .unwrap()
            .selector
            .unwrap()
            .match_labels
            .unwrap();
        assert_eq!(
            selector.get(labels::REVISION).map(String::as_str),
            Some("0123456789")
        );
    }

    #[test]
    fn the_autoscaler_scales_the_serving_deployment_on_cpu_by_default() {
        let checklist = scaled();
        let rolling = autoscaler(&checklist, None).unwrap().spec;
        assert_eq!(rolling.scale_target_ref.name, "dialectic");
        assert_eq!(rolling.scale_target_ref.kind, "Deployment");
        assert_eq!((rolling.min_replicas, rolling.max_replicas), (Some(2), 5));
        let metric = &rolling.metrics.unwrap()[0];
        assert_eq!(
            metric
                .resource
                .as_ref()
                .map(|r| r.target.average_utilization),
            Some(Some(80))
        );
        let blue_green = autoscaler(&checklist, Some("0123456789")).unwrap().spec;
        assert_eq!(blue_green.scale_target_ref.name, "dialectic-0123456789");
    }
}
