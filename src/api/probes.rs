//! `spec.probes`: the HTTP probes the kubelet runs against the app container.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// The container's liveness, readiness and startup probes, each an HTTP GET on the app.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.liveness) || self.liveness.successThreshold == 1",
        "message": "spec.probes.liveness.successThreshold must be 1 (Kubernetes requires it for liveness probes)",
        "fieldPath": ".liveness.successThreshold"
    },
    {
        "rule": "!has(self.startup) || self.startup.successThreshold == 1",
        "message": "spec.probes.startup.successThreshold must be 1 (Kubernetes requires it for startup probes)",
        "fieldPath": ".startup.successThreshold"
    }
]))]
pub struct Probes {
    /// Restarts the container when this probe fails failureThreshold times in a row.
    /// Example: {path: /health, initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 3,
    /// failureThreshold: 3}. Default: no liveness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<ProbeSpec>,

    /// Takes the pod out of the Service while this probe fails; a rollout waits for new pods to
    /// be ready. Example: {path: /health, periodSeconds: 10}. Default: no readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ProbeSpec>,

    /// Holds the other probes back until the app has started, for slow boots.
    /// Example: {path: /health, periodSeconds: 2, failureThreshold: 30} allows 60 seconds.
    /// Default: no startup probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<ProbeSpec>,
}

/// One HTTP GET probe; the timings mean what they mean in a core/v1 Probe.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSpec {
    /// The HTTP path to GET, starting with '/'. Required. Example: /health. Any status from 200
    /// to 399 counts as success.
    #[schemars(length(min = 1, max = 2048))]
    #[schemars(regex(pattern = schema::PROBE_PATH_PATTERN))]
    pub path: String,

    /// The container port to probe (1-65535). Default: spec.app.port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,

    /// Seconds after the container starts before the first probe (0-3600). Default 0.
    #[serde(default)]
    #[schemars(range(min = 0, max = 3600))]
    pub initial_delay_seconds: i32,

    /// Seconds between probes (1-3600). Default 10.
    #[serde(default = "schema::int::<10>")]
    #[schemars(range(min = 1, max = 3600))]
    pub period_seconds: i32,

    /// Seconds before a probe times out (1-3600). Default 1.
    #[serde(default = "schema::int::<1>")]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: i32,

    /// Consecutive failures that count as failed (1-1000). Default 3.
    #[serde(default = "schema::int::<3>")]
    #[schemars(range(min = 1, max = 1000))]
    pub failure_threshold: i32,

    /// Consecutive successes that count as passing again after a failure (1-1000). Default 1;
    /// must be 1 for liveness and startup probes.
    #[serde(default = "schema::int::<1>")]
    #[schemars(range(min = 1, max = 1000))]
    pub success_threshold: i32,
}
