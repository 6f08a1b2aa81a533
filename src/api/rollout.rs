//! `spec.rollout`: how the new version replaces the running one, and when a rollout has failed.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// How pods of the new version replace the old ones, and the limits that make a rollout fail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.strategy == 'BlueGreen' || !has(self.blueGreen)",
        "message": "spec.rollout.blueGreen is only allowed when spec.rollout.strategy is BlueGreen",
        "fieldPath": ".blueGreen",
        "reason": "FieldValueForbidden"
    },
    {
        "rule": "self.strategy == 'Canary' || !has(self.canary)",
        "message": "spec.rollout.canary is only allowed when spec.rollout.strategy is Canary",
        "fieldPath": ".canary",
        "reason": "FieldValueForbidden"
    },
    {
        "rule": "self.strategy != 'Canary' || has(self.canary)",
        "message": "spec.rollout.canary with its steps is required when spec.rollout.strategy is Canary",
        "fieldPath": ".canary",
        "reason": "FieldValueRequired"
    },
    {
        "rule": "self.strategy != 'RollingUpdate' || !has(self.trafficRouting)",
        "message": "spec.rollout.trafficRouting is only allowed when spec.rollout.strategy is BlueGreen or Canary",
        "fieldPath": ".trafficRouting",
        "reason": "FieldValueForbidden"
    },
    {
        "rule": "!has(self.canary) || !has(self.canary.canaryReplicas) || has(self.trafficRouting)",
        "message": "spec.rollout.canary.canaryReplicas needs spec.rollout.trafficRouting: without a router the step's weight is the share of the pods",
        "fieldPath": ".canary.canaryReplicas",
        "reason": "FieldValueForbidden"
    },
    {
        "rule": "!((type(self.maxSurge) == int ? self.maxSurge == 0 : self.maxSurge == '0%') && (type(self.maxUnavailable) == int ? self.maxUnavailable == 0 : self.maxUnavailable == '0%'))",
        "message": "spec.rollout.maxSurge and spec.rollout.maxUnavailable must not both be 0: the rollout could never progress",
        "fieldPath": ".maxUnavailable"
    }
]))]
pub struct RolloutSpec {
    /// How traffic moves to the new version. RollingUpdate (default): pods are replaced a few at
    /// a time (maxSurge, maxUnavailable). BlueGreen: the new version runs next to the old one,
    /// is verified, then the Service switches to it at once (see blueGreen). Canary: the new
    /// version takes a growing share of the pods, verified at each step (see canary).
    #[serde(default)]
    pub strategy: RolloutStrategy,

    /// RollingUpdate: how many pods above spec.app.replicas may exist during the rollout, as a
    /// number or a percentage. Default 25%. Example: 1 or 50%.
    #[serde(default = "default_max_surge")]
    #[schemars(extend("minimum" = 0, "maxLength" = 4, "pattern" = "^(0|[1-9][0-9]{0,2})%$"))]
    pub max_surge: IntOrString,

    /// RollingUpdate: how many pods below spec.app.replicas may be unavailable during the
    /// rollout, as a number or a percentage (at most 100%). Default 0: capacity never drops,
    /// which needs maxSurge above 0.
    #[serde(default = "default_max_unavailable")]
    #[schemars(extend("minimum" = 0, "maxLength" = 4, "pattern" = "^(0|[1-9][0-9]?|100)%$"))]
    pub max_unavailable: IntOrString,

    /// Seconds the new pods have to become ready (1-86400) before the rollout counts as failed
    /// with reason ProgressDeadlineExceeded. Default 600.
    #[serde(default = "schema::int::<600>")]
    #[schemars(range(min = 1, max = 86400))]
    pub progress_deadline_seconds: i32,

    /// How many restarts of a new container are tolerated (0-100) before the rollout counts as
    /// a crash loop (reason CrashLoop). Default 3.
    #[serde(default = "schema::int::<3>")]
    #[schemars(range(min = 0, max = 100))]
    pub max_restarts: i32,

    /// Settings of the BlueGreen strategy; only allowed when strategy is BlueGreen.
    /// Default when strategy is BlueGreen: no preview Service, automatic promotion, old pods
    /// kept 30 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenSpec>,

    /// Settings of the Canary strategy; required when strategy is Canary and only allowed then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,

    /// BlueGreen and Canary: the router that moves users' requests between the stable and the
    /// new version. Left out, the app's Service selects the pods, so a canary's share of the
    /// requests is its share of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_routing: Option<TrafficRoutingSpec>,
}

impl Default for RolloutSpec {
    fn default() -> Self {
        Self {
            strategy: RolloutStrategy::default(),
            max_surge: default_max_surge(),
            max_unavailable: default_max_unavailable(),
            progress_deadline_seconds: 600,
            max_restarts: 3,
            blue_green: None,
            canary: None,
            traffic_routing: None,
        }
    }
}

fn default_max_surge() -> IntOrString {
    IntOrString::String("25%".into())
}

fn default_max_unavailable() -> IntOrString {
    IntOrString::Int(0)
}

/// The router that moves users' requests between versions during a release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingSpec {
    /// A Gateway API HTTPRoute that sends users to the app. Required.
    #[serde(rename = "gatewayAPI")]
    pub gateway_api: GatewayApiRouting,
}

