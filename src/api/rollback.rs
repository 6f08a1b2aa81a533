//! `spec.rollback`: what happens when a rollout fails.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// When and how the operator goes back to the last version that passed its checklist.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackSpec {
    /// Whether a failure listed in triggers restores the stable revision by itself. Default true.
    /// When false, or when there is no stable revision yet, the checklist stops in phase Failed
    /// and waits for a new spec.
    #[serde(default = "schema::yes")]
    pub automatic: bool,

    /// The failures that trigger an automatic rollback, each at most once: MigrationFailed (the
    /// migration Job failed or timed out), ProgressDeadlineExceeded (new pods not ready within
    /// spec.rollout.progressDeadlineSeconds), CrashLoop (a new container restarted more than
    /// spec.rollout.maxRestarts times), VerificationFailed (the checks failed
    /// spec.verification.failureThreshold rounds in a row). Default: all four. A failed hook of
    /// spec.hooks counts as MigrationFailed: a backup before and a contract step after are parts
    /// of the migration.
    // Not named "on": YAML 1.1 parsers, kubectl's among them, read an unquoted `on:` key as
    // `true`, so the field would silently vanish from applied manifests.
    #[serde(default = "default_triggers")]
    #[schemars(length(max = 4))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub triggers: Vec<RollbackTrigger>,

    /// Whether a rollback also runs spec.migration.rollback.command: Run or Skip. Default Skip,
    /// because not every migration can be reversed safely. Run requires
    /// spec.migration.rollback.
    #[serde(default)]
    pub migration: RollbackMigration,

    /// How many past revisions are kept in status.history and as old ReplicaSets (1-100).
    /// Default 10.
    #[serde(default = "schema::int::<10>")]
    #[schemars(range(min = 1, max = 100))]
    pub revision_history_limit: i32,
}

impl Default for RollbackSpec {
    fn default() -> Self {
        Self {
            automatic: true,
            triggers: default_triggers(),
            migration: RollbackMigration::default(),
            revision_history_limit: 10,
        }
    }
}

fn default_triggers() -> Vec<RollbackTrigger> {
    RollbackTrigger::ALL.to_vec()
}

/// A failure that can trigger an automatic rollback.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum RollbackTrigger {
    /// The migration Job failed or ran past spec.migration.timeoutSeconds.
    MigrationFailed,
    /// The new pods did not become ready within spec.rollout.progressDeadlineSeconds.
    ProgressDeadlineExceeded,
    /// A new container restarted more than spec.rollout.maxRestarts times.
    CrashLoop,
    /// The checks failed spec.verification.failureThreshold rounds in a row.
    VerificationFailed,
}

impl RollbackTrigger {
    /// Every trigger, in the order a rollout meets them.
    // A new trigger must not join the default: the CRD writes the default into every new
    // checklist, and an operator of the version before could not read it.
    pub const ALL: [RollbackTrigger; 4] = [
        RollbackTrigger::MigrationFailed,
        RollbackTrigger::ProgressDeadlineExceeded,
        RollbackTrigger::CrashLoop,
        RollbackTrigger::VerificationFailed,
    ];
}

/// Whether a rollback runs the down-migration.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RollbackMigration {
    /// Run spec.migration.rollback.command before restoring the stable revision.
    Run,
    /// Leave the database as it is.
    #[default]
    Skip,
}
