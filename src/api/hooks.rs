//! `spec.hooks`: Jobs run once per revision around the release, as the seed teams do by hand: a
//! backup before the migration (seed 004:35, 001:549) and the contract step of an
//! expand/contract migration once the new version takes all traffic (seed 003:458-483).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{image, schema};

/// The Jobs run around a release.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksSpec {
    /// A Job run before the migration (before anything changes), once per revision: e.g. a
    /// database backup. When it fails or times out, nothing running changes: the revision stops
    /// with HookFailed (a rollback trigger as MigrationFailed). Example: {command: [/app/bin/backup], timeoutSeconds: 900}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_migration: Option<HookSpec>,

    /// A Job run once the new version takes all traffic and passed its checks, once per
    /// revision, before it is called Ready: e.g. the contract step of an expand/contract
    /// migration. When it fails, the version keeps serving and the checklist is Degraded with
    /// HookFailed, unless rollbackOnFailure says to roll back.
    /// Example: {command: [/app/bin/cgraph, eval, "CGraph.Release.contract()"]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_promotion: Option<PostPromotionHook>,
}

/// A Job the checklist runs, with the app's env and injected Secrets under the app's (by default
/// restricted) security context.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookSpec {
    /// The command the Job runs. Required, 1 to 32 entries. Example: [/app/bin/backup].
    #[schemars(length(min = 1, max = 32))]
    pub command: Vec<String>,

    /// The image the Job runs, with a tag or a digest. Default: spec.app.image, the new
    /// version's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "image::image_reference")]
    pub image: Option<String>,

    /// How long the Job may run, in seconds (1-86400), before it is stopped and counted as
    /// failed. Default 600.
    #[serde(default = "schema::int::<600>")]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_seconds: i32,

    /// How many times a failed pod is retried (0-10). Default 0.
    #[serde(default)]
    #[schemars(range(min = 0, max = 10))]
    pub backoff_limit: i32,
}

/// The postPromotion hook: a Job and what its failure does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostPromotionHook {
    /// The Job.
    #[serde(flatten)]
    pub job: HookSpec,

    /// Whether a failure rolls the release back (through spec.rollback, as a MigrationFailed
    /// trigger) instead of leaving the new version serving, Degraded. Default false: a
    /// version that took all traffic and passed its checks is not taken away for a cleanup
    /// step.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub rollback_on_failure: bool,
}

/// Which hook.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookName {
    /// spec.hooks.preMigration.
    PreMigration,
    /// spec.hooks.postPromotion.
    PostPromotion,
}

impl HookName {
    /// The name in the spec, e.g. "preMigration".
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::PreMigration => "preMigration",
            HookName::PostPromotion => "postPromotion",
        }
    }

    /// The word in the Job's name and `checklist.dev/job` label: "pre" or "post".
    pub fn job_word(self) -> &'static str {
        match self {
            HookName::PreMigration => "pre",
            HookName::PostPromotion => "post",
        }
    }
}

impl HooksSpec {
    /// The Job of hook `name`, if the spec sets it.
    pub fn job(&self, name: HookName) -> Option<&HookSpec> {
        match name {
            HookName::PreMigration => self.pre_migration.as_ref(),
            HookName::PostPromotion => self.post_promotion.as_ref().map(|h| &h.job),
        }
    }
}
