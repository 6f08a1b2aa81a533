//! What both controllers are given: N apps of the same image and replicas, each verified by one
//! HTTP check of the test app's /health (`status` must be `ok`), created in bulk; then a new
//! image for a tenth of them; then a bad image for a few.

use std::{collections::BTreeMap, time::Instant};

use futures::{StreamExt, TryStreamExt, stream};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams, PostParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Requests in flight while creating or patching in bulk, as `kubectl apply` of a big file
/// would not manage but a GitOps controller syncing many apps does.
const IN_FLIGHT: usize = 32;

/// Seconds a rollout may take before it counts as failed, on both sides.
pub const PROGRESS_DEADLINE_SECONDS: u32 = 60;

/// The name of app `i`.
pub fn app_name(i: usize) -> String {
    format!("app-{i:05}")
}

/// Creates `count` objects from `object(i)`; how long the creates took.
pub async fn create_all<K>(api: &Api<K>, count: usize, object: impl Fn(usize) -> Value) -> f64
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let started = Instant::now();
    stream::iter((0..count).map(|i| {
        let object: K = serde_json::from_value(object(i)).unwrap();
        async move {
            api.create(&PostParams::default(), &object)
                .await
                .map(|_| ())
                .map_err(|e| format!("cannot create {}: {e}", app_name(i)))
        }
    }))
    .buffer_unordered(IN_FLIGHT)
    .try_collect::<Vec<()>>()
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    started.elapsed().as_secs_f64()
}

/// Merge-patches `patch` into the objects `names`; each one's generation after the patch.
pub async fn patch_all<K>(api: &Api<K>, names: &[String], patch: &Value) -> BTreeMap<String, i64>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    stream::iter(names.iter().map(|name| async move {
        let patched = api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap_or_else(|e| panic!("cannot patch {name}: {e}"));
        (
            patched.name_any(),
            patched.meta().generation.unwrap_or_default(),
        )
    }))
    .buffer_unordered(IN_FLIGHT)
    .collect()
    .await
}

/// A checklist for app `i`: `replicas` of `image`, verified once against `app_url` (one round
/// at once, then Ready).
pub fn checklist(i: usize, image: &str, replicas: u32, app_url: &str) -> Value {
    serde_json::json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": app_name(i)},
        "spec": {
            "app": {"image": image, "replicas": replicas, "port": 8080},
            // The same deadline as the Rollouts' progressDeadlineSeconds.
            "rollout": {"progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS},
            "verification": {
                "url": app_url,
                "initialDelaySeconds": 0,
                "intervalSeconds": 5,
                "failureThreshold": 1,
                "checks": [{
                    "name": "health",
                    "http": {"path": "/health", "expectStatus": [200], "expectJSON": {"status": "ok"}},
                }],
            },
        },
    })
}

/// Whether a checklist is Ready at its own generation.
pub fn checklist_ready(checklist: &checklist_operator::api::DeploymentChecklist) -> bool {
    use checklist_operator::api::Phase;
    let status = checklist.status.as_ref();
    status.and_then(|s| s.phase) == Some(Phase::Ready)
        && status.and_then(|s| s.observed_generation) == checklist.metadata.generation
}

/// Whether a checklist has rolled back the revision it was last given.
pub fn checklist_rolled_back(checklist: &checklist_operator::api::DeploymentChecklist) -> bool {
    use checklist_operator::api::Phase;
    let status = checklist.status.as_ref();
    status.and_then(|s| s.phase) == Some(Phase::RolledBack)
        && status.and_then(|s| s.observed_generation) == checklist.metadata.generation
}

/// The objects' names.
pub fn names(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(app_name).collect()
}
