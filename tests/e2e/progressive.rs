//! BlueGreen and Canary end to end, as `kubectl get`, `describe` and `wait` show them.
//!
//! The pods are kwok's and serve nothing, so the checks go to test apps on loopback: the stable
//! version answers at `verification.url`, the new one at `previewURL` / `canaryURL` (the external
//! address of the preview or canary Service, as a team behind an ingress sets it). A failing new
//! version is a test app in an unhealthy mode there.

use std::{collections::BTreeMap, time::Duration};

use checklist_operator::api::{DeploymentChecklist, DeploymentChecklistStatus, RolloutStage};
use checklist_testapp::{Mode, RunningApp};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Pod, Service},
};
use kube::{Api, Client, api::ListParams};
use serde_json::{Value, json};

use checklist_testkit::{Scene, apply, checklist, kubectl_in, start_app, valid_secret};

use crate::web::{describe_shows, event_list, get_dcl, job_names, kubectl_wait};

const WITHIN: u64 = 90;

/// The checklist `web` with `strategy` (and its settings) at `image`: the health check only,
/// against `stable`, the new version's checks against `new` through the strategy's URL field.
fn progressive(image: &str, stable: &RunningApp, new: &RunningApp, rollout: Value) -> Value {
    let mut checklist = checklist(image, stable);
    let spec = &mut checklist["spec"];
    spec["app"]["replicas"] = json!(4);
    let field = if rollout["strategy"] == "Canary" {
        "canaryURL"
    } else {
        "previewURL"
    };
    spec["rollout"] = rollout;
    let verification = &mut spec["verification"];
    verification["checks"] = json!([
        {"name": "health", "http": {"path": "/health", "expectStatus": [200], "expectJSON": {"status": "ok"}}},
    ]);
    verification[field] = json!(new.url());
    checklist
}

pub(crate) fn blue_green(settings: Value) -> Value {
    json!({"strategy": "BlueGreen", "blueGreen": settings})
}

pub(crate) fn canary(steps: Value) -> Value {
    json!({"strategy": "Canary", "canary": {"steps": steps}})
}

/// A [`Scene`] whose app plays the stable version, and a second test app for the new one.
pub(crate) struct Bench {
    scene: Scene,
    new: RunningApp,
}

impl Bench {
    pub(crate) async fn start(prefix: &str) -> Self {
        Self {
            scene: Scene::start(prefix).await,
            new: start_app().await,
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.scene.ns.name()
    }

    /// Applies `web` at `image` with `rollout`.
    pub(crate) fn release(&self, image: &str, rollout: &Value) {
        let spec = progressive(image, &self.scene.app, &self.new, rollout.clone());
        apply(self.name(), &[&valid_secret(), &spec]);
    }

    /// Brings `web` to Ready on 1.0.0 (a first release: nothing beside it); its revision.
    pub(crate) async fn first_release(&self, rollout: &Value) -> String {
        self.release("example.com/web:1.0.0", rollout);
        kubectl_wait(self.name(), "condition=Ready", WITHIN);
        let hash = current_hash(&self.status().await);
        if rollout["strategy"] != "RollingUpdate" {
            assert_eq!(self.selects("web").await, hash);
        }
        hash
    }

    async fn status(&self) -> DeploymentChecklistStatus {
        status(&self.scene.client, self.name()).await
    }

    async fn selects(&self, service: &str) -> String {
        selects(&self.scene.client, self.name(), service).await
    }

    async fn pods(&self) -> BTreeMap<String, String> {
        app_pods(&self.scene.client, self.name()).await
    }

    /// After a rollback: only the stable pods left, and the app's Service on `stable`.
    async fn back_on_stable(&self, stable: &str, stable_pods: &BTreeMap<String, String>) {
        eventually(30, "the canary pods removed", || async {
            self.pods().await == *stable_pods
        })
        .await;
        assert_eq!(self.selects("web").await, stable);
    }

    pub(crate) async fn deployments(&self) -> BTreeMap<String, (String, i32)> {
        deployments(&self.scene.client, self.name()).await
    }

    pub(crate) async fn finish(self) {
        self.scene.ns.finish(&self.scene.client).await;
    }
}

async fn status(client: &Client, namespace: &str) -> DeploymentChecklistStatus {
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), namespace);
    api.get("web").await.unwrap().status.unwrap_or_default()
}

