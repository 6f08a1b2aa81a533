//! Proof that the local control plane is a real Kubernetes: controllers, scheduler, kwok's
//! simulated kubelet with its chaos stages, and server-side apply all behave as in a cluster.

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::Deployment,
    batch::v1::Job,
    core::v1::{ConfigMap, Pod},
};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use checklist_testkit::{TestNamespace, client, wait_for};

const WAIT: Duration = Duration::from_secs(60);

fn job(name: &str, pod_labels: serde_json::Value) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": "registry.invalid/app:1.0.0"}]
                }
            }
        }
    }))
    .unwrap()
}

fn job_condition(job: &Job, kind: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn deployment_with_two_replicas_becomes_available() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "smoke-deploy").await;
    let api: Api<Deployment> = Api::namespaced(client, ns.name());
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1.0.0"}]}
            }
        }
    }))
    .unwrap();
    api.create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let available = wait_for(&api, "web", WAIT, |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .is_some_and(|s| s.available_replicas == Some(2) && s.ready_replicas == Some(2))
    })
    .await;
    let conditions = available.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")),
        "Deployment has no Available=True condition: {conditions:?}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn job_completes() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "smoke-job").await;
    let api: Api<Job> = Api::namespaced(client, ns.name());
    api.create(&PostParams::default(), &job("migrate", json!({})))
        .await
        .unwrap();

    let done = wait_for(&api, "migrate", WAIT, |j: Option<&Job>| {
        j.is_some_and(|j| job_condition(j, "Complete") || job_condition(j, "Failed"))
    })
    .await;
    assert!(
        job_condition(&done, "Complete"),
        "Job did not complete: {:?}",
        done.status
    );
    assert_eq!(done.status.unwrap().succeeded, Some(1));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn job_whose_pod_carries_the_failure_label_ends_failed() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "smoke-job-fail").await;
    let api: Api<Job> = Api::namespaced(client.clone(), ns.name());
    api.create(
        &PostParams::default(),
        &job("migrate", json!({"chaos.checklist.dev/mode": "fail"})),
    )
    .await
    .unwrap();

    let done = wait_for(&api, "migrate", WAIT, |j: Option<&Job>| {
        j.is_some_and(|j| job_condition(j, "Complete") || job_condition(j, "Failed"))
    })
    .await;
    assert!(
        job_condition(&done, "Failed"),
        "Job did not fail: {:?}",
        done.status
    );

    let pods: Api<Pod> = Api::namespaced(client, ns.name());
    let pod = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("the Job's pod");
    let status = pod.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    let terminated = status.container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(terminated.exit_code, 1);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn pod_with_the_crash_loop_label_shows_crash_loop_back_off_with_climbing_restarts() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "smoke-crash").await;
    let api: Api<Pod> = Api::namespaced(client, ns.name());
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "crasher", "labels": {"chaos.checklist.dev/mode": "crash-loop"}},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:2.0.0"}]}
    }))
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();

    let crashing = wait_for(&api, "crasher", WAIT, |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.restart_count > 3))
    })
    .await;
    let status = crashing.status.unwrap();
    let container = &status.container_statuses.unwrap()[0];
    assert!(container.restart_count > 3);
    assert!(!container.ready);
    let waiting = container.state.clone().unwrap().waiting.unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn server_side_apply_round_trips_with_its_field_manager() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "smoke-ssa").await;
    let api: Api<ConfigMap> = Api::namespaced(client, ns.name());
    let manager = PatchParams::apply("checklist-operator-e2e");
    let desired = |value: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"POOL_SIZE": value}
        })
    };

    let applied = api
        .patch("settings", &manager, &Patch::Apply(desired("10")))
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["POOL_SIZE"], "10");
    let fields = applied.metadata.managed_fields.unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f.manager.as_deref() == Some("checklist-operator-e2e")
                && f.operation.as_deref() == Some("Apply")),
        "our field manager is not recorded: {fields:?}"
    );

    // Applying again with a new value updates it; the same manager owns the field.
    let updated = api
        .patch("settings", &manager, &Patch::Apply(desired("20")))
        .await
        .unwrap();
    assert_eq!(updated.data.unwrap()["POOL_SIZE"], "20");

    // Another manager may not take the field without forcing: the API server reports a conflict.
    let other = PatchParams::apply("someone-else");
    let conflict = api
        .patch("settings", &other, &Patch::Apply(desired("30")))
        .await
        .unwrap_err();
    assert!(
        matches!(&conflict, kube::Error::Api(status) if status.code == 409),
        "expected a 409 conflict, got {conflict:?}"
    );
    let read_back = api.get("settings").await.unwrap();
    assert_eq!(read_back.data.unwrap()["POOL_SIZE"], "20");
}
