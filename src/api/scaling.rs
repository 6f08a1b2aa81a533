//! `spec.app.disruptionBudget` and `spec.app.autoscaling`: the PodDisruptionBudget and the
//! HorizontalPodAutoscaler the operator keeps for the serving pods.

use k8s_openapi::api::autoscaling::v2::MetricSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// A PodDisruptionBudget named like the checklist, over the pods that serve: the app's pods
/// under RollingUpdate, the stable revision's under BlueGreen and Canary (it moves to the new
/// revision when that one takes the traffic). A node drain then never takes more of them than
/// it allows. Set exactly one of minAvailable and maxUnavailable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.minAvailable) != has(self.maxUnavailable)",
        "message": "spec.app.disruptionBudget sets exactly one of minAvailable or maxUnavailable"
    }
]))]
pub struct DisruptionBudgetSpec {
    /// How many serving pods must stay up during a voluntary disruption (a drain), as a number or
    /// a percentage. Example: 2 or 50%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0, "maxLength" = 4, "pattern" = "^(0|[1-9][0-9]{0,2})%$"))]
    pub min_available: Option<IntOrString>,

    /// How many serving pods a voluntary disruption may take down at once, as a number or a
    /// percentage. Example: 1 or 25%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0, "maxLength" = 4, "pattern" = "^(0|[1-9][0-9]{0,2})%$"))]
    pub max_unavailable: Option<IntOrString>,
}

/// A HorizontalPodAutoscaler (autoscaling/v2) named like the checklist, scaling the Deployment
/// that serves: the app's under RollingUpdate, the stable revision's under BlueGreen and Canary,
/// handed to the new revision when it takes the traffic. A canary's pods follow their share of
/// what the autoscaler chose. Leave spec.app.replicas out with it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.minReplicas <= self.maxReplicas",
        "message": "spec.app.autoscaling.minReplicas must not be above maxReplicas",
        "fieldPath": ".minReplicas"
    }
]))]
pub struct AutoscalingSpec {
    /// The fewest pods (1-1000). Default 1.
    #[serde(default = "schema::int::<1>")]
    #[schemars(range(min = 1, max = 1000))]
    pub min_replicas: i32,

    /// The most pods (1-1000). Required.
    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: i32,

    /// What to scale on (autoscaling/v2 MetricSpec), e.g. [{type: Resource, resource: {name:
    /// cpu, target: {type: Utilization, averageUtilization: 70}}}]. Default: 80% of the CPU
    /// requested, which needs resources.requests.cpu set and a metrics server. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub metrics: Vec<MetricSpec>,
}