fn current_hash(status: &DeploymentChecklistStatus) -> String {
    status
        .revision
        .as_ref()
        .and_then(|r| r.current.as_ref())
        .map(|c| c.hash.clone())
        .unwrap()
}

/// The revision a Service's selector pins, or "(every revision)".
async fn selects(client: &Client, namespace: &str, service: &str) -> String {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let service = api.get(service).await.unwrap();
    service
        .spec
        .and_then(|s| s.selector)
        .and_then(|s| s.get("checklist.dev/revision").cloned())
        .unwrap_or_else(|| "(every revision)".into())
}

/// The app's pods still running: UID → revision.
async fn app_pods(client: &Client, namespace: &str) -> BTreeMap<String, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    pods.list(&ListParams::default().labels("app.kubernetes.io/component=app"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let labels = p.metadata.labels.unwrap_or_default();
            (
                p.metadata.uid.unwrap(),
                labels.get("checklist.dev/revision").cloned().unwrap(),
            )
        })
        .collect()
}

/// The app's Deployments: name → (revision, replicas).
async fn deployments(client: &Client, namespace: &str) -> BTreeMap<String, (String, i32)> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default().labels("checklist.dev/checklist=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|d| d.metadata.deletion_timestamp.is_none())
        .map(|d| {
            let revision = d
                .metadata
                .annotations
                .unwrap_or_default()
                .get("checklist.dev/revision")
                .cloned()
                .unwrap_or_default();
            (
                d.metadata.name.unwrap(),
                (revision, d.spec.replicas.unwrap_or(1)),
            )
        })
        .collect()
}

/// Polls `check` every 200 ms for up to `seconds`.
pub(crate) async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {seconds}s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn wait_stage(namespace: &str, stage: RolloutStage) -> String {
    kubectl_wait(
        namespace,
        &format!("jsonpath={{.status.rollout.stage}}={stage}"),
        WITHIN,
    )
}

