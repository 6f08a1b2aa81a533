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
        }
    }
}

fn default_max_surge() -> IntOrString {
    IntOrString::String("25%".into())
}

fn default_max_unavailable() -> IntOrString {
    IntOrString::Int(0)
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
    /// The share of the app's replicas, in percent (1-100), that run the new version at this
    /// step: ceil(weight × spec.app.replicas / 100) pods, at least 1, beside all the stable
    /// pods. Required. Example: 10.
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