/// The HTTPRoute whose weights a release sets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayApiRouting {
    /// The name of the HTTPRoute (gateway.networking.k8s.io/v1) in the checklist's namespace
    /// that sends users to the app. The operator changes only the weights of the app's Service
    /// and the preview or canary Service in one rule, and adds (then removes) one rule of its
    /// own that sends requests carrying the revision header to the new version. Its rule must
    /// name both Services in backendRefs. Required. Example: web.
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub http_route: String,

    /// The name of the rule (spec.rules[].name) whose weights the operator sets. Default: the one
    /// rule whose backendRefs name the app's Service. Example: api.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub rule: Option<String>,

    /// The request header that reaches the new version while it is under test, set to its
    /// revision hash (status.rollout.revision): the checks of the new version go through the
    /// route with it, and so may a person. Default: x-checklist-revision.
    #[serde(default = "default_revision_header")]
    #[schemars(length(min = 1, max = 100))]
    #[schemars(regex(pattern = r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"))]
    pub header: String,

    /// Seconds a route change is given to reach the gateways before checks go through it
    /// (0-300). Gateway API reports a route Accepted when a gateway has read it, not when it
    /// serves it (Traefik applies changes up to 2 seconds later), so without this wait a step's
    /// first checks could reach the stable version. Default 5.
    #[serde(default = "schema::int::<5>")]
    #[schemars(range(min = 0, max = 300))]
    pub settle_seconds: i32,
}

fn default_revision_header() -> String {
    "x-checklist-revision".into()
}

/// The rollout strategy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RolloutStrategy {
    /// Replace pods a few at a time (the Deployment's RollingUpdate).
    #[default]
    RollingUpdate,
    /// Start the new version beside the old one, verify it, then switch the Service at once.
    BlueGreen,
    /// Move a growing share of pods to the new version, verifying at each step.
    Canary,
}

impl RolloutStrategy {
    /// Whether each revision runs in a Deployment of its own beside the others, with stages a
    /// person may promote or abort (BlueGreen and Canary); RollingUpdate changes one Deployment.
    pub fn runs_revisions_side_by_side(self) -> bool {
        match self {
            RolloutStrategy::RollingUpdate => false,
            RolloutStrategy::BlueGreen | RolloutStrategy::Canary => true,
        }
    }

    /// Whether a release moves through numbered steps of traffic weight (Canary).
    pub fn has_weighted_steps(self) -> bool {
        match self {
            RolloutStrategy::Canary => true,
            RolloutStrategy::RollingUpdate | RolloutStrategy::BlueGreen => false,
        }
    }
}

/// Settings of a blue-green rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenSpec {
    /// The name of the Service the operator points at the new (green) pods only, before and
    /// after the switch; the checks run against it before the switch. It must differ from the
    /// checklist's name (the app's Service). Default: <name>-preview.
    /// Example: cgraph-api-preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub preview_service: Option<String>,

    /// Whether the app's Service switches to the new pods as soon as verification passes.
    /// Default true. When false both versions keep running after verification, Ready=False with
    /// reason WaitingForPromotion, until a person promotes (a new value of the
    /// checklist.dev/promote annotation) or sets autoPromotion to true.
    #[serde(default = "schema::yes")]
    pub auto_promotion: bool,

    /// Seconds the old (blue) pods keep running after the switch (0-86400), so a rollback is
    /// instant: checks that fail during this time switch the Service back at once. Default 30.
    #[serde(default = "schema::int::<30>")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_down_delay_seconds: i32,
}

/// Settings of a canary rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.steps.map(s, s.weight).isSorted() && self.steps.all(s, self.steps.exists_one(t, t.weight == s.weight))",
        "message": "spec.rollout.canary.steps weights must be strictly increasing",
        "fieldPath": ".steps"
    }
]))]
pub struct CanarySpec {
    /// The steps of the canary, in order. Required, 1 to 10 steps with strictly increasing
    /// weights. Example: [{weight: 10, pauseSeconds: 1800}, {weight: 100}]. After the last step
    /// the new version takes all traffic.
    #[schemars(length(min = 1, max = 10))]
    pub steps: Vec<CanaryStep>,

    /// The name of the Service the operator points at the canary pods only; the checks of each
    /// step run against it. It must differ from the checklist's name (the app's Service).
    /// Default: <name>-canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub canary_service: Option<String>,

    /// With spec.rollout.trafficRouting: how many pods run the new version during the steps, as
    /// a number or a percentage of spec.app.replicas (rounded up, at least 1); the step's weight
    /// sets the share of requests. Default: the step's weight as a share of spec.app.replicas.
    /// Without trafficRouting the weight is the share of the pods, and this is not allowed.
    /// Example: 1 or 25%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 1, "maxLength" = 4, "pattern" = "^([1-9][0-9]?|100)%$"))]
    pub canary_replicas: Option<IntOrString>,
}

/// One step of a canary rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.weight < 100 || !has(self.pauseSeconds)",
        "message": "a canary step of weight 100 takes no pauseSeconds: at 100% the release is complete",
        "fieldPath": ".pauseSeconds"
    }
]))]
pub struct CanaryStep {
    /// The share of users' requests, in percent (1-100), the new version takes at this step.
    /// With spec.rollout.trafficRouting, the route sends exactly this share. Without it, the
    /// weight is the share of pods: ceil(weight × spec.app.replicas / 100) new pods, at least
    /// 1, beside all the stable pods. Required. Example: 10.
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,

    /// Seconds to hold this step once its pods are ready and verified (0-86400), watching for
    /// failures before the next step. When left out, the step waits for a person to promote
    /// (a new value of the checklist.dev/promote annotation). Not allowed on a step of weight
    /// 100, which ends the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub pause_seconds: Option<i32>,
}