fn annotate(namespace: &str, key: &str, value: &str) {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "annotate",
            "dcl",
            "web",
            &format!("checklist.dev/{key}={value}"),
            "--overwrite",
        ],
    );
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn blue_green_waits_for_a_person_then_switches_and_removes_blue_after_the_delay() {
    let bench = Bench::start("bluegreen").await;
    let rollout = blue_green(
        json!({"previewService": "web-preview", "autoPromotion": false, "scaleDownDelaySeconds": 8}),
    );
    let blue = bench.first_release(&rollout).await;
    let blue_pods = bench.pods().await;
    assert_eq!(blue_pods.len(), 4);

    bench.release("example.com/web:2.0.0", &rollout);
    wait_stage(bench.name(), RolloutStage::WaitingForPromotion);
    let green = current_hash(&bench.status().await);
    // Verified and waiting: users are still on blue, the preview shows green only.
    assert_eq!(bench.selects("web").await, blue);
    assert_eq!(bench.selects("web-preview").await, green);
    let pods = bench.pods().await;
    assert_eq!(pods.values().filter(|r| **r == green).count(), 4);
    for (uid, revision) in &blue_pods {
        assert_eq!(pods.get(uid), Some(revision), "blue pod {uid} untouched");
    }
    let table = get_dcl(bench.name());
    println!("{table}");
    assert!(table.contains("waiting for promotion"), "{table}");
    assert!(table.contains("Paused"), "{table}");
    let (ready, out) = kubectl_in(
        bench.name(),
        &["wait", "dcl/web", "--for=condition=Ready", "--timeout=2s"],
    );
    assert!(
        !ready,
        "kubectl wait must not read a waiting release as Ready: {out}"
    );
    describe_shows(
        bench.name(),
        &["Warning  WaitingForPromotion", "checklist.dev/promote="],
    );

    annotate(bench.name(), "promote", "1");
    wait_stage(bench.name(), RolloutStage::Promoted);
    assert_eq!(bench.selects("web").await, green);
    assert_eq!(
        bench.deployments().await.len(),
        2,
        "blue stays for scaleDownDelaySeconds"
    );
    kubectl_wait(bench.name(), "condition=Ready", WITHIN);
    eventually(30, "blue's Deployment removed", || async {
        bench.deployments().await.len() == 1
    })
    .await;
    let left = bench.deployments().await;
    assert_eq!(left.values().next().unwrap(), &(green.clone(), 4));
    describe_shows(bench.name(), &["Normal   Promoted", "Normal   Ready"]);
    let status = bench.status().await;
    assert_eq!(status.rollout.unwrap().promote_token.as_deref(), Some("1"));
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn blue_green_failing_its_preview_never_touches_the_service_or_the_blue_pods() {
    let bench = Bench::start("bluegreen-fail").await;
    let rollout = blue_green(json!({"previewService": "web-preview", "scaleDownDelaySeconds": 5}));
    let blue = bench.first_release(&rollout).await;
    let blue_pods = bench.pods().await;
    let services: Api<Service> = Api::namespaced(bench.scene.client.clone(), bench.name());
    let version_before = services.get("web").await.unwrap().metadata.resource_version;

    bench.new.set_mode(Mode::Unhealthy);
    bench.release("example.com/web:2.0.0", &rollout);
    kubectl_wait(bench.name(), "condition=RolledBack", WITHIN);
    assert_eq!(bench.selects("web").await, blue);
    assert_eq!(
        services.get("web").await.unwrap().metadata.resource_version,
        version_before,
        "the app's Service was never written"
    );
    eventually(30, "green's pods removed", || async {
        bench.pods().await == blue_pods
    })
    .await;
    let left = bench.deployments().await;
    assert_eq!(left.len(), 1, "{left:?}");
    describe_shows(
        bench.name(),
        &[
            "Phase:                RolledBack",
            "Warning  VerificationFailed",
        ],
    );
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn canary_runs_its_share_of_pods_beside_the_stable_ones_then_takes_over() {
    let bench = Bench::start("canary").await;
    let rollout = canary(json!([{"weight": 25, "pauseSeconds": 6}, {"weight": 100}]));
    let stable = bench.first_release(&rollout).await;
    let stable_pods = bench.pods().await;

    bench.release("example.com/web:2.0.0", &rollout);
    wait_stage(bench.name(), RolloutStage::Paused);
    let new = current_hash(&bench.status().await);
    let pods = bench.pods().await;
    assert_eq!(
        pods.values().filter(|r| **r == new).count(),
        1,
        "ceil(25% of 4) = 1 canary pod: {pods:?}"
    );
    for (uid, revision) in &stable_pods {
        assert_eq!(pods.get(uid), Some(revision), "stable pod {uid} untouched");
    }
    assert_eq!(bench.selects("web").await, "(every revision)");
    assert_eq!(bench.selects("web-canary").await, new);
    let table = get_dcl(bench.name());
    println!("{table}");
    // Without a router the pods are the split, and `kubectl get` says so: 1 of 5 pods.
    assert!(
        table.contains("step 1/2 25% (~20% by pods) paused"),
        "{table}"
    );
    describe_shows(
        bench.name(),
        &["25% asked; 1 of 5 pods, about 20% of requests"],
    );

    kubectl_wait(bench.name(), "condition=Ready", WITHIN);
    eventually(30, "the stable Deployment removed", || async {
        bench.deployments().await.len() == 1
    })
    .await;
    assert_eq!(bench.selects("web").await, new);
    let left = bench.deployments().await;
    assert_eq!(left.values().next().unwrap(), &(new.clone(), 4));
    assert_ne!(stable, new);
    let reasons: Vec<String> = event_list(bench.name())
        .into_iter()
        .map(|e| e.reason)
        .collect();
    for reason in ["Paused", "StepStarted", "Ready"] {
        assert!(reasons.iter().any(|r| r == reason), "{reason}: {reasons:?}");
    }
    assert_eq!(
        reasons.iter().filter(|r| *r == "Paused").count(),
        1,
        "one Event per pause: {reasons:?}"
    );
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn canary_failing_at_step_one_removes_the_canary_and_leaves_the_stable_pods() {
    let bench = Bench::start("canary-fail").await;
    let rollout = canary(json!([{"weight": 10, "pauseSeconds": 600}, {"weight": 100}]));
    let stable = bench.first_release(&rollout).await;
    let stable_pods = bench.pods().await;

    bench.new.set_mode(Mode::Unhealthy);
    bench.release("example.com/web:2.0.0", &rollout);
    kubectl_wait(bench.name(), "condition=RolledBack", WITHIN);
    bench.back_on_stable(&stable, &stable_pods).await;
    assert_eq!(bench.deployments().await.len(), 1);
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_canary_that_breaks_during_its_pause_is_rolled_back_before_the_pause_ends() {
    let bench = Bench::start("canary-watch").await;
    let rollout = canary(json!([{"weight": 25, "pauseSeconds": 600}, {"weight": 100}]));
    let stable = bench.first_release(&rollout).await;
    let stable_pods = bench.pods().await;
    bench.release("example.com/web:2.0.0", &rollout);
    wait_stage(bench.name(), RolloutStage::Paused);
    let paused_until = bench.status().await.rollout.unwrap().paused_until.unwrap();

    // The canary breaks a few seconds into its ten-minute pause: the checks watching the pause
    // see it, and the rollback comes long before the pause would have ended.
    tokio::time::sleep(Duration::from_secs(3)).await;
    bench.new.set_mode(Mode::Unhealthy);
    kubectl_wait(bench.name(), "condition=RolledBack", 60);
    let now = k8s_openapi::jiff::Timestamp::now();
    assert!(
        now < paused_until.0,
        "rolled back at {now}, before the pause's end {}",
        paused_until.0
    );
    bench.back_on_stable(&stable, &stable_pods).await;
    let status = bench.status().await;
    let last = status.history.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("VerificationFailed"));
    describe_shows(
        bench.name(),
        &["Warning  VerificationFailed", "health (HTTP 503)"],
    );
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_pause_survives_a_restart_then_promote_and_abort_act_once_each() {
    let mut bench = Bench::start("canary-requests").await;
    let rollout = canary(json!([
        {"weight": 25, "pauseSeconds": 600},
        {"weight": 50, "pauseSeconds": 600},
        {"weight": 100},
    ]));
    let stable = bench.first_release(&rollout).await;
    let stable_pods = bench.pods().await;
    bench.release("example.com/web:2.0.0", &rollout);
    wait_stage(bench.name(), RolloutStage::Paused);
    let paused = bench.status().await.rollout.unwrap();

    // Killed mid-pause and started again: same step, same end of pause, no second Job.
    bench.scene.operator.kill();
    bench.scene.operator.restart();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumed = bench.status().await.rollout.unwrap();
    assert_eq!(resumed.step, paused.step);
    assert_eq!(resumed.paused_until, paused.paused_until);
    assert_eq!(resumed.stage, RolloutStage::Paused);
    assert_eq!(
        job_names(bench.name()).len(),
        2,
        "one migration Job per revision"
    );

    annotate(bench.name(), "promote", "a");
    kubectl_wait(bench.name(), "jsonpath={.status.rollout.step}=2", WITHIN);
    wait_stage(bench.name(), RolloutStage::Paused);
    assert_eq!(
        bench.status().await.rollout.unwrap().step,
        Some(2),
        "one promote moves one step"
    );

    // Abort and promote together: abort wins.
    let (ok, out) = kubectl_in(
        bench.name(),
        &[
            "annotate",
            "dcl",
            "web",
            "checklist.dev/promote=b",
            "checklist.dev/abort=x",
            "--overwrite",
        ],
    );
    assert!(ok, "{out}");
    kubectl_wait(bench.name(), "condition=RolledBack", WITHIN);
    bench.back_on_stable(&stable, &stable_pods).await;
    let status = bench.status().await;
    let last = status.history.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("Aborted"));
    describe_shows(
        bench.name(),
        &["Warning  Aborted", "rolled back to example.com/web:1.0.0"],
    );
    bench.finish().await;
}
