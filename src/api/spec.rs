//! The `DeploymentChecklist` resource and its spec, which ties the blocks of a checklist together.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::app::AppSpec;
use super::hooks::HooksSpec;
use super::migration::MigrationSpec;
use super::notifications::NotificationsSpec;
use super::probes::Probes;
use super::promotion::{FollowersSpec, PromotionSpec};
use super::rollback::RollbackSpec;
use super::rollout::RolloutSpec;
use super::schema;
use super::secrets::SecretContract;
use super::status::DeploymentChecklistStatus;
use super::verification::VerificationSpec;

/// A production deployment checklist for one app: the app to run, the secrets it needs, its
/// migration, how it rolls out, how it is verified over HTTP and when it rolls back. The operator
/// runs the checklist on every new spec and reports each step in the status.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[allow(
    clippy::duplicated_attributes,
    reason = "each printcolumn(...) repeats type_ = \"string\"; they are columns, not duplicates"
)]
#[kube(
    group = "checklist.dev",
    version = "v1alpha1",
    kind = "DeploymentChecklist",
    plural = "deploymentchecklists",
    shortname = "dcl",
    shortname = "checklist",
    namespaced,
    status = "DeploymentChecklistStatus",
    derive = "PartialEq",
    doc = "A production deployment checklist the cluster enforces: the operator checks the app's secrets, runs its migration, rolls it out with probes, verifies it over HTTP and rolls back to the last version that passed when any step fails.",
    printcolumn(
        name = "Image",
        type_ = "string",
        json_path = ".spec.app.image",
        description = "The image of the current spec"
    ),
    printcolumn(
        name = "Serving",
        type_ = "string",
        json_path = ".status.revision.stable.image",
        description = "The image of the stable revision: what serves users, the last that passed its checklist"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Where the checklist is"
    ),
    printcolumn(
        name = "Rollout",
        type_ = "string",
        json_path = ".status.rollout.summary",
        description = "BlueGreen and Canary: the stage, step and weight of the release"
    ),
    printcolumn(
        name = "Score",
        type_ = "string",
        json_path = ".status.score.summary",
        description = "Checklist items passed out of all of them"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "The Ready condition",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.message",
        description = "What is happening",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.rollback.migration != 'Run' || (has(self.migration) && has(self.migration.rollback))",
        "message": "spec.rollback.migration Run needs spec.migration.rollback.command to run",
        "fieldPath": ".rollback.migration",
        "reason": "FieldValueRequired"
    },
    {
        "rule": "!has(self.secrets) || self.secrets.map(s, has(s.keys) ? s.keys.filter(k, has(k.pattern)).size() : 0).sum() <= 16",
        "message": "spec.secrets may set a pattern on at most 16 keys in all: every reconcile matches each of them",
        "fieldPath": ".secrets"
    }
]))]
pub struct DeploymentChecklistSpec {
    /// The application: image, replicas, port, environment, resources and Service. Required.
    pub app: AppSpec,

    /// The Secrets the app needs and the rules their keys must meet, checked before anything
    /// changes. Secret names are unique. Values are never logged or shown. At most 16 Secrets,
    /// and at most 16 keys with a pattern in all.
    /// Example: [{secretName: dialectic-env, keys: [{name: SECRET_KEY_BASE, minLength: 64}]}].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["secretName"]))]
    pub secrets: Vec<SecretContract>,

    /// The HTTP probes of the app container. Default: none.
    /// Example: {liveness: {path: /health, periodSeconds: 30}, readiness: {path: /health}}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,

    /// The database migration run as a Job with the new image before the rollout. Default: no
    /// migration. Example: {command: [/app/bin/migrate]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationSpec>,

    /// Jobs run once per revision around the release: preMigration (e.g. a backup) before the
    /// migration, postPromotion (e.g. a contract migration) once the new version takes all
    /// traffic. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<HooksSpec>,

    /// How the new version replaces the old one, and the deadlines that make a rollout fail.
    /// Default: RollingUpdate with maxSurge 25%, maxUnavailable 0, 600 seconds to progress and
    /// 3 restarts tolerated.
    #[serde(default)]
    pub rollout: RolloutSpec,

    /// The HTTP checks run against the new version before it is Ready. Default: no checks,
    /// rounds every 10 seconds after 5, 5-second timeout, 3 failed rounds to fail.
    #[serde(default)]
    pub verification: VerificationSpec,

    /// What happens when a step fails. Default: roll back automatically on every failure,
    /// without running a down-migration, keeping 10 revisions.
    #[serde(default)]
    pub rollback: RollbackSpec,

    /// Who is told what happened to a release, and on which transitions: webhook, Slack or
    /// Teams targets whose URLs are read from Secrets. Default: the operator's default targets
    /// (--notify-*-url), if it has any, on every transition.
    /// Example: {transitions: [RolledBack, Failed], targets: [{name: team, kind: Slack, urlFrom:
    /// {secretKeyRef: {name: notify, key: slack-url}}}]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<NotificationsSpec>,

    /// Follow another checklist's verified revisions, e.g. production following staging: the
    /// image of its stable revision is released here once that checklist is Ready on it, has
    /// been for readyForSeconds, scores at least minScorePercent, and, with approval Manual, a
    /// person approved it (kubectl checklist approve). This checklist's own secrets, migration,
    /// rollout, checks and rollback apply to every promoted version; spec.app.image runs only
    /// until the first promotion, and a failure here never touches the checklist followed. In
    /// another namespace, that checklist must list this namespace in spec.followers.namespaces.
    /// status.promotion says where the running version came from. Default: none.
    /// Example: {from: {namespace: staging, name: web}, readyForSeconds: 3600}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionSpec>,

    /// The namespaces whose checklists may follow this one through their spec.promotion.
    /// Default: none (only checklists of this namespace). Example: {namespaces: [production]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<FollowersSpec>,

    /// Pauses the checklist for GitOps holds and incidents: the operator keeps observing and
    /// reporting (phase Suspended) but changes nothing in the cluster. Default false.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub suspend: bool,
}
