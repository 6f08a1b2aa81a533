//! Promotion between stages: `spec.promotion` takes the image another checklist verified (a
//! stage before this one, e.g. production following staging); `spec.followers` is that stage's
//! invitation, naming the namespaces that may follow it. `status.promotion` says where the
//! running version came from.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pod::DNS_LABEL_PATTERN;
use super::schema;

/// Follow another checklist: release the image of its stable revision once that revision has
/// been Ready for readyForSeconds with at least minScorePercent of its checklist passing, and,
/// with approval Manual, once a person approved it (kubectl checklist approve). This
/// checklist's own secrets, migration, rollout, checks and rollback apply to each promoted
/// version; spec.app.image runs until the first promotion. A failure here never touches the
/// stage followed. Across namespaces, the followed checklist must list this namespace in its
/// spec.followers.namespaces.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionSpec {
    /// The checklist followed. Required. Example: {namespace: staging, name: web}.
    pub from: StageRef,

    /// How long the followed revision must have been Ready (stable, and the checklist Ready
    /// now) before it is promoted (0-2592000). Default 600.
    #[serde(default = "schema::int::<600>")]
    #[schemars(range(min = 0, max = 2_592_000))]
    pub ready_for_seconds: i32,

    /// The least share of the followed checklist's items that must pass (its status.score),
    /// in percent (0-100). Default 100.
    #[serde(default = "schema::int::<100>")]
    #[schemars(range(min = 0, max = 100))]
    pub min_score_percent: i32,

    /// Automatic promotes a qualifying revision at once; Manual waits until a person approves
    /// that revision (kubectl checklist approve NAME). Default Automatic.
    #[serde(default)]
    pub approval: Approval,
}

/// The checklist a stage follows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageRef {
    /// Its namespace. Default: this checklist's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = DNS_LABEL_PATTERN))]
    pub namespace: Option<String>,

    /// Its name. Required.
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(pattern = schema::DNS_SUBDOMAIN_PATTERN))]
    pub name: String,
}

/// Whether a qualifying revision is promoted at once or waits for a person.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Approval {
    /// Promote as soon as the revision qualifies.
    #[default]
    Automatic,
    /// Wait for kubectl checklist approve.
    Manual,
}

/// The namespaces whose checklists may follow this one (their spec.promotion.from names it).
/// A checklist in this namespace may always follow it. Default: none.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowersSpec {
    /// Namespaces, by name (at most 16). Example: [production].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 16),
        inner(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub namespaces: Vec<String>,
}

/// Where the version this checklist runs came from, and what the next promotion waits for.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionStatus {
    /// The checklist followed, as namespace/name.
    #[schemars(length(max = 320))]
    pub from: String,
    /// The last revision promoted from it: its hash there, image and migration image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted: Option<PromotedRevision>,
    /// A revision that qualifies and waits for kubectl checklist approve (approval Manual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_approval: Option<PromotedRevision>,
    /// What the next promotion waits for, for people. Example: "staging/web revision
    /// 3f2a9c1b7d has been Ready for 120 s of 600".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub message: Option<String>,
}

/// A revision of the followed checklist.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotedRevision {
    /// Its hash in the followed checklist.
    #[schemars(length(max = 64))]
    pub revision: String,
    /// Its app image.
    #[schemars(length(max = 512))]
    pub image: String,
    /// Its migration image, when it sets one apart from the app image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub migration_image: Option<String>,
    /// When it was promoted here (or found waiting for approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}
