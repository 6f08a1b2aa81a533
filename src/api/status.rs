//! `status`: everything the operator found out, written back so `kubectl get`, `kubectl describe`,
//! `kubectl wait`, Argo CD and Flux all see the same truth.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::ConditionType;
use super::hooks::HookName;
use super::rollback::RollbackTrigger;
use super::rollout_status::RolloutStatus;
use super::template::TemplateStatus;
use super::verification::{CheckKind, Severity};

/// What the operator observed and decided for the checklist. Written only by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentChecklistStatus {
    /// The metadata.generation of the spec this status describes. When it is lower than
    /// metadata.generation the operator has not acted on the latest spec yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Where the checklist is: Pending, CheckingSecrets, RunningHook (a Job of spec.hooks),
    /// Migrating, RollingOut, Verifying, Paused (a BlueGreen or Canary step passed and holds, see status.rollout), Ready,
    /// Degraded (verified earlier, failing continuous checks now), RollingBack, RolledBack,
    /// Failed (stopped; automatic rollback off or no stable revision) or Suspended
    /// (spec.suspend is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// The conditions, one per type: Ready, Reconciling and Stalled (read by kubectl wait, Flux
    /// and Argo CD), then SecretsValid, MigrationComplete, RolloutComplete, Verified and
    /// RolledBack for each step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The revision being rolled out and the last one that passed the checklist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionStatus>,

    /// BlueGreen and Canary: where the release of the current revision stands (step, weight,
    /// pause, promotion) and the promote and abort requests acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,

    /// The revisions rolled out so far, oldest first (the last entry is the current attempt), at
    /// most spec.rollback.revisionHistoryLimit of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub history: Vec<HistoryEntry>,

    /// The verdict on each key of spec.secrets. Messages give lengths and pattern verdicts,
    /// never a value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024))]
    pub secrets: Vec<SecretKeyStatus>,

    /// The migration Job of the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationStatus>,

    /// The hook Jobs of the current revision (spec.hooks), each run once: what a restart or a
    /// deleted Job does not run again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2))]
    pub hooks: Vec<HookStatus>,

    /// The latest result of each check of spec.verification.checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub checks: Vec<CheckStatus>,

    /// Verification rounds in a row that failed for the revision being verified (or, after
    /// Ready, for continuous rounds). Kept here so an operator restart resumes counting toward
    /// spec.verification.failureThreshold instead of starting again from zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub failed_rounds: Option<i32>,

    /// The app's dependencies as its deep health endpoints report them, one entry per
    /// dependency found by a check with http.dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    pub dependencies: Vec<DependencyStatus>,

    /// The templates of spec.verification.templates as last resolved: where each check that
    /// is not the checklist's own comes from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub templates: Vec<TemplateStatus>,

    /// spec.promotion: where the running version came from and what the next promotion waits
    /// for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<super::PromotionStatus>,

    /// spec.app.adopt: whether the adopted Deployment was handed over, or what that waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<super::AdoptionStatus>,

    /// A digest of the checks (with minScore and url) the current version last passed. When the
    /// checks change, a template's or the checklist's own, the running version is verified again
    /// with the new ones at the next round, without rolling its pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub verified_checks: Option<String>,

    /// The production readiness score: how many items of the checklist passed out of all of
    /// them, overall and per category. An item is a secret key, the migration, the rollout, or
    /// a verification check that is not dryRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,

    /// One line for people saying what is happening or what went wrong.
    /// Example: "verification passed: 12/12".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub message: Option<String>,

    /// The value of the checklist.dev/retry annotation the operator last acted on. Setting the
    /// annotation to a new value (e.g. `kubectl annotate dcl NAME checklist.dev/retry=$(date +%s)
    /// --overwrite`) tries a failed revision once more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub retry_token: Option<String>,

    /// The value of the checklist.dev/rollback annotation the operator last acted on. Setting
    /// the annotation to `N` or `N@ID` (what `kubectl checklist rollback NAME --to-revision N`
    /// does) restores revision N of the history, an earlier revision that passed its checklist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub rollback_token: Option<String>,
}

impl DeploymentChecklistStatus {
    /// The condition of the given type, if the status has it.
    pub fn condition(&self, kind: ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == kind.as_str())
    }
}

/// The phase of a checklist, from a new spec to its verdict.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema, strum::Display,
)]
pub enum Phase {
    /// The operator has not started on the current spec.
    Pending,
    /// The Secrets of spec.secrets are being checked.
    CheckingSecrets,
    /// The migration Job of the new revision is running.
    Migrating,
    /// The new pods are being rolled out.
    RollingOut,
    /// The checks are running against the new version.
    Verifying,
    /// A hook Job of spec.hooks is running (preMigration before the migration, postPromotion
    /// once the new version takes all traffic).
    RunningHook,
    /// BlueGreen or Canary: a step passed and holds, for its pause or until a person promotes.
    Paused,
    /// The new version passed its checklist and is the stable revision.
    Ready,
    /// The version passed earlier but continuous checks fail now.
    Degraded,
    /// The stable revision is being restored after a failure.
    RollingBack,
    /// The stable revision was restored after a failure.
    RolledBack,
    /// The checklist failed and nothing will be retried until the spec changes.
    Failed,
    /// spec.suspend is true: the operator observes and reports but changes nothing.
    Suspended,
}

/// The revision being rolled out and the stable one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionStatus {
    /// The revision of the current spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<RevisionRef>,

    /// The last revision that passed its checklist: what a rollback restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<StableRevision>,
}

/// A revision: an image and the hash of everything that was rolled out with it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRef {
    /// The app image of the revision.
    pub image: String,
    /// A short hash of the revision's pod template and migration; it names the migration Job.
    pub hash: String,
    /// The versions of the spec.app.rollOnChange objects the hash covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub references: Vec<ReferenceVersion>,
}

