//! `spec.migration`: the database migration Job that runs with the new image before the rollout.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{image, schema};

/// The migration step: a Job run once per new revision, before any pod is replaced. When it
/// fails nothing that is running changes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSpec {
    /// The command the Job runs, with the app's env and injected secrets. Required, 1 to 32
    /// entries. Example: ["/app/bin/migrate"] or ["/app/bin/cgraph", "eval", "CGraph.Release.migrate()"].
    #[schemars(length(min = 1, max = 32))]
    pub command: Vec<String>,

    /// The image the Job runs, with a tag or a digest. Default: spec.app.image, so the new
    /// release migrates its own schema. Set it when migrations ship in a separate image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "image::image_reference")]
    pub image: Option<String>,

    /// How long the Job may run, in seconds (1-86400), before it is stopped and counted as a
    /// failed migration. Default 600.
    #[serde(default = "schema::int::<600>")]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_seconds: i32,

    /// How many times a failed migration pod is retried (0-10). Default 0: a migration that
    /// fails halfway is better looked at than run again.
    #[serde(default)]
    #[schemars(range(min = 0, max = 10))]
    pub backoff_limit: i32,

    /// The down-migration run on rollback when spec.rollback.migration is Run. Default: none.
    /// Only set it for migrations that are safe to reverse; destructive ones need a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<MigrationRollback>,
}

/// How to undo the migration of a failed revision.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationRollback {
    /// The command of the down-migration Job, run with the new image before the stable template
    /// is restored. Required, 1 to 32 entries.
    /// Example: ["/app/bin/dialectic", "eval", "Dialectic.Release.rollback(Dialectic.Repo, 20260106112233)"].
    #[schemars(length(min = 1, max = 32))]
    pub command: Vec<String>,
}
