//! `status.rollout`: where a BlueGreen or Canary release stands, step by step, and what a person
//! last asked of it (promote, abort).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rollout::RolloutStrategy;

/// The progress of a BlueGreen or Canary release of the current revision.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The strategy of this release.
    pub strategy: RolloutStrategy,

    /// The revision being released (as status.revision.current.hash).
    pub revision: String,

    /// The revision serving users while this one is released, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,

    /// Where the release is: Deploying, Verifying, Paused, WaitingForPromotion, Promoted,
    /// Completing, Complete, Aborted or RolledBack.
    pub stage: RolloutStage,

    /// Canary: the step being run, from 1 to steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub step: Option<i32>,

    /// Canary: the number of steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub steps: Option<i32>,

    /// Canary: the step's weight, the percentage of spec.app.replicas running the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub weight: Option<i32>,

    /// Canary without spec.rollout.trafficRouting: the share of requests, in percent, the new
    /// version really gets at this step, which is its share of the pods (canary pods over
    /// canary and stable pods), when it differs from the weight asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub pod_share: Option<i32>,

    /// How requests are split now, in words: `10% of requests through HTTPRoute web` or
    /// `10% asked; 1 of 5 pods, about 20% of requests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub traffic: Option<String>,

    /// With spec.rollout.trafficRouting: the weights the HTTPRoute holds now, as read back from
    /// it, e.g. `web 90, web-canary 10; x-checklist-revision: 5d41402abc to web-canary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub route: Option<String>,

    /// Pods the new version runs with at this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub new_replicas: Option<i32>,

    /// The Service that selects the new pods only: the preview (BlueGreen) or canary Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub service: Option<String>,

    /// When the current pause ends; unset while not pausing, or when the step waits for a
    /// person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<Time>,

    /// BlueGreen: when the app's Service switched to the new pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_at: Option<Time>,

    /// The value of the checklist.dev/promote annotation the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub promote_token: Option<String>,

    /// The value of the checklist.dev/abort annotation the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub abort_token: Option<String>,

    /// One short line for `kubectl get`: the stage, and the step and weight of a canary.
    /// Example: "step 1/2 10% paused".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 128))]
    pub summary: String,
}

/// Where a BlueGreen or Canary release stands.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema, strum::Display,
)]
pub enum RolloutStage {
    /// The new pods of this stage are coming up.
    Deploying,
    /// The checks run against the new pods (the preview or canary Service).
    Verifying,
    /// The step passed and holds until pausedUntil.
    Paused,
    /// The step passed and waits for a person to promote.
    WaitingForPromotion,
    /// BlueGreen: the app's Service selects the new pods; the old ones stay
    /// scaleDownDelaySeconds, with the checks running against the app.
    Promoted,
    /// Canary: the new version scales to every replica, then the old pods go.
    Completing,
    /// The new version is the stable one and the old pods are gone.
    Complete,
    /// A person aborted the release; the stable version serves.
    Aborted,
    /// The release failed and the stable version serves again.
    RolledBack,
}

impl RolloutStatus {
    /// The stage whose verification rounds run now, naming them apart from the other stages'
    /// (`preview`, `promoted`, `step2`); None when the revision is verified as a whole: a first
    /// release (nothing stable beside it), or the release is over.
    pub fn verification_stage(&self) -> Option<String> {
        self.stable_revision.as_ref()?;
        match (self.strategy, self.stage) {
            (
                _,
                RolloutStage::Completing
                | RolloutStage::Complete
                | RolloutStage::Aborted
                | RolloutStage::RolledBack,
            ) => None,
            (RolloutStrategy::BlueGreen, RolloutStage::Promoted) => Some("promoted".into()),
            (RolloutStrategy::BlueGreen, _) => Some("preview".into()),
            (RolloutStrategy::Canary, _) => Some(format!("step{}", self.step.unwrap_or(1))),
            (RolloutStrategy::RollingUpdate, _) => None,
        }
    }
}