/// The version of a Secret or ConfigMap that a revision was rolled with.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceVersion {
    /// Secret or ConfigMap.
    #[schemars(length(max = 16))]
    pub kind: String,
    /// The object's name.
    #[schemars(length(max = 253))]
    pub name: String,
    /// Its metadata.resourceVersion when the revision started; none when it did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub resource_version: Option<String>,
}

impl ReferenceVersion {
    /// `Kind/name`, as status.history's rotated lists it.
    pub fn object(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// The stable revision and since when it is stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StableRevision {
    /// The app image of the stable revision.
    pub image: String,
    /// The hash of the stable revision, as in revision.current.hash.
    pub hash: String,
    /// When the revision passed its checklist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

/// A past revision and how it ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// A number that grows with every revision of this checklist, starting at 1.
    pub revision: i64,
    /// The app image of the revision.
    pub image: String,
    /// The hash of the revision, as in revision.current.hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// How the revision ended: Progressing, Succeeded, Failed, RolledBack or Superseded.
    pub outcome: RevisionOutcome,
    /// The failure that ended the revision, set when outcome is Failed or RolledBack:
    /// MigrationFailed, ProgressDeadlineExceeded, CrashLoop or VerificationFailed (see
    /// spec.rollback.triggers). It decides whether the stable revision is restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<RollbackTrigger>,
    /// Why, in one CamelCase word: the failure's name when the revision failed, Retrying when it
    /// is another attempt at a failed revision. Example: VerificationFailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened, for people. Example: "verification failed: health: expected status 200,
    /// got 503".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub message: Option<String>,
    /// The spec.app.rollOnChange objects whose change started this revision, as Kind/name.
    /// Example: [Secret/db-credentials].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(max = 270)))]
    pub rotated: Vec<String>,
    /// When its rollout started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When its rollout ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

/// How a revision ended.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum RevisionOutcome {
    /// Still rolling out.
    Progressing,
    /// Passed its checklist and became stable.
    Succeeded,
    /// Failed and was left as is (no automatic rollback).
    Failed,
    /// Failed and the stable revision was restored.
    RolledBack,
    /// Replaced by a newer spec before it finished.
    Superseded,
}

/// The result of a check, a secret key or a dependency.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum CheckResult {
    /// It passed.
    Pass,
    /// It failed.
    Fail,
    /// It has not run yet.
    Pending,
    /// It did not apply (an optional key that is absent, a check not run in this phase).
    Skipped,
}

/// The verdict on one key of a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyStatus {
    /// The Secret's name.
    pub secret: String,
    /// The key.
    pub key: String,
    /// Pass, Fail, Pending or Skipped (optional and absent).
    pub result: CheckResult,
    /// Why, without the value. Example: "length 32 is below minLength 64".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The migration Job of the current revision.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    /// The Job's name, <name>-migrate-<hash>.
    pub job: String,
    /// The image the Job runs.
    pub image: String,
    /// Pending, Running, Succeeded or Failed.
    pub state: MigrationState,
    /// When the Job started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the Job finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Why it failed, from the Job's conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One hook Job of the current revision.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStatus {
    /// Which hook: preMigration or postPromotion.
    pub name: HookName,
    /// The revision it ran for.
    pub revision: String,
    /// The Job's name, <name>-pre-<hash> or <name>-post-<hash>.
    pub job: String,
    /// Running, Succeeded or Failed.
    pub state: MigrationState,
    /// When the Job started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the Job finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Why it failed, from the Job's conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The state of a migration or hook Job.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum MigrationState {
    /// Not created yet.
    Pending,
    /// Running.
    Running,
    /// Completed successfully.
    Succeeded,
    /// Failed or timed out.
    Failed,
}

/// The latest result of one check.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckStatus {
    /// The check's name from spec.verification.checks.
    pub name: String,
    /// The check's kind: http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job.
    pub kind: CheckKind,
    /// Warning when the check's failure is only reported; absent for Critical.
    #[serde(default, skip_serializing_if = "Severity::is_critical")]
    pub severity: Severity,
    /// The score category the check counts in. Example: security.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// True when the check only reports and never counts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Pass, Fail, Pending or Skipped.
    pub result: CheckResult,
    /// What was seen. Example: "status 200, status=ok, 12 ms" or "429 at attempt 6 of 10".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long the last response took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    /// How many requests the last run sent (for rateLimit: up to the refused one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    /// When the check last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Time>,
}

/// One dependency of the app, as its deep health endpoint reports it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyStatus {
    /// The dependency's name in the health response. Example: database.
    pub name: String,
    /// The check that read it.
    pub check: String,
    /// Pass or Fail.
    pub result: CheckResult,
    /// What the app reported. Example: connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The production readiness score.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    /// How many items of the checklist passed.
    pub passed: i32,
    /// How many items the checklist has.
    pub total: i32,
    /// passed/total as one string, for the Score column of kubectl get. Example: 11/12.
    pub summary: String,
    /// The same count per category, in name order: secrets (each key), migration, rollout,
    /// and the categories of the checks. Example: [{name: security, passed: 2, total: 3}].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 40))]
    pub categories: Vec<CategoryScore>,
}

impl Score {
    /// A score with its summary written as passed/total and no categories.
    pub fn new(passed: i32, total: i32) -> Self {
        Self {
            passed,
            total,
            summary: format!("{passed}/{total}"),
            categories: Vec::new(),
        }
    }
}

/// The score of one category.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryScore {
    /// The category. Example: security.
    pub name: String,
    /// Its items that passed.
    pub passed: i32,
    /// Its items.
    pub total: i32,
    /// Its warning checks that failed (they are in passed/total too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<i32>,
}
