//! The `job` kind of check: a script run as a Job against the version under test, judged by its
//! exit code, for what one request cannot show (seed 004:127-134, 000:264-272, 002:463-475:
//! register, log in, create a graph or an agent with the token).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{checks::HeaderSource, image, schema};

/// A Job run once per round until the stage passes, against the version under test. It gets
/// CHECKLIST_URL (the URL the other checks use, e.g. the canary's) and, through a router,
/// CHECKLIST_HEADER ("name: value", the header that pins requests to the new version). Exit 0
/// passes; anything else fails, the last lines of its output (the kubelet keeps at most 80
/// lines or 2 KiB, Secret values masked) in the check's message. It runs under the app's
/// (restricted by default) security context, with no ServiceAccount token, stopped when the
/// round's time for a check is spent. It does not run again in the rounds after a pass.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobCheck {
    /// The image, with a tag or a digest. Default: spec.app.image, the new version's, which
    /// usually ships its own functional tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "image::image_reference")]
    pub image: Option<String>,

    /// The command. Required, 1 to 32 entries. Example: [/app/bin/functional-test, --seed, "004"].
    #[schemars(length(min = 1, max = 32), inner(length(max = 4096)))]
    pub command: Vec<String>,

    /// Environment variables, each a literal value or a key of a Secret in the checklist's
    /// namespace (given to the pod by Kubernetes, never copied into the Job; masked wherever the
    /// output is shown). At most 32, names unique. Example: [{name: TEST_PASSWORD, valueFrom:
    /// {secretKeyRef: {name: functional-test, key: password}}}].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub env: Vec<JobEnvVar>,

    /// Seconds the Job may run (1-3600), within the round's time for a check (the operator's
    /// --verification-check-seconds, default 60). Default: that time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: Option<i32>,
}

/// An environment variable of a job check.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.value) != has(self.valueFrom)",
        "message": "an env var of a job check must set exactly one of value or valueFrom"
    },
    {
        "rule": "!self.name.startsWith('CHECKLIST_')",
        "message": "env names starting with CHECKLIST_ are set by the operator",
        "fieldPath": ".name"
    }
]))]
pub struct JobEnvVar {
    /// The name: letters, digits and '_', not starting with a digit or CHECKLIST_. Required.
    #[schemars(length(min = 1, max = 128))]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub name: String,

    /// A literal value (at most 4096 bytes). Use valueFrom for anything secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub value: Option<String>,

    /// A key of a Secret in the checklist's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<HeaderSource>,
}
